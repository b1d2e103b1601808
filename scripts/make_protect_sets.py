"""Generate the evaluation sets of issue 16 in tests/fixtures/protect/ ("the reviewer hears
only what the task needs": the accidental-recording gate, voice disguise, bleeping spoken
personal data, detecting distress).

290 synthetic clips in three sets, made like the held-out Whisper set (their speech,
device, noise, Opus encoding and manifest rows come from scripts/make_asr_heldout.py):
espeak-ng in several accents, voice variants, speeds and pitches; a device's microphone
and room (sox); noise from sox at a chosen SNR; 1.5–8 s of 16 kHz mono Opus in Ogg at
16 kbps.

- gate (140): `accidental` true for 20 clips of noise alone (room tone, mains hum, fan,
  clatter, brown noise with low tones), 30 of TV (news, sports, adverts, a weather report)
  and 20 of two people talking, none addressed to the assistant, some mixed with music-like
  tones or noise, some far from the device (reverb, muffled, quiet); false for 70
  voice-assistant commands, half under white, pink or brown noise at 20, 15 or 10 dB SNR,
  a few starting with a wake phrase ("hey assistant", "computer"; the manifest's "heard"
  leaves it out, as the device strips it).
- pii (80): 60 commands that speak a phone number, email address, street address, card or
  account number, or a person's name, and 20 that name artists and songs of
  demo/catalog.jsonl (a few also a person's name). Labels: `pii`, a list of {"type":
  PHONE|EMAIL|ADDRESS|CARD|ACCOUNT|NAME, "words": [...]}, and `catalog`, a list of
  {"name": the catalog's name, "words": [...]}, the words being indexes into the
  reference split on whitespace. Catalog names must not be bleeped.
- distress (70): `distress` true for 14 clips of fast, high, loud (overdriven) calls for
  help, 8 of such speech with a scream, 8 of screams alone (synthetic: a wavering 800–1500
  Hz sawtooth and square with tremolo and a little noise, or espeak-ng's "aaah" at its
  highest pitch); false for 16 ordinary commands, 14 that use the same words harmlessly
  ("help me find a recipe", "play help by the beatles"), 6 of loud music-like tones and 4
  commands shouted over music.

Written to tests/fixtures/protect/:
- clips/NNN-<set>-<category>.ogg
- manifest.jsonl: one line per clip in the `manage.py import_clips` format, with
  synthetic identities (account SYNTH-PROTECT-…), and the device's wake-word score: for
  commands mostly 0.6–0.99, a few down to 0.5; for accidental recordings mostly 0.5–0.8
  (the device uploads only above 0.5), overlapping on purpose; the pii and distress sets'
  scores are drawn like commands';
- labels.jsonl: per clip, keyed by the "audio" path, its set, category, the exact words
  spoken ("reference", "" for none; commas only make espeak-ng pause and are left out),
  the set's labels above, and how it was made. Labels are only given for the clip's own
  set: commands of the gate and distress sets may name people, unlabelled.

Everything is seeded and the Ogg muxing is bitexact, so rerunning leaves git clean.

    .venv/bin/python scripts/make_protect_sets.py      # needs espeak-ng and sox
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
from make_asr_heldout import (
    CATEGORIES,
    DEVICES,
    NOISES,
    RATE,
    SONGS,
    VARIANTS,
    VOICES,
    encode_opus,
    manifest_row,
    render,
    rms,
    sox_effects,
    sox_noise,
    speak,
    through_device,
    utterances,
    write_jsonl,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "protect"
CLIPS = OUT / "clips"
CATALOG = ROOT / "demo" / "catalog.jsonl"
SEED = 16
MIN_SECONDS, MAX_SECONDS = 1.5, 8.0
WAKE_PHRASES = ["hey assistant", "computer", "okay assistant"]
FAR = ["reverb", "60", "50", "100", "lowpass", "1800"]  # across the room from the device
SHOUT = ["overdrive", "12", "gain", "-6"]

# --- gate: what the device hears without being spoken to ------------------------------------

TV = [
    "good evening and welcome to the six o'clock news",
    "the prime minister said the talks would continue into next week",
    "shares fell sharply this morning after the bank raised interest rates",
    "police have closed the motorway after a lorry overturned near junction nine",
    "and it's a long ball forward and he shoots just wide of the post",
    "that is his third goal of the season and the crowd are on their feet",
    "she serves it down the middle and that's the first set",
    "a brilliant catch on the boundary and the batsman has to go",
    "tomorrow will be cloudy in the north with showers spreading from the west",
    "temperatures will reach about eighteen degrees in the south east",
    "now stay tuned for the second half after the break",
    "this fragrance is available now in all good stores",
    "buy one get one free on all garden furniture this weekend only",
    "the new model comes with heated seats as standard",
    "scientists say the discovery could change how we treat the disease",
    "the museum will reopen in the spring after a two year renovation",
    "thousands of people gathered in the square to watch the fireworks",
    "in tonight's episode the detectives return to the scene of the crime",
    "welcome back to the show our next guest needs no introduction",
    "the vote will take place on thursday after a long debate",
    "rain stopped play for most of the afternoon session",
    "the final whistle goes and it ends all square",
    "here is the shipping forecast issued by the met office",
    "the lions move quietly through the long grass at dawn",
    "add the flour and stir gently until the mixture is smooth",
    "the trial is expected to last around six weeks",
    "he crosses the line in a new world record time",
    "coming up after the news a special report on the housing crisis",
    "the band played their greatest hits to a sold out arena",
    "and that's all from us tonight thank you for watching",
]
DIALOGUE = [
    ("i told him we would be late again", "he never listens does he"),
    ("did you remember to pick up the dry cleaning", "no i forgot sorry i'll go tomorrow"),
    ("what time does your train get in", "about half past seven if it's on time"),
    ("have you seen my keys anywhere", "they were on the table this morning"),
    ("shall we get a takeaway tonight", "i don't mind you choose"),
    ("she said the meeting went really well", "that's great news"),
    ("can you pass me the salt please", "here you go"),
    ("i think it's going to rain later", "better take a coat then"),
    ("my mum is coming over on sunday", "do we need to tidy up"),
    ("the car is making that noise again", "we should book it in for a service"),
    ("are you watching this or can i turn over", "go ahead i'm not really watching"),
    ("how was school today", "fine we did fractions"),
    ("we're out of milk again", "i'll grab some on the way home"),
    ("he's been on the phone for an hour", "probably talking to his brother"),
    ("did you book the table for friday", "yes for eight people at seven"),
    ("that film was much better than i expected", "i loved the ending"),
    ("the kids are finally asleep", "let's put the kettle on"),
    ("i can't believe how expensive petrol is now", "i know it's ridiculous"),
    ("is it your turn to walk the dog", "no i did it yesterday"),
    ("what did the doctor say", "just rest and plenty of fluids"),
]
NOISE_KINDS = ["room", "hum", "fan", "clatter", "brown_tones"]

# --- pii: commands that speak personal data, and catalog names that must stay --------------

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
FIRST = ["maria", "peter", "susan", "david", "priya", "tom", "fatima", "oliver", "grace", "li", "ahmed", "hannah"]
LAST = ["gonzalez", "smith", "patel", "o'brien", "nowak", "kim", "murphy", "jones", "okafor", "schmidt"]
RELATIONS = ["aunt", "uncle", "cousin", "doctor"]
DOMAINS = ["example dot com", "example dot org", "mail dot example dot net"]
STREETS = ["baker street", "elm road", "high street", "station road", "maple avenue", "church lane", "park drive"]
HOUSES = ["twelve", "forty two", "seven", "one hundred and five", "twenty three", "eighty eight", "three"]
TOWNS = ["leeds", "bristol", "springfield", "portland", "york"]
PII_TEMPLATES: dict[str, tuple[str, str, list[str]]] = {  # category -> intent, response, templates
    "phone": (
        "MakeCall",
        "Calling",
        [
            "call {PHONE}",
            "text {PHONE} and say i'm on my way",
            "my phone number is {PHONE}",
            "dial {PHONE}",
            "save {PHONE} as {NAME}",
            "send my location to {PHONE}",
        ],
    ),
    "email": (
        "SendMessage",
        "Sent",
        [
            "send it to {EMAIL}",
            "email the photos to {EMAIL}",
            "my email is {EMAIL}",
            "share the shopping list with {EMAIL}",
            "forward this to {EMAIL}",
        ],
    ),
    "address": (
        "Navigate",
        "Starting directions",
        [
            "navigate to {ADDRESS}",
            "my address is {ADDRESS}",
            "how long will it take to drive to {ADDRESS}",
            "order a taxi to {ADDRESS}",
            "send the parcel to {ADDRESS}",
            "set my home address to {ADDRESS}",
        ],
    ),
    "card": (
        "Payment",
        "Your card is saved",
        ["my card number is {CARD}", "pay with card {CARD}", "add the card {CARD} to my account"],
    ),
    "account": (
        "Payment",
        "Done",
        [
            "account number {ACCOUNT}",
            "transfer fifty pounds to account {ACCOUNT}",
            "my account number is {ACCOUNT}",
            "check the balance of account {ACCOUNT}",
        ],
    ),
    "name": (
        "MakeCall",
        "Okay",
        [
            "call {NAME}",
            "remind {NAME} to buy milk",
            "message {RELATION} {NAME}",
            "text {NAME} that dinner is ready",
            "when is {NAME}'s birthday",
            "add {NAME} to my contacts",
            "video call {NAME} on speaker",
        ],
    ),
}
PII_COUNTS = {"phone": 14, "email": 10, "address": 12, "card": 6, "account": 6, "name": 12}
# Songs and artists of demo/catalog.jsonl (their names are checked against it).
CATALOG_SONGS = SONGS + [
    ("shape of you", "ed sheeran"),
    ("levitating", "dua lipa"),
    ("umbrella", "rihanna"),
    ("rocket man", "elton john"),
    ("uptown funk", "bruno mars"),
    ("as it was", "harry styles"),
    ("bad romance", "lady gaga"),
    ("drivers license", "olivia rodrigo"),
    ("espresso", "sabrina carpenter"),
]
CATALOG_ARTISTS = ["drake", "the beatles", "fleetwood mac", "madonna", "stevie wonder", "bob marley", "nirvana"]
CATALOG_TEMPLATES = [
    "play {ARTIST}",
    "play {SONG} by {ARTIST}",
    "play some {ARTIST}",
    "shuffle songs by {ARTIST}",
    "add {SONG} to my playlist",
    "who sings {SONG}",
    "play {SONG}",
    "play the latest album by {ARTIST}",
    "text {NAME} that {ARTIST} is on tour",
]
CATALOG_COUNT = 20

# --- distress ------------------------------------------------------------------------------

DISTRESS = [
    "help me please he is hurting me",
    "stop it you are hurting me",
    "somebody call the police",
    "i can't breathe",
    "get away from me",
    "help help somebody help me",
    "please don't hurt me",
    "let go of me",
    "call an ambulance he's not breathing",
    "i'm bleeding please help",
    "leave me alone get out",
    "someone's breaking in call nine nine nine",
    "it hurts it really hurts",
    "don't touch me",
    "help i've fallen and i can't get up",
    "fire there's a fire get out",
    "please stop you're scaring me",
    "he's got a knife",
    "i need help right now",
    "no no stop",
    "my chest hurts i can't move",
    "get off me",
]
CONFUSABLE = [
    "help me find a recipe for pancakes",
    "play help by the beatles",
    "how do i stop the timer",
    "what's the pain au chocolat recipe",
    "stop the music",
    "help me with my shopping list",
    "what's the number for the police station",
    "play don't stop me now",
    "how do you treat a bee sting",
    "turn it up i can't hear it",
    "what does the word emergency mean",
    "get the weather for tomorrow",
    "call me a taxi",
    "please stop the alarm",
]
SHOUTED = ["turn it down", "skip this song", "stop the music", "volume down"]


# --- sound ---------------------------------------------------------------------------------


def level(audio: np.ndarray, rng: random.Random, low: float, high: float) -> np.ndarray:
    """A peak of -low to -high dBFS."""
    return audio / (float(np.max(np.abs(audio))) or 1.0) * 10 ** (-rng.uniform(low, high) / 20)


def noise_piece(kind: str, seconds: float, rng: random.Random, tmp: Path) -> np.ndarray:
    noise = sox_noise(kind, tmp)
    n = int(seconds * RATE)
    start = rng.randrange(len(noise) - n)
    return noise[start : start + n]


def mix(speech: np.ndarray, background: np.ndarray, snr: float) -> np.ndarray:
    """Speech plus background at snr dB (against the voiced part of the speech)."""
    background = np.resize(background, len(speech))
    voiced = speech[np.abs(speech) > 0.02]
    return speech + rms(voiced if len(voiced) else speech) / rms(background) / 10 ** (snr / 20) * background


def music(seconds: float, rng: random.Random) -> np.ndarray:
    """Music-like tones: a melody of plucked notes with harmonics, a bass line and a beat."""
    n = int(seconds * RATE)
    out = np.zeros(n, dtype=np.float64)
    root = rng.choice([196.0, 220.0, 246.9, 261.6])
    scale = [root * 2 ** (step / 12) for step in (0, 2, 4, 7, 9, 12, 14, 16)]
    beat = rng.uniform(0.2, 0.35)
    pos = 0
    while pos < n:
        length = min(int(beat * rng.choice([1, 1, 2]) * RATE), n - pos)
        t = np.arange(length) / RATE
        f = rng.choice(scale)
        tone = np.sin(2 * np.pi * f * t) + 0.5 * np.sin(4 * np.pi * f * t) + 0.25 * np.sin(6 * np.pi * f * t)
        out[pos : pos + length] += 0.5 * tone * np.exp(-t * rng.uniform(3, 8))
        pos += length
    t = np.arange(n) / RATE
    bass = root / 4 * np.where((t // (beat * 4)) % 2 == 0, 1.0, 1.5)
    out += 0.35 * np.sin(2 * np.pi * np.cumsum(bass) / RATE)
    kick = np.arange(int(0.12 * RATE)) / RATE
    thump = np.sin(2 * np.pi * 60 * kick) * np.exp(-kick * 30)
    for start in range(0, n - len(thump), int(beat * 2 * RATE)):
        out[start : start + len(thump)] += thump
    return out.astype(np.float32)


def scream(seconds: float, rng: random.Random, tmp: Path) -> tuple[np.ndarray, str]:
    """A scream-like sound: a wavering high sawtooth and square with tremolo and a little
    noise, or espeak-ng's "aaah" at its highest pitch."""
    if rng.random() < 0.3:
        voice = rng.choice(["en-us", "en-gb"]) + rng.choice(["+f2", "+f3", "+f4"])
        audio = speak("aaaaaaaaaaaaah", voice, rng.randrange(80, 121, 10), 99, (0.0, 0.0), tmp)
        return audio[: int(seconds * RATE)], f"espeak {voice}"
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    base = rng.uniform(800, 1500)
    contour = 1 + 0.25 * np.sin(np.pi * t / seconds)  # rises, then falls
    waver = 1 + 0.06 * np.sin(2 * np.pi * rng.uniform(5, 9) * t) + 0.03 * np.sin(2 * np.pi * 1.7 * t)
    phase = 2 * np.pi * np.cumsum(base * contour * waver) / RATE
    share = rng.uniform(0.4, 0.8)
    tone = share * (2 * ((phase / (2 * np.pi)) % 1) - 1) + (1 - share) * np.sign(np.sin(phase))
    tremolo = 1 + 0.3 * np.sin(2 * np.pi * rng.uniform(4, 8) * t)
    envelope = np.minimum(1, np.minimum(t / 0.08, (seconds - t) / 0.3))
    hiss = np.random.default_rng(rng.randrange(2**32)).standard_normal(n) * 0.08
    audio = sox_effects(((tone * tremolo + hiss) * envelope).astype(np.float32) * 0.5, ["lowpass", "4000"], tmp)
    return audio, f"synth {base:.0f} Hz"


def room_noise(kind: str, seconds: float, rng: random.Random, tmp: Path) -> np.ndarray:
    """Noise alone: room tone, mains hum, a fan, clatter, or brown noise with low tones."""
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    if kind == "room":
        return sox_effects(noise_piece("pink", seconds, rng, tmp), ["lowpass", "1200"], tmp)
    if kind == "hum":
        mains = rng.choice([50, 60])
        tone = sum(np.sin(2 * np.pi * mains * k * t) / k for k in (1, 2, 3, 4))
        return tone + 0.05 * noise_piece("white", seconds, rng, tmp)
    if kind == "fan":
        whoosh = sox_effects(noise_piece("pink", seconds, rng, tmp), ["bandpass", "400", "200"], tmp)
        return whoosh / rms(whoosh) + 0.3 * np.sin(2 * np.pi * rng.uniform(90, 140) * t)
    if kind == "clatter":
        brown = noise_piece("brown", seconds, rng, tmp)
        out = 0.1 * brown / rms(brown)
        hits = noise_piece("white", seconds, rng, tmp)
        for _ in range(rng.randrange(3, 9)):
            start = rng.randrange(0, n - RATE // 4)
            length = rng.randrange(RATE // 50, RATE // 5)
            decay = np.exp(-np.arange(length) / RATE * rng.uniform(20, 60))
            ring = np.sin(2 * np.pi * rng.uniform(1500, 4000) * np.arange(length) / RATE)
            out[start : start + length] += rng.uniform(0.5, 1.5) * (hits[start : start + length] + ring) * decay
        return out
    brown = noise_piece("brown", seconds, rng, tmp)
    tones = sum(np.sin(2 * np.pi * rng.uniform(60, 220) * t) * rng.uniform(0.2, 0.6) for _ in range(2))
    return brown / rms(brown) + tones


def pick_voice(rng: random.Random) -> str:
    return rng.choices(list(VOICES), weights=[w for _, w in VOICES.values()])[0] + rng.choice(VARIANTS)


def say(text: str, voice: str, rng: random.Random, tmp: Path, max_seconds: float) -> tuple[np.ndarray, int, int]:
    speed, pitch = rng.randrange(140, 191, 5), rng.randrange(30, 71, 5)
    while True:
        audio = speak(text, voice, speed, pitch, (0.1, 0.1), tmp)
        if len(audio) <= max_seconds * RATE or speed >= 280:
            return audio / (float(np.max(np.abs(audio))) or 1.0) * 0.5, speed, pitch
        speed += 15


def overheard(category: str, lines: tuple[str, ...], rng: random.Random, tmp: Path) -> tuple[np.ndarray, dict]:
    """TV or two people talking, not to the device: speech, maybe music or noise, maybe far."""
    voices = [pick_voice(rng) for _ in lines]
    parts = []
    for line, voice in zip(lines, voices, strict=True):
        audio, _, _ = say(line, voice, rng, tmp, 6.5 / len(lines))
        parts += [audio, np.zeros(int(rng.uniform(0.2, 0.5) * RATE), dtype=np.float32)]
    speech = np.concatenate([np.zeros(int(rng.uniform(0, 0.3) * RATE), dtype=np.float32), *parts])
    if len(speech) < MIN_SECONDS * RATE:
        speech = np.pad(speech, (0, int(MIN_SECONDS * RATE) - len(speech) + 160))
    how = {"voice": " / ".join(voices), "device": rng.choice(list(DEVICES)), "noise": "", "snr_db": None}
    backing = rng.random()
    if backing < 0.35:
        snr = rng.choice([15, 10, 5])
        speech = mix(speech, music(len(speech) / RATE, rng), snr)
        how.update(noise="music", snr_db=snr)
    elif backing < 0.7:
        kind, snr = rng.choice(NOISES), rng.choice([20, 15, 10])
        speech = mix(speech, noise_piece(kind, len(speech) / RATE, rng, tmp), snr)
        how.update(noise=kind, snr_db=snr)
    how["far"] = rng.random() < 0.4
    if how["far"]:
        speech = sox_effects(speech, FAR, tmp)
    audio = through_device(speech, how["device"], tmp)
    return (level(audio, rng, 14, 24) if how["far"] else level(audio, rng, 3, 12)), how


# --- texts with labelled spans ---------------------------------------------------------------


def spoken_digits(digits: str, groups: list[int], oh: bool) -> str:
    words, pos = [], 0
    for size in groups:
        group = [("oh" if oh and d == "0" else DIGITS[int(d)]) for d in digits[pos : pos + size]]
        words.append(" ".join(group))
        pos += size
    return ", ".join(words)


def fill(template: str, rng: random.Random, catalog: dict[str, tuple[str, str]]) -> tuple[str, list[dict], list[dict]]:
    """The template's placeholders filled; the PII and catalog names as word indexes."""
    song, artist = rng.choice(CATALOG_SONGS)
    first, last = rng.choice(FIRST), rng.choice(LAST)
    surname, number = last.replace("'", ""), spoken_digits(str(rng.randrange(10, 100)), [2], oh=False)
    digits = "".join(rng.choice("0123456789") for _ in range(16))
    values = {
        "PHONE": rng.choice(
            [
                spoken_digits("555" + digits[:7], [3, 4, 3], oh=False),
                spoken_digits("07" + digits[:9], [5, 3, 3], oh=True),
                spoken_digits("0" + digits[:10], [4, 3, 4], oh=rng.random() < 0.5),
            ]
        ),
        "EMAIL": rng.choice([f"{first} dot {surname}", f"{first} underscore {surname}", f"{first} {number}"])
        + f" at {rng.choice(DOMAINS)}",
        "ADDRESS": f"{rng.choice(HOUSES)} {rng.choice(STREETS)}" + rng.choice(["", "", f" {rng.choice(TOWNS)}"]),
        "CARD": spoken_digits("4" + digits[:15], [4, 4, 4, 4], oh=False),
        "ACCOUNT": spoken_digits(digits[:8], [4, 4], oh=False),
        "NAME": rng.choice([first, f"{first} {last}"]),
        "RELATION": rng.choice(RELATIONS),
        "SONG": song,
        "ARTIST": artist if "{SONG}" in template else rng.choice(CATALOG_ARTISTS + [a for _, a in CATALOG_SONGS]),
    }
    text, spans = "", []
    for piece in re.split(r"(\{[A-Z]+\})", template):
        if piece.startswith("{"):
            name = piece[1:-1]
            spans.append((name, len(text), len(text) + len(values[name])))
            piece = values[name]
        text += piece
    starts = [m.start() for m in re.finditer(r"\S+", text)]
    pii, names = [], []
    for name, start, end in spans:
        words = [i for i, s in enumerate(starts) if start <= s < end]
        if name in ("SONG", "ARTIST"):
            name, kind = catalog[" ".join(text.split()[i] for i in words)]
            names.append({"name": name, "kind": kind, "words": words})
        elif name != "RELATION":
            pii.append({"type": name, "words": words})
    return text, pii, names


def load_catalog() -> dict[str, tuple[str, str]]:
    """Lower-case catalog name -> its name and kind (songs, albums and artists)."""
    names: dict[str, tuple[str, str]] = {}
    for line in CATALOG.read_text().splitlines():
        entry = json.loads(line)
        if entry["kind"] in ("song", "album", "artist"):
            names.setdefault(entry["name"].lower(), (entry["name"], entry["kind"]))
    return names


# --- the sets ------------------------------------------------------------------------------


def plan(rng: random.Random, catalog: dict[str, tuple[str, str]]) -> list[dict]:
    """Every clip's set, category, text and labels, before any sound."""
    commands = utterances(rng)
    rng.shuffle(commands)
    gate: list[dict] = []
    gate += [{"category": "noise", "kind": NOISE_KINDS[i % len(NOISE_KINDS)], "accidental": True} for i in range(20)]
    gate += [{"category": "tv", "lines": (line,), "accidental": True} for line in TV]
    gate += [{"category": "conversation", "lines": pair, "accidental": True} for pair in DIALOGUE]
    for i, (category, text) in enumerate(commands[:70]):
        wake = rng.choice(WAKE_PHRASES) if i % 5 == 0 else ""
        command = {"category": "command", "text": text, "intent_of": category, "accidental": False}
        gate.append(command | {"wake": wake, "noisy": i % 2 == 1})

    pii: list[dict] = []
    seen: set[str] = set()
    for category, count in PII_COUNTS.items():
        templates = PII_TEMPLATES[category][2]
        while sum(1 for c in pii if c["category"] == category) < count:
            text, spans, names = fill(rng.choice(templates), rng, catalog)
            if text not in seen:
                seen.add(text)
                pii.append({"category": category, "text": text, "pii": spans, "catalog": names})
    while len(pii) < sum(PII_COUNTS.values()) + CATALOG_COUNT:
        text, spans, names = fill(rng.choice(CATALOG_TEMPLATES), rng, catalog)
        if text not in seen:
            seen.add(text)
            pii.append({"category": "catalog", "text": text, "pii": spans, "catalog": names})
    for i, clip in enumerate(pii):
        clip["noisy"] = i % 6 == 5

    distress: list[dict] = []
    distress += [{"category": "speech", "text": text, "distress": True} for text in DISTRESS[:14]]
    distress += [{"category": "speech_scream", "text": text, "distress": True} for text in DISTRESS[14:]]
    distress += [{"category": "scream", "text": "", "distress": True} for _ in range(8)]
    for i, (category, text) in enumerate(commands[70:86]):
        distress.append(
            {"category": "command", "text": text, "intent_of": category, "distress": False, "noisy": i % 3 == 2}
        )
    distress += [{"category": "confusable", "text": text, "distress": False, "noisy": False} for text in CONFUSABLE]
    distress += [{"category": "music", "text": "", "distress": False} for _ in range(6)]
    distress += [{"category": "shouted", "text": text, "distress": False} for text in SHOUTED]

    # The device's wake-word score. Commands: mostly 0.6-0.99, a few 0.5-0.6; accidental: mostly
    # 0.5-0.8. The pii and distress sets' clips are drawn like commands.
    for clip in gate + pii + distress:
        if clip.get("accidental"):
            score = 0.5 + 0.5 * rng.betavariate(1.6, 3.2)
        else:
            score = rng.uniform(0.5, 0.6) if rng.random() < 0.07 else 0.5 + 0.5 * rng.betavariate(4, 1.4)
        clip["wake_word_score"] = round(min(score, 0.999), 3)
    clips = []
    for name, members in (("gate", gate), ("pii", pii), ("distress", distress)):
        rng.shuffle(members)
        clips += [clip | {"set": name} for clip in members]
    return clips


def make(clip: dict, rng: random.Random, tmp: Path) -> tuple[np.ndarray, dict]:
    """A clip's audio and how it was made."""
    category, text = clip["category"], clip.get("text", "")
    if category == "noise":
        seconds = round(rng.uniform(1.6, 4.5), 2)
        device = rng.choice(list(DEVICES))
        audio = through_device(room_noise(clip["kind"], seconds, rng, tmp), device, tmp)
        return level(audio, rng, 6, 20), {"voice": "", "device": device, "noise": clip["kind"], "snr_db": None}
    if category in ("tv", "conversation"):
        return overheard(category, clip["lines"], rng, tmp)
    if category in ("speech", "speech_scream", "shouted"):
        spoken, how = render(text, rng, False, tmp, speeds=(195, 246), pitches=(70, 100))
        spoken = sox_effects(spoken, SHOUT, tmp) if category != "shouted" or rng.random() < 0.5 else spoken
        if category == "speech_scream":
            sound, kind = scream(rng.uniform(0.8, 1.6), rng, tmp)
            sound = through_device(sound, how["device"], tmp)
            gap = np.zeros(int(rng.uniform(0.05, 0.3) * RATE), dtype=np.float32)
            sound = sound / (float(np.max(np.abs(sound))) or 1.0) * float(np.max(np.abs(spoken)))
            spoken = np.concatenate([sound, gap, spoken] if rng.random() < 0.5 else [spoken, gap, sound])
            how["scream"] = kind
        if category == "shouted":
            spoken = mix(spoken, music(len(spoken) / RATE, rng), rng.choice([5, 0]))
            how.update(noise="music")
        return level(spoken, rng, 0.5, 2), how
    if category == "scream":
        screams = [scream(rng.uniform(0.8, 2.0), rng, tmp) for _ in range(rng.choice([1, 1, 2]))]
        parts = [np.zeros(int(0.2 * RATE), dtype=np.float32)]
        for sound, _ in screams:
            parts += [sound / (float(np.max(np.abs(sound))) or 1.0), np.zeros(int(rng.uniform(0.2, 0.6) * RATE))]
        audio = np.concatenate(parts).astype(np.float32)
        if len(audio) < MIN_SECONDS * RATE:
            audio = np.pad(audio, (0, int(MIN_SECONDS * RATE) - len(audio) + 160))
        kind = rng.choice(NOISES)
        audio = mix(audio, noise_piece(kind, len(audio) / RATE, rng, tmp), 25)
        device = rng.choice(list(DEVICES))
        how = {"voice": "", "device": device, "noise": kind, "snr_db": 25, "scream": " + ".join(k for _, k in screams)}
        return level(through_device(audio, device, tmp), rng, 0.5, 3), how
    if category == "music":
        device = rng.choice(list(DEVICES))
        audio = through_device(music(rng.uniform(2.0, 5.0), rng), device, tmp)
        return level(audio, rng, 0.5, 2), {"voice": "", "device": device, "noise": "music", "snr_db": None}
    spoken = f"{clip['wake']}, {text}" if clip.get("wake") else text
    snrs = [20, 15, 10] if clip["set"] == "gate" else [25, 20]
    return render(spoken, rng, clip.get("noisy", False), tmp, snrs=snrs, max_seconds=MAX_SECONDS)


def intent_of(clip: dict) -> tuple[str, str]:
    if "intent_of" in clip:
        intent, response, _ = CATEGORIES[clip["intent_of"]]
        return intent, response
    if clip["set"] == "pii":
        if clip["category"] == "catalog":
            return ("MakeCall", "Sent") if clip["pii"] else ("PlayMusic", "Playing now")
        return PII_TEMPLATES[clip["category"]][:2]
    if clip["category"] in ("noise", "scream", "music"):
        return "", ""
    if clip["set"] == "gate":  # what the device made of TV or talk
        return ("GeneralQuestion", "Here's what I found") if len(clip["lines"][0]) % 2 else ("", "")
    if clip["category"] == "confusable":
        return "GeneralQuestion", "Here's what I found"
    if clip["category"] == "shouted":
        return "PlayMusic", "Okay"
    return "", "Sorry, I didn't catch that"


def main() -> None:
    rng = random.Random(SEED)
    catalog = load_catalog()
    clips = plan(rng, catalog)
    CLIPS.mkdir(parents=True, exist_ok=True)
    for old in CLIPS.glob("*.ogg"):
        old.unlink()
    rows, labels = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for number, clip in enumerate(clips, start=1):
            reference = " ".join(clip["lines"]) if "lines" in clip else clip.get("text", "")
            if clip.get("wake"):
                reference = f"{clip['wake']} {reference}"
            clip_rng = random.Random(f"{SEED}/{number}/{clip['set']}/{clip['category']}/{reference}")
            audio, how = make(clip, clip_rng, Path(tmp))
            seconds = len(audio) / RATE
            assert MIN_SECONDS <= seconds <= MAX_SECONDS, f"{number} {reference!r}: {seconds:.2f} s"
            voice = how["voice"].split(" / ")[0].split("+")[0]
            locale = VOICES[voice][0] if voice else clip_rng.choice(["en-US", "en-GB"])
            heard = (clip.get("text", "") if "lines" not in clip else reference).replace(",", "")
            row = manifest_row(number, "timer", heard, locale, how["device"], clip_rng)
            account = int(row["account_id"].rsplit("-", 1)[1])
            digits = int(hashlib.sha256(f"SYNTH-PROTECT-{account}/{how['device']}".encode()).hexdigest(), 16) % 10**8
            row["intent"], row["response"] = intent_of(clip)
            row.update(
                audio=f"clips/{number:03d}-{clip['set']}-{clip['category'].replace('_', '-')}.ogg",
                account_id=f"SYNTH-PROTECT-{account:04d}",
                device_serial=f"SYNTH{digits:08d}",
                wake_word_score=clip["wake_word_score"],
            )
            encode_opus(audio, OUT / row["audio"])
            rows.append(row)
            label = {"audio": row["audio"], "set": clip["set"], "category": clip["category"]}
            label["reference"] = reference.replace(",", "")
            for key in ("accidental", "pii", "catalog", "distress"):
                if key in clip:
                    label[key] = clip[key]
            if clip["set"] == "gate" and not clip["accidental"]:
                label["wake_phrase"] = clip["wake"]
            label |= {"seconds": round(seconds, 2), **how}
            labels.append(label)
            size = (OUT / row["audio"]).stat().st_size
            print(f"{row['audio']:34} {seconds:4.1f} s {size / 1024:5.1f} KB  {reference[:70]}")
    write_jsonl(OUT / "manifest.jsonl", rows)
    write_jsonl(OUT / "labels.jsonl", labels)
    total = sum(p.stat().st_size for p in CLIPS.glob("*.ogg"))
    seconds = sum(label["seconds"] for label in labels)
    counts = Counter(f"{label['set']}/{label['category']}" for label in labels)
    print(", ".join(f"{name} {count}" for name, count in counts.items()))
    print(f"{len(rows)} clips, {seconds:.0f} s of audio, {total / 1024:.0f} KB in {CLIPS}")


if __name__ == "__main__":
    main()
