from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError

from annotate.accounts import roles
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
        user.groups.add(Group.objects.get(name=roles.INGEST))
        _, token = ApiToken.issue(user=user, name=name)
        self.stdout.write(token)
