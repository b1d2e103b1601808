from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "annotate.leads"
    label = "leads"
