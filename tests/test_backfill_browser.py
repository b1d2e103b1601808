"""A lead backfills a queue from its page, in headless Chromium (issue 18): the count is shown,
the job runs, and the page's row follows it to "done" by itself (static/leads/backfill.js)."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.queues.models import Task
from tests.factories import make_clip, make_queue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_lead_backfills_a_queue_and_watches_it_finish(live_server, settings, browser, lead, reviewer):
    settings.REDIS_URL = ""  # the job runs in the server's process once the request commits
    for n in range(3):
        make_clip(f"play song {n}")
    queue = make_queue(reviewer, name="New queue")
    client = Client()
    client.force_login(lead)
    context = browser.new_context(base_url=live_server.url)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"/lead/queues/{queue.pk}/")
    assert page.title() == "New queue · annotate"
    assert "3 clips of the last 7 days match" in page.inner_text("#backfill-preview")
    page.fill("#backfill-cap", "2")
    page.click("#backfill button[type=submit]")
    page.wait_for_selector("#backfills tr[data-backfill][data-state=done]", timeout=20_000)
    row = page.inner_text("#backfills tbody tr")
    assert "done" in row and "\t2\t" in f"{row}\t"  # two added, the cap
    assert Task.objects.filter(queue=queue).count() == 2
    assert errors == []
    context.close()
