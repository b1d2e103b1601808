"""The translated interface (issue 18, docs/i18n.md): a language and a time zone per person, the
Romanian catalogues complete and compiled, and "today" of the daily exposure cap being the
person's own day."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import RequestFactory
from django.utils import timezone, translation

from annotate.accounts.locale import UserLocaleMiddleware
from annotate.accounts.models import Preferences
from annotate.escalation import care

pytestmark = pytest.mark.django_db
LOCALE = Path(settings.BASE_DIR) / "locale"


def po_entries(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a PO file (enough of the format for ours: no plurals, no contexts)."""

    def text(lines: list[str]) -> str:
        joined = "".join(re.match(r'^(?:msgid |msgstr )?"(.*)"$', line).group(1) for line in lines)
        return joined.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")

    entries: dict[str, str] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        if not any(line.startswith("msgid ") for line in lines):
            continue
        i = next(k for k, line in enumerate(lines) if line.startswith("msgid "))
        j = next(k for k, line in enumerate(lines) if line.startswith("msgstr "))
        msgid = text(lines[i:j])
        if msgid:
            entries[msgid] = text(lines[j:])
    return entries


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_romanian_catalogues_are_complete_and_compiled(domain):
    po = LOCALE / "ro" / "LC_MESSAGES" / f"{domain}.po"
    entries = po_entries(po)
    assert entries and all(entries.values()), [k for k, v in entries.items() if not v]
    for msgid, msgstr in entries.items():  # every placeholder kept
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", msgstr)), msgid
    with (po.with_suffix(".mo")).open("rb") as fh:  # the .mo the app reads says the same (make messages)
        compiled = gettext.GNUTranslations(fh)
    stale = [m for m, s in entries.items() if compiled.gettext(m) != s]
    assert not stale, f"{po.with_suffix('.mo')} is older than its .po: run make messages ({stale[:3]})"


def test_a_person_picks_a_language_and_a_time_zone(client, reviewer):
    client.force_login(reviewer)
    page = client.get("/account/preferences/")
    assert page.status_code == 200 and 'value="ro"' in page.content.decode()
    saved = client.post("/account/preferences/", {"language": "ro", "time_zone": "Europe/Bucharest"}, follow=True)
    assert Preferences.objects.get(user=reviewer).language == "ro"
    body = saved.content.decode()
    assert '<html lang="ro">' in body and "Preferințele dumneavoastră au fost salvate." in body
    assert "Cozile mele" in client.get("/").content.decode()  # every page, from now on
    bad = client.post("/account/preferences/", {"language": "xx", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 400
    assert "Alegeți o limbă din listă." in bad.content.decode()
    assert Preferences.objects.get(user=reviewer).time_zone == "Europe/Bucharest"


def test_the_middleware_activates_the_persons_language_and_time_zone(reviewer):
    Preferences.objects.create(user=reviewer, language="ro", time_zone="Asia/Kolkata")
    seen = {}

    def view(request):
        from django.http import HttpResponse

        seen["language"] = translation.get_language()
        seen["zone"] = timezone.get_current_timezone_name()
        return HttpResponse("")

    request = RequestFactory().get("/")
    request.user, request.session = reviewer, {}  # a session without them yet: read once, then kept
    response = UserLocaleMiddleware(view)(request)
    assert seen == {"language": "ro", "zone": "Asia/Kolkata"}
    assert response["Content-Language"] == "ro" and request.session["annotate_preferences"] == ["ro", "Asia/Kolkata"]
    assert timezone.get_current_timezone_name() == "UTC"  # after the response, nothing of theirs stays


def test_the_daily_cap_counts_the_persons_own_day():
    late = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)  # in Bucharest already 2 December
    assert care.day_start(late) == datetime(2026, 12, 1, tzinfo=UTC)
    with timezone.override(ZoneInfo("Europe/Bucharest")):
        assert care.day_start(late) == datetime(2026, 12, 2, tzinfo=ZoneInfo("Europe/Bucharest"))
