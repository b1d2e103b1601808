"""manage.py verify_audit: walk the audit log's hash chain and report the first broken link (exit 1)."""

from __future__ import annotations

from collections.abc import Iterator

from django.core.management.base import BaseCommand, CommandError

from annotate.audit.chain import first_broken_link
from annotate.audit.models import AuditEvent


def events_in_id_order(page: int = 2000) -> Iterator[AuditEvent]:
    """Page by id (no server-side cursor is left open when the walk stops at a broken link)."""
    after = 0
    while rows := list(AuditEvent.objects.filter(id__gt=after).order_by("id")[:page]):
        yield from rows
        after = rows[-1].id


class Command(BaseCommand):
    help = "Check the audit log's hash chain; print the first broken link and exit non-zero if there is one."

    def handle(self, *args, **options) -> None:
        broken, checked, last = first_broken_link(events_in_id_order())
        if broken is not None:
            raise CommandError(f"audit log broken at {broken} (checked {checked} rows)", returncode=1)
        if last is None:
            self.stdout.write("audit log empty: nothing to verify")
            return
        self.stdout.write(self.style.SUCCESS(f"audit log intact: {checked} rows, head row {last.id} hash {last.hash}"))
