"""The one place error rates are computed (jiwer), on one normalisation.

`error_rates` scores Whisper against a reviewer's text (None when the reviewer's text
is empty: a rate against nothing is undefined); `text_wer` and `pair_wer` are the
quality rules' view of the same WER (annotate.quality: gold scores, agreement), where
an empty reference counts 0 against nothing and 1 against anything, capped at 1;
`word_errors` gives the counts behind a corpus-level WER. They live here, in the
lowest app that needs them (the submit stores Whisper's WER), and quality uses them.
"""

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


def text_wer(*, reference: str, hypothesis: str) -> float:
    """WER of the hypothesis against the reference, normalised, capped at 1.

    An empty reference gives 0 against an empty hypothesis and 1 against anything else.
    """
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return round(min(1.0, jiwer.wer(ref, hyp)), 4)


def pair_wer(a: str, b: str) -> float:
    """A symmetric WER between two reviewers' transcripts: the mean of both directions."""
    return round((text_wer(reference=a, hypothesis=b) + text_wer(reference=b, hypothesis=a)) / 2, 4)


def word_errors(*, reference: str, hypothesis: str) -> tuple[int, int]:
    """(errors, reference words) for a corpus-level WER: sum(errors) / sum(words)."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return len(hyp.split()), 0
    out = jiwer.process_words(ref, hyp)
    return out.substitutions + out.deletions + out.insertions, out.substitutions + out.deletions + out.hits
