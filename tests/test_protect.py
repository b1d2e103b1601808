"""What the reviewer hears (issue 16): the accidental-recording gate, voice disguise, bleeped and
masked personal data, likely-distressing clips announced and routed; all made by the Whisper
worker, and the original never sent to a reviewer when a protection is on.

The clips are the generated evaluation sets (tests/fixtures/protect/, scripts/make_protect_sets.py),
transcribed by the real tiny.en through the worker's own code (asr.transcribe_clip). The finders
are also tested on Whisper-like words directly, where a case needs a word Whisper may not give.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest
from django.test import TestCase
from django.urls import reverse

from annotate.clips import asr, audio, ingest, protect, screening, vault
from annotate.clips.models import AudioVariant, Clip, MachineTranscript, Screening
from annotate.clips.names import NAMES
from annotate.queues import claims
from annotate.queues.models import Task
from annotate.review import selectors as review_selectors
from tests.factories import import_demo_catalog, make_clip, make_queue
from tests.support import FIXTURES, clip_meta

SETS = FIXTURES / "protect"
LABELS = {row["audio"]: row for row in map(json.loads, (SETS / "labels.jsonl").read_text().splitlines())}
MANIFEST = {row["audio"]: row for row in map(json.loads, (SETS / "manifest.jsonl").read_text().splitlines())}


def samples_of(name: str) -> np.ndarray:
    return audio.wav_to_float32(audio.to_wav_bytes(audio.decode((SETS / name).read_bytes()).segment))


def ingest_set_clip(name: str, **overrides) -> Clip:
    row = MANIFEST[name]
    given = {
        "heard": row["heard"],
        "wake_word_score": row["wake_word_score"],
        "account_id": f"ACCT-{hashlib.sha256(name.encode()).hexdigest()[:8]}",
        **overrides,
    }
    meta = clip_meta(**given)
    result = ingest.ingest_clip(data=(SETS / name).read_bytes(), meta=ingest.parse_meta(meta))
    assert result.clip is not None, result.message
    return result.clip


def transcribe(clip: Clip) -> Clip:
    """The Whisper job's own service, in this process (the job's clip alone: nothing else waits)."""
    asr.transcribe_clip(clip_id=clip.pk)
    clip.refresh_from_db()
    return clip


def words(text: str, capitals: bool = False) -> tuple[list[str], list[bool]]:
    found = text.split()
    return found, [w[:1].isupper() for w in found] if capitals else [False] * len(found)


def personal(text: str, protected: set[int] | None = None) -> list[tuple[str, str]]:
    found, capitalised = words(text, capitals=True)
    spans = protect.find_personal_data(found, capitalised=capitalised, protected=protected or set(), names=NAMES)
    return [(kind, " ".join(found[a : b + 1])) for kind, a, b in spans]


# --- the finders, on Whisper-like words ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Call 555-0192-34.", [("PHONE", "555-0192-34.")]),
        (
            "call five five five two four five nine eight four one",
            [("PHONE", "five five five two four five nine eight four one")],
        ),  # noqa: E501
        ("My card number is 4192 4285 9110 2231.", [("CARD", "4192 4285 9110 2231.")]),
        ("My account number is 53196370", [("ACCOUNT", "53196370")]),
        ("Send it to john.smith@example.com", [("EMAIL", "john.smith@example.com")]),
        ("my email is tom dot patel at example dot com", [("EMAIL", "tom dot patel at example dot com")]),
        ("Navigate to 12 Baker Street, Springfield.", [("ADDRESS", "12 Baker Street, Springfield.")]),
        ("Remind Peter to buy milk", [("NAME", "Peter")]),
        ("Message uncle Fatima", [("NAME", "Fatima")]),
        ("When is David's birthday?", [("NAME", "David's")]),
        ("Call Maria Gonzalez", [("NAME", "Maria Gonzalez")]),
        ("Set a timer for 25 minutes", []),
        ("What's the weather in London tomorrow?", []),
        ("Wake me up at 7.30", []),
    ],
)
def test_the_finders_find_spoken_personal_data_and_nothing_else(text, expected):
    assert personal(text) == expected


def test_a_catalog_artist_is_never_personal_data():
    assert personal("Play Shake It Off by Taylor Swift") == [("NAME", "Taylor Swift")]  # without the catalog
    assert personal("Play Shake It Off by Taylor Swift", protected={5, 6}) == []


@pytest.mark.django_db
def test_the_catalog_protects_its_names_through_the_screening():
    import_demo_catalog()
    found = ["Play", "Shake", "It", "Off", "by", "Taylor", "Swift", "and", "call", "Maria."]
    assert screening._catalog_words(found) >= {5, 6}
    rows = [{"word": w, "start": i * 0.3, "end": i * 0.3 + 0.25, "probability": 0.9} for i, w in enumerate(found)]
    assessment = screening.assess(clip=Clip(), samples=np.zeros(16000, dtype=np.float32), result={"words": rows})
    assert [(p["type"], p["words"]) for p in assessment.personal_data] == [("NAME", 1)]
    assert assessment.redacted_text == "Play Shake It Off by Taylor Swift and call [NAME]."


def test_masking_keeps_the_placeholder_on_the_span_and_its_punctuation():
    rows = [
        {"word": w, "start": i * 0.5, "end": i * 0.5 + 0.4, "probability": 0.9}
        for i, w in enumerate("Call 555 0192 34, please.".split())
    ]
    text, masked = protect.redact(rows, [("PHONE", 1, 3)])
    assert text == "Call [PHONE], please."
    assert masked[1] == {"word": "[PHONE],", "start": 0.5, "end": 1.9, "probability": 0.9}
    assert [w["word"] for w in masked] == ["Call", "[PHONE],", "please."]


@pytest.mark.parametrize(
    ("text", "likely"),
    [
        ("Help me, he is hurting me!", True),
        ("Somebody call the police.", True),
        ("Get away from me!", True),
        ("Help me find a recipe for pancakes.", False),
        ("Please stop the alarm.", False),
        ("What's the pain au chocolat recipe?", False),
        ("Set a timer for ten minutes.", False),
    ],
)
def test_words_of_danger_pain_or_help_mark_a_clip_likely_distressing(text, likely):
    score, _ = protect.distress_score(text.split(), protected=set())
    assert (score >= 1.0) is likely


def test_a_catalog_song_called_help_is_not_a_call_for_help():
    assert protect.distress_score("play help by the beatles".split(), protected={1})[0] < 1.0


def test_a_scream_is_heard_in_the_audio_and_speech_is_not():
    scream = samples_of("clips/226-distress-scream.ogg")
    command = samples_of("clips/003-gate-command.ogg")
    assert protect.scream_seconds(scream) >= 0.5
    assert protect.scream_seconds(command) == 0.0


@pytest.mark.parametrize(
    ("inputs", "decision"),
    [
        ({"words": [], "speech_share": 0.0}, "purge"),  # noise
        ({"words": ["Set", "a", "timer"], "wake_word_score": 0.7}, "keep"),
        ({"words": ["Set", "a", "timer"], "wake_word_score": 0.2}, "review"),  # a request, barely woken
        ({"words": ["I", "told", "him", "we'd", "be", "late"], "wake_word_score": 0.7}, "purge"),
        ({"words": ["I", "told", "him", "we'd", "be", "late"], "wake_word_score": 0.95}, "review"),
        ({"words": ["I", "told", "him"], "wake_word_score": None}, "review"),  # no score: a human decides
        ({"words": [], "speech_share": 0.0, "distressing": True}, "review"),  # a scream: never purged
        ({"words": ["get", "away", "from", "me"], "wake_word_score": 0.6, "distressing": True}, "review"),
    ],
)
def test_the_gate_keeps_purges_or_asks_a_human(settings, inputs, decision):
    given = {"wake_word_score": 0.9, "no_speech_prob": 0.1, "speech_share": 0.6, **inputs}
    assert protect.gate(**given).decision == decision


def test_the_gate_thresholds_are_settings(settings):
    told = {"words": ["I", "told", "him"], "wake_word_score": 0.7, "no_speech_prob": 0.1, "speech_share": 0.6}
    settings.ANNOTATE_GATE = {**settings.ANNOTATE_GATE, "request_wake": 0.5}
    assert protect.gate(**told).decision == "review"
    settings.ANNOTATE_GATE = {**settings.ANNOTATE_GATE, "enabled": False}
    assert protect.gate(**{**told, "words": [], "speech_share": 0.0}).decision == "keep"


# --- the audio ----------------------------------------------------------------------------------------


def test_the_disguise_moves_the_voice_by_semitones_and_keeps_the_clip_length():
    original = samples_of("clips/003-gate-command.ogg")
    disguised = protect.disguise(original, -5.0)
    assert len(disguised) == len(original)
    moved = 12 * np.log2(protect.median_pitch(original) / protect.median_pitch(disguised))
    assert moved >= 4.0
    assert np.abs(disguised - original).mean() > 0.01


def test_a_bleep_replaces_only_its_stretch_with_a_tone():
    original = samples_of("clips/153-pii-phone.ogg")
    bleeped = protect.bleep(original, [(0.5, 1.0)])
    inside, before = slice(int(0.51 * 16000), int(0.99 * 16000)), slice(0, int(0.49 * 16000))
    assert np.array_equal(bleeped[before], original[before])
    tone = bleeped[inside]
    spectrum = np.abs(np.fft.rfft(tone))
    assert abs(np.argmax(spectrum) * 16000 / len(tone) - 1000) < 5  # the 1 kHz tone, nothing of the voice
    assert not np.allclose(tone, original[inside])


# --- through the Whisper worker -------------------------------------------------------------------------


@pytest.mark.django_db
def test_noise_is_purged_before_anyone_hears_it_and_leads_see_why(reviewer, lead, client):
    queue = make_queue(reviewer)
    clip = transcribe(ingest_set_clip("clips/009-gate-noise.ogg"))
    assert clip.state == Clip.State.PURGED and clip.audio_name == ""
    assert not MachineTranscript.objects.filter(clip=clip).exists()
    assert not AudioVariant.objects.filter(clip=clip).exists()
    screened = Screening.objects.get(clip=clip)
    assert screened.decision == "purge" and screened.reason == "no speech"
    assert set(screened.inputs) >= {"wake_word_score", "no_speech_prob", "speech_share", "addresses_assistant"}
    assert claims.claim_next(user=reviewer, queue=queue) is None  # never served

    client.force_login(lead)
    page = client.get(reverse("lead-screening") + "?decision=purge").content.decode()
    assert clip.public_id in page and "purged unheard" in page.lower() and "no speech" in page


@pytest.mark.django_db
def test_tv_speech_with_a_weak_wake_word_is_purged_unheard():
    clip = transcribe(ingest_set_clip("clips/002-gate-tv.ogg", wake_word_score=0.6))
    assert clip.state == Clip.State.PURGED
    assert Screening.objects.get(clip=clip).decision == "purge"


@pytest.mark.django_db
def test_a_spoken_phone_number_is_bleeped_and_masked_for_a_redacting_queue_only(reviewer, other_reviewer, client):
    redacting = make_queue(reviewer, redact_personal_data=True)
    plain = make_queue(other_reviewer, disguise_voice=False)
    clip = transcribe(ingest_set_clip("clips/153-pii-phone.ogg"))
    assert clip.state == Clip.State.READY
    transcript = MachineTranscript.objects.get(clip=clip)
    assert "[PHONE]" in transcript.redacted_text and "[PHONE]" not in transcript.text
    screened = Screening.objects.get(clip=clip)
    assert [p["type"] for p in screened.personal_data] == ["PHONE"] and screened.decision == "keep"
    kinds = set(AudioVariant.objects.filter(clip=clip).values_list("kind", flat=True))
    assert kinds == {"disguised", "bleeped", "disguised_bleeped"}

    original = vault.load_audio(clip)
    [held] = claims.claim_for_review(user=reviewer, queue_id=redacting.pk)
    payload = review_selectors.task_payload(task=held, user=reviewer)
    assert "[PHONE]" in payload["whisper"]["text"]
    assert any(w["word"].startswith("[PHONE]") for w in payload["whisper"]["words"])
    assert payload["protection"] == {
        "disguised": True,
        "redacted": True,
        "likely_distressing": False,
        "protective_first": False,
    }
    client.force_login(reviewer)
    heard = client.get(payload["audio_url"]).content
    assert heard == screening.load_variant(clip, "disguised_bleeped") and heard != original

    # A queue that bleeps nothing and disguises nothing: the original text and audio.
    [other] = claims.claim_for_review(user=other_reviewer, queue_id=plain.pk)
    other_payload = review_selectors.task_payload(task=other, user=other_reviewer)
    assert "[PHONE]" not in other_payload["whisper"]["text"]
    client.force_login(other_reviewer)
    assert client.get(other_payload["audio_url"]).content == original


@pytest.mark.django_db
def test_a_disguised_queue_never_sends_the_original_even_when_its_version_is_missing(reviewer, client):
    queue = make_queue(reviewer)
    clip = make_clip("set a timer for ten minutes")
    [held] = claims.claim_for_review(user=reviewer, queue_id=queue.pk)
    url = review_selectors.task_payload(task=held, user=reviewer)["audio_url"]
    client.force_login(reviewer)
    assert client.get(url).content == screening.load_variant(clip, "disguised") != vault.load_audio(clip)
    AudioVariant.objects.filter(clip=clip).delete()
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_a_likely_distressing_clip_is_announced_muffled_first_and_routed(reviewer, client, settings):
    ordinary = make_queue(reviewer, name="everything")
    distressing = make_queue(reviewer, name="care", likely_distressing=True)
    clip = transcribe(ingest_set_clip("clips/236-distress-speech.ogg"))  # "somebody call the police"
    screened = Screening.objects.get(clip=clip)
    assert screened.likely_distressing and screened.decision in ("keep", "review")
    assert clip.state == Clip.State.READY  # never purged unheard
    assert not Task.objects.filter(clip=clip, queue=ordinary, state=Task.State.OPEN).exists()
    assert Task.objects.filter(clip=clip, queue=distressing, state=Task.State.OPEN).exists()
    assert AudioVariant.objects.filter(clip=clip, kind="muffled").exists()

    [held] = claims.claim_for_review(user=reviewer, queue_id=distressing.pk)
    payload = review_selectors.task_payload(task=held, user=reviewer)
    assert payload["protection"]["likely_distressing"] and payload["protection"]["protective_first"]
    client.force_login(reviewer)
    muffled = client.get(payload["audio_url"] + "?muffled=1").content
    assert muffled == screening.load_variant(clip, "muffled")
    assert client.get(payload["audio_url"]).content == screening.load_variant(clip, "disguised")


@pytest.mark.django_db
def test_a_likely_distressing_clip_counts_toward_exposure_even_outside_a_distressing_queue(reviewer):
    from annotate.escalation import care
    from annotate.review.services import Submission, submit

    queue = make_queue(reviewer)
    make_clip("somebody call the police, he is hurting me")
    assert Screening.objects.get().likely_distressing
    held = claims.claim_next(user=reviewer, queue=queue)
    said = Submission(corrected_text="somebody call the police", idempotency_key="k1")
    submit(user=reviewer, task_id=held.pk, submission=said)
    assert care.exposure_of(user=reviewer).distressing_today == 1


@pytest.mark.django_db
def test_purge_and_erasure_delete_the_processed_versions_too(reviewer, private_storage):
    from annotate.clips.services import purge_clip

    clip = make_clip("call 555 0192 34")
    names = list(AudioVariant.objects.filter(clip=clip).values_list("audio_name", flat=True))
    assert names and all((private_storage / n).exists() for n in names)
    with TestCase.captureOnCommitCallbacks(execute=True):
        purge_clip(clip=clip, reason="test")
    assert not any((private_storage / n).exists() for n in names)
    assert not AudioVariant.objects.filter(clip=clip).exists()


@pytest.mark.django_db
def test_placeholders_flow_into_exports_with_the_bleeped_audio(reviewer, lead):
    from annotate.leads import exports
    from annotate.leads.models import Export
    from annotate.quality.services import derive_pending
    from annotate.review.models import Annotation
    from annotate.review.services import Submission, submit

    queue = make_queue(reviewer, redact_personal_data=True)
    clip = make_clip("Call 555 0192 34.")
    [held] = claims.claim_for_review(user=reviewer, queue_id=queue.pk)
    assert held.whisper_text == "Call [PHONE]."
    submit(
        user=reviewer, task_id=held.task_id, submission=Submission(corrected_text="call [PHONE]", idempotency_key="k2")
    )
    annotation = Annotation.objects.get()
    assert annotation.whisper_text == "Call [PHONE]." and annotation.wer == 0.0  # scored against what was shown
    derive_pending()
    export = exports.build_export(export_id=Export.objects.create(requested_by=lead, format="jsonl").pk)
    export.refresh_from_db()
    archive = zipfile.ZipFile(io.BytesIO(b"".join(exports.read_archive(export))))
    record = json.loads(archive.read("transcripts.jsonl"))
    assert record["text"] == "call [PHONE]"
    assert archive.read(record["audio_filepath"]) == screening.load_variant(clip, "bleeped") != vault.load_audio(clip)
