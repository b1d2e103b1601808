"""The demo: its files agree with each other and with the README, and `load_demo` gives the queue gold.

The README's "What to try" is followed in a browser by tests/test_readme_walkthrough_browser.py
(PostgreSQL); these tests keep the demo honest on any database: what Whisper tiny.en hears in
the clips the README names, and where load_demo puts the gold.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError

from annotate.audit.models import AuditEvent
from annotate.catalog import index as catalog_index
from annotate.catalog.kinds import seed_kinds
from annotate.catalog.models import EntityKind
from annotate.clips import asr, audio
from annotate.clips.models import Clip
from annotate.queues.models import GoldClip, Queue, Task

DEMO = Path(django_settings.BASE_DIR) / "demo"


def manifest() -> list[dict]:
    return [json.loads(line) for line in (DEMO / "manifest.jsonl").read_text().splitlines() if line.strip()]


def gold() -> list[dict]:
    return [json.loads(line) for line in (DEMO / "gold.jsonl").read_text().splitlines() if line.strip()]


def words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def test_the_gold_clips_lead_the_manifest_and_opt_outs_take_no_other_clip():
    lines = manifest()
    assert [line["audio"] for line in lines[: len(gold())]] == [g["audio"] for g in gold()]
    assert all(g["reference_text"].strip() for g in gold())
    assert all((DEMO / line["audio"]).is_file() for line in lines)
    # An opt-out erases the account's earlier clips: the opted-out clips' accounts have no other clip.
    accounts = Counter(line["account_id"] for line in lines)
    assert all(accounts[line["account_id"]] == 1 for line in lines if line["opted_out"])
    assert sum(p.stat().st_size for p in (DEMO / "clips").glob("*.ogg")) < 400_000  # small, committed


@pytest.mark.parametrize(
    ("clip", "expected"),
    [
        ("clip-001-shake-it-off.ogg", ["taylor swift"]),  # README: tag "Taylor Swift" in the first clip
        ("clip-004-help-me.ogg", ["help me", "somebody help"]),  # README: the clip to flag
    ],
)
def test_whisper_hears_the_words_the_readme_names(clip, expected):
    decoded = audio.decode((DEMO / "clips" / clip).read_bytes())
    samples = np.frombuffer(decoded.segment.raw_data, dtype=np.int16).astype(np.float32) / 32768.0
    heard = words(asr.transcribe_samples(samples)["text"])
    assert all(phrase in heard for phrase in expected), heard


@pytest.fixture
def demo_settings(settings):
    settings.REDIS_URL = ""  # Whisper runs in process after each commit, as in `make demo`
    seed_kinds(EntityKind)  # a transactional test's flush removed what the migrations seeded
    catalog_index.forget()
    yield
    catalog_index.forget()


@pytest.mark.django_db(transaction=True)  # Whisper runs once each clip is committed
def test_load_demo_serves_gold_early_and_only_as_gold(demo_settings):
    out = StringIO()
    call_command("load_demo", clips=3, stdout=out)
    assert "demo clips: 6 imported" in out.getvalue()

    queue = Queue.objects.get(name="Music and everyday requests (en)")
    golds = GoldClip.objects.filter(queue=queue).select_related("clip", "created_by")
    assert sorted(g.reference_text for g in golds) == sorted(g["reference_text"] for g in gold())
    assert {g.created_by.username for g in golds} == {"lena"}
    assert AuditEvent.objects.filter(action="gold.add").count() == 3
    # In claim order: the first two clips, a gold task, the third; the gold clips have no task of their own.
    tasks = list(Task.objects.filter(queue=queue).order_by("created_at", "pk").select_related("clip"))
    assert [t.is_gold for t in tasks] == [False, False, True, False]
    gold_clips = {g.clip_id for g in golds}
    assert all(t.clip_id in gold_clips for t in tasks if t.is_gold)
    assert not any(t.clip_id in gold_clips for t in tasks if not t.is_gold)
    assert queue.gold_ratio == pytest.approx(0.15)
    assert Clip.objects.filter(state=Clip.State.READY).count() == 6

    # Again: nothing new, no more gold.
    out = StringIO()
    call_command("load_demo", clips=3, stdout=out)
    assert "0 imported, 6 duplicate" in out.getvalue()
    assert Task.objects.filter(queue=queue).count() == 4
    assert GoldClip.objects.filter(queue=queue).count() == 3


@pytest.mark.django_db
def test_load_demo_refuses_gold_that_does_not_lead_the_manifest(tmp_path, demo_settings):
    (tmp_path / "gold.jsonl").write_text(json.dumps({"audio": manifest()[5]["audio"], "reference_text": "x"}) + "\n")
    with pytest.raises(CommandError, match="must be the first lines"):
        call_command("load_demo", gold=str(tmp_path / "gold.jsonl"), stdout=StringIO())
