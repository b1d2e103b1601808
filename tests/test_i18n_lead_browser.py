"""The lead's console and the mining page in Romanian, in headless Chromium (issue 18): what their
scripts draw comes from the JavaScript catalogue, with Romanian's plural forms (tn of static/review/i18n.js).
The live dashboard's WebSocket is not served here (live_server is WSGI): its numbers come from the
page, and the script says it is reconnecting."""

from __future__ import annotations

import pytest

from annotate.accounts.models import Preferences
from tests.factories import make_clip
from tests.support import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def page_in_romanian(live_server, browser, lead):
    Preferences.objects.create(user=lead, language="ro")
    # the session remembers the language (accounts.locale)
    context, page, errors = signed_in_page(browser, live_server.url, lead)
    yield page
    assert errors == []
    context.close()


def test_the_queue_forms_preview_and_the_dashboard_in_romanian(page_in_romanian):
    page = page_in_romanian
    for n in range(3):
        make_clip(f"set a timer {n}", locale="en-US")
    make_clip("rain in london", locale="en-GB")

    page.goto("/lead/queues/new")
    assert page.get_attribute("html", "lang") == "ro"
    page.fill("#id_locales", "en-US")  # the script asks the server and words the answer with tn()
    page.wait_for_function("() => document.getElementById('preview').textContent.includes(', 3 se potrivesc')")
    assert page.inner_text("#preview") == (
        "Din cele 4 clipuri din ultimele 7 zile, 3 se potrivesc acestei reguli; "
        "la această rată, ar fi fost eșantionate aproximativ 3."
    )
    page.fill("#id_locales", "en-GB")
    page.wait_for_function("() => document.getElementById('preview').textContent.includes('se potrivește')")
    assert ", 1 se potrivește acestei reguli;" in page.inner_text("#preview")

    page.goto("/lead/")
    page.wait_for_function("() => document.getElementById('live-state').textContent.startsWith('reconectare')")
    assert page.inner_text("#queues-table tbody") == "încă nu sunt date"
    assert "Total" in page.inner_text("#flags")


def test_the_mining_page_in_romanian(page_in_romanian, fresh_catalog):
    page = page_in_romanian
    page.goto("/catalog/mine/")
    page.wait_for_function("() => document.getElementById('mine-batches').textContent !== ''")
    assert page.inner_text("#mine-batches") == "Niciuna încă."
    assert page.inner_text("#mine-link") in (
        "Acest tip nu este legat de catalog.",
        "Alegeți o intrare din catalog sau marcați că nu este în catalog.",
    )
    page.fill("#mine-q", "nimic de găsit")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('mine-count').textContent.includes('potriviri')")
    assert page.inner_text("#mine-count") == "0 potriviri pentru „nimic de găsit”"  # Romanian's 0 takes form 1
    assert page.inner_text("#mine-rows") == "Nicio potrivire."
