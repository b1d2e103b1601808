from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "annotate.audit"
    label = "audit"
