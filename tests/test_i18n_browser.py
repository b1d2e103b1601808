"""The review page in Romanian, in headless Chromium (issue 18): a reviewer who chose Romanian
gets the page's own words (the template's and its scripts', from the JavaScript catalogue) in
Romanian, with the transcript fields' direction left to their text (dir="auto")."""

from __future__ import annotations

import pytest

from annotate.accounts.models import Preferences
from annotate.queues.models import Queue
from tests.factories import make_clip
from tests.support import open_review_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_review_page_speaks_romanian(live_server, reviewer, browser):
    Preferences.objects.create(user=reviewer, language="ro")
    queue = Queue.objects.create(name="Muzică")
    queue.members.add(reviewer)
    make_clip("pune o melodie de la Taylor Swift")

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_review_page(page, live_server.url, reviewer, queue.pk)

    assert page.get_attribute("html", "lang") == "ro"
    assert page.text_content("#transcript-title") == "Transcriere"  # (shown in capitals by the CSS)
    assert page.inner_text("#submit").startswith("Trimiteți")
    assert page.inner_text("#skip").startswith("Săriți peste")
    assert page.inner_text(".play-label") in ("Redați", "Pauză")  # it may be playing already
    assert page.inner_text("#whisper-label").startswith("Whisper a auzit")
    # The scripts' words: the lease chip and the clip count, drawn by the page.
    page.wait_for_function("() => document.getElementById('lease').textContent.trim() !== ''")
    assert page.inner_text("#lease").startswith("Rezervare")
    assert page.evaluate("() => window.gettext('Submit')") == "Trimiteți"
    # The keys' help, built by the page from its key map.
    page.keyboard.press("Alt+/")
    page.wait_for_selector("#help[open]")
    help_text = page.inner_text("#help-keys")
    assert "Redare" in help_text and "Play / pause" not in help_text
    page.keyboard.press("Escape")
    for field in ("#transcript", "#whisper-words", "#heard", "#response", "#diff"):
        assert page.get_attribute(field, "dir") == "auto", field
    # A submit: its line in the outbox says where it stands, in Romanian too.
    page.fill("#transcript", "pune o melodie de Taylor Swift")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#outbox li[data-state=saved]", state="attached", timeout=15_000)  # the queue is empty now
    assert page.text_content("#outbox li[data-state=saved] .outbox-state") == "salvat"
    assert errors == []
