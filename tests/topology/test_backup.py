"""Backup and restore as the README documents them (scripts/backup.sh, scripts/restore.sh):
a restore into a fresh database and an empty folder, served with the same keys, plays a clip."""

from __future__ import annotations

import io
import json
import subprocess
import wave

import pytest

from tests.topology.stack import (
    BASE_DIR,
    WebServer,
    create_database,
    database_name,
    drop_database,
    free_port,
    web_command,
)

pytestmark = pytest.mark.topology


def run_script(name: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(
        ["bash", str(BASE_DIR / "scripts" / name), *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{name} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    return result


def test_a_restored_backup_plays_its_clips(stack, tmp_path):
    users = stack.users({"pipe": ["ingest"], "rita": ["reviewer"]})
    stack.django(
        "from django.contrib.auth.models import User\n"
        "from annotate.queues.models import Queue\n"
        "Queue.objects.create(name='everything', sample_rate=1.0).members.add(User.objects.get(username='rita'))\n"
    )
    stack.web()
    meta = json.loads((BASE_DIR / "demo" / "manifest.jsonl").read_text().splitlines()[0])
    audio = (BASE_DIR / "demo" / meta.pop("audio")).read_bytes()
    meta.pop("opted_out")
    response = stack.client().post(
        "/api/v1/clips",
        files={"audio": ("clip.ogg", audio)},
        data={k: str(v) for k, v in meta.items()},
        headers={"Authorization": f"Bearer {users['pipe'].token}"},
    )
    assert response.status_code == 201, response.text
    # Whisper is not under test: the clip is made reviewable by hand, as a worker would.
    stack.sql("UPDATE clips_clip SET state = 'ready'")
    stack.sql("UPDATE jobs_job SET state = 'done'")

    backup = tmp_path / "backup"
    run_script("backup.sh", str(backup), env=stack.env)
    assert {p.name for p in backup.iterdir()} == {"annotate.dump", "private.tar"}

    restored_db = database_name("restore")
    create_database(restored_db)
    try:
        restored_private = tmp_path / "restored-private"
        env = {
            **stack.env,  # the same keys: they live in the secret store, not in the backup
            "DATABASE_URL": stack.database_url.rsplit("/", 1)[0] + "/" + restored_db,
            "ANNOTATE_PRIVATE_ROOT": str(restored_private),
        }
        run_script("restore.sh", str(backup), env=env)
        assert list(restored_private.rglob("*.bin"))  # the encrypted audio came back

        port = free_port()  # the README's production web command, on the restored deployment
        web = WebServer(stack.start("web-restored", web_command(port), env=env), port)
        web.wait_ready()
        rita = stack.client(users["rita"], server=web)  # her session was restored with the database

        claimed = rita.post("/review/api/claim", json={})
        assert claimed.status_code == 200, claimed.text
        task = claimed.json()["tasks"][0]
        played = rita.get(task["audio_url"])

        assert played.status_code == 200
        assert played.headers["Content-Type"] == "audio/wav"
        with wave.open(io.BytesIO(played.content)) as wav:
            assert wav.getframerate() == 16000 and wav.getnframes() > 16000  # over a second of speech
        again = subprocess.run(
            ["bash", str(BASE_DIR / "scripts" / "restore.sh"), str(backup)], env=env, capture_output=True, text=True
        )
        assert again.returncode == 1 and "is not empty" in again.stderr  # never over a deployment's files
    finally:
        drop_database(restored_db)
