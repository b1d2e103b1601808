"""Headers and content: a strict Content-Security-Policy on every page (no inline
script, the review page's import map let in by a nonce), and guidelines Markdown
sanitised so that a lead's `javascript:` link reaches no reviewer."""

from __future__ import annotations

import re

from annotate.queues.models import Queue
from annotate.review import selectors
from tests.factories import held_clip, make_queue


def directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {name: sources for name, *sources in (part.split() for part in header.split(";") if part.strip())}


def test_every_page_carries_a_strict_policy(client, reviewer):
    policy = directives(client.get("/login/"))
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no nonce asked for, none given
    assert policy["style-src"] == ["'self'"]
    assert policy["img-src"] == ["'self'", "data:"]
    assert policy["media-src"] == ["'self'", "blob:"]
    assert policy["connect-src"][0] == "'self'" and "wss://localhost:*" in policy["connect-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)


def test_the_review_page_lets_in_its_import_map_by_nonce_and_nothing_else_inline(client, reviewer, queue):
    client.force_login(reviewer)
    page = client.get(f"/review/{queue.pk}/")
    assert page.status_code == 200
    policy = directives(page)
    nonce = re.search(r"'nonce-([^']+)'", " ".join(policy["script-src"])).group(1)
    assert f"'nonce-{nonce}'" in policy["style-src"]  # wavesurfer's shadow-DOM <style>
    html = page.content.decode()
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert inline, "the review page has its import map"
    for attributes in inline:
        assert 'type="application/json"' in attributes or f'nonce="{nonce}"' in attributes, attributes
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    # A second request gets a new nonce.
    assert nonce not in client.get(f"/review/{queue.pk}/")["Content-Security-Policy"]


GUIDELINES = """Write **what you hear**.

- [a script link](javascript:alert(document.cookie))
- [the same, in capitals](JaVaScRiPt:alert(1))
- [a data: link](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)
- [the style guide](https://example.com/style)
- <script>alert(1)</script> <img src=x onerror=alert(1)>
"""


def test_guidelines_markdown_is_sanitised(reviewer, queue):
    Queue.objects.filter(pk=queue.pk).update(guidelines=GUIDELINES)
    html = selectors.guidelines_html(held_clip(reviewer, Queue.objects.get(pk=queue.pk)).queue.guidelines)
    assert "<strong>what you hear</strong>" in html
    assert "javascript:" not in html.lower()
    assert "data:text/html" not in html
    assert ">a script link</a>" in html  # the link's text stays, without its href
    assert '<a href="https://example.com/style" rel="noopener noreferrer">the style guide</a>' in html
    assert "<script" not in html and "<img" not in html  # raw HTML is shown as text
    assert "&lt;script&gt;" in html


def test_the_reviewer_sees_the_sanitised_guidelines(client, reviewer):
    queue = make_queue(reviewer, guidelines="[click](javascript:alert(1)) and **listen**")
    held_clip(reviewer, queue)
    client.force_login(reviewer)
    page = client.get(f"/review/{queue.pk}/")
    assert "<strong>listen</strong>" in page.content.decode()
    assert "javascript:" not in page.content.decode()
