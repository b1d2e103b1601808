"""The mining page in headless Chromium: a lead finds "taylor swift", bulk-tags the matches, and undoes it."""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.catalog import index as catalog_index
from annotate.catalog.kinds import seed_kinds
from annotate.catalog.models import EntityKind, EntitySpan
from annotate.queues import claims
from annotate.review.services import Submission, submit
from tests.factories import import_entities, make_clip, make_queue
from tests.support import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(lead, reviewer):
    seed_kinds(EntityKind)
    catalog_index.forget()
    import_entities({"kind": "artist", "name": "Taylor Swift", "aliases": ["T Swift"], "popularity": 100})
    queue = make_queue(reviewer)
    make_clip("shake it off my taylor swift")
    task = claims.claim_next(user=reviewer, queue=queue)
    submit(user=reviewer, task_id=task.pk, submission=Submission(idempotency_key="k", corrected_text="Taylor Swift!"))
    make_clip("is TAYLOR SWIFT on tour")
    client = Client()
    client.force_login(lead)
    yield client.cookies["sessionid"].value
    catalog_index.forget()


def test_a_lead_mines_bulk_tags_and_undoes(live_server, setup, browser):
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": setup, "url": live_server.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/catalog/mine/")
    page.fill("#mine-q", "Taylor Swift")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.querySelectorAll('#mine-rows .pick').length === 3")
    assert "3 matches" in page.inner_text("#mine-count")
    assert page.locator("#mine-rows mark").all_inner_texts() == ["Taylor Swift", "TAYLOR SWIFT", "taylor swift"]
    page.check("#mine-all")
    assert page.inner_text("#mine-chosen") == "3"
    page.fill("#mine-entity-q", "t swift")
    page.wait_for_selector("#mine-entities li")
    page.click("#mine-entities li")
    assert "Taylor Swift" in page.inner_text("#mine-link")
    page.click("#mine-apply-button")
    page.wait_for_function("() => document.getElementById('mine-status').dataset.kind === 'ok'")
    assert page.inner_text("#mine-status").startswith("Tagged 3 match")
    page.wait_for_function("() => document.querySelectorAll('#mine-rows tr.done').length === 3")
    assert in_thread(lambda: EntitySpan.objects.filter(entity__name="Taylor Swift").count()) == 3

    page.click("#mine-batches button")
    page.wait_for_function("() => document.getElementById('mine-status').textContent.startsWith('Undone')")
    page.wait_for_selector("#mine-batches tr.undone")
    assert in_thread(lambda: EntitySpan.objects.count()) == 0
    assert errors == []
