"""The production web command behind the TLS proxy (README, Production step 3): uvicorn trusts the
X-Forwarded-For and X-Forwarded-Proto headers of the proxy's address (127.0.0.1) only, so the audit
log and the sign-in lockout see the person's address, not the proxy's, and a request the proxy
received over HTTPS is secure to Django.

The test client stands in for the proxy: it connects from 127.0.0.1 and sends the headers a proxy
adds (nginx: `proxy_add_x_forwarded_for` appends the address it was connected from to whatever
the client sent).
"""

from __future__ import annotations

import pytest

from tests.topology.stack import http_client

pytestmark = pytest.mark.topology

PERSON = "203.0.113.7"  # the address the proxy was connected from
FORGED = "198.51.100.9"  # what that client put in X-Forwarded-For itself


def test_behind_the_proxy_the_audit_log_and_the_lockout_see_the_persons_address_and_https(stack):
    stack.env.update(ANNOTATE_BEHIND_PROXY="1", ANNOTATE_HSTS_SECONDS="3600")
    stack.users({"rita": ["reviewer"]})
    web = stack.web()
    client = http_client(web.url(""))

    through_proxy = client.get("/login/", headers={"X-Forwarded-For": PERSON, "X-Forwarded-Proto": "https"})
    straight = client.get("/login/")  # plain HTTP from the loopback, no proxy headers
    failed = client.post(
        "/login/",
        data={"username": "rita", "password": "not her password", "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"X-Forwarded-For": f"{FORGED}, {PERSON}"},
    )

    assert through_proxy.status_code == straight.status_code == 200
    assert through_proxy.headers["Strict-Transport-Security"].startswith("max-age=3600")  # sent on HTTPS only
    assert "Strict-Transport-Security" not in straight.headers
    assert failed.status_code == 200  # the form again, with its error: no redirect
    # The nearest address the proxy did not add itself: never the proxy's, never the forged one.
    assert stack.sql("SELECT host(ip) FROM audit_auditevent WHERE action = 'sign_in.failed'") == [(PERSON,)]
    assert stack.sql("SELECT host(ip_address) FROM axes_accessattempt") == [(PERSON,)]
