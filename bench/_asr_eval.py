"""Scoring Whisper for bench/asr.py: normalised WER and word-timing differences.

    from bench import _asr_eval as ev
    ev.normalise("Set a timer for 10 min, at 7:30!")  # "set a timer for ten min at seven thirty"
    ev.wer(references, hypotheses)                    # corpus WER (jiwer), both normalised
    ev.timing_differences(single_words, packed_words)  # matched words' |Δstart|, |Δend|

Normalising makes equal what a listener would: case, punctuation, digits and number
words ("10" and "ten"; "7:30", "7.30" and "at 730" and "seven thirty"; "25%" and "twenty five percent";
"3rd" and "third"), "and" inside a number ("one hundred and five"), hyphens
("twenty-five"), apostrophes ("what's" = "whats") and a few British/American
spellings. The held-out references are plain words, so numbers are turned into words
rather than the other way round.
"""

from __future__ import annotations

import difflib
import re
import statistics
from dataclasses import dataclass, field

import jiwer

ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINALS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
NUMBER_WORDS = set(ONES) | set(TENS[2:]) | {"hundred", "thousand", "million", "point", "oh"}
SPELLINGS = {
    "ok": "okay",
    "colour": "color",
    "favourite": "favorite",
    "kilometre": "kilometer",
    "kilometres": "kilometers",
    "metre": "meter",
    "metres": "meters",
    "litre": "liter",
    "litres": "liters",
    "centre": "center",
    "theatre": "theater",
    "grey": "gray",
    "mom": "mum",
    "oclock": "o clock",
}
SYMBOLS = {"%": " percent ", "°": " degrees ", "&": " and ", "+": " plus ", "=": " equals "}
CURRENCIES = {"$": "dollars", "£": "pounds", "€": "euros"}


def number_words(n: int) -> str:
    """0 ≤ n < 10**9 in words, without "and": 105 → "one hundred five"."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    for size, name in ((10**6, "million"), (1000, "thousand"), (100, "hundred")):
        if n >= size:
            head, rest = divmod(n, size)
            return f"{number_words(head)} {name}" + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError(n)


def _ordinal(words: str) -> str:
    *head, last = words.split()
    if last in ORDINALS:
        last = ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _digits(text: str) -> str:
    """Numbers in digits to words: times, money, ordinals, decimals, plain numbers."""

    def time(m: re.Match) -> str:
        hours, minutes = int(m[1]), int(m[2])
        if minutes == 0:
            return f" {number_words(hours)} "
        if minutes < 10:
            return f" {number_words(hours)} oh {number_words(minutes)} "
        return f" {number_words(hours)} {number_words(minutes)} "

    def money(m: re.Match) -> str:
        return f"{m[2]} {CURRENCIES[m[1]]}"

    def decimal(m: re.Match) -> str:
        return f"{number_words(int(m[1]))} point {' '.join(ONES[int(d)] for d in m[2])}"

    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)  # 1,000 → 1000
    text = re.sub(r"\b([01]?\d|2[0-3])[:.]([0-5]\d)\b", time, text)  # 7:30, 7.30 (a time, not a decimal)
    text = re.sub(r"(?<=\bat )([1-9]|1[0-2])([0-5]\d)\b", time, text)  # "at 730", "at 1020"
    text = re.sub(r"([$£€])\s?(\d+(?:\.\d+)?)", money, text)
    text = re.sub(r"\b(\d+)(st|nd|rd|th)\b", lambda m: _ordinal(number_words(int(m[1]))), text)
    text = re.sub(r"\b(\d+)\.(\d+)\b", decimal, text)
    return re.sub(r"\d+", lambda m: f" {number_words(int(m[0]))} " if len(m[0]) < 10 else m[0], text)


def normalise(text: str) -> str:
    """Lower case, numbers in words, no punctuation, single spaces."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"(\d)\s*([ap])\.?\s?m\b\.?", r"\1 \2m ", text)  # 7 a.m., 7am, 7 pm → 7 am, 7 pm
    text = _digits(text)
    for symbol, word in SYMBOLS.items():
        text = text.replace(symbol, word)
    text = text.replace("'", "")
    text = re.sub(r"[^\w\s]|_", " ", text)
    words = [SPELLINGS.get(w, w) for w in text.split()]
    words = " ".join(words).split()
    kept = [w for i, w in enumerate(words) if not (w == "and" and _inside_number(words, i))]
    return " ".join(kept)


def _inside_number(words: list[str], i: int) -> bool:
    """The "and" of "one hundred and five"."""
    return (
        0 < i < len(words) - 1 and words[i - 1] in ("hundred", "thousand", "million") and words[i + 1] in NUMBER_WORDS
    )


# --- WER -------------------------------------------------------------------------------------


@dataclass
class Wer:
    wer: float
    words: int  # reference words
    substitutions: int
    deletions: int
    insertions: int
    clips: int
    clips_wrong: int  # clips with at least one error

    def __str__(self) -> str:
        return (
            f"WER {self.wer:.1%} over {self.words} words of {self.clips} clips "
            f"(S {self.substitutions}, D {self.deletions}, I {self.insertions}; {self.clips_wrong} clips not exact)"
        )


def wer(references: list[str], hypotheses: list[str]) -> Wer:
    """Corpus WER of hypotheses against references, both normalised. Empty hypotheses count as deletions."""
    refs = [normalise(r) for r in references]
    hyps = [normalise(h) for h in hypotheses]
    if not refs:
        return Wer(float("nan"), 0, 0, 0, 0, 0, 0)
    out = jiwer.process_words(refs, hyps)
    wrong = sum(1 for r, h in zip(refs, hyps, strict=True) if r != h)
    words = out.hits + out.substitutions + out.deletions
    return Wer(out.wer, words, out.substitutions, out.deletions, out.insertions, len(refs), wrong)


# --- word timing -----------------------------------------------------------------------------


@dataclass
class Timing:
    """Absolute start/end differences (seconds) of the words matched between two decodings."""

    start: list[float] = field(default_factory=list)
    end: list[float] = field(default_factory=list)
    first_start: list[float] = field(default_factory=list)  # the clip's first word (single decoding's)
    first_end: list[float] = field(default_factory=list)
    last_start: list[float] = field(default_factory=list)  # the clip's last word
    last_end: list[float] = field(default_factory=list)
    words: int = 0  # words of the single decoding
    matched: int = 0
    clips: int = 0
    first_unmatched: int = 0  # clips whose first or last word found no counterpart
    last_unmatched: int = 0
    # |Δstart| and |Δend| of the clips whose two decodings heard the same words (normalised):
    # timing alone, apart from the words around a different hearing, split differently
    same_words: list[float] = field(default_factory=list)
    same_word_clips: int = 0

    def add(self, other: Timing) -> None:
        for name in ("start", "end", "first_start", "first_end", "last_start", "last_end"):
            getattr(self, name).extend(getattr(other, name))
        self.same_words.extend(other.same_words)
        for name in ("words", "matched", "clips", "first_unmatched", "last_unmatched", "same_word_clips"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def both(self) -> list[float]:
        return self.start + self.end

    @property
    def first_last(self) -> list[float]:
        return self.first_start + self.first_end + self.last_start + self.last_end


def _tokens(words: list[dict]) -> tuple[list[str], list[int]]:
    """Normalised tokens of a word list, and for each the index of the word it came from."""
    tokens, owners = [], []
    for index, word in enumerate(words):
        for token in normalise(word["word"]).split():
            tokens.append(token)
            owners.append(index)
    return tokens, owners


def timing_differences(single: list[dict], packed: list[dict]) -> Timing:
    """Align two word lists of one clip by their normalised text (difflib) and measure each
    matched word's |Δstart| and |Δend|. Words are {word, start, end}; each word counts once."""
    timing = Timing(words=len(single), clips=1)
    a_tokens, a_owner = _tokens(single)
    b_tokens, b_owner = _tokens(packed)
    pairs: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(a=a_tokens, b=b_tokens, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            pairs.setdefault(a_owner[block.a + k], b_owner[block.b + k])
    for i, j in sorted(pairs.items()):
        ds = abs(float(single[i]["start"]) - float(packed[j]["start"]))
        de = abs(float(single[i]["end"]) - float(packed[j]["end"]))
        timing.start.append(ds)
        timing.end.append(de)
    timing.matched = len(pairs)
    if a_tokens == b_tokens:
        timing.same_words.extend(timing.start + timing.end)
        timing.same_word_clips = 1
    if single:
        first, last = 0, len(single) - 1
        for index, starts, ends, missing in (
            (first, timing.first_start, timing.first_end, "first_unmatched"),
            (last, timing.last_start, timing.last_end, "last_unmatched"),
        ):
            if index in pairs:
                j = pairs[index]
                starts.append(abs(float(single[index]["start"]) - float(packed[j]["start"])))
                ends.append(abs(float(single[index]["end"]) - float(packed[j]["end"])))
            else:
                setattr(timing, missing, getattr(timing, missing) + 1)
    return timing


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (as bench/_setup.py); nan for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    """ "p50 12 ms, p95 80 ms, max 300 ms (n=412)"."""
    if not values:
        return "no words"
    p50, p95 = percentile(values, 50) * 1000, percentile(values, 95) * 1000
    return f"p50 {p50:.0f} ms, p95 {p95:.0f} ms, max {max(values) * 1000:.0f} ms (n={len(values)})"


def mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
