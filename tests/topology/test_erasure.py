"""The erasure proof (issue 12), as deployed: an account's canary audio and text planted in every
place a clip leaves a trace, erased through the token API, then looked for in a full pg_dump,
the storage folder (decrypted) and every Redis key. Only the clip an escalation case holds may
remain, reported as deferred; once its case is closed the worker's sweeper erases it too.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests import erasure_canary as canary
from tests.topology.stack import wait_for

pytestmark = pytest.mark.topology

HASH_KEPT_IN = {"public.clips_optout", "public.privacy_privacyrequest"}


def upload(client, token: str, label: str, captured_at: str):
    fields = {k: str(v) for k, v in canary.manifest(label, captured_at=captured_at).items()}
    return client.post(
        "/api/v1/clips",
        files={"audio": (f"{label}.wav", canary.canary_wav(label))},
        data=fields,
        headers={"Authorization": f"Bearer {token}"},
    )


def scan(stack, needles: list[str], audio_sha256: dict[str, str], account_hash: str, allowed: set[str]) -> list[str]:
    found = stack.django(
        "from tests.erasure_canary import scan_storage\nresult = scan_storage(**args)",
        root=stack.env["ANNOTATE_PRIVATE_ROOT"],
        needles=needles,
        audio_sha256=audio_sha256,
    )
    found += canary.scan_dump(
        database_url=stack.database_url, needles=needles, account_hash=account_hash, hash_allowed=allowed
    )
    client = stack.redis.client()
    found += canary.scan_redis(client, needles)
    return found


def export_state(stack, export_id: int) -> tuple[str, int]:
    return tuple(stack.sql("SELECT state, clip_count FROM leads_export WHERE id = %s", [export_id])[0])


def test_an_erased_account_leaves_no_trace_but_its_held_clip_until_the_hold_ends(stack):
    users = stack.users(
        {"pipe": ["ingest"], "rita": ["reviewer"], "remy": ["reviewer"], "lena": ["lead"], "olga": ["officer"]}
    )
    queue = stack.django(
        "from annotate.queues.models import Queue\n"
        "q = Queue.objects.create(name='canary queue', overlap=2)\n"
        "q.members.add(*args['members'])\nresult = q.pk",
        members=[users["rita"].id, users["remy"].id],
    )
    stack.web()
    stack.worker("default")  # builds exports; its sweeper completes deferred erasures
    client = stack.client()
    pipe = {"Authorization": f"Bearer {users['pipe'].token}"}

    captured = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    public_ids = {}
    for label in canary.CLIPS:
        response = upload(client, users["pipe"].token, label, captured)
        assert response.status_code == 201, response.text
        public_ids[label] = response.json()["clip"]["public_id"]
    planted = stack.django(
        "from tests.erasure_canary import plant_work\nresult = plant_work(**args)",
        public_ids=public_ids,
        reviewers=[users["rita"].id, users["remy"].id],
        lead=users["lena"].id,
        queue=queue,
    )
    export_id = stack.django(
        "from django.contrib.auth.models import User\nfrom annotate.leads import services\n"
        "result = services.request_export(lead=User.objects.get(pk=args['lead']), fmt='jsonl').pk",
        lead=users["lena"].id,
    )
    wait_for(lambda: export_state(stack, export_id)[0] == "done", timeout=60, message="the export was never built")
    assert export_state(stack, export_id) == ("done", 3)  # overlap, single, other: never the flagged clip

    account_hash = stack.django(
        "from annotate.clips import crypto\nresult = crypto.lookup_hash(args['id'])", id=canary.ACCOUNT_ID
    )
    held, erased = canary.tokens("held"), canary.tokens("overlap") + canary.tokens("single")
    needles = held + erased + list(canary.IDENTITY)
    sha = planted["audio_sha256"]
    account_sha = {label: sha[label] for label in canary.ACCOUNT_CLIPS}
    with_identity = HASH_KEPT_IN | {"public.clips_sealedidentity"}

    # The scanners see what was planted (so that finding nothing later means something).
    before = scan(stack, needles, account_sha, account_hash, with_identity)
    planted_in = [
        "public.clips_clip: zqoverlapheardzq",
        "public.clips_machinetranscript: zqsinglewhisperzq",
        "public.review_annotation: zqoverlapreviewerzq",
        "public.catalog_entityspan: zqsinglespanzq",
        "public.leads_finaltranscript: zqoverlapgoldzq",  # a gold reference is final
        "public.leads_finaltranscript: zqsinglereviewerzq",
        "public.queues_goldclip: zqoverlapgoldzq",
        "public.leads_secondopinion: zqoverlapquestionzq",
        "public.escalation_flag: zqheldflagnotezq",
    ]
    for expected in planted_in:
        assert expected in before, f"{expected} not found by the scan: {before}"
    assert any(f.endswith("(decrypted): audio of overlap") for f in before), before
    assert any("transcripts.jsonl: zqsinglereviewerzq" in f for f in before), before
    assert any(f.endswith(": audio of single") and "!" in f for f in before), before  # inside the export

    response = client.post("/api/v1/erasures", json={"account_id": canary.ACCOUNT_ID}, headers=pipe)
    assert response.status_code == 201, response.text
    receipt = response.json()
    print("erasure receipt:", json.dumps(receipt, indent=2))
    assert receipt["kind"] == "erasure" and receipt["state"] == "deferred"
    erased_counts = receipt["erased"]
    assert erased_counts["clips"] == 2 and erased_counts["audio_files"] == 2 and erased_counts["waveform_peaks"] == 2
    assert erased_counts["machine_transcripts"] == 2 and erased_counts["sealed_identities"] == 2
    assert erased_counts["reviewer_transcripts"] == 4 and erased_counts["grades"] == 4
    assert erased_counts["entity_spans"] == 4 and erased_counts["final_transcripts"] == 2
    assert erased_counts["gold_uses"] == 1 and erased_counts["second_opinions"] == 1
    assert erased_counts["export_rows"] == 2 and erased_counts["exports_changed"] == 1
    assert [d["clip"] for d in receipt["deferred"]] == [public_ids["held"]]
    assert receipt["deferred"][0]["held_until"] is None
    assert receipt["deferred"][0]["completes"] == "when the escalation case is closed"

    again = client.post("/api/v1/erasures", json={"account_id": canary.ACCOUNT_ID}, headers=pipe)
    assert again.status_code == 200 and again.json()["id"] == receipt["id"]
    later = upload(client, users["pipe"].token, "single", captured)  # the account's next clip: dropped
    assert later.status_code == 200 and later.json()["outcome"] == "opted_out", later.text

    # The export is rebuilt without the erased clips, by the worker.
    wait_for(lambda: export_state(stack, export_id) == ("done", 1), timeout=60, message="export not rebuilt")

    after = scan(stack, needles, account_sha, account_hash, with_identity)
    strays = [f for f in after if not any(t in f for t in held) and not f.endswith("audio of held")]
    assert strays == [], f"traces of erased clips remain: {strays}"
    assert any("zqheldheardzq" in f for f in after), "the held clip is kept until its hold ends"
    other = stack.django(
        "from tests.erasure_canary import scan_storage\nresult = scan_storage(**args)",
        root=stack.env["ANNOTATE_PRIVATE_ROOT"],
        needles=canary.tokens("other"),
        audio_sha256={"other": sha["other"]},
    )
    assert any("transcripts.jsonl: zqotherreviewerzq" in f for f in other), other  # the rebuilt export

    # The officer closes the case: the hold ends, and the sweeper erases the held clip unasked.
    stack.django(
        "from django.contrib.auth.models import User\n"
        "from annotate.escalation import services\nfrom annotate.escalation.models import Case\n"
        "case = Case.objects.get(clip__public_id=args['clip'])\n"
        "officer = User.objects.get(pk=args['officer'])\n"
        "for to in ('acknowledged', 'investigating', 'no_action', 'closed'):\n"
        "    services.transition(case_id=case.pk, actor=officer, to_state=to, note='closing: ' + to)\n",
        clip=public_ids["held"],
        officer=users["olga"].id,
    )
    url = f"/api/v1/privacy-requests/{receipt['id']}"
    wait_for(
        lambda: client.get(url, headers=pipe).json()["state"] == "done",
        timeout=60,
        message="the deferred erasure did not complete after the hold ended",
        interval=0.5,
    )
    final = client.get(url, headers=pipe).json()
    print("receipt once the hold ended:", json.dumps(final, indent=2))
    assert final["deferred"] == [] and final["deferred_then_erased"][0]["clip"] == public_ids["held"]
    assert final["erased"]["clips"] == 3 and final["erased"]["closed_cases"] == 1

    assert scan(stack, needles, account_sha, account_hash, HASH_KEPT_IN) == []
    assert "audit log intact" in stack.manage("verify_audit").stdout  # erasure never touches the audit log
