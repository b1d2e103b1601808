"""Several hosts (issue 17): two web servers and two Whisper workers (and a `default` worker), each
with an empty local folder of its own, sharing only PostgreSQL, Redis and an S3 bucket (moto's
standalone server, over HTTP). A clip ingested through web 1 is transcribed by either worker and
played, exported and erased through web 2; nothing is ever written to a host's own folder; the
bucket holds only ciphertext; /metrics on web 2 sums its two processes (PROMETHEUS_MULTIPROC_DIR).
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.topology.stack import demo_clips, upload, wait_for

pytestmark = [pytest.mark.topology, pytest.mark.s3]
METRICS_TOKEN = "operator-metrics-token"


def host(tmp: Path, name: str, s3_env: dict[str, str]) -> dict[str, str]:
    """One host's environment: its own (empty) private folder and metrics folder, the shared bucket."""
    private, metrics = tmp / name / "private", tmp / name / "metrics"
    private.mkdir(parents=True)
    metrics.mkdir(parents=True)
    return {
        **s3_env,
        "ANNOTATE_PRIVATE_ROOT": str(private),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
        "ANNOTATE_METRICS_TOKEN": METRICS_TOKEN,
    }


def samples(client) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_a_clip_crosses_hosts_that_share_only_postgres_redis_and_the_bucket(stack, s3_endpoint, tmp_path):
    bucket = s3_endpoint.new_bucket()
    s3_env = s3_endpoint.env(bucket)
    hosts = {name: host(tmp_path / "hosts", name, s3_env) for name in ("web1", "web2", "asr1", "asr2", "jobs")}
    users = stack.users({"pipe": ["ingest"], "rita": ["reviewer"], "lena": ["lead"]})
    queue = stack.django(
        "from annotate.queues.models import Queue\n"
        "q = Queue.objects.create(name='everyday')\nq.members.add(args['rita'])\nresult = q.pk",
        rita=users["rita"].id,
    )
    web1, web2 = stack.web(env=hosts["web1"]), stack.web(env=hosts["web2"])
    workers = [stack.worker("asr", env=hosts["asr1"]), stack.worker("asr", env=hosts["asr2"])]
    stack.worker("default", env=hosts["jobs"])  # exports and the quality outbox

    # Ingest through web 1.
    pipe = stack.client(server=web1)
    clips = demo_clips(4)
    public_ids = []
    for clip in clips:
        response = upload(pipe, users["pipe"].token, clip)
        assert response.status_code == 201, response.text
        public_ids.append(response.json()["clip"]["public_id"])

    # Transcribed by either worker, each loading the model once.
    wait_for(
        lambda: {s for _, s in stack.sql("SELECT public_id, state FROM clips_clip")} == {"ready"},
        timeout=240,
        message="not every clip was transcribed",
    )
    logs = [w.log_text() for w in workers]
    assert sum(log.count("loaded Whisper model") for log in logs) >= 1
    assert all(log.count("loaded Whisper model") <= 1 for log in logs)
    done_by = [public_id for public_id in public_ids if any(f"clip {public_id} transcribed" in log for log in logs)]
    assert sorted(done_by) == sorted(public_ids)

    # Played and reviewed through web 2.
    rita = stack.client(users["rita"], server=web2)
    claimed = rita.post("/review/api/claim", json={"queue_id": queue})
    assert claimed.status_code == 200, claimed.text
    task = claimed.json()["tasks"][0]
    audio = rita.get(task["audio_url"])
    assert audio.status_code == 200 and audio.content[:4] == b"RIFF"
    part = rita.get(task["audio_url"], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.content == audio.content[:100]
    submitted = rita.post(
        f"/review/api/tasks/{task['task_id']}/submit",
        json={"idempotency_key": "hosts-1", "corrected_text": "how tall is the eiffel tower", "answer_grade": "right"},
    )
    assert submitted.status_code == 201, submitted.text

    # Exported through web 2 (built by the `default` worker into the bucket), downloaded as a stream.
    wait_for(
        lambda: stack.sql("SELECT count(*) FROM leads_finaltranscript")[0][0] == 1,
        timeout=60,
        message="the submit was never derived into a final transcript",
    )
    lena = stack.login("lena", server=web2)
    made = lena.post("/lead/exports/", data={"format": "jsonl", "csrfmiddlewaretoken": lena.cookies["csrftoken"]})
    assert made.status_code == 200, made.text
    ((export_id,),) = stack.sql("SELECT id FROM leads_export")
    wait_for(
        lambda: stack.sql("SELECT state FROM leads_export WHERE id = %s", [export_id])[0][0] == "done",
        timeout=60,
        message="the export was never built",
    )
    download = lena.get(f"/lead/exports/{export_id}/download")
    assert download.status_code == 200, download.text
    record = json.loads(zipfile.ZipFile(io.BytesIO(download.content)).read("transcripts.jsonl"))
    assert record["text"] == "how tall is the eiffel tower"

    # The bucket has every file, sealed; no host wrote to its own folder.
    stored = s3_endpoint.objects(bucket)
    assert any(key.startswith("exports/") for key in stored)
    assert sum(key.startswith("audio/") for key in stored) >= 8  # each clip and its disguised version
    assert all(b"RIFF" not in body and not body.startswith(b"PK") for body in stored.values())
    for name, env in hosts.items():
        assert list(Path(env["ANNOTATE_PRIVATE_ROOT"]).rglob("*")) == [], f"{name} wrote to its own folder"

    # web 2's metrics: the database's numbers, and its own processes' (the claim and the submit).
    metrics = samples(rita)
    assert metrics[("annotate_clips_ingested_total", ())] == 4
    assert metrics[("annotate_claim_seconds_count", ())] >= 1
    assert metrics[("annotate_submit_seconds_count", ())] == 1

    # Erased through web 2: every object of the account's clips leaves the bucket.
    erased = stack.client(server=web2).post(
        "/api/v1/erasures",
        json={"account_id": clips[0][2]["account_id"]},
        headers={"Authorization": f"Bearer {users['pipe'].token}"},
    )
    assert erased.status_code == 201, erased.text
    first = stack.sql("SELECT count(*) FROM clips_clip WHERE public_id = %s", [public_ids[0]])[0][0]
    assert first == 0
    wait_for(
        lambda: not any(public_ids[0] in key for key in s3_endpoint.objects(bucket)),
        timeout=30,
        message="the erased clip's objects are still in the bucket",
    )
