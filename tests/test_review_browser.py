"""The review page in headless Chromium: a reviewer signs in and works through a
queue with the keyboard only, the way a shift goes.

Data goes in through the real ingest service (Whisper runs in process after each
commit), so the page shows real peaks, word timings and signed audio URLs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from annotate.clips.ingest import ingest_clip, parse_meta
from annotate.queues.models import Queue, Skip
from annotate.review.models import Annotation
from tests.support import open_review_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MANIFEST = Path(django_settings.BASE_DIR) / "demo" / "manifest.jsonl"
IDENTITY_FIELDS = ("account_id", "first_name", "device_serial")

# What the reviewer does with each clip: words typed at the end of Whisper's
# text, the answer's grade key and grade, and how many times Alt+I is pressed.
REVIEWS = [
    (" over", "Alt+r", "right", 1, True),
    (" now please", "Alt+p", "partly", 2, False),
    (" thanks", "Alt+w", "wrong", 0, None),
]


DELAY_CLAIM_ANSWERS = """() => {
  const fetch = window.fetch;
  window.__pendingClaims = 0;
  window.fetch = async (url, options) => {
    if (!String(url).includes("/api/claim")) return fetch(url, options);
    window.__pendingClaims++;
    try {
      const response = await fetch(url, options);
      await new Promise((resolve) => setTimeout(resolve, 700));
      return response;
    } finally {
      window.__pendingClaims--;
    }
  };
}"""


def demo_lines(count: int) -> list[dict]:
    lines = [json.loads(line) for line in MANIFEST.read_text().splitlines() if line.strip()]
    return [line for line in lines if not line.get("opted_out")][:count]


@pytest.fixture
def queue_with_clips(settings, reviewer) -> tuple[Queue, list[dict]]:
    """A queue the reviewer is in, then four demo clips ingested and transcribed into it."""
    settings.REDIS_URL = ""  # Whisper runs in process once each clip is committed
    queue = Queue.objects.create(name="Music and everyday requests (en)")
    queue.members.add(reviewer)
    lines = demo_lines(4)
    for line in lines:
        audio = (MANIFEST.parent / line["audio"]).read_bytes()
        outcome = ingest_clip(data=audio, meta=parse_meta(line, ignore=("audio",)))
        assert outcome.outcome == "imported", outcome.message
    return queue, lines


def test_reviewer_reviews_three_clips_with_keys_only(live_server, reviewer, queue_with_clips, browser):
    queue, lines = queue_with_clips
    identifiers = [line[field] for line in lines for field in IDENTITY_FIELDS if line.get(field)]
    seen: list[str] = []  # every page and request the reviewer's browser saw or sent
    switches = []
    expected = []

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.on("request", lambda request: seen.append(f"{request.url}\n{request.post_data or ''}"))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # The Content-Security-Policy is on: anything it refuses (an inline script or style,
    # wavesurfer's shadow-DOM style without the nonce) is a failure of this test.
    page.on("console", lambda msg: "Content Security Policy" in msg.text and errors.append(msg.text))

    # Sign in through the login form, straight into the queue.
    open_review_page(page, live_server.url, reviewer, queue.pk)

    for number, (typed, grade_key, grade, intent_presses, intent) in enumerate(REVIEWS, 1):
        if number == len(REVIEWS):
            # From here on the claim answers arrive late, as on a slow network: the
            # one sent after this submit still lists the clip skipped below.
            page.evaluate(DELAY_CLAIM_ANSWERS)
        task_id = page.get_attribute("#review", "data-task-id")
        assert page.evaluate("document.activeElement.id") == "transcript"
        whisper_text = page.input_value("#transcript")
        assert page.locator("#whisper-words .word").count() > 0

        # Edit in place: type at the end of Whisper's text.
        page.keyboard.press("End")
        page.keyboard.type(typed)
        # The diff follows the typing a moment later: wait for all of it, not just its start.
        page.wait_for_function(
            "(words) => [...document.querySelectorAll('#diff ins')].map((e) => e.innerText).join(' ')"
            ".split(/\\s+/).filter(Boolean).join(' ') === words",
            arg=" ".join(typed.split()),
        )
        assert page.inner_text("#diff ins").split() == typed.split()
        assert page.inner_text("#diff-summary") != "no changes"

        page.keyboard.press("Control+Space")  # play
        page.keyboard.press("Alt+j")  # replay the last 2 s
        page.keyboard.press(grade_key)
        for _ in range(intent_presses):
            page.keyboard.press("Alt+i")
        assert page.get_attribute(f'.grade[data-grade="{grade}"]', "aria-pressed") == "true"

        # The next clip's audio is in memory before the submit…
        page.wait_for_function("() => window.__review.held.length === 2 && window.__review.held[1].audioReady")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(f"() => document.querySelector('#review').dataset.taskId !== '{task_id}'")
        # …so it is on screen at once (the submit waits in the outbox) and playable within one frame.
        ready = page.evaluate(
            "() => new Promise(resolve => requestAnimationFrame(() => resolve({"
            "ready: window.__review.ready, duration: window.__review.duration})))"
        )
        switches.append(ready)
        seen.append(page.content())
        page.wait_for_function("() => document.getElementById('save-status').textContent.startsWith('Saved')")
        expected.append((int(task_id), (whisper_text + typed).strip(), grade, intent))

    # The fourth clip: skip it by keys (Alt+S, then 3: "not sure") at once, before the
    # claim answer comes back; it must not come back with it. The queue is then empty.
    skipped = page.get_attribute("#review", "data-task-id")
    page.keyboard.press("Alt+s")
    page.keyboard.press("3")
    page.wait_for_selector("#empty", state="visible")
    page.wait_for_function("() => window.__pendingClaims === 0")
    assert page.evaluate("window.__review.view") == "empty"
    assert page.evaluate("window.__review.held") == []
    assert "Nothing left to review in this queue" in page.inner_text("#empty")
    assert page.inner_text("#done-count") == "3 reviewed"
    seen.append(page.content())
    timings = page.evaluate("window.__review.timings")
    assert not errors, errors

    assert all(s["ready"] and s["duration"] > 0 for s in switches), switches
    assert len(timings) == 3 and all(t["playable_ms"] >= t["shown_ms"] for t in timings)

    annotations = {a.task_id: a for a in Annotation.objects.filter(reviewer=reviewer)}
    assert sorted(annotations) == sorted(task_id for task_id, *_ in expected)
    for task_id, corrected, grade, intent in expected:
        annotation = annotations[task_id]
        assert annotation.corrected_text == corrected
        assert annotation.answer_grade == grade
        assert annotation.intent_correct is intent
        assert annotation.seconds_spent > 0
        assert annotation.wer is not None and annotation.wer > 0
        assert not (annotation.no_speech or annotation.unintelligible or annotation.accidental)
        # What was played is sent with it (the reviewer played from the start and replayed).
        assert annotation.listened_fraction is not None and 0 <= annotation.listened_fraction <= 1
        assert annotation.playback_rate == 1
        assert not annotation.unchanged and not annotation.confirmed_unheard
    assert list(Skip.objects.filter(reviewer=reviewer).values_list("task_id", "reason")) == [(int(skipped), "unsure")]

    # Trust rule: nothing the reviewer's browser saw or sent names the recorded people.
    leaked = [value for value in identifiers if any(value.lower() in text.lower() for text in seen)]
    assert leaked == []
