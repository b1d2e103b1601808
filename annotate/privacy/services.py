"""Opt-out, erasure and retention: every copy of a person's recording, found and erased.

One service behind every door (the token API, `manage.py privacy_request`, an
upload marked opted out). For an account it records the opt-out (its keyed hash,
so later clips are dropped at ingest), then erases each of its clips with all
that was derived from it: audio, waveform peaks, Whisper's and the reviewers'
transcripts, spans, grades, final texts, gold uses, second opinions, the sealed
identity, the clip's rows in stored exports, and escalation cases that no longer
hold it. A clip an escalation case holds is kept and listed on the receipt as
deferred, with when the hold ends; the worker's sweeper erases it then
(`complete_deferred`, also run by the daily `purge_expired`).

Retention (`purge_expired`) and an accidental recording purge a clip instead: its
bare row stays (numbers for the quality reports), everything else above goes
(`purge_derived`, wired to clips.services.purge_clip).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from annotate.audit import services as audit
from annotate.catalog.models import EntitySpan
from annotate.clips import crypto, screening, vault
from annotate.clips.models import Clip, MachineTranscript, OptOut, SealedIdentity
from annotate.clips.services import lock_account
from annotate.escalation import selectors as escalation
from annotate.escalation.services import delete_released_cases
from annotate.leads import exports
from annotate.leads.models import SecondOpinion
from annotate.privacy.models import ERASED_KEYS, DeferredClip, PrivacyRequest
from annotate.quality.models import FinalTranscript
from annotate.queues.models import GoldClip, Task
from annotate.review.models import Annotation

log = logging.getLogger(__name__)

MAX_ACCOUNT_ID = 200


class PrivacyError(ValueError):
    """A request that cannot be taken as sent; the message says why."""


def account_hash_for(account_id: Any) -> str:
    """The keyed hash of an account id, after checking it. Raises PrivacyError."""
    if not isinstance(account_id, str) or not account_id.strip():
        raise PrivacyError("account_id is required: the account's id in the upstream pipeline, as a string")
    if len(account_id.strip()) > MAX_ACCOUNT_ID:
        raise PrivacyError(f"account_id is longer than {MAX_ACCOUNT_ID} characters")
    return crypto.lookup_hash(account_id)


def submit(
    *, kind: str, account_id: Any, source: str, actor=None, ip: str | None = None
) -> tuple[PrivacyRequest, bool]:
    """Opt an account out, or erase it (kind PrivacyRequest.Kind). Returns (request, created).

    Idempotent: the same kind for the same account returns the first request,
    after erasing anything still left (nothing, unless a hold ended).
    """
    if kind not in PrivacyRequest.Kind.values:
        raise PrivacyError(f"unknown request kind {kind!r}")
    return submit_for_hash(kind=kind, account_hash=account_hash_for(account_id), source=source, actor=actor, ip=ip)


@transaction.atomic
def submit_for_hash(
    *, kind: str, account_hash: str, source: str, actor=None, ip: str | None = None
) -> tuple[PrivacyRequest, bool]:
    # Lock order: the account (ingest, the sweeper and a repeated request take it too), its clips,
    # then request rows. An ingest of this account in flight commits first, or sees the opt-out.
    lock_account(account_hash)
    OptOut.objects.get_or_create(account_hash=account_hash)
    request, created = PrivacyRequest.objects.get_or_create(
        kind=kind,
        account_hash=account_hash,
        defaults={"source": source, "requested_by": actor if getattr(actor, "is_authenticated", False) else None},
    )
    clip_ids = list(SealedIdentity.objects.filter(account_hash=account_hash).values_list("clip_id", flat=True))
    counts = _erase_or_defer(request, clip_ids)
    _settle(request, counts)
    audit.record(
        action=f"privacy.{kind}" if created else f"privacy.{kind}.repeated",
        actor=actor,
        target=f"privacy:{request.public_id}",
        ip=ip,
        details={"source": source, "erased": _nonzero(counts), "deferred": _pending(request).count()},
    )
    log.info("privacy request %s (%s): erased %s", request.public_id, kind, _nonzero(counts))
    return request, created


def opt_out_from_ingest(*, account_hash: str) -> None:
    """Wired to ingest: an upload marked opted out is the subject's opt-out request."""
    submit_for_hash(kind=PrivacyRequest.Kind.OPT_OUT, account_hash=account_hash, source=PrivacyRequest.Source.INGEST)


def _pending(request: PrivacyRequest):
    return request.deferred.filter(erased_at__isnull=True)


def _nonzero(counts: Counter) -> dict[str, int]:
    return {key: counts[key] for key in ERASED_KEYS if counts.get(key)}


def _settle(request: PrivacyRequest, counts: Counter) -> None:
    """Add what was erased to the request's counts; done once nothing is deferred."""
    erased = Counter({key: int(value) for key, value in (request.erased or {}).items()})
    erased.update(counts)
    request.erased = {key: erased[key] for key in ERASED_KEYS}
    waiting = _pending(request).exists()
    request.state = PrivacyRequest.State.DEFERRED if waiting else PrivacyRequest.State.DONE
    if not waiting and request.completed_at is None:
        request.completed_at = timezone.now()
    request.save(update_fields=["erased", "state", "completed_at"])


def _erase_or_defer(request: PrivacyRequest, clip_ids: Collection[int]) -> Counter:
    """Erase the clips no case holds; record the held ones as deferred. In the caller's transaction."""
    now = timezone.now()
    erasable: list[int] = []
    for clip_id, public_id in _lock_for_erasure(clip_ids):
        ends = escalation.hold_ends(clip_id, now=now)
        if ends is None:
            erasable.append(clip_id)
            continue
        DeferredClip.objects.update_or_create(
            request=request,
            clip_public_id=public_id,
            defaults={"clip_id": clip_id, "held_until": None if ends == escalation.OPEN_HOLD else ends},
        )
    return erase_clips(erasable, now=now)


def _lock_for_erasure(clip_ids: Collection[int]) -> list[tuple[int, str]]:
    """Lock order step 1, for clips about to be deleted: their rows FOR UPDATE, in pk order, before
    anything else is written. Stronger than lock_clip: it also stops rows that point at a clip (a
    second opinion, a flag) from being inserted until this transaction ends, so none can slip in
    between listing what hangs off the clips and deleting them. A flag in flight commits its case
    first (and the clip is then held), or waits. Returns (pk, public id) of the clips that exist."""
    return list(
        Clip.objects.select_for_update().filter(pk__in=list(clip_ids)).order_by("pk").values_list("pk", "public_id")
    )


def erase_clips(clip_ids: Collection[int], *, now=None) -> Counter:
    """Delete these clips and everything derived from them. The caller has locked them
    (_lock_for_erasure) and checked that no case holds them.

    In the caller's transaction; stored files (audio, rebuilt exports, evidence of
    closed cases) are deleted once it commits. Returns counts by ERASED_KEYS.
    """
    counts: Counter = Counter()
    ids = list(clip_ids)
    if not ids:
        return counts
    now = now or timezone.now()
    clips = Clip.objects.filter(pk__in=ids)
    annotations = Annotation.objects.filter(clip_id__in=ids)
    audio_names = [name for name in clips.values_list("audio_name", flat=True) if name]
    public_ids = list(clips.values_list("public_id", flat=True))
    counts["clips"] = len(public_ids)
    counts["audio_files"] = len(audio_names)
    audio_names += screening.variant_names(ids)  # their disguised, bleeped, muffled versions go too
    counts["waveform_peaks"] = clips.exclude(peaks=[]).count()
    counts["machine_transcripts"] = MachineTranscript.objects.filter(clip_id__in=ids).count()
    counts["reviewer_transcripts"] = annotations.exclude(corrected_text="").count()
    counts["grades"] = annotations.exclude(answer_grade="").count()
    counts["entity_spans"] = EntitySpan.objects.filter(
        Q(annotation__clip_id__in=ids) | Q(transcript__clip_id__in=ids)
    ).count()
    counts["final_transcripts"] = FinalTranscript.objects.filter(clip_id__in=ids).count()
    counts["gold_uses"] = GoldClip.objects.filter(clip_id__in=ids).count()
    counts["second_opinions"] = SecondOpinion.objects.filter(clip_id__in=ids).count()
    counts["sealed_identities"] = SealedIdentity.objects.filter(clip_id__in=ids).count()
    counts["tasks"] = Task.objects.filter(clip_id__in=ids).count()
    withdrawn = exports.withdraw_clips(ids, reason="erasure")
    counts["export_rows"] = withdrawn.get("export_rows", 0)
    counts["exports_changed"] = withdrawn.get("exports", 0)  # rebuilt without them, or emptied
    counts["closed_cases"] = delete_released_cases(clip_ids=ids, now=now)
    # Deferrals of these clips (by any request) are done now.
    settled = list(
        DeferredClip.objects.filter(clip_id__in=ids, erased_at__isnull=True).values_list("request_id", flat=True)
    )
    DeferredClip.objects.filter(clip_id__in=ids, erased_at__isnull=True).update(erased_at=now)
    clips.delete()  # cascades: transcripts, identity, tasks, annotations, spans, finals, gold, opinions
    for public_id in public_ids:
        audit.record(action="privacy.clip_erased", clip_public_id=public_id)
    vault.delete_after_commit(*audio_names)
    for request in PrivacyRequest.objects.filter(pk__in=set(settled)).select_for_update():
        _settle(request, Counter())
    return counts


def complete_deferred(*, now=None) -> int:
    """Erase deferred clips whose hold has ended; returns how many. The sweeper and purge_expired call it."""
    now = now or timezone.now()
    done = 0
    waiting = DeferredClip.objects.filter(erased_at__isnull=True).order_by("pk")
    for deferral in list(waiting.values("pk", "clip_id", "request_id", "request__account_hash")[:500]):
        with transaction.atomic():
            lock_account(deferral["request__account_hash"])  # the lock order of submit_for_hash
            locked = _lock_for_erasure([deferral["clip_id"]] if deferral["clip_id"] else [])
            row = DeferredClip.objects.select_for_update().get(pk=deferral["pk"])
            request = PrivacyRequest.objects.select_for_update().get(pk=deferral["request_id"])
            if row.erased_at is not None:
                continue
            if not locked:  # erased meanwhile (retention can not: a held clip is never purged)
                row.erased_at = now
                row.save(update_fields=["erased_at"])
                _settle(request, Counter())
                continue
            clip_id = locked[0][0]
            ends = escalation.hold_ends(clip_id, now=now)
            if ends is not None:
                held_until = None if ends == escalation.OPEN_HOLD else ends
                if row.held_until != held_until:  # a new referral moved the end
                    row.held_until = held_until
                    row.save(update_fields=["held_until"])
                continue
            counts = erase_clips([clip_id], now=now)
            _settle(request, counts)
            audit.record(
                action="privacy.deferred_erased",
                target=f"privacy:{request.public_id}",
                clip_public_id=row.clip_public_id,
                details={"erased": _nonzero(counts)},
            )
            done += 1
    return done


# --- retention and accidental recordings --------------------------------------------------------


def purge_derived(*, clip: Clip, reason: str) -> Counter:
    """Wired to clips.services.purge_clip (in its transaction, the clip's row locked, no case holding
    it): everything other apps derived from the clip goes; the annotations keep only numbers (time
    spent, WER, grade), the sealed identity only the account's keyed hash."""
    counts: Counter = Counter()
    annotations = Annotation.objects.filter(clip=clip)
    counts["entity_spans"] = EntitySpan.objects.filter(annotation__clip=clip).delete()[0]
    counts["reviewer_transcripts"] = annotations.exclude(corrected_text="", whisper_text="").update(
        corrected_text="", whisper_text=""
    )
    counts["final_transcripts"] = FinalTranscript.objects.filter(clip=clip).delete()[0]
    counts["gold_uses"] = GoldClip.objects.filter(clip=clip).delete()[0]
    counts["second_opinions"] = SecondOpinion.objects.filter(clip=clip).delete()[0]
    counts["tasks"] = (
        Task.objects.filter(clip=clip)
        .exclude(state__in=[Task.State.DONE, Task.State.WITHDRAWN])
        .update(state=Task.State.WITHDRAWN, lease_expires_at=None)
    )
    withdrawn = exports.withdraw_clips([clip.pk], reason=reason)
    counts["export_rows"] = withdrawn.get("export_rows", 0)
    # Cases that no longer hold it (purge_clip refused a held clip): flags with the reviewer's draft,
    # the timeline's notes, evidence packages.
    counts["closed_cases"] = delete_released_cases(clip_ids=[clip.pk])
    # The sealed identity keeps only its keyed hash, so that an erasure of the account still finds
    # (and deletes) the bare row.
    counts["sealed_identities"] = (
        SealedIdentity.objects.filter(clip=clip).exclude(key_id="").update(ciphertext=b"", key_id="")
    )
    return counts
