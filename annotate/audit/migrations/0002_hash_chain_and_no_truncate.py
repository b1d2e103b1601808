"""The audit log becomes tamper-evident and refuses TRUNCATE.

- pgtrigger's UPDATE/DELETE trigger goes: its function skips itself for any session that runs
  `SET pgtrigger.ignore = '{...}'`, which the app's own role may do. Plain triggers replace it:
  BEFORE UPDATE OR DELETE (per row) and BEFORE TRUNCATE (per statement), with no such switch.
- Every row gets `prev_hash` and `hash` (annotate/audit/chain.py); the rows already there are chained
  here, in id order.
"""

import django.utils.timezone
import pgtrigger.migrations
from django.db import migrations, models

from annotate.audit import chain

PROTECT_SQL = """
CREATE OR REPLACE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""

UNPROTECT_SQL = """
DROP TRIGGER IF EXISTS audit_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_refuse_change();
"""


def chain_existing_events(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    prev_hash = chain.GENESIS
    for event in AuditEvent.objects.order_by("id").iterator():
        event_hash = chain.event_hash(event, prev_hash)
        AuditEvent.objects.filter(pk=event.pk).update(prev_hash=prev_hash, hash=event_hash)
        prev_hash = event_hash


def protect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PROTECT_SQL, params=None)


def unprotect(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNPROTECT_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        pgtrigger.migrations.RemoveTrigger(model_name="auditevent", name="append_only"),
        migrations.AlterField(
            model_name="auditevent",
            name="at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="prev_hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="auditevent",
            name="hash",
            field=models.CharField(default="", editable=False, max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(chain_existing_events, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.CheckConstraint(
                condition=~models.Q(hash="") & ~models.Q(prev_hash=""), name="audit_event_chained"
            ),
        ),
        migrations.RunPython(protect, unprotect),
    ]
