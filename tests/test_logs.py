"""JSON log lines (ANNOTATE_LOG_FORMAT=json, annotate/logs.py), as a log shipper reads them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

from django.conf import settings


def test_each_record_is_one_json_object_with_its_exception():
    from annotate.logs import JsonFormatter

    try:
        raise ValueError("bad clip")
    except ValueError:
        record = logging.getLogger("annotate.test").makeRecord(
            "annotate.test", logging.ERROR, __file__, 1, "clip %s failed", ("c_1",), sys.exc_info()
        )
    line = JsonFormatter().format(record)
    assert "\n" not in line.split('"exception"')[0]
    data = json.loads(line)
    assert data["level"] == "ERROR" and data["logger"] == "annotate.test" and data["message"] == "clip c_1 failed"
    assert data["time"].endswith("+00:00") and "ValueError: bad clip" in data["exception"]


def test_the_setting_switches_the_console_to_json():
    code = "import django, logging; django.setup(); logging.getLogger('annotate.x').warning('hello %s', 'there')"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "annotate.settings", "ANNOTATE_LOG_FORMAT": "json"}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    [line] = [x for x in out.stderr.splitlines() if x.startswith("{")]
    assert json.loads(line)["message"] == "hello there"
