"""Word and character error rates of Whisper against the reviewer's text (jiwer)."""

from __future__ import annotations

import re

import jiwer

_PUNCT = re.compile(r"[^\w\s']+")


def normalise(text: str) -> str:
    """Lower case, no punctuation, single spaces: WER counts words, not commas."""
    return " ".join(_PUNCT.sub(" ", text.lower()).split())


def error_rates(*, reference: str, hypothesis: str) -> tuple[float | None, float | None]:
    """(WER, CER) of the hypothesis (Whisper) against the reference (the reviewer).

    None when the reference is empty: an error rate against nothing is undefined.
    """
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return None, None
    return round(jiwer.wer(ref, hyp or ""), 4), round(jiwer.cer(ref, hyp or ""), 4)
