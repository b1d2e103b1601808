"""Whisper on the CPU: transcribe the demo clips and print speed figures.

    .venv/bin/python bench/asr.py [--threads N] [--clips N]

Decodes each demo clip with the ingest path's decoder, then runs the configured
model (ANNOTATE_WHISPER_MODEL, default tiny.en) on it. Prints audio seconds,
wall seconds, the real-time factor (wall / audio) and clips per minute.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: the setting)")
    parser.add_argument("--clips", type=int, default=0, help="only the first N clips")
    args = parser.parse_args()
    if args.threads is not None:
        os.environ["ANNOTATE_WHISPER_THREADS"] = str(args.threads)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    import django

    django.setup()
    from django.conf import settings

    from annotate.clips import asr, audio

    manifest = ROOT / "demo" / "manifest.jsonl"
    entries = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    entries = [e for e in entries if not e.get("opted_out")]
    if args.clips:
        entries = entries[: args.clips]
    samples = []
    for entry in entries:
        decoded = audio.decode((manifest.parent / entry["audio"]).read_bytes())
        samples.append((decoded.segment.duration_seconds, audio.wav_to_float32(audio.to_wav_bytes(decoded.segment))))

    started = time.perf_counter()
    asr.get_model()
    load_seconds = time.perf_counter() - started
    asr.transcribe_samples(samples[0][1])  # warm-up, not counted

    audio_seconds = sum(s for s, _ in samples)
    started = time.perf_counter()
    for _, pcm in samples:
        asr.transcribe_samples(pcm)
    wall = time.perf_counter() - started

    threads = settings.ANNOTATE_WHISPER_THREADS or os.cpu_count()
    print(
        f"model            {asr.model_name()} ({settings.ANNOTATE_WHISPER_DEVICE}, "
        f"{settings.ANNOTATE_WHISPER_COMPUTE_TYPE}, beam {settings.ANNOTATE_WHISPER_BEAM_SIZE})"
    )
    print(f"threads          {threads}")
    print(f"model load       {load_seconds:.2f} s")
    print(f"clips            {len(samples)}")
    print(f"audio seconds    {audio_seconds:.1f}")
    print(f"wall seconds     {wall:.1f}")
    print(f"real-time factor {wall / audio_seconds:.3f}  (wall / audio; below 1 is faster than real time)")
    print(f"clips per minute {len(samples) / wall * 60:.1f}")
    per_core = len(samples) / wall * 60 / threads
    print(f"per core         {per_core:.1f} clips/min, RTF x cores {wall / audio_seconds * threads:.3f}")


if __name__ == "__main__":
    main()
