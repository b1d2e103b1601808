"""What the lead console keeps: second opinions and exports (quality scores: annotate.quality)."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext


class SecondOpinion(models.Model):
    """A reviewer's question about a clip, answered by a lead inside the product."""

    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="second_opinions")
    task = models.ForeignKey("queues.Task", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    queue = models.ForeignKey("queues.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    asked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="questions_asked")
    question = models.CharField(max_length=500)
    moment_seconds = models.FloatField(null=True, blank=True, help_text="where in the clip, if the reviewer said")
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    seen_at = models.DateTimeField(null=True, blank=True, help_text="when the reviewer saw the answer")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["answered_at", "created_at"]), models.Index(fields=["asked_by", "created_at"])]

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


class Export(models.Model):
    """A training-data export, built by an RQ job into an encrypted zip in private storage.

    It expires ANNOTATE_EXPORT_TTL_DAYS after its first build (its file deleted by
    exports.delete_expired_exports). ExportItem rows say which clips the archive holds;
    when some are withdrawn (erased or purged), exports.withdraw_clips deletes the
    file and builds it again from the clips left, or marks it withdrawn if none is.
    """

    class Format(models.TextChoices):
        JSONL = "jsonl", _("JSON lines")
        CSV = "csv", _("CSV")
        NEMO = "nemo", _("NeMo ASR manifest")
        HF = "hf", _("Hugging Face audiofolder")
        LABELSTUDIO = "labelstudio", _("Label Studio tasks")

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        EXPIRED = "expired", _("expired")
        WITHDRAWN = "withdrawn", _("withdrawn")

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exports")
    format = models.CharField(max_length=16, choices=Format.choices)
    queue = models.ForeignKey("queues.Queue", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    clip_count = models.PositiveIntegerField(default=0, help_text="clips in the finished archive")
    file_name = models.CharField(max_length=200, blank=True, help_text="storage name of the encrypted zip")
    size_bytes = models.PositiveBigIntegerField(default=0, help_text="of the zip (decrypted), as downloaded")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="set by the first build; the file goes then")
    rebuilt_at = models.DateTimeField(
        null=True, blank=True, help_text="when clips were last withdrawn from it (it is then built from its items)"
    )
    withdrawn_count = models.PositiveIntegerField(default=0, help_text="clips withdrawn from it since the first build")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.format}, {self.state})"

    @property
    def progress(self) -> float:
        if self.state == self.State.DONE:
            return 1.0
        return self.done / self.total if self.total else 0.0

    def is_expired(self, now: datetime | None = None) -> bool:
        """Past its expiry, whether or not the sweeper has deleted the file yet."""
        if self.state == self.State.EXPIRED:
            return True
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    def is_downloadable(self, now: datetime | None = None) -> bool:
        return self.state == self.State.DONE and bool(self.file_name) and not self.is_expired(now)

    @property
    def current_state(self) -> str:
        """The state, or "expired" once past its expiry (before the sweeper has marked it so)."""
        if self.state != self.State.WITHDRAWN and self.is_expired():
            return self.State.EXPIRED
        return self.state

    @property
    def current_state_label(self) -> str:
        """The current state in the page's words."""
        return str(self.State(self.current_state).label)

    @property
    def note(self) -> str:
        """Clips withdrawn since the first build, in the page's words."""
        if not self.withdrawn_count or self.rebuilt_at is None:
            return ""
        day = date_format(timezone.localtime(self.rebuilt_at), "DATE_FORMAT")
        n = self.withdrawn_count
        if self.state == self.State.WITHDRAWN:
            message = ngettext(
                "withdrawn on %(day)s: every clip in it (%(n)s clip) was erased or purged",
                "withdrawn on %(day)s: every clip in it (%(n)s clips) was erased or purged",
                n,
            )
        elif self.state in (self.State.QUEUED, self.State.RUNNING):
            message = ngettext(
                "being rebuilt without %(n)s clip (withdrawn on %(day)s)",
                "being rebuilt without %(n)s clips (withdrawn on %(day)s)",
                n,
            )
        else:
            message = ngettext("rebuilt without %(n)s clip on %(day)s", "rebuilt without %(n)s clips on %(day)s", n)
        return message % {"n": n, "day": day}


class ExportItem(models.Model):
    """A clip in an export's archive (written by the build), so the export can be rebuilt without it."""

    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="items")
    clip = models.ForeignKey("clips.Clip", on_delete=models.CASCADE, related_name="export_items")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["export", "clip"], name="export_item_once")]

    def __str__(self) -> str:
        return f"clip {self.clip_id} in export {self.export_id}"
