"""Decoding and normalising audio, in memory, with bounded memory.

PyAV (bundled with faster-whisper) decodes WAV, MP3, OGG/Opus, FLAC and M4A
in-process, so no system ffmpeg is needed. Decoding streams: packet by packet,
each frame resampled to mono 16 kHz 16-bit at once, so memory holds at most the
clip-length limit's worth of samples (60 s: 1.9 MB), whatever the file claims
or holds. A clip longer than the limit is refused from its declared length
before anything is decoded, or, when the header says nothing or lies, as soon as
the decoded length passes the limit. pydub then does loudness checks, waveform
peaks and WAV export. Plain audio is never written to disk.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import av
import numpy as np
from django.conf import settings

with warnings.catch_warnings():
    # pydub looks for an ffmpeg binary at import; we never need one (PyAV decodes).
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

TARGET_RATE = 16000

# Decoders whose frames are small (at most a few MB, whatever the input): the
# documented formats. Others (ALAC, APE, DSD…) can declare frames of hundreds of
# MB in a few bytes, and are refused before anything is decoded.
CODECS = frozenset({"aac", "aac_fixed", "flac", "mp3", "mp3float", "opus", "libopus", "vorbis", "libvorbis"})
PCM_PREFIX = "pcm_"  # WAV and friends: a frame is at most twice its packet

# Beyond these, resampling to 16 kHz mono costs more memory than any recording is worth.
MIN_RATE, MAX_RATE = 1000, 384_000
MAX_CHANNELS = 8
MAX_PACKET_BYTES = 4 * 1024 * 1024  # a second of 8-channel 32-bit 384 kHz PCM is 12 MB; speech is far below


class AudioError(Exception):
    """The bytes are not usable audio. The message is shown to whoever sent them."""


@dataclass
class DecodedAudio:
    segment: AudioSegment  # mono, 16 kHz, 16-bit
    source_format: str

    @property
    def duration_ms(self) -> int:
        return len(self.segment)


def decode(data: bytes, *, max_seconds: float | None = None) -> DecodedAudio:
    """Decode any supported container into a mono 16 kHz pydub segment.

    Refuses (AudioError) audio longer than `max_seconds` (default: the
    ANNOTATE_MAX_CLIP_SECONDS setting) as soon as that is known, from the
    declared length or while decoding, never holding more than that much audio.
    """
    limit = settings.ANNOTATE_MAX_CLIP_SECONDS if max_seconds is None else max_seconds
    if not data:
        raise AudioError("the file is empty")
    _check_wav_complete(data)
    try:
        container = av.open(io.BytesIO(data), mode="r")
    except (av.error.InvalidDataError, UnicodeDecodeError) as exc:
        raise AudioError("not an audio file (no known audio format could read it)") from exc
    except av.error.EOFError as exc:
        raise AudioError("the file is truncated (it ends before its audio starts)") from exc
    except av.error.FFmpegError as exc:
        raise AudioError(f"the audio could not be read: {exc.strerror or exc}") from exc
    with container:
        if not container.streams.audio:
            raise AudioError("the file holds no audio stream")
        stream = container.streams.audio[0]
        source_format = (container.format.name or "").split(",")[0]
        _check_stream(stream)
        declared = _declared_seconds(container, stream)
        if declared is not None and declared > limit:
            raise AudioError(_too_long(limit, declared))
        pcm, decoded = _decode_bounded(container, stream, limit)
    if not pcm:
        raise AudioError("the file holds no audio samples")
    if declared and decoded < declared * 0.9 - 0.1:
        raise AudioError(f"the file is truncated: it declares {declared:.1f} s but only {decoded:.1f} s decode")
    segment = AudioSegment(data=pcm, sample_width=2, frame_rate=TARGET_RATE, channels=1)
    return DecodedAudio(segment=segment, source_format=source_format)


def _too_long(limit: float, seconds: float | None = None) -> str:
    """The refusal, with the length when it is known, or only that it passed the limit."""
    if seconds is None:
        return f"the clip is longer than the {limit:g} s limit"
    return f"the clip is {seconds:.1f} s, longer than the {limit:g} s limit"


def _check_stream(stream) -> None:
    codec = stream.codec_context
    if codec.name not in CODECS and not codec.name.startswith(PCM_PREFIX):
        raise AudioError(
            f"the audio codec {codec.name} is not supported (use WAV, MP3, OGG Opus or Vorbis, FLAC or M4A)"
        )
    _check_shape(codec.sample_rate or 0, codec.channels or 1)


def _check_shape(rate: int, channels: int) -> None:
    if rate <= 0:
        raise AudioError("the audio stream has no sample rate")
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioError(f"the sample rate is {rate} Hz, outside the {MIN_RATE}–{MAX_RATE} Hz this accepts")
    if channels > MAX_CHANNELS:
        raise AudioError(f"the audio has {channels} channels, more than the {MAX_CHANNELS} this accepts")


def _decode_bounded(container, stream, limit: float) -> tuple[bytes, float]:
    """Decode packet by packet, resampling each frame to mono 16 kHz s16 at once.

    Returns the PCM and the decoded length in seconds (at the source rate).
    Raises AudioError as soon as the decoded length passes `limit`: the
    samples held never exceed the limit's worth (plus one frame).
    """
    chunks: list[bytes] = []
    held = 0  # bytes of PCM in chunks
    most = int((limit + 1) * TARGET_RATE) * 2  # the limit's worth, and a second of resampler slack
    seconds = 0.0
    resampler, shape = None, None

    def keep(frames) -> None:
        nonlocal held
        for out in frames:
            chunk = bytes(out.planes[0])[: out.samples * 2]  # packed s16 mono
            held += len(chunk)
            if held > most:
                raise AudioError(_too_long(limit))
            chunks.append(chunk)

    try:
        for packet in container.demux(stream):
            if packet.size > MAX_PACKET_BYTES:
                raise AudioError(
                    f"the audio could not be decoded: one packet holds {packet.size / 1e6:.1f} MB, "
                    f"more than the {MAX_PACKET_BYTES / 1e6:.1f} MB this accepts"
                )
            for frame in packet.decode():
                _check_shape(frame.sample_rate, frame.layout.nb_channels)
                seconds += frame.samples / frame.sample_rate
                if seconds > limit:
                    raise AudioError(_too_long(limit))
                frame_shape = (frame.format.name, frame.layout.name, frame.sample_rate)
                if frame_shape != shape:  # a new resampler when the stream changes rate or layout mid-way
                    if resampler is not None:
                        keep(resampler.resample(None))
                    resampler = av.AudioResampler(format="s16", layout="mono", rate=TARGET_RATE)
                    shape = frame_shape
                keep(resampler.resample(frame))
        if resampler is not None:
            keep(resampler.resample(None))
    except av.error.FFmpegError as exc:
        if not chunks:
            raise AudioError(f"the audio could not be decoded: {exc.strerror or exc}") from exc
        raise AudioError("the file is truncated (decoding stopped part-way)") from exc
    return b"".join(chunks), seconds


def _check_wav_complete(data: bytes) -> None:
    """FFmpeg sizes a WAV by the file, not its header, so a cut-off WAV decodes
    "fine" and short. Compare the data chunk's declared size with the bytes present."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return
    offset, byte_rate = 12, 0
    while offset + 8 <= len(data):
        chunk_id, size = data[offset : offset + 4], struct.unpack("<I", data[offset + 4 : offset + 8])[0]
        body = offset + 8
        if chunk_id == b"fmt " and size >= 12 and body + 12 <= len(data):
            byte_rate = struct.unpack("<I", data[body + 8 : body + 12])[0]
        if chunk_id == b"data":
            present = len(data) - body
            if size in (0, 0xFFFFFFFF) or present >= size:  # 0/-1: length unknown (streamed)
                return
            if byte_rate:
                raise AudioError(
                    f"the file is truncated: it declares {size / byte_rate:.1f} s "
                    f"but only {present / byte_rate:.1f} s are present"
                )
            raise AudioError(f"the file is truncated: it declares {size} bytes of audio but only {present} are present")
        offset = body + size + (size & 1)


def _declared_seconds(container, stream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def peaks(segment: AudioSegment, *, per_second: int) -> list[float]:
    """Peak amplitude (0..1) for each slice of 1/per_second seconds."""
    samples = np.frombuffer(segment.raw_data, dtype=np.int16).astype(np.float32)
    if samples.size == 0:
        return []
    step = max(1, segment.frame_rate // per_second)
    pad = (-samples.size) % step
    if pad:
        samples = np.concatenate([samples, np.zeros(pad, dtype=np.float32)])
    blocks = np.abs(samples.reshape(-1, step)).max(axis=1) / 32768.0
    return [round(float(v), 3) for v in blocks]


def to_wav_bytes(segment: AudioSegment) -> bytes:
    buf = io.BytesIO()
    segment.export(buf, format="wav")
    return buf.getvalue()


def wav_to_float32(wav: bytes) -> np.ndarray:
    """The stored (normalised) WAV as the float32 array Whisper takes."""
    segment = AudioSegment.from_wav(io.BytesIO(wav))
    return np.frombuffer(segment.raw_data, dtype=np.int16).astype(np.float32) / 32768.0
