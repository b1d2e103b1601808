"""The officer console's live feed on the deployed topology: Daphne (the README's command)
and a redis-server of the test's own behind the Channels layer.

- An idle WebSocket stays open: channels_redis blocks 5 s in Redis waiting for messages,
  and redis-py's default 5 s socket timeout used to fire first and close every idle socket.
- A case flagged while the console's socket was down (Redis stopped) is announced with
  the banner and a beep once the console is back, not silently added to the list.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.support import CHROMIUM_ARGS as SHARED_CHROMIUM_ARGS

pytestmark = pytest.mark.topology

IDLE_SECONDS = 60
CHROMIUM_ARGS = [*SHARED_CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]  # the beep plays

# Runs in `manage.py shell -c` against the stack while Redis is down: the reviewer flags a
# clip they hold through the real service. Its after-commit broadcast cannot reach the
# officers then; whether it raises is not this test's subject, so it is reported, not raised.
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


async def idle_socket(url: str, origin: str, session: str, seconds: float) -> tuple[dict, dict]:
    from websockets.asyncio.client import connect

    headers = {"Cookie": f"sessionid={session}", "Origin": origin}
    async with connect(url, additional_headers=headers, open_timeout=10) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        # Nothing to say for a minute: recv() must time out, not find the socket closed.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), seconds)
        await ws.send(json.dumps({"type": "refresh"}))
        again = json.loads(await asyncio.wait_for(ws.recv(), 10))
        return hello, again


def test_an_idle_officer_websocket_stays_open_a_minute(stack):
    officer = stack.users({"olga": ["officer"]})["olga"]
    web = stack.web()

    hello, again = asyncio.run(
        idle_socket(web.url("/ws/cases/").replace("http", "ws", 1), web.url(""), officer.session, IDLE_SECONDS)
    )

    assert hello["type"] == "hello"
    assert again == {"type": "hello", "cases": []}
    web.wait_for_log("WSDISCONNECT /ws/cases/", timeout=10)  # Daphne logs the close a moment after it
    assert web.log_text().count("WSDISCONNECT /ws/cases/") == 1  # when the test closed it, not before


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
