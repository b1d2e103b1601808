"""Decoding and normalising audio, in memory.

PyAV (bundled with faster-whisper) decodes WAV, MP3, OGG/Opus, FLAC and M4A
in-process, so no system ffmpeg is needed; pydub then does the rest: mono,
16 kHz, 16-bit, loudness checks, waveform peaks and WAV export. Plain audio is
never written to disk.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

import av
import numpy as np

with warnings.catch_warnings():
    # pydub looks for an ffmpeg binary at import; we never need one (PyAV decodes).
    warnings.simplefilter("ignore", RuntimeWarning)
    from pydub import AudioSegment

TARGET_RATE = 16000


class AudioError(Exception):
    """The bytes are not usable audio. The message is shown to whoever sent them."""


@dataclass
class DecodedAudio:
    segment: AudioSegment  # mono, 16 kHz, 16-bit
    source_format: str

    @property
    def duration_ms(self) -> int:
        return len(self.segment)


def decode(data: bytes) -> DecodedAudio:
    """Decode any supported container into a mono 16 kHz pydub segment."""
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
        declared = _declared_seconds(container, stream)
        channels = stream.codec_context.channels or 1
        rate = stream.codec_context.sample_rate or 0
        if rate <= 0:
            raise AudioError("the audio stream has no sample rate")
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        chunks: list[bytes] = []
        try:
            for frame in container.decode(stream):
                chunks.extend(_pcm(out, layout) for out in resampler.resample(frame))
            chunks.extend(_pcm(out, layout) for out in resampler.resample(None))
        except av.error.FFmpegError as exc:
            if not chunks:
                raise AudioError(f"the audio could not be decoded: {exc.strerror or exc}") from exc
            raise AudioError("the file is truncated (decoding stopped part-way)") from exc
    pcm = b"".join(chunks)
    if not pcm:
        raise AudioError("the file holds no audio samples")
    segment = AudioSegment(data=pcm, sample_width=2, frame_rate=rate, channels=1 if layout == "mono" else 2)
    if declared and segment.duration_seconds < declared * 0.9 - 0.1:
        raise AudioError(
            f"the file is truncated: it declares {declared:.1f} s but only {segment.duration_seconds:.1f} s decode"
        )
    segment = segment.set_channels(1).set_frame_rate(TARGET_RATE).set_sample_width(2)
    return DecodedAudio(segment=segment, source_format=source_format)


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


def _pcm(frame, layout: str) -> bytes:
    width = 2 if layout == "mono" else 4  # packed s16, one or two channels
    return bytes(frame.planes[0])[: frame.samples * width]


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
