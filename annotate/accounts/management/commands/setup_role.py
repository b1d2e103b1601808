from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotate.accounts import services


class Command(BaseCommand):
    help = (
        "Give a user a role from the server, without a second admin (audited as role.setup_grant): "
        "for setting up, e.g. the second admin of a new installation. In the product, use Role grants."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("role", choices=services.GRANTABLE)

    def handle(self, *args, username: str, role: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username}")
        services.assign_role_for_setup(user=user, role=role, by="manage.py setup_role")
        self.stdout.write(f"{username} now holds the {role} role (recorded in the audit log)")
