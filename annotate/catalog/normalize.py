"""Accent- and case-folding of names and transcripts, with the way back to the original offsets.

Catalog names, aliases, search queries and transcripts are compared in one
folded form: accents dropped ("Beyoncé" → "beyonce"), case folded, apostrophes
dropped ("Don't" → "dont"), "&" read as "and", every other run of punctuation
or space a single space. Spans are stored against the original text, so the
folding functions here that look into a transcript also say where each piece
came from.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# A word: letters and digits, with inner apostrophes ("don't", "o'connell").
_WORD = r"[^\W_]+(?:['’`][^\W_]+)*"
_TOKEN = re.compile(r"&|" + _WORD)


def fold_char(char: str) -> str:
    """One character folded: accents off, case folded (may give 0, 1 or more characters)."""
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def fold(text: str) -> str:
    """Accents off and case folded; punctuation and spacing kept."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@dataclass(frozen=True)
class Token:
    start: int  # offsets in the original text
    end: int
    norm: str  # the folded word, apostrophes dropped


def tokens(text: str) -> list[Token]:
    """The words of `text` with their original offsets; "&" is the word "and"."""
    found: list[Token] = []
    for match in _TOKEN.finditer(text):
        word = match.group(0)
        if word == "&":
            norm = "and"
        else:
            norm = word.lower() if word.isascii() else fold(word)
            if not norm.isalnum():
                # apostrophes go; folding can leave other marks ("½" → "1⁄2"): keep letters and digits
                norm = "".join(c for c in norm if c.isalnum())
        if norm:
            found.append(Token(match.start(), match.end(), norm))
    return found


def normalize(text: str) -> str:
    """The folded form names are compared in: "Tyler, the Creator" → "tyler the creator"."""
    return " ".join(t.norm for t in tokens(text))


def fold_with_map(text: str) -> tuple[str, list[int]]:
    """`text` folded (accents off, case folded, runs of space one space) and, for
    every folded character, the offset of the original character it came from.
    `offsets` has one extra entry, len(text), so an end offset maps too.
    """
    out: list[str] = []
    offsets: list[int] = []
    for i, char in enumerate(text):
        if char.isspace():
            if out and out[-1] == " ":
                continue
            out.append(" ")
            offsets.append(i)
            continue
        for c in fold_char(char):
            out.append(c)
            offsets.append(i)
    offsets.append(len(text))
    return "".join(out), offsets


def fold_phrase(phrase: str) -> str:
    """A mining phrase in the form fold_with_map gives a text."""
    folded, _ = fold_with_map(phrase.strip())
    return folded


def find_phrase(text: str, phrase: str) -> list[tuple[int, int]]:
    """Where the folded phrase occurs in `text` as whole words: [(start, end)] in
    original offsets. Accent- and case-insensitive: "beyonce" finds "Beyoncé".
    """
    needle = fold_phrase(phrase)
    if not needle:
        return []
    haystack, offsets = fold_with_map(text)
    found: list[tuple[int, int]] = []
    at = haystack.find(needle)
    while at != -1:
        end = at + len(needle)
        before_ok = at == 0 or not haystack[at - 1].isalnum() or not needle[0].isalnum()
        after_ok = end == len(haystack) or not haystack[end].isalnum() or not needle[-1].isalnum()
        if before_ok and after_ok:
            start_orig = offsets[at]
            end_orig = offsets[end - 1] + 1
            found.append((start_orig, end_orig))
            at = haystack.find(needle, end)
        else:
            at = haystack.find(needle, at + 1)
    return found
