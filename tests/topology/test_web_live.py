"""The live feeds on the deployed topology: the README's web command (uvicorn, two worker
processes) and a redis-server of the test's own behind the Channels layer.

- An idle WebSocket stays open: channels_redis blocks 5 s in Redis waiting for messages,
  and redis-py's default 5 s socket timeout used to fire first and close every idle socket.
  uvicorn pings each socket every 20 s; a client that answers (browsers and the websockets
  library do, unasked) is never closed for being quiet.
- A flag sent over HTTP reaches every officer console and lead dashboard, whichever of the
  web's worker processes holds the socket and whichever answered the flag.
- A case flagged while the console's socket was down (Redis stopped) is announced with
  the banner and a beep once the console is back, not silently added to the list.

What the server holds is read from Redis, not from the web server's log: channels_redis
keeps each group as a sorted set of channel names, `specific.<client prefix>!<id>`, the
client prefix being one per process.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import AsyncExitStack, asynccontextmanager

import pytest

from tests.support import CHROMIUM_ARGS as SHARED_CHROMIUM_ARGS
from tests.topology.stack import WEB_WORKERS, wait_for

pytestmark = pytest.mark.topology

IDLE_SECONDS = 60
CHROMIUM_ARGS = [*SHARED_CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]  # the beep plays
GROUP_KEY = "asgi:group:{}"  # channels_redis's key of a group (its default prefix, "asgi")
SOCKETS_AT_MOST = 16  # per feed, opened until both worker processes hold some

# Runs in `manage.py shell -c` against the stack: the reviewer flags a clip they hold
# through the real service. Its after-commit broadcast cannot reach the officers while
# Redis is down; whether it raises then is not this module's subject, so it is reported,
# not raised.
FLAG_SCRIPT = """
from django.contrib.auth.models import User
from annotate.escalation import services
from annotate.escalation.models import Case
from annotate.queues import claims
from tests.factories import make_clip, make_queue

reviewer = User.objects.get(username=args["reviewer"])
queue = make_queue(reviewer)
clip = make_clip("help me somebody help", with_audio=False)
task = claims.claim_next(user=reviewer, queue=queue)
error = None
try:
    services.flag_clip(user=reviewer, flag=services.FlagInput(task_id=task.pk, category="danger_now"))
except Exception as exc:
    error = repr(exc)
result = {"case": Case.objects.get(clip=clip).pk, "error": error}
"""

# A queue of the reviewer's with one ready clip in it (the clip is sampled into it).
READY_CLIP = """
from django.contrib.auth.models import User
from tests.factories import make_clip, make_queue

queue = make_queue(User.objects.get(username=args["reviewer"]))
make_clip("help me somebody help", with_audio=False)
result = queue.pk
"""


def group_channels(stack, group: str) -> list[str]:
    """The channels of a Channels group, as Redis holds them: one per consumer (socket) that joined."""
    return sorted(name.decode() for name in stack.redis.client().zrange(GROUP_KEY.format(group), 0, -1))


def holders(channels: list[str]) -> set[str]:
    """The processes (channels_redis client prefixes) whose consumers own these channels."""
    return {name.split(".", 1)[1].split("!", 1)[0] for name in channels}


@asynccontextmanager
async def socket(web, path: str, session: str):
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"sessionid={session}", "Origin": web.url("")}
    async with connect(web.url(path).replace("http", "ws", 1), additional_headers=headers, open_timeout=10) as ws:
        yield ws


async def receive(ws, timeout: float = 10) -> dict:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def test_an_idle_officer_websocket_stays_open_a_minute_and_is_told_of_a_new_case(stack):
    users = stack.users({"olga": ["officer"], "rita": ["reviewer"]})
    web = stack.web()

    async def idle_then_flag():
        async with socket(web, "/ws/cases/", users["olga"].session) as ws:
            hello = await receive(ws)
            # Nothing to say for a minute: recv() must time out, not find the socket closed.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(ws.recv(), IDLE_SECONDS)
            subscribed = group_channels(stack, "officers")
            flagged = await asyncio.to_thread(stack.django, FLAG_SCRIPT, reviewer="rita")
            told = await receive(ws, 30)  # unasked: the socket was never re-opened or refreshed
            await ws.send(json.dumps({"type": "refresh"}))
            again = await receive(ws)
        return hello, subscribed, flagged, told, again

    hello, subscribed, flagged, told, again = asyncio.run(idle_then_flag())

    assert hello == {"type": "hello", "cases": []}
    assert len(subscribed) == 1  # after the idle minute the server still holds the socket's consumer
    assert flagged["error"] is None
    assert told["type"] == "case.new" and told["case"]["id"] == flagged["case"]
    assert again["type"] == "hello" and [case["id"] for case in again["cases"]] == [flagged["case"]]
    # The server noticed the close when the test closed the socket: its consumer left the group.
    wait_for(lambda: group_channels(stack, "officers") == [], timeout=10, message="the consumer never left the group")


def test_a_flag_over_http_reaches_every_console_and_dashboard_on_both_worker_processes(stack):
    users = stack.users({"olga": ["officer"], "lena": ["lead"], "rita": ["reviewer"]})
    queue_id = stack.django(READY_CLIP, reviewer="rita")
    web = stack.web()
    rita = stack.client(users["rita"])
    claimed = rita.post("/review/api/claim", json={"queue_id": queue_id})
    assert claimed.status_code == 200, claimed.text
    task_id = claimed.json()["tasks"][0]["task_id"]

    async def flag_while_listening():
        async with AsyncExitStack() as opened:

            async def on_both_workers(path: str, session: str, group: str) -> tuple[list, list[dict]]:
                """Sockets opened two at once until both worker processes hold some; their first messages."""
                sockets: list = []
                while len(sockets) < SOCKETS_AT_MOST:
                    sockets += await asyncio.gather(
                        *(opened.enter_async_context(socket(web, path, session)) for _ in range(2))
                    )
                    if len(holders(group_channels(stack, group))) == WEB_WORKERS:
                        break
                return sockets, [await receive(ws) for ws in sockets]

            consoles, hellos = await on_both_workers("/ws/cases/", users["olga"].session, "officers")
            dashboards, snapshots = await on_both_workers("/ws/lead/dashboard/", users["lena"].session, "dashboard")
            held = {group: group_channels(stack, group) for group in ("officers", "dashboard")}
            flagged = await asyncio.to_thread(
                rita.post, "/cases/api/flags", json={"task_id": task_id, "category": "danger_now"}
            )
            told = [await receive(ws, 30) for ws in consoles]
            recomputed = [await receive(ws, 30) for ws in dashboards]
        return hellos, snapshots, held, flagged, told, recomputed

    hellos, snapshots, held, flagged, told, recomputed = asyncio.run(flag_while_listening())

    print(
        f"\n{len(hellos)} officer consoles and {len(snapshots)} dashboards, held by "
        f"{len(holders(held['officers']))} and {len(holders(held['dashboard']))} worker processes"
    )
    assert flagged.status_code == 201, flagged.text
    ((case_id,),) = stack.sql("SELECT id FROM escalation_case")
    assert [hello["type"] for hello in hellos] == ["hello"] * len(hellos)
    assert [snapshot["type"] for snapshot in snapshots] == ["dashboard"] * len(snapshots)
    assert len(holders(held["officers"])) == WEB_WORKERS and len(held["officers"]) == len(hellos)
    assert len(holders(held["dashboard"])) == WEB_WORKERS and len(held["dashboard"]) == len(snapshots)
    assert [(message["type"], message["case"]["id"]) for message in told] == [("case.new", case_id)] * len(told)
    assert [message["type"] for message in recomputed] == ["dashboard"] * len(recomputed)


def test_a_case_flagged_while_the_console_was_down_is_announced_after_reconnect(stack):
    from playwright.sync_api import sync_playwright

    users = stack.users({"olga": ["officer"], "rita": ["reviewer"]})
    stack.web()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context()
            context.add_cookies(stack.browser_cookies(users["olga"]))
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(stack.url("/cases/"))
            page.wait_for_selector("#console[data-connected=true]")
            page.click("#sound")  # the officer turns the alert sound on
            page.wait_for_selector("#sound[aria-pressed=true]")
            assert page.is_visible("#no-cases")

            stack.redis.stop()
            page.wait_for_selector("#console[data-connected=false]", timeout=20_000)
            flagged = stack.django(FLAG_SCRIPT, reviewer="rita")
            stack.redis.start()

            # Back live (the socket retries with backoff) or refreshed by the 15 s poll: either
            # way the case the console missed is announced.
            row = f'#case-rows tr[data-case-id="{flagged["case"]}"]'
            page.wait_for_selector(row, timeout=45_000)
            page.wait_for_selector("#console[data-connected=true]", timeout=45_000)
            banner = page.text_content("#alert")
            assert page.is_visible("#alert")
            assert f"case {flagged['case']}" in banner
            assert int(page.get_attribute("#console", "data-alerts")) == 1
            assert int(page.get_attribute("#console", "data-beeps")) == 2  # the sound check, then the alert
            assert "fresh" in page.get_attribute(row, "class")
            assert not errors, errors
        finally:
            browser.close()
