from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "annotate.catalog"
    label = "catalog"
