from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "annotate.queues"
    label = "queues"
