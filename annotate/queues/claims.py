"""Claiming tasks: each clip goes to one reviewer at a time, under a lease.

A reviewer holds the clip under review and, so that the next clip is on the
page before it is needed, at most ANNOTATE_PREFETCH more. Claims take the row
lock with `SELECT … FOR UPDATE SKIP LOCKED` on PostgreSQL, so concurrent
reviewers never wait on each other and never get the same task; on SQLite the
write lock serialises claims, and the conditional UPDATE below stays correct.

Lock order
----------
Every transaction that changes a clip's tasks or what hangs off the clip takes
its row locks in one order, so that two of them wait for each other instead of
deadlocking (a flag and a submit of one clip used to: the submit held its task
and wanted the clip, the flag held the clip and wanted every task of it):

1. the Clip row, `SELECT … FOR NO KEY UPDATE` (`annotate.clips.services.lock_clip`, or `lock_task`
   through the task's id);
2. then the clip's Task rows: the task at hand `FOR UPDATE` (`lock_task`),
   then, by UPDATE, the clip's other tasks (a flag or an accidental recording
   withdraws them all);
3. then the rows that hang off them: annotations, skips, flags and cases,
   final transcripts, agreement scores.

Who follows it: submit (`finish_held`: one statement that locks the clip, then
updates the task), skip, renew and flag (through `lock_task` /
`get_held_task(for_update=True)`), `purge_clip`, and the quality services
(`derive`, `fold_overlap`, `set_final`, `retire_gold`), which lock the clip first (a
no-op when their caller holds it already). Claims and releases (`claim_for_review`,
`claim_next`, `release`, a lead removing a member) lock task rows only and never wait
for a clip afterwards, so they cannot close a cycle; claims skip locked rows.

NO KEY UPDATE rather than UPDATE: storing a row that refers to the clip (an
annotation, a flag, a transcript) takes FOR KEY SHARE on the clip, which
FOR UPDATE would wait for and NO KEY UPDATE does not; two NO KEY UPDATE locks
still exclude each other. On SQLite none of this applies: one writer at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext

from annotate import sql
from annotate.clips.models import Clip, MachineTranscript, Screening
from annotate.queues.models import Queue, Skip, Task


class ClaimError(Exception):
    """The task is not (or no longer) held by this reviewer; `reason` says why, for the page.

    The page treats them differently: after a lapsed lease the reviewer's text
    was not saved and they may want to copy it; after the others nothing more
    is needed from them on that clip.
    """

    LAPSED = "lapsed"  # the lease ran out and the clip went back to the queue (or to someone else)
    SUBMITTED = "submitted"  # this reviewer already submitted it (another tab, another attempt)
    ESCALATED = "escalated"  # withdrawn: someone flagged the clip for escalation
    WITHDRAWN = "withdrawn"  # withdrawn for another reason: an accidental recording, a retired gold clip

    def __init__(self, message: str, *, reason: str = LAPSED):
        super().__init__(message)
        self.reason = reason


def lease_for(queue: Queue) -> timedelta:
    return timedelta(seconds=queue.lease_seconds or settings.ANNOTATE_LEASE_SECONDS)


def held_tasks(*, user) -> QuerySet[Task]:
    """The reviewer's live claims, oldest first: the first is the clip under review."""
    return (
        Task.objects.filter(claimed_by=user, state=Task.State.CLAIMED, lease_expires_at__gt=timezone.now())
        .select_related("clip", "queue")
        .order_by("claimed_at", "pk")
    )


# --- the claim statement ---------------------------------------------------------------------
#
# A claim is one SQL statement on PostgreSQL (`_CLAIM_PG`): it finds the reviewer's queues that
# may serve them now, counts what they hold, locks the next tasks with FOR UPDATE SKIP LOCKED,
# takes them, and returns every claim the page shows with its clip and Whisper's latest text.
# Built once per shape and kept as text; the ORM is not involved (building and compiling the
# former ORM query cost more than the database's work). On SQLite the same conditions run as
# three statements under SQLite's single writer (`_claim_sqlite`).


class NotMember(LookupError):
    """The queue asked for is not one of the reviewer's (or is archived)."""


@dataclass(frozen=True)
class HeldTask:
    """A claim as the review page shows it: one row of the claim statement, nothing more."""

    task_id: int
    queue_id: int
    queue_name: str
    queue_kind: str
    queue_guidelines: str
    clip_public_id: str
    duration_ms: int
    peaks: list
    locale: str
    device_type: str
    heard: str
    response: str
    intent: str
    claimed_at: datetime
    lease_expires_at: datetime
    whisper_text: str
    whisper_words: list
    whisper_model: str
    fresh: bool  # claimed by this statement (the others were held already)
    # What the reviewer hears (annotate.clips.screening): the queue's protections, and whether
    # the clip opens with a warning (likely distressing) or muffled first (a human decides).
    disguised: bool = False
    redacted: bool = False
    likely_distressing: bool = False
    gate_review: bool = False

    @property
    def protective_first(self) -> bool:
        return self.likely_distressing or self.gate_review

    @property
    def duration_seconds(self) -> float:
        return self.duration_ms / 1000


class Servable(Protocol):
    """Which of the reviewer's queues may serve them now: an SQL condition on the queue row `q`
    (a `queues_queue` row) and its parameters, embedded in the claim statement. Handed in by the
    caller: the reviewer's page passes reviewer care's rule (annotate.escalation.care.servable_queues:
    opt-out and daily cap of likely distressing queues). Parameter names must not clash with the
    claim's own (user, queue, now, want, lease, ready, open, claimed): prefix them."""

    def __call__(self, *, user_id: int, now: datetime) -> tuple[str, dict[str, Any]]: ...


def every_queue(*, user_id: int, now: datetime) -> tuple[str, dict[str, Any]]:
    return "1 = 1", {}


def _tables() -> dict[str, str]:
    return {
        "queue": Queue._meta.db_table,
        "members": Queue.members.through._meta.db_table,
        "task": Task._meta.db_table,
        "skip": Skip._meta.db_table,
        "clip": Clip._meta.db_table,
        "transcript": MachineTranscript._meta.db_table,
        "screening": Screening._meta.db_table,
        "annotation": apps.get_model("review", "Annotation")._meta.db_table,  # review sits above queues
    }


# The reviewer's queues that may serve them now, with each one's lease in seconds.
_MINE = """
mine AS (
    SELECT q.id, q.priority, q.overlap, COALESCE(q.lease_seconds, %(lease)s) AS lease
    FROM {queue} q JOIN {members} m ON m.queue_id = q.id AND m.user_id = %(user)s
    WHERE NOT q.archived AND (CAST(%(queue)s AS BIGINT) IS NULL OR q.id = CAST(%(queue)s AS BIGINT)) AND ({servable})
)"""
# What the reviewer holds now (a lapsed lease is not held).
_HELD = """
held AS (
    SELECT h.id, h.queue_id, h.clip_id, h.claimed_at, h.lease_expires_at FROM {task} h
    WHERE h.claimed_by_id = %(user)s AND h.state = %(claimed)s AND h.lease_expires_at > %(now)s
)"""
# How many more to take: the page tops the claims of the queue asked for (or all of them, when it
# holds none of that queue) up to `want`; claim_next takes one more whatever it holds.
_NEED_TOP_UP = """
need AS (
    SELECT %(want)s - CASE WHEN EXISTS (SELECT 1 FROM held WHERE held.queue_id = %(queue)s)
        THEN (SELECT COUNT(*) FROM held WHERE held.queue_id = %(queue)s)
        ELSE (SELECT COUNT(*) FROM held) END AS n
)"""
_NEED_ONE = """
need AS (SELECT %(want)s AS n)"""
# A task of the queue `t` the reviewer may be served: its clip is transcribed, and they never
# skipped, held or annotated another task of the same clip in the queue (overlap and gold).
_ELIGIBLE = """
    EXISTS (SELECT 1 FROM {clip} c WHERE c.id = t.clip_id AND c.state = %(ready)s)
    AND NOT EXISTS (
        SELECT 1 FROM {skip} s JOIN {task} st ON st.id = s.task_id
        WHERE st.clip_id = t.clip_id AND st.queue_id = t.queue_id AND s.reviewer_id = %(user)s)
    AND NOT EXISTS (
        SELECT 1 FROM {task} o
        WHERE o.clip_id = t.clip_id AND o.queue_id = t.queue_id AND o.claimed_by_id = %(user)s AND o.id <> t.id)
    AND NOT EXISTS (
        SELECT 1 FROM {annotation} a JOIN {task} ta ON ta.id = a.task_id
        WHERE ta.clip_id = t.clip_id AND ta.queue_id = t.queue_id AND a.reviewer_id = %(user)s)"""
# What the page shows of each claim, from `rows` (id, queue_id, clip_id, claimed_at, lease_expires_at, fresh).
_PAGE = """
SELECT r.id, r.queue_id, q.name, q.kind, q.guidelines, c.public_id, c.duration_ms, c.peaks, c.locale,
       c.device_type,
       CASE WHEN q.redact_personal_data AND w.redacted_heard IS NOT NULL THEN w.redacted_heard ELSE c.heard END,
       CASE WHEN q.redact_personal_data AND w.redacted_response IS NOT NULL THEN w.redacted_response
            ELSE c.response END,
       c.intent, r.claimed_at, r.lease_expires_at,
       CASE WHEN q.redact_personal_data AND w.redacted_text IS NOT NULL THEN w.redacted_text ELSE w.text END,
       CASE WHEN q.redact_personal_data AND w.redacted_text IS NOT NULL THEN w.redacted_words ELSE w.words END,
       w.model_name, r.fresh,
       EXISTS (SELECT 1 FROM {members} mm JOIN {queue} mq ON mq.id = mm.queue_id
               WHERE mm.user_id = %(user)s AND mq.id = %(queue)s AND NOT mq.archived) AS member,
       q.disguise_voice, q.redact_personal_data, s.likely_distressing, s.decision
FROM rows r
JOIN {clip} c ON c.id = r.clip_id
JOIN {queue} q ON q.id = r.queue_id
LEFT JOIN {screening} s ON s.clip_id = r.clip_id
{latest}
ORDER BY r.claimed_at, r.id"""
# Whisper's latest transcript of the clip: one index look-up per claim on PostgreSQL (LATERAL);
# SQLite has no LATERAL.
_LATEST_PG = """LEFT JOIN LATERAL (
    SELECT x.text, x.words, x.redacted_text, x.redacted_words, x.redacted_heard, x.redacted_response, x.model_name
    FROM {transcript} x
    WHERE x.clip_id = r.clip_id
    ORDER BY x.created_at DESC, x.id DESC LIMIT 1) w ON TRUE"""
_LATEST_SQLITE = """LEFT JOIN {transcript} w ON w.id = (
    SELECT x.id FROM {transcript} x WHERE x.clip_id = r.clip_id ORDER BY x.created_at DESC, x.id DESC LIMIT 1)"""
# PostgreSQL: all of it in one statement. Each queue's next tasks come from the claim index
# (queue, state, created_at, id) in order, lapsed leases first, locked and skipped if locked;
# then the highest priority and oldest of them are taken, one per clip and queue. (A queue's
# k tasks of a clip are made together, so n·k candidates hold n clips; the few locked beyond
# those are free again when the statement ends.)
_CLAIM_PG = """
WITH {mine}, {held}, {need},
lapsed AS (
    SELECT p.id, p.clip_id, mine.id AS queue_id, mine.lease, mine.priority, 0 AS pass, p.created_at
    FROM mine CROSS JOIN LATERAL (
        SELECT t.id, t.clip_id, t.created_at FROM {task} t
        WHERE t.queue_id = mine.id AND t.state = %(claimed)s AND t.lease_expires_at < %(now)s AND {eligible}
        ORDER BY t.created_at, t.id LIMIT GREATEST(0, (SELECT n FROM need)) * mine.overlap
        FOR UPDATE OF t SKIP LOCKED) p
),
waiting AS (
    SELECT p.id, p.clip_id, mine.id AS queue_id, mine.lease, mine.priority, 1 AS pass, p.created_at
    FROM mine CROSS JOIN LATERAL (
        SELECT t.id, t.clip_id, t.created_at FROM {task} t
        WHERE t.queue_id = mine.id AND t.state = %(open)s AND {eligible}
        ORDER BY t.created_at, t.id LIMIT GREATEST(0, (SELECT n FROM need)) * mine.overlap
        FOR UPDATE OF t SKIP LOCKED) p
),
picked AS (  -- never two tasks of one clip in one queue (overlap: the clip's other slots are someone else's)
    SELECT id, lease FROM (
        SELECT DISTINCT ON (c.queue_id, c.clip_id) c.* FROM (SELECT * FROM lapsed UNION ALL SELECT * FROM waiting) c
        ORDER BY c.queue_id, c.clip_id, c.priority DESC, c.pass, c.created_at, c.id
    ) d
    ORDER BY priority DESC, pass, created_at, id LIMIT GREATEST(0, (SELECT n FROM need))
),
claimed AS (  -- by id from an array: the planner must not guess how many were picked (a scan)
    UPDATE {task} t SET state = %(claimed)s, claimed_by_id = %(user)s, claimed_at = %(now)s,
        lease_expires_at = %(now)s + (SELECT p.lease FROM picked p WHERE p.id = t.id) * INTERVAL '1 second'
    WHERE t.id = ANY (ARRAY (SELECT id FROM picked))
    RETURNING t.id, t.queue_id, t.clip_id, t.claimed_at, t.lease_expires_at
),
rows AS (
    SELECT id, queue_id, clip_id, claimed_at, lease_expires_at, FALSE AS fresh FROM held
    UNION ALL
    SELECT id, queue_id, clip_id, claimed_at, lease_expires_at, TRUE AS fresh FROM claimed
)
{page}"""
# SQLite: the next tasks in the same order (no index order needed at the demo's sizes).
_CANDIDATES_SQLITE = """
WITH {mine}, {held}, {need}
SELECT t.id, t.queue_id, t.clip_id, mine.lease, (SELECT n FROM need) FROM {task} t JOIN mine ON mine.id = t.queue_id
WHERE ((t.state = %(claimed)s AND t.lease_expires_at < %(now)s) OR t.state = %(open)s) AND {eligible}
ORDER BY mine.priority DESC, CASE WHEN t.state = %(claimed)s THEN 0 ELSE 1 END, t.created_at, t.id
LIMIT MAX(0, (SELECT n FROM need)) * COALESCE((SELECT MAX(overlap) FROM mine), 0)"""
_HELD_SQLITE = """
WITH {held},
rows AS (SELECT id, queue_id, clip_id, claimed_at, lease_expires_at, id IN ({fresh}) AS fresh FROM held)
{page}"""


@cache
def _statement(name: str, *, top_up: bool, servable: str, fresh: str = "NULL") -> str:
    tables = _tables()
    parts = {
        "mine": _MINE.format(**tables, servable=servable),
        "held": _HELD.format(**tables),
        "need": _NEED_TOP_UP if top_up else _NEED_ONE,
        "eligible": _ELIGIBLE.format(**tables),
        "page": _PAGE.format(**tables, latest=(_LATEST_PG if name == "pg" else _LATEST_SQLITE).format(**tables)),
    }
    template = {"pg": _CLAIM_PG, "sqlite candidates": _CANDIDATES_SQLITE, "sqlite held": _HELD_SQLITE}[name]
    return template.format(**tables, **parts, fresh=fresh)


def _params(*, user_id: int, queue_id: int | None, now: datetime, want: int, servable_params: dict) -> dict:
    params = {
        "user": user_id,
        "queue": queue_id,
        "now": now,
        "want": want,
        "lease": settings.ANNOTATE_LEASE_SECONDS,
        "ready": Clip.State.READY,
        "open": Task.State.OPEN,
        "claimed": Task.State.CLAIMED,
        **servable_params,
    }
    if connection.vendor == "sqlite":  # datetimes as Django stores them there (naive UTC text)
        params = {
            k: connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for k, v in params.items()
        }
    return params


def _when(value) -> datetime:
    if isinstance(value, str):  # SQLite
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _json(value) -> Any:
    return json.loads(value) if isinstance(value, str) else (value if value is not None else [])


def _held_task(row) -> HeldTask:
    return HeldTask(
        task_id=row[0],
        queue_id=row[1],
        queue_name=row[2],
        queue_kind=row[3],
        queue_guidelines=row[4],
        clip_public_id=row[5],
        duration_ms=row[6],
        peaks=_json(row[7]),
        locale=row[8],
        device_type=row[9],
        heard=row[10],
        response=row[11],
        intent=row[12],
        claimed_at=_when(row[13]),
        lease_expires_at=_when(row[14]),
        whisper_text=row[15] or "",
        whisper_words=_json(row[16]),
        whisper_model=row[17] or "",
        fresh=bool(row[18]),
        disguised=bool(row[20]),
        redacted=bool(row[21]),
        likely_distressing=bool(row[22]),
        gate_review=row[23] == "review",
    )


def _claim(*, user, queue_id: int | None, servable: Servable, top_up: bool) -> tuple[list[HeldTask], bool]:
    """Claim and read back: (every claim the reviewer holds now, oldest first; whether `queue_id` is theirs)."""
    now = timezone.now()
    condition, extra = servable(user_id=user.pk, now=now)
    want = 1 + settings.ANNOTATE_PREFETCH if top_up else 1
    params = _params(user_id=user.pk, queue_id=queue_id, now=now, want=want, servable_params=extra)
    if connection.vendor == "postgresql":
        rows = sql.prepared(_statement("pg", top_up=top_up, servable=condition), params)
    else:
        rows = _claim_sqlite(params=params, top_up=top_up, servable=condition)
    if queue_id is None:
        member = True
    elif rows:
        member = bool(rows[0][19])
    else:
        member = Queue.objects.filter(pk=queue_id, members=user, archived=False).exists()
    return [_held_task(row) for row in rows], member


@transaction.atomic
def _claim_sqlite(*, params: dict, top_up: bool, servable: str) -> list:
    """SQLite: one writer at a time; the conditional UPDATE keeps a claim correct all the same."""
    taken: list[int] = []
    clips: set[tuple[int, int]] = set()
    now = _when(params["now"])
    with connection.cursor() as cursor:
        cursor.execute(_statement("sqlite candidates", top_up=top_up, servable=servable), params)
        for task_id, queue_id, clip_id, lease, need in cursor.fetchall():
            if len(taken) >= need or (queue_id, clip_id) in clips:  # one task per clip and queue
                continue
            updated = Task.objects.filter(
                Q(state=Task.State.OPEN) | Q(state=Task.State.CLAIMED, lease_expires_at__lt=now), pk=task_id
            ).update(
                state=Task.State.CLAIMED,
                claimed_by_id=params["user"],
                claimed_at=now,
                lease_expires_at=now + timedelta(seconds=lease),
            )
            if updated:
                taken.append(task_id)
                clips.add((queue_id, clip_id))
        fresh = ", ".join(str(int(pk)) for pk in taken) or "NULL"
        cursor.execute(_statement("sqlite held", top_up=top_up, servable=servable, fresh=fresh), params)
        return cursor.fetchall()


def claim_next(*, user, queue: Queue | None = None, servable: Servable = every_queue) -> Task | None:
    """Claim one more task for the reviewer from one queue, or from all theirs; None when nothing is left.

    Expired leases are served first (they are the oldest work), then open tasks by queue
    priority and age. The reviewer's page uses claim_for_review; this is for services and tests.
    """
    held, _ = _claim(user=user, queue_id=queue.pk if queue else None, servable=servable, top_up=False)
    fresh = [h.task_id for h in held if h.fresh]
    if not fresh:
        return None
    return Task.objects.select_related("clip", "queue").get(pk=fresh[0])


def claim_for_review(*, user, queue_id: int | None = None, servable: Servable = every_queue) -> list[HeldTask]:
    """Top the reviewer's claims up to 1 + ANNOTATE_PREFETCH and return them, oldest first.

    With `queue_id`, the claims of that queue (or all, when the reviewer holds none of it).
    One statement on PostgreSQL. Raises NotMember if the queue is not the reviewer's.
    """
    held, member = _claim(user=user, queue_id=queue_id, servable=servable, top_up=True)
    if not member:
        raise NotMember(f"queue {queue_id} is not one of yours")
    if queue_id is None:
        return held
    return [h for h in held if h.queue_id == queue_id] or held


@dataclass(frozen=True)
class Finished:
    """A task just marked done by its reviewer's submit, with what the annotation records of Whisper."""

    task_id: int
    clip_id: int
    queue_id: int
    is_gold: bool
    whisper_text: str
    whisper_model: str


_FINISH_PG = """
WITH locked AS (  -- lock order, step 1: the clip's row, before the task's (the UPDATE takes that)
    SELECT c.id FROM {clip} c WHERE c.id = (SELECT clip_id FROM {task} WHERE id = %(task)s) FOR NO KEY UPDATE
)
UPDATE {task} t SET state = %(done)s, done_at = %(now)s, lease_expires_at = NULL
FROM locked
WHERE t.id = %(task)s AND t.clip_id = locked.id AND t.claimed_by_id = %(user)s AND t.state = %(claimed)s
RETURNING t.id, t.clip_id, t.queue_id, t.is_gold,
    (SELECT CASE WHEN q.redact_personal_data AND w.redacted_text IS NOT NULL THEN w.redacted_text ELSE w.text END
     FROM {transcript} w JOIN {queue} q ON q.id = t.queue_id
     WHERE w.clip_id = t.clip_id ORDER BY w.created_at DESC, w.id DESC LIMIT 1),
    (SELECT w.model_name FROM {transcript} w WHERE w.clip_id = t.clip_id ORDER BY w.created_at DESC, w.id DESC LIMIT 1)
"""


@cache
def _finish_pg() -> str:
    return _FINISH_PG.format(**_tables())


def finish_held(*, user, task_id: int) -> Finished | None:
    """Mark the reviewer's held task done (their submit), or None if they do not hold it.

    Call inside the submit's transaction. One statement on PostgreSQL: the clip's lock, then
    the task's (the lock order above), and Whisper's latest text of the clip.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        params = {"task": task_id, "user": user.pk, "now": now, "done": Task.State.DONE, "claimed": Task.State.CLAIMED}
        rows = sql.prepared(_finish_pg(), params)
        if not rows:
            return None
        row = rows[0]
        return Finished(*row[:4], whisper_text=row[4] or "", whisper_model=row[5] or "")
    task = lock_task(task_id=task_id, claimed_by=user, state=Task.State.CLAIMED)
    if task is None:
        return None
    Task.objects.filter(pk=task_id).update(state=Task.State.DONE, done_at=now, lease_expires_at=None)
    return finished(task)


def shown_text(transcript: MachineTranscript | None, *, redacts: bool) -> str:
    """Whisper's text as the reviewer of a queue was shown it: masked ([PHONE]) where the queue
    redacts personal data and some was found (the claim statement's CASE, in Python)."""
    if transcript is None:
        return ""
    return transcript.redacted_text if redacts and transcript.redacted_text is not None else transcript.text


def finished(task: Task) -> Finished:
    """A done task as finish_held gives it (the undo of a submit stores its new version against it)."""
    transcript = MachineTranscript.objects.filter(clip_id=task.clip_id).order_by("-created_at", "-pk").first()
    redacts = Queue.objects.filter(pk=task.queue_id, redact_personal_data=True).exists()
    return Finished(
        task_id=task.pk,
        clip_id=task.clip_id,
        queue_id=task.queue_id,
        is_gold=task.is_gold,
        whisper_text=shown_text(transcript, redacts=redacts),
        whisper_model=transcript.model_name if transcript else "",
    )


def lock_task(*, task_id: int, **filters) -> Task | None:
    """Lock order, steps 1 and 2: the task's clip row, then the task's row, if it matches `filters`.

    Call inside a transaction. The task comes with its clip (the locked row) and queue.
    """
    clip = Clip.objects.select_for_update(no_key=True, of=("self",)).filter(tasks__pk=task_id).first()
    if clip is None:
        return None
    task = Task.objects.select_related("queue").select_for_update(of=("self",)).filter(pk=task_id, **filters).first()
    if task is not None:
        task.clip = clip
    return task


def get_held_task(*, user, task_id: int, for_update: bool = False) -> Task:
    """The task if this reviewer holds it (lease may have lapsed if nobody took it since).

    for_update: lock the clip, then the task (the lock order above). Raises
    ClaimError saying why the task is not held.
    """
    if for_update:
        task = lock_task(task_id=task_id, claimed_by=user, state=Task.State.CLAIMED)
    else:
        task = (
            Task.objects.select_related("clip", "queue")
            .filter(pk=task_id, claimed_by=user, state=Task.State.CLAIMED)
            .first()
        )
    if task is None:
        raise not_held(user=user, task_id=task_id)
    return task


def not_held(*, user, task_id: int) -> ClaimError:
    """Why the reviewer no longer holds the task, in words for them (in the language of the request:
    the message is shown to the reviewer, never stored)."""
    task = Task.objects.select_related("clip").filter(pk=task_id, claimed_by=user).first()
    if task is None and not Task.objects.filter(pk=task_id).exists():  # deleted with its clip (annotate.privacy)
        return ClaimError(
            gettext(
                "this clip was withdrawn and deleted: the recorded person asked for it to be erased. "
                "Nothing more is needed from you on it"
            ),
            reason=ClaimError.WITHDRAWN,
        )
    if task is not None and task.state == Task.State.DONE:
        return ClaimError(gettext("you already submitted this clip"), reason=ClaimError.SUBMITTED)
    if task is not None and task.state == Task.State.WITHDRAWN:
        if Clip.objects.filter(pk=task.clip_id, cases__isnull=False).exists():  # a case (annotate.escalation)
            return ClaimError(
                gettext(
                    "this clip was withdrawn for escalation: it was flagged and an escalation officer has it. "
                    "Nothing more is needed from you on it"
                ),
                reason=ClaimError.ESCALATED,
            )
        if task.clip.state == Clip.State.PURGED:
            return ClaimError(
                gettext(
                    "this clip was withdrawn: it was marked an accidental recording and its audio deleted. "
                    "Nothing more is needed from you on it"
                ),
                reason=ClaimError.WITHDRAWN,
            )
        return ClaimError(
            gettext("this clip was withdrawn from the queue. Nothing more is needed from you on it"),
            reason=ClaimError.WITHDRAWN,
        )
    return ClaimError(gettext("this clip is no longer yours: its lease ran out and it went back to the queue"))


@transaction.atomic
def renew(*, user, task_id: int) -> Task:
    task = get_held_task(user=user, task_id=task_id, for_update=True)
    if task.lease_expires_at and task.lease_expires_at < timezone.now():
        raise ClaimError(gettext("this clip is no longer yours: its lease ran out"))
    task.lease_expires_at = timezone.now() + lease_for(task.queue)
    task.save(update_fields=["lease_expires_at"])
    return task


@transaction.atomic
def release(*, task: Task) -> None:
    Task.objects.filter(pk=task.pk).update(
        state=Task.State.OPEN, claimed_by=None, claimed_at=None, lease_expires_at=None
    )


@transaction.atomic
def skip(*, user, task_id: int, reason: str, note: str = "") -> Skip:
    """Give the clip back to the queue, never to be served to this reviewer again.

    Idempotent: a retried skip of a clip this reviewer skipped returns the stored skip.
    """
    if reason not in Skip.Reason.values:
        raise ValueError(f"unknown reason {reason!r}; one of: {', '.join(Skip.Reason.values)}")
    try:
        task = get_held_task(user=user, task_id=task_id, for_update=True)
    except ClaimError:
        earlier = Skip.objects.filter(task_id=task_id, reviewer=user).order_by("-pk").first()
        if earlier is None:
            raise
        return earlier
    record = Skip.objects.create(task=task, reviewer=user, reason=reason, note=note[:500])
    release(task=task)
    return record
