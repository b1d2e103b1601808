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


def po_entries(path: Path) -> dict[str, list[str]]:
    """msgid -> its msgstr (or msgstr[0], [1], … of a plural) of a PO file; obsolete entries left out."""

    def unquote(text: str) -> str:
        return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")

    entries: dict[str, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            head = re.match(r'^(msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if head:
                current = head.group(1)
                fields[current] = unquote(head.group(2))
            elif current and line.startswith('"'):
                fields[current] += unquote(line[1:-1])
        if fields.get("msgid"):
            entries[fields["msgid"]] = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
    return entries


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_romanian_catalogues_are_complete_and_compiled(domain):
    po = LOCALE / "ro" / "LC_MESSAGES" / f"{domain}.po"
    entries = po_entries(po)
    assert entries and all(all(v) for v in entries.values()), [k for k, v in entries.items() if not all(v)]
    for msgid, translations in entries.items():  # every placeholder kept
        for msgstr in translations:
            assert set(re.findall(r"%\(\w+\)s", msgid)) == set(re.findall(r"%\(\w+\)s", msgstr)), msgid
    with (po.with_suffix(".mo")).open("rb") as fh:  # the .mo the app reads says the same (make messages)
        compiled = gettext.GNUTranslations(fh)
    stale = [m for m, v in entries.items() if len(v) == 1 and compiled.gettext(m) != v[0]]
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


def test_signing_in_in_romanian_before_anyone_picked_a_language(client, settings):
    """Before sign-in there is no person to ask: the browser's language decides (the sign-in
    page, its refusal, the lockout), and the lockout's minutes take Romanian's three plural
    forms: 1 minut, 2 minute, 20 de minute."""
    from annotate.accounts import signin

    page = client.get("/login/", HTTP_ACCEPT_LANGUAGE="ro").content.decode()
    assert '<html lang="ro">' in page and "Nume de utilizator" in page and "Parolă" in page
    refused = client.post("/login/", {"username": "nobody", "password": "x"}, HTTP_ACCEPT_LANGUAGE="ro")
    assert "Numele de utilizator și parola nu se potrivesc." in refused.content.decode()
    with translation.override("ro"):
        said = {}
        for minutes in (1, 2, 20, 101):
            settings.ANNOTATE_LOGIN_COOLOFF_MINUTES = minutes
            said[minutes] = signin.lockout_message()
    assert "peste 1 minut " in said[1] and "peste 2 minute " in said[2]
    assert "peste 20 de minute " in said[20] and "peste 101 minute " in said[101]


def test_the_reviewers_first_page_and_the_code_step_in_romanian(client, reviewer, officer):
    Preferences.objects.create(user=reviewer, language="ro")
    client.force_login(reviewer)
    home = client.get("/").content.decode()
    assert "Cozile dumneavoastră" in home and "Nu sunteți încă în nicio coadă de verificare." in home
    client.logout()
    from django.test import Client

    from tests.support import PASSWORD

    officer_client = Client(HTTP_ACCEPT_LANGUAGE="ro")
    assert officer_client.login(username=officer.username, password=PASSWORD)  # the second factor is owed
    step = officer_client.get("/cases/", follow=True).content.decode()
    assert "Configurați aplicația de autentificare" in step and "Codul din aplicație" in step
    wrong = officer_client.post("/account/mfa/enrol/", {"token": "000000"}).content.decode()
    assert "codul nu se potrivește" in wrong or "Codul nu se potrivește" in wrong


def test_the_reviewers_flags_and_breaks_page_in_romanian(client, reviewer, settings):
    """The page a reviewer who heard something distressing turns to: in their language, with
    Romanian's plural forms for the break's minutes and the day's counts."""
    from annotate.accounts.models import ReviewerCare

    Preferences.objects.create(user=reviewer, language="ro")
    ReviewerCare.objects.create(user=reviewer, opted_out_of_distressing=True)
    settings.ANNOTATE_BREAK_MINUTES = 20
    client.force_login(reviewer)
    page = client.get("/cases/care/").content.decode()
    assert "Semnalările și pauzele dumneavoastră" in page and "Nu ați semnalat niciun clip." in page
    assert "Luați o pauză de 20 de minute" in page
    assert "0 de semnalări" not in page and "0 semnalări și 0 clipuri tulburătoare azi" in page
    assert "În acest moment, ați ales să nu primiți cozi marcate ca probabil tulburătoare." in page
