"""Building data quickly, as the services leave it: transcribed clips and queues,
catalogs, held tasks, flags and cases.

Ingest and Whisper have their own tests; review tests start from clips in the
state those services produce (encrypted audio stored, a machine transcript, a
task per matching queue), without running Whisper for each.
"""

from __future__ import annotations

import hashlib
import io
import itertools
from pathlib import Path

from pydub.generators import Sine

from annotate.catalog import importer
from annotate.catalog import services as catalog_services
from annotate.clips import audio, screening, vault
from annotate.clips.models import Clip, MachineTranscript, SealedIdentity
from annotate.escalation import services as escalation_services
from annotate.escalation.models import Case, Flag
from annotate.quality import services as quality_services
from annotate.queues import claims
from annotate.queues.models import Queue, Task
from annotate.queues.services import sample_clip
from annotate.review.services import Submission, submit
from tests.support import CANARY

DEMO_CATALOG = Path(__file__).resolve().parent.parent / "demo" / "catalog.jsonl"

_counter = itertools.count(1)


def make_queue(*members, name: str | None = None, **fields) -> Queue:
    queue = Queue.objects.create(name=name or f"queue {next(_counter)}", **fields)
    queue.members.add(*members)
    return queue


def tone_wav(seconds: float = 1.0, freq: int = 440) -> bytes:
    segment = Sine(freq).to_audio_segment(duration=int(seconds * 1000)).set_frame_rate(16000).set_channels(1)
    buf = io.BytesIO()
    segment.set_sample_width(2).export(buf, format="wav")
    return buf.getvalue()


def make_clip(text: str = "set a timer for ten minutes", *, with_audio: bool = True, **fields) -> Clip:
    """A transcribed clip, sampled into the matching queues."""
    n = next(_counter)
    clip = Clip(
        content_sha256=hashlib.sha256(f"clip {n}".encode()).hexdigest(),
        duration_ms=1000,
        peaks=[0.5] * 50,
        locale=fields.pop("locale", "en-US"),
        device_type=fields.pop("device_type", "speaker"),
        heard=fields.pop("heard", text),
        response=fields.pop("response", "OK"),
        intent=fields.pop("intent", "SetTimer"),
        state=Clip.State.READY,
        **fields,
    )
    if with_audio:
        wav = audio.decode(tone_wav(1.0, 300 + n)).segment
        clip.audio_name, clip.audio_key_id = vault.store_audio(public_id=clip.public_id, wav=audio.to_wav_bytes(wav))
    clip.save()
    SealedIdentity.objects.create(clip=clip, account_hash="x" * 64, key_id="k", ciphertext=b"sealed")
    words = [
        {"word": w, "start": i * 0.2, "end": i * 0.2 + 0.18, "probability": 0.9} for i, w in enumerate(text.split())
    ]
    transcript = MachineTranscript.objects.create(
        clip=clip, model_name="tiny.en", language="en", text=text, words=words
    )
    if with_audio:  # what the Whisper worker leaves: the screening and the protected audio
        samples = audio.wav_to_float32(vault.load_audio(clip))
        assessment = screening.assess(clip=clip, samples=samples, result={"words": words}, run_gate=False)
        screening.keep(
            clip=clip, assessment=assessment, stored=screening.store_variants(clip=clip, assessment=assessment)
        )
        masked = ("redacted_text", "redacted_words", "redacted_heard", "redacted_response")
        for name in masked:
            setattr(transcript, name, getattr(assessment, name))
        transcript.save(update_fields=masked)
    sample_clip(clip=clip)
    return clip


# --- the entity catalog ------------------------------------------------------------------------


def import_entities(*rows: dict):
    """A small catalog of the given rows ({"kind": ..., "name": ..., ...}), through the real import."""
    return catalog_services.import_catalog(rows=importer.read_dicts(list(rows)))


def import_demo_catalog(limit: int = 1200):
    """The demo catalog's first `limit` entries: every real name and a few hundred made-up ones."""
    report = catalog_services.import_catalog(rows=itertools.islice(importer.read_file(DEMO_CATALOG), limit))
    assert not report.bad
    return report


# --- flags and cases ---------------------------------------------------------------------------

S = Case.State
# The legal path from a new case to each state.
CASE_PATH = {
    S.NEW: [],
    S.ACKNOWLEDGED: [S.ACKNOWLEDGED],
    S.INVESTIGATING: [S.ACKNOWLEDGED, S.INVESTIGATING],
    S.REFERRED: [S.ACKNOWLEDGED, S.INVESTIGATING, S.REFERRED],
    S.WELFARE_CONTACT: [S.ACKNOWLEDGED, S.INVESTIGATING, S.WELFARE_CONTACT],
    S.NO_ACTION: [S.ACKNOWLEDGED, S.INVESTIGATING, S.NO_ACTION],
    S.FALSE_ALARM: [S.ACKNOWLEDGED, S.INVESTIGATING, S.FALSE_ALARM],
    S.CLOSED: [S.ACKNOWLEDGED, S.INVESTIGATING, S.NO_ACTION, S.CLOSED],
}


def seal_canary(clip: Clip) -> None:
    """Give the clip a real sealed identity: the canary's (make_clip stores a dummy)."""
    SealedIdentity.objects.filter(clip=clip).delete()
    vault.seal_identity(
        clip=clip,
        identity=vault.Identity(CANARY.account_id, CANARY.first_name, CANARY.device_serial),
        account_hash="c" * 64,
    )


def reviewed(user, queue, text: str = "", **fields):
    """The reviewer claims the next clip of the queue and submits `text` (Submission fields as keywords),
    and the worker derives what follows (derived()). Returns (task, annotation)."""
    task = claims.claim_next(user=user, queue=queue)
    assert task is not None, f"{user} got no clip"
    fields.setdefault("idempotency_key", f"k{next(_counter)}")
    annotation, _ = submit(user=user, task_id=task.pk, submission=Submission(corrected_text=text, **fields))
    derived()
    return task, annotation


def derived() -> int:
    """What the `default` worker does after a submit: derive the quality figures, final transcripts and
    dashboard of every annotation not derived yet (the annotation outbox)."""
    return quality_services.derive_pending()


def held_clip(reviewer, queue, text: str = "help me please", *, with_audio: bool = True) -> Task:
    """A new clip with the canary identity, claimed by the reviewer."""
    clip = make_clip(text, with_audio=with_audio)
    seal_canary(clip)
    task = Task.objects.get(queue=queue, clip=clip)
    claimed = claims.claim_next(user=reviewer, queue=queue)
    assert claimed.pk == task.pk, "the fixture's clip should be the next one in the queue"
    return claimed


def flag_task(reviewer, task: Task, category: str = "danger_now", **fields) -> Flag:
    return escalation_services.flag_clip(
        user=reviewer, flag=escalation_services.FlagInput(task_id=task.pk, category=category, **fields)
    )


def move(case: Case, to: str, officer) -> Case:
    extra = {"referred_to": "police", "reference": "POL-2026-0042"} if to == S.REFERRED else {}
    return escalation_services.transition(case_id=case.pk, actor=officer, to_state=to, note=f"moving to {to}", **extra)


def case_in(state: str, *, reviewer, officer, queue, with_audio: bool = False) -> Case:
    """A case brought to `state` along the legal path."""
    case = flag_task(reviewer, held_clip(reviewer, queue, with_audio=with_audio)).case
    for step in CASE_PATH[state]:
        case = move(case, step, officer)
    return case
