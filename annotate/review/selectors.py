"""Reads of the review app: what the review page shows of a held task.

Only what the reviewer needs: never an identifier of the recorded person.
"""

from __future__ import annotations

from typing import Any

import markdown
import nh3
from django.urls import reverse

from annotate.clips import audio_urls
from annotate.queues.claims import HeldTask
from annotate.queues.models import Task


def audio_token(*, task_id: int, clip_public_id: str, user) -> str:
    return audio_urls.sign(door=audio_urls.REVIEW_DOOR, user=user, clip_public_id=clip_public_id, task_id=task_id)


def held_task(*, user, task_id: int, clip_public_id: str) -> Task | None:
    """The task, if this user holds its claim now and it is of that clip."""
    return (
        Task.objects.select_related("clip", "queue")
        .filter(pk=task_id, claimed_by=user, state=Task.State.CLAIMED, clip__public_id=clip_public_id)
        .first()
    )


def task_payload(*, task: HeldTask, user) -> dict[str, Any]:
    """What the page gets of a claim (claims.claim_for_review): no query."""
    return {
        "task_id": task.task_id,
        "clip": {
            "public_id": task.clip_public_id,
            "duration": task.duration_seconds,
            "peaks": task.peaks,
            "locale": task.locale,
            "device_type": task.device_type,
            "heard": task.heard,
            "response": task.response,
            "intent": task.intent,
        },
        "whisper": {"text": task.whisper_text, "words": task.whisper_words, "model": task.whisper_model},
        "queue": {"id": task.queue_id, "name": task.queue_name, "kind": task.queue_kind},
        "lease_expires_at": task.lease_expires_at.isoformat() if task.lease_expires_at else None,
        "audio_url": reverse(
            "review-audio", args=[audio_token(task_id=task.task_id, clip_public_id=task.clip_public_id, user=user)]
        ),
        # What the reviewer hears: a likely distressing clip is announced, and it (or one the
        # accidental-recording gate left to a human) plays muffled first (audio_url + "?muffled=1").
        "protection": {
            "disguised": task.disguised,
            "redacted": task.redacted,
            "likely_distressing": task.likely_distressing,
            "protective_first": task.protective_first,
        },
    }


# What guidelines Markdown may become: formatting and links, nothing that runs or loads.
# (Markdown "extra": tables, footnotes, definition lists, abbreviations, fenced code.)
GUIDELINES_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "img", "li", "ol", "p", "pre", "strong", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
}  # fmt: skip
GUIDELINES_ATTRIBUTES = {
    "a": {"href", "title", "class"},
    "abbr": {"title"},
    "code": {"class"},
    "div": {"class"},
    "img": {"src", "alt", "title"},
    "li": {"id"},
    "sup": {"id"},
    "td": {"align"},
    "th": {"align"},
}
GUIDELINES_URL_SCHEMES = {"http", "https", "mailto"}


def guidelines_html(markdown_source: str) -> str:
    # Leads write Markdown, not HTML: raw tags are shown as text. What Markdown makes
    # is then sanitised (nh3): a `javascript:` or `data:` link loses its href.
    source = (markdown_source or "").replace("&", "&amp;").replace("<", "&lt;")
    html = markdown.markdown(source, extensions=["extra"], output_format="html")
    return nh3.clean(
        html,
        tags=GUIDELINES_TAGS,
        attributes=GUIDELINES_ATTRIBUTES,
        url_schemes=GUIDELINES_URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
