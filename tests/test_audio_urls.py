"""The one signer of audio URLs (annotate.clips.audio_urls): a salt per door, bound to the user, short-lived."""

from __future__ import annotations

from types import SimpleNamespace

from django.core import signing

from annotate.clips import audio_urls

reviewer = SimpleNamespace(pk=7)
lead = SimpleNamespace(pk=8)


def test_a_url_opens_its_own_door_for_its_own_user():
    token = audio_urls.sign(door=audio_urls.REVIEW_DOOR, user=reviewer, clip_public_id="c-1", task_id=42)
    assert audio_urls.verify(door=audio_urls.REVIEW_DOOR, token=token, user=reviewer) == audio_urls.AudioPass(
        clip_public_id="c-1", task_id=42
    )
    assert audio_urls.verify(door=audio_urls.REVIEW_DOOR, token=token, user=lead) is None
    assert audio_urls.verify(door=audio_urls.LEAD_DOOR, token=token, user=reviewer) is None


def test_the_lead_door_names_no_task():
    token = audio_urls.sign(door=audio_urls.LEAD_DOOR, user=lead, clip_public_id="c-2")
    assert audio_urls.verify(door=audio_urls.LEAD_DOOR, token=token, user=lead) == audio_urls.AudioPass(
        clip_public_id="c-2", task_id=None
    )


def test_urls_handed_out_before_the_one_signer_still_play():
    review = signing.dumps({"t": 42, "u": 7, "c": "c-1"}, salt="annotate.audio", compress=False)
    console = signing.dumps({"u": 8, "c": "c-2"}, salt="annotate.lead-audio", compress=False)
    assert audio_urls.verify(door=audio_urls.REVIEW_DOOR, token=review, user=reviewer).task_id == 42
    assert audio_urls.verify(door=audio_urls.LEAD_DOOR, token=console, user=lead).clip_public_id == "c-2"


def test_forged_and_stale_urls_open_nothing(settings):
    token = audio_urls.sign(door=audio_urls.REVIEW_DOOR, user=reviewer, clip_public_id="c-1", task_id=42)
    assert audio_urls.verify(door=audio_urls.REVIEW_DOOR, token=token[:-2] + "xx", user=reviewer) is None
    settings.ANNOTATE_AUDIO_URL_SECONDS = -1
    assert audio_urls.verify(door=audio_urls.REVIEW_DOOR, token=token, user=reviewer) is None
