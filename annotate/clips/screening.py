"""Screening a transcribed clip before any human hears it, and the protected audio it leaves.

The Whisper worker (annotate.clips.asr) calls `assess` on each clip it transcribed, outside
any transaction (the audio work), then `keep` inside the transaction that stores the
transcript. `assess` decides (the gate), finds personal data and distress
(annotate.clips.protect) and makes the audio variants a reviewer may hear; `keep` stores
them, encrypted like the original. A clip the gate purges is never stored as transcribed.

Which variant a reviewer hears is chosen by their queue (`variant_for`, played by
annotate.clips.playback.play_protected): a queue that disguises voices or bleeps personal
data never sends the original.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.utils.translation import gettext_noop

from annotate import wiring
from annotate.clips import protect, vault
from annotate.clips.models import AudioVariant, Clip, Screening
from annotate.clips.names import NAMES

log = logging.getLogger(__name__)
Kind = AudioVariant.Kind
PLACEHOLDER = re.compile(r"\[(PHONE|EMAIL|ADDRESS|CARD|ACCOUNT|NAME)\]")  # as protect.redact writes them


@dataclass
class Assessment:
    gate: protect.Gate
    distress: protect.Distress
    personal_data: list[dict]  # [{type, start, end}] in seconds
    redacted_text: str | None  # None: nothing to mask
    redacted_words: list[dict] | None
    semitones: float
    variants: dict[str, bytes] = field(default_factory=dict)  # kind -> WAV
    redacted_heard: str | None = None  # what the assistant heard, masked; None: nothing to mask
    redacted_response: str | None = None  # its answer, masked

    @property
    def purge(self) -> bool:
        return self.gate.decision == protect.PURGE


def _catalog_words(words: list[str]) -> set[int]:
    """Indexes of the words inside catalog entities (the wired catalog matcher)."""
    text, starts = "", []
    for w in words:
        starts.append(len(text) + (1 if text else 0))
        text = f"{text} {w}" if text else w
    protected: set[int] = set()
    try:
        spans = wiring.call("catalog_spans_in_text", text=text)
    except Exception:  # the catalog is a help here, never a reason to fail a clip
        log.warning("catalog look-up failed while screening; no words protected", exc_info=True)
        return protected
    for span in spans:
        for i, s in enumerate(starts):
            if s < span["end"] and s + len(words[i]) > span["start"]:
                protected.add(i)
    return protected


def _personal(words: list[str], protected: set[int]) -> list[tuple[str, int, int]]:
    capitalised = [w.strip()[:1].isupper() for w in words]
    return protect.find_personal_data(words, capitalised=capitalised, protected=protected, names=NAMES)


def assess(*, clip: Clip, samples: np.ndarray, result: dict, run_gate: bool = True) -> Assessment:
    """Decide about a transcribed clip and make the audio a reviewer may hear (no database writes)."""
    rows = result.get("words") or []
    words = [w["word"] for w in rows]
    duration = len(samples) / protect.RATE or 1.0
    speech = protect.speech_seconds(samples) if len(samples) else 0.0
    protected = _catalog_words(words) if words else set()
    found = _personal(words, protected)
    # What the assistant heard (the device's transcript) names the same data, often more plainly
    # than Whisper: found there, it is moved onto Whisper's words (which have times) and masked in it.
    heard, response = clip.heard.split(), clip.response.split()
    in_heard = _personal(heard, _catalog_words(heard)) if heard else []
    in_response = _personal(response, _catalog_words(response)) if response else []
    found = protect.merge(found, protect.project(heard, in_heard, words)) if words else []
    distress = protect.distress(words, samples, protected=protected)
    if run_gate:
        decided = protect.gate(
            wake_word_score=clip.wake_word_score,
            no_speech_prob=float(result.get("no_speech_prob", 0.0)),
            speech_share=min(1.0, speech / duration),
            words=words,
            heard=clip.heard,
            distressing=distress.likely,
        )
    else:
        decided = protect.Gate(protect.KEEP, gettext_noop("not screened (added directly)"), {})
    personal = [
        {"type": kind, "start": rows[a]["start"], "end": rows[b]["end"], "words": b - a + 1} for kind, a, b in found
    ]
    redacted_text, redacted_words = protect.redact(rows, found) if found else (None, None)
    semitones = settings.ANNOTATE_DISGUISE_SEMITONES
    assessment = Assessment(decided, distress, personal, redacted_text, redacted_words, semitones)
    assessment.redacted_heard = protect.mask(clip.heard, in_heard) if in_heard else None
    assessment.redacted_response = protect.mask(clip.response, in_response) if in_response else None
    if assessment.purge or not len(samples):
        return assessment
    stretches = [(p["start"] - 0.05, p["end"] + 0.05) for p in personal]
    disguised = protect.disguise(samples, semitones, settings.ANNOTATE_DISGUISE_FORMANT_SEMITONES)
    variants = {Kind.DISGUISED: disguised}
    if stretches:
        variants[Kind.BLEEPED] = protect.bleep(samples, stretches)
        variants[Kind.DISGUISED_BLEEPED] = protect.bleep(disguised, stretches)
    assessment.variants = {kind: protect.to_wav(audio) for kind, audio in variants.items()}
    if decided.decision == protect.REVIEW or distress.likely:
        safest = assessment.variants.get(Kind.DISGUISED_BLEEPED, assessment.variants[Kind.DISGUISED])
        assessment.variants[Kind.MUFFLED] = protect.muffle(safest)
    return assessment


def store_variants(*, clip: Clip, assessment: Assessment) -> list[tuple[str, str, str]]:
    """Encrypt and store the variants' audio (before the transaction): [(kind, name, key id)]."""
    return [
        (kind, *vault.store_variant(public_id=clip.public_id, kind=kind, wav=wav))
        for kind, wav in assessment.variants.items()
    ]


def keep(*, clip: Clip, assessment: Assessment, stored: list[tuple[str, str, str]]) -> Screening:
    """Record the screening and the stored variants (inside the caller's transaction)."""
    old = list(AudioVariant.objects.filter(clip=clip).values_list("audio_name", flat=True))
    AudioVariant.objects.filter(clip=clip).delete()
    vault.delete_after_commit(*old)
    AudioVariant.objects.bulk_create(
        AudioVariant(clip=clip, kind=kind, audio_name=name, audio_key_id=key_id) for kind, name, key_id in stored
    )
    screening, _ = Screening.objects.update_or_create(
        clip=clip,
        defaults={
            "decision": assessment.gate.decision,
            "reason": assessment.gate.reason,
            "inputs": assessment.gate.inputs,
            "likely_distressing": assessment.distress.likely,
            "distress": {
                "text_score": assessment.distress.text_score,
                "cues": len(assessment.distress.cues),
                "scream_seconds": assessment.distress.scream_seconds,
            },
            "personal_data": [{k: p[k] for k in ("type", "start", "end")} for p in assessment.personal_data],
            "disguise_semitones": assessment.semitones,
        },
    )
    return screening


def load_variant(clip: Clip, kind: str) -> bytes | None:
    variant = AudioVariant.objects.filter(clip=clip, kind=kind).first()
    if variant is None:
        return None
    return vault.load_variant(public_id=clip.public_id, kind=kind, name=variant.audio_name)


def variant_for(*, screening: Screening | None, disguise: bool, redact: bool, muffled: bool) -> str | None:
    """Which stored version a reviewer hears: None is the original (a clip never screened, or a
    queue that asks for no protection)."""
    if screening is None:
        return None
    if muffled and screening.protective_first:
        return Kind.MUFFLED
    bleeped = redact and bool(screening.personal_data)
    if disguise:
        return Kind.DISGUISED_BLEEPED if bleeped else Kind.DISGUISED
    return Kind.BLEEPED if bleeped else None


def variant_names(clip_ids) -> list[str]:
    """Stored names of these clips' variants (purge and erasure delete them with the original)."""
    return list(AudioVariant.objects.filter(clip_id__in=clip_ids).values_list("audio_name", flat=True))
