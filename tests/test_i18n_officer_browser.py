"""The officer's console and a case page in Romanian, in headless Chromium (issue 18). The
expected words are read from the compiled catalogues, so the test checks that each shown string
is the translation (and not the English), whatever its wording."""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from annotate.accounts.models import Preferences
from tests.factories import flag_task, held_clip
from tests.support import signed_in_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LOCALE = Path(settings.BASE_DIR) / "locale"


def ro(message: str) -> str:
    with translation.override("ro"):
        translated = translation.gettext(message)
    assert translated != message, f"{message!r} has no Romanian translation"
    return translated


def ro_js(message: str) -> str:
    translated = gettext.translation("djangojs", localedir=LOCALE, languages=["ro"]).gettext(message)
    assert translated != message, f"{message!r} has no Romanian translation in djangojs"
    return translated


def test_the_officers_console_and_case_page_speak_romanian(live_server, browser, officer, reviewer, queue):
    Preferences.objects.create(user=officer, language="ro")
    case = flag_task(reviewer, held_clip(reviewer, queue, with_audio=False)).case
    # the session remembers the language (accounts.locale)
    context, page, errors = signed_in_page(browser, live_server.url, officer)

    page.goto("/cases/")
    assert page.get_attribute("html", "lang") == "ro"
    assert page.inner_text("h1") == ro("Open cases")
    assert ro("Severity") in page.inner_text("thead")
    row = page.wait_for_selector(f"#case-rows tr[data-case-id='{case.pk}']")
    assert ro_js("Open and acknowledge") in row.inner_text()
    assert ro("critical").upper() in row.inner_text().upper()  # the severity badge (in capitals by the CSS)

    page.goto(f"/cases/{case.pk}/")
    assert page.inner_text("#listen-title") == ro("Listen (protected)")
    assert page.inner_text("#actions-title") == ro("Next step")
    assert page.inner_text("#timeline-title") == ro("Timeline")
    page.click("#show-transcript")
    page.wait_for_function("() => !document.getElementById('transcript').hidden")
    assert page.inner_text("#show-transcript") == ro_js("Hide the transcript")
    assert errors == []
    context.close()
