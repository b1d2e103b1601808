"""What reviewers hear, measured (issue 16): the accidental-recording gate, voice disguise,
bleeped personal data and likely-distressing clips, on the generated sets.

    .venv/bin/python bench/protect.py [--sets gate,pii,distress,disguise] [--semitones -5/0,-4.5/0]
                                      [--disguise-clips N] [--whisper-cache FILE]

The sets are tests/fixtures/protect/ (made by scripts/make_protect_sets.py: labels.jsonl
says, per clip, whether it is an accidental recording, which spoken words are personal
data or catalog names, whether it is distressing) and, for disguise, the held-out Whisper
set (tests/fixtures/asr_heldout/). A throw-away PostgreSQL database
(annotate_bench_protect, on BENCH_DATABASE_URL's server) holds the demo catalog, which the
personal-data finder asks about names ("Taylor Swift" is a catalog artist, never bleeped).

Each clip is decoded as the Whisper worker decodes it (transcribe_packed, groups of
ANNOTATE_ASR_PACK in the set's order) and screened with the worker's own code
(annotate.clips.screening.assess, the settings' thresholds). Printed:

1. gate: accidental recordings purged unheard (target ≥ 90 %), left to a human, kept;
   real commands purged (target ≤ 1 %), left to a human; by category.
2. personal data: the share of spoken personal-data words bleeped (target ≥ 95 %) and of
   catalog-name words bleeped (target 0), by type. A spoken word counts as bleeped when
   the Whisper word it aligns to (difflib on normalised words) lies at least half inside a
   bleeped stretch; a word Whisper dropped counts as not bleeped.
3. distress: precision and recall of "likely distressing", text and scream cues apart.
4. disguise: for each shift (pitch/formants, in semitones), the median pitch moved (autocorrelation pitch of the
   original and the disguised clip, median over clips; target ≥ 4 semitones) and Whisper's
   WER on the disguised clips against the original's (target: within 5 points), with the
   CPU-seconds the disguise costs per clip.

Nothing is asserted; the bench drops its database at the end.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import _asr_eval as ev  # noqa: E402
from bench import _setup  # noqa: E402

SETS = ROOT / "tests" / "fixtures" / "protect"
HELDOUT = ROOT / "tests" / "fixtures" / "asr_heldout"
DATABASE = "annotate_bench_protect"


def rows_of(folder: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (folder / name).read_text().splitlines() if line.strip()]


def load_samples(path: Path):
    from annotate.clips import audio

    decoded = audio.decode(path.read_bytes())
    return audio.wav_to_float32(audio.to_wav_bytes(decoded.segment))


def decode_all(samples: list) -> list[dict]:
    """As the worker decodes: packed in groups of ANNOTATE_ASR_PACK, in order."""
    from django.conf import settings

    from annotate.clips import asr

    pack = settings.ANNOTATE_ASR_PACK
    out: list[dict] = []
    for at in range(0, len(samples), pack):
        group = samples[at : at + pack]
        out += asr.transcribe_packed(group) if len(group) > 1 else [asr.transcribe_samples(group[0])]
    return out


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} % ({part}/{whole})" if whole else "   – (0/0)"


# --- 1. gate --------------------------------------------------------------------------------------


def bench_gate(items: list[dict]) -> dict:
    print("\n== 1. accidental-recording gate")
    by = defaultdict(Counter)
    for item in items:
        label = "accidental" if item["label"]["accidental"] else "command"
        decision = item["assessment"].gate.decision
        by[label][decision] += 1
        by[f"  {label}: {item['label']['category']}"][decision] += 1
    print(f"  {'':34} {'purged unheard':>22} {'left to a human':>22} {'kept':>22}")
    for label in sorted(by, key=lambda x: (x.strip().split(":")[0], x.startswith("  "), x)):
        c = by[label]
        n = sum(c.values())
        print(f"  {label:34} {pct(c['purge'], n):>22} {pct(c['review'], n):>22} {pct(c['keep'], n):>22}")
    acc, cmd = by["accidental"], by["command"]
    result = {
        "accidental_purged": acc["purge"] / max(1, sum(acc.values())),
        "commands_purged": cmd["purge"] / max(1, sum(cmd.values())),
    }
    print(
        f"  accidental recordings that never reach a reviewer: {100 * result['accidental_purged']:.1f} % "
        f"(target ≥ 90 %); real commands purged: {100 * result['commands_purged']:.1f} % (target ≤ 1 %)"
    )
    purged = acc["purge"] + cmd["purge"]
    print(
        f"  purging as a detector of accidental recordings: precision {pct(acc['purge'], purged)}, "
        f"recall {pct(acc['purge'], sum(acc.values()))}"
    )
    alone = {
        label: Counter(
            i["whisper_only"].gate.decision for i in items if i["label"]["accidental"] is (label == "accidental")
        )
        for label in ("accidental", "command")
    }
    print(
        "  reading Whisper's words alone (not what the assistant heard): accidental recordings purged "
        f"{pct(alone['accidental']['purge'], sum(alone['accidental'].values()))}, real commands purged "
        f"{pct(alone['command']['purge'], sum(alone['command'].values()))}"
    )
    wrong = [i for i in items if not i["label"]["accidental"] and i["assessment"].gate.decision == "purge"]
    for item in wrong[:10]:
        g = item["assessment"].gate
        print(f"    purged command {item['audio']}: {g.reason} {g.inputs} whisper={item['result']['text']!r}")
    return result


# --- 2. personal data -----------------------------------------------------------------------------


def aligned(reference: list[str], words: list[dict]) -> dict[int, list[int]]:
    """Reference word index -> indexes of the Whisper words it aligns to (difflib on normalised
    words; where Whisper heard a stretch otherwise, its words are shared out in order)."""
    hyp, owner = [], []
    for i, w in enumerate(words):
        for token in ev.normalise(w["word"]).split():
            hyp.append(token)
            owner.append(i)
    ref = [ev.normalise(w) or w.lower() for w in reference]
    ref_tokens, ref_owner = [], []
    for i, r in enumerate(ref):
        for token in r.split():
            ref_tokens.append(token)
            ref_owner.append(i)
    mapping: dict[int, set[int]] = defaultdict(set)
    for op, a1, a2, b1, b2 in difflib.SequenceMatcher(a=ref_tokens, b=hyp, autojunk=False).get_opcodes():
        if op == "equal":
            for k in range(a2 - a1):
                mapping[ref_owner[a1 + k]].add(owner[b1 + k])
        elif op == "replace":  # Whisper heard these otherwise: each spoken word gets its share, in order
            scale = (b2 - b1) / (a2 - a1)
            for k in range(a1, a2):
                lo = b1 + int((k - a1) * scale)
                mapping[ref_owner[k]].update(owner[lo : max(lo + 1, b1 + math.ceil((k - a1 + 1) * scale))])
        elif op == "delete":  # Whisper dropped them: their sound lies between the words either side
            around = {owner[b] if 0 <= b < len(owner) else -1 for b in (b1 - 1, b1)}
            for k in range(a1, a2):
                if ref_owner[k] not in mapping:
                    mapping[ref_owner[k]] = {-2, *around}  # -2 marks a dropped word
    return {k: sorted(v) for k, v in mapping.items()}


def covered(word: dict, spans: list[dict]) -> bool:
    length = max(1e-3, word["end"] - word["start"])
    inside = sum(max(0.0, min(word["end"], s["end"] + 0.05) - max(word["start"], s["start"] - 0.05)) for s in spans)
    return inside / length >= 0.5


def bleeped(aligned_to: list[int], words: list[dict], spans: list[dict]) -> bool:
    """A spoken word is bleeped when a Whisper word it aligns to is; a word Whisper dropped (aligned
    to the words either side of the gap, marked -2) when both of those are (-1: the clip's edge)."""
    if -2 in aligned_to:
        return all(w >= 0 and covered(words[w], spans) for w in aligned_to if w != -2)
    return any(covered(words[w], spans) for w in aligned_to)


def bench_pii(items: list[dict]) -> dict:
    print("\n== 2. spoken personal data")
    result = pii_of(items, "assessment", verbose=True)
    alone = pii_of(items, "whisper_only", verbose=False)
    print(
        f"  reading Whisper's words alone (not what the assistant heard): personal-data words bleeped "
        f"{100 * alone['pii_bleeped']:.1f} %, catalog-name words bleeped {alone['catalog_bleeped']}"
    )
    return result


def pii_of(items: list[dict], which: str, *, verbose: bool) -> dict:
    hit, total = Counter(), Counter()
    catalog_hit = catalog_total = 0
    misses = []
    for item in items:
        label, result, assessment = item["label"], item["result"], item[which]
        reference = label["reference"].split()
        mapping = aligned(reference, result["words"])
        spans = assessment.personal_data
        for entry in label.get("pii", []):
            for index in entry["words"]:
                total[entry["type"]] += 1
                if bleeped(mapping.get(index, []), result["words"], spans):
                    hit[entry["type"]] += 1
                else:
                    misses.append((item["audio"], entry["type"], reference[index], result["text"]))
        for entry in label.get("catalog", []):
            for index in entry["words"]:
                catalog_total += 1
                if any(covered(result["words"][w], spans) for w in mapping.get(index, []) if w >= 0) and (
                    -2 not in mapping.get(index, [])
                ):
                    catalog_hit += 1
                    if verbose:
                        print(f"    bleeped catalog word {reference[index]!r} in {item['audio']}: {result['text']!r}")
    share = sum(hit.values()) / max(1, sum(total.values()))
    if not verbose:
        return {"pii_bleeped": share, "catalog_bleeped": catalog_hit}
    for kind in sorted(total):
        print(f"  {kind:8} words bleeped {pct(hit[kind], total[kind])}")
    print(f"  personal-data words bleeped: {pct(sum(hit.values()), sum(total.values()))} (target ≥ 95 %)")
    print(f"  catalog-name words bleeped:  {pct(catalog_hit, catalog_total)} (target 0)")
    shown = Counter()
    for audio, kind, word, text in misses:
        shown[kind] += 1
        if shown[kind] <= 4:
            print(f"    missed {kind} word {word!r} in {audio}: whisper={text!r}")
    return {"pii_bleeped": share, "catalog_bleeped": catalog_hit}


# --- 3. distress ----------------------------------------------------------------------------------


def bench_distress(items: list[dict]) -> dict:
    print("\n== 3. likely distressing")
    tp = fp = fn = tn = 0
    by_cue = Counter()
    for item in items:
        truth, d = bool(item["label"]["distress"]), item["assessment"].distress
        tp += truth and d.likely
        fp += (not truth) and d.likely
        fn += truth and not d.likely
        tn += (not truth) and not d.likely
        if d.likely:
            by_cue["words" if d.text_score else "scream"] += 1
        if truth != d.likely:
            kind = "missed" if truth else "false alarm"
            text = item["result"]["text"]
            print(f"    {kind}: {item['audio']} score={d.text_score} scream={d.scream_seconds}s {text!r}")
    precision = tp / max(1, tp + fp)
    recall = tp / max(1, tp + fn)
    print(f"  precision {100 * precision:.1f} %, recall {100 * recall:.1f} % (tp {tp}, fp {fp}, fn {fn}, tn {tn})")
    print(f"  marked by words: {by_cue['words']}, by a scream alone: {by_cue['scream']}")
    return {"distress_precision": precision, "distress_recall": recall}


# --- 4. disguise ----------------------------------------------------------------------------------


def bench_disguise(shifts: list[tuple[float, float]], count: int) -> dict:
    from annotate.clips import protect

    print(f"\n== 4. voice disguise (held-out set, first {count} clips)")
    manifest = rows_of(HELDOUT, "manifest.jsonl")[:count]
    references = {r["audio"]: r["reference"] for r in rows_of(HELDOUT, "references.jsonl")}
    originals = [load_samples(HELDOUT / row["audio"]) for row in manifest]
    refs = [references[row["audio"]] for row in manifest]
    base = decode_all(originals)
    base_wer = ev.wer(refs, [r["text"] for r in base])
    print(f"  original: WER {100 * base_wer.wer:.1f} %")
    out = {}
    for shift, formant in shifts:
        started = time.process_time()
        disguised = [protect.disguise(s, shift, formant) for s in originals]
        cost = (time.process_time() - started) / len(originals)
        moves = []
        for a, b in zip(originals, disguised, strict=True):
            pa, pb = protect.median_pitch(a), protect.median_pitch(b)
            if pa and pb:
                moves.append(12 * abs(math.log2(pb / pa)))
        wer = ev.wer(refs, [r["text"] for r in decode_all(disguised)])
        moved = statistics.median(moves) if moves else float("nan")
        print(
            f"  pitch {shift:+4.1f}, formants {formant:+4.1f} semitones: median pitch moved {moved:4.1f} "
            f"semitones ({len(moves)} clips with pitch), "
            f"WER {100 * wer.wer:.1f} % ({100 * (wer.wer - base_wer.wer):+.1f} points), "
            f"{1000 * cost:.1f} ms CPU per clip"
        )
        out[(shift, formant)] = (moved, wer.wer - base_wer.wer)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", default="gate,pii,distress,disguise")
    parser.add_argument(
        "--semitones", default="-5/0,-4.5/0,+5/0,-5/-2", help="pitch/formant shifts to measure, in semitones"
    )
    parser.add_argument("--disguise-clips", type=int, default=60)
    parser.add_argument("--whisper-cache", help="a JSON file keeping Whisper's results between runs (for tuning)")
    args = parser.parse_args()
    wanted = set(args.sets.split(","))
    _setup.use_database(DATABASE)
    try:
        from django.conf import settings

        from annotate.clips import asr, screening
        from annotate.clips.models import Clip
        from tests.factories import import_demo_catalog

        import_demo_catalog()
        print(f"gate thresholds  {settings.ANNOTATE_GATE}")
        print(f"distress         {settings.ANNOTATE_DISTRESS}")
        print(f"disguise         {settings.ANNOTATE_DISGUISE_SEMITONES} semitones")
        asr.get_model()
        manifest = {row["audio"]: row for row in rows_of(SETS, "manifest.jsonl")}
        labels = [row for row in rows_of(SETS, "labels.jsonl") if row["set"] in wanted]
        if labels:
            started = time.process_time()
            samples = [load_samples(SETS / row["audio"]) for row in labels]
            cache = Path(args.whisper_cache) if args.whisper_cache else None
            cached = json.loads(cache.read_text()) if cache and cache.exists() else {}
            if all(row["audio"] in cached for row in labels):
                results = [cached[row["audio"]] for row in labels]  # tuning the screening alone
            else:
                results = decode_all(samples)
                if cache:
                    cache.write_text(json.dumps({r["audio"]: x for r, x in zip(labels, results, strict=True)}))
            decoded = time.process_time() - started
            started = time.process_time()
            items = []
            for row, s, result in zip(labels, samples, results, strict=True):
                meta = manifest[row["audio"]]
                clip = Clip(public_id="c_bench", wake_word_score=meta.get("wake_word_score"), heard=meta["heard"])
                item = {
                    "audio": row["audio"],
                    "label": row,
                    "result": result,
                    "assessment": screening.assess(clip=clip, samples=s, result=result),
                }
                if row["set"] in ("gate", "pii"):  # again, reading Whisper's words alone
                    clip.heard = ""
                    item["whisper_only"] = screening.assess(clip=clip, samples=s, result=result)
                items.append(item)
            screened = time.process_time() - started
            print(
                f"clips            {len(items)}: Whisper {decoded / len(items):.2f} CPU-s per clip, "
                f"screening (gate, personal data, distress, disguise, bleeps, muffling) "
                f"{1000 * screened / len(items):.0f} ms CPU per clip"
            )
            for name, run in (("gate", bench_gate), ("pii", bench_pii), ("distress", bench_distress)):
                chosen = [i for i in items if i["label"]["set"] == name]
                if chosen:
                    run(chosen)
        if "disguise" in wanted:
            shifts = [tuple(float(v) for v in (x.split("/") + ["0"])[:2]) for x in args.semitones.split(",")]
            bench_disguise(shifts, args.disguise_clips)
    finally:
        from django.db import connections

        connections.close_all()
        _setup.drop_database(DATABASE)


if __name__ == "__main__":
    main()
