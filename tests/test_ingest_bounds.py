"""Bounded decoding: whatever arrives within the upload limit, one ingest stays
under 200 MB and refuses an over-long clip as soon as its length is known.

The hostile recordings are made here: hours of silence that compress to
kilobytes (FLAC, Opus, MP3, M4A), headers that lie about the length or say
nothing, absurd sample rates and channel counts, M4A tables that make FFmpeg
allocate gigabytes of index. Each hostile ingest runs in a child process (the
real service, on this test's database and storage folder) and reports its own
peak RSS (VmHWM), so pytest's memory does not count. Memory, not time, is
asserted.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import wave
from pathlib import Path

import av
import numpy as np
import pytest
from django.db import connection

from annotate.clips import audio, ingest
from annotate.clips.models import Clip
from tests.support import clip_meta, stored_files

ROOT = Path(__file__).resolve().parent.parent
PEAK_MB = 200
LIMIT = "longer than the 60 s limit"

# --- making hostile recordings ---------------------------------------------------------


def _crc(data: bytes, poly: int, bits: int) -> int:
    top, mask, crc = 1 << (bits - 1), (1 << bits) - 1, 0
    for byte in data:
        crc ^= byte << (bits - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    return crc


def _flac_number(n: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number."""
    if n < 0x80:
        return bytes([n])
    length = 2
    while n >= 1 << (5 * length + 1):
        length += 1
    tail = [0x80 | ((n >> (6 * i)) & 0x3F) for i in reversed(range(length - 1))]
    return bytes([((0xFF << (8 - length)) & 0xFF) | (n >> (6 * (length - 1))), *tail])


def silent_flac(seconds: float, *, rate: int = 16000, channels: int = 1, declared: float | None = None) -> bytes:
    """FLAC of digital silence: one constant subframe per channel per 65535-sample
    frame, so ten hours take a hundred kilobytes. `declared` is the length written
    in STREAMINFO: None for the true one, 0 for "unknown"."""
    block = 65535
    total = int(seconds * rate)
    shown = total if declared is None else int(declared * rate)
    info = struct.pack(">HH", block, block) + bytes(6)
    info += ((rate << 44) | ((channels - 1) << 41) | (15 << 36) | shown).to_bytes(8, "big") + bytes(16)
    out = [b"fLaC", bytes([0x80, 0, 0, len(info)]), info]
    for number in range(-(-total // block)):
        size = min(block, total - number * block)
        header = bytes([0xFF, 0xF8, 0x70, ((channels - 1) << 4) | 0x08]) + _flac_number(number)
        header += struct.pack(">H", size - 1)
        frame = header + bytes([_crc(header, 0x07, 8)]) + bytes(3 * channels)  # CONSTANT subframes of 0
        out.append(frame + struct.pack(">H", _crc(frame, 0x8005, 16)))
    return b"".join(out)


def pcm_wav(
    payload: int, *, rate: int = 16000, channels: int = 1, bits: int = 16, data_size: int | None = None
) -> bytes:
    """A PCM WAV holding `payload` bytes of silence; its data chunk declares `data_size` (default: the truth)."""
    block = channels * bits // 8
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * block, block, bits)
    size = payload if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size)
    return (
        b"RIFF"
        + struct.pack("<I", (len(body) + size) & 0xFFFFFFFF)
        + body
        + bytes([0x80 if bits == 8 else 0]) * payload
    )


def tone(seconds: float, rate: int, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return np.tile((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), (channels, 1))


def encode(
    fmt: str, codec: str, samples: np.ndarray, rate: int, *, container: dict | None = None, **codec_opts
) -> bytes:
    """Encode float samples (channels × n) with PyAV into container `fmt`."""
    layout = {1: "mono", 2: "stereo"}[samples.shape[0]]
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=container or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        for name, value in codec_opts.items():
            setattr(stream.codec_context, name, value)
        ctx = stream.codec_context
        size, kind = ctx.frame_size or 1024, ctx.format
        for start in range(0, samples.shape[1] - size + 1, size):
            chunk = samples[:, start : start + size]
            if kind.name.startswith("s16"):
                chunk = (chunk * 32767).astype(np.int16)
            elif kind.name.startswith("s32"):
                chunk = (chunk * 2**31 * 0.99).astype(np.int32)
            frame = av.AudioFrame.from_ndarray(chunk if kind.is_planar else chunk.T.reshape(1, -1), kind.name, layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()


def repeated_silence(
    fmt: str, codec: str, rate: int, seconds: float, *, container: dict | None = None, **opts
) -> bytes:
    """Hours of silence, fast: encode a second of it, then mux its last packet again and again."""
    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt, options=container or {}) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        for name, value in opts.items():
            setattr(stream.codec_context, name, value)
        ctx = stream.codec_context
        size, kind = ctx.frame_size or 1024, ctx.format.name
        dtype = {"s16": np.int16, "s32": np.int32}.get(kind[:3], np.float32)
        packets = []
        for n in range(rate // size + 8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, size), dtype=dtype), kind, "mono")
            frame.sample_rate, frame.pts = rate, n * size
            packets.extend(stream.encode(frame))
        model = packets[-1]
        payload, step = bytes(model), model.duration or size
        for n in range(int(seconds * rate) // step):
            packet = av.Packet(payload)
            packet.stream, packet.time_base = stream, model.time_base
            packet.pts = packet.dts = n * step
            packet.duration = step
            out.mux(packet)
    return buf.getvalue()


def sox_silence(tmp_path: Path, seconds: float) -> bytes:
    """Silence as sox's own FLAC encoder writes it: 16 kHz mono."""
    path = tmp_path / "silence.flac"
    command = ["sox", "-n", "-r", "16000", "-c", "1", str(path), "trim", "0", str(seconds)]
    subprocess.run(command, check=True, capture_output=True)  # noqa: S603
    return path.read_bytes()


def mp4_box(data: bytes, kind: bytes) -> tuple[int, int]:
    """(start of body, end) of the first box of `kind`, looking inside the usual containers."""
    containers = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf"}
    offset, end = 0, len(data)
    while offset + 8 <= end:
        size, found = struct.unpack(">I4s", data[offset : offset + 8])
        if found == kind:
            return offset + 8, offset + size
        offset = offset + 8 if found in containers else offset + size
    raise LookupError(kind)


def m4a_stsc_bomb() -> bytes:
    """A 2 s M4A whose tables say: 20 million samples of 1 byte, all in one chunk (about 500 MB of index)."""
    data = bytearray(encode("ipod", "aac", tone(2, 16000), 16000, bit_rate=32000))
    body, end = mp4_box(bytes(data), b"stsz")
    data[body:end] = struct.pack(">III", 0, 1, 20_000_000) + bytes(end - body - 12)
    body, end = mp4_box(bytes(data), b"stsc")
    data[body:end] = struct.pack(">IIIII", 0, 1, 1, 2**31, 1)
    return bytes(data)


def m4a_trun_bomb() -> bytes:
    """A fragmented 2 s M4A whose fragment says it holds 50 million samples, none described (1.9 GB of index)."""
    data = bytearray(
        encode("ipod", "aac", tone(2, 16000), 16000, container={"movflags": "frag_keyframe+empty_moov"}, bit_rate=32000)
    )
    body, _ = mp4_box(bytes(data), b"trun")
    data[body : body + 8] = struct.pack(">II", 0x000001, 50_000_000)  # flags: a data offset only; sample count
    return bytes(data)


HOSTILE = {
    # name: (how to make it, the refusal)
    "flac-10h-silence": (lambda tmp: silent_flac(36000), f"the clip is 36000.0 s, {LIMIT}"),
    "flac-1h-silence-by-sox": (
        lambda tmp: sox_silence(tmp, 3600),
        f"the clip is 3600.0 s, {LIMIT}",
    ),
    "flac-2h-96khz-8ch": (lambda tmp: silent_flac(7200, rate=96000, channels=8), f"the clip is 7200.0 s, {LIMIT}"),
    "flac-declares-1s-holds-10h": (lambda tmp: silent_flac(36000, declared=1), f"the clip is {LIMIT}"),
    "flac-length-unknown-10h": (lambda tmp: silent_flac(36000, declared=0), f"the clip is {LIMIT}"),
    "wav-streamed-20mb": (lambda tmp: pcm_wav(20_000_000, data_size=0xFFFFFFFF), f"the clip is 625.0 s, {LIMIT}"),
    "wav-8bit-8khz-20mb": (
        lambda tmp: pcm_wav(20_000_000, rate=8000, bits=8, data_size=0),
        f"the clip is 2500.0 s, {LIMIT}",
    ),
    "opus-1h-silence": (
        lambda tmp: repeated_silence("ogg", "libopus", 48000, 3600, bit_rate=6000),
        f"the clip is 3600.0 s, {LIMIT}",
    ),
    "mp3-2h-no-duration-header": (
        lambda tmp: repeated_silence(
            "mp3", "libmp3lame", 8000, 7200, container={"write_xing": "0", "id3v2_version": "0"}, bit_rate=8000
        ),
        f"the clip is 7200.0 s, {LIMIT}",
    ),
    "m4a-2h-silence": (
        lambda tmp: repeated_silence("ipod", "aac", 8000, 7200, bit_rate=8000),
        f"the clip is 7200.0 s, {LIMIT}",
    ),
    "m4a-tables-list-20m-samples": (
        lambda tmp: m4a_stsc_bomb(),
        # 20 million sizes, and 2**31 samples in one chunk, indexed in pieces of 1024
        f"the file's tables list {20_000_000 + 2**31 // 1024} packets, more than the 200000 this accepts",
    ),
    "m4a-fragment-lists-50m-samples": (
        lambda tmp: m4a_trun_bomb(),
        "the file's tables list 50000000 packets, more than the 200000 this accepts",
    ),
    "wav-1hz": (
        lambda tmp: pcm_wav(1_000_000, rate=1),
        "the sample rate is 1 Hz, outside the 1000–384000 Hz this accepts",
    ),
    "wav-2ghz": (
        lambda tmp: pcm_wav(1_000_000, rate=2_000_000_000),
        "the sample rate is 2000000000 Hz, outside the 1000–384000 Hz this accepts",
    ),
    "wav-255-channels": (
        lambda tmp: pcm_wav(255 * 2 * 16000, channels=255),
        "the audio has 255 channels, more than the 8 this accepts",
    ),
}

# --- one ingest in a child process -------------------------------------------------------

CHILD = """
import json, sys
import django
django.setup()
from annotate.clips import ingest
from tests.support import clip_meta
data = open(sys.argv[1], "rb").read()
outcome = ingest.ingest_clip(data=data, meta=ingest.parse_meta(clip_meta()))
peak_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"status": outcome.status, "message": outcome.message, "peak_mb": peak_kb / 1024}))
"""


def database_url() -> str:
    db = connection.settings_dict
    user = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{user}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def ingest_in_child(tmp_path, private_storage):
    """Ingest bytes in a fresh process on this test's database and storage folder;
    return its outcome and its peak resident memory in MB."""

    def run(data: bytes) -> dict:
        upload = tmp_path / "upload.bin"
        upload.write_bytes(data)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "annotate.settings",
            "DATABASE_URL": database_url(),
            "ANNOTATE_PRIVATE_ROOT": str(private_storage),
            "PYTHONPATH": str(ROOT),
        }
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", CHILD, str(upload)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_recording_is_refused_in_bounded_memory_and_leaves_nothing(
    name, ingest_in_child, tmp_path, settings, private_storage
):
    make, message = HOSTILE[name]
    data = make(tmp_path)
    assert len(data) <= settings.ANNOTATE_MAX_UPLOAD_BYTES  # within the upload limit: it reaches the decoder

    result = ingest_in_child(data)

    assert (result["status"], result["message"]) == (422, message)
    assert result["peak_mb"] < PEAK_MB, f"peak RSS {result['peak_mb']:.0f} MB"
    assert_nothing_stored(private_storage)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_normal_clip_is_stored_in_the_same_bounded_memory(ingest_in_child, private_storage):
    data = encode("ogg", "libopus", tone(5, 48000), 48000, bit_rate=32000)

    result = ingest_in_child(data)

    clip = Clip.objects.get()
    assert (result["status"], result["message"]) == (201, f"imported as clip {clip.public_id} (5.0 s)")
    assert result["peak_mb"] < PEAK_MB, f"peak RSS {result['peak_mb']:.0f} MB"
    assert stored_files(private_storage) == [private_storage / clip.audio_name]


# --- in process: the limit itself, and odd but real recordings ----------------------------------


def ingest_bytes(data: bytes) -> ingest.Outcome:
    return ingest.ingest_clip(data=data, meta=ingest.parse_meta(clip_meta()))


def tone_wav(seconds: float, *, rate: int = 16000, channels: int = 1, bits: int = 16, data_size: int | None = None):
    """A 440 Hz tone as PCM WAV; `data_size` overrides the length its header declares."""
    samples = tone(seconds, rate, channels).T.reshape(-1)
    pcm = (samples * 127 + 128).astype(np.uint8) if bits == 8 else (samples * 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(bits // 8)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    data = bytearray(buf.getvalue())
    if data_size is not None:
        data[40:44] = struct.pack("<I", data_size)
    return bytes(data)


def assert_nothing_stored(storage: Path) -> None:
    assert not Clip.objects.exists()
    assert stored_files(storage) == []


@pytest.mark.django_db
def test_a_clip_declaring_more_than_the_limit_is_refused_with_its_length(settings, private_storage):
    settings.ANNOTATE_MAX_CLIP_SECONDS = 5

    result = ingest_bytes(tone_wav(6))

    assert (result.status, result.message) == (422, "the clip is 6.0 s, longer than the 5 s limit")
    assert_nothing_stored(private_storage)


@pytest.mark.django_db
def test_a_header_that_understates_the_length_is_caught_once_decoding_passes_the_limit(settings, private_storage):
    settings.ANNOTATE_MAX_CLIP_SECONDS = 5

    result = ingest_bytes(silent_flac(30, declared=1))

    assert (result.status, result.message) == (422, "the clip is longer than the 5 s limit")
    assert_nothing_stored(private_storage)


@pytest.mark.django_db
def test_a_clip_of_unknown_length_within_the_limit_is_imported_whole(settings):
    settings.ANNOTATE_MAX_CLIP_SECONDS = 5

    result = ingest_bytes(tone_wav(4.9, data_size=0xFFFFFFFF))  # "length unknown", as a streaming recorder writes

    assert result.status == 201, result.message
    assert result.clip.duration_ms == 4900


ODD_SHAPES = [
    pytest.param(lambda: tone_wav(2, rate=11025, channels=3), id="wav-11025hz-3ch"),
    pytest.param(lambda: tone_wav(2, rate=44100, channels=6), id="wav-44100hz-6ch"),
    pytest.param(lambda: tone_wav(2, rate=8000, bits=8), id="wav-8000hz-8bit"),
    pytest.param(lambda: tone_wav(2, rate=384000, channels=2), id="wav-384khz-stereo"),
    pytest.param(lambda: encode("flac", "flac", tone(2, 22050, 2), 22050), id="flac-22050hz-stereo"),
    pytest.param(lambda: encode("ogg", "libopus", tone(2, 48000, 2), 48000, bit_rate=64000), id="opus-stereo"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("make", ODD_SHAPES)
def test_odd_sample_rates_and_channel_counts_are_stored_as_mono_16k(make, private_storage):
    result = ingest_bytes(make())

    assert result.status == 201, result.message
    clip = result.clip
    assert 1950 <= clip.duration_ms <= 2100
    assert max(clip.peaks) > 0.1
    with wave.open(io.BytesIO(audio.to_wav_bytes(audio.decode(make()).segment)), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 16000, 2)


@pytest.mark.django_db
def test_an_mp3_that_changes_sample_rate_part_way_is_decoded_whole(private_storage):
    """MP3 frames carry their own rate; a stream that switches from 16 to 24 kHz used to
    break the resampler (a server error)."""
    container = {"write_xing": "0", "id3v2_version": "0"}
    first = encode("mp3", "libmp3lame", tone(1, 16000), 16000, container=container)
    second = encode("mp3", "libmp3lame", tone(1, 24000), 24000, container=container)

    result = ingest_bytes(first + second)

    assert result.status == 201, result.message
    assert 1950 <= result.clip.duration_ms <= 2200


@pytest.mark.django_db
def test_a_codec_outside_the_documented_formats_is_refused_before_decoding(private_storage):
    """ALAC frames may declare 16 million samples each: refused, not decoded."""
    result = ingest_bytes(encode("ipod", "alac", tone(1, 16000), 16000))

    assert (result.status, result.message) == (
        422,
        "the audio codec alac is not supported (use WAV, MP3, OGG Opus or Vorbis, FLAC or M4A)",
    )
    assert_nothing_stored(private_storage)
