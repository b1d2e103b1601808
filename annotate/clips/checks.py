"""Deploy checks: `manage.py check --deploy` refuses keys derived from SECRET_KEY."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def keys_configured(app_configs, **kwargs):
    errors = []
    for i, name in enumerate(("ANNOTATE_DATA_KEY", "ANNOTATE_IDENTITY_KEY", "ANNOTATE_LOOKUP_KEY"), start=1):
        if not getattr(settings, name):
            errors.append(
                Error(
                    f"{name} is not set: keys are derived from SECRET_KEY, which is only fit for the demo.",
                    hint=f"Set {name} (see README, 'Environment variables').",
                    id=f"annotate.E00{i}",
                )
            )
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        errors.append(Error("SQLite is only for the demo.", hint="Set DATABASE_URL to PostgreSQL.", id="annotate.E004"))
    return errors
