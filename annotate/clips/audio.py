"""Decoding and normalising audio, in memory, with bounded memory.

PyAV (bundled with faster-whisper) decodes WAV, MP3, OGG/Opus, FLAC and M4A
in-process, so no system ffmpeg is needed. Decoding streams: packet by packet,
each frame resampled to mono 16 kHz 16-bit at once, so memory holds at most the
clip-length limit's worth of samples (60 s: 1.9 MB), whatever the file claims
or holds. A clip longer than the limit is refused from its declared length
before anything is decoded, or, when the header says nothing or lies, as soon as
the decoded length passes the limit. pydub then does loudness checks, waveform
peaks and WAV export. Plain audio is never written to disk.

What FFmpeg reads before the first packet is bounded too: the container is told
by its first bytes and only that demuxer runs (FFmpeg's probe would hand crafted
bytes to any of its demuxers, some of which build indexes hundreds of times the
size of the file), and an M4A's sample tables are counted before FFmpeg builds
its index from them (a 5 kB file can declare 2 GB of index).
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

# FFmpeg indexes every packet an M4A's tables list (about 50 bytes each, with the tables)
# before it reads one. A 60 s AAC clip lists about 3,000.
MAX_MP4_PACKETS = 200_000
MAX_MP4_EDITS = 16  # each edit can copy the whole index; real files have one or two


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
    demuxer = _demuxer(data)
    if demuxer == "wav":
        _check_wav_complete(data)
    if demuxer == "mov":
        _check_mp4_tables(data)
    try:
        container = av.open(io.BytesIO(data), mode="r", format=demuxer)
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


def _demuxer(data: bytes) -> str:
    """The FFmpeg demuxer for the documented formats, told by the first bytes."""
    head = data[:12]
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mov"
    body = data
    if head[:3] == b"ID3" and len(data) >= 10:  # an ID3v2 tag, before MP3 frames (or, rarely, FLAC)
        size = (data[6] & 0x7F) << 21 | (data[7] & 0x7F) << 14 | (data[8] & 0x7F) << 7 | (data[9] & 0x7F)
        body = data[10 + size + (10 if data[5] & 0x10 else 0) :]
        if body[:4] != b"fLaC":
            return "mp3"
    if body[:4] == b"fLaC":
        return "flac"
    if len(body) >= 2 and body[0] == 0xFF and body[1] & 0xE0 == 0xE0:  # an MPEG audio frame
        return "mp3"
    raise AudioError("not an audio file (no known audio format could read it)")


def _check_mp4_tables(data: bytes) -> None:
    """Count the packets an M4A's tables list before FFmpeg allocates an index for them.

    FFmpeg reads a table box at any depth, so each top-level box (but the audio
    in mdat) is searched for the tags rather than walked: a hidden box is counted
    too, and a chance match can only over-count.
    """
    listed = {b"stsz": 0, b"stts": 0, b"ctts": 0}  # each lists a track's packets: the largest counts
    packets = chunks = edits = 0
    most_per_chunk = 1
    for box in _mp4_boxes(data):
        if b"cmov" in box:
            raise AudioError("the file's header is compressed (cmov), which this does not accept")
        if b"iloc" in box or b"iinf" in box:
            raise AudioError("the file holds image items (HEIF), not audio")
        for tag in (b"stsz", b"stz2", b"trun", b"sidx", b"stts", b"ctts", b"stco", b"co64", b"stsc", b"elst"):
            at = box.find(tag)
            while at >= 4:
                body = at + 8  # after the tag and the version/flags word
                if tag in (b"stsz", b"stz2"):  # sample size (or field size), sample count
                    listed[b"stsz"] += _u32(box, body + 4)
                elif tag == b"trun":  # sample count
                    packets += _u32(box, body)
                elif tag == b"sidx":  # id, timescale, two times (32 or 64 bits), reserved, reference count
                    at_count = body + 8 + (8 if box[at + 4 : at + 5] == b"\0" else 16) + 2
                    packets += int.from_bytes(box[at_count : at_count + 2], "big")
                elif tag in (b"stts", b"ctts"):  # (sample count, duration) pairs
                    listed[tag] += int(_mp4_entries(box, body, 2)[:, 0].sum(dtype=np.uint64))
                elif tag in (b"stco", b"co64"):  # chunk offsets
                    chunks += _u32(box, body)
                elif tag == b"stsc":  # (first chunk, samples per chunk, description) triples
                    most_per_chunk = max(most_per_chunk, int(_mp4_entries(box, body, 3)[:, 1].max(initial=1)))
                else:  # elst
                    edits += _u32(box, body)
                at = box.find(tag, at + 4)
    packets += max(listed.values())
    packets += chunks * -(-most_per_chunk // 1024)  # FFmpeg indexes PCM chunks in pieces of 1024 samples
    if packets > MAX_MP4_PACKETS:
        raise AudioError(f"the file's tables list {packets} packets, more than the {MAX_MP4_PACKETS} this accepts")
    if edits > MAX_MP4_EDITS:
        raise AudioError(f"the file's edit lists have {edits} entries, more than the {MAX_MP4_EDITS} this accepts")


def _mp4_boxes(data: bytes):
    """The top-level boxes FFmpeg parses (not mdat, the audio; nor free/skip, padding)."""
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1 and offset + 16 <= len(data):
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        elif size == 0:
            size = len(data) - offset
        if size < 8:
            return
        if kind not in (b"mdat", b"free", b"skip"):
            yield memoryview(data)[offset : offset + size].tobytes()
        offset += size


def _u32(box: bytes, at: int) -> int:
    return int.from_bytes(box[at : at + 4], "big")


def _mp4_entries(box: bytes, at: int, width: int) -> np.ndarray:
    """A table of big-endian 32-bit entries `width` wide: its count at `at`, the entries after."""
    present = min(_u32(box, at), max(0, len(box) - at - 4) // (4 * width))
    return np.frombuffer(box, dtype=">u4", count=present * width, offset=at + 4).reshape(-1, width)


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
