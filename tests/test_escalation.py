"""Flag, escalate, follow through: flags, the case's states and deadlines, holds, reviewer care.

Access by role, unsealing and evidence: test_escalation_access.py. The live
feed: test_escalation_live.py. Both sides in a browser: test_escalation_browser.py.
The helpers they share (held_clip, flag_task, case_in, ...) are in tests/factories.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from annotate.audit.models import AuditEvent
from annotate.clips.models import Clip
from annotate.clips.services import ClipOnHold, purge_clip
from annotate.escalation import care as reviewer_care
from annotate.escalation import selectors, services
from annotate.escalation.models import Case, CaseEvent, Flag
from annotate.queues import claims
from annotate.queues.models import Task
from annotate.review.models import Annotation
from annotate.review.services import Submission, submit
from tests.factories import case_in, flag_task, held_clip, make_clip, make_queue, move
from tests.support import CANARY, get_json, post_json

pytestmark = pytest.mark.django_db

S = Case.State
ALL_STATES = list(S.values)
LEGAL = {
    (S.NEW, S.ACKNOWLEDGED),
    (S.ACKNOWLEDGED, S.INVESTIGATING),
    (S.INVESTIGATING, S.REFERRED),
    (S.INVESTIGATING, S.WELFARE_CONTACT),
    (S.INVESTIGATING, S.NO_ACTION),
    (S.INVESTIGATING, S.FALSE_ALARM),
    (S.REFERRED, S.CLOSED),
    (S.WELFARE_CONTACT, S.CLOSED),
    (S.NO_ACTION, S.CLOSED),
    (S.FALSE_ALARM, S.CLOSED),
}


@pytest.fixture
def task(reviewer, queue):
    return held_clip(reviewer, queue)


# --- flagging --------------------------------------------------------------------------------------------


def test_flag_opens_a_case_and_takes_the_clip_out_of_every_queue(client, reviewer, other_reviewer, queue, task):
    second_queue = make_queue(other_reviewer, name="second queue")
    Task.objects.create(queue=second_queue, clip=task.clip)
    client.force_login(reviewer)
    draft = {"corrected_text": "help me please", "answer_grade": "wrong", "no_speech": False, "unintelligible": True}
    response = post_json(
        client,
        "/cases/api/flags",
        {
            "task_id": task.pk,
            "category": "danger_now",
            "note": "a woman screams for help",
            "moment_seconds": 0.4,
            "draft": draft,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["receipt"]["state"] == "new"
    assert body["receipt"]["state_label"].startswith("Received")
    assert body["break_minutes"] == 15

    case = Case.objects.get()
    assert (case.category, case.severity, case.state) == ("danger_now", "critical", "new")
    assert case.due_at == case.opened_at + timedelta(minutes=15)
    flag = case.flags.get()
    assert flag.reviewer == reviewer and flag.note == "a woman screams for help" and flag.moment_seconds == 0.4
    assert flag.draft == {"corrected_text": "help me please", "answer_grade": "wrong", "unintelligible": True}
    assert set(Task.objects.filter(clip=task.clip).values_list("state", flat=True)) == {"withdrawn"}
    assert claims.claim_next(user=other_reviewer, queue=second_queue) is None
    assert claims.held_tasks(user=reviewer).count() == 0
    assert AuditEvent.objects.filter(action="case.flag", actor=reviewer, clip_public_id=task.clip.public_id).exists()
    assert [e.kind for e in case.events.all()] == ["flagged"]


def test_a_flagged_clip_audio_url_stops_working_for_everyone(client, reviewer, other_reviewer, queue):
    other = make_queue(other_reviewer, name="other queue")
    make_clip("help")  # sampled into both queues
    mine = claims.claim_next(user=reviewer, queue=queue)
    theirs = claims.claim_next(user=other_reviewer, queue=other)
    assert mine.clip_id == theirs.clip_id
    from annotate.review.selectors import audio_token

    urls = {
        user: f"/review/audio/{audio_token(task_id=task.pk, clip_public_id=task.clip.public_id, user=user)}"
        for user, task in ((reviewer, mine), (other_reviewer, theirs))
    }
    for user, url in urls.items():
        client.force_login(user)
        assert client.get(url).status_code == 200
    flag_task(reviewer, mine)
    for user, url in urls.items():
        client.force_login(user)
        assert client.get(url).status_code == 404
    client.force_login(other_reviewer)
    assert (
        post_json(
            client, f"/review/api/tasks/{theirs.pk}/submit", {"idempotency_key": "k", "corrected_text": "x"}
        ).status_code
        == 409
    )


def test_a_second_reviewer_who_held_the_clip_can_still_flag_it_onto_the_same_case(reviewer, other_reviewer, queue):
    clip = make_clip("help")
    mine = claims.claim_next(user=reviewer, queue=queue)
    overlap = make_queue(other_reviewer, name="overlap")
    Task.objects.create(queue=overlap, clip=clip)
    theirs = claims.claim_next(user=other_reviewer, queue=overlap)
    first = flag_task(reviewer, mine, category="distressing")
    second = flag_task(other_reviewer, theirs, category="child_at_risk")
    assert first.case_id == second.case_id
    case = Case.objects.get()
    assert case.severity == "high"  # raised by the second, more severe flag
    assert [e.kind for e in case.events.all()] == ["flagged", "flagged", "severity"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"category": "gossip"}, "category must be one of"),
        ({"category": "violence", "severity": "apocalyptic"}, "severity must be one of"),
        ({"category": "violence", "moment_seconds": 99}, "moment_seconds must be within the clip"),
        ({"category": "violence", "moment_seconds": "soon"}, "moment_seconds must be a number"),
        ({"category": "violence", "draft": {"answer_grade": "excellent"}}, "draft.answer_grade"),
        ({"category": "violence", "draft": "text"}, "draft must be an object"),
        ({"category": "violence", "note": "x" * 4001}, "longer than"),
    ],
)
def test_a_bad_flag_is_refused_and_changes_nothing(client, reviewer, task, body, message):
    client.force_login(reviewer)
    response = post_json(client, "/cases/api/flags", {"task_id": task.pk, **body})
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not Case.objects.exists()
    assert Task.objects.get(pk=task.pk).state == "claimed"


def test_a_doubled_flag_changes_nothing(client, reviewer, task):
    client.force_login(reviewer)
    body = {"task_id": task.pk, "category": "violence", "note": "shouting and a bang"}
    first = post_json(client, "/cases/api/flags", body)
    again = post_json(client, "/cases/api/flags", body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["receipt"]["flag_id"] == first.json()["receipt"]["flag_id"]
    assert Flag.objects.count() == 1 and CaseEvent.objects.count() == 1


def test_only_a_held_task_can_be_flagged(client, reviewer, other_reviewer, task):
    client.force_login(other_reviewer)
    response = post_json(client, "/cases/api/flags", {"task_id": task.pk, "category": "violence"})
    assert response.status_code == 409
    assert not Case.objects.exists()


def test_flag_notifies_officers_by_email(
    reviewer, officer, second_officer, queue, task, django_capture_on_commit_callbacks, settings
):
    settings.REDIS_URL = ""  # the mail job runs in process; the RQ path is covered in test_escalation_live
    officer.email, second_officer.email = "olga@example.org", "omar@example.org"
    officer.save()
    second_officer.save()
    with django_capture_on_commit_callbacks(execute=True):
        flag = flag_task(reviewer, task, category="child_at_risk", note="a child cries for help")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["olga@example.org", "omar@example.org"]
    assert f"case {flag.case_id}" in message.subject and "child at risk" in message.subject
    assert f"/cases/{flag.case_id}/" in message.body
    assert "a child cries" not in message.body  # notes stay on the case page
    assert not CANARY.found_in(message.subject + message.body)


# --- states -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("to_state", ALL_STATES)
@pytest.mark.parametrize("from_state", ALL_STATES)
def test_every_transition(client, reviewer, officer, queue, from_state, to_state):
    case = case_in(from_state, reviewer=reviewer, officer=officer, queue=queue)
    client.force_login(officer)
    body = {"to": to_state, "note": "checked the recording twice"}
    if to_state == S.REFERRED:
        body |= {"referred_to": "child_protection", "reference": "CP-77"}
    response = post_json(client, f"/cases/{case.pk}/transition", body)
    case.refresh_from_db()
    if (from_state, to_state) in LEGAL:
        assert response.status_code == 200, response.content
        assert case.state == to_state
        event = case.events.last()
        assert (event.kind, event.from_state, event.to_state) == ("transition", from_state, to_state)
        assert event.note == "checked the recording twice" and event.actor == officer
        assert AuditEvent.objects.filter(action="case.transition", details__to=to_state).exists()
    else:
        assert response.status_code == 400
        error = response.json()["error"]
        assert f"cannot move to {to_state!r}" in error
        assert case.state == from_state


@pytest.mark.parametrize("note", ["", "   ", None])
def test_every_step_needs_a_note(client, reviewer, officer, queue, note):
    case = case_in(S.NEW, reviewer=reviewer, officer=officer, queue=queue)
    client.force_login(officer)
    response = post_json(client, f"/cases/{case.pk}/transition", {"to": "acknowledged", "note": note})
    assert response.status_code == 400
    assert "note" in response.json()["error"]
    assert Case.objects.get(pk=case.pk).state == "new"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"referred_to": "", "reference": "X-1"}, "who it went to"),
        ({"referred_to": "police", "reference": " "}, "reference"),
    ],
)
def test_a_referral_names_the_authority_and_its_reference(client, reviewer, officer, queue, fields, message):
    case = case_in(S.INVESTIGATING, reviewer=reviewer, officer=officer, queue=queue)
    client.force_login(officer)
    response = post_json(client, f"/cases/{case.pk}/transition", {"to": "referred", "note": "police called", **fields})
    assert response.status_code == 400 and message in response.json()["error"]


def test_an_illegal_step_from_the_page_shows_the_reason(client, reviewer, officer, queue):
    case = case_in(S.NEW, reviewer=reviewer, officer=officer, queue=queue)
    client.force_login(officer)
    response = client.post(f"/cases/{case.pk}/transition", {"to": "closed", "note": "done"})
    assert response.status_code == 400
    assert b"cannot move to &#x27;closed&#x27;" in response.content


def test_acknowledging_makes_the_officer_the_owner_and_moves_the_deadline(reviewer, officer, queue, settings):
    case = case_in(S.NEW, reviewer=reviewer, officer=officer, queue=queue)
    case = move(case, S.ACKNOWLEDGED, officer)
    assert case.owner == officer and case.acknowledged_at is not None
    assert case.due_at == case.opened_at + timedelta(seconds=settings.ANNOTATE_CASE_DEADLINES["critical"]["decide"])
    case = move(move(move(case, S.INVESTIGATING, officer), S.REFERRED, officer), S.CLOSED, officer)
    assert (case.referred_to, case.referral_reference) == ("police", "POL-2026-0042")
    assert case.due_at is None and case.closed_at is not None and case.referred_at is not None


def test_deadlines_come_from_settings(reviewer, officer, queue, settings):
    settings.ANNOTATE_CASE_DEADLINES = {
        **settings.ANNOTATE_CASE_DEADLINES,
        "low": {"acknowledge": 60, "decide": 120, "close": 180},
    }
    case = flag_task(reviewer, held_clip(reviewer, queue), category="distressing").case
    assert case.severity == "low"
    assert case.due_at == case.opened_at + timedelta(seconds=60)


def test_settings_refuse_malformed_deadlines(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from annotate.settings import _DEFAULT_CASE_DEADLINES, env_deadlines

    monkeypatch.setenv("X_DEADLINES", '{"critical": {"acknowledge": 1}}')
    with pytest.raises(ImproperlyConfigured):
        env_deadlines("X_DEADLINES", _DEFAULT_CASE_DEADLINES)
    monkeypatch.setenv("X_DEADLINES", "not json")
    with pytest.raises(ImproperlyConfigured):
        env_deadlines("X_DEADLINES", _DEFAULT_CASE_DEADLINES)


def test_console_orders_open_cases_by_severity_then_deadline(reviewer, officer, queue):
    low = flag_task(reviewer, held_clip(reviewer, queue), category="distressing").case
    critical = flag_task(reviewer, held_clip(reviewer, queue), category="danger_now").case
    high_late = flag_task(reviewer, held_clip(reviewer, queue), category="violence").case
    high_early = flag_task(reviewer, held_clip(reviewer, queue), category="self_harm").case
    Case.objects.filter(pk=high_early.pk).update(due_at=high_late.due_at - timedelta(minutes=5))
    closed = case_in(S.CLOSED, reviewer=reviewer, officer=officer, queue=queue)
    ids = [c["id"] for c in selectors.open_case_summaries()]
    assert ids == [critical.pk, high_early.pk, high_late.pk, low.pk]
    assert closed.pk not in ids


def test_overdue_cases_are_renotified_and_marked(
    reviewer, officer, queue, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    officer.email = "olga@example.org"
    officer.save()
    case = flag_task(reviewer, held_clip(reviewer, queue)).case
    later = case.due_at + timedelta(seconds=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notify_overdue(now=later) == [case.pk]
    assert [e.kind for e in case.events.all()] == ["flagged", "overdue"]
    assert len(mail.outbox) == 1 and "Overdue" in mail.outbox[0].subject
    # quiet for ANNOTATE_OVERDUE_RENOTIFY_SECONDS, then the console is told again (no second e-mail)
    assert services.notify_overdue(now=later + timedelta(seconds=10)) == []
    renotify = later + timedelta(seconds=settings.ANNOTATE_OVERDUE_RENOTIFY_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.notify_overdue(now=renotify) == [case.pk]
    assert len(mail.outbox) == 1
    assert case.events.filter(kind="overdue").count() == 1
    assert selectors.case_summary(Case.objects.get(pk=case.pk), now=later)["overdue"] is True


def test_notify_overdue_command(reviewer, queue):
    from io import StringIO

    from django.core.management import call_command

    case = flag_task(reviewer, held_clip(reviewer, queue)).case
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()
    call_command("notify_overdue", stdout=out)
    assert f"[{case.pk}]" in out.getvalue()


# --- holds --------------------------------------------------------------------------------------------------


def test_a_case_holds_its_clip_while_open_and_for_the_preservation_period_after_a_referral(
    reviewer, officer, queue, settings
):
    case = case_in(S.INVESTIGATING, reviewer=reviewer, officer=officer, queue=queue, with_audio=True)
    clip = case.clip
    assert selectors.is_on_hold(clip)
    with pytest.raises(ClipOnHold):
        purge_clip(clip=clip, reason="retention")
    clip.refresh_from_db()
    assert clip.audio_name and clip.state == Clip.State.READY and clip.machine_transcripts.exists()

    case = move(move(case, S.REFERRED, officer), S.CLOSED, officer)
    assert selectors.is_on_hold(clip)  # closed, but referred: preserved
    past = case.referred_at + timedelta(days=settings.ANNOTATE_PRESERVATION_DAYS, seconds=1)
    assert not selectors.is_on_hold(clip, now=past)


def test_a_closed_case_without_referral_releases_the_clip(reviewer, officer, queue):
    case = case_in(S.CLOSED, reviewer=reviewer, officer=officer, queue=queue)
    assert not selectors.is_on_hold(case.clip)
    purge_clip(clip=case.clip, reason="retention")
    assert Clip.objects.get(pk=case.clip_id).state == Clip.State.PURGED


# --- the reviewer's receipt and care -----------------------------------------------------------------------


def test_receipt_shows_the_state_but_never_notes_references_or_identity(client, reviewer, officer, queue):
    case = case_in(S.REFERRED, reviewer=reviewer, officer=officer, queue=queue)
    services.request_unseal(case_id=case.pk, officer=officer, reason="police need to find the caller now")
    client.force_login(reviewer)
    response = get_json(client, "/cases/api/receipts")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    (receipt,) = response.json()["receipts"]
    assert receipt["state"] == "referred" and receipt["state_label"] == "Passed on to the authorities"
    text = response.content.decode()
    for secret in ("POL-2026-0042", "moving to", "police need", officer.username, *CANARY.values):
        assert secret not in text
    page = client.get("/cases/care/")
    assert page.status_code == 200 and b"Passed on to the authorities" in page.content
    assert not CANARY.found_in(page.content) and b"POL-2026-0042" not in page.content


def test_taking_a_break_gives_held_clips_back(client, reviewer, queue):
    make_clip("one")
    make_clip("two")
    claims.claim_for_review(user=reviewer, queue_id=queue.pk)
    assert claims.held_tasks(user=reviewer).count() == 2
    client.force_login(reviewer)
    response = post_json(client, "/cases/care/break")
    assert response.status_code == 200
    assert claims.held_tasks(user=reviewer).count() == 0
    assert reviewer.care.break_until > timezone.now() + timedelta(minutes=14)
    assert b"You are on a break" in client.get("/cases/care/").content
    post_json(client, "/cases/care/break/end")
    assert reviewer_care.care_of(user=reviewer).break_until is None


def test_exposure_counts_flags_and_distressing_clips(reviewer, other_reviewer, queue):
    distressing = make_queue(reviewer, name="distressing", likely_distressing=True)
    flag_task(reviewer, held_clip(reviewer, queue))
    make_clip("sad")
    task = claims.claim_next(user=reviewer, queue=distressing, servable=reviewer_care.servable_queues)
    submit(user=reviewer, task_id=task.pk, submission=Submission(idempotency_key="k1", corrected_text="sad"))
    exposure = reviewer_care.exposure_by_reviewer(user_ids=[reviewer.pk, other_reviewer.pk])
    assert exposure[reviewer.pk].flags_today == 1 and exposure[reviewer.pk].distressing_today == 1
    assert exposure[reviewer.pk].today == 2 and exposure[reviewer.pk].flags_total == 1
    assert exposure[other_reviewer.pk].today == 0


def test_the_daily_cap_stops_distressing_queues_serving_the_reviewer(client, reviewer, lead, queue):
    distressing = make_queue(reviewer, name="distressing", likely_distressing=True, priority=10)
    client.force_login(lead)
    assert post_json(client, f"/cases/exposure/{reviewer.pk}/cap", {"cap": 1}).status_code == 200
    assert AuditEvent.objects.filter(action="care.cap_set", actor=lead).exists()
    for i in range(3):
        make_clip(f"clip {i}")  # each goes into both queues
    first = claims.claim_next(user=reviewer, servable=reviewer_care.servable_queues)
    assert first.queue == distressing  # the higher priority queue serves first
    submit(user=reviewer, task_id=first.pk, submission=Submission(idempotency_key="a", corrected_text="clip 0"))
    second = claims.claim_next(user=reviewer, servable=reviewer_care.servable_queues)
    assert second.queue == queue  # cap reached: only the ordinary queue serves now
    assert claims.claim_next(user=reviewer, queue=distressing, servable=reviewer_care.servable_queues) is None
    assert "limit" in reviewer_care.distressing_blocked_reason(user=reviewer)
    page = client.get("/cases/exposure/")
    assert page.status_code == 200 and b'value="1"' in page.content


def test_a_reviewer_can_opt_out_of_likely_distressing_queues(client, reviewer, queue):
    distressing = make_queue(reviewer, name="distressing", likely_distressing=True)
    make_clip("x")
    client.force_login(reviewer)
    assert client.post("/cases/care/opt-out", {"opted_out": "1"}).status_code == 302
    assert claims.claim_next(user=reviewer, queue=distressing, servable=reviewer_care.servable_queues) is None
    assert claims.claim_next(user=reviewer, servable=reviewer_care.servable_queues).queue == queue
    client.post("/cases/care/opt-out", {})
    assert not reviewer_care.care_of(user=reviewer).opted_out_of_distressing


def test_a_lead_cap_must_be_sane(client, reviewer, lead):
    client.force_login(lead)
    response = post_json(client, f"/cases/exposure/{reviewer.pk}/cap", {"cap": -3})
    assert response.status_code == 400
    response = post_json(client, f"/cases/exposure/{reviewer.pk}/cap", {"cap": "many"})
    assert response.status_code == 400
    assert post_json(client, f"/cases/exposure/{reviewer.pk}/cap", {"cap": None}).status_code == 200


def test_the_claim_rule_is_sql_in_the_claim_statement_and_costs_no_query_of_its_own(
    reviewer, queue, django_assert_num_queries
):
    with django_assert_num_queries(0):
        condition, params = reviewer_care.servable_queues(user_id=reviewer.pk, now=timezone.now())
    assert "likely_distressing" in condition and params["care_user"] == reviewer.pk


def test_the_reviewer_annotation_so_far_is_kept_with_the_case_not_as_an_annotation(reviewer, task):
    flag_task(reviewer, task, draft={"corrected_text": "help", "answer_grade": "cant_tell"})
    assert not Annotation.objects.exists()
    assert Flag.objects.get().draft == {"corrected_text": "help", "answer_grade": "cant_tell"}
    assert CaseEvent.objects.filter(kind="flagged").count() == 1
