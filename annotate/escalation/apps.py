from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "annotate.escalation"
    label = "escalation"
