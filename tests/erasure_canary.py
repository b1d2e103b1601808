"""Canaries for the erasure proof (issue 12): one account's recordings planted in every place a
clip leaves a trace, and scanners that look for them in a full database dump, the storage
folder (decrypting what the product encrypts) and every Redis key.

Used by tests/topology/test_erasure.py, in the stack's `manage.py shell` (plant_work, scan_storage)
and in the test process (scan_dump, scan_redis). Nothing here is mocked: the planting goes
through the services a reviewer, a lead and an officer use.
"""

from __future__ import annotations

import hashlib
import io
import re
import subprocess
import zipfile
import zlib
from pathlib import Path
from typing import Any

ACCOUNT_ID = "ACCT-ERASE-CANARY-4242"
FIRST_NAME = "Quillonia"
DEVICE_SERIAL = "SERIAL-ERASE-CANARY-77"
IDENTITY = (ACCOUNT_ID, FIRST_NAME, DEVICE_SERIAL)

# clip label -> where it goes: O is another account's clip, exported beside the canaries.
CLIPS = ("overlap", "single", "held", "other")
ACCOUNT_CLIPS = ("overlap", "single", "held")


def token(clip: str, place: str) -> str:
    """A word that occurs nowhere else: what `place` of `clip` says."""
    return f"zq{clip}{place}zq"


PLACES = ("heard", "response", "whisper", "reviewer", "span", "gold", "question", "answer", "flagnote")


def tokens(clip: str) -> list[str]:
    return [token(clip, place) for place in PLACES]


def manifest(clip: str, *, captured_at: str) -> dict[str, Any]:
    account = ACCOUNT_ID if clip in ACCOUNT_CLIPS else "ACCT-SOMEONE-ELSE-1"
    return {
        "captured_at": captured_at,
        "locale": "en-US",
        "device_type": "speaker",
        "heard": f"play {token(clip, 'heard')} please",
        "response": f"playing {token(clip, 'response')}",
        "intent": "PlayMusic",
        "account_id": account,
        "first_name": FIRST_NAME if clip in ACCOUNT_CLIPS else "Sam",
        "device_serial": DEVICE_SERIAL if clip in ACCOUNT_CLIPS else "G090-OTHER",
    }


def canary_wav(clip: str) -> bytes:
    """Two seconds of a chord of its own for each clip: the 'canary audio'."""
    from pydub.generators import Sine

    n = CLIPS.index(clip)
    tone = Sine(311 + 97 * n).to_audio_segment(duration=2000, volume=-12)
    tone = tone.overlay(Sine(523 + 61 * n).to_audio_segment(duration=2000, volume=-14))
    buf = io.BytesIO()
    tone.set_frame_rate(16000).set_channels(1).set_sample_width(2).export(buf, format="wav")
    return buf.getvalue()


def reviewer_text(clip: str) -> str:
    return f"play {token(clip, 'span')} by {token(clip, 'reviewer')} please"


# --- planting (in the stack's Django process) ---------------------------------------------------


def plant_work(*, public_ids: dict[str, str], reviewers: list[int], lead: int, queue: int) -> dict[str, Any]:
    """Whisper's transcripts, two reviews of each clip (overlap) with a span, a gold use, a second
    opinion with its answer, and a danger-now flag on the held clip. Returns the audio fingerprints."""
    from django.contrib.auth.models import User

    from annotate.catalog.models import EntityKind
    from annotate.clips import vault
    from annotate.clips.models import Clip, MachineTranscript
    from annotate.escalation import services as escalation
    from annotate.leads import services as leads
    from annotate.queues import claims
    from annotate.queues.models import Queue
    from annotate.review import services as review

    by_id = {pid: label for label, pid in public_ids.items()}
    for label, pid in public_ids.items():
        clip = Clip.objects.get(public_id=pid)
        text = f"play {token(label, 'whisper')} please"
        words = [
            {"word": w, "start": i * 0.3, "end": i * 0.3 + 0.25, "probability": 0.9} for i, w in enumerate(text.split())
        ]
        MachineTranscript.objects.update_or_create(
            clip=clip, model_name="tiny.en", defaults={"text": text, "words": words, "language": "en"}
        )
        Clip.objects.filter(pk=clip.pk).update(state=Clip.State.READY)
    kind = EntityKind.objects.order_by("position").first()
    queue_obj = Queue.objects.get(pk=queue)
    first_tasks: dict[str, int] = {}
    for n, user_id in enumerate(reviewers):
        user = User.objects.get(pk=user_id)
        while True:
            task = claims.claim_next(user=user, queue=queue_obj)
            if task is None:
                break
            label = by_id[task.clip.public_id]
            if label == "held":
                escalation.flag_clip(
                    user=user,
                    flag=escalation.FlagInput(
                        task_id=task.pk,
                        category="danger_now",
                        note=f"I heard {token(label, 'flagnote')}",
                        draft={"corrected_text": reviewer_text(label)},
                    ),
                )
                continue
            text = reviewer_text(label)
            span_text = token(label, "span")
            start = text.index(span_text)
            spans = [{"start": start, "end": start + len(span_text), "text": span_text, "kind": kind.slug,
                      "not_in_catalog_name": span_text}]  # fmt: skip
            review.submit(
                user=user,
                task_id=task.pk,
                submission=review.Submission(
                    idempotency_key=f"canary-{label}-{n}",
                    corrected_text=text,
                    answer_grade="right",
                    seconds_spent=4.0,
                    spans=tuple(review.wiring.call("parse_submitted_spans", raw=spans)),
                ),
            )
            first_tasks.setdefault(label, task.pk)
    lead_user = User.objects.get(pk=lead)
    overlap = Clip.objects.get(public_id=public_ids["overlap"])
    leads.add_gold(queue=queue_obj, clip=overlap, reference_text=f"play {token('overlap', 'gold')}", lead=lead_user)
    opinion = leads.ask(
        user=User.objects.get(pk=reviewers[0]),
        task_id=first_tasks["overlap"],
        question=f"is it {token('overlap', 'question')}?",
    )
    leads.answer(opinion=opinion, lead=lead_user, text=f"yes, {token('overlap', 'answer')}")
    fingerprints = {}
    for label, pid in public_ids.items():
        clip = Clip.objects.get(public_id=pid)
        fingerprints[label] = hashlib.sha256(vault.load_audio(clip)).hexdigest()
    return {"audio_sha256": fingerprints}


# --- scanning -----------------------------------------------------------------------------------


def _found(data: bytes, needles: list[str]) -> list[str]:
    lowered = data.lower()
    return [n for n in needles if n.lower().encode() in lowered]


def scan_storage(*, root: str, needles: list[str], audio_sha256: dict[str, str]) -> list[str]:
    """Every file under the storage root: its bytes, and what the product's keys decrypt of it
    (clip audio, export archives and their members). Returns "where: what" findings."""
    from annotate.clips import crypto

    wanted = {sha: label for label, sha in audio_sha256.items()}
    findings: list[str] = []

    def look(where: str, data: bytes) -> None:
        findings.extend(f"{where}: {n}" for n in _found(data, needles))
        sha = hashlib.sha256(data).hexdigest()
        if sha in wanted:
            findings.append(f"{where}: audio of {wanted[sha]}")

    for path in sorted(Path(root).rglob("*")):
        if not path.is_file():
            continue
        rel = str(path.relative_to(root))
        data = path.read_bytes()
        look(rel, data)
        audio = re.fullmatch(r"audio/\w+/(c_[0-9a-f]+)\.bin", rel)
        if audio:
            look(f"{rel} (decrypted)", crypto.decrypt(data, ring=crypto.data_ring(), context=f"audio:{audio[1]}"))
        export = re.fullmatch(r"exports/export-(\d+)-[0-9a-f]+\.zip\.sealed", rel)
        if export:
            with path.open("rb") as fh:
                plain = b"".join(crypto.decrypt_stream(fh, ring=crypto.data_ring(), context=f"export:{export[1]}"))
            look(f"{rel} (decrypted)", plain)
            with zipfile.ZipFile(io.BytesIO(plain)) as archive:
                for member in archive.namelist():
                    look(f"{rel}!{member}", archive.read(member))
    return findings


def scan_dump(*, database_url: str, needles: list[str], account_hash: str, hash_allowed: set[str]) -> list[str]:
    """A full `pg_dump` of the database (data and schema, every table): where each needle occurs,
    and every table that holds the account's keyed hash outside `hash_allowed`."""
    dump = subprocess.run(["pg_dump", "--no-owner", database_url], capture_output=True, check=True).stdout
    findings: list[str] = []
    table = "(schema)"
    for line in dump.splitlines():
        if line.startswith(b"COPY "):
            table = line.split()[1].decode()
            continue
        for n in _found(line, needles):
            findings.append(f"{table}: {n}")
        if account_hash.encode() in line and table not in hash_allowed:
            findings.append(f"{table}: the account's keyed hash")
    return findings


def scan_redis(client, needles: list[str]) -> list[str]:
    """Every key of the Redis database and its value (RQ's job payloads decompressed)."""
    findings: list[str] = []

    def look(key: bytes, data: bytes) -> None:
        for blob in (data, _inflate(data)):
            findings.extend(f"redis {key.decode(errors='replace')}: {n}" for n in _found(blob, needles))

    for key in client.scan_iter(count=500):
        look(b"(key)", key)
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key) or b""]
        elif kind == b"hash":
            values = [v for pair in client.hgetall(key).items() for v in pair]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = client.zrange(key, 0, -1)
        elif kind == b"stream":
            values = [v for _, fields in client.xrange(key) for pair in fields.items() for v in pair]
        else:
            values = []
        for value in values:
            look(key, value)
    return findings


def _inflate(data: bytes) -> bytes:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return b""
