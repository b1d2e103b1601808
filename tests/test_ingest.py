"""Ingest: the import_clips command and the ingest service behind it.

Every supported format ends up as encrypted mono 16 kHz WAV; every bad input
gets its own clear message, leaves no row and no file behind, and never stops
the rest of the batch.
"""

from __future__ import annotations

import io
import shutil
import threading
import wave
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from annotate.clips import asr, audio, crypto, ingest, vault
from annotate.clips.models import Clip, IngestCount, OptOut, SealedIdentity
from annotate.queues.models import Queue, Task
from tests.support import AUDIO, clip_meta, stored_files, write_manifest

pytestmark = pytest.mark.django_db

FORMATS = [
    ("timer.wav", "wav"),
    ("timer.mp3", "mp3"),
    ("timer.ogg", "ogg"),
    ("timer.flac", "flac"),
    ("timer.m4a", "mov"),
    ("stereo44k.wav", "wav"),
]


def run_import(path: Path, *args: str) -> tuple[str, str | None]:
    """Run `import_clips`; return its output and the CommandError message, if any."""
    out = io.StringIO()
    try:
        call_command("import_clips", str(path), *args, stdout=out, no_color=True)
    except CommandError as exc:
        return out.getvalue(), str(exc)
    return out.getvalue(), None


def output_lines(output: str) -> list[str]:
    return output.strip().splitlines()


@pytest.fixture
def import_dir(tmp_path) -> Path:
    """The import root: a folder holding a copy of every test recording."""
    folder = tmp_path / "import"
    shutil.copytree(AUDIO, folder)
    return folder


def line(path: str, **overrides) -> dict:
    """A manifest line for the recording at `path` (relative to the manifest)."""
    return {"audio": path, **clip_meta(**overrides)}


def assert_only_clips(storage: Path, clips: list[Clip]) -> None:
    """Exactly these clips (and their sealed identities and files) are stored."""
    assert sorted(Clip.objects.values_list("pk", flat=True)) == sorted(c.pk for c in clips)
    assert sorted(SealedIdentity.objects.values_list("clip_id", flat=True)) == sorted(c.pk for c in clips)
    assert set(Task.objects.values_list("clip_id", flat=True)) <= {c.pk for c in clips}
    assert stored_files(storage) == sorted(storage / c.audio_name for c in clips)


def stored_wav(clip: Clip) -> wave.Wave_read:
    return wave.open(io.BytesIO(vault.load_audio(clip)), "rb")


def test_each_test_stores_in_its_own_private_folder(private_storage):
    name, _ = vault.store_audio(public_id="c_0123456789abcdef", wav=b"RIFF")

    assert Path(default_storage.location) == private_storage
    assert stored_files(private_storage) == [private_storage / name]


# --- formats ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "source_format"), FORMATS)
def test_service_stores_every_format_as_encrypted_mono_16k_wav(name, source_format, private_storage):
    result = ingest.ingest_clip(data=(AUDIO / name).read_bytes(), meta=ingest.parse_meta(clip_meta()))

    assert result.outcome == ingest.IMPORTED, result.message
    assert result.status == 201
    clip = Clip.objects.get()
    assert result.clip == clip
    assert result.message == f"imported as clip {clip.public_id} ({clip.duration_ms / 1000:.1f} s)"
    assert clip.source_format == source_format
    assert clip.sample_rate == 16000
    assert 900 <= clip.duration_ms <= 2500
    assert clip.peaks and max(clip.peaks) > 0.1
    assert clip.state == Clip.State.PENDING_ASR
    with stored_wav(clip) as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getsampwidth()) == (1, 16000, 2)
        assert abs(wav.getnframes() / 16000 * 1000 - clip.duration_ms) <= 1
    blob = (private_storage / clip.audio_name).read_bytes()
    assert b"RIFF" not in blob and b"WAVE" not in blob
    assert SealedIdentity.objects.filter(clip=clip).exists()


def test_command_imports_every_format_from_a_manifest(import_dir, private_storage):
    manifest = write_manifest(import_dir / "manifest.jsonl", [line(name) for name, _ in FORMATS])

    output, error = run_import(manifest)

    assert error is None
    lines = output_lines(output)
    clips = {c.public_id: c for c in Clip.objects.all()}
    assert len(clips) == len(FORMATS)
    for number, ((name, _), text) in enumerate(zip(FORMATS, lines, strict=False), start=1):
        assert text.startswith(f"line {number} {name}: imported: imported as clip c_")
    assert lines[-1] == "summary: 6 imported, 0 duplicate, 0 opted out, 0 rejected"
    for clip in clips.values():
        with stored_wav(clip) as wav:
            assert (wav.getnchannels(), wav.getframerate()) == (1, 16000)
    assert len(stored_files(private_storage)) == 6


def test_command_imports_a_folder_without_manifest(import_dir, private_storage, tmp_path):
    folder = tmp_path / "inbox"
    (folder / "nested").mkdir(parents=True)
    shutil.copy(AUDIO / "timer.ogg", folder / "a.ogg")
    shutil.copy(AUDIO / "timer.flac", folder / "nested" / "b.flac")
    shutil.copy(AUDIO / "not_audio.wav", folder / "c.wav")
    (folder / "notes.txt").write_text("not a recording; skipped")

    output, error = run_import(folder, "--locale", "en-GB", "--device-type", "phone")

    lines = output_lines(output)
    assert lines[0].startswith("a.ogg: imported: imported as clip c_")
    assert lines[1] == "c.wav: rejected: not an audio file (no known audio format could read it)"
    assert lines[2].startswith("nested/b.flac: imported: imported as clip c_")
    assert lines[3] == "summary: 2 imported, 0 duplicate, 0 opted out, 1 rejected"
    assert len(lines) == 4
    assert error == "1 file(s) rejected; the rest were processed"
    clips = list(Clip.objects.all())
    assert {(c.locale, c.device_type) for c in clips} == {("en-GB", "phone")}
    assert_only_clips(private_storage, clips)


def test_folder_mode_refuses_a_symlink_pointing_outside(tmp_path, private_storage):
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "escape.wav").symlink_to(AUDIO / "timer.wav")
    shutil.copy(AUDIO / "timer.ogg", folder / "ok.ogg")

    output, error = run_import(folder)

    lines = output_lines(output)
    assert lines[0] == f"escape.wav: rejected: the path is outside the import root {folder.resolve()}"
    assert lines[1].startswith("ok.ogg: imported:")
    assert error is not None
    assert_only_clips(private_storage, list(Clip.objects.all()))
    assert Clip.objects.count() == 1


def test_command_reports_a_missing_path(tmp_path):
    with pytest.raises(CommandError, match="no such file or folder"):
        call_command("import_clips", str(tmp_path / "missing.jsonl"), stdout=io.StringIO())


# --- bad input, one at a time, mixed with a good clip ------------------------------------


BAD_LINES = [
    pytest.param(line("not_audio.wav"), "not an audio file (no known audio format could read it)", id="not-audio"),
    pytest.param(
        line("truncated.wav"), "the file is truncated: it declares 2.2 s but only 0.9 s are present", id="truncated-wav"
    ),
    pytest.param(line("truncated.ogg"), "the file is truncated (it ends before its audio starts)", id="truncated-ogg"),
    pytest.param(line("truncated.flac"), "the file is truncated (decoding stopped part-way)", id="truncated-flac"),
    pytest.param(line("empty.wav"), "the file is empty", id="empty"),
    pytest.param(line("silence.wav"), "the clip is silent", id="silent"),
    pytest.param(line("long.wav"), "the clip is 70.0 s, longer than the 60 s limit", id="too-long"),
    pytest.param(line("missing.wav"), "no such file", id="no-such-file"),
    pytest.param(
        {k: v for k, v in line("timer.wav").items() if k != "locale"}, "missing field(s): locale", id="missing-locale"
    ),
    pytest.param(line("timer.wav", account_id=""), "missing field(s): account_id", id="empty-account-id"),
    pytest.param(clip_meta(), "missing field(s): audio", id="missing-audio"),
    pytest.param(line("timer.wav", colour="red"), "unknown field(s): colour", id="unknown-field"),
    pytest.param(
        line("timer.wav", wake_word_score="high"),
        "field wake_word_score must be a number, not str",
        id="wrong-type-score",
    ),
    pytest.param(
        line("timer.wav", wake_word_score=True), "field wake_word_score must be a number, not bool", id="bool-score"
    ),
    pytest.param(line("timer.wav", wake_word_score=1.5), "field wake_word_score must be between 0 and 1", id="score>1"),
    pytest.param(line("timer.wav", locale=5), "field locale must be a string, not int", id="wrong-type-locale"),
    pytest.param(
        line("timer.wav", opted_out="yes"), "field opted_out must be true or false, not str", id="wrong-type-opt-out"
    ),
    pytest.param(line("timer.wav", locale="x" * 17), "field locale is longer than 16 characters", id="long-locale"),
    pytest.param(
        line("timer.wav", captured_at="yesterday"),
        "field captured_at must be an ISO 8601 date and time, e.g. 2026-11-20T14:03:11+00:00",
        id="captured-at-words",
    ),
    pytest.param(
        line("timer.wav", captured_at="2026-02-30T10:00:00+00:00"),
        "field captured_at must be an ISO 8601 date and time, e.g. 2026-11-20T14:03:11+00:00",
        id="captured-at-feb-30",
    ),
    pytest.param(
        line("timer.wav", captured_at="2026-11-20T14:03:11"),
        "field captured_at needs a time zone, e.g. +00:00",
        id="captured-at-naive",
    ),
    pytest.param(
        '{"audio": "timer.wav",',
        "not valid JSON (Expecting property name enclosed in double quotes)",
        id="bad-json",
    ),
    pytest.param("[1, 2]", "missing field(s): audio", id="json-not-object"),
    pytest.param(line("timer.wav\x00.ogg"), "the path is not a valid file name", id="nul-in-path"),
]


def _where(number: int, bad: dict | str) -> str:
    path = bad.get("audio") if isinstance(bad, dict) else None
    return f"line {number} {path}" if path else f"line {number}"


@pytest.mark.parametrize(("bad", "message"), BAD_LINES)
def test_bad_line_is_rejected_with_its_message_and_leaves_nothing(bad, message, import_dir, private_storage):
    Queue.objects.create(name="everything")
    manifest = write_manifest(import_dir / "manifest.jsonl", [line("timer.ogg"), bad, line("timer.mp3")])

    output, error = run_import(manifest)

    lines = output_lines(output)
    assert lines[0].startswith("line 1 timer.ogg: imported: imported as clip c_")
    assert lines[1] == f"{_where(2, bad)}: rejected: {message}"
    assert lines[2].startswith("line 3 timer.mp3: imported: imported as clip c_")
    assert lines[3] == "summary: 2 imported, 0 duplicate, 0 opted out, 1 rejected"
    assert error == "1 file(s) rejected; the rest were processed"
    clips = list(Clip.objects.all())
    assert len(clips) == 2
    assert Task.objects.count() == 2
    assert_only_clips(private_storage, clips)


def test_one_batch_with_every_bad_line_imports_all_the_good_ones(import_dir, private_storage):
    good = [line(name) for name in ("timer.ogg", "timer.mp3", "timer.flac", "timer.m4a")]
    bad = [(param.values[0], param.values[1]) for param in BAD_LINES]
    lines: list[dict | str] = []
    for index, (bad_line, _) in enumerate(bad):
        if index % 7 == 0:
            lines.append(good[index // 7])
        lines.append(bad_line)

    output, error = run_import(write_manifest(import_dir / "manifest.jsonl", lines))

    printed = output_lines(output)
    expected_bad = iter(bad)
    for number, (sent, shown) in enumerate(zip(lines, printed, strict=False), start=1):
        if sent in good:
            assert shown.startswith(f"{_where(number, sent)}: imported: imported as clip c_")
        else:
            assert shown == f"{_where(number, sent)}: rejected: {next(expected_bad)[1]}"
    assert printed[-1] == f"summary: 4 imported, 0 duplicate, 0 opted out, {len(bad)} rejected"
    assert error == f"{len(bad)} file(s) rejected; the rest were processed"
    assert Clip.objects.count() == 4
    assert_only_clips(private_storage, list(Clip.objects.all()))


def test_line_that_is_not_utf8_is_rejected_and_the_batch_goes_on(import_dir, private_storage):
    manifest = import_dir / "manifest.jsonl"
    write_manifest(manifest, [line("timer.ogg")])
    with manifest.open("ab") as fh:
        fh.write(b'{"audio": "timer.mp3", "heard": "caf\xe9"}\n')
    write_manifest(import_dir / "second.jsonl", [line("timer.flac")])
    manifest.write_bytes(manifest.read_bytes() + (import_dir / "second.jsonl").read_bytes())

    output, error = run_import(manifest)

    lines = output_lines(output)
    assert lines[1] == "line 2: rejected: not valid UTF-8"
    assert lines[2].startswith("line 3 timer.flac: imported:")
    assert lines[3] == "summary: 2 imported, 0 duplicate, 0 opted out, 1 rejected"
    assert_only_clips(private_storage, list(Clip.objects.all()))


def test_blank_lines_are_skipped(import_dir):
    manifest = write_manifest(import_dir / "manifest.jsonl", ["", line("timer.ogg"), "   "])

    output, error = run_import(manifest)

    assert error is None
    assert output_lines(output)[0].startswith("line 2 timer.ogg: imported:")
    assert output_lines(output)[-1] == "summary: 1 imported, 0 duplicate, 0 opted out, 0 rejected"


def test_file_over_the_size_limit_is_rejected(settings, import_dir, private_storage):
    settings.ANNOTATE_MAX_UPLOAD_BYTES = 100_000  # stereo44k.wav is 176 kB; timer.ogg 6 kB
    manifest = write_manifest(import_dir / "manifest.jsonl", [line("stereo44k.wav"), line("timer.ogg")])

    output, error = run_import(manifest)

    lines = output_lines(output)
    assert lines[0] == "line 1 stereo44k.wav: rejected: the file is 0.2 MB, over the 0.1 MB limit"
    assert lines[1].startswith("line 2 timer.ogg: imported:")
    assert lines[2] == "summary: 1 imported, 0 duplicate, 0 opted out, 1 rejected"
    assert_only_clips(private_storage, list(Clip.objects.all()))


def test_service_refuses_bytes_over_the_size_limit(settings, private_storage):
    settings.ANNOTATE_MAX_UPLOAD_BYTES = 100_000
    data = (AUDIO / "stereo44k.wav").read_bytes()

    result = ingest.ingest_clip(data=data, meta=ingest.parse_meta(clip_meta()))

    assert (result.outcome, result.status) == (ingest.REJECTED, 413)
    assert result.message == "the file is 0.2 MB, over the 0.1 MB limit"
    assert not Clip.objects.exists() and not stored_files(private_storage)


def test_clip_shorter_than_the_minimum_is_rejected(settings, import_dir, private_storage):
    settings.ANNOTATE_MIN_CLIP_SECONDS = 5
    manifest = write_manifest(import_dir / "manifest.jsonl", [line("timer.wav")])

    output, _ = run_import(manifest)

    assert output_lines(output)[0] == "line 1 timer.wav: rejected: the clip is 2.24 s, shorter than 5 s"
    assert_only_clips(private_storage, [])


# --- the import root -----------------------------------------------------------------------


def test_paths_outside_the_import_root_are_refused(import_dir, tmp_path, private_storage):
    shutil.copy(AUDIO / "timer.wav", tmp_path / "outside.wav")
    (import_dir / "link.wav").symlink_to(tmp_path / "outside.wav")
    outside_absolute = str((AUDIO / "timer.flac").resolve())
    manifest = write_manifest(
        import_dir / "manifest.jsonl",
        [line("../outside.wav"), line(outside_absolute), line("link.wav"), line("timer.ogg")],
    )

    output, error = run_import(manifest)

    root = import_dir.resolve()
    lines = output_lines(output)
    assert lines[0] == f"line 1 ../outside.wav: rejected: the path is outside the import root {root}"
    assert lines[1] == f"line 2 {outside_absolute}: rejected: the path is outside the import root {root}"
    assert lines[2] == f"line 3 link.wav: rejected: the path is outside the import root {root}"
    assert lines[3].startswith("line 4 timer.ogg: imported:")
    assert lines[4] == "summary: 1 imported, 0 duplicate, 0 opted out, 3 rejected"
    assert error == "3 file(s) rejected; the rest were processed"
    assert_only_clips(private_storage, list(Clip.objects.all()))
    assert Clip.objects.count() == 1


def test_configured_import_root_allows_a_manifest_elsewhere(settings, tmp_path, import_dir):
    settings.ANNOTATE_IMPORT_ROOT = str(import_dir)
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    manifest = write_manifest(manifests / "m.jsonl", [line("../import/timer.ogg"), line(str(AUDIO / "timer.mp3"))])

    output, _ = run_import(manifest)

    lines = output_lines(output)
    assert lines[0].startswith("line 1 ../import/timer.ogg: imported:")
    assert lines[1].endswith(f"rejected: the path is outside the import root {import_dir.resolve()}")


# --- duplicates and re-import ----------------------------------------------------------------


def test_duplicate_in_one_batch_is_reported_and_not_stored_twice(import_dir, private_storage):
    manifest = write_manifest(
        import_dir / "manifest.jsonl", [line("timer.ogg"), line("timer.ogg", account_id="ACCT-OTHER")]
    )

    output, error = run_import(manifest)

    clip = Clip.objects.get()
    lines = output_lines(output)
    assert lines[1] == f"line 2 timer.ogg: duplicate: already imported as clip {clip.public_id}"
    assert lines[2] == "summary: 1 imported, 1 duplicate, 0 opted out, 0 rejected"
    assert error is None
    assert_only_clips(private_storage, [clip])


def test_reimporting_a_manifest_is_idempotent(import_dir, private_storage):
    queue = Queue.objects.create(name="everything")
    names = ("timer.ogg", "timer.mp3", "timer.m4a")
    manifest = write_manifest(import_dir / "manifest.jsonl", [line(name) for name in names])
    run_import(manifest)
    counts = (Clip.objects.count(), SealedIdentity.objects.count(), Task.objects.filter(queue=queue).count())
    files = stored_files(private_storage)

    output, error = run_import(manifest)

    assert error is None
    lines = output_lines(output)
    for number, (name, clip) in enumerate(
        zip(("timer.ogg", "timer.mp3", "timer.m4a"), Clip.objects.order_by("pk"), strict=True), start=1
    ):
        assert lines[number - 1] == f"line {number} {name}: duplicate: already imported as clip {clip.public_id}"
    assert lines[3] == "summary: 0 imported, 3 duplicate, 0 opted out, 0 rejected"
    assert counts == (3, 3, 3)
    assert (Clip.objects.count(), SealedIdentity.objects.count(), Task.objects.count()) == counts
    assert stored_files(private_storage) == files


def test_quiet_ok_prints_only_what_was_not_imported(import_dir):
    manifest = write_manifest(import_dir / "manifest.jsonl", [line("timer.ogg"), line("empty.wav")])

    output, _ = run_import(manifest, "--quiet-ok")

    assert output_lines(output) == [
        "line 2 empty.wav: rejected: the file is empty",
        "summary: 1 imported, 0 duplicate, 0 opted out, 1 rejected",
    ]


# --- opt-out ---------------------------------------------------------------------------------


def test_opted_out_subject_is_counted_never_stored_and_stays_out(import_dir, private_storage):
    manifest = write_manifest(
        import_dir / "manifest.jsonl",
        [
            line("timer.ogg", account_id="ACCT-OUT", opted_out=True),
            line("timer.mp3", account_id="ACCT-OUT"),  # same subject, no flag: still dropped
            line("timer.flac", account_id="ACCT-IN"),
        ],
    )

    output, error = run_import(manifest)

    message = "the subject opted out: not stored (counted only)"
    lines = output_lines(output)
    assert lines[0] == f"line 1 timer.ogg: opted out: {message}"
    assert lines[1] == f"line 2 timer.mp3: opted out: {message}"
    assert lines[2].startswith("line 3 timer.flac: imported:")
    assert lines[3] == "summary: 1 imported, 0 duplicate, 2 opted out, 0 rejected"
    assert error is None
    clip = Clip.objects.get()
    assert clip.source_format == "flac"
    assert_only_clips(private_storage, [clip])
    assert OptOut.objects.count() == 1
    assert IngestCount.objects.get(day=datetime.now(UTC).date(), outcome=ingest.OPTED_OUT).count == 2

    later = write_manifest(import_dir / "later.jsonl", [line("timer.m4a", account_id="  ACCT-OUT ")])
    output, _ = run_import(later)

    assert output_lines(output)[0] == f"line 1 timer.m4a: opted out: {message}"
    assert Clip.objects.count() == 1
    assert IngestCount.objects.get(outcome=ingest.OPTED_OUT).count == 3
    assert len(stored_files(private_storage)) == 1


def test_an_opt_out_erases_earlier_clips_and_blocks_new_ones(import_dir):
    run_import(write_manifest(import_dir / "a.jsonl", [line("timer.ogg", account_id="ACCT-X")]))
    run_import(write_manifest(import_dir / "o.jsonl", [line("timer.m4a", account_id="ACCT-Y")]))
    assert Clip.objects.count() == 2
    run_import(write_manifest(import_dir / "b.jsonl", [line("timer.mp3", account_id="ACCT-X", opted_out=True)]))
    output, _ = run_import(write_manifest(import_dir / "c.jsonl", [line("timer.flac", account_id="ACCT-X")]))

    assert "opted out" in output_lines(output)[0]
    assert Clip.objects.count() == 1  # ACCT-X's earlier clip went with its opt-out (annotate.privacy)
    assert SealedIdentity.objects.get().account_hash == crypto.lookup_hash("ACCT-Y")


# --- sampling into queues ----------------------------------------------------------------------


def test_new_clips_are_sampled_into_queues_by_rule(import_dir):
    us = Queue.objects.create(name="en-US speakers", locales=["en-US"], device_types=["speaker"], sample_rate=1)
    every = Queue.objects.create(name="everything", sample_rate=1.0)
    never = Queue.objects.create(name="paused", sample_rate=0)
    archived = Queue.objects.create(name="old", archived=True)
    gb = Queue.objects.create(name="en-GB", locales=["en-GB"])
    manifest = write_manifest(
        import_dir / "manifest.jsonl",
        [
            line("timer.ogg", locale="en-US", device_type="speaker"),
            line("timer.mp3", locale="en-US", device_type="phone"),
            line("timer.flac", locale="en-GB", device_type="speaker"),
        ],
    )

    run_import(manifest)

    by_format = {c.source_format: c for c in Clip.objects.all()}
    queues_of = {
        fmt: set(Task.objects.filter(clip=clip).values_list("queue__name", flat=True))
        for fmt, clip in by_format.items()
    }
    assert queues_of == {
        "ogg": {us.name, every.name},
        "mp3": {every.name},
        "flac": {every.name, gb.name},
    }
    assert not Task.objects.filter(queue__in=[never, archived]).exists()
    assert set(Task.objects.values_list("state", flat=True)) == {Task.State.OPEN}


# --- concurrency (PostgreSQL) --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_clip_sent_twice_at_once_is_stored_once(monkeypatch, private_storage):
    """Both uploads pass the duplicate check before either commits; the unique
    index decides, and the loser removes its file and answers "duplicate"."""
    monkeypatch.setattr(asr, "enqueue_transcription", lambda clip: None)  # Whisper is not under test here
    both_checked = threading.Barrier(2, timeout=10)
    real_decode = audio.decode

    def decode_after_both_checked(data):
        both_checked.wait()  # decode runs after the duplicate check
        return real_decode(data)

    monkeypatch.setattr(audio, "decode", decode_after_both_checked)
    data = (AUDIO / "timer.ogg").read_bytes()
    outcomes: list[ingest.Outcome] = []

    def upload():
        try:
            outcomes.append(ingest.ingest_clip(data=data, meta=ingest.parse_meta(clip_meta())))
        finally:
            connection.close()

    threads = [threading.Thread(target=upload) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    clip = Clip.objects.get()
    assert sorted(o.outcome for o in outcomes) == [ingest.DUPLICATE, ingest.IMPORTED]
    loser = next(o for o in outcomes if o.outcome == ingest.DUPLICATE)
    assert (loser.status, loser.message) == (409, f"already imported as clip {clip.public_id}")
    assert_only_clips(private_storage, [clip])
