"""Entity tagging in headless Chromium: keyboard only, on a demo clip, checked in the database.

The review page (review.js) installs static/review/spans.js as a plugin
(docs/review-plugins.md); these tests drive the real page with the keyboard and
submit with Ctrl+Enter, then read what was stored.
"""

from __future__ import annotations

import pytest
from django.test import Client

from annotate.catalog import index as catalog_index
from annotate.catalog.kinds import seed_kinds
from annotate.catalog.models import Entity, EntityKind, EntitySpan
from annotate.review.models import Annotation
from tests.factories import import_demo_catalog, make_clip, make_queue
from tests.support import in_thread

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DEMO_CLIP = {  # demo/manifest.jsonl, clip-001-shake-it-off
    "text": "shake it off my taylor swift",
    "heard": "play shake it off my taylor swift",
    "response": "Playing Shake It Off by Taylor Swift",
    "intent": "PlayMusic",
}
CORRECTED = "Shake It Off by Taylor Swift"


@pytest.fixture
def demo(reviewer):
    seed_kinds(EntityKind)  # the flush after a transactional test removes what migrations seeded
    catalog_index.forget()
    import_demo_catalog()
    queue = make_queue(reviewer, name="Music and everyday requests (en)")
    make_clip(DEMO_CLIP["text"], heard=DEMO_CLIP["heard"], response=DEMO_CLIP["response"], intent=DEMO_CLIP["intent"])
    client = Client()
    client.force_login(reviewer)
    yield {"queue": queue, "session": client.cookies["sessionid"].value}
    catalog_index.forget()


@pytest.fixture
def browser_page(live_server, demo, browser):
    context = browser.new_context()
    context.add_cookies([{"name": "sessionid", "value": demo["session"], "url": live_server.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/review/{demo['queue'].pk}/")
    page.wait_for_function("() => document.getElementById('review').dataset.view === 'clip'")
    page.wait_for_function("() => window.__spans !== undefined")
    page.evaluate("window.__spans.ready")  # the kinds are loaded
    yield page, errors


def stored_spans():
    return in_thread(
        lambda: [
            (s.start, s.end, s.text, s.kind.slug, s.entity.name if s.entity else None, s.not_in_catalog_name, s.source)
            for s in EntitySpan.objects.select_related("kind", "entity").order_by("start")
        ]
    )


def spans_state(page):
    return page.evaluate("window.__spans.state")


def submit(page):
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => ['saved', 'error'].includes(document.getElementById('save-status').dataset.kind)")
    return page.evaluate("document.getElementById('save-status').textContent")


def wait_for_results(page):
    page.wait_for_function("() => window.__spans.state.results.length > 0")


def type_correction(page):
    page.keyboard.press("Alt+T")  # the transcript, caret at the end
    page.keyboard.press("Control+A")
    page.keyboard.type(CORRECTED)


def test_tag_and_link_taylor_swift_and_the_song_with_the_keyboard(browser_page):
    page, errors = browser_page
    page.wait_for_function("() => window.__spans.state.suggestions.length === 2")  # from Whisper's text
    type_correction(page)

    # Artist, by hand: from the end, two words to the left; Alt+N, 1 (artist); the search box opens on the
    # selected words and the top result is one key away.
    page.keyboard.press("Alt+T")
    page.keyboard.press("Alt+Shift+ArrowLeft")
    page.keyboard.press("Alt+Shift+ArrowLeft")
    assert page.evaluate("(() => { const t = document.getElementById('transcript'); "
                         "return t.value.slice(t.selectionStart, t.selectionEnd); })()") == "Taylor Swift"  # fmt: skip
    page.keyboard.press("Alt+N")
    page.keyboard.press("1")
    assert page.evaluate("document.activeElement.classList.contains('spans-search')")
    assert page.input_value(".spans-search") == "Taylor Swift"
    wait_for_results(page)
    assert spans_state(page)["results"][0] == "Taylor Swift"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "transcript"

    # Song: the suggestion for the corrected text, accepted with one key.
    page.wait_for_function("() => window.__spans.state.suggestions.some((s) => s.text === 'Shake It Off')")
    assert spans_state(page)["suggestions"] == [
        {"start": 0, "end": 12, "text": "Shake It Off", "kind": "song", "entity": "Shake It Off"}
    ]
    page.keyboard.press("Alt+Y")
    state = spans_state(page)
    assert [(s["text"], s["kind"], s["source"]) for s in state["spans"]] == [
        ("Shake It Off", "song", "suggestion"),
        ("Taylor Swift", "artist", "reviewer"),
    ]
    assert "Taylor Swift" in page.inner_text(".spans-mirror mark.span.kind-1")

    assert submit(page).startswith("Saved")
    assert errors == []

    assert in_thread(lambda: Annotation.objects.get().corrected_text) == CORRECTED
    assert stored_spans() == [
        (0, 12, "Shake It Off", "song", "Shake It Off", "", "suggestion"),
        (16, 28, "Taylor Swift", "artist", "Taylor Swift", "", "reviewer"),
    ]
    taylor = in_thread(lambda: Entity.objects.get(name="Taylor Swift", kind__slug="artist").external_ids)
    assert taylor == {"musicbrainz": "dac9949f-167c-554a-9d16-d6ba3fe6efd2"}


def test_spans_move_with_their_words_and_ask_for_a_recheck_when_they_change(browser_page):
    page, errors = browser_page
    type_correction(page)
    page.keyboard.press("Alt+Shift+ArrowLeft")
    page.keyboard.press("Alt+Shift+ArrowLeft")
    page.keyboard.press("Alt+N")
    page.keyboard.press("1")
    wait_for_results(page)
    page.keyboard.press("Enter")

    # Typing before the span moves it.
    page.keyboard.press("Control+Home")
    page.keyboard.type("Play ")
    (span,) = spans_state(page)["spans"]
    assert (span["start"], span["end"], span["text"], span["needs_recheck"]) == (21, 33, "Taylor Swift", False)

    # Typing after it (with a space) leaves it; letters run on into it ask for a re-check while they do.
    page.keyboard.press("Control+End")
    page.keyboard.type("s")
    assert spans_state(page)["spans"][0]["needs_recheck"] is True  # "Swifts"
    page.keyboard.press("Backspace")
    page.keyboard.type(" please")
    assert spans_state(page)["spans"][0]["needs_recheck"] is False
    page.evaluate("document.getElementById('transcript').setSelectionRange(26, 26)")  # after "Taylo"
    page.keyboard.press("Backspace")
    page.keyboard.type("e")  # "Tayler"
    (span,) = spans_state(page)["spans"]
    assert (span["text"], span["needs_recheck"]) == ("Tayler Swift", True)
    assert page.locator(".spans-list .recheck").count() == 1

    # A submit now stores the flag: never silently wrong.
    page.keyboard.press("Alt+L")
    wait_for_results(page)
    page.keyboard.press("Enter")  # re-checked: still Taylor Swift
    assert spans_state(page)["spans"][0]["needs_recheck"] is False

    # Replacing all of a span's words removes it, with a message.
    page.evaluate(
        "(() => { const t = document.getElementById('transcript'); t.focus(); t.setSelectionRange(21, 33); })()"
    )
    page.keyboard.type("Adele")
    assert spans_state(page)["spans"] == []
    assert "Removed the span" in page.inner_text(".spans-status")

    page.keyboard.press("Alt+Shift+ArrowLeft")  # "Adele"
    page.keyboard.press("Alt+N")
    page.keyboard.press("1")
    wait_for_results(page)
    page.keyboard.press("Shift+Enter")  # not in catalog, as typed
    page.keyboard.press("Alt+T")
    assert page.evaluate("document.getElementById('transcript').value") == "Play Shake It Off by Adele please"
    assert submit(page).startswith("Saved")
    assert errors == []
    assert stored_spans() == [(21, 26, "Adele", "artist", None, "Adele", "reviewer")]


MOVE_CASES = """async () => {
  const { diffRange, moveSpan, extendSelection, edgesGlued } = await import("/static/review/spans.js");
  const edit = (before, after, span, caret = null) => {
    const change = diffRange(before, after, caret);
    const moved = moveSpan(span, change, after);
    return [moved.status, after.slice(moved.start, moved.end)];
  };
  const text = "play Taylor Swift now";
  const span = { start: 5, end: 17 };
  return {
    before: edit(text, "please play Taylor Swift now", span),
    after: edit(text, "play Taylor Swift right now", span),
    glued: edit(text, "play Taylor Swifty now", span),
    inside: edit(text, "play Tay Swift now", span),
    replaced: edit(text, "play Adele now", span),
    ambiguous: edit("aa Taylor", "aaa Taylor", { start: 3, end: 9 }, 3),
    gluedNow: edgesGlued("play Taylor Swifty now", span),
    notGlued: edgesGlued("play Taylor Swift, now", span),
    select: extendSelection(text, { start: 21, end: 21, direction: "none" }, -1),
    select2: extendSelection(text, { start: 18, end: 21, direction: "backward" }, -1),
  };
}"""


def test_the_edit_rules_of_spans_js(browser_page):
    page, _ = browser_page
    result = page.evaluate(MOVE_CASES)
    assert result["before"] == ["moved", "Taylor Swift"]
    assert result["after"] == ["same", "Taylor Swift"]
    assert result["glued"] == ["same", "Taylor Swift"]  # and edgesGlued flags it while "y" runs on
    assert result["gluedNow"] is True and result["notGlued"] is False
    assert result["inside"] == ["recheck", "Tay Swift"]
    assert result["replaced"][0] == "removed"
    assert result["ambiguous"] == ["moved", "Taylor"]
    assert result["select"] == {"start": 18, "end": 21, "direction": "backward"}
    assert result["select2"] == {"start": 12, "end": 21, "direction": "backward"}
