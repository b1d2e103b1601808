from django.apps import AppConfig


class ClipsConfig(AppConfig):
    name = "annotate.clips"
    label = "clips"

    def ready(self) -> None:
        from annotate.clips import checks  # noqa: F401  (registers the deploy checks)
