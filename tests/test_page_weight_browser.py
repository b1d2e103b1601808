"""Light pages: what the review page costs on the wire besides audio, served as in production.

Static files come from `collectstatic` (hashed names, gzip copies made by WhiteNoise's
CompressedManifestStaticFilesStorage) through the WhiteNoise middleware, not from
Django's development static handler. Chromium counts the bytes it receives (headers
included, DevTools' "transferred"), from the navigation until the page is ready and the
network is quiet: the document, CSS, the ES modules, wavesurfer.js, the claim's JSON
and the next clip prefetched; the audio alone is left out. The budget is issue 13's:
150 KB. bench/page_weight.py prints the same figures for a running server.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from django.test.testcases import LiveServerThread
from django.test.utils import override_settings

from annotate import importmap
from tests.factories import make_clip, make_queue
from tests.support import Transfers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BUDGET_KB = 150
HASHED = re.compile(r"\.[0-9a-f]{12}\.js$")
PRODUCTION_STATIC = {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}
# A demo-length clip: Whisper's words and the waveform's peaks are in the claim's JSON.
CLIP_SECONDS = 6
TEXT = "play shake it off by taylor swift in the kitchen and turn it up a little please"


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory, django_db_blocker):
    """`collectstatic` as a release runs it: hashed names, a manifest and gzip copies."""
    root = tmp_path_factory.mktemp("staticfiles")
    from django.conf import settings

    with override_settings(STATIC_ROOT=root, STORAGES={**settings.STORAGES, "staticfiles": PRODUCTION_STATIC}):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


@pytest.fixture
def production_server(settings, collected_static):
    """A live server whose static files are WhiteNoise's (no development static handler)."""
    settings.STATIC_ROOT = collected_static
    settings.STORAGES = {**settings.STORAGES, "staticfiles": PRODUCTION_STATIC}
    settings.DEBUG = False
    # LiveServerThread also serves MEDIA_URL ("/" when unset) from MEDIA_ROOT (the working
    # directory when unset): it would answer /static/… from the source folder, uncompressed.
    settings.MEDIA_URL = "/media-not-served/"
    server = LiveServerThread("127.0.0.1", static_handler=lambda app: app)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.terminate()


@pytest.fixture
def reviewer_session(reviewer):
    queue = make_queue(reviewer, name="Music and everyday requests (en)")
    for n in range(3):
        clip = make_clip(f"{TEXT} {n}")
        clip.duration_ms = CLIP_SECONDS * 1000
        clip.peaks = [round(0.5 + 0.4 * ((i * 37) % 11) / 11, 3) for i in range(CLIP_SECONDS * 50)]
        clip.save(update_fields=["duration_ms", "peaks"])
    client = Client()
    client.force_login(reviewer)
    return queue, client.cookies["sessionid"].value


def test_the_review_page_transfers_at_most_150_kb_besides_audio(production_server, reviewer_session, browser):
    queue, session = reviewer_session
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.add_cookies([{"name": "sessionid", "value": session, "url": production_server}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    transfers = Transfers(page)

    page.goto(f"{production_server}/review/{queue.pk}/")
    page.wait_for_selector("#review[data-ready=true]")
    page.wait_for_function("() => window.__review.held.length === 2 && window.__review.held[1].audioReady")
    page.wait_for_load_state("networkidle")
    print(f"\nthe review page, static files from collectstatic through WhiteNoise:\n{transfers.table()}")

    assert not errors, errors
    static = [t for t in transfers.done if "/static/" in t.url]
    assert static, "the page loads its CSS and scripts from /static/"
    # Served as in production: hashed names, and compressed wherever it pays (WhiteNoise
    # keeps a .gz copy only when it is smaller).
    assert all(".js" not in t.url or t.encoding == "gzip" for t in static), [(t.url, t.encoding) for t in static]
    # Each module once, under its hashed name: the import map sends a module's own
    # imports (plain names) to the hashed files the page preloads (annotate/importmap.py).
    scripts = [t.url.rsplit("/static/", 1)[1] for t in static if t.kind == "Script"]
    assert all(HASHED.search(name) for name in scripts), scripts
    assert len({HASHED.sub(".js", name) for name in scripts}) == len(scripts), scripts
    assert any("/static/vendor/wavesurfer/wavesurfer.esm." in t.url for t in static)
    assert transfers.besides_audio() <= BUDGET_KB * 1024, transfers.table()
    context.close()


@pytest.mark.django_db(transaction=False)
def test_the_vendor_modules_are_the_packages_minified_builds():
    """The import map's bare names (wavesurfer, its plugins) lead to the npm package's minified ES modules."""
    for name, path in importmap.VENDOR.items():
        found = finders.find(path)
        assert found, f"{name}: {path} is not among the static files (npm ci?)"
        source = Path(found).read_text()
        lines = source.splitlines()
        assert len(lines) < 10 and len(source) / len(lines) > 2000, f"{path} is not minified"
