from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotate.leads import labelstudio


class Command(BaseCommand):
    help = (
        "Import a Label Studio JSON export of an audio transcription project (<Audio> + <TextArea>): each task's "
        "audio from --audio-dir becomes a clip, its predictions machine transcripts, its annotation the reviewed "
        "transcript (docs/leads.md, Label Studio)."
    )

    def add_arguments(self, parser):
        parser.add_argument("export", help="the export file: Label Studio's JSON or JSON_MIN export")
        parser.add_argument("--audio-dir", required=True, help="the folder holding the tasks' audio files")
        parser.add_argument("--locale", default="en-US", help="the clips' locale (default en-US)")
        parser.add_argument("--device-type", default="labelstudio", help="the clips' device type")

    def handle(self, *args, export: str, audio_dir: str, locale: str, device_type: str, **options):
        folder = Path(audio_dir)
        if not folder.is_dir():
            raise CommandError(f"{audio_dir}: no such folder")
        try:
            tasks = labelstudio.read_tasks(Path(export))
        except labelstudio.LabelStudioError as exc:
            raise CommandError(str(exc)) from None
        report = labelstudio.import_tasks(tasks, audio_dir=folder, locale=locale, device_type=device_type)
        for row in report.rows:
            style = self.style.SUCCESS if row.outcome != "skipped" else self.style.ERROR
            extra = (
                f" ({row.predictions} machine transcript(s){', reviewed' if row.reviewed else ''})" if row.clip else ""
            )
            self.stdout.write(style(f"task {row.task}: {row.outcome}: {row.message}{extra}"))
        self.stdout.write(f"summary: {report.text()}")
        if report.count("skipped"):
            raise CommandError(f"{report.count('skipped')} task(s) skipped; the rest were imported")
