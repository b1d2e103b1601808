"""Telling officers: live over the channel layer (group "officers") and by e-mail.

Both run after the transaction commits (see services), so nobody is told about
a case that was rolled back. The WebSocket message carries the console's case
summary, never an identity. E-mail goes through Django's mail backend as an RQ
job on the `default` queue, recorded in the case's transaction (annotate.jobs), in
process when REDIS_URL is unset.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse

from annotate.accounts import roles
from annotate.escalation import selectors
from annotate.escalation.models import Case, Category
from annotate.jobs import services as jobs

log = logging.getLogger(__name__)

OFFICERS_GROUP = "officers"
NEW, UPDATED, OVERDUE = "case.new", "case.updated", "case.overdue"


def broadcast(case_id: int, kind: str) -> None:
    """Send the case's summary to every officer console. Never raises: the case is committed."""
    try:
        case = selectors.open_cases().filter(pk=case_id).first() or Case.objects.select_related("clip", "owner").get(
            pk=case_id
        )
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(OFFICERS_GROUP, {"type": kind, "case": selectors.case_summary(case)})
    except Exception:
        # The overdue check and the console's own refresh catch up with a lost message.
        log.exception("could not notify officers of case %s (%s)", case_id, kind)


def officer_addresses() -> list[str]:
    User = get_user_model()
    return sorted(
        set(
            User.objects.filter(groups__name=roles.OFFICER, is_active=True)
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )


def send_case_mail(case_id: int, kind: str, *, final_attempt: bool = True) -> int:
    """The RQ job: e-mail every officer about a new or overdue case. Returns messages sent."""
    case = Case.objects.get(pk=case_id)
    recipients = officer_addresses()
    if not recipients:
        log.warning("case %s: no officer has an e-mail address", case_id)
        return 0
    what = "Overdue" if kind == OVERDUE else "New"
    subject = f"[annotate] {what} {case.severity} case {case.pk}: {Category(case.category).label}"
    due = case.due_at.strftime("%Y-%m-%d %H:%M %Z") if case.due_at else "none"
    body = (
        f"{what} case {case.pk} ({case.severity}): {Category(case.category).label}.\n"
        f"State: {Case.State(case.state).label}. Deadline of this stage: {due}.\n\n"
        f"Open it: {settings.ANNOTATE_SITE_URL}{reverse('case', args=[case.pk])}\n\n"
        "This message carries no recording and no identity; sign in to work the case.\n"
    )
    return send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients, fail_silently=False)


def mail_after_commit(case_id: int, kind: str) -> None:
    """Record the e-mail job in the case's own transaction, so a Redis outage cannot lose it."""
    jobs.schedule(
        "default",
        send_case_mail,
        case_id,
        kind,
        key=f"mail:case:{case_id}:{kind}",
        retries=3,
        retry_intervals=[10, 60, 300],
    )
