"""Both sides of a flag in headless Chromium, over a real ASGI server (HTTP and WebSocket).

pytest-django's live_server speaks WSGI only, so this module runs Daphne — the
production ASGI server — against the test database: in a process on PostgreSQL
(as channels' ChannelsLiveServerTestCase does), in a thread of the test process
on SQLite, whose test database lives in this process's memory.

The two-context test drives the reviewer's side through the plugin
(static/review/flag.js) installed on a small stand-in for the review page's
plugin interface (docs/review-plugins.md), so the officer's side is timed from
the flag alone; the receipt is followed on the reviewer's page (/cases/care/),
which polls it. The last test flags from the real review page with Alt+X.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import contextmanager

import pytest
from django.db import connections
from django.test import Client

from annotate.escalation.models import Case
from annotate.escalation.templatetags.escalation_review import flag_plugin_state
from tests.factories import held_clip, make_queue
from tests.support import CANARY, CHROMIUM_ARGS, daphne_process

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@contextmanager
def _daphne_thread():
    """SQLite: the test database lives in this process's memory, so Daphne runs in a thread here."""
    from daphne.endpoints import build_endpoint_description_strings
    from daphne.server import Server
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from twisted.internet import reactor

    from annotate.asgi import application

    server = Server(
        application=ASGIStaticFilesHandler(application),
        endpoints=build_endpoint_description_strings(host="127.0.0.1", port=0),
        signal_handlers=False,
        verbosity=0,
    )
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.listening_addresses:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("Daphne did not start")
        time.sleep(0.05)
    host, port = server.listening_addresses[0]
    try:
        yield f"http://{host}:{port}"
    finally:
        reactor.callFromThread(reactor.stop)
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """The real ASGI server (HTTP and WebSocket) on a free loopback port, serving the test database.

    Twisted's reactor runs once per process: one server for the session.
    """
    with django_db_blocker.unblock():
        if connections["default"].vendor == "postgresql":
            with daphne_process() as answering:
                yield answering()
            # The session ends here and the test database is dropped next: end every other session
            # of it (the live server's threads too), as the drop needs.
            with connections["default"].cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            connections["default"].close()
        else:
            with _daphne_thread() as url:
                yield url


@pytest.fixture
def chromium_args():
    return [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]  # the beep plays


def sign_in(browser, base: str, user, errors: list[str], *, bypass_csp: bool = False):
    """A browser context signed in as `user` (a session made here: the server process may hash differently).

    bypass_csp: for a page that hosts the test's own inline harness, which the site's
    Content-Security-Policy refuses (as it should refuse any inline script)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(base_url=base, bypass_csp=bypass_csp)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{user.username}: {error}"))
    return context, page


# A stand-in for the review page's plugin interface, holding one clip (the task held in the test).
HARNESS = """
import { install } from "/static/review/flag.js";
const csrf = () => (document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")) || "=").split("=")[1];
let current = window.__clip;
const changes = [];
const review = {
  panel(id, title) {
    const section = document.createElement("section");
    section.id = `panel-${id}`;
    section.className = "card";
    const h = document.createElement("h2");
    h.textContent = title;
    section.append(h);
    document.querySelector("main").prepend(section);
    return section;
  },
  current: () => current,
  config: (name) => (name === "flag" ? window.__flagState : {}),
  onClipChange(cb) { changes.push(cb); cb(current); },
  onBeforeSubmit() {},
  keys: {
    register(binding) {
      document.addEventListener("keydown", (e) => {
        if (e.altKey && e.code === "KeyX") { e.preventDefault(); binding.run(e); }
      });
      window.__keys = [...(window.__keys || []), binding.combo];
    },
  },
  api: {
    async post(url, body) {
      const r = await fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify(body),
      });
      return { ok: r.ok, status: r.status, data: await r.json() };
    },
  },
  textarea: null,
  player: { seek() {}, currentTime: () => 0.4, pause() {} },
  status(message, kind) { window.__status = { message, kind }; },
  draft: () => ({ corrected_text: "help me please", answer_grade: "wrong" }),
  advance() { current = null; window.__advanced = true; changes.forEach((cb) => cb(null)); },
};
install(review);
window.__flagReady = true;
"""


def test_a_flag_reaches_the_officer_live_and_the_reviewer_sees_it_handled(
    asgi_server, browser, reviewer, officer, other_reviewer
):
    queue = make_queue(reviewer, other_reviewer)
    task = held_clip(reviewer, queue, with_audio=True)

    errors: list[str] = []
    officer_ctx, console = sign_in(browser, asgi_server, officer, errors)
    reviewer_ctx, care = sign_in(browser, asgi_server, reviewer, errors, bypass_csp=True)  # HARNESS is inline
    try:
        # The officer's console is open and live, sound turned on.
        console.goto("/cases/")
        console.wait_for_selector("#console[data-connected=true]", timeout=10_000)
        console.click("#sound")
        console.wait_for_selector("#sound[aria-pressed=true]")
        assert console.locator("#case-rows tr").count() == 0

        # The reviewer flags the clip with the plugin: Alt+X, 1 (danger now), a note, Ctrl+Enter.
        care.goto("/cases/care/")
        care.evaluate(f"window.__clip = {{task_id: {task.pk}, clip: {{public_id: '{task.clip.public_id}'}}}}")
        care.evaluate(f"window.__flagState = {json.dumps(flag_plugin_state())}")  # the review page's json_script
        care.add_script_tag(content=HARNESS, type="module")
        care.wait_for_function("() => window.__flagReady === true")
        assert care.evaluate("window.__keys") == ["Alt+X"]
        care.keyboard.press("Alt+x")
        care.wait_for_selector("#flag-dialog[open]")
        care.keyboard.press("1")
        assert care.is_checked("input[name=flag-severity][value=critical]")  # preset from the category
        care.fill("#flag-note", "a woman screams that someone is hurting her")
        care.keyboard.press("Control+Enter")
        care.wait_for_function("() => window.__advanced === true", timeout=10_000)
        flagged_at = time.monotonic()
        assert care.evaluate("window.__status.kind") == "ok"
        care.wait_for_selector("#break-offer:not([hidden])")
        case = Case.objects.get()

        # Within a second the case is on the officer's console, highlighted, announced and beeped.
        row = f"#case-rows tr[data-case-id='{case.pk}']"
        console.wait_for_selector(row, timeout=1_000)
        seen_after = time.monotonic() - flagged_at
        assert seen_after < 1.0, seen_after
        assert "fresh" in console.get_attribute(row, "class")
        assert "critical" in console.inner_text("#alert")
        assert int(console.get_attribute("#console", "data-alerts")) >= 1
        assert int(console.get_attribute("#console", "data-beeps")) >= 1
        assert console.title().startswith("(1)")

        # The officer opens it with "Open and acknowledge": it is acknowledged on the way (audited).
        assert console.inner_text(f"{row} .button") == "Open and acknowledge"
        console.click(f"{row} .button")
        console.wait_for_selector("#case-state:text('acknowledged')")
        console.wait_for_selector("#transition-form")
        console.wait_for_load_state()
        assert console.evaluate("document.getElementById('case-audio').volume") == pytest.approx(0.2)
        assert "help me please" not in console.inner_text("main")  # the transcript waits to be asked for
        console.click("#show-transcript")
        console.wait_for_selector("#transcript:not([hidden])")
        assert "help me please" in console.inner_text("#transcript")
        console.fill("#note", "listened muffled; calling the duty manager")
        console.click("button[data-to=investigating]")
        console.wait_for_selector("#case-state:text('investigating')")

        # The reviewer's receipt follows, without a reload.
        receipt = f"#receipts tr[data-flag-id='{case.flags.get().pk}']"
        care.wait_for_selector(f"{receipt}[data-state=investigating]", timeout=15_000)
        assert care.inner_text(f"{receipt} .receipt-state") == "Being looked into"
        text = care.content()
        assert "duty manager" not in text and not CANARY.found_in(text)
        assert errors == []
    finally:
        officer_ctx.close()
        reviewer_ctx.close()


def test_the_review_page_flags_with_alt_x(asgi_server, browser, reviewer, other_reviewer):
    """The plugin as the review page loads it: Alt+X, a category key, Ctrl+Enter; the page moves on."""
    queue = make_queue(reviewer, other_reviewer)
    task = held_clip(reviewer, queue, with_audio=True)
    errors: list[str] = []
    context, page = sign_in(browser, asgi_server, reviewer, errors)
    try:
        page.goto(f"/review/{queue.pk}/")
        page.wait_for_selector("#flag-open", timeout=15_000)  # the plugin's panel button
        page.wait_for_function("() => document.querySelector('#review').dataset.view === 'clip'", timeout=15_000)
        page.keyboard.press("Alt+x")
        page.wait_for_selector("#flag-dialog[open]")
        page.keyboard.press("4")  # a child at risk
        assert page.is_checked("input[name=flag-severity][value=high]")
        page.fill("#flag-note", "a child cries for help")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#break-offer:not([hidden])", timeout=10_000)
        flag = Case.objects.get().flags.get()
        assert (flag.task_id, flag.category, flag.note) == (task.pk, "child_at_risk", "a child cries for help")
        assert flag.draft.get("corrected_text") == "help me please"  # Whisper's text, as the page pre-filled it
        page.wait_for_selector(f"#flag-receipts tr[data-flag-id='{flag.pk}']", state="attached", timeout=15_000)
        assert "escalation officer has been alerted" in page.inner_text("#save-status")
        assert not CANARY.found_in(page.content())
        assert errors == []
    finally:
        context.close()
