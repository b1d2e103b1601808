"""The demo's zero-setup database (SQLite) under the demo server's threads.

Two audio plays audited at the same moment once answered 500 "database is locked":
a transaction that read the audit chain's head and then wrote could not wait for
the write lock. Run in a process of its own with the demo's settings (no
DATABASE_URL), as `make demo` runs.
"""

from __future__ import annotations

import subprocess
import sys

from tests.topology.stack import BASE_DIR, clean_env

SCRIPT = """
import threading
from django.core.management import call_command
from django.db import connection
call_command("migrate", verbosity=0)
from annotate.audit import services as audit
from annotate.audit.models import AuditEvent
errors = []
start = threading.Barrier(6)
def plays():
    try:
        start.wait()
        for _ in range(15):
            audit.record(action="audio.play", clip_public_id="c_0000000000000001", details={"range": ""})
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()
threads = [threading.Thread(target=plays) for _ in range(6)]
for t in threads: t.start()
for t in threads: t.join()
print("errors", errors)
print("events", AuditEvent.objects.filter(action="audio.play").count())
"""


def test_audited_plays_from_six_threads_at_once_all_succeed_on_the_demo_database(tmp_path):
    env = clean_env(ANNOTATE_VAR_DIR=str(tmp_path / "var"))
    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SCRIPT],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "errors []" in done.stdout, done.stdout[-3000:]
    assert "events 90" in done.stdout
