from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "annotate.jobs"
    label = "jobs"
    verbose_name = "background jobs"
