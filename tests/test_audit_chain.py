"""The audit log is tamper-evident: hash-chained rows, a database that refuses UPDATE, DELETE and TRUNCATE,
and `manage.py verify_audit`, which names the first broken link."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import InternalError, ProgrammingError, connection, connections, transaction

from annotate.audit.chain import GENESIS, event_hash
from annotate.audit.models import AuditEvent
from annotate.audit.services import record

TABLE = AuditEvent._meta.db_table


def verify() -> str:
    out = StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def three_events(actor) -> list[AuditEvent]:
    return [
        record(action="audio.play", actor=actor, clip_public_id="c_1", ip="10.0.0.1"),
        record(action="case.flag", actor=actor, target="case:7", details={"severity": 3, "why": "ünïcode"}),
        record(action="identity.unseal", actor=actor, details={"reason": "welfare check", "ids": [1, 2]}),
    ]


def test_each_event_carries_the_hash_of_the_one_before(reviewer):
    first, second, third = three_events(reviewer)
    assert first.prev_hash == GENESIS
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    stored = AuditEvent.objects.get(pk=second.pk)
    assert stored.hash == event_hash(stored, first.hash)  # the hash is over the values as stored
    assert "audit log intact: 3 rows" in verify()


def test_an_empty_log_verifies(db):
    assert "nothing to verify" in verify()


def test_an_event_cannot_be_saved_twice(reviewer):
    event = record(action="audio.play", actor=reviewer)
    event.action = "nothing"
    with pytest.raises(ValueError, match="append-only"):
        event.save()


@pytest.mark.postgres
def test_the_database_refuses_truncate(db):
    record(action="audio.play")
    with pytest.raises((InternalError, ProgrammingError), match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the insert's FK check first: TRUNCATE waits for none
            cursor.execute(f"TRUNCATE {TABLE}")
    assert AuditEvent.objects.count() == 1


@pytest.mark.postgres
def test_no_session_setting_switches_the_triggers_off(db):
    """pgtrigger's triggers skip themselves for `SET pgtrigger.ignore`; the audit log's triggers have no switch."""
    event = record(action="audio.play")
    triggers = ["pgtrigger_append_only_00dfa", "audit_append_only", "audit_no_truncate"]
    with pytest.raises((InternalError, ProgrammingError), match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL pgtrigger.ignore = %s", ["{" + ",".join(triggers) + "}"])
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [event.pk])  # noqa: S608 - a constant table
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def as_owner_without_triggers(sql: str, params: list) -> None:
    """What the table's owner can still do: switch the trigger off, change rows, switch it back on."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own inserts' FK checks, before ALTER TABLE
        cursor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_append_only")
        cursor.execute(sql, params)
        cursor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER audit_append_only")


@pytest.mark.postgres
def test_verify_audit_reports_a_row_deleted_by_the_owner(reviewer):
    first, second, third = three_events(reviewer)
    as_owner_without_triggers(f"DELETE FROM {TABLE} WHERE id = %s", [second.pk])  # noqa: S608
    with pytest.raises(CommandError) as failure:
        verify()
    message = str(failure.value)
    assert failure.value.returncode == 1
    assert message.startswith(f"audit log broken at row {third.pk}: prev_hash ")
    assert f"does not match the hash of row {first.pk}" in message
    assert "a row before it was deleted, changed or inserted" in message


@pytest.mark.postgres
def test_verify_audit_reports_a_row_changed_by_the_owner(reviewer):
    first, second, third = three_events(reviewer)
    changed = f"UPDATE {TABLE} SET details = %s WHERE id = %s"  # noqa: S608 - a constant table
    as_owner_without_triggers(changed, ['{"reason": "nothing"}', third.pk])
    with pytest.raises(CommandError, match=f"audit log broken at row {third.pk}: hash .* the row was changed"):
        verify()


@pytest.mark.postgres
def test_the_apps_role_that_does_not_own_the_table_cannot_switch_the_trigger_off(reviewer):
    """The README's production set-up: the app's role may SELECT and INSERT on the audit log, nothing more."""
    role = f"annotate_app_{connection.settings_dict['NAME']}"[:63]
    event = record(action="audio.play", actor=reviewer)
    with connection.cursor() as cursor:  # inside the test's transaction: rolled back after it, role and all
        cursor.execute(f'CREATE ROLE "{role}" NOLOGIN')
        cursor.execute(f'GRANT SELECT, INSERT ON {TABLE} TO "{role}"')
        cursor.execute(f'GRANT USAGE ON SEQUENCE {TABLE}_id_seq TO "{role}"')
        cursor.execute(f'SET LOCAL ROLE "{role}"')
    record(action="audio.play")  # it can append
    for statement in [
        f"ALTER TABLE {TABLE} DISABLE TRIGGER audit_append_only",
        f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL",
        f"DROP TRIGGER audit_append_only ON {TABLE}",
        f"DELETE FROM {TABLE} WHERE id = {event.pk}",  # noqa: S608
        f"TRUNCATE {TABLE}",
        "SET session_replication_role = replica",
    ]:
        with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
    assert "audit log intact: 2 rows" in verify()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_extend_one_chain():
    """Writers in parallel transactions queue on the chain's lock: no two rows share a predecessor."""
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(10):
                with transaction.atomic():
                    record(action="audio.play", target=f"writer:{n}:{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    prev_hashes = list(AuditEvent.objects.values_list("prev_hash", flat=True))
    assert len(prev_hashes) == len(set(prev_hashes)) == 60
    assert "audit log intact: 60 rows" in verify()
