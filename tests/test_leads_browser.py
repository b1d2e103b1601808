"""The live dashboard in headless Chromium: it updates, without a reload, while a reviewer submits.

pytest-django's live_server speaks WSGI only, so this test starts Daphne (the
product's ASGI app, HTTP and WebSocket, static files served) in a forked process
against the test database. A forked process cannot share an in-memory SQLite
database, so the test needs PostgreSQL (as CI has).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.db import connections
from django.test import Client

from tests.factories import make_clip, make_queue
from tests.support import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _application():
    from channels.routing import get_default_application

    return ASGIStaticFilesHandler(get_default_application())


def _forget_inherited_connections():
    """In the forked server: nothing of the test process's connections or threads.

    A fork copies no threads, so thread pools made earlier in the test run (asgiref's
    executor behind every sync_to_async) would wait forever for their dead workers.
    """
    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers

    for connection in connections.all(initialized_only=True):
        connection.connection = None
    channel_layers.backends = {}  # a fresh channel layer, with its own connections
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)


@pytest.fixture
def daphne_url(settings):
    from daphne.testing import DaphneProcess

    settings.ANNOTATE_DASHBOARD_THROTTLE_SECONDS = 0.2
    # Jobs in the server process, after each commit (as in `make demo`): the submits' quality figures, and
    # with them the dashboard's update, need no worker here (tests/topology has the deployed worker's).
    settings.REDIS_URL = ""
    process = DaphneProcess("127.0.0.1", partial(_application), setup=_forget_inherited_connections)
    process.start()
    try:
        assert process.ready.wait(20), "Daphne did not start"
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(10)


def session_cookie(user, url: str) -> dict:
    client = Client()
    client.force_login(user)
    return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}


SUBMIT_AS_REVIEWER = """async ({queueId, text}) => {
  const csrf = document.cookie.split("; ").find((c) => c.startsWith("csrftoken=")).slice(10);
  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf},
      body: JSON.stringify(body),
    });
    return {status: response.status, data: await response.json()};
  };
  const claimed = await post("/review/api/claim", {queue_id: queueId});
  const taskId = claimed.data.tasks[0].task_id;
  const submitted = await post(`/review/api/tasks/${taskId}/submit`, {
    idempotency_key: crypto.getRandomValues(new Uint32Array(4)).join("-"),
    corrected_text: text,
    seconds_spent: 7,
  });
  return submitted.status;
}"""


def test_the_dashboard_updates_live_while_a_reviewer_submits(daphne_url, lead, reviewer, browser):
    queue = make_queue(reviewer, name="Music")
    for text in ("play halo", "play yellow", "set a timer"):
        make_clip(text)
    lead_cookie, reviewer_cookie = session_cookie(lead, daphne_url), session_cookie(reviewer, daphne_url)

    lead_context = browser.new_context()
    lead_context.add_cookies([lead_cookie])
    dashboard = lead_context.new_page()
    errors: list[str] = []
    dashboard.on("pageerror", lambda error: errors.append(str(error)))
    loads: list[str] = []
    dashboard.on("load", lambda page: loads.append(page.url))
    dashboard.goto(f"{daphne_url}/lead/")
    dashboard.wait_for_function("() => window.__dashboard && window.__dashboard.live", timeout=30_000)
    assert dashboard.text_content("#total-backlog") == "3"
    assert dashboard.text_content("#total-last-hour") == "0"
    assert dashboard.get_attribute("#dashboard", "data-live") == "live"

    reviewer_context = browser.new_context()
    reviewer_context.add_cookies([reviewer_cookie])
    desk = reviewer_context.new_page()
    desk.goto(f"{daphne_url}/")  # the reviewer's home page sets the CSRF cookie

    for done, text in enumerate(("play halo", "play yellow"), start=1):
        status = desk.evaluate(SUBMIT_AS_REVIEWER, {"queueId": queue.pk, "text": text})
        assert status == 201
        dashboard.wait_for_function(
            "n => document.getElementById('total-last-hour').textContent === String(n)", arg=done
        )
    # The third clip is claimed already (prefetched): nothing open, one in review.
    assert dashboard.text_content("#total-backlog") == "0"
    queue_row = dashboard.eval_on_selector("#queues-table tbody tr", "r => [...r.cells].map(c => c.textContent)")
    assert queue_row[:4] == ["Music", "0", "0", "1"]
    rows = dashboard.eval_on_selector_all(
        "#reviewers-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert rows[0][:3] == ["rita", "2", "2"]
    bars = dashboard.eval_on_selector_all("#throughput-chart svg rect.bar", "bars => bars.length")
    assert bars == 1
    updates = dashboard.evaluate("window.__dashboard.updates")
    assert updates >= 3  # the first numbers, then one per submit at least
    assert loads == [f"{daphne_url}/lead/"]  # never reloaded
    assert errors == []
    data = json.loads(json.dumps(dashboard.evaluate("window.__dashboard.data")))
    assert data["queues"][0]["clips_per_hour"] == 2


def test_a_reviewer_asks_for_a_second_opinion_on_the_review_page_and_reads_the_answer(
    daphne_url, lead, reviewer, browser
):
    from annotate.leads import services
    from annotate.leads.models import SecondOpinion

    queue = make_queue(reviewer, name="Music")
    make_clip("play halo by beyonce")
    cookie = session_cookie(reviewer, daphne_url)

    context = browser.new_context()
    context.add_cookies([cookie])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{daphne_url}/review/{queue.pk}/")
    page.wait_for_selector("#review[data-ready=true]")
    task_id = int(page.get_attribute("#review", "data-task-id"))
    page.wait_for_selector("#ask-question")
    page.keyboard.press("Alt+q")
    assert page.evaluate("document.activeElement.id") == "ask-question"
    page.keyboard.type("is it halo or hello?")
    page.keyboard.press("Enter")
    page.wait_for_selector("#panel-second-opinion li.open")

    def answer_it():  # as a lead in the console would (its own thread: Playwright runs an event loop here)
        opinion = SecondOpinion.objects.select_related("clip").get()
        assert (opinion.asked_by_id, opinion.task_id) == (reviewer.pk, task_id)
        services.answer(opinion=opinion, lead=lead, text="Halo, by Beyoncé.")

    in_thread(answer_it)
    page.wait_for_selector("#panel-second-opinion li.answered", timeout=25_000)
    assert page.text_content("#panel-second-opinion li.answered .ask-a") == "Lead: Halo, by Beyoncé."
    assert errors == []
