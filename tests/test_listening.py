"""Listening is recorded and rubber-stamping is visible (issue 13, item 2); undo of a submit
(item 3, the server's side); officers acknowledge on opening, the dashboard counts a flag live (item 5).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from annotate.audit.models import AuditEvent
from annotate.escalation.models import Case
from annotate.leads import selectors as dashboard
from annotate.leads.live import DASHBOARD_GROUP
from annotate.quality import services as quality
from annotate.quality.models import ClipAgreement, FinalTranscript, WhisperScore
from annotate.queues import claims
from annotate.queues.models import Task
from annotate.review.models import Annotation
from annotate.review.services import Submission, SubmitError, submit
from tests.factories import derived, flag_task, make_clip, make_queue, reviewed
from tests.support import post_json

pytestmark = pytest.mark.django_db

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


def review(user, queue, text, *, listened=None, rate=None, seconds=6.0, **fields):
    fields.update(listened_fraction=listened, playback_rate=rate, seconds_spent=seconds)
    return reviewed(user, queue, text, **fields)[1]


# --- what the page reports ------------------------------------------------------------------------


def test_the_submit_records_listening_and_whether_whispers_text_went_unchanged(client, reviewer):
    queue = make_queue(reviewer)
    make_clip("play some jazz")
    make_clip("set a timer")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    body = {
        "idempotency_key": "k1",
        "corrected_text": " Play some  jazz. ",
        "listened_fraction": 0.4,
        "playback_rate": 1.5,
        "confirmed_unheard": True,
    }
    response = post_json(client, f"/review/api/tasks/{task.pk}/submit", body)
    assert response.status_code == 201, response.content
    stored = Annotation.objects.get()
    assert (stored.listened_fraction, stored.playback_rate, stored.unchanged, stored.confirmed_unheard) == (
        0.4,
        1.5,
        True,
        True,
    )
    changed = review(reviewer, queue, "set a timer for ten", listened=1.0)
    assert changed.unchanged is False and changed.heard_in_full


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("listened_fraction", 1.5, "between 0 and 1"),
        ("listened_fraction", "all", "must be a number"),
        ("playback_rate", 3, "between 0.5 and 2"),
        ("confirmed_unheard", "yes", "true or false"),
        ("amends", "12", "amends must be the id"),
    ],
)
def test_bad_listening_fields_are_refused_with_a_message(client, reviewer, field, value, message):
    queue = make_queue(reviewer)
    make_clip("hello")
    task = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    response = post_json(
        client, f"/review/api/tasks/{task.pk}/submit", {"idempotency_key": "k", "corrected_text": "hi", field: value}
    )
    assert response.status_code == 400 and message in response.json()["error"]
    assert not Annotation.objects.exists()


def test_whisper_is_scored_only_against_text_a_person_heard(reviewer, lead):
    queue = make_queue(reviewer)
    unheard, heard, decided = make_clip("play jazz"), make_clip("play blues"), make_clip("play soul")
    review(reviewer, queue, "play jazz", listened=0.3)  # rubber-stamped: Whisper must not look perfect
    review(reviewer, queue, "play the blues", listened=1.0)
    review(reviewer, queue, "play soul")  # an API client that reports nothing
    assert FinalTranscript.objects.count() == 3
    assert set(WhisperScore.objects.values_list("clip_id", flat=True)) == {heard.pk}
    quality.adjudicate(clip=decided, text="play soul music", lead=lead)
    assert set(WhisperScore.objects.values_list("clip_id", flat=True)) == {heard.pk, decided.pk}
    assert not WhisperScore.objects.filter(clip=unheard).exists()


def test_the_dashboard_shows_listening_per_reviewer_and_alerts_on_rubber_stamping(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer)
    for n in range(12):
        make_clip(f"clip number {n}")
    for n in range(6):
        review(reviewer, queue, f"clip number {n}", listened=0.2, seconds=1.0)  # 1 s on 1 s clips, unheard
    for n in range(6, 12):
        review(other_reviewer, queue, f"clip number {n} corrected", listened=1.0, seconds=4.0)
    data = dashboard.dashboard()
    assert data["alerts"] == []  # fewer than ALERT_MIN_SUBMITS
    rows = {r["reviewer"]: r for r in data["reviewers"]}
    assert rows["rita"]["unchanged_share"] == 1.0 and rows["rita"]["median_listened"] == 0.2
    assert rows["ravi"]["unchanged_share"] == 0.0 and rows["ravi"]["pace"] == 4.0

    for n in range(12, 24):
        make_clip(f"clip number {n}")
    for n in range(12, 24):
        review(reviewer, queue, f"clip number {n}", listened=0.25, seconds=0.8)
    alerts = dashboard.dashboard()["alerts"]
    assert [a["reviewer"] for a in alerts] == ["rita"]
    assert "100% of Whisper's texts submitted unchanged, median heard 25%" in alerts[0]["why"]
    assert "faster than the clips play" in alerts[0]["why"]


# --- undo: a new version of the last submit ---------------------------------------------------------


def test_a_new_version_within_the_window_replaces_the_old_one_in_the_quality_figures(reviewer, other_reviewer):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = make_clip("play some jazz")
    first = review(reviewer, queue, "play some jazz", listened=1.0)
    review(other_reviewer, queue, "play sam jazz", listened=1.0)
    agreement = ClipAgreement.objects.get(clip=clip)
    assert agreement.needs_adjudication or agreement.mean_wer > 0

    amended, created = submit(
        user=other_reviewer,
        task_id=Task.objects.get(clip=clip, claimed_by=other_reviewer).pk,
        submission=Submission(
            idempotency_key="v2",
            corrected_text="play some jazz",
            listened_fraction=1.0,
            amends=Annotation.objects.get(reviewer=other_reviewer).pk,
        ),
    )
    assert created and amended.amended_at is not None
    derived()
    assert list(Annotation.objects.filter(clip=clip).values_list("corrected_text", flat=True).order_by("pk")) == [
        "play some jazz",
        "play some jazz",
    ]
    agreement = ClipAgreement.objects.get(clip=clip)
    assert agreement.mean_wer == 0 and not agreement.needs_adjudication
    final = FinalTranscript.objects.get(clip=clip)
    assert final.text == "play some jazz" and final.source == "consensus"
    assert first.pk in set(Annotation.objects.values_list("pk", flat=True))


def test_a_new_version_is_refused_after_the_window_for_someone_else_or_once_flagged(
    settings, client, reviewer, other_reviewer
):
    queue = make_queue(reviewer, other_reviewer)
    make_clip("turn it up")
    old = review(reviewer, queue, "turn it up", listened=1.0)
    task_id = old.task_id

    def amend(user, key):
        return submit(
            user=user,
            task_id=task_id,
            submission=Submission(idempotency_key=key, corrected_text="turn it down", amends=old.pk),
        )

    with pytest.raises(claims.ClaimError, match="no earlier version of yours"):
        amend(other_reviewer, "x")
    Task.objects.filter(pk=task_id).update(
        done_at=timezone.now() - timedelta(seconds=settings.ANNOTATE_AMEND_SECONDS + 1)
    )
    with pytest.raises(claims.ClaimError, match="can no longer be changed") as late:
        amend(reviewer, "y")
    assert late.value.reason == claims.ClaimError.SUBMITTED
    client.force_login(reviewer)
    response = post_json(
        client,
        f"/review/api/tasks/{task_id}/submit",
        {"idempotency_key": "z", "corrected_text": "turn it down", "amends": old.pk},
    )
    assert response.status_code == 409 and response.json()["reason"] == "submitted"
    assert Annotation.objects.get().corrected_text == "turn it up"


def test_a_flagged_clip_can_not_be_changed(reviewer, other_reviewer):
    music = make_queue(reviewer, name="music")
    second = make_queue(other_reviewer, name="second look")
    make_clip("help me")
    old = review(reviewer, music, "help me", listened=1.0)
    flag_task(other_reviewer, claims.claim_next(user=other_reviewer, queue=second))
    with pytest.raises(claims.ClaimError, match="flagged") as caught:
        submit(
            user=reviewer,
            task_id=old.task_id,
            submission=Submission(idempotency_key="again", corrected_text="help", amends=old.pk),
        )
    assert caught.value.reason == claims.ClaimError.ESCALATED


def test_the_page_is_told_how_long_undo_lasts(client, reviewer, settings):
    settings.ANNOTATE_AMEND_SECONDS = 120
    queue = make_queue(reviewer)
    client.force_login(reviewer)
    page = client.get(f"/review/{queue.pk}/")
    assert '"amend_seconds": 120' in page.content.decode()


def test_submit_error_is_a_value_error():
    assert issubclass(SubmitError, ValueError)


# --- officers and the dashboard ------------------------------------------------------------------------


def test_open_and_acknowledge_acknowledges_the_case_audited(client, reviewer, officer, second_officer):
    queue = make_queue(reviewer)
    make_clip("help me")
    case = flag_task(reviewer, claims.claim_next(user=reviewer, queue=queue)).case
    client.force_login(officer)
    console = client.get("/cases/").content.decode()
    assert f"/cases/{case.pk}/acknowledge" in console and 'id="acknowledge-form"' in console

    response = client.post(f"/cases/{case.pk}/acknowledge")
    assert response.status_code == 302 and response["Location"] == f"/cases/{case.pk}/"
    case.refresh_from_db()
    assert case.state == Case.State.ACKNOWLEDGED and case.owner == officer
    assert AuditEvent.objects.filter(action="case.transition", target=f"case:{case.pk}").count() == 1

    client.force_login(second_officer)
    again = client.post(f"/cases/{case.pk}/acknowledge", follow=True)
    assert "was already taken on" in again.content.decode()
    case.refresh_from_db()
    assert case.owner == officer


def test_a_flag_tells_the_leads_dashboard_after_commit(reviewer, settings, django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = IN_MEMORY
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(DASHBOARD_GROUP, channel)
    queue = make_queue(reviewer)
    make_clip("help me")
    with django_capture_on_commit_callbacks(execute=True):
        flag_task(reviewer, claims.claim_next(user=reviewer, queue=queue))
    message = async_to_sync(layer.receive)(channel)
    assert message == {"type": "dashboard.changed", "reason": "flag", "queue_id": None}
