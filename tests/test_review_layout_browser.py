"""The review page's layout at the laptop sizes reviewers work at (1366×768, 1440×900):
the submit bar covers nothing (the side column with the catalog results, flags and second
opinion ends above it and scrolls on its own), Flags and Second opinion come into view on
their keys, and the Play and Replay buttons are named by their visible text.

Screenshots of both sizes go to the test's tmp folder (never committed).
"""

from __future__ import annotations

import pytest

from annotate.catalog import index as catalog_index
from tests.factories import import_entities, make_clip, make_queue
from tests.support import open_review_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [(1366, 768), (1440, 900)]

# The rectangles of the submit bar, the side column and every visible control in it
# (clipped to the side column's own scrolled view: what the reviewer can see of it).
GEOMETRY = """() => {
  const box = (el) => {
    const r = el.getBoundingClientRect();
    return {x: r.left, y: r.top, right: r.right, bottom: r.bottom};
  };
  const bar = document.querySelector('#clip .actions');
  const side = document.querySelector('#clip .side');
  const sideBox = box(side);
  const clip = (r) => ({x: Math.max(r.x, sideBox.x), y: Math.max(r.y, sideBox.y),
                        right: Math.min(r.right, sideBox.right), bottom: Math.min(r.bottom, sideBox.bottom)});
  const controls = [...side.querySelectorAll('button, input, textarea, select, a[href], summary, table, ol, ul')]
    .filter((el) => el.offsetParent !== null)
    .map((el) => ({what: el.id || el.className || el.tagName, ...clip(box(el))}))
    .filter((r) => r.right > r.x && r.bottom > r.y);
  return {bar: box(bar), side: sideBox, controls, transcript: box(document.getElementById('transcript')),
          viewport: {width: innerWidth, height: innerHeight}};
}"""


def overlaps(a: dict, b: dict) -> bool:
    return a["x"] < b["right"] and b["x"] < a["right"] and a["y"] < b["bottom"] and b["y"] < a["bottom"]


def in_view(page, selector: str) -> dict:
    return page.evaluate(
        """(selector) => { const r = document.querySelector(selector).getBoundingClientRect();
             return {x: r.left, y: r.top, right: r.right, bottom: r.bottom}; }""",
        selector,
    )


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_submit_bar_covers_nothing_and_the_side_panels_come_into_view_on_their_keys(
    live_server, reviewer, fresh_catalog, browser, tmp_path, width, height
):
    queue = make_queue(reviewer, guidelines="Tag **artists** and **songs**; link them to the catalog.")
    import_entities(
        {"kind": "artist", "name": "Taylor Swift", "popularity": 95},
        {"kind": "artist", "name": "Taylor Dayne", "popularity": 40},
        {"kind": "song", "name": "Shake It Off", "popularity": 90},
    )
    catalog_index.forget()
    for text in ["play shake it off by taylor swift", "turn the music up"]:
        make_clip(text)
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script("localStorage.setItem('annotate.review.autoplay', '0')")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        open_review_page(page, live_server.url, reviewer, queue.pk)
        page.wait_for_selector("#panel-second-opinion")  # the plugins' panels are in the side column
        page.wait_for_selector("#flag-open")
        page.screenshot(path=str(tmp_path / f"review-{width}x{height}.png"))

        geometry = page.evaluate(GEOMETRY)
        bar, side = geometry["bar"], geometry["side"]
        assert bar["bottom"] <= height, "the submit bar is on screen"
        assert side["bottom"] <= bar["y"], (side, bar)  # the side column ends above the bar
        covered = [c for c in geometry["controls"] if overlaps(c, bar)]
        assert covered == [], covered
        assert not overlaps(geometry["transcript"], bar)
        assert len(geometry["controls"]) > 5

        # Second opinion: Alt+Q brings the question into view, above the bar.
        page.keyboard.press("Alt+q")
        assert page.evaluate("document.activeElement.id") == "ask-question"
        question = in_view(page, "#ask-question")
        assert question["y"] >= side["y"] - 1 and question["bottom"] <= bar["y"], (question, bar)
        page.screenshot(path=str(tmp_path / f"review-{width}x{height}-second-opinion.png"))

        # Flags: Alt+X opens the flag dialog and brings the Flags panel into view.
        page.keyboard.press("Escape")
        page.keyboard.press("Alt+t")
        page.keyboard.press("Alt+x")
        page.wait_for_selector("#flag-dialog[open]")
        page.keyboard.press("Escape")
        flags = in_view(page, "#flag-open")
        assert flags["y"] >= side["y"] - 1 and flags["bottom"] <= bar["y"], (flags, bar)
        page.screenshot(path=str(tmp_path / f"review-{width}x{height}-flags.png"))

        # The catalog's results for a span, in the side column, readable above the bar.
        page.keyboard.press("Alt+t")
        page.keyboard.press("Alt+Shift+ArrowLeft")
        page.keyboard.press("Alt+Shift+ArrowLeft")
        page.keyboard.press("Alt+n")
        page.keyboard.press("1")  # artist
        page.wait_for_selector(".spans-result")
        result = in_view(page, ".spans-result")
        assert "Taylor Swift" in page.inner_text(".spans-result")
        assert result["y"] >= side["y"] - 1 and result["bottom"] <= bar["y"], (result, bar)
        page.screenshot(path=str(tmp_path / f"review-{width}x{height}-catalog.png"))
        page.keyboard.press("Escape")

        # Play and Replay: the accessible name is the visible text (axe-core label-content-name-mismatch).
        names = page.evaluate(
            """() => ['play', 'replay'].map((id) => { const b = document.getElementById(id);
                 return [b.getAttribute('aria-label'), b.innerText.replace(/\\s+/g, ' ').trim()]; })"""
        )
        assert names[0][0] is None and names[0][1].startswith("Play")
        assert names[1][0] is None and names[1][1].startswith("↺ Replay 2 s")
        assert errors == []
    finally:
        context.close()
