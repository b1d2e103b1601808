"""Generate the demo clips (demo/clips/*.ogg), demo/manifest.jsonl and demo/gold.jsonl.

Speech comes from espeak-ng, effects and noise from sox, the Opus-in-Ogg encoding
from PyAV. Voices, speeds, noise and metadata are all fixed or seeded, so a
rerun writes the same bytes.

    .venv/bin/python scripts/make_demo_audio.py
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import subprocess
import tempfile
import wave
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import NamedTuple

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
CLIPS = DEMO / "clips"
RATE = 16_000
BITRATE = 20_000
SEED = 20261117
ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
SOX = shutil.which("sox") or "/usr/bin/sox"
WAKE_WORDS = ("Alexa", "Computer", "Echo")


class Clip(NamedTuple):
    slug: str
    text: str  # what is really said; "" for a noise-only clip
    voice: str  # espeak-ng voice+variant
    speed: int  # words per minute
    pitch: int  # 0..99
    noise: str  # "" or "<white|pink|brown>:<SNR dB>"
    device: str  # speaker | phone | tv | car
    heard: str  # the assistant's own ASR, sometimes wrong
    response: str
    intent: str


# fmt: off
SPEC = [
    # The first clips a reviewer meets, in this order; the README's "What to try" names two of them.
    # Whisper tiny.en must hear "Taylor Swift" in the first (it hears "Alexa, please shake it off my
    # Taylor Swift, please."; without ", please" it heard "my tailor's with"), and "help me, somebody
    # help" in the fourth, the one to flag.
    Clip("shake-it-off", "Alexa, play Shake It Off by Taylor Swift, please.", "en-us+f3", 145, 55, "",
         "speaker", "play shake it off my taylor swift", "Playing Shake It Off by Taylor Swift", "PlayMusic"),
    Clip("weather-today", "Alexa, what's the weather like today?", "en-us", 160, 50, "",
         "speaker", "what's the weather like today", "Today in Boston, expect clouds and a high of 48 degrees",
         "GetWeather"),
    Clip("halo-beyonce", "Alexa, play Halo by Beyoncé", "en-us+m3", 165, 45, "pink:14",
         "speaker", "play hello by beyonce", "Playing Hello by Adele", "PlayMusic"),
    Clip("help-me", "Help me, somebody help! He is hurting me. Call the police!", "en-us+f2", 155, 70,
         "pink:18", "speaker", "help me somebody help", "Sorry, I'm not sure about that", "Unknown"),
    # Music requests.
    Clip("shape-of-you", "Computer, play Shape of You by Ed Sheeran", "en-gb", 160, 50, "",
         "phone", "play shape of you by ed sheeran", "Playing Shape of You by Ed Sheeran", "PlayMusic"),
    Clip("bad-guy", "Alexa, play Bad Guy by Billie Eilish", "en-us+f2", 175, 60, "white:18",
         "speaker", "play bad guy by billy eyelash", "Playing Bad Guy by Billie Eilish", "PlayMusic"),
    Clip("gods-plan", "Alexa, play God's Plan by Drake", "en-us-nyc", 170, 40, "brown:10",
         "car", "play god's plan by drake", "Playing God's Plan by Drake", "PlayMusic"),
    Clip("rolling-in-the-deep", "Computer, play Rolling in the Deep by Adele", "en-gb+f4", 155, 58, "",
         "speaker", "play rolling in the deep by adele", "Playing Rolling in the Deep by Adele", "PlayMusic"),
    Clip("titi-me-pregunto", "Alexa, play Tití Me Preguntó by Bad Bunny", "en-us+m2", 170, 48, "pink:12",
         "phone", "play tea tea me pregunto by bad bunny", "I couldn't find Tea Tea Me Pregunto on Spotify",
         "PlayMusic"),
    Clip("yellow-coldplay", "Alexa, play Yellow by Coldplay", "en-gb-x-rp", 150, 50, "",
         "tv", "play yellow by cold play", "Playing Yellow by Coldplay", "PlayMusic"),
    Clip("shuffle-weeknd", "Alexa, shuffle songs by The Weeknd", "en-us+f4", 160, 62, "white:16",
         "speaker", "shuffle songs by the weekend", "Shuffling songs by The Weekend", "PlayMusic"),
    Clip("flowers-miley", "Computer, play Flowers by Miley Cyrus", "en-us+m7", 165, 42, "",
         "phone", "play flowers by miley cyrus", "Playing Flowers by Miley Cyrus", "PlayMusic"),
    Clip("anti-hero", "Alexa, play Anti-Hero by Taylor Swift", "en-029", 180, 50, "pink:9",
         "car", "play auntie hero by taylor swift", "Playing Anti-Hero by Taylor Swift", "PlayMusic"),
    Clip("blinding-lights", "Alexa, play Blinding Lights", "en-us+f5", 155, 66, "",
         "speaker", "play blinding lights", "Playing Blinding Lights by The Weeknd", "PlayMusic"),
    Clip("dua-lipa", "Echo, play something by Dua Lipa", "en-gb+m3", 160, 45, "brown:12",
         "speaker", "echo play something by do a lipa", "Playing Levitating by Dua Lipa", "PlayMusic"),
    Clip("as-it-was", "Alexa, play As It Was by Harry Styles", "en-gb-scotland", 170, 52, "",
         "tv", "play as it was by harry styles", "Playing As It Was by Harry Styles", "PlayMusic"),
    # Weather.
    Clip("rain-london", "Alexa, will it rain in London tomorrow?", "en-gb+f3", 165, 56, "pink:15",
         "speaker", "will it rain in london tomorrow", "Tomorrow in London there's a 70 percent chance of rain",
         "GetWeather"),
    Clip("temperature-outside", "Computer, what's the temperature outside?", "en-us+m1", 155, 44, "",
         "phone", "what's the temperature outside", "It's 41 degrees in Denver right now", "GetWeather"),
    Clip("umbrella-seattle", "Alexa, do I need an umbrella in Seattle?", "en-us+f1", 175, 58, "white:12",
         "car", "do i need an umbrella in seattle", "Yes, rain is likely in Seattle today", "GetWeather"),
    Clip("forecast-manchester", "Alexa, what's the forecast for Manchester this weekend?", "en-gb", 165, 46,
         "", "speaker", "what's the forecast for manchester this weekend",
         "This weekend in Manchester, expect showers and highs around 9 degrees", "GetWeather"),
    Clip("windy-chicago", "Alexa, how windy is it in Chicago?", "en-us-nyc+m4", 175, 40, "brown:9",
         "speaker", "how windy is it in chicago", "Right now in Chicago it's 38 degrees with clear skies",
         "GetWeather"),
    # Timers.
    Clip("timer-ten-minutes", "Alexa, set a timer for ten minutes.", "en-us", 150, 50, "",
         "speaker", "set a timer for ten minutes", "Ten minutes, starting now", "SetTimer"),
    Clip("timer-fifteen-minutes", "Alexa, set a timer for fifteen minutes.", "en-us+f3", 180, 60, "pink:10",
         "speaker", "set a timer for fifty minutes", "Fifty minutes, starting now", "SetTimer"),
    Clip("cancel-timer", "Alexa, cancel the timer.", "en-us+m3", 160, 45, "",
         "speaker", "cancel the timer", "Timer cancelled", "CancelTimer"),
    Clip("time-left", "Alexa, how much time is left on my timer?", "en-029+f4", 170, 55, "white:14",
         "phone", "how much time is left on my time", "Sorry, I don't know that one", "Unknown"),
    Clip("timer-thirty-seconds", "Alexa, set a timer for thirty seconds.", "en-gb-x-rp+m5", 165, 48, "",
         "tv", "set a timer for thirty seconds", "Thirty seconds, starting now", "SetTimer"),
    # Shopping list.
    Clip("add-milk", "Alexa, add milk.", "en-us+f2", 150, 58, "",
         "speaker", "add milk", "I've added milk to your shopping list", "AddToShoppingList"),
    Clip("eggs-and-bread", "Alexa, add eggs and bread to the shopping list.", "en-us+m2", 165, 46, "pink:16",
         "speaker", "add eggs and bread to the shopping list", "I've added eggs and bread to your shopping list",
         "AddToShoppingList"),
    Clip("washing-up-liquid", "Alexa, add washing up liquid to my shopping list.", "en-gb-scotland+f3", 165,
         55, "", "speaker", "add washing up liquid to my shopping list",
         "I've added washing up liquid to your shopping list", "AddToShoppingList"),
    Clip("whats-on-list", "Alexa, what's on my shopping list?", "en-us+m6", 160, 42, "",
         "speaker", "what's on my shopping list", "You have three items on your shopping list: milk, eggs and bread",
         "GetShoppingList"),
    # General questions.
    Clip("tokyo-time", "Computer, what time is it in Tokyo?", "en-us+f1", 165, 56, "white:15",
         "phone", "what time is it in tokyo", "It's 4:12 AM in Tokyo", "GeneralQuestion"),
    Clip("teaspoons", "Alexa, how many teaspoons are in a tablespoon?", "en-us-nyc", 170, 50, "pink:13",
         "speaker", "how many tea spoons are in a table spoon", "There are three teaspoons in a tablespoon",
         "GeneralQuestion"),
    # No wake word: accidental recordings.
    Clip("feed-the-cat", "Did you remember to feed the cat?", "en-us+f4", 170, 60, "pink:12",
         "speaker", "did you remember to feed the cat", "", "Unknown"),
    Clip("traffic-chat", "I told him we'd be there by seven, but the traffic was awful.", "en-gb+m4", 180, 46,
         "brown:10", "car", "i told him we'd be there by seven but the traffic", "Sorry, I'm not sure about that",
         "Unknown"),
    Clip("blue-one", "No, not that one. The blue one, on the left.", "en-us+m1", 165, 44, "white:13",
         "tv", "the blue one on the left", "", "Unknown"),
    # Noise only, no speech.
    Clip("noise-pink", "", "", 0, 0, "pink:0", "speaker", "uh", "", "Unknown"),
    Clip("noise-brown", "", "", 0, 0, "brown:0", "car", "", "", "Unknown"),
]

# Gold clips of the demo queue (load_demo): their reference is the scripted text. Whisper gets
# words of each wrong, so submitting its text unchanged shows on the lead's gold page.
GOLD = [
    Clip("eiffel-tower", "Alexa, how tall is the Eiffel Tower?", "en-gb+m1", 160, 48, "",
         "speaker", "how tall is the eiffel tower", "The Eiffel Tower is 330 metres tall", "GeneralQuestion"),
    Clip("pasta-timer", "Computer, set a pasta timer for eight minutes.", "en-gb+f2", 160, 55, "",
         "speaker", "set a pasta timer for eight minutes", "Pasta timer, eight minutes, starting now",
         "SetTimer"),
    Clip("oat-milk", "Computer, put oat milk on my shopping list.", "en-us+f5", 170, 64, "brown:11",
         "phone", "put oatmeal on my shopping list", "I've added oatmeal to your shopping list",
         "AddToShoppingList"),
]
# fmt: on

# Clips whose subjects opt out, each from an account of its own: an opt-out erases the account's
# earlier clips (README, opt-out and erasure), which must not take clips the README names.
OPTED_OUT = {
    "cancel-timer": ("ACCT-6120-7745", "Nadia", "en-US", -5),
    "add-milk": ("ACCT-6120-9031", "Luis", "en-US", -6),
}

# account_id, first_name, locale, UTC offset in hours
ACCOUNTS = [
    ("ACCT-7731-0042", "Megan", "en-US", -5),
    ("ACCT-7731-0187", "Darnell", "en-US", -5),
    ("ACCT-2209-5530", "Priya", "en-US", -8),
    ("ACCT-2209-6114", "Tom", "en-US", -8),
    ("ACCT-4418-0903", "Rosa", "en-US", -6),
    ("ACCT-4418-2276", "Kevin", "en-US", -7),
    ("ACCT-9052-3381", "Aisha", "en-US", -5),
    ("ACCT-1160-4427", "Oliver", "en-GB", 0),
    ("ACCT-1160-8812", "Fiona", "en-GB", 0),
    ("ACCT-3375-0619", "Hamish", "en-GB", 0),
]
SERIAL_PREFIX = {"speaker": "G090LF", "phone": "P2A7RQ", "tv": "G0C3NT", "car": "A9K4CR"}
START = datetime(2026, 11, 17, tzinfo=UTC)
DAYS = 4


def run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768


def sox_noise(kind: str, seconds: float, tmp: Path) -> np.ndarray:
    path = tmp / f"{kind}.wav"
    run(SOX, "-R", "-n", "-r", str(RATE), "-c", "1", "-b", "16", str(path), "synth", f"{seconds}", f"{kind}noise")
    return read_wav(path)


def speech(clip: Clip, tmp: Path) -> np.ndarray:
    raw, out = tmp / "raw.wav", tmp / "speech.wav"
    run(ESPEAK, "-v", clip.voice, "-s", str(clip.speed), "-p", str(clip.pitch), "-w", str(raw), clip.text)
    effects = {
        "phone": ["highpass", "300", "lowpass", "3400"],
        "car": ["lowpass", "3000"],
        "tv": ["reverb", "40"],
        "speaker": ["reverb", "15"],
    }[clip.device]
    run(SOX, "-R", str(raw), "-r", str(RATE), "-b", "16", str(out), *effects, "pad", "0.35", "0.45")
    return read_wav(out)


def render(clip: Clip, rng: np.random.Generator, tmp: Path) -> np.ndarray:
    kind, _, snr = clip.noise.partition(":")
    if not clip.text:
        seconds = 2.5 + rng.random() * 1.5
        return 0.25 * sound_level(sox_noise(kind, seconds, tmp), rng)
    audio = speech(clip, tmp)
    if len(audio) < 1.6 * RATE:
        audio = np.pad(audio, (0, int(1.6 * RATE) - len(audio)))
    audio = sound_level(audio, rng)
    if kind:
        noise = sox_noise(kind, 8.0, tmp)
        start = int(rng.integers(0, len(noise) - len(audio)))
        noise = noise[start : start + len(audio)]
        voiced = audio[np.abs(audio) > 0.02]
        gain = rms(voiced) / rms(noise) / 10 ** (float(snr) / 20)
        audio = audio + gain * noise
    return np.clip(audio, -1, 1)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) or 1e-9


def sound_level(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scale to a peak between -9 and -3 dBFS, like recordings at varied distances."""
    peak = float(np.max(np.abs(x))) or 1.0
    return x / peak * 10 ** (-(3 + 6 * rng.random()) / 20)


def encode_opus(audio: np.ndarray, path: Path) -> None:
    samples = np.round(audio * 32767).astype("<i2")[None, :]
    frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
    frame.sample_rate = RATE
    # bitexact: fixed Ogg serial number and no encoder version tag, so reruns match.
    with av.open(str(path), "w", format="ogg", options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream("libopus", rate=RATE, layout="mono")
        stream.bit_rate = BITRATE
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def serial(account_id: str, device: str) -> str:
    digits = int(hashlib.sha256(f"{account_id}/{device}".encode()).hexdigest(), 16) % 10**10
    return f"{SERIAL_PREFIX[device]}{digits:010d}"


def manifest_row(clip: Clip, audio_path: str, rng: random.Random) -> dict:
    locale = "en-GB" if clip.voice.startswith("en-gb") else "en-US"
    account_id, first_name, _, offset = rng.choice([a for a in ACCOUNTS if a[2] == locale])
    if clip.slug in OPTED_OUT:
        account_id, first_name, _, offset = OPTED_OUT[clip.slug]
    has_wake_word = clip.text.startswith(WAKE_WORDS)
    score = rng.uniform(0.72, 0.99) if has_wake_word else rng.uniform(0.1, 0.3)
    local_tz = timezone(timedelta(hours=offset))
    day = rng.randrange(DAYS)
    local_time = timedelta(days=day, hours=rng.randrange(7, 23), seconds=rng.randrange(3600))
    captured_at = (START + local_time - timedelta(hours=offset)).astimezone(local_tz)
    return {
        "audio": audio_path,
        "captured_at": captured_at.isoformat(),
        "locale": locale,
        "device_type": clip.device,
        "heard": clip.heard,
        "response": clip.response,
        "intent": clip.intent,
        "wake_word_score": round(score, 3),
        "account_id": account_id,
        "first_name": first_name,
        "device_serial": serial(account_id, clip.device),
        "opted_out": clip.slug in OPTED_OUT,
    }


def clip_rng(clip: Clip) -> np.random.Generator:
    """The clip's own noise and level, seeded by its name: reordering the clips changes no audio."""
    return np.random.default_rng([SEED, int(hashlib.sha256(clip.slug.encode()).hexdigest()[:8], 16)])


def main() -> None:
    assert len(OPTED_OUT.keys() & {c.slug for c in SPEC}) == len(OPTED_OUT)
    assert not {c.slug for c in GOLD} & {c.slug for c in SPEC}
    CLIPS.mkdir(parents=True, exist_ok=True)
    for old in [*CLIPS.glob("clip-*.ogg"), *CLIPS.glob("gold-*.ogg")]:
        old.unlink()
    meta_rng = random.Random(SEED)
    rows, gold_rows = [], []
    # The gold clips lead the manifest: load_demo imports them before it makes the queue, so
    # that they are only ever served as gold (docs/leads.md), then the others in reviewer order.
    named = [(f"gold-{n:02d}-{c.slug}.ogg", c) for n, c in enumerate(GOLD, start=1)]
    named += [(f"clip-{n:03d}-{c.slug}.ogg", c) for n, c in enumerate(SPEC, start=1)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, clip in named:
            audio = render(clip, clip_rng(clip), Path(tmp))
            seconds = len(audio) / RATE
            assert 1.5 <= seconds <= 6.0, f"{clip.slug}: {seconds:.2f} s"
            encode_opus(audio, CLIPS / name)
            rows.append(manifest_row(clip, f"clips/{name}", meta_rng))
            if clip in GOLD:
                gold_rows.append({"audio": f"clips/{name}", "reference_text": clip.text})
            print(f"{name:40} {seconds:4.1f} s {(CLIPS / name).stat().st_size / 1024:5.1f} KB")
    for path, lines in ((DEMO / "manifest.jsonl", rows), (DEMO / "gold.jsonl", gold_rows)):
        with path.open("w") as f:
            for row in lines:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    total = sum(p.stat().st_size for p in CLIPS.glob("*.ogg"))
    print(f"{len(rows)} clips ({len(gold_rows)} gold), {total / 1024:.0f} KB, manifest at {DEMO / 'manifest.jsonl'}")


if __name__ == "__main__":
    main()
