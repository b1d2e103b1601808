"""The README's "What to try", step by step, as each role, on `load_demo` data, in headless Chromium.

`manage.py load_demo` loads the demo as `make demo` does (users, catalog, the gold clips,
the clips imported through the real ingest path and transcribed by Whisper tiny.en in
process), only fewer clips (`--clips`): the gold clips and the first CLIPS a reviewer
meets, which are the ones the README names. Daphne serves them (HTTP and WebSocket, so
the officer's console is live) in a process on the test database, as in
tests/test_escalation_browser.py; hence PostgreSQL only (SQLite's test database lives in
this process's memory). About 40 s: 15 for load_demo and the server, 20 for the walk.

Everyone signs in through the login form with the demo password; the lead and the
officers set up their authenticator at the first sign-in, as the README tells.

Where the README names a key, the test presses it; where it promises something
("the next clip is already loaded", "shows the flagged case live"), the test checks it.
"""

from __future__ import annotations

import base64
import io
import json
import re
import time
import zipfile
from base64 import b32decode
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import global_settings
from django.conf import settings as django_settings
from django.core.management import call_command
from django_otp.oath import totp

from annotate.catalog import index as catalog_index
from annotate.catalog.kinds import seed_kinds
from annotate.catalog.models import EntityKind, EntitySpan
from annotate.escalation.models import Case
from annotate.quality.models import GoldScore
from annotate.queues.models import GoldClip, Task
from annotate.review.models import Annotation
from tests.support import CHROMIUM_ARGS, daphne_process, in_thread

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DEMO = Path(django_settings.BASE_DIR) / "demo"
PASSWORD = "annotate-demo"  # the README's
CLIPS = 5  # clip-001…005 (and the gold clips): rita meets 1, 2, a gold clip, 3, then 4, "help me, somebody help"
EVIDENCE_MAGIC = b"ANNOTATE-EVIDENCE-1\x00"  # docs/escalation.md, "Evidence package"


def words(text: str) -> str:
    """Lower case, punctuation gone: what a reader compares when the README quotes a clip."""
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def manifest_line(audio: str) -> dict:
    return next(json.loads(raw) for raw in (DEMO / "manifest.jsonl").read_text().splitlines() if audio in raw)


# --- the demo and its server ------------------------------------------------------------------


@pytest.fixture
def demo(settings, private_storage, rq_queues):
    """The server started, then `load_demo --clips 5` run (Whisper in process) while it boots: (url, output)."""
    settings.REDIS_URL = ""  # the jobs (Whisper) run in process, after each commit, as in `make demo`
    # The password is checked by the server process, whose hashers are the real ones (not the tests' MD5).
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    seed_kinds(EntityKind)  # a transactional test's flush removed what the migrations seeded
    catalog_index.forget()
    # The server too: no Redis, so its jobs (the annotations' quality figures) run in it, after each commit.
    with daphne_process(ANNOTATE_PRIVATE_ROOT=str(private_storage), REDIS_URL="") as answering:
        out = StringIO()
        call_command("load_demo", clips=CLIPS, stdout=out, stderr=out)
        yield answering(), out.getvalue()
    catalog_index.forget()


@pytest.fixture
def chromium_args():
    return [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]


# --- signing in as the README says ---------------------------------------------------------------


def code_for(manual_key: str) -> str:
    """What an authenticator app shows for the key typed in by hand."""
    key = manual_key.replace(" ", "")
    return f"{totp(b32decode(key + '=' * (-len(key) % 8))):06d}"


def open_as(browser, base: str, username: str, next_path: str, errors: list[str]):
    """A new browser signed in with the demo password; a lead or an officer enrols an authenticator first."""
    context = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"{username}: {error}"))
    page.on("console", lambda msg: "Content Security Policy" in msg.text and errors.append(f"{username}: {msg.text}"))
    page.goto(f"/login/?next={next_path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" not in url)
    if "/account/mfa/enrol/" in page.url:  # README: "at the first sign-in the page shows a QR code and the key"
        assert page.locator(".qr svg").count() == 1
        page.fill("#id_token", code_for(page.inner_text("#manual-key")))
        page.click("button.primary")
        assert page.locator("#recovery-codes li").count() == 10  # "then single-use recovery codes, once"
        page.click("text=I have kept them")
    page.wait_for_url(lambda url: url.split("?")[0] == base + next_path)
    return context, page


# --- the reviewer ---------------------------------------------------------------------------------


def task_id(page) -> str:
    return page.get_attribute("#review", "data-task-id")


def wait_for_clip(page, previous: str | None = None) -> str:
    page.wait_for_function(
        "(previous) => { const r = document.getElementById('review');"
        " return r.dataset.view === 'clip' && r.dataset.taskId && r.dataset.taskId !== previous; }",
        arg=previous or "",
        timeout=15_000,
    )
    return task_id(page)


def submit(page) -> str:
    """Ctrl+Enter; the next clip is on screen before the submit's answer comes back (README: already loaded)."""
    before = task_id(page)
    page.keyboard.press("Control+Enter")
    try:
        return wait_for_clip(page, before)
    except Exception as exc:  # say what stood in the way (a dialog, a notice), not just "timeout"
        shown = page.evaluate(OPEN_DIALOGS_AND_NOTICES)
        raise AssertionError(f"Ctrl+Enter did not bring the next clip: {shown}") from exc


OPEN_DIALOGS_AND_NOTICES = """() => ({
  dialogs: [...document.querySelectorAll('dialog[open]')].map((d) => d.innerText),
  status: document.getElementById('save-status').innerText,
  notice: document.getElementById('notice').innerText,
})"""


def selected_text(page) -> str:
    return page.evaluate(
        "() => { const t = document.getElementById('transcript');"
        " return t.value.slice(t.selectionStart, t.selectionEnd); }"
    )


def caret_before(page, word: str) -> None:
    """Keys only: from the end of the transcript, Ctrl+← word by word until the caret is before `word`."""
    page.keyboard.press("Alt+T")  # the transcript, caret at the end
    for _ in range(20):
        at = page.evaluate(
            "() => { const t = document.getElementById('transcript'); return t.value.slice(t.selectionStart); }"
        )
        if at.startswith(word):
            return
        page.keyboard.press("Control+ArrowLeft")
    raise AssertionError(f"no {word!r} in the transcript")


def retype(page, text: str) -> None:
    page.keyboard.press("Alt+T")
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def annotation_of(task: str) -> Annotation:
    def read():
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            found = Annotation.objects.filter(task_id=int(task)).first()
            if found is not None:
                return found
            time.sleep(0.1)
        raise AssertionError(f"task {task} was not saved")

    return in_thread(read)


def reviewer_rita(browser, base: str, errors: list[str]) -> dict:
    """README, Reviewer: Start, listen, correct, grade, Ctrl+Enter; ?; tag Taylor Swift; flag "help me"."""
    context, page = open_as(browser, base, "rita", "/", errors)
    page.get_by_role("link", name="Start").first.click()  # *Start* a queue
    first = wait_for_clip(page)
    page.wait_for_selector("#review[data-ready=true]")
    assert page.evaluate("document.activeElement.id") == "transcript"

    # `?` lists every key (outside the text; Alt+/ anywhere).
    page.keyboard.press("Tab")
    page.keyboard.press("?")
    page.wait_for_selector("#help[open]")
    help_text = re.sub(r"\s*\+\s*", "+", page.inner_text("#help-keys"))  # each key is a <kbd>
    for key in ("Ctrl+Enter", "Alt+Shift+→", "Alt+N", "Alt+L", "Alt+X"):
        assert key in help_text, key
    page.keyboard.press("Escape")
    page.wait_for_selector("#help:not([open])", state="attached")

    # The first clip: Whisper heard "Taylor Swift" (README: tag "Taylor Swift" in the first clip).
    whisper = page.input_value("#transcript")
    assert "Taylor Swift" in whisper, whisper
    page.wait_for_function("() => window.__spans !== undefined")
    page.evaluate("window.__spans.ready")
    caret_before(page, "Taylor")
    page.keyboard.press("Alt+Shift+ArrowRight")  # the word at the caret…
    page.keyboard.press("Alt+Shift+ArrowRight")  # …and the next one
    assert selected_text(page) == "Taylor Swift"
    page.keyboard.press("Alt+N")
    page.keyboard.press("1")  # the kind's digit: 1, artist
    page.wait_for_function("() => window.__spans.state.results.length > 0")
    assert page.evaluate("window.__spans.state.results[0]") == "Taylor Swift"
    page.keyboard.press("Enter")  # links the top match
    caret_before(page, "Taylor")
    page.keyboard.press("Alt+L")  # link (or re-link) the span at the caret
    page.wait_for_function("() => window.__spans.state.results.length > 0")
    page.keyboard.press("Enter")
    spans = page.evaluate("window.__spans.state.spans")
    assert [(s["text"], s["kind"]) for s in spans] == [("Taylor Swift", "artist")]

    # Correct Whisper's text: the words before the artist (the span moves with its words).
    caret_before(page, "Taylor")
    page.keyboard.press("Control+Shift+Home")
    page.keyboard.type("Alexa, play Shake It Off by ")
    corrected = page.input_value("#transcript")
    assert corrected.startswith("Alexa, play Shake It Off by Taylor Swift, please"), corrected
    page.wait_for_function("() => document.getElementById('diff-summary').textContent !== 'no changes'")
    page.keyboard.press("Alt+R")  # grade: the answer ("Playing Shake It Off by Taylor Swift") is right
    assert page.get_attribute('.grade[data-grade="right"]', "aria-pressed") == "true"
    page.wait_for_function("() => window.__review.held.length === 2")  # the next clip, already loaded
    second = submit(page)
    annotation = annotation_of(first)
    assert annotation.corrected_text == corrected and annotation.answer_grade == "right"
    stored = in_thread(
        lambda: list(EntitySpan.objects.filter(annotation=annotation).values_list("text", "entity__name"))
    )
    assert stored == [("Taylor Swift", "Taylor Swift")]

    # The second clip: listen (Ctrl+Space) to the end; Whisper heard it right, so its text goes as it is.
    third = review(page, second, listen=True, grade_key="Alt+R")
    # Then correct, grade, submit. The third clip is a gold clip (load_demo: one after the second clip).
    fourth = review(page, third, grade_key="Alt+R")
    fifth = review(page, fourth, grade_key="Alt+W")  # "Playing Hello by Adele": wrong

    # The fifth, "help me, somebody help", is the clip to flag: Alt+X, the category's digit, a note, Ctrl+Enter.
    heard = words(page.input_value("#transcript"))
    assert "help me" in heard and "somebody help" in heard, heard
    page.keyboard.press("Alt+X")
    page.wait_for_selector("#flag-dialog[open]")
    page.keyboard.press("1")  # someone may be in danger now
    page.fill("#flag-note", "a woman calls for help: someone is hurting her")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#break-offer:not([hidden])", timeout=10_000)  # offered a break
    wait_for_clip(page, fifth)  # and the next clip is on screen
    return {"context": context, "page": page, "tasks": [first, second, third, fourth], "flagged": fifth}


def review(page, task: str, *, listen: bool = False, grade_key: str) -> str:
    """One clip: listen (or correct the text to what was said), grade, Ctrl+Enter; returns the next task."""
    if listen:
        page.wait_for_function("() => window.__review.ready")
        shown = page.inner_text("#time")
        page.wait_for_timeout(300)
        if page.inner_text("#time") == shown:  # not playing by itself ("Play each clip when it appears" is off)
            page.keyboard.press("Control+Space")  # play
        page.wait_for_function(  # to the end: "0:03.5 / 0:03.5"
            "() => { const [at, of] = document.getElementById('time').innerText.split(' / '); return at === of; }",
            timeout=15_000,
        )
    else:
        said = in_thread(lambda: spoken_words(int(task)))
        retype(page, said)
    page.keyboard.press(grade_key)
    return submit(page)


def spoken_words(task_pk: int) -> str:
    """What was said in the clip: a gold clip's reference, else the clip's line of the demo script."""
    task = Task.objects.select_related("clip").get(pk=task_pk)
    gold = GoldClip.objects.filter(clip=task.clip).first()
    if gold is not None:
        return gold.reference_text
    return SPOKEN[task.clip.heard]


# The scripted words (scripts/make_demo_audio.py) of the clip rita corrects by retyping, by what the assistant heard.
SPOKEN = {"play hello by beyonce": "Alexa, play Halo by Beyoncé"}


# --- the officers ------------------------------------------------------------------------------------


def officers_omar_and_olga(browser, base: str, errors: list[str], console, case: Case) -> None:
    """README, Officer: /cases/ shows the case live; acknowledge → investigating → referred, unseal, evidence."""
    row = f"#case-rows tr[data-case-id='{case.pk}']"
    console.wait_for_selector(row, timeout=5_000)  # live: the console was open before the flag
    assert "critical" in console.inner_text(row).lower()
    console.click(f"{row} button:has-text('Open and acknowledge')")
    console.wait_for_url(f"**/cases/{case.pk}/")
    page = console
    assert page.inner_text("#case-state") == "acknowledged"

    def step(to: str, note: str) -> None:
        page.fill("#note", note)
        page.click(f"button[data-to={to}]")
        page.wait_for_selector(f"#case[data-state={to}]")

    step("investigating", "listened muffled: a woman says he is hurting her and asks for the police")
    page.select_option("#referred_to", "police")
    page.fill("#reference", "PD-2026-1187")
    step("referred", "passed to the police with the clip")

    page.fill("#reason", "the police need the account holder's details to find her")
    with page.expect_navigation():
        page.click("#unseal-form button[type=submit]")
    assert page.locator("#unseal-form").count() == 0  # requested: it waits for a second officer

    # The second officer approves, on the case's page.
    olga_context, olga = open_as(browser, base, "olga", f"/cases/{case.pk}/", errors)
    olga.fill("#decision-note", "agreed: the referral needs it")
    with olga.expect_navigation():
        olga.click("#unseal-approve")
    olga_context.close()

    # Omar sees the identity (logged) and exports the evidence.
    page.reload()
    page.click("#show-identity")
    page.wait_for_selector("#identity:not([hidden])")
    recorded = manifest_line("help-me")
    assert recorded["account_id"] in page.inner_text("#identity")
    page.click("button:has-text('Export evidence')")
    page.wait_for_selector("#evidence-key")
    key = page.inner_text("#evidence-key").strip()
    with page.expect_download() as download:
        page.click("#evidence-download")
    blob = Path(download.value.path()).read_bytes()
    assert blob.startswith(EVIDENCE_MAGIC)
    nonce, sealed = blob[len(EVIDENCE_MAGIC) : len(EVIDENCE_MAGIC) + 12], blob[len(EVIDENCE_MAGIC) + 12 :]
    opened = AESGCM(base64.urlsafe_b64decode(key + "=" * (-len(key) % 4))).decrypt(nonce, sealed, EVIDENCE_MAGIC)
    names = set(zipfile.ZipFile(io.BytesIO(opened)).namelist())
    assert {"audio.wav", "transcript.txt", "case.json", "identity.json", "README.txt"} <= names, names


# --- the lead ------------------------------------------------------------------------------------------


def lead_lena(browser, base: str, errors: list[str]) -> None:
    """README, Lead: /lead/ — queues, people, gold, overlap, dashboard, adjudication, inbox, exports; /catalog/mine/."""
    context, page = open_as(browser, base, "lena", "/lead/", errors)
    assert page.inner_text("h1") == "Live dashboard"
    # rita met a gold clip among her first clips: her gold accuracy is on the dashboard.
    page.wait_for_function(
        "() => [...document.querySelectorAll('tr')]"
        ".some((tr) => tr.innerText.startsWith('rita') && /%/.test(tr.innerText))",
        timeout=10_000,
    )
    page.goto("/lead/queues/")
    page.get_by_role("link", name="Music and everyday requests (en)").first.click()
    gold = page.inner_text("#gold")
    assert "Alexa, how tall is the Eiffel Tower?" in gold and "Computer, set a pasta timer for eight minutes." in gold
    assert "rita" in page.inner_text("#members") and "Overlap" in page.inner_text("main")
    for path, heading in (
        ("/lead/adjudicate/", "Clips the reviewers disagree on"),
        ("/lead/inbox/", "Second opinions"),
        ("/lead/exports/", "Exports for training"),
        ("/catalog/mine/", "Utterance mining"),
    ):
        page.goto(path)
        assert page.inner_text("h1").startswith(heading), path
    page.fill("#mine-q", "Taylor Swift")
    page.keyboard.press("Enter")
    page.wait_for_selector("#mine-results:not([hidden])")
    page.wait_for_function("() => document.querySelectorAll('#mine-rows tr').length > 0")
    assert "Taylor Swift" in page.inner_text("#mine-rows")
    context.close()


# --- the walkthrough --------------------------------------------------------------------------------


def test_the_readme_what_to_try_works_on_the_demo(demo, browser):
    server, output = demo
    assert "demo clips: 8 imported" in output and "gold: 3 gold clip(s)" in output, output  # 3 gold + CLIPS
    errors: list[str] = []

    # The officer's console is open before anything is flagged.
    omar_context, console = open_as(browser, server, "omar", "/cases/", errors)
    console.wait_for_selector("#console[data-connected=true]", timeout=10_000)

    rita = reviewer_rita(browser, server, errors)
    # A reviewer meets gold within the first clips: the third, scored against its reference.
    served = in_thread(lambda: [Task.objects.get(pk=int(t)).is_gold for t in rita["tasks"]])
    assert served == [False, False, True, False]
    score = in_thread(lambda: GoldScore.objects.get(annotation__task_id=int(rita["tasks"][2])))
    assert (score.reviewer.username, score.wer) == ("rita", 0.0)
    case = in_thread(lambda: Case.objects.get(clip__tasks__pk=int(rita["flagged"])))

    officers_omar_and_olga(browser, server, errors, console, case)
    omar_context.close()
    rita["context"].close()

    lead_lena(browser, server, errors)
    assert errors == []
