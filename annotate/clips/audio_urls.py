"""Signed, short-lived audio URLs: the one signer of every door that plays a clip.

Each door (the reviewer's held task, the lead's console) signs with its own
salt, so a URL made for one never opens another. A token names the user it was
made for, the clip and, at the reviewer's door, the task; it lives
ANNOTATE_AUDIO_URL_SECONDS. The door still checks that the user may hear the
clip now (the claim is held, the clip is in the console): the signature only
proves the URL was made here, for this user, recently.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

REVIEW_DOOR = "annotate.audio"
LEAD_DOOR = "annotate.lead-audio"


@dataclass(frozen=True)
class AudioPass:
    clip_public_id: str
    task_id: int | None


def sign(*, door: str, user, clip_public_id: str, task_id: int | None = None) -> str:
    claims: dict = {"t": task_id} if task_id is not None else {}
    claims.update(u=user.pk, c=clip_public_id)
    return signing.dumps(claims, salt=door, compress=False)


def verify(*, door: str, token: str, user) -> AudioPass | None:
    """What the token opens, if it was signed for this door and this user and is not stale; else None."""
    try:
        claims = signing.loads(token, salt=door, max_age=settings.ANNOTATE_AUDIO_URL_SECONDS)
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(claims, dict) or claims.get("u") != user.pk:
        return None
    task_id = claims.get("t")
    return AudioPass(
        clip_public_id=str(claims.get("c", "")),
        task_id=task_id if isinstance(task_id, int) else None,
    )
