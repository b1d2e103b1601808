from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotate.accounts import roles, services
from annotate.accounts.models import PIPELINE_SCOPES, SCOPES, ApiToken


class Command(BaseCommand):
    help = (
        "Issue an API token for a service account (created if missing). Prints the token once. Scopes: ingest, "
        "requests (opt-outs, erasures), results (the results feed), exports (exports, queue backfills); "
        "default ingest and requests."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="upstream pipeline")
        parser.add_argument(
            "--scope", action="append", choices=SCOPES, help="repeat for several (default: ingest, requests)"
        )

    def handle(self, *args, username: str, name: str, scope: list[str] | None, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        if not user.is_active:
            raise CommandError(f"user {username} is inactive")
        scopes = scope or list(PIPELINE_SCOPES)
        if {"ingest", "requests"} & set(scopes) and not user.groups.filter(name=roles.INGEST).exists():
            services.assign_role_for_setup(user=user, role=roles.INGEST, by="create_api_token")
        _, token = ApiToken.issue(user=user, name=name, scopes=scopes)
        self.stdout.write(token)
