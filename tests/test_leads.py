"""The lead console: queues in the product, people, and who reaches what (the role matrix)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from annotate.audit.models import AuditEvent
from annotate.clips.models import Clip
from annotate.leads import exports, services
from annotate.leads.models import Export, SecondOpinion
from annotate.queues import claims
from annotate.queues.models import Backfill, GoldClip, Queue, Task
from annotate.review.services import Submission, submit
from tests.factories import make_clip, make_queue
from tests.support import as_user, built_once, make_persona, post_json

pytestmark = pytest.mark.django_db


def review(user, queue, text):
    task = claims.claim_next(user=user, queue=queue)
    submit(user=user, task_id=task.pk, submission=Submission(idempotency_key=uuid.uuid4().hex, corrected_text=text))
    return task


QUEUE_FORM = {
    "name": "Music (en)",
    "kind": "verify",
    "priority": "3",
    "locales": "en-US, en-GB",
    "device_types": "speaker",
    "sample_rate": "0.5",
    "lease_seconds": "",
    "overlap": "2",
    "gold_ratio": "0.1",
    "likely_distressing": "",
    "guidelines": "Write **what you hear**. <script>alert(1)</script>",
}


# --- queues -----------------------------------------------------------------------------------------


def test_a_lead_creates_a_queue_with_sampling_overlap_gold_and_guidelines(client, lead):
    client.force_login(lead)
    assert client.get("/lead/queues/new").status_code == 200
    response = client.post("/lead/queues/new", QUEUE_FORM)
    assert response.status_code == 302
    queue = Queue.objects.get(name="Music (en)")
    assert response["Location"] == f"/lead/queues/{queue.pk}/"
    assert (queue.kind, queue.priority, queue.locales, queue.device_types) == (
        "verify",
        3,
        ["en-US", "en-GB"],
        ["speaker"],
    )
    assert (queue.sample_rate, queue.overlap, queue.gold_ratio, queue.lease_seconds) == (0.5, 2, 0.1, None)
    assert AuditEvent.objects.filter(action="queue.create", actor=lead, target=f"queue:{queue.pk}").exists()
    assert client.get(f"/lead/queues/{queue.pk}/").status_code == 200
    assert "Music (en)" in client.get("/lead/queues/").content.decode()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("sample_rate", "1.5", "between 0"),
        ("gold_ratio", "0.8", "between 0"),
        ("overlap", "9", "between 1 and 5"),
        ("lease_seconds", "5", "between 30"),
        ("locales", "en US", "not a locale"),
        ("name", "", "required"),
    ],
)
def test_a_bad_queue_form_says_what_to_fix(client, lead, field, value, message):
    client.force_login(lead)
    response = client.post("/lead/queues/new", {**QUEUE_FORM, field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Queue.objects.exists()


def test_a_lead_edits_and_archives_a_queue(client, lead, reviewer):
    queue = make_queue(reviewer, name="Weather")
    client.force_login(lead)
    page = client.get(f"/lead/queues/{queue.pk}/edit")
    assert page.status_code == 200 and page.context["preview"]["days"] == 7
    response = client.post(f"/lead/queues/{queue.pk}/edit", {**QUEUE_FORM, "name": "Weather", "priority": "9"})
    assert response.status_code == 302
    queue.refresh_from_db()
    assert queue.priority == 9 and queue.overlap == 2
    event = AuditEvent.objects.get(action="queue.update")
    assert "priority" in event.details["changed"]

    make_clip("one")
    client.post(f"/lead/queues/{queue.pk}/archive", {"archived": "1"})
    queue.refresh_from_db()
    assert queue.archived
    assert claims.claim_next(user=reviewer) is None
    make_clip("two", locale="en-US", device_type="speaker")
    assert not Task.objects.filter(queue=queue, clip__heard="two").exists()
    client.post(f"/lead/queues/{queue.pk}/archive", {"archived": "0"})
    queue.refresh_from_db()
    assert not queue.archived


def test_the_sampling_preview_counts_recent_matching_clips(client, lead):
    make_clip("a", locale="en-US", device_type="speaker")
    make_clip("b", locale="en-GB", device_type="phone")
    make_clip("c", locale="de-DE", device_type="speaker")
    old = make_clip("d", locale="en-US", device_type="speaker")
    Clip.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    client.force_login(lead)
    body = client.get("/lead/queues/preview", {"locales": "en-US, en-GB", "sample_rate": "0.5"}).json()
    assert body == {"days": 7, "recent": 3, "matching": 2, "sampled": 1}
    body = client.get("/lead/queues/preview", {"device_types": "speaker", "sample_rate": "1"}).json()
    assert body["matching"] == 2
    assert client.get("/lead/queues/preview", {"locales": "not a locale!"}).status_code == 400


def test_guidelines_in_markdown_reach_the_review_page_as_safe_html(client, reviewer, lead):
    client.force_login(lead)
    client.post("/lead/queues/new", {**QUEUE_FORM, "sample_rate": "1", "overlap": "1", "gold_ratio": "0"})
    queue = Queue.objects.get()
    queue.members.add(reviewer)
    make_clip("play music", locale="en-US", device_type="speaker")
    client.force_login(reviewer)
    page = client.get(f"/review/{queue.pk}/")
    assert page.status_code == 200
    assert "<strong>what you hear</strong>" in page.context["guidelines"]
    assert "<script>" not in page.context["guidelines"]


# --- people ---------------------------------------------------------------------------------------------


def test_a_lead_adds_and_removes_reviewers_and_their_held_clips_go_back(client, lead, reviewer, other_reviewer):
    queue = make_queue(name="Music")
    make_clip("one")
    client.force_login(lead)
    detail = client.get(f"/lead/queues/{queue.pk}/")
    assert [u.username for u in detail.context["candidates"]] == ["ravi", "rita"]
    client.post(f"/lead/queues/{queue.pk}/members/add", {"user": reviewer.pk})
    assert list(queue.members.all()) == [reviewer]
    task = claims.claim_next(user=reviewer, queue=queue)
    assert task is not None

    client.post(f"/lead/queues/{queue.pk}/members/{reviewer.pk}/remove")
    assert not queue.members.exists()
    task.refresh_from_db()
    assert task.state == Task.State.OPEN and task.claimed_by is None
    actions = list(AuditEvent.objects.filter(actor=lead).values_list("action", flat=True))
    assert "queue.member_add" in actions and "queue.member_remove" in actions


def test_only_reviewers_can_be_added_to_a_queue(client, lead, officer):
    queue = make_queue(name="Music")
    client.force_login(lead)
    response = client.post(f"/lead/queues/{queue.pk}/members/add", {"user": officer.pk}, follow=True)
    assert "is not a reviewer" in response.content.decode()
    assert not queue.members.exists()


def test_reviewers_see_only_their_queues(client, reviewer, other_reviewer):
    make_queue(reviewer, name="Mine")
    make_queue(other_reviewer, name="Theirs")
    client.force_login(reviewer)
    assert [q.name for q in client.get("/").context["queues"]] == ["Mine"]


# --- gold from the console ----------------------------------------------------------------------------------


def test_a_lead_adds_and_retires_a_gold_clip(client, lead, reviewer):
    queue = make_queue(reviewer, name="Music")
    clip = make_clip("play halo")
    client.force_login(lead)
    client.post(f"/lead/queues/{queue.pk}/gold/add", {"clip": clip.public_id, "reference_text": "play halo"})
    gold = GoldClip.objects.get(queue=queue)
    assert gold.reference_text == "play halo" and gold.active
    assert AuditEvent.objects.filter(action="gold.add", clip_public_id=clip.public_id).exists()
    assert clip.public_id in client.get(f"/lead/queues/{queue.pk}/").content.decode()
    client.post(f"/lead/queues/{queue.pk}/gold/{gold.pk}/retire")
    gold.refresh_from_db()
    assert not gold.active


# --- the role matrix ------------------------------------------------------------------------------------------


def build_world(reviewer, other_reviewer, lead):
    """Something behind every lead endpoint: a queue, a disagreement, a question, gold, an export."""
    queue = make_queue(reviewer, other_reviewer, name="Music", overlap=2)
    clip = make_clip("play halo")
    task = review(reviewer, queue, "play halo")
    review(other_reviewer, queue, "play hello")
    opinion = services.ask(user=reviewer, task_id=task.pk, question="halo or hello?")
    other = make_clip("set a timer")
    gold = GoldClip.objects.create(queue=queue, clip=other, reference_text="set a timer")
    export = Export.objects.create(requested_by=lead, format="nemo")
    exports.build_export(export_id=export.pk)
    backfill = Backfill.objects.create(queue=queue, requested_by=lead, days=7, cap=10, sample_rate=1.0)
    from annotate.leads.views import lead_audio_url

    return {
        "queue": queue,
        "clip": clip,
        "opinion": opinion,
        "gold": gold,
        "export": export,
        "backfill": backfill,
        "audio": lambda user: lead_audio_url(clip=clip, user=user),
    }


def lead_endpoints(w):
    q, c = w["queue"].pk, w["clip"].public_id
    reviewer_id = w["queue"].members.order_by("username").first().pk
    return [
        # (method, url, data, what a lead gets, kind)
        ("get", "/lead/", None, 200, "page"),
        ("get", "/lead/dashboard.json", None, 200, "json"),
        ("get", "/lead/queues/", None, 200, "page"),
        ("get", "/lead/queues/new", None, 200, "page"),
        ("post", "/lead/queues/new", {**QUEUE_FORM, "name": "New"}, 302, "page"),
        ("get", "/lead/queues/preview?locales=en-US", None, 200, "json"),
        ("get", f"/lead/queues/{q}/", None, 200, "page"),
        ("get", f"/lead/queues/{q}/edit", None, 200, "page"),
        ("post", f"/lead/queues/{q}/edit", {**QUEUE_FORM, "name": "Music"}, 302, "page"),
        ("post", f"/lead/queues/{q}/archive", {"archived": "0"}, 302, "page"),
        ("post", f"/lead/queues/{q}/members/add", {"user": reviewer_id}, 302, "page"),
        ("post", f"/lead/queues/{q}/members/{reviewer_id}/remove", {}, 302, "page"),
        ("post", f"/lead/queues/{q}/backfill", {"days": "7", "cap": "5"}, 302, "page"),
        ("get", f"/lead/queues/{q}/backfill/{w['backfill'].pk}/status", None, 200, "json"),
        ("post", f"/lead/queues/{q}/gold/add", {"clip": c, "reference_text": "play halo"}, 302, "page"),
        ("post", f"/lead/queues/{q}/gold/{w['gold'].pk}/retire", {}, 302, "page"),
        ("get", "/lead/adjudicate/", None, 200, "page"),
        ("get", f"/lead/adjudicate/{c}/", None, 200, "page"),
        ("post", f"/lead/adjudicate/{c}/", {"text": "play halo"}, 302, "page"),
        ("get", "/lead/screening/", None, 200, "page"),
        ("get", "/lead/screening/?decision=purge&page=2", None, 200, "page"),
        ("get", "/lead/inbox/", None, 200, "page"),
        ("get", f"/lead/inbox/{w['opinion'].pk}/", None, 200, "page"),
        ("post", f"/lead/inbox/{w['opinion'].pk}/", {"answer": "halo"}, 302, "page"),
        ("get", "/lead/exports/", None, 200, "page"),
        ("post", "/lead/exports/", {"format": "jsonl"}, 302, "page"),
        ("get", f"/lead/exports/{w['export'].pk}/status", None, 200, "json"),
        ("get", f"/lead/exports/{w['export'].pk}/download", None, 200, "page"),
    ]


ENDPOINT_COUNT = 28


@pytest.fixture(scope="class")
def lead_world(django_db_setup, django_db_blocker, tmp_path_factory):
    """The personas and the world behind the lead endpoints, built once for the matrix (built_once)."""
    folder = tmp_path_factory.mktemp("lead-world")
    with built_once(django_db_blocker, folder):
        with django_db_blocker.unblock():
            people = {who: make_persona(who) for who in ("reviewer", "other_reviewer", "lead", "officer")}
            world = build_world(people["reviewer"], people["other_reviewer"], people["lead"])
        yield {**people, "anonymous": None}, world, folder


class TestRoleMatrix:
    """Who reaches the lead console: one world for all the cells, each cell's requests in a savepoint of it."""

    @pytest.fixture
    def private_storage(self, lead_world):
        return lead_world[2]

    @pytest.fixture
    def personas(self, lead_world):
        return lead_world[0]

    @pytest.fixture
    def lead(self, lead_world):
        return lead_world[0]["lead"]

    @pytest.fixture
    def world(self, lead_world):
        return lead_world[1]

    @pytest.mark.parametrize("who", ["reviewer", "other_reviewer", "officer", "anonymous", "lead"])
    def test_role_matrix_of_the_lead_console(self, client, world, personas, who):
        """Every lead endpoint, in order, as each persona: leads only."""
        for method, url, data, lead_status, kind in lead_endpoints(world):
            send = getattr(as_user(client, personas[who]), method)
            before = AuditEvent.objects.count()  # after the sign-in (audited too)
            response = send(url, data) if data is not None else send(url)
            if who == "lead":
                assert response.status_code == lead_status, url
            elif who == "anonymous":
                assert response.status_code == (401 if kind == "json" else 302), url
                if kind == "page":
                    assert response["Location"].startswith("/login/"), url
            else:
                assert response.status_code == 403, url
            if who != "lead":
                assert AuditEvent.objects.count() == before, url  # refused before anything happened

    def test_the_matrix_covers_every_lead_url(self, world):
        from django.urls import resolve

        from annotate.leads.urls import urlpatterns

        covered = {resolve(url.split("?")[0]).url_name for _, url, *_ in lead_endpoints(world)}
        # The audio door and the reviewers' API have their own matrices below.
        assert covered | {"lead-audio", "lead-api-second-opinions"} == {p.name for p in urlpatterns}
        assert len(lead_endpoints(world)) == ENDPOINT_COUNT

    @pytest.mark.parametrize("who", ["reviewer", "other_reviewer", "officer", "anonymous"])
    def test_nobody_but_the_lead_uses_the_leads_audio_url(self, client, world, personas, lead, who):
        url = world["audio"](lead)
        assert as_user(client, personas[who]).get(url).status_code == 404

    @pytest.mark.parametrize(
        ("who", "status"), [("reviewer", 200), ("lead", 403), ("officer", 403), ("anonymous", 401)]
    )
    def test_role_matrix_of_the_second_opinion_api(self, client, world, personas, who, status):
        response = as_user(client, personas[who]).get("/lead/api/second-opinions")
        assert response.status_code == status
        before = SecondOpinion.objects.count()
        response = post_json(client, "/lead/api/second-opinions", {"task_id": 1, "question": "x"})
        assert response.status_code in ((404, 201) if who == "reviewer" else (status,))
        if who != "reviewer":
            assert SecondOpinion.objects.count() == before

    def test_leads_cannot_reach_cases_unseal_identities_or_read_case_notes(self, client, world, lead):
        case_id = 999_999  # without the escalation app (or if its fields differ), a missing case is enough
        try:
            case_model = apps.get_model("escalation", "Case")
            case_id = case_model.objects.create(
                clip=world["clip"], category="other", severity="low", severity_rank=3
            ).pk
        except Exception as exc:  # noqa: BLE001
            print(f"no case made ({exc}); testing with a missing case")
        client.force_login(lead)
        for url in ("/cases/", f"/cases/{case_id}/", f"/cases/{case_id}/identity", f"/cases/{case_id}/transcript"):
            assert client.get(url).status_code in (403, 404), url
        assert client.post(f"/cases/{case_id}/unseal", {"reason": "curious"}).status_code in (403, 404)
        assert not AuditEvent.objects.filter(actor=lead, action__icontains="unseal").exists()
