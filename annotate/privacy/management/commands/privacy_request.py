"""Privacy requests by hand (the same service as the token API): opt-out, erasure, a receipt.

    manage.py privacy_request opt-out --account-id -      # the id read from standard input
    manage.py privacy_request erase --account-id ACCOUNT
    manage.py privacy_request show pr_0123456789abcdef
    manage.py privacy_request list

`-` keeps the account id out of the shell's history and the process list.
Prints the receipt as JSON.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from annotate.privacy import selectors, services
from annotate.privacy.models import PrivacyRequest

KINDS = {"opt-out": PrivacyRequest.Kind.OPT_OUT, "erase": PrivacyRequest.Kind.ERASURE}


class Command(BaseCommand):
    help = "Opt an account out or erase it (every clip and all derived from it); show a request's receipt."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        for name, text in (("opt-out", "later clips dropped, earlier ones erased"), ("erase", "GDPR Art. 17")):
            p = sub.add_parser(name, help=text)
            p.add_argument("--account-id", required=True, help="the account's id upstream; '-' reads it from stdin")
        show = sub.add_parser("show", help="a request's receipt")
        show.add_argument("request_id")
        sub.add_parser("list", help="the latest requests (no account ids: there are none to show)")

    def handle(self, *args, action: str, **options):
        if action == "show":
            found = selectors.find(options["request_id"])
            if found is None:
                raise CommandError(f"no privacy request {options['request_id']}")
            self._print(selectors.receipt(found))
            return
        if action == "list":
            for request in PrivacyRequest.objects.all()[:50]:
                erased = (request.erased or {}).get("clips", 0)
                self.stdout.write(f"{request.public_id}  {request.kind:8}  {request.state:8}  {erased} clip(s) erased")
            return
        account_id = options["account_id"]
        if account_id == "-":
            account_id = sys.stdin.readline().strip()
        try:
            request, created = services.submit(
                kind=KINDS[action], account_id=account_id, source=PrivacyRequest.Source.COMMAND
            )
        except services.PrivacyError as exc:
            raise CommandError(str(exc)) from None
        if not created:
            self.stderr.write(f"this account already had a {KINDS[action].label} request: its receipt")
        receipt = selectors.receipt(request)
        self._print(receipt)
        if receipt["deferred"]:  # exit 0 all the same: the request is taken, and completes by itself
            self.stderr.write(
                f"{len(receipt['deferred'])} clip(s) deferred: held by an escalation case; erased when the hold ends"
            )

    def _print(self, receipt: dict) -> None:
        self.stdout.write(json.dumps(receipt, indent=2))
