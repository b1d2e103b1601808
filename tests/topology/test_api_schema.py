"""Schemathesis against the live OpenAPI schema, on the production web server (issue 18): every
operation of /api/v1/openapi.json fuzzed (coverage, fuzzing and stateful phases) with a token of
every scope, and not one answer may be a server error or break the schema (status codes, content
types, bodies, headers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.topology

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def test_schemathesis_finds_no_server_error_and_no_response_that_breaks_the_schema(stack, tmp_path):
    assert SCHEMATHESIS.exists(), "schemathesis is in requirements-dev.txt"
    service = stack.users({"pipeline": ["ingest"]})["pipeline"]  # the ingest role: the pipeline's account
    made = stack.django(
        "from django.contrib.auth.models import User\n"
        "from annotate.accounts.models import ApiToken\n"
        "from annotate.queues.models import Queue\n"
        "Queue.objects.create(name='fuzzed')\n"
        "scopes = ['ingest', 'requests', 'results', 'exports']\n"
        "user = User.objects.get(pk=args['user'])\n"
        "result = ApiToken.issue(user=user, name='schemathesis', scopes=scopes)[1]",
        user=service.id,
    )
    web = stack.web(workers=1)
    run = subprocess.run(
        [
            str(SCHEMATHESIS), "run", web.url("/api/v1/openapi.json"),
            "--header", f"Authorization: Bearer {made}",
            "--checks", CHECKS,
            "--max-examples", "30", "--seed", "18", "--workers", "1",
            "--request-timeout", "30",
            "--report", "junit", "--report-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,  # its cache folder goes there
        env={**stack.env, "SCHEMATHESIS_HOOKS": ""},
    )  # fmt: skip
    print(run.stdout[-4000:])
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert " passed" in run.stdout  # "N generated, N passed"
