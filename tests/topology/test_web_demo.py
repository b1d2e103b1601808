"""The quick start as a newcomer runs it: `make demo`, then a reviewer signs in in a browser
and sees a clip. The demo serves with DEBUG off, so its CSS and JS come from `collectstatic`
through WhiteNoise, with hashed names, as in production.

`make demo` loads and transcribes the 40 demo clips in process (Whisper tiny.en on the CPU):
most of this test's time.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from tests.support import CHROMIUM_ARGS
from tests.topology.stack import clean_env, free_port, wait_for

pytestmark = [pytest.mark.topology, pytest.mark.browser]

DEMO_SECONDS = 900  # set-up, migrate, catalog, 40 clips through Whisper on a busy 2-core machine
HASHED = re.compile(r"\.[0-9a-f]{12}\.(css|js)$")

# Every stylesheet, script, module preload and import-map entry the page names.
REFERENCED = """() => {
  const urls = [
    ...[...document.querySelectorAll('link[rel=stylesheet], link[rel=modulepreload]')].map((l) => l.href),
    ...[...document.querySelectorAll('script[src]')].map((s) => s.src),
  ];
  for (const map of document.querySelectorAll('script[type=importmap]')) {
    for (const url of Object.values(JSON.parse(map.textContent).imports || {})) urls.push(new URL(url, location).href);
  }
  return urls;
}"""


def test_make_demo_serves_a_reviewer_a_clip_with_its_css_and_js(processes, tmp_path):
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = clean_env(
        ANNOTATE_VAR_DIR=str(tmp_path / "var"),
        ANNOTATE_STATIC_ROOT=str(tmp_path / "staticfiles"),  # the checkout's own staticfiles/ stays as it is
        PORT=str(port),
    )
    demo = processes.start("make-demo", ["make", "demo"], env=env)
    demo.wait_for_log("Open http://", timeout=DEMO_SECONDS)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert demo.alive, f"make demo exited ({demo.returncode}):\n{demo.log_tail(60)}"
        try:
            return requests.get(f"{base}/login/", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    wait_for(answers, timeout=60, message="the demo server did not answer /login/")
    assert "demo clips:" in demo.log_text()

    responses: list[tuple[str, int, str]] = []
    failed: list[str] = []
    errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("response", lambda r: responses.append((r.url, r.status, r.request.resource_type)))
            page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
            page.on("pageerror", lambda error: errors.append(str(error)))

            page.goto(f"{base}/login/")
            page.fill("#id_username", "rita")
            page.fill("#id_password", "annotate-demo")
            page.keyboard.press("Enter")
            page.get_by_role("link", name="Start").first.click()
            page.wait_for_selector("#review[data-view=clip][data-ready=true]", timeout=30_000)

            assert page.is_hidden("#loading")
            assert page.input_value("#transcript").strip(), "Whisper's transcript is shown for correction"
            assert page.locator("#whisper-words .word").count() > 0
            assert page.evaluate("document.querySelector('#waveform').children.length") > 0, "the waveform is drawn"
            # The stylesheets were applied, not just fetched.
            assert page.evaluate("[...document.styleSheets].every((sheet) => sheet.cssRules.length > 0)")
            referenced = page.evaluate(REFERENCED)
            html = page.request.get(page.url).text()  # the page as the server rendered it
        finally:
            browser.close()

    assert not errors, errors
    assert not failed, failed
    static = [(url, status) for url, status, kind in responses if kind in {"stylesheet", "script"}]
    assert static, "the page loaded CSS and JS"
    assert [entry for entry in static if entry[1] != 200] == []

    # Everything the page names, including what its modules add (relative to their own URL).
    css_and_js = [url for url in referenced if url.split("?")[0].endswith((".css", ".js"))]
    assert any(url.endswith(".css") for url in css_and_js) and any(url.endswith(".js") for url in css_and_js)
    for url in css_and_js:
        assert requests.get(url, timeout=10).status_code == 200, url
    # What the template names ({% static %}) is served as production serves it: hashed names,
    # cached for good, compressed.
    # The import map (annotate/importmap.py) maps plain names, which modules import, to hashed ones.
    maps = re.findall(r'<script type="importmap"[^>]*>(.*?)</script>', html, flags=re.S)
    mapped = {plain: hashed for found in maps for plain, hashed in json.loads(found)["imports"].items()}
    assert all(HASHED.search(Path(mapped[plain]).name) for plain in mapped if plain.startswith("/static/")), mapped
    html = re.sub(r'<script type="importmap"[^>]*>.*?</script>', "", html, flags=re.S)
    rendered = set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html)) | set(re.findall(r'"(/static/[^"]+)"', html))
    rendered |= set(mapped.values())
    assert len(rendered) >= 5, rendered
    for path in sorted(rendered):
        answer = requests.get(base + path, timeout=10, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200, path
        assert HASHED.search(Path(path).name), f"{path} is not a hashed name"
        assert "immutable" in answer.headers.get("Cache-Control", ""), path
        assert answer.headers.get("Content-Encoding") == "gzip", path
