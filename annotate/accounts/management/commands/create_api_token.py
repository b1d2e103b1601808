from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotate.accounts import roles, services
from annotate.accounts.models import ApiToken


class Command(BaseCommand):
    help = "Issue an ingest API token for a service account (created if missing). Prints the token once."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="upstream pipeline")

    def handle(self, *args, username: str, name: str, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_unusable_password()
            user.save()
        if not user.is_active:
            raise CommandError(f"user {username} is inactive")
        if not user.groups.filter(name=roles.INGEST).exists():
            services.assign_role_for_setup(user=user, role=roles.INGEST, by="create_api_token")
        _, token = ApiToken.issue(user=user, name=name)
        self.stdout.write(token)
