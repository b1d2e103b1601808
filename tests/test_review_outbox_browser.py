"""The reviewer's loop at the speed of listening, in headless Chromium: the next clip
shows at once while the submit waits in the outbox (kept across a reload, sent
again until the server answers), what was heard goes with it, Whisper's text
submitted unheard asks once, the word keys move the caret with the playhead,
undo brings the last clip back (and amends it), speeds 0.5–2×, the loop.

Clips are the factories' one-second tones with Whisper's words 0.2 s apart.
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest

from annotate.review.models import Annotation
from tests.factories import make_clip, make_queue
from tests.support import open_review_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXTS = ["play shake it off now", "turn the music up", "what is the weather", "set a timer please"]


@pytest.fixture
def queue(reviewer):
    queue = make_queue(reviewer)
    for text in TEXTS:
        make_clip(text)
    return queue


@contextmanager
def review_page(browser, live_server, user, queue_id: int, *, autoplay: bool = False, routes=None):
    """Chromium signed in as the user, on the queue's review page with a clip shown and its audio ready."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    # Autoplay off (or on) before the page's scripts read it.
    context.add_init_script(f"localStorage.setItem('annotate.review.autoplay', '{1 if autoplay else 0}')")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for pattern, handler in (routes or {}).items():
        page.route(pattern, handler)
    open_review_page(page, live_server.url, user, queue_id)
    try:
        yield page, errors
    finally:
        context.close()


def task_id(page) -> int:
    return int(page.get_attribute("#review", "data-task-id"))


def stored_outbox(page) -> list[dict]:
    return page.evaluate(
        "() => Object.keys(localStorage).filter((k) => k.startsWith('annotate.review.outbox.'))"
        ".flatMap((k) => JSON.parse(localStorage.getItem(k)))"
    )


def play_through(page):
    """Play the clip to its end (a reviewer who listened)."""
    page.keyboard.press("Control+Space")
    page.wait_for_function("() => window.__review.listening.listened_fraction >= 0.95", timeout=10_000)


def submits(page) -> list[dict]:
    requests: list[dict] = []
    page.on("request", lambda r: requests.append(json.loads(r.post_data)) if r.url.endswith("/submit") else None)
    return requests


def test_the_next_clip_shows_at_once_and_a_failing_server_keeps_the_text_until_saved(
    live_server, reviewer, queue, browser
):
    answers = {"n": 0}

    def fail_twice(route):
        answers["n"] += 1
        if answers["n"] <= 2:
            route.fulfill(status=503, content_type="application/json", body='{"error": "down for a moment"}')
        else:
            route.continue_()

    with review_page(browser, live_server, reviewer, queue.pk, routes={"**/submit": fail_twice}) as (page, errors):
        sent = submits(page)
        first = task_id(page)
        page.keyboard.press("End")
        page.keyboard.type(" please")
        # The key press shows the next clip, editable, before the network has answered anything.
        shown = page.evaluate(
            """() => {
              const before = document.getElementById('review').dataset.taskId;
              const key = {key: 'Enter', code: 'Enter', ctrlKey: true, bubbles: true};
              document.activeElement.dispatchEvent(new KeyboardEvent('keydown', key));
              const root = document.getElementById('review');
              return {before, after: root.dataset.taskId, focus: document.activeElement.id,
                      readOnly: document.getElementById('transcript').readOnly, view: root.dataset.view};
            }"""
        )
        assert shown["after"] != shown["before"] and shown["focus"] == "transcript" and not shown["readOnly"]
        assert shown["view"] == "clip"
        assert task_id(page) != first

        # 503: "not saved yet", the text kept in the outbox (localStorage) and on the line…
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=retrying]")
        assert "not saved yet" in page.inner_text(f"#outbox li[data-task-id='{first}']")
        assert "Not saved yet" in page.inner_text("#save-status")
        kept = [e for e in stored_outbox(page) if e["taskId"] == first]
        assert kept[0]["body"]["corrected_text"] == "play shake it off now please"
        # …until the server answers: the same idempotency key each time.
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=saved]", timeout=15_000)
        assert len({body["idempotency_key"] for body in sent}) == 1 and len(sent) == 3
        assert errors == []
    annotation = Annotation.objects.get(task_id=first)
    assert annotation.corrected_text == "play shake it off now please"


def test_the_outbox_survives_a_reload_and_sends_what_was_left(live_server, reviewer, queue, browser):
    with review_page(browser, live_server, reviewer, queue.pk) as (page, errors):
        page.route("**/submit", lambda route: route.abort("connectionrefused"))
        first = task_id(page)
        page.keyboard.press("End")
        page.keyboard.type(" tonight")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=retrying]")
        assert not Annotation.objects.exists()

        page.unroute("**/submit")
        page.reload()  # the page goes away with the submit unsent…
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=saved]", timeout=15_000)
        # …and the new page sent it, and does not show that clip again.
        assert task_id(page) != first
        assert errors == []
    assert Annotation.objects.get(task_id=first).corrected_text == "play shake it off now tonight"


def test_a_refused_submit_is_not_saved_and_can_be_reopened_and_fixed(live_server, reviewer, queue, browser):
    answers = {"n": 0}

    def refuse_once(route):
        answers["n"] += 1
        if answers["n"] == 1:
            route.fulfill(status=400, content_type="application/json", body='{"error": "the spans do not fit"}')
        else:
            route.continue_()

    with review_page(browser, live_server, reviewer, queue.pk, routes={"**/submit": refuse_once}) as (page, errors):
        first = task_id(page)
        page.keyboard.press("End")
        page.keyboard.type(" loud")
        page.keyboard.press("Control+Enter")
        line = f"#outbox li[data-task-id='{first}']"
        page.wait_for_selector(f"{line}[data-state=failed]")
        assert "not saved" in page.inner_text(line)
        assert "the spans do not fit" in page.inner_text("#notice").lower()
        page.click(f"{line} [data-reopen]")
        assert task_id(page) == first
        assert page.input_value("#transcript") == "play shake it off now loud"
        page.keyboard.press("End")
        page.keyboard.type("er")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=saved]")
        assert errors == []
    assert Annotation.objects.get(task_id=first).corrected_text == "play shake it off now louder"


def test_whisper_text_unchanged_and_unheard_asks_once(live_server, reviewer, queue, browser):
    with review_page(browser, live_server, reviewer, queue.pk) as (page, errors):
        sent = submits(page)
        first = task_id(page)
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#unheard-dialog[open]")
        assert "not heard the whole clip" in page.inner_text("#unheard-dialog")
        page.keyboard.press("Escape")  # back to the clip: nothing sent
        page.wait_for_selector("#unheard-dialog", state="hidden")
        assert task_id(page) == first and sent == []
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#unheard-dialog[open]")
        page.keyboard.press("Enter")  # yes, as it is
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=saved]")

        # Heard in full: no question.
        second = task_id(page)
        play_through(page)
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"#outbox li[data-task-id='{second}'][data-state=saved]")
        assert not page.is_visible("#unheard-dialog")
        assert errors == []
    assert [(b["confirmed_unheard"], b["listened_fraction"]) for b in sent][0] == (True, 0)
    unheard, heard = Annotation.objects.get(task_id=first), Annotation.objects.get(task_id=second)
    assert (unheard.unchanged, unheard.confirmed_unheard, unheard.listened_fraction) == (True, True, 0)
    assert heard.unchanged and not heard.confirmed_unheard and heard.listened_fraction >= 0.95
    assert heard.playback_rate == 1


def test_the_word_keys_move_the_caret_with_the_playhead_and_select_a_word(live_server, reviewer, queue, browser):
    caret = "() => { const t = document.getElementById('transcript'); return [t.selectionStart, t.selectionEnd]; }"
    with review_page(browser, live_server, reviewer, queue.pk) as (page, errors):
        assert page.input_value("#transcript") == "play shake it off now"
        page.keyboard.press("Alt+]")  # "play" starts at 0: the next word after the playhead is "shake"
        assert page.evaluate(caret) == [5, 5]
        assert page.evaluate("() => window.__review.currentTime") == pytest.approx(0.2, abs=0.01)
        page.keyboard.press("Alt+]")
        page.keyboard.press("Alt+]")
        assert page.evaluate(caret) == [14, 14]  # "off"
        page.keyboard.press("Alt+[")
        assert page.evaluate(caret) == [11, 11]  # "it"
        assert page.evaluate("() => window.__review.currentTime") == pytest.approx(0.4, abs=0.01)
        # The word under the playhead, selected; typing replaces it.
        page.keyboard.press("Alt+h")
        assert page.evaluate(caret) == [11, 13]
        page.keyboard.type("that")
        assert page.input_value("#transcript") == "play shake that off now"
        # The reviewer's own words are mapped too: an added word shares the gap it sits in.
        page.keyboard.press("Alt+]")
        assert page.evaluate(caret) == [16, 16]  # "off"
        assert errors == []


def test_undo_brings_the_last_clip_back_and_its_new_version_amends_it(live_server, reviewer, queue, browser):
    with review_page(browser, live_server, reviewer, queue.pk) as (page, errors):
        sent = submits(page)
        first = task_id(page)
        page.keyboard.press("End")
        page.keyboard.type(" loud")
        page.keyboard.press("Alt+r")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=saved]")
        second = task_id(page)
        page.keyboard.type(" now")  # begun on the next clip…
        old = Annotation.objects.get(task_id=first)

        page.keyboard.press("Alt+b")
        assert task_id(page) == first
        assert page.input_value("#transcript") == "play shake it off now loud"
        assert page.get_attribute('.grade[data-grade="right"]', "aria-pressed") == "true"
        page.wait_for_selector("#review[data-ready=true]")  # its audio was kept in memory
        assert page.inner_text("#lease").startswith("Undo")
        page.keyboard.press("End")
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        page.keyboard.press("Backspace")
        page.keyboard.press("Control+Enter")
        page.keyboard.press("Enter")  # Whisper's text again, not heard: yes, as it is
        # …and is back where it was left.
        assert task_id(page) == second
        assert page.input_value("#transcript") == "turn the music up now"
        page.wait_for_function(
            f"() => window.__review.outbox.filter((e) => e.taskId === {first} && e.state === 'saved').length === 2"
        )
        assert errors == []
    first_body, amend = sent[0], sent[-1]
    assert amend["amends"] == old.pk and amend["idempotency_key"] != first_body["idempotency_key"]
    annotation = Annotation.objects.get(task_id=first)
    assert annotation.pk != old.pk and annotation.corrected_text == "play shake it off now"
    assert annotation.amended_at is not None and annotation.answer_grade == "right"


def test_undo_of_a_submit_still_in_the_outbox_takes_it_back(live_server, reviewer, queue, browser):
    with review_page(browser, live_server, reviewer, queue.pk) as (page, errors):
        page.route("**/submit", lambda route: route.abort("connectionrefused"))
        first = task_id(page)
        page.keyboard.press("End")
        page.keyboard.type(" loud")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=retrying]")
        page.keyboard.press("Alt+b")
        assert task_id(page) == first
        assert page.input_value("#transcript") == "play shake it off now loud"
        page.unroute("**/submit")
        page.keyboard.press("Backspace")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(f"() => window.__review.outbox.some((e) => e.taskId === {first} && e.state === 'saved')")
        assert errors == []
    assert Annotation.objects.get(task_id=first).corrected_text == "play shake it off now lou"


def test_speed_runs_from_half_to_double_and_the_loop_plays_round(live_server, reviewer, queue, browser):
    with review_page(browser, live_server, reviewer, queue.pk) as (page, errors):
        for _ in range(6):
            page.keyboard.press("Alt+,")
        assert page.evaluate("() => window.__review.speed") == 0.5
        assert page.get_attribute(".speed-option[data-speed='0.5']", "aria-pressed") == "true"
        for _ in range(8):
            page.keyboard.press("Alt+.")
        assert page.evaluate("() => window.__review.speed") == 2
        assert page.get_attribute(".speed-option[data-speed='2']", "aria-pressed") == "true"
        page.click(".speed-option[data-speed='1']")

        page.keyboard.press("Alt+]")
        page.keyboard.press("Alt+]")  # the playhead at 0.4 s
        page.keyboard.press("Alt+g")
        loop = page.evaluate("() => window.__review.loop")
        assert loop == {"start": 0, "end": 1}  # 2 s either side, within the one-second clip
        assert page.get_attribute("#loop", "aria-pressed") == "true"
        # Round and round: past the clip's end it starts again, still playing.
        page.wait_for_timeout(2500)
        assert page.evaluate("() => window.__review.playing")
        assert page.evaluate("() => window.__review.listening.listened_fraction") >= 0.95
        page.keyboard.press("Alt+g")
        assert page.evaluate("() => window.__review.loop") is None
        assert page.get_attribute("#loop", "aria-pressed") == "false"
        assert errors == []


def test_after_a_reload_a_refused_submit_comes_back_with_its_text(live_server, reviewer, queue, browser):
    refuse = {"on": True}

    def refuse_while_on(route):
        if refuse["on"]:
            route.fulfill(status=400, content_type="application/json", body='{"error": "the spans do not fit"}')
        else:
            route.continue_()

    with review_page(browser, live_server, reviewer, queue.pk, routes={"**/submit": refuse_while_on}) as (page, errors):
        first = task_id(page)
        page.keyboard.press("End")
        page.keyboard.type(" loud")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=failed]")
        refuse["on"] = False
        page.reload()
        # Still held, so served again, with the text that was refused, to fix and send.
        page.wait_for_selector("#review[data-ready=true]")
        assert task_id(page) == first
        assert page.input_value("#transcript") == "play shake it off now loud"
        page.keyboard.press("Control+Enter")
        page.wait_for_selector(f"#outbox li[data-task-id='{first}'][data-state=saved]")
        assert errors == []
    assert Annotation.objects.get(task_id=first).corrected_text == "play shake it off now loud"
