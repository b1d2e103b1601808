"""Generate the audio fixtures in tests/fixtures/audio/ and check how PyAV reads them.

Speech comes from espeak-ng, resampling from sox, every encoding from PyAV.
Output is deterministic (bitexact muxing), so rerunning leaves git clean.

    .venv/bin/python scripts/make_test_audio.py
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "audio"
ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
SOX = shutil.which("sox") or "/usr/bin/sox"
SENTENCE = "set a timer for ten minutes"
TRUNCATE_AT = 0.4

# name, container format, codec, sample rate, sample format, bit rate
TIMER = [
    ("timer.wav", "wav", "pcm_s16le", 16_000, "s16", None),
    ("timer.mp3", "mp3", "libmp3lame", 22_050, "s16p", 32_000),
    ("timer.ogg", "ogg", "libopus", 16_000, "s16", 24_000),
    ("timer.flac", "flac", "flac", 16_000, "s16", None),
    ("timer.m4a", "ipod", "aac", 16_000, "fltp", 32_000),
]
TRUNCATED = ["timer.ogg", "timer.wav", "timer.flac"]


def speak(text: str, rate: int, tmp: Path) -> np.ndarray:
    """espeak-ng (en-us) resampled by sox; mono int16."""
    raw, out = tmp / "raw.wav", tmp / "speech.wav"
    subprocess.run([ESPEAK, "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run([SOX, "-R", str(raw), "-r", str(rate), "-b", "16", str(out)], check=True)
    with wave.open(str(out)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def tone(seconds: float, rate: int, hz: float = 440.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.round(level * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")


def encode(
    path: Path,
    samples: np.ndarray,
    rate: int,
    *,
    fmt: str = "wav",
    codec: str = "pcm_s16le",
    sample_fmt: str = "s16",
    bit_rate: int | None = None,
) -> None:
    """Encode int16 samples, shape (channels, n), with PyAV."""
    layout = "mono" if samples.shape[0] == 1 else "stereo"
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.T).reshape(1, -1), format="s16", layout=layout)
    frame.sample_rate = rate
    with av.open(str(path), "w", format=fmt, options={"fflags": "+bitexact"}) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        stream.format = sample_fmt
        if bit_rate:
            stream.bit_rate = bit_rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def build() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, fmt, codec, rate, sample_fmt, bit_rate in TIMER:
            speech = speak(SENTENCE, rate, Path(tmp))[None, :]
            encode(OUT / name, speech, rate, fmt=fmt, codec=codec, sample_fmt=sample_fmt, bit_rate=bit_rate)
        # Left: speech, right: a 440 Hz tone; 1 s at 44.1 kHz, to test downmix and resample.
        rate = 44_100
        left = np.resize(speak("hello there", rate, Path(tmp)), rate)
        encode(OUT / "stereo44k.wav", np.stack([left, tone(1, rate)]), rate)
    encode(OUT / "silence.wav", np.zeros((1, 16_000), dtype="<i2"), 16_000)
    # 70 s, 8 kHz, 8-bit unsigned PCM: the smallest plain PCM WAV (~560 KB) over a 60 s limit.
    encode(OUT / "long.wav", tone(70, 8_000)[None, :], 8_000, codec="pcm_u8", sample_fmt="u8")
    (OUT / "not_audio.wav").write_text("This is a text file, not a WAV file.\n")
    (OUT / "empty.wav").write_bytes(b"")
    for name in TRUNCATED:
        data = (OUT / name).read_bytes()
        (OUT / name.replace("timer", "truncated")).write_bytes(data[: int(len(data) * TRUNCATE_AT)])


def probe(path: Path) -> str:
    """Open and fully decode with PyAV; report decoded vs. declared duration, or where it failed."""
    stage, samples, declared = "open", 0, "?"
    try:
        with av.open(str(path)) as container:
            stage = "stream"
            stream = container.streams.audio[0]
            declared = f"{float(stream.duration * stream.time_base):.3f} s" if stream.duration else "none"
            stage = "decode"
            for frame in container.decode(stream):
                samples += frame.samples
    except (av.FFmpegError, IndexError) as exc:
        error = f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"
        return f"FAILS at {stage} after {samples} samples (declared {declared}): {error}"
    ctx = stream.codec_context
    decoded = f"{samples} samples = {samples / stream.rate:.3f} s"
    return f"ok {ctx.name} {stream.rate} Hz {ctx.channels} ch; decoded {decoded}; declared {declared}"


def main() -> None:
    build()
    for path in sorted(OUT.iterdir()):
        print(f"{path.name:16} {path.stat().st_size:>8} B  {probe(path)}")


if __name__ == "__main__":
    main()
