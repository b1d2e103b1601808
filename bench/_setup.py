"""Shared set-up for the benches: a throw-away PostgreSQL database and fast bulk data.

    from bench import _setup
    _setup.use_database("annotate_bench_x")      # create (or recreate), point Django at it, migrate
    users = _setup.make_users("reviewer", 64, "reviewer")
    _setup.fill_queue(queue, 100_000)            # clips, machine transcripts and open tasks, in SQL
    _setup.add_history(queue, users, 50)         # each reviewer's past: done tasks and annotations
    _setup.drop_database("annotate_bench_x")

Only databases named annotate_bench… are created and dropped here.

The server is the one of BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
only the database name is replaced. Call use_database() before importing anything
that touches Django models: it sets DATABASE_URL and runs django.setup().
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SERVER_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")


def size(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def database_url(name: str) -> str:
    parts = urlsplit(SERVER_URL)
    return urlunsplit(parts._replace(path="/" + name))


def admin_connection():
    import psycopg

    return psycopg.connect(database_url("postgres"), autocommit=True)


def _check_name(name: str) -> None:
    if not name.startswith("annotate_bench") or not name.replace("_", "").isalnum():
        raise ValueError(f"bench databases are named annotate_bench followed by letters, digits and _, not {name!r}")


def _django_uses(name: str) -> bool:
    from django.apps import apps

    if not apps.ready:
        return False
    from django.db import connections

    return connections["default"].settings_dict["NAME"] == name


def drop_database(name: str) -> None:
    _check_name(name)
    with admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_database(name: str, *, verbose: bool = True) -> str:
    """Create database `name` afresh, point Django at it, set Django up and migrate. Returns the URL."""
    _check_name(name)
    if _django_uses(name):
        from django.db import connections

        connections.close_all()
    drop_database(name)
    with admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = database_url(name)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotate.settings")
    import django
    from django.apps import apps
    from django.core.management import call_command
    from django.db import connections

    if apps.ready:  # a second database in the same run: re-point the default connection
        connections.close_all()
        if hasattr(connections["default"], "close_pool"):  # Django keeps one pool per alias: a new one
            connections["default"].close_pool()
        connections["default"].settings_dict["NAME"] = name
    else:
        django.setup()
        if connections["default"].vendor != "postgresql":
            raise RuntimeError(f"the benches need PostgreSQL, and DATABASE_URL={url} is not")
    call_command("migrate", verbosity=0)
    if verbose:
        print(f"database         {name} (migrated)")
    return url


def make_users(prefix: str, count: int, *groups: str) -> list:
    """`count` users named prefix000… in the given groups, with unusable passwords (no hashing)."""
    from django.contrib.auth.models import Group, User

    users = User.objects.bulk_create(
        [User(username=f"{prefix}{i:03d}", password="!") for i in range(count)]  # "!": unusable password
    )
    for group in Group.objects.filter(name__in=groups):
        group.user_set.add(*users)
    return users


def columns_and_values(model, values: dict[str, str], params: dict) -> tuple[list[str], list[str]]:
    """Quoted columns and SQL values of a row of `model`: `values` (SQL by field name), every other
    field its default (added to `params`), nullable ones left out. Fields added to the models later
    are filled with their defaults, so the benches keep working."""
    from django.db import connection

    columns, exprs = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        if f.name in values:
            expr = values[f.name]
        elif f.has_default() or (f.empty_strings_allowed and not f.null):
            key = f"default_{f.column}"
            params[key] = f.get_db_prep_save(f.get_default(), connection)
            expr = f"%({key})s"
        elif f.null:
            continue
        else:
            raise ValueError(f"{model.__name__}.{f.name} has no default: the bench must give it a value")
        columns.append(connection.ops.quote_name(f.column))
        exprs.append(expr)
    return columns, exprs


def _insert_select(model, values: dict[str, str], rest: str, params: dict) -> None:
    """INSERT INTO model's table SELECT `values` (SQL by field name) `rest`; other fields get their defaults."""
    from django.db import connection

    columns, exprs = columns_and_values(model, values, params)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(exprs)} {rest}", params)


def fill_queue(queue, count: int, *, transcript: str = "set a timer for ten minutes") -> None:
    """Add `count` transcribed clips, each with a Whisper transcript and an open task in `queue`.

    Done in SQL (INSERT … SELECT generate_series), so a million rows take seconds.
    Tasks get distinct, increasing created_at values, as tasks sampled over time do.
    Clips carry no audio: claiming and submitting never read it. Ends with
    VACUUM ANALYZE, as autovacuum would (it is off on some servers), and, as a
    superuser, a CHECKPOINT.
    """
    from django.db import connection, transaction

    from annotate.clips.models import Clip, MachineTranscript
    from annotate.queues.models import Task

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM clips_clip")
            (offset,) = cursor.fetchone()
        _insert_select(
            Clip,
            {
                "public_id": "'c_' || lpad(to_hex(g), 16, '0')",
                "content_sha256": "encode(sha256(('bench clip ' || g)::bytea), 'hex')",
                "duration_ms": "1000",
                "locale": "'en-US'",
                "device_type": "'speaker'",
                "heard": "%(text)s",
                "response": "'OK'",
                "intent": "'SetTimer'",
                "state": f"'{Clip.State.READY}'",
                "created_at": "now() - interval '1 day' + g * interval '1 millisecond'",
            },
            "FROM generate_series(%(first)s, %(last)s) AS g",
            {"text": transcript, "first": offset + 1, "last": offset + count},
        )
        _insert_select(
            MachineTranscript,
            {
                "clip": "id",
                "model_name": "'tiny.en'",
                "language": "'en'",
                "text": "heard",
                "created_at": "created_at",
            },
            "FROM clips_clip WHERE id > %(after)s",
            {"after": offset},
        )
        _insert_select(
            Task,
            {"queue": "%(queue)s", "clip": "id", "state": f"'{Task.State.OPEN}'", "created_at": "created_at"},
            "FROM clips_clip WHERE id > %(after)s ORDER BY id",
            {"queue": queue.pk, "after": offset},
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE clips_clip, clips_machinetranscript, queues_task")
        # The rows just written are flushed now, not by a checkpoint in the middle of the
        # timed phases (a million clips are about 1 GB of WAL: max_wal_size's default).
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if cursor.fetchone()[0]:
            cursor.execute("CHECKPOINT")


def add_history(queue, users: list, per_user: int) -> None:
    """Give each reviewer `per_user` reviewed clips in `queue`: done tasks with annotations.

    The claim query looks at the reviewer's past tasks and annotations, so a bench
    with empty history tables (and statistics saying so) would measure the wrong plan.
    """
    from django.db import connection, transaction

    from annotate.queues.models import Task
    from annotate.review.models import Annotation

    count = per_user * len(users)
    if not count:
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM queues_task")
        (after,) = cursor.fetchone()
    fill_queue(queue, count)
    user_ids = [u.pk for u in users]
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE queues_task SET state = %(done)s, claimed_by_id = (%(users)s::bigint[])[1 + id %% %(n)s],
                    claimed_at = created_at, done_at = created_at + interval '30 seconds'
                WHERE queue_id = %(queue)s AND id > %(after)s
                """,
                {"done": Task.State.DONE, "users": user_ids, "n": len(user_ids), "queue": queue.pk, "after": after},
            )
        _insert_select(
            Annotation,
            {
                "task": "id",
                "clip": "clip_id",
                "reviewer": "claimed_by_id",
                "idempotency_key": "'history-' || id",
                "corrected_text": "'set a timer for ten minutes'",
                "whisper_text": "'set a timer for ten minutes'",
                "whisper_model": "'tiny.en'",
                "wer": "0",
                "cer": "0",
                "created_at": "done_at",
                "derived_at": "done_at",  # long derived: not waiting in the annotation outbox
            },
            "FROM queues_task WHERE queue_id = %(queue)s AND id > %(after)s",
            {"queue": queue.pk, "after": after},
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
