"""The officer console's live feed: `ws/cases/`, officers only.

On connect the consumer sends the open cases; then every new case, change and
overdue re-notification that the services broadcast to the "officers" group.
Anyone else is refused before the handshake completes (close code 4403).
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from annotate import instruments
from annotate.escalation import notify, selectors

REFUSED = 4403


@database_sync_to_async
def _is_officer(user) -> bool:
    return selectors.is_officer(user)


@database_sync_to_async
def _open_cases() -> list[dict]:
    return selectors.open_case_summaries()


class OfficerConsoleConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.joined = False
        if not await _is_officer(self.scope.get("user")):
            await self.close(code=REFUSED)
            return
        await self.channel_layer.group_add(notify.OFFICERS_GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        instruments.WEBSOCKETS.labels("officers").inc()
        await self.send_json({"type": "hello", "cases": await _open_cases()})

    async def disconnect(self, code: int) -> None:
        if getattr(self, "joined", False):
            instruments.WEBSOCKETS.labels("officers").dec()
            await self.channel_layer.group_discard(notify.OFFICERS_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        # The console asks for a fresh list after waking from sleep and every few minutes;
        # nothing else is accepted. Joining again renews the group membership, which
        # channels_redis lets expire after its group_expiry (a day).
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.channel_layer.group_add(notify.OFFICERS_GROUP, self.channel_name)
            await self.send_json({"type": "hello", "cases": await _open_cases()})

    async def case_new(self, event: dict) -> None:
        await self.send_json({"type": notify.NEW, "case": event["case"]})

    async def case_updated(self, event: dict) -> None:
        await self.send_json({"type": notify.UPDATED, "case": event["case"]})

    async def case_overdue(self, event: dict) -> None:
        await self.send_json({"type": notify.OVERDUE, "case": event["case"]})
