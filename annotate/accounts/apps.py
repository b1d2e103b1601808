from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "annotate.accounts"
    label = "accounts"

    def ready(self) -> None:
        # The net under the role services: see annotate/accounts/role_guard.py.
        from annotate.accounts import role_guard

        role_guard.connect()
        # Sign-ins, failed sign-ins and lockouts into the audit log: see annotate/accounts/signin.py.
        from annotate.accounts import signin

        signin.connect()
