"""Who reaches which escalation endpoint; identity unsealing; evidence packages; no identity leaks.

The matrix: every case, unsealing, evidence, reviewer-care and exposure
endpoint × (reviewer, other reviewer, lead, officer, second officer, admin,
anonymous). Identity and evidence are reachable only by escalation officers,
identity only by the two officers of an approved unsealing.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.management import call_command

from annotate.audit.models import AuditEvent
from annotate.escalation import evidence, services
from annotate.escalation.models import Case, CaseEvent, EvidenceExport, UnsealRequest
from tests.factories import S, case_in, held_clip, make_queue, move
from tests.support import CANARY, built_once, make_persona, make_user, post_json

pytestmark = pytest.mark.django_db

ROLES = ["reviewer", "other_reviewer", "lead", "officer", "second_officer", "admin_user", "anonymous"]
REASON = "The caller may be a child in danger; police need the account to find the address."


@dataclass
class Scene:
    reviewer: Any
    other_reviewer: Any
    lead: Any
    officer: Any
    second_officer: Any
    admin_user: Any
    queue: Any

    def case(self, state: str = S.NEW) -> Case:
        return case_in(state, reviewer=self.reviewer, officer=self.officer, queue=self.queue, with_audio=True)

    def unsealed(self, state: str = S.INVESTIGATING) -> Case:
        case = self.case(state)
        req = services.request_unseal(case_id=case.pk, officer=self.officer, reason=REASON)
        services.decide_unseal(
            case_id=case.pk, request_id=req.pk, officer=self.second_officer, approve=True, note="agreed: risk to life"
        )
        return case


@pytest.fixture
def scene(reviewer, other_reviewer, lead, officer, second_officer, admin_user):
    return Scene(
        reviewer, other_reviewer, lead, officer, second_officer, admin_user, make_queue(reviewer, other_reviewer)
    )


def login(client, scene: Scene, who: str):
    if who != "anonymous":
        client.force_login(getattr(scene, who))
    return client


# --- the matrix --------------------------------------------------------------------------------------------
#
# Each endpoint: how to prepare it (returns method, url, body), and the status per role.
# "json" requests send Accept/Content-Type JSON (anonymous → 401); pages redirect anonymous (302).

OFFICERS_OK = {"officer": 200, "second_officer": 200}
NOT_OFFICERS = {"reviewer": 403, "other_reviewer": 403, "lead": 403, "admin_user": 403}


def _pending_unseal(scene: Scene):
    case = scene.case(S.INVESTIGATING)
    req = services.request_unseal(case_id=case.pk, officer=scene.officer, reason=REASON)
    return case, req


def _evidence(scene: Scene):
    case = scene.unsealed(S.REFERRED)
    export, _ = evidence.export_evidence(case_id=case.pk, officer=scene.officer)
    return case, export


ENDPOINTS: dict[str, tuple] = {
    # name: (prepare(scene) -> (method, url, body, json), expected statuses)
    "console": (lambda s: ("get", "/cases/", None, False), {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 302}),
    "open cases api": (
        lambda s: ("get", "/cases/api/open", None, True),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 401},
    ),
    "case page": (
        lambda s: ("get", f"/cases/{s.case().pk}/", None, False),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 302},
    ),
    "transition": (
        lambda s: ("post", f"/cases/{s.case().pk}/transition", {"to": "acknowledged", "note": "on it"}, True),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 401},
    ),
    "open and acknowledge": (
        lambda s: ("post", f"/cases/{s.case().pk}/acknowledge", None, False),
        {"officer": 302, "second_officer": 302, **NOT_OFFICERS, "anonymous": 302},
    ),
    "audio": (
        lambda s: ("get", f"/cases/{s.case().pk}/audio", None, False),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 302},
    ),
    "muffled audio": (
        lambda s: ("get", f"/cases/{s.case().pk}/audio/muffled", None, False),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 302},
    ),
    "transcript": (
        lambda s: ("get", f"/cases/{s.case().pk}/transcript", None, True),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 401},
    ),
    "unseal request": (
        lambda s: ("post", f"/cases/{s.case(S.INVESTIGATING).pk}/unseal", {"reason": REASON}, True),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 401},
    ),
    "unseal approve": (
        lambda s: (lambda c, r: ("post", f"/cases/{c.pk}/unseal/{r.pk}/approve", {"note": "agreed"}, True))(
            *_pending_unseal(s)
        ),
        {"officer": 403, "second_officer": 200, **NOT_OFFICERS, "anonymous": 401},  # never one's own request
    ),
    "unseal refuse": (
        lambda s: (lambda c, r: ("post", f"/cases/{c.pk}/unseal/{r.pk}/refuse", {"note": "not needed"}, True))(
            *_pending_unseal(s)
        ),
        {"officer": 403, "second_officer": 200, **NOT_OFFICERS, "anonymous": 401},
    ),
    "identity": (
        lambda s: ("get", f"/cases/{s.unsealed().pk}/identity", None, True),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 401},
    ),
    "evidence export": (
        lambda s: ("post", f"/cases/{s.case(S.REFERRED).pk}/evidence", {}, True),
        {"officer": 201, "second_officer": 201, **NOT_OFFICERS, "anonymous": 401},
    ),
    "evidence download": (
        lambda s: (lambda c, e: ("get", f"/cases/{c.pk}/evidence/{e.pk}", None, False))(*_evidence(s)),
        {**OFFICERS_OK, **NOT_OFFICERS, "anonymous": 302},
    ),
    "flag": (
        lambda s: (
            "post",
            "/cases/api/flags",
            {"task_id": held_clip(s.reviewer, s.queue).pk, "category": "violence"},
            True,
        ),
        {
            "reviewer": 201,
            "other_reviewer": 409,  # does not hold that task
            "lead": 403,
            "officer": 403,
            "second_officer": 403,
            "admin_user": 403,
            "anonymous": 401,
        },
    ),
    "receipts": (
        lambda s: ("get", "/cases/api/receipts", None, True),
        {
            "reviewer": 200,
            "other_reviewer": 200,
            "lead": 403,
            "officer": 403,
            "second_officer": 403,
            "admin_user": 403,
            "anonymous": 401,
        },
    ),
    "care page": (
        lambda s: ("get", "/cases/care/", None, False),
        {
            "reviewer": 200,
            "other_reviewer": 200,
            "lead": 403,
            "officer": 403,
            "second_officer": 403,
            "admin_user": 403,
            "anonymous": 302,
        },
    ),
    "break": (
        lambda s: ("post", "/cases/care/break", {}, True),
        {
            "reviewer": 200,
            "other_reviewer": 200,
            "lead": 403,
            "officer": 403,
            "second_officer": 403,
            "admin_user": 403,
            "anonymous": 401,
        },
    ),
    "opt out": (
        lambda s: ("post", "/cases/care/opt-out", {"opted_out": True}, True),
        {
            "reviewer": 200,
            "other_reviewer": 200,
            "lead": 403,
            "officer": 403,
            "second_officer": 403,
            "admin_user": 403,
            "anonymous": 401,
        },
    ),
    "exposure page": (
        lambda s: ("get", "/cases/exposure/", None, False),
        {
            "reviewer": 403,
            "other_reviewer": 403,
            "lead": 200,
            "officer": 403,
            "second_officer": 403,
            "admin_user": 403,
            "anonymous": 302,
        },
    ),
    "exposure cap": (
        lambda s: ("post", f"/cases/exposure/{s.reviewer.pk}/cap", {"cap": 5}, True),
        {
            "reviewer": 403,
            "other_reviewer": 403,
            "lead": 200,
            "officer": 403,
            "second_officer": 403,
            "admin_user": 403,
            "anonymous": 401,
        },
    ),
}


# The world (people, a queue) is built once for the matrix, each endpoint's case once for its seven
# cells (built_once); each cell makes its request in a savepoint of that, rolled back after it.


@pytest.fixture(scope="class")
def matrix_world(django_db_setup, django_db_blocker, tmp_path_factory):
    folder = tmp_path_factory.mktemp("matrix")
    with built_once(django_db_blocker, folder):
        with django_db_blocker.unblock():
            people = [make_persona(who) for who in ROLES if who != "anonymous"]
            scene = Scene(*people, make_queue(people[0], people[1]))
        yield scene, folder


@pytest.fixture(scope="class", params=list(ENDPOINTS))
def endpoint(request, matrix_world, django_db_blocker):
    """The endpoint's name and request (method, url, body, as_json), prepared once for the seven roles."""
    with built_once(django_db_blocker):
        with django_db_blocker.unblock():
            prepared = ENDPOINTS[request.param][0](matrix_world[0])
        yield request.param, prepared


class TestRoleEndpointMatrix:
    @pytest.fixture
    def private_storage(self, matrix_world):
        return matrix_world[1]

    @pytest.fixture
    def scene(self, matrix_world):
        return matrix_world[0]

    @pytest.mark.parametrize("who", ROLES)
    def test_role_endpoint_matrix(self, client, scene, endpoint, who):
        name, (method, url, body, as_json) = endpoint
        expected = ENDPOINTS[name][1]
        login(client, scene, who)
        if method == "get":
            response = client.get(url, HTTP_ACCEPT="application/json") if as_json else client.get(url)
        elif as_json:
            response = post_json(client, url, body, HTTP_ACCEPT="application/json")
        else:
            response = client.post(url, body or {})
        assert response.status_code == expected[who], (name, who, response.content[:300])
        if response.status_code == 302:
            assert response["Location"].startswith("/cases/" if who in OFFICERS_OK else "/login/")
        if who not in ("officer", "second_officer"):
            assert not CANARY.found_in(response.content)


def test_the_matrix_covers_every_escalation_url():
    from annotate.escalation.urls import urlpatterns

    assert len(urlpatterns) == len(ENDPOINTS) + 1  # + the break's end (same door as "break")


def test_no_escalation_url_gives_a_lead_or_reviewer_the_identity(client, scene):
    case = scene.unsealed(S.REFERRED)
    export, key = evidence.export_evidence(case_id=case.pk, officer=scene.officer)
    urls = [
        "/cases/",
        "/cases/api/open",
        f"/cases/{case.pk}/",
        f"/cases/{case.pk}/identity",
        f"/cases/{case.pk}/transcript",
        f"/cases/{case.pk}/evidence/{export.pk}",
        "/cases/api/receipts",
        "/cases/care/",
        "/cases/exposure/",
        f"/admin/escalation/case/{case.pk}/change/",
        f"/admin/escalation/unsealrequest/{case.unseal_requests.get().pk}/change/",
    ]
    for who in ("reviewer", "other_reviewer", "lead", "admin_user"):
        login(client, scene, who)
        for url in urls:
            for accept in ("text/html", "application/json"):
                response = client.get(url, HTTP_ACCEPT=accept)
                assert not CANARY.found_in(response.content), (who, url)


# --- unsealing -------------------------------------------------------------------------------------------


def test_unsealing_needs_a_second_officer_then_the_two_see_the_identity(client, scene, officer, second_officer):
    case = scene.case(S.INVESTIGATING)
    client.force_login(officer)
    response = post_json(client, f"/cases/{case.pk}/unseal", {"reason": REASON})
    assert response.status_code == 200 and response.json()["state"] == "pending"
    req = UnsealRequest.objects.get()
    # not yet: the asking officer sees nothing until a second officer approves
    assert client.get(f"/cases/{case.pk}/identity", HTTP_ACCEPT="application/json").status_code == 403
    # the asking officer cannot approve their own request
    assert post_json(client, f"/cases/{case.pk}/unseal/{req.pk}/approve", {"note": "me"}).status_code == 403

    client.force_login(second_officer)
    response = post_json(client, f"/cases/{case.pk}/unseal/{req.pk}/approve", {"note": "agreed: risk to life"})
    assert response.status_code == 200 and response.json()["state"] == "approved"

    for who in (officer, second_officer):
        client.force_login(who)
        response = client.get(f"/cases/{case.pk}/identity", HTTP_ACCEPT="application/json")
        assert response.status_code == 200
        assert response.json() == {
            "account_id": CANARY.account_id,
            "first_name": CANARY.first_name,
            "device_serial": CANARY.device_serial,
        }
        assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    views = AuditEvent.objects.filter(action="identity.view", target=f"case:{case.pk}")
    assert sorted(v.actor.username for v in views) == sorted([officer.username, second_officer.username])
    assert case.events.filter(kind="identity_viewed").count() == 2
    for event in AuditEvent.objects.all():
        assert not CANARY.found_in(json.dumps(event.details) + event.target)

    third = make_user("oscar", "officer")
    client.force_login(third)
    assert client.get(f"/cases/{case.pk}/identity", HTTP_ACCEPT="application/json").status_code == 403
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200 and not CANARY.found_in(page.content)  # the page never embeds it


@pytest.mark.parametrize("state", [S.NEW, S.NO_ACTION, S.FALSE_ALARM, S.CLOSED])
def test_unsealing_only_on_an_open_case_taken_on(client, scene, officer, state):
    case = scene.case(state)
    client.force_login(officer)
    response = post_json(client, f"/cases/{case.pk}/unseal", {"reason": REASON})
    assert response.status_code == 400
    assert "only on an open case" in response.json()["error"]
    assert not UnsealRequest.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", "because"])
def test_unsealing_needs_a_written_reason(client, scene, officer, reason):
    case = scene.case(S.INVESTIGATING)
    client.force_login(officer)
    response = post_json(client, f"/cases/{case.pk}/unseal", {"reason": reason})
    assert response.status_code == 400 and "reason" in response.json()["error"]


def test_identity_is_sealed_again_once_the_case_is_settled(client, scene, officer):
    case = scene.unsealed(S.INVESTIGATING)
    move(case, S.NO_ACTION, officer)
    client.force_login(officer)
    response = client.get(f"/cases/{case.pk}/identity", HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "only on an open case" in response.json()["error"]


def test_a_refused_request_unseals_nothing(client, scene, officer, second_officer):
    case, req = _pending_unseal(scene)
    client.force_login(second_officer)
    assert post_json(client, f"/cases/{case.pk}/unseal/{req.pk}/refuse", {"note": "no risk heard"}).status_code == 200
    client.force_login(officer)
    assert client.get(f"/cases/{case.pk}/identity", HTTP_ACCEPT="application/json").status_code == 403
    assert AuditEvent.objects.filter(action="identity.unseal_refused", actor=second_officer).exists()
    again = post_json(client, f"/cases/{case.pk}/unseal/{req.pk}/approve", {"note": "x"})
    assert again.status_code == 400 and "already refused" in again.json()["error"]


def test_one_officer_may_unseal_when_the_setting_is_off(client, scene, officer, settings):
    settings.ANNOTATE_UNSEAL_NEEDS_SECOND_OFFICER = False
    case = scene.case(S.ACKNOWLEDGED)
    client.force_login(officer)
    assert post_json(client, f"/cases/{case.pk}/unseal", {"reason": REASON}).json()["state"] == "approved"
    assert client.get(f"/cases/{case.pk}/identity", HTTP_ACCEPT="application/json").status_code == 200
    assert [e.kind for e in case.events.filter(kind__startswith="unseal")] == ["unseal_requested", "unseal_approved"]


def test_unsealing_from_the_case_page_forms(client, scene, officer, second_officer):
    case = scene.case(S.INVESTIGATING)
    client.force_login(officer)
    assert client.post(f"/cases/{case.pk}/unseal", {"reason": REASON}).status_code == 302
    page = client.get(f"/cases/{case.pk}/")
    assert b"Waiting for a second officer" in page.content
    client.force_login(second_officer)
    page = client.get(f"/cases/{case.pk}/")
    assert b"Approve unsealing" in page.content
    req = UnsealRequest.objects.get()
    assert client.post(f"/cases/{case.pk}/unseal/{req.pk}/approve", {"note": "agreed"}).status_code == 302
    assert b"Show the identity" in client.get(f"/cases/{case.pk}/").content


# --- evidence --------------------------------------------------------------------------------------------------


def test_evidence_package_is_encrypted_and_opens_with_the_key_shown_once(client, scene, officer, tmp_path):
    case = scene.unsealed(S.REFERRED)
    client.force_login(officer)
    response = post_json(client, f"/cases/{case.pk}/evidence", {}, HTTP_ACCEPT="application/json")
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    assert body["includes_identity"] is True
    export = EvidenceExport.objects.get()
    assert key not in json.dumps(
        [export.storage_name, export.key_fingerprint, export.sha256, export.contents]
    )  # the key is not kept
    download = client.get(body["download"])
    assert download.status_code == 200 and download["Cache-Control"] == "no-store, private"
    assert "attachment" in download["Content-Disposition"]
    blob = download.content
    assert not CANARY.found_in(blob) and b"RIFF" not in blob  # nothing readable without the key

    with pytest.raises(evidence.EvidenceKeyError):
        evidence.open_package(blob, evidence.key_text(b"\0" * 32))
    archive = zipfile.ZipFile(io.BytesIO(evidence.open_package(blob, key)))
    assert sorted(archive.namelist()) == ["README.txt", "audio.wav", "case.json", "identity.json", "transcript.txt"]
    assert archive.read("audio.wav").startswith(b"RIFF")
    assert json.loads(archive.read("identity.json"))["first_name"] == CANARY.first_name
    document = json.loads(archive.read("case.json"))
    assert document["referral_reference"] == "POL-2026-0042"
    assert [t["kind"] for t in document["timeline"]][:2] == ["flagged", "transition"]
    assert document["flags"][0]["by"] == "reviewer A"  # reviewers are not named in the package
    assert scene.reviewer.username not in archive.read("case.json").decode()
    assert "help me please" in archive.read("transcript.txt").decode()

    assert AuditEvent.objects.filter(action="evidence.export", actor=officer).exists()
    assert AuditEvent.objects.filter(action="evidence.download", actor=officer).exists()
    assert AuditEvent.objects.filter(action="identity.view", details__purpose="evidence export").exists()
    assert set(case.events.values_list("kind", flat=True)) >= {"evidence_exported", "evidence_downloaded"}

    # the command line opens it too
    (tmp_path / "package.bin").write_bytes(blob)
    call_command("open_evidence", str(tmp_path / "package.bin"), key, str(tmp_path / "out.zip"), stdout=io.StringIO())
    assert zipfile.ZipFile(tmp_path / "out.zip").namelist()


def test_evidence_without_unsealing_carries_no_identity(client, scene, second_officer):
    case = scene.case(S.REFERRED)
    client.force_login(second_officer)
    response = client.post(f"/cases/{case.pk}/evidence")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store, private"
    export = EvidenceExport.objects.get()
    assert export.includes_identity is False and "identity.json" not in export.contents
    assert b'id="evidence-key"' in response.content


@pytest.mark.parametrize("state", [S.NEW, S.INVESTIGATING, S.WELFARE_CONTACT])
def test_evidence_only_for_a_referral(client, scene, officer, state):
    case = scene.case(state)
    client.force_login(officer)
    response = post_json(client, f"/cases/{case.pk}/evidence", {}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and "referr" in response.json()["error"]


# --- officers' audio -------------------------------------------------------------------------------------------


def test_officer_audio_is_audited_uncached_and_muffled_on_request(client, scene, officer):
    case = scene.case(S.ACKNOWLEDGED)
    client.force_login(officer)
    clear = client.get(f"/cases/{case.pk}/audio")
    muffled = client.get(f"/cases/{case.pk}/audio/muffled")
    for response in (clear, muffled):
        assert response.status_code == 200 and response["Content-Type"] == "audio/wav"
        assert response["Cache-Control"] == "no-store, private"
        assert response.content.startswith(b"RIFF")
    assert clear.content != muffled.content
    ranged = client.get(f"/cases/{case.pk}/audio", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and len(ranged.content) == 100
    plays = AuditEvent.objects.filter(action="case.audio.play", actor=officer, clip_public_id=case.clip.public_id)
    assert sorted(p.details["muffled"] for p in plays) == [False, False, True]
    transcript = client.get(f"/cases/{case.pk}/transcript", HTTP_ACCEPT="application/json").json()
    assert transcript["whisper_text"] == "help me please"
    assert AuditEvent.objects.filter(action="case.transcript.view", actor=officer).exists()


def test_case_page_hides_the_transcript_until_asked(client, scene, officer):
    case = scene.case(S.NEW)
    client.force_login(officer)
    page = client.get(f"/cases/{case.pk}/")
    assert page.status_code == 200
    assert b"help me please" not in page.content  # fetched only by "Show the transcript"
    assert b'id="show-transcript"' in page.content


# --- nothing identifying reaches reviewers, leads, or the logs ----------------------------------------------


def test_a_full_case_never_logs_an_identity(client, scene, officer, second_officer, caplog):
    for name in [None, *logging.root.manager.loggerDict]:
        caplog.set_level(logging.DEBUG, logger=name)
    case = scene.unsealed(S.REFERRED)
    client.force_login(officer)
    client.get(f"/cases/{case.pk}/identity", HTTP_ACCEPT="application/json")
    client.post(f"/cases/{case.pk}/evidence")
    move(Case.objects.get(pk=case.pk), S.CLOSED, officer)
    assert not CANARY.found_in(caplog.text)
    for event in CaseEvent.objects.all():
        assert not CANARY.found_in(event.note + json.dumps(event.details))
    for who in (scene.reviewer, scene.lead):
        client.force_login(who)
        for url in ("/", "/cases/care/", "/cases/api/receipts", "/cases/exposure/"):
            assert not CANARY.found_in(client.get(url).content)
