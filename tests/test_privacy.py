"""Opt-out and erasure requests (annotate.privacy): the token API, the command, holds, retention.

The full proof (every place, a database dump, storage and Redis scanned) is
tests/topology/test_erasure.py; these check each rule on its own.
"""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from annotate.accounts.models import ApiToken
from annotate.audit.models import AuditEvent
from annotate.catalog.models import EntityKind, EntitySpan
from annotate.clips import crypto, ingest, vault
from annotate.clips.models import Clip, MachineTranscript, OptOut, SealedIdentity
from annotate.leads import services as leads
from annotate.leads.models import SecondOpinion
from annotate.privacy import services
from annotate.privacy.models import DeferredClip, PrivacyRequest
from annotate.quality.models import FinalTranscript
from annotate.queues import claims
from annotate.queues.models import GoldClip, Task
from annotate.review import services as review
from annotate.review.models import Annotation
from tests.factories import CASE_PATH, flag_task, make_clip, make_queue, move, tone_wav
from tests.support import clip_meta, stored_clip_ids

pytestmark = pytest.mark.django_db

ACCOUNT = "ACCT-PRIVACY-0042"


def of_account(clip: Clip, account_id: str = ACCOUNT) -> Clip:
    """Give the clip a real sealed identity of `account_id`."""
    SealedIdentity.objects.filter(clip=clip).delete()
    vault.seal_identity(
        clip=clip,
        identity=vault.Identity(account_id, "Pat", "SERIAL-1"),
        account_hash=crypto.lookup_hash(account_id),
    )
    return clip


def api(client, url: str, token: str | None, body=None, *, method: str = "post"):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    if method == "get":
        return client.get(url, **headers)
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **headers)


def reviewed(user, queue, text: str, *, key: str) -> Annotation:
    task = claims.claim_next(user=user, queue=queue)
    annotation, _ = review.submit(
        user=user,
        task_id=task.pk,
        submission=review.Submission(idempotency_key=key, corrected_text=text, answer_grade="right", seconds_spent=3),
    )
    return annotation


# --- the API: who may, and bad input ----------------------------------------------------------


@pytest.mark.parametrize("who", ["anonymous", "reviewer", "other_reviewer", "lead", "officer"])
def test_only_the_pipeline_may_send_or_read_requests(client, who, request):
    token = None
    if who != "anonymous":
        _, token = ApiToken.issue(user=request.getfixturevalue(who), name="not a pipeline")
    expected = 401 if token is None else 403
    for url in ("/api/v1/opt-outs", "/api/v1/erasures"):
        response = api(client, url, token, {"account_id": ACCOUNT})
        assert response.status_code == expected, response.content
        assert "error" in response.json()
    made, _ = services.submit(kind="erasure", account_id=ACCOUNT, source="command")
    assert api(client, f"/api/v1/privacy-requests/{made.public_id}", token, method="get").status_code == expected
    assert not OptOut.objects.exclude(account_hash=made.account_hash).exists()
    assert PrivacyRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "must be JSON"),
        ([ACCOUNT], "JSON object"),
        ({}, "account_id is required"),
        ({"account_id": ""}, "account_id is required"),
        ({"account_id": "   "}, "account_id is required"),
        ({"account_id": 42}, "account_id is required"),
        ({"account_id": ACCOUNT, "first_name": "Pat"}, "one field"),
        ({"account_id": "A" * 201}, "longer than 200"),
    ],
)
def test_a_bad_request_is_refused_with_a_message_and_records_nothing(client, ingest_client, body, message):
    _, token = ingest_client
    response = api(client, "/api/v1/erasures", token, body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not PrivacyRequest.objects.exists() and not OptOut.objects.exists()


def test_wrong_methods_and_unknown_receipts(client, ingest_client):
    _, token = ingest_client
    wrong = api(client, "/api/v1/erasures", token, method="get")
    assert wrong.status_code == 405 and wrong["Allow"] == "POST" and "use POST" in wrong.json()["error"]
    assert client.post("/api/v1/privacy-requests/pr_x", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 405
    response = api(client, "/api/v1/privacy-requests/pr_0000000000000000", token, method="get")
    assert response.status_code == 404 and "no privacy request" in response.json()["error"]


# --- opt-out and erasure ----------------------------------------------------------------------


def test_an_opt_out_by_account_id_erases_earlier_clips_and_drops_later_ones(
    client, ingest_client, private_storage, django_capture_on_commit_callbacks
):
    _, token = ingest_client
    mine, theirs = of_account(make_clip("set a timer")), of_account(make_clip("call mum"), "ACCT-SOMEONE-ELSE")
    assert stored_clip_ids(private_storage) == {mine.public_id, theirs.public_id}

    with django_capture_on_commit_callbacks(execute=True):
        response = api(client, "/api/v1/opt-outs", token, {"account_id": ACCOUNT})
    assert response.status_code == 201, response.content
    receipt = response.json()
    assert receipt["kind"] == "opt_out" and receipt["state"] == "done" and receipt["completed_at"]
    assert receipt["erased"]["clips"] == 1 and receipt["erased"]["audio_files"] == 1
    assert receipt["erased"]["sealed_identities"] == 1 and receipt["deferred"] == []
    assert ACCOUNT not in response.content.decode()
    assert not Clip.objects.filter(pk=mine.pk).exists()
    assert Clip.objects.filter(pk=theirs.pk).exists()
    assert stored_clip_ids(private_storage) == {theirs.public_id}  # mine's audio and its versions are gone

    later = ingest.ingest_clip(data=tone_wav(1.5), meta=ingest.parse_meta(clip_meta(account_id=ACCOUNT)))
    assert later.outcome == ingest.OPTED_OUT and later.clip is None

    again = api(client, "/api/v1/opt-outs", token, {"account_id": f"  {ACCOUNT} "})
    assert again.status_code == 200 and again.json()["id"] == receipt["id"]
    shown = api(client, f"/api/v1/privacy-requests/{receipt['id']}", token, method="get")
    assert shown.status_code == 200 and shown.json() == again.json()
    erasure = api(client, "/api/v1/erasures", token, {"account_id": ACCOUNT})  # after the opt-out: nothing left
    assert erasure.status_code == 201 and erasure.json()["erased"]["clips"] == 0
    assert erasure.json()["other_requests"] == [{"id": receipt["id"], "kind": "opt_out", "state": "done"}]
    events = AuditEvent.objects.filter(target=f"privacy:{receipt['id']}").order_by("pk")
    actions = list(events.values_list("action", flat=True))
    assert actions == ["privacy.opt_out", "privacy.opt_out.repeated"]
    assert not AuditEvent.objects.filter(details__icontains=ACCOUNT).exists()


def test_an_upload_marked_opted_out_erases_the_accounts_earlier_clips(private_storage):
    earlier = of_account(make_clip("turn off the lights"))
    outcome = ingest.ingest_clip(
        data=tone_wav(1.5), meta=ingest.parse_meta(clip_meta(account_id=ACCOUNT, opted_out=True))
    )
    assert outcome.outcome == ingest.OPTED_OUT
    assert not Clip.objects.filter(pk=earlier.pk).exists()
    request = PrivacyRequest.objects.get()
    assert (request.kind, request.source, request.erased["clips"]) == ("opt_out", "ingest", 1)


def test_an_opt_out_arriving_while_a_clip_is_decoded_drops_that_clip(private_storage, monkeypatch):
    """The opt-out is checked again inside the ingest transaction, under the account's lock."""
    real_decode = ingest.audio.decode

    def decode_while_the_account_opts_out(data):
        services.submit(kind="opt_out", account_id=ACCOUNT, source="api")
        return real_decode(data)

    monkeypatch.setattr(ingest.audio, "decode", decode_while_the_account_opts_out)
    outcome = ingest.ingest_clip(data=tone_wav(1.5), meta=ingest.parse_meta(clip_meta(account_id=ACCOUNT)))
    assert outcome.outcome == ingest.OPTED_OUT
    assert not Clip.objects.exists() and list(private_storage.rglob("*.bin")) == []


def test_erasure_takes_everything_derived_from_the_clips(
    reviewer, other_reviewer, lead, private_storage, django_capture_on_commit_callbacks
):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    clip = of_account(make_clip("play blue monday"))
    kind = EntityKind.objects.order_by("position").first()
    for n, user in enumerate((reviewer, other_reviewer)):
        task = claims.claim_next(user=user, queue=queue)
        spans = review.wiring.call(
            "parse_submitted_spans",
            raw=[{"start": 5, "end": 16, "text": "blue monday", "kind": kind.slug, "not_in_catalog_name": "x"}],
        )
        review.submit(
            user=user,
            task_id=task.pk,
            submission=review.Submission(
                idempotency_key=f"k{n}", corrected_text="play blue monday", answer_grade="right", spans=tuple(spans)
            ),
        )
    leads.add_gold(queue=queue, clip=clip, reference_text="play blue monday", lead=lead)
    opinion = leads.ask(user=reviewer, task_id=Task.objects.filter(clip=clip).first().pk, question="which band?")
    leads.answer(opinion=opinion, lead=lead, text="New Order")
    assert FinalTranscript.objects.filter(clip=clip).exists()

    with django_capture_on_commit_callbacks(execute=True):
        request, created = services.submit(kind="erasure", account_id=ACCOUNT, source="command")
    assert created and request.state == "done"
    erased = request.erased
    assert erased["clips"] == 1 and erased["reviewer_transcripts"] == 2 and erased["grades"] == 2
    assert erased["entity_spans"] == 2 and erased["final_transcripts"] == 1 and erased["gold_uses"] == 1
    assert erased["second_opinions"] == 1 and erased["machine_transcripts"] == 1 and erased["tasks"] == 2
    for model in (Clip, MachineTranscript, SealedIdentity, Annotation, EntitySpan, FinalTranscript, GoldClip,
                  SecondOpinion, Task):  # fmt: skip
        assert not model.objects.exists(), model
    assert list(private_storage.rglob("*.bin")) == []
    assert OptOut.objects.filter(account_hash=crypto.lookup_hash(ACCOUNT)).exists()


def test_a_reviewer_holding_an_erased_clip_is_told_it_went(reviewer):
    queue = make_queue(reviewer)
    of_account(make_clip("what time is it"))
    task = claims.claim_next(user=reviewer, queue=queue)
    services.submit(kind="erasure", account_id=ACCOUNT, source="command")
    with pytest.raises(claims.ClaimError) as caught:
        claims.get_held_task(user=reviewer, task_id=task.pk)
    assert caught.value.reason == claims.ClaimError.WITHDRAWN
    assert "asked for it to be erased" in str(caught.value)


# --- holds ------------------------------------------------------------------------------------


def test_a_held_clip_is_deferred_then_erased_by_itself_when_its_case_closes(
    reviewer, officer, private_storage, django_capture_on_commit_callbacks
):
    queue = make_queue(reviewer)
    of_account(make_clip("set an alarm"))
    held = of_account(make_clip("help me please"))
    claims.claim_next(user=reviewer, queue=queue)  # the first clip: not flagged
    case = flag_task(reviewer, claims.claim_next(user=reviewer, queue=queue)).case

    with django_capture_on_commit_callbacks(execute=True):
        request, _ = services.submit(kind="erasure", account_id=ACCOUNT, source="command")
    from annotate.privacy.selectors import receipt

    shown = receipt(request)
    assert shown["state"] == "deferred" and shown["completed_at"] is None and shown["erased"]["clips"] == 1
    assert shown["deferred"] == [
        {
            "clip": held.public_id,
            "reason": "held for an escalation case (a legal hold): kept until the hold ends, then erased",
            "held_until": None,
            "completes": "when the escalation case is closed",
        }
    ]
    assert Clip.objects.filter(pk=held.pk).exists()
    assert services.complete_deferred() == 0  # still open

    for step in CASE_PATH["closed"]:
        move(case, step, officer)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.complete_deferred() == 1
    request.refresh_from_db()
    assert request.state == "done" and request.completed_at and request.erased["clips"] == 2
    assert request.erased["closed_cases"] == 1
    assert not Clip.objects.exists() and list(private_storage.rglob("*.bin")) == []
    assert receipt(request)["deferred_then_erased"][0]["clip"] == held.public_id
    assert AuditEvent.objects.filter(action="case.erased").count() == 1


def test_a_referred_case_holds_its_clip_until_the_preservation_period_ends(settings, reviewer, officer):
    settings.ANNOTATE_PRESERVATION_DAYS = 30
    queue = make_queue(reviewer)
    of_account(make_clip("help"))
    case = flag_task(reviewer, claims.claim_next(user=reviewer, queue=queue)).case
    for step in [*CASE_PATH["referred"], "closed"]:
        case = move(case, step, officer)

    request, _ = services.submit(kind="erasure", account_id=ACCOUNT, source="command")
    deferral = DeferredClip.objects.get(request=request)
    assert deferral.held_until == case.referred_at + timedelta(days=30)
    assert services.complete_deferred(now=timezone.now() + timedelta(days=29)) == 0
    assert services.complete_deferred(now=timezone.now() + timedelta(days=31)) == 1
    request.refresh_from_db()
    assert request.state == "done" and not Clip.objects.exists()


# --- the command ------------------------------------------------------------------------------


def test_the_command_reads_the_account_id_from_stdin_and_prints_the_receipt(monkeypatch):
    of_account(make_clip("hello"))
    monkeypatch.setattr("sys.stdin", io.StringIO(ACCOUNT + "\n"))
    out = io.StringIO()
    call_command("privacy_request", "erase", "--account-id", "-", stdout=out)
    receipt = json.loads(out.getvalue())
    assert receipt["kind"] == "erasure" and receipt["erased"]["clips"] == 1

    shown = io.StringIO()
    call_command("privacy_request", "show", receipt["id"], stdout=shown)
    assert json.loads(shown.getvalue())["id"] == receipt["id"]
    listed = io.StringIO()
    call_command("privacy_request", "list", stdout=listed)
    assert receipt["id"] in listed.getvalue() and ACCOUNT not in listed.getvalue()
    with pytest.raises(CommandError, match="no privacy request"):
        call_command("privacy_request", "show", "pr_nope")
    with pytest.raises(CommandError, match="account_id is required"):
        call_command("privacy_request", "opt-out", "--account-id", " ")


# --- retention and accidental recordings -----------------------------------------------------------


def test_retention_purges_texts_spans_finals_gold_and_questions_but_keeps_the_numbers(
    settings, reviewer, other_reviewer, lead, private_storage, django_capture_on_commit_callbacks
):
    settings.ANNOTATE_RETENTION_DAYS = 30
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    old = make_clip("play blue monday", captured_at=timezone.now() - timedelta(days=40))
    first = reviewed(reviewer, queue, "play blue monday", key="a")
    reviewed(other_reviewer, queue, "play blue monday", key="b")
    leads.add_gold(queue=queue, clip=old, reference_text="play blue monday", lead=lead)
    leads.ask(user=reviewer, task_id=first.task_id, question="which band is it?")
    EntitySpan.objects.create(
        annotation=first, start=5, end=16, text="blue monday", kind=EntityKind.objects.first(), created_by=reviewer
    )
    assert FinalTranscript.objects.filter(clip=old).exists()

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=out)
    assert "purged 1 clip(s)" in out.getvalue()
    assert not FinalTranscript.objects.exists() and not EntitySpan.objects.exists()
    assert not GoldClip.objects.exists() and not SecondOpinion.objects.exists()
    texts = set(Annotation.objects.values_list("corrected_text", "whisper_text"))
    assert texts == {("", "")}
    assert set(Annotation.objects.values_list("seconds_spent", "answer_grade")) == {(3.0, "right")}
    old.refresh_from_db()
    assert old.state == Clip.State.PURGED and old.heard == "" and old.peaks == []


def test_retention_deletes_released_cases_and_keeps_only_the_identitys_keyed_hash(
    settings, reviewer, officer, private_storage, django_capture_on_commit_callbacks
):
    settings.ANNOTATE_RETENTION_DAYS = 30
    queue = make_queue(reviewer)
    old = of_account(make_clip("help me", captured_at=timezone.now() - timedelta(days=40)))
    task = claims.claim_next(user=reviewer, queue=queue)
    case = flag_task(reviewer, task, note="I heard a scream", draft={"corrected_text": "help me"}).case
    for step in CASE_PATH["closed"]:  # closed without a referral: it no longer holds the clip
        move(case, step, officer)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_expired", stdout=io.StringIO())
    from annotate.escalation.models import Case, CaseEvent, Flag

    assert not Case.objects.exists() and not Flag.objects.exists() and not CaseEvent.objects.exists()
    sealed = SealedIdentity.objects.get(clip=old)
    assert bytes(sealed.ciphertext) == b"" and sealed.key_id == ""
    assert sealed.account_hash == crypto.lookup_hash(ACCOUNT)
    request, _ = services.submit(kind="erasure", account_id=ACCOUNT, source="command")  # still found
    assert request.erased["clips"] == 1 and not Clip.objects.exists()


def test_an_accidental_recording_takes_the_other_reviewers_text_with_it(reviewer, other_reviewer, private_storage):
    queue = make_queue(reviewer, other_reviewer, overlap=2)
    make_clip("uh what was that")
    reviewed(reviewer, queue, "what was that", key="a")
    task = claims.claim_next(user=other_reviewer, queue=queue)
    review.submit(
        user=other_reviewer, task_id=task.pk, submission=review.Submission(idempotency_key="b", accidental=True)
    )
    assert set(Annotation.objects.values_list("corrected_text", flat=True)) == {""}
    assert not FinalTranscript.objects.exists()


def test_whisper_for_an_erased_clip_does_nothing(private_storage):
    from annotate.clips import asr

    clip = of_account(make_clip("good night"))
    services.submit(kind="erasure", account_id=ACCOUNT, source="command")
    assert asr.transcribe_clip(clip_id=clip.pk) is None  # no model loaded, no error, no retry
