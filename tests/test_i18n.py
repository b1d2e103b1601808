"""The translated interface (issue 18, docs/i18n.md): a language and a time zone per person, the
Romanian catalogues complete and compiled, and "today" of the daily exposure cap being the
person's own day."""

from __future__ import annotations

import gettext
import re
from datetime import UTC, datetime, timedelta
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
    """msgid -> its msgstr (or msgstr[0], [1], … of a plural) of a PO file; obsolete entries left out.
    A msgid with a context is keyed as gettext keeps it: "context\x04msgid"."""

    def unquote(text: str) -> str:
        return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")

    entries: dict[str, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            head = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if head:
                current = head.group(1)
                fields[current] = unquote(head.group(2))
            elif current and line.startswith('"'):
                fields[current] += unquote(line[1:-1])
        if fields.get("msgid"):
            key = f"{fields['msgctxt']}\x04{fields['msgid']}" if "msgctxt" in fields else fields["msgid"]
            entries[key] = [v for k, v in sorted(fields.items()) if k.startswith("msgstr")]
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


# --- the lead's pages, mining, exposure, second factors, the case workflow's refusals ------------------


def in_romanian(client, user) -> None:
    """Sign the person in with Romanian chosen at /account/preferences/."""
    Preferences.objects.create(user=user, language="ro")
    client.force_login(user)


def test_the_lead_console_in_romanian(client, reviewer, other_reviewer, lead, settings):
    from annotate.clips.models import Screening
    from annotate.leads import services as lead_services
    from annotate.leads.models import Export, SecondOpinion
    from tests.factories import make_clip, make_queue, reviewed

    settings.ANNOTATE_EXPORT_TTL_DAYS, settings.ANNOTATE_RETENTION_DAYS = 20, 2
    for n in range(3):
        make_clip(f"set a timer {n}")  # three clips from before the queue: a backfill would take them
    queue = make_queue(reviewer, other_reviewer, name="Muzică", overlap=2)
    clip = make_clip("play hello")
    reviewed(reviewer, queue, "play halo")
    reviewed(other_reviewer, queue, "play hello")  # they disagree: a clip to adjudicate
    opinion = SecondOpinion.objects.create(clip=clip, asked_by=reviewer, queue=queue, question="halo sau hello?")
    Screening.objects.update_or_create(clip=clip, defaults={"decision": "purge", "reason": "no speech"})
    export = Export.objects.create(requested_by=lead, format="jsonl", state="running", total=4, done=1)
    in_romanian(client, lead)

    def page(url: str) -> str:
        response = client.get(url)
        assert response.status_code == 200, url
        return response.content.decode()

    queues = page("/lead/queues/")
    assert '<html lang="ro">' in queues and "Coadă nouă" in queues and "transcriere, etichetare și notare" in queues
    assert "100% din orice limbă" in queues
    detail = page(f"/lead/queues/{queue.pk}/")
    assert "2 evaluatori per clip" in detail and "Clipuri de dinaintea cozii" in detail
    assert "Acum, <strong>3</strong> clipuri din ultimele 7 zile se potrivesc" in detail  # the preview's plural
    assert "Adăugați clipul etalon" in detail and "Textul de referință" in detail  # the gold form's labels
    assert "Panou în timp real" in page("/lead/") and "Interesați-vă de acești evaluatori" in page("/lead/")
    exports = page("/lead/exports/")
    assert "Exporturi pentru antrenare" in exports and "în ultimele 2 zile" in exports
    assert "șters la 20 de zile după ce a fost construit" in exports and "în curs" in exports
    assert client.get(f"/lead/exports/{export.pk}/status").json()["state_label"] == "în curs"
    inbox = page("/lead/inbox/")
    assert "întrebările evaluatorilor despre un clip" in inbox and "halo sau hello?" in inbox
    assert "Trimiteți răspunsul" in page(f"/lead/inbox/{opinion.pk}/")
    assert "Clipuri asupra cărora evaluatorii nu sunt de acord" in page("/lead/adjudicate/")
    adjudicate = page(f"/lead/adjudicate/{clip.public_id}/")
    assert "Salvați transcrierea finală" in adjudicate and "Folosiți-o pe aceasta" in adjudicate
    screening = page("/lead/screening/")
    assert "Trierea dinaintea verificării" in screening and "șters fără a fi ascultat" in screening
    assert "fără vorbire" in screening  # the screening's reason, stored in English, shown in Romanian

    with translation.override("ro"):  # the console's refusals
        with pytest.raises(lead_services.ConsoleError, match="scrieți întrebarea"):
            lead_services.ask(user=reviewer, task_id=1, question=" ")
    again = client.post(
        "/lead/queues/new", {"name": "Muzică", "kind": "all", "priority": 0, "sample_rate": 1, "overlap": 1}
    )
    assert again.status_code == 400 and "Există deja o coadă cu acest nume." in again.content.decode()
    removed = client.post(f"/lead/queues/{queue.pk}/members/{other_reviewer.pk}/remove", follow=True)
    assert "ravi nu mai verifică această coadă." in removed.content.decode()


def test_the_mining_page_and_its_refusals_in_romanian(client, lead):
    in_romanian(client, lead)
    page = client.get("/catalog/mine/").content.decode()
    assert "Căutare de expresii în transcrieri" in page and "Etichetați potrivirile alese" in page
    refused = client.get("/catalog/api/mine", {"q": "x"})
    assert refused.status_code == 400 and refused.json()["error"] == "tastați o expresie de 2 până la 200 de caractere"


def test_the_exposure_page_in_romanian_counts_each_reviewers_own_day(client, reviewer, other_reviewer, lead, queue):
    """A reviewer far east of the lead: their today began hours before the lead's (UTC), and the page
    counts their flag of just after their midnight as today, as their daily cap does."""
    from annotate.escalation.models import Flag
    from tests.factories import flag_task, held_clip
    from tests.support import post_json

    queue.members.add(reviewer)
    Preferences.objects.create(user=reviewer, time_zone="Pacific/Kiritimati")  # UTC+14
    flag = flag_task(reviewer, held_clip(reviewer, queue))
    with timezone.override(ZoneInfo("Pacific/Kiritimati")):
        their_midnight = care.day_start()
    Flag.objects.filter(pk=flag.pk).update(created_at=their_midnight + timedelta(seconds=1))
    in_romanian(client, lead)
    page = client.get("/cases/exposure/").content.decode()
    assert "Expunerea evaluatorilor" in page and "„Azi” este ziua fiecărui evaluator" in page
    assert "Pacific/Kiritimati" in page
    rows = {r["reviewer"].username: r for r in care.exposure_rows()}
    assert rows["rita"]["exposure"].flags_today == 1 and rows["ravi"]["exposure"].flags_today == 0
    # Counted in the lead's zone (UTC), the same flag leaves "today" at the next UTC midnight, while
    # the reviewer's day goes on: a fixed moment, as the hour the suite runs at must not matter.
    utc_midnight = their_midnight.astimezone(ZoneInfo("UTC")).replace(hour=0, minute=0, second=0)
    later = utc_midnight + timedelta(days=1, seconds=1)
    for zone, today in (("UTC", 0), ("Pacific/Kiritimati", 1)):
        with timezone.override(ZoneInfo(zone)):
            assert care.exposure_by_reviewer(user_ids=[reviewer.pk], now=later)[reviewer.pk].flags_today == today
    refused = post_json(client, f"/cases/exposure/{reviewer.pk}/cap", {"cap": -3})
    assert refused.json()["error"] == "limita trebuie să fie între 0 și 1000 sau goală, pentru nicio limită"


def test_the_admins_second_factor_page_in_romanian(client, admin_user, reviewer):
    in_romanian(client, admin_user)
    page = client.get("/account/mfa/people/").content.decode()
    assert "Factori secundari" in page and "trebuie să aibă unul" in page and "Resetați" in page
    refused = client.post(f"/account/mfa/people/{reviewer.pk}/reset", {"reason": " "})
    assert "scrieți motivul resetării" in refused.content.decode()


def test_a_refused_case_action_reaches_the_officer_in_romanian(client, reviewer, officer, queue):
    from annotate.escalation.models import Case
    from tests.factories import case_in
    from tests.support import post_json

    case = case_in(Case.State.NEW, reviewer=reviewer, officer=officer, queue=queue)
    in_romanian(client, officer)
    refused = client.post(f"/cases/{case.pk}/transition", {"to": "closed", "note": "gata"})
    assert refused.status_code == 400
    assert f"cazul {case.pk} are starea „nou”: nu poate trece în &#x27;closed&#x27;" in refused.content.decode()
    no_note = post_json(client, f"/cases/{case.pk}/transition", {"to": "acknowledged", "note": " "})
    assert no_note.json()["error"] == "lipsește o notă despre motivul trecerii cazului în starea „luat în primire”"


# --- the reviewer's page: refusals, the 403, the care page's times ---------------------------------------


def test_the_review_pages_refusals_reach_the_reviewer_in_romanian(client, reviewer, other_reviewer, queue, settings):
    """Why a renew, skip, submit or undo is refused, in the reviewer's language when it is raised; the
    reason codes the page's script reads stay as they are, and English stays the default."""
    from django.test import Client

    from annotate.queues.models import Task
    from tests.factories import held_clip, make_clip, reviewed
    from tests.support import post_json

    make_clip("turn it up")
    done, annotation = reviewed(reviewer, queue, "turn it up")
    lapsed = held_clip(reviewer, queue, "play jazz")  # its lease ran out and the queue took it back
    Task.objects.filter(pk=lapsed.pk).update(state=Task.State.OPEN, claimed_by=None, lease_expires_at=None)
    in_romanian(client, reviewer)

    renew = post_json(client, f"/review/api/tasks/{lapsed.pk}/renew")
    assert renew.status_code == 409 and renew.json() == {
        "error": "acest clip nu mai este al dumneavoastră: rezervarea lui a expirat și s-a întors în coadă",
        "reason": "lapsed",
    }
    skip = post_json(client, f"/review/api/tasks/{done.pk}/skip", {"reason": "audio"})
    assert skip.status_code == 409 and skip.json() == {"error": "ați trimis deja acest clip", "reason": "submitted"}
    again = post_json(client, f"/review/api/tasks/{done.pk}/submit", {"idempotency_key": "k2", "corrected_text": "x"})
    assert again.status_code == 409 and again.json()["error"] == "ați trimis deja acest clip"
    empty = post_json(client, f"/review/api/tasks/{lapsed.pk}/submit", {"idempotency_key": "k3", "corrected_text": " "})
    assert empty.status_code == 400
    assert empty.json()["error"] == (
        "transcrierea este goală: scrieți ce auziți sau marcați „fără vorbire” / „neinteligibil”"
    )

    # The undo of a submit, once its window has passed: its minutes in Romanian's plural forms.
    Task.objects.filter(pk=done.pk).update(done_at=timezone.now() - timedelta(hours=1))
    said = {}
    for minutes in (1, 5, 20):
        settings.ANNOTATE_AMEND_SECONDS = minutes * 60
        body = {"idempotency_key": f"undo{minutes}", "corrected_text": "turn it down", "amends": annotation.pk}
        late = post_json(client, f"/review/api/tasks/{done.pk}/submit", body)
        assert late.status_code == 409 and late.json()["reason"] == "submitted"
        said[minutes] = late.json()["error"]
    assert said[1] == "acest clip nu mai poate fi modificat: a trecut 1 minut pentru anularea unei trimiteri"
    assert "au trecut cele 5 minute pentru anularea" in said[5] and "au trecut cele 20 de minute" in said[20]

    english = Client()  # no preference, no browser language: English
    english.force_login(other_reviewer)
    theirs = post_json(english, f"/review/api/tasks/{lapsed.pk}/renew")
    assert theirs.json()["error"] == "this clip is no longer yours: its lease ran out and it went back to the queue"


def test_a_submit_with_an_unlinked_span_is_refused_in_romanian(client, reviewer, queue):
    from annotate.catalog.models import EntityKind
    from tests.factories import held_clip
    from tests.support import post_json

    EntityKind.objects.update_or_create(slug="song", defaults={"name": "song", "linkable": True})
    task = held_clip(reviewer, queue, "play shake it off")
    in_romanian(client, reviewer)
    span = {"start": 5, "end": 17, "text": "shake it off", "kind": "song"}
    body = {"idempotency_key": "k1", "corrected_text": "play shake it off", "spans": [span]}
    refused = post_json(client, f"/review/api/tasks/{task.pk}/submit", body)
    assert refused.status_code == 400 and refused.json()["error"] == (
        "segmentul 'shake it off' (song) nu este legat: "
        "alegeți o intrare din catalog sau marcați-l ca absent din catalog"
    )


def test_the_review_pages_refuse_others_in_romanian(client, outsider):
    from tests.support import post_json

    in_romanian(client, outsider)
    page = client.get("/review/")
    assert page.status_code == 403
    assert "Această pagină este pentru evaluatori." in page.content.decode()
    api = post_json(client, "/review/api/claim")
    assert api.status_code == 403 and api.json() == {"error": "doar pentru evaluatori"}


def test_a_queue_not_ones_own_is_not_found_in_romanian(client, reviewer, other_reviewer):
    """The review page of a queue the reviewer is not a member of answers 404, with the site's page
    in their language (Django's own said "Not Found" in English)."""
    from tests.factories import make_queue

    queue = make_queue(reviewer)  # other_reviewer is not a member of this one
    in_romanian(client, other_reviewer)
    page = client.get(f"/review/{queue.pk}/")
    assert page.status_code == 404
    text = page.content.decode()
    assert "Această pagină nu există sau nu vă este destinată." in text and "Not Found" not in text


def test_the_care_page_shows_a_flags_time_in_the_reviewers_time_zone(client, reviewer, queue):
    """A flag at 22:30 UTC is 00:30 the next day in Bucharest: the page and its receipts say so, with the
    zone's name, for a reviewer whose time zone is Bucharest (not UTC, nor the browser's zone)."""
    from annotate.escalation.models import Flag
    from tests.factories import flag_task, held_clip
    from tests.support import get_json

    flag = flag_task(reviewer, held_clip(reviewer, queue))
    Flag.objects.filter(pk=flag.pk).update(created_at=datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
    Preferences.objects.create(user=reviewer, language="ro", time_zone="Europe/Bucharest")
    client.force_login(reviewer)
    page = client.get("/cases/care/").content.decode()
    assert '<time datetime="2026-12-02T00:30:00+02:00">2026-12-02 00:30 EET</time>' in page
    assert "UTC" not in page and "22:30" not in page
    (receipt,) = get_json(client, "/cases/api/receipts").json()["receipts"]
    assert receipt["flagged_at"] == "2026-12-02T00:30:00+02:00"
    assert receipt["flagged_at_text"] == "2026-12-02 00:30 EET"


# --- templates --------------------------------------------------------------------------------------------

# Words a page may show as they are, in every language: the product's and Whisper's names, key names, units.
NAMES = {"annotate", "Whisper", "UTC", "SHA", "Esc", "Enter"}


def visible_words(source: str) -> list[str]:
    """The words of a template a person would read that no translate tag carries: its text between
    tags and its title, aria-label, placeholder and alt attributes, without template code."""
    text = re.sub(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", "§", source, flags=re.S)
    text = re.sub(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", "", text, flags=re.S)
    text = re.sub(r"{%\s*block body_class\s*%}.*?{%\s*endblock\s*%}", "", text, flags=re.S)  # class names
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
    text = re.sub(r"{%.*?%}|{{.*?}}", "§", text, flags=re.S)
    attributes = re.findall(r'\b(?:title|aria-label|placeholder|alt)="([^"]*)"', text)
    text = re.sub(r"<[^>]*>", " ", text)
    return [w for w in re.findall(r"[A-Za-z][A-Za-z']+", " ".join([text, *attributes])) if w not in NAMES]


def test_no_template_shows_words_outside_translate_tags():
    templates = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))
    assert templates
    untranslated = {t.name: words for t in templates if (words := visible_words(t.read_text(encoding="utf-8")))}
    assert not untranslated, untranslated
    for template in templates:  # a template that translates loads the tags itself
        source = template.read_text(encoding="utf-8")
        if "translate" in source:
            assert re.search(r"{%\s*load\b[^%]*\bi18n\b", source), template
