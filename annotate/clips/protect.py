"""What a reviewer hears (issue 16): the accidental-recording gate, voice disguise, spoken
personal data bleeped and masked, and likely-distressing clips announced.

Pure functions on a clip's samples (float32, 16 kHz mono) and Whisper's words. The Whisper
worker calls `screen` right after transcribing a clip (annotate.clips.asr) and stores what it
returns (annotate.clips.screening); nothing here runs in a web request. docs/protection.md
tells how each part works and what `bench/protect.py` measured.
"""

from __future__ import annotations

import io
import math
import re
import wave
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from django.conf import settings
from django.utils.translation import gettext_noop

RATE = 16_000

# --- audio ---------------------------------------------------------------------------------------


def to_wav(samples: np.ndarray, rate: int = RATE) -> bytes:
    """16-bit PCM mono WAV of float samples (clipped to -1..1)."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return buf.getvalue()


def _resample_shift(samples: np.ndarray, semitones: float) -> np.ndarray:
    """Pitch and formants moved together by `semitones`, same tempo and length: FFmpeg's filters
    through PyAV (the clip replayed faster or slower, then stretched back to its duration)."""
    import av

    ratio = 2 ** (semitones / 12)
    graph = av.filter.Graph()
    chain = [
        graph.add_abuffer(format="flt", sample_rate=RATE, layout="mono", time_base=Fraction(1, RATE)),
        graph.add("asetrate", str(round(RATE * ratio))),
        graph.add("aresample", str(RATE)),
        graph.add("atempo", f"{1 / ratio:.6f}"),
        graph.add("abuffersink"),
    ]
    for a, b in zip(chain, chain[1:], strict=False):
        a.link_to(b)
    graph.configure()
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
    frame.sample_rate, frame.pts, frame.time_base = RATE, 0, Fraction(1, RATE)
    graph.push(frame)
    graph.push(None)
    out = []
    while True:
        try:
            out.append(graph.pull().to_ndarray().reshape(-1))
        except (av.error.EOFError, av.error.BlockingIOError):
            break
    return np.concatenate(out) if out else np.zeros(0, dtype=np.float32)


def disguise(samples: np.ndarray, semitones: float, formant_semitones: float = 0.0) -> np.ndarray:
    """The voice moved by `semitones` of pitch, its formants (the timbre of the vocal tract) by
    `formant_semitones`, at the same tempo and exactly the same length (word times still hold).

    Formants first, with pitch (FFmpeg's filters, `_resample_shift`), then the rest of the pitch
    alone, formants kept (Rubber Band through pedalboard). Moving the formants costs Whisper far
    more words than moving the pitch (docs/protection.md has the measurements).
    """
    import pedalboard

    if not len(samples) or not (semitones or formant_semitones):
        return samples.astype(np.float32)
    shifted = _resample_shift(samples, formant_semitones) if formant_semitones else samples.astype(np.float32)
    if semitones != formant_semitones:
        shifted = pedalboard.time_stretch(
            shifted.reshape(1, -1).astype(np.float32),
            float(RATE),
            1.0,
            pitch_shift_in_semitones=semitones - formant_semitones,
            high_quality=True,
            preserve_formants=True,
        ).reshape(-1)
    fitted = np.zeros(len(samples), dtype=np.float32)
    fitted[: min(len(shifted), len(samples))] = shifted[: len(samples)]
    return fitted


def bleep(samples: np.ndarray, spans: list[tuple[float, float]], *, hz: float = 1000.0) -> np.ndarray:
    """Each (start, end) stretch, in seconds, replaced by a steady tone (faded in and out over 5 ms)."""
    out = samples.astype(np.float32, copy=True)
    fade = int(0.005 * RATE)
    for start, end in spans:
        a, b = max(0, int(start * RATE)), min(len(out), int(np.ceil(end * RATE)))
        if b <= a:
            continue
        t = np.arange(b - a) / RATE
        tone = 0.25 * np.sin(2 * np.pi * hz * t).astype(np.float32)
        ramp = np.minimum(1.0, np.minimum(np.arange(b - a) + 1, np.arange(b - a)[::-1] + 1) / fade)
        out[a:b] = tone * ramp.astype(np.float32)
    return out


def muffle(wav: bytes) -> bytes:
    """A muffled version for protective listening: low-passed with pydub, a little quieter.

    pydub's filter runs in Python, so the clip is taken to 8 kHz first (voices
    stay, the work halves) and filtered twice (a first-order filter rolls off gently).
    """
    from pydub import AudioSegment
    from pydub.effects import low_pass_filter

    segment = AudioSegment.from_wav(io.BytesIO(wav))
    rate = segment.frame_rate
    segment = segment.set_frame_rate(min(rate, 8000))
    for _ in range(2):
        segment = low_pass_filter(segment, 450)
    buf = io.BytesIO()
    (segment.set_frame_rate(rate) - 6).export(buf, format="wav")
    return buf.getvalue()


def speech_seconds(samples: np.ndarray) -> float:
    """Seconds of speech in the clip (Silero VAD, bundled with faster-whisper)."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=300, speech_pad_ms=30))
    return sum(s["end"] - s["start"] for s in spans) / RATE


FRAME = 512  # 32 ms


def _frames(samples: np.ndarray) -> np.ndarray:
    usable = len(samples) - len(samples) % FRAME
    return samples[:usable].reshape(-1, FRAME) if usable else np.zeros((0, FRAME), dtype=np.float32)


def _pitch_track(frames: np.ndarray, low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: fundamental frequency (Hz, sub-sample lag by parabolic interpolation) and how
    periodic the frame is (normalised autocorrelation at that lag, 0..1)."""
    centered = frames - frames.mean(axis=1, keepdims=True)
    spectrum = np.fft.rfft(centered, n=2 * FRAME, axis=1)
    corr = np.fft.irfft(np.abs(spectrum) ** 2, axis=1)[:, :FRAME]
    corr /= np.maximum(corr[:, :1], 1e-9)
    corr *= FRAME / (FRAME - np.minimum(np.arange(FRAME), FRAME - 64))  # unbiased: long lags overlap less
    lo, hi = max(2, int(RATE / high)), int(RATE / low)
    lags = corr[:, lo:hi].argmax(axis=1) + lo
    rows = np.arange(len(corr))
    left, mid, right = corr[rows, lags - 1], corr[rows, lags], corr[rows, np.minimum(lags + 1, FRAME - 1)]
    bend = left - 2 * mid + right
    shift = np.where(np.abs(bend) > 1e-9, 0.5 * (left - right) / np.where(bend == 0, 1, bend), 0.0)
    return RATE / (lags + np.clip(shift, -0.5, 0.5)), mid


def median_pitch(samples: np.ndarray) -> float | None:
    """The median fundamental frequency (Hz) of the clip's loud, voiced frames (50–500 Hz): a
    speaker's voice, for measuring the disguise (bench/protect.py)."""
    frames = _frames(samples.astype(np.float32))
    if not len(frames):
        return None
    rms = np.sqrt((frames**2).mean(axis=1))
    pitch, strength = _pitch_track(frames, 50.0, 500.0)
    voiced = pitch[(rms > max(0.01, float(np.percentile(rms, 90)) * 0.3)) & (strength > 0.5)]
    return float(np.median(voiced)) if len(voiced) >= 5 else None


def scream_seconds(samples: np.ndarray) -> float:
    """Seconds of screaming: runs of at least 0.25 s of loud voicing pitched above 550 Hz whose
    pitch wavers (a steady tone, a beep or a note of music does not)."""
    frames = _frames(samples.astype(np.float32))
    if len(frames) < 2:
        return 0.0
    rms = np.sqrt((frames**2).mean(axis=1))
    pitch, strength = _pitch_track(frames, 550.0, 2500.0)
    hits = (rms > max(0.05, float(np.percentile(rms, 90)) * 0.4)) & (strength > 0.5) & (pitch > 550)
    semitones = 12 * np.log2(np.maximum(pitch, 1.0) / 440)
    need = int(0.25 * RATE / FRAME)
    total, start = 0, None
    for i, hit in enumerate([*hits.tolist(), False]):
        if hit and start is None:
            start = i
        elif not hit and start is not None:
            run = semitones[start:i]
            if i - start >= need and np.median(np.abs(np.diff(run))) >= 0.15:
                total += i - start
            start = None
    return total * FRAME / RATE


# --- words ---------------------------------------------------------------------------------------

_STRIP = re.compile(r"^[^\w@.'-]+|[^\w@'-]+$")


def norm(word: str) -> str:
    """A word as the recognisers compare it: lower case, outer punctuation gone (a trailing dot too)."""
    return _STRIP.sub("", word.strip().lower()).rstrip(".")


WAKE_PHRASES = (
    "hey assistant", "ok assistant", "okay assistant", "assistant", "computer", "alexa", "echo", "hey google",
    "ok google", "okay google", "hey siri", "siri",
)  # fmt: skip
# How Whisper mishears a wake word at the start of a clip: not a person's name there.
WAKE_LIKE = frozenset("alex alexis alexia lexa alexa echo siri".split())
IMPERATIVES = frozenset(
    """
    play pause resume stop skip shuffle repeat set cancel snooze wake remind add remove put call ring dial text
    message email send read turn switch dim brighten lock unlock open close start show tell give find search
    navigate book order buy translate define spell convert calculate check record increase decrease raise
    lower mute unmute
    """.split()
)
QUESTIONS = frozenset(
    "what what's whats how how's who who's when when's where where's which do does did is are will can could "
    "should would".split()
)
POLITE = ("can you", "could you", "would you", "will you", "please")
DOMAIN = frozenset(
    "timer timers alarm alarms reminder reminders shopping list weather temperature lights light thermostat "
    "volume minutes seconds playlist song songs music message snow rain".split()
)
COMMAND_WORDS = IMPERATIVES | QUESTIONS  # never taken for a name after "call"


def request_score(words: list[str]) -> float:
    """How plainly the words speak to the assistant: 2 a wake phrase first; 1 a command ("set …",
    "can you …"); 0.5 a question ("what's …") or words of the assistant's trade (timer, weather,
    shopping list); both 1.5; 0 none of these."""
    tokens = [t for t in (norm(w) for w in words) if t]
    text = " ".join(tokens)
    if any(text == p or text.startswith(p + " ") for p in WAKE_PHRASES):
        return 2.0
    score = 0.0
    if tokens and tokens[0] in IMPERATIVES or any(text.startswith(p + " ") for p in POLITE):
        score = 1.0
    elif tokens and tokens[0] in QUESTIONS:
        score = 0.5
    return score + (0.5 if DOMAIN.intersection(tokens) else 0.0)


@dataclass(frozen=True)
class Gate:
    decision: str  # keep | purge | review
    reason: str  # stored in English as written; the lead's screening page shows it translated (gettext_noop)
    inputs: dict = field(default_factory=dict)


KEEP, PURGE, REVIEW = "keep", "purge", "review"


def _sentences(words: list[str]) -> int:
    """Sentences of three words or more in Whisper's words ("Alexa." alone is not one)."""
    count, length = 0, 0
    for w in words:
        length += 1
        if re.search(r"[.?!]$", w.strip()):
            count, length = count + (length >= 3), 0
    return count + (length >= 3)


def gate(
    *,
    wake_word_score: float | None,
    no_speech_prob: float,
    speech_share: float,
    words: list[str],
    heard: str = "",
    distressing: bool = False,
) -> Gate:
    """Keep the clip, purge it unheard, or let a human decide behind protective playback.

    The request is read from Whisper's words and from what the assistant heard (`heard`, the
    device's own transcript), the plainer of the two. Thresholds: settings.ANNOTATE_GATE.

    - likely distressing: never purged (someone may be in danger): kept if it is a request,
      else a human decides;
    - no speech (no words, or less than min_speech_share of the clip): purged;
    - only a question, in two sentences of three words or more in Whisper's words: a dialogue,
      not a request ("What did the doctor say? Just rest and fluids.");
    - a request (score ≥ 1): kept, unless the wake word scored below wake_floor (a human decides);
    - only a question or the assistant's words (score 0.5): purged below question_wake, else kept;
    - no sign of a request: purged below request_wake or when Whisper's no-speech probability
      reached no_speech_purge, else a human decides.
    """
    rules = settings.ANNOTATE_GATE
    score = max(request_score(words), request_score(heard.split()))
    inputs = {
        "wake_word_score": wake_word_score,
        "no_speech_prob": round(no_speech_prob, 3),
        "speech_share": round(speech_share, 3),
        "request_score": score,
        "addresses_assistant": score >= 1.0,
        "likely_distressing": distressing,
    }
    if not rules.get("enabled", True):
        return Gate(KEEP, gettext_noop("gate off"), inputs)
    if distressing:
        if score >= 1.0:
            return Gate(KEEP, gettext_noop("a request to the assistant, likely distressing"), inputs)
        return Gate(REVIEW, gettext_noop("likely distressing: never purged unheard"), inputs)
    wake = wake_word_score
    if not words or speech_share < rules["min_speech_share"]:
        return Gate(PURGE, gettext_noop("no speech"), inputs)
    if score < 1.0 and _sentences(words) >= 2:  # "What did the doctor say? Just rest.": a dialogue
        score = 0.0
        inputs["request_score"], inputs["addresses_assistant"] = 0.0, False
    if score >= 1.0:
        if wake is not None and wake < rules["wake_floor"]:
            return Gate(REVIEW, gettext_noop("a request, but the wake word was barely heard"), inputs)
        return Gate(KEEP, gettext_noop("a request to the assistant"), inputs)
    if score > 0:
        if wake is not None and wake < rules["question_wake"]:
            return Gate(PURGE, gettext_noop("a question or the assistant's words, wake word weak"), inputs)
        return Gate(KEEP, gettext_noop("a question or the assistant's words"), inputs)
    if no_speech_prob >= rules["no_speech_purge"]:
        return Gate(PURGE, gettext_noop("Whisper heard no speech"), inputs)
    if wake is not None and wake < rules["request_wake"]:
        return Gate(PURGE, gettext_noop("speech not addressed to the assistant, wake word weak"), inputs)
    return Gate(REVIEW, gettext_noop("speech not addressed to the assistant"), inputs)


# --- personal data -------------------------------------------------------------------------------

DIGIT_WORDS = {
    "zero": 1, "oh": 1, "o": 1, "one": 1, "two": 1, "three": 1, "four": 1, "five": 1, "six": 1, "seven": 1,
    "eight": 1, "nine": 1, "ten": 2, "eleven": 2, "twelve": 2, "thirteen": 2, "fourteen": 2, "fifteen": 2,
    "sixteen": 2, "seventeen": 2, "eighteen": 2, "nineteen": 2, "twenty": 2, "thirty": 2, "forty": 2,
    "fifty": 2, "sixty": 2, "seventy": 2, "eighty": 2, "ninety": 2, "hundred": 1, "thousand": 1,
    "double": 0, "triple": 0,
}  # fmt: skip
STREET_WORDS = frozenset(
    "street st road rd avenue ave lane ln drive dr way close boulevard blvd court ct place pl crescent "
    "terrace square gardens grove hill park row walk mews parade highway".split()
)
CUES = {
    "CARD": frozenset("card visa mastercard amex credit debit".split()),
    "ACCOUNT": frozenset("account iban sort routing bank".split()),
    "PHONE": frozenset("call dial phone text ring mobile cell number contact".split()),
}
CONTACT_WORDS = frozenset("call ring phone text message email remind tell ask invite meet to with from".split())
KIN_WORDS = frozenset("aunt auntie uncle cousin friend neighbour neighbor doctor dr mr mrs ms miss".split())
TLDS = frozenset("com org net co uk io edu gov de fr ro in".split())


def _digits(token: str) -> int | None:
    """How many digits a word stands for, or None if it is not a number."""
    bare = token.replace("-", "").replace(",", "")
    if bare.isdigit():
        return len(bare)
    return DIGIT_WORDS.get(token)


def _number_runs(tokens: list[str]) -> list[tuple[int, int, int]]:
    """(first, last, digits) of each run of number words."""
    runs, i = [], 0
    while i < len(tokens):
        if (
            _digits(tokens[i]) is None
            or tokens[i] in ("oh", "o", "double", "triple")
            and i + 1 < len(tokens)
            and (_digits(tokens[i + 1]) is None)
        ):
            i += 1
            continue
        j, count = i, 0
        while j < len(tokens) and _digits(tokens[j]) is not None:
            count += _digits(tokens[j]) or 0
            j += 1
        runs.append((i, j - 1, count))
        i = j
    return runs


def _cue(tokens: list[str], first: int) -> str | None:
    """The kind of number the five words before it name: a card or an account before a phone."""
    before = set(tokens[max(0, first - 5) : first])
    return next((kind for kind in ("CARD", "ACCOUNT", "PHONE") if before & CUES[kind]), None)


def _emails(tokens: list[str]) -> list[tuple[int, int]]:
    found = []
    for i, t in enumerate(tokens):
        if "@" in t:
            found.append((i, i))
            continue
        if t != "at" or i == 0 or i + 1 >= len(tokens):
            continue
        # the domain: "example.com", or "example dot com"
        end = None
        if "." in tokens[i + 1] and tokens[i + 1].rsplit(".", 1)[-1] in TLDS:
            end = i + 1
        elif i + 3 < len(tokens) and tokens[i + 2] == "dot" and tokens[i + 3] in TLDS:
            end = i + 3
            while end + 2 < len(tokens) and tokens[end + 1] == "dot" and tokens[end + 2] in TLDS:
                end += 2
        if end is None:
            continue
        start = i - 1
        while start > 0 and (  # "john dot smith", "li nine two", "anna underscore b"
            (start - 2 >= 0 and tokens[start - 1] in ("dot", "underscore", "dash") and tokens[start - 2])
            or (_digits(tokens[start]) is not None and tokens[start - 1] not in CONTACT_WORDS)
        ):
            start -= 2 if tokens[start - 1] in ("dot", "underscore", "dash") else 1
        found.append((start, end))
    return found


def _addresses(tokens: list[str], capitalised: list[bool]) -> list[tuple[int, int]]:
    """A house number, up to three words and a street word ("12 Baker Street"), and the town
    after it when Whisper wrote it with a capital ("…, Springfield")."""
    found = []
    for first, last, _ in _number_runs(tokens):
        for k in range(last + 1, min(len(tokens), last + 5)):
            if tokens[k] in STREET_WORDS and k > last + 1:
                end = k
                while end + 1 < len(tokens) and end < k + 2 and capitalised[end + 1] and tokens[end + 1].isalpha():
                    end += 1
                found.append((first, end))
                break
    return found


# Words after which a command speaks personal data to its end: (cue, type, what must follow).
# "what must follow": "" anything; "number" a number within two words; "address" a number or a
# street word; "email" an e-mail's "at", "dot" or "@" somewhere after it.
CUED = [
    ("email address is", "EMAIL", ""), ("email is", "EMAIL", ""), ("mail is", "EMAIL", ""),
    ("e-mail is", "EMAIL", ""), ("card number is", "CARD", ""), ("card number", "CARD", "number"),
    ("add the card", "CARD", "number"), ("card is", "CARD", ""), ("account number is", "ACCOUNT", ""),
    ("account number", "ACCOUNT", "number"), ("sort code is", "ACCOUNT", ""), ("iban is", "ACCOUNT", ""),
    ("phone number is", "PHONE", ""), ("mobile number is", "PHONE", ""), ("number is", "PHONE", ""),
    ("address is", "ADDRESS", ""), ("i live at", "ADDRESS", ""), ("i live on", "ADDRESS", ""),
    ("navigate to", "ADDRESS", "address"), ("directions to", "ADDRESS", "address"),
    ("drive to", "ADDRESS", "address"), ("taxi to", "ADDRESS", "address"), ("deliver to", "ADDRESS", "address"),
    ("send it to", "EMAIL", "email"), ("send this to", "EMAIL", "email"), ("forward this to", "EMAIL", "email"),
    ("photos to", "EMAIL", "email"), ("call", "PHONE", "number"), ("dial", "PHONE", "number"),
    ("text", "PHONE", "number"), ("ring", "PHONE", "number"), ("location to", "PHONE", "number"),
]  # fmt: skip


def _follows(what: str, tokens: list[str], at: int) -> bool:
    rest = tokens[at:]
    if not rest:
        return False
    if what == "number":
        return any(_digits(t) is not None for t in rest[:2])
    if what == "address":
        return _digits(rest[0]) is not None or any(t in STREET_WORDS for t in rest)
    if what == "email":
        return any(t in ("at", "dot") or "@" in t or t.rsplit(".", 1)[-1] in TLDS and "." in t for t in rest)
    return True


def _sentence_end(words: list[str], start: int) -> int:
    for i in range(start, len(words)):
        if re.search(r"[.?!]$", words[i].strip()):
            return i
    return len(words) - 1


def _cued(tokens: list[str], words: list[str]) -> list[tuple[str, int, int]]:
    """Personal data after a cue ("my card number is …", "call …"): to the end of the sentence, so
    that what Whisper heard wrong is bleeped too."""
    found = []
    for i in range(len(tokens)):
        for cue, kind, what in CUED:
            parts = cue.split()
            if tokens[i : i + len(parts)] == parts and _follows(what, tokens, i + len(parts)):
                start = i + len(parts)
                found.append((kind, start, _sentence_end(words, start)))
                break
    return found


def find_personal_data(
    words: list[str], *, capitalised: list[bool], protected: set[int], names: frozenset[str]
) -> list[tuple[str, int, int]]:
    """Spans of personal data in a transcript's words: (type, first word, last word).

    `protected`: indexes of words inside catalog entities (never personal data: "Taylor
    Swift" stays); `names`: given names and surnames (lower case); `capitalised`: whether
    Whisper wrote each word with a capital (a name it did not know, after "call").
    """
    tokens = [norm(w) for w in words]
    spans: list[tuple[str, int, int]] = []
    taken: set[int] = set()

    def add(kind: str, a: int, b: int) -> None:
        if any(i in protected for i in range(a, b + 1)) or any(i in taken for i in range(a, b + 1)):
            return
        spans.append((kind, a, b))
        taken.update(range(a, b + 1))

    for kind, a, b in _cued(tokens, words):
        add(kind, a, b)
    for a, b in _emails(tokens):
        add("EMAIL", a, b)
    for a, b in _addresses(tokens, capitalised):
        add("ADDRESS", a, b)
    for a, b, digits in _number_runs(tokens):
        if digits < 7:
            continue
        kind = _cue(tokens, a) or ("CARD" if digits >= 13 else "PHONE")
        add(kind, a, b)
    for i, t in enumerate(tokens):  # "john.smith@example.com", "example.com"
        if "@" in t or ("." in t and t.rsplit(".", 1)[-1] in TLDS and len(t) > 4):
            add("EMAIL", i, i)
    tokens = [t[:-2] if t.endswith("'s") else t for t in tokens]  # "david's birthday"
    i = 1 if tokens and tokens[0] in WAKE_LIKE else 0  # "Alex, add milk": the wake word misheard
    while i < len(tokens):
        t = tokens[i]
        after_contact = i > 0 and (tokens[i - 1] in CONTACT_WORDS or tokens[i - 1] in KIN_WORDS)
        unknown_capital = capitalised[i] and after_contact and t.isalpha() and t not in COMMAND_WORDS
        if i not in protected and i not in taken and (t in names or unknown_capital) and not _digits(t):
            j = i
            while (
                j + 1 < len(tokens)
                and j + 1 not in protected
                and (tokens[j + 1] in names or (capitalised[j + 1] and tokens[j + 1].isalpha() and j + 1 > 0))
            ):
                if tokens[j + 1] in COMMAND_WORDS:
                    break
                j += 1
            add("NAME", i, j)
            i = j + 1
            continue
        i += 1
    return sorted(spans, key=lambda s: s[1])


def project(source: list[str], spans: list[tuple[str, int, int]], target: list[str]) -> list[tuple[str, int, int]]:
    """Spans found in one transcript of a clip (what the assistant heard) moved onto another of
    the same clip (Whisper's words, which have times): the target words aligned to each span."""
    import difflib

    a, b = [norm(w) for w in source], [norm(w) for w in target]
    moved = []
    blocks = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes()
    for kind, first, last in spans:
        hit: list[int] = []
        for op, a1, a2, b1, b2 in blocks:
            if a2 <= first or a1 > last or op == "delete":
                continue
            if op == "equal":
                hit += [b1 + (i - a1) for i in range(max(a1, first), min(a2, last + 1))]
            else:  # replace: Whisper heard these words otherwise; the span's share of them, in order
                scale = (b2 - b1) / (a2 - a1)
                lo, hi = max(a1, first) - a1, min(a2, last + 1) - a1
                hit += list(range(b1 + int(lo * scale), max(b1 + int(lo * scale) + 1, b1 + math.ceil(hi * scale))))
        if hit:
            moved.append((kind, min(hit), max(hit)))
    return moved


def merge(*groups: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Spans of several finders as one list, overlapping ones joined (the first one's type)."""
    out: list[tuple[str, int, int]] = []
    for kind, a, b in sorted((s for g in groups for s in g), key=lambda s: (s[1], -s[2])):
        if out and a <= out[-1][2]:
            out[-1] = (out[-1][0], out[-1][1], max(out[-1][2], b))
        else:
            out.append((kind, a, b))
    return out


def mask(text: str, spans: list[tuple[str, int, int]]) -> str:
    """A plain text (split on spaces) with each span replaced by its placeholder."""
    return redact([{"word": w, "start": 0.0, "end": 0.0} for w in text.split()], spans)[0]


def redact(words: list[dict], spans: list[tuple[str, int, int]]) -> tuple[str, list[dict]]:
    """Text and words with each span replaced by one placeholder word (`[PHONE]`), its times
    those of the span, its trailing punctuation kept."""
    out: list[dict] = []
    by_start = {a: (kind, b) for kind, a, b in spans}
    i = 0
    while i < len(words):
        if i in by_start:
            kind, b = by_start[i]
            last = words[b]["word"]
            tail = re.search(r"[.,!?;:]+$", last)
            out.append(
                {
                    "word": f"[{kind}]" + (tail.group(0) if tail else ""),
                    "start": words[i]["start"],
                    "end": words[b]["end"],
                    "probability": min(w.get("probability", 1.0) for w in words[i : b + 1]),
                }
            )
            i = b + 1
            continue
        out.append(dict(words[i]))
        i += 1
    return " ".join(w["word"] for w in out), out


# --- distress ------------------------------------------------------------------------------------

DISTRESS_PHRASES = (
    "help me", "help us", "somebody help", "someone help", "call the police", "call an ambulance",
    "call nine one one", "call 911", "call 999", "you're hurting me", "you are hurting me", "hurting me",
    "stop it", "get away from me", "get off me", "let me go", "leave me alone", "don't hurt", "do not hurt",
    "i can't breathe", "i cannot breathe", "can't breathe", "he's going to kill", "going to kill me",
    "please don't hurt", "please don't do", "i'm bleeding", "i am bleeding", "i'm scared", "i am scared", "he hit me",
    "she hit me", "it hurts", "i'm hurt", "i am hurt", "save me", "let go of me", "don't touch me",
    "do not touch me", "breaking in", "break in", "broke in", "i've fallen", "i have fallen", "i'm falling",
    "he's got a knife", "she's got a knife", "got a gun", "get off me", "leave me alone", "he's hitting me",
)  # fmt: skip
DISTRESS_WORDS = frozenset(
    "help hurt hurting pain police ambulance emergency bleeding blood scared afraid kill killing attack "
    "attacked gun knife scream screaming fire rape abuse choking dying".split()
)
HELP_URGENT = frozenset("please somebody someone he she they i it's he's she's now quick".split())
BENIGN_AFTER_HELP = frozenset("find with make cook to choose pick get write plan learn".split())


def distress_score(words: list[str], *, protected: set[int]) -> tuple[float, list[str]]:
    """How strongly the words speak of danger, pain or a call for help, and which cues did."""
    tokens = [norm(w) for w in words]
    tokens = [t if i not in protected else "" for i, t in enumerate(tokens)]
    text = " " + " ".join(t for t in tokens if t) + " "
    cues: list[str] = []
    score = 0.0
    cries = sum(1 for t in tokens if re.fullmatch(r"a+h+|a+r+g+h+|o+w+|no+", t or "-"))
    if cries >= 3:  # "ah, ah, ah", "no, no, no": a cry, not a request
        cues.append("cries")
        score += 1.0
    for phrase in DISTRESS_PHRASES:
        if f" {phrase} " in text:
            after = text.split(f" {phrase} ", 1)[1].split(" ", 1)[0]
            if phrase == "help me" and after and after not in HELP_URGENT:  # "help me find …", "help me with …"
                continue
            cues.append(phrase)
            score += 1.0
    if not cues:
        for i, t in enumerate(tokens):
            if t in DISTRESS_WORDS:
                if t == "help" and i + 2 < len(tokens) and tokens[i + 2] in BENIGN_AFTER_HELP:
                    continue
                cues.append(t)
                score += 0.5
    return score, cues


@dataclass(frozen=True)
class Distress:
    likely: bool
    text_score: float
    scream_seconds: float
    cues: list[str]


def distress(words: list[str], samples: np.ndarray, *, protected: set[int]) -> Distress:
    rules = settings.ANNOTATE_DISTRESS
    score, cues = distress_score(words, protected=protected)
    screaming = scream_seconds(samples)
    likely = score >= rules["text_score"] or screaming >= rules["scream_seconds"]
    return Distress(likely=likely, text_score=score, scream_seconds=round(screaming, 2), cues=cues)
