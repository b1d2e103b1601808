"""The live dashboard's WebSocket: leads only, group "dashboard".

On connect the lead gets the current numbers; after each "dashboard.changed"
group message (sent when a reviewer submits, a lead adjudicates, ...) the
numbers are recomputed and sent again, at most once per
ANNOTATE_DASHBOARD_THROTTLE_SECONDS per connection.
"""

from __future__ import annotations

import asyncio

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from annotate import instruments
from annotate.accounts import roles
from annotate.leads import selectors
from annotate.leads.live import DASHBOARD_GROUP

FORBIDDEN = 4403


class DashboardConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        self.joined = False
        self.pending: asyncio.Task | None = None
        self.dirty = False
        self.last_sent = 0.0
        user = self.scope.get("user")
        if not await database_sync_to_async(roles.has_role)(user, roles.LEAD):
            await self.close(code=FORBIDDEN)
            return
        await self.channel_layer.group_add(DASHBOARD_GROUP, self.channel_name)
        self.joined = True
        await self.accept()
        instruments.WEBSOCKETS.labels("dashboard").inc()
        await self.send_snapshot()

    async def disconnect(self, code: int) -> None:
        if self.pending is not None:
            self.pending.cancel()
        if self.joined:
            instruments.WEBSOCKETS.labels("dashboard").dec()
            await self.channel_layer.group_discard(DASHBOARD_GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "refresh":
            await self.send_snapshot()

    async def dashboard_changed(self, event: dict) -> None:
        self.dirty = True
        if self.pending is None or self.pending.done():
            self.pending = asyncio.ensure_future(self._refresh())

    async def _refresh(self) -> None:
        loop = asyncio.get_running_loop()
        while self.dirty:  # changes that arrive while computing get one more refresh
            wait = self.last_sent + settings.ANNOTATE_DASHBOARD_THROTTLE_SECONDS - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.dirty = False
            await self.send_snapshot()

    async def send_snapshot(self) -> None:
        data = await database_sync_to_async(selectors.dashboard)()
        self.last_sent = asyncio.get_running_loop().time()
        await self.send_json({"type": "dashboard", "data": data})
