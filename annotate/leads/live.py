"""Telling the live dashboard that something changed (a Channels group message).

Called after the transaction commits, from the submit path and the console's own
writes. The message carries no data: each connected dashboard recomputes its
numbers (throttled), so the submit path adds no queries.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

DASHBOARD_GROUP = "dashboard"


def notify_dashboard(*, reason: str, queue_id: int | None = None) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            DASHBOARD_GROUP, {"type": "dashboard.changed", "reason": reason, "queue_id": queue_id}
        )
    except Exception:  # the submit is stored already; a missed live update is not an error for the reviewer
        log.warning("could not notify the live dashboard (%s)", reason, exc_info=True)
