"""Second opinions: a reviewer asks about a clip, a lead hears it and answers, the reviewer reads it."""

from __future__ import annotations

import logging

import pytest

from annotate.audit.models import AuditEvent
from annotate.clips import ingest
from annotate.clips.models import Clip, MachineTranscript
from annotate.escalation.services import FlagInput, flag_clip
from annotate.leads.models import SecondOpinion
from annotate.leads.views import lead_audio_url
from annotate.queues import claims
from annotate.review.services import Submission, submit
from tests.factories import make_clip
from tests.support import AUDIO, make_user, post_json

pytestmark = pytest.mark.django_db

API = "/lead/api/second-opinions"


@pytest.fixture
def held(queue, reviewer):
    make_clip("play halo by beyonce")
    return claims.claim_next(user=reviewer, queue=queue)


def test_the_whole_loop(client, reviewer, lead, held):
    client.force_login(reviewer)
    asked = post_json(client, API, {"task_id": held.pk, "question": "  is it halo   or hello? ", "moment": 0.42})
    assert asked.status_code == 201
    body = asked.json()
    assert (body["question"], body["moment"], body["answer"]) == ("is it halo or hello?", 0.42, None)
    event = AuditEvent.objects.get(action="second_opinion.ask")
    assert (event.actor, event.clip_public_id) == (reviewer, held.clip.public_id)

    # The reviewer submits and moves on; the question keeps the clip open to the lead.
    submit(user=reviewer, task_id=held.pk, submission=Submission(idempotency_key="k", corrected_text="play halo"))

    client.force_login(lead)
    inbox = client.get("/lead/inbox/")
    assert "is it halo or hello?" in inbox.content.decode()
    opinion = SecondOpinion.objects.get()
    page = client.get(f"/lead/inbox/{opinion.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "play halo by beyonce" in html  # Whisper's text
    assert 'data-moment="0.420000"' in html
    sound = client.get(page.context["audio_url"], REMOTE_ADDR="10.0.0.9")
    assert sound.status_code == 200 and sound.content[:4] == b"RIFF"
    assert sound["Cache-Control"] == "no-store, private"
    play = AuditEvent.objects.get(action="audio.play")
    assert (play.actor, play.clip_public_id, play.details["as"], play.ip) == (
        lead,
        held.clip.public_id,
        "lead",
        "10.0.0.9",
    )
    part = client.get(page.context["audio_url"], HTTP_RANGE="bytes=0-99")
    assert part.status_code == 206 and len(part.content) == 100

    answered = client.post(f"/lead/inbox/{opinion.pk}/", {"answer": "It is Halo, the Beyoncé song."})
    assert answered.status_code == 302
    opinion.refresh_from_db()
    assert opinion.answered_by == lead and opinion.answered_at is not None
    assert AuditEvent.objects.filter(action="second_opinion.answer", actor=lead).exists()

    client.force_login(reviewer)
    mine = client.get(API, {"task_id": held.pk}).json()["questions"]
    assert [(q["question"], q["answer"]) for q in mine] == [("is it halo or hello?", "It is Halo, the Beyoncé song.")]
    opinion.refresh_from_db()
    assert opinion.seen_at is not None


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"question": "what?"}, 400, "task_id"),
        ({"question": ""}, 400, "type your question"),
        ({"question": "x" * 501}, 400, "longer than 500"),
        ({"question": "what?", "moment": 99}, 400, "outside the clip"),
        ({"question": "what?", "moment": "soon"}, 400, "moment"),
        ({"question": 5}, 400, "string"),
    ],
)
def test_bad_questions_get_a_clear_message(client, reviewer, held, body, status, message):
    client.force_login(reviewer)
    if "task_id" not in body and message != "task_id":
        body = {**body, "task_id": held.pk}
    response = post_json(client, API, body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert not SecondOpinion.objects.exists()


def test_a_reviewer_cannot_ask_about_someone_elses_clip(client, other_reviewer, held):
    client.force_login(other_reviewer)
    response = post_json(client, API, {"task_id": held.pk, "question": "what is this?"})
    assert response.status_code == 404
    assert not SecondOpinion.objects.exists()


def test_a_reviewer_reads_only_their_own_questions(client, reviewer, other_reviewer, held):
    client.force_login(reviewer)
    post_json(client, API, {"task_id": held.pk, "question": "mine"})
    client.force_login(other_reviewer)
    assert client.get(API).json()["questions"] == []


def test_the_lead_audio_url_is_bound_to_the_lead_and_expires(client, lead, held, reviewer, settings):
    client.force_login(reviewer)
    post_json(client, API, {"task_id": held.pk, "question": "what?"})
    url = lead_audio_url(clip=held.clip, user=lead)
    other_lead = make_user("leo", "lead")
    client.force_login(other_lead)
    assert client.get(url).status_code == 404
    client.force_login(lead)
    assert client.get(url + "x").status_code == 404
    settings.ANNOTATE_AUDIO_URL_SECONDS = -1
    assert client.get(url).status_code == 404


def test_a_clip_nobody_reviewed_or_asked_about_is_not_open_to_leads(client, lead):
    clip = make_clip("never reviewed")
    client.force_login(lead)
    assert client.get(lead_audio_url(clip=clip, user=lead)).status_code == 404
    assert client.get(f"/lead/adjudicate/{clip.public_id}/").status_code == 404


def test_a_flagged_clip_is_not_open_to_leads(client, lead, held, reviewer):
    client.force_login(reviewer)
    post_json(client, API, {"task_id": held.pk, "question": "what?"})
    flag_clip(user=reviewer, flag=FlagInput(task_id=held.pk, category="danger_now"))
    client.force_login(lead)
    assert client.get(f"/lead/inbox/{SecondOpinion.objects.get().pk}/").status_code == 404
    assert client.get(lead_audio_url(clip=held.clip, user=lead)).status_code == 404


def test_the_lead_never_sees_who_was_recorded(client, queue, reviewer, other_reviewer, lead, canary, caplog):
    caplog.set_level(logging.DEBUG)
    queue.overlap = 2
    queue.save()
    result = ingest.ingest_clip(data=(AUDIO / "timer.ogg").read_bytes(), meta=ingest.parse_meta(canary.meta()))
    clip = result.clip
    Clip.objects.filter(pk=clip.pk).update(state=Clip.State.READY)
    MachineTranscript.objects.create(clip=clip, model_name="tiny.en", text="set a timer for ten minutes")
    first = claims.claim_next(user=reviewer, queue=queue)
    client.force_login(reviewer)
    post_json(client, API, {"task_id": first.pk, "question": "ten or two?"})
    submit(user=reviewer, task_id=first.pk, submission=Submission(idempotency_key="a", corrected_text="a timer"))
    second = claims.claim_next(user=other_reviewer, queue=queue)
    submit(user=other_reviewer, task_id=second.pk, submission=Submission(idempotency_key="b", corrected_text="timer"))

    client.force_login(lead)
    opinion = SecondOpinion.objects.get()
    pages = [
        client.get("/lead/"),
        client.get("/lead/dashboard.json"),
        client.get("/lead/inbox/"),
        client.get(f"/lead/inbox/{opinion.pk}/"),
        client.get("/lead/adjudicate/"),
        client.get(f"/lead/adjudicate/{clip.public_id}/"),
        client.get(lead_audio_url(clip=clip, user=lead)),
    ]
    for response in pages:
        assert response.status_code == 200
        assert canary.found_in(response.content) == []
    assert canary.found_in(caplog.text) == []
