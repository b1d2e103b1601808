"""The append-only, hash-chained audit log.

On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE on the table (triggers made by migration 0002,
with no bypass switch for the app's role), and every row carries `prev_hash` and `hash`, chained in id order
(annotate/audit/chain.py), so a row removed or changed by the table's owner is found by `manage.py verify_audit`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from annotate.audit import chain


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    action = models.CharField(max_length=64, db_index=True)
    clip_public_id = models.CharField(max_length=32, blank=True, db_index=True)
    target = models.CharField(max_length=200, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64, editable=False)
    hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(hash="") & ~models.Q(prev_hash=""), name="audit_event_chained"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.clip_public_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new event is linked to the chain's head, under the chain's lock, in the caller's transaction."""
        if not self._state.adding:
            raise ValueError("audit events are append-only")
        with transaction.atomic(savepoint=False):
            chain.lock_head()
            # Hash the values as the database will give them back.
            self.ip = self._meta.get_field("ip").get_prep_value(self.ip) or None
            self.prev_hash = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or chain.GENESIS
            self.hash = chain.event_hash(self, self.prev_hash)
            super().save(*args, **kwargs)
