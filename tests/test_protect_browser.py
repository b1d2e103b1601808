"""What the reviewer hears, in headless Chromium (issue 16): a clip that speaks a phone number,
in a queue that bleeps personal data, shows [PHONE] in Whisper's text and plays the disguised,
bleeped version, never the original; a likely distressing clip is announced and plays muffled
until the reviewer asks to hear it clearly.

The clips go in through the real ingest service; Whisper runs in process after each commit,
and the worker's screening makes the audio versions.
"""

from __future__ import annotations

import base64
import json

import pytest

from annotate.clips import screening, vault
from annotate.clips.ingest import ingest_clip, parse_meta
from annotate.clips.models import Clip
from annotate.queues.models import Queue
from tests.support import FIXTURES, clip_meta, open_review_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SETS = FIXTURES / "protect"
MANIFEST = {row["audio"]: row for row in map(json.loads, (SETS / "manifest.jsonl").read_text().splitlines())}

# The page's own fetch of its audio URL, as bytes (base64), for the clip on screen.
FETCH_AUDIO = """async (muffled) => {
  const url = window.__review.audioUrl + (muffled ? "?muffled=1" : "");
  const bytes = new Uint8Array(await (await fetch(url)).arrayBuffer());
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text);
}"""


def ingest(name: str, number: int) -> Clip:
    row = MANIFEST[name]
    meta = clip_meta(heard=row["heard"], response=row["response"], account_id=f"ACCT-PROTECT-{number}")
    outcome = ingest_clip(data=(SETS / name).read_bytes(), meta=parse_meta(meta))
    assert outcome.clip is not None, outcome.message
    return Clip.objects.get(pk=outcome.clip.pk)


def fetched(page, *, muffled: bool = False) -> bytes:
    return base64.b64decode(page.evaluate(FETCH_AUDIO, muffled))


def test_a_bleeped_disguised_clip_shows_phone_and_never_plays_the_original(live_server, settings, reviewer, browser):
    settings.REDIS_URL = ""  # Whisper and the screening run in process once each clip is committed
    queue = Queue.objects.create(name="Calls", redact_personal_data=True)
    queue.members.add(reviewer)
    clip = ingest("clips/153-pii-phone.ogg", 1)  # "call five five five two four five nine eight four one"
    assert clip.screening.personal_data, "the worker found no phone number"

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    open_review_page(page, live_server.url, reviewer, queue.pk)

    assert "[PHONE]" in page.input_value("#transcript")
    assert "[PHONE]" in page.inner_text("#whisper-words")
    chips = page.inner_text("#clip-meta")
    assert "voice disguised" in chips and "personal data bleeped" in chips
    assert page.is_hidden("#protection")  # nothing distressing: no warning, no muffling

    heard = fetched(page)
    assert heard == screening.load_variant(clip, "disguised_bleeped")
    assert heard != vault.load_audio(clip)
    assert errors == []


def test_a_likely_distressing_clip_is_announced_and_plays_muffled_until_asked(live_server, settings, reviewer, browser):
    settings.REDIS_URL = ""
    queue = Queue.objects.create(name="Everything")
    queue.members.add(reviewer)
    clip = ingest("clips/236-distress-speech.ogg", 2)  # "somebody call the police"
    assert clip.screening.likely_distressing

    page = browser.new_page()
    open_review_page(page, live_server.url, reviewer, queue.pk)
    assert page.is_visible("#protection")
    assert "may be distressing" in page.inner_text("#protection-text")
    assert page.evaluate("() => window.__review.muffled") is True
    assert page.inner_text("#time").startswith("0:00.0")  # it did not start by itself

    page.keyboard.press("Alt+V")  # hear it clearly
    page.wait_for_function("() => !window.__review.muffled && window.__review.ready")
    assert page.is_hidden("#protection")
    assert fetched(page) == screening.load_variant(clip, "disguised")
    assert fetched(page, muffled=True) == screening.load_variant(clip, "muffled")
