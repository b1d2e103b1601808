"""Sign-in protection: lockout per account and per address, idle timeout, sign-out everywhere, audit."""

from __future__ import annotations

import time

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from annotate.accounts import signin
from annotate.audit.models import AuditEvent
from tests.support import PASSWORD, as_user

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed sign-ins; try again in 15 minutes or ask an admin."


def sign_in(client: Client, username: str, password: str, *, ip: str = "10.0.0.1"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip)


def signed_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, reviewer):
    failures_until_locked = 0
    for n in range(1, 11):
        response = sign_in(client, "rita", "wrong", ip=f"10.0.0.{n}")  # a new address each time
        failures_until_locked += 1
        if response.status_code == 429:
            break
    assert failures_until_locked == 5  # the fifth wrong password is answered with the lockout
    assert LOCKED in response.content.decode()

    response = sign_in(client, "rita", PASSWORD, ip="10.9.9.9")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not signed_in(client)


def test_the_lock_lifts_after_the_cool_off(client, reviewer):
    for _ in range(5):
        sign_in(client, "rita", "wrong")
    assert sign_in(client, "rita", PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=AccessAttempt.objects.get().attempt_time.replace(year=2000))
    assert sign_in(client, "rita", PASSWORD).status_code == 302
    assert signed_in(client)


def test_one_address_is_locked_after_five_failures_over_several_accounts(client, reviewer, other_reviewer):
    for username in ("mallory1", "mallory2", "mallory3", "mallory4"):
        assert sign_in(client, username, "guess", ip="10.6.6.6").status_code == 200
    assert sign_in(client, "mallory5", "guess", ip="10.6.6.6").status_code == 429
    response = sign_in(client, "rita", PASSWORD, ip="10.6.6.6")
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    # the same person from another address is not locked
    assert sign_in(client, "rita", PASSWORD, ip="10.7.7.7").status_code == 302


def test_an_admin_unlocks_with_a_command(client, reviewer):
    for _ in range(5):
        sign_in(client, "rita", "wrong", ip="10.0.0.2")
    assert sign_in(client, "rita", PASSWORD, ip="10.0.0.3").status_code == 429
    call_command("axes_reset_username", "rita")
    call_command("axes_reset_ip", "10.0.0.2")
    assert sign_in(client, "rita", PASSWORD, ip="10.0.0.3").status_code == 302


def test_sign_ins_failures_and_the_lockout_are_audited_without_the_password(client, reviewer):
    sign_in(client, "rita", PASSWORD, ip="10.1.1.1")
    client.post(reverse("logout"))
    for _ in range(5):
        sign_in(client, "rita", "hunter2-wrong", ip="10.1.1.1")

    ok = AuditEvent.objects.get(action="sign_in")
    assert ok.actor == reviewer and ok.ip == "10.1.1.1"
    failed = AuditEvent.objects.filter(action="sign_in.failed")
    assert failed.count() == 5
    assert {(e.target, e.ip, e.actor_id) for e in failed} == {("rita", "10.1.1.1", None)}
    locked = AuditEvent.objects.get(action="sign_in.locked_out")
    assert locked.target == "rita" and locked.details["failures"] == 5
    for event in AuditEvent.objects.all():
        assert "hunter2" not in str(event.details) and "hunter2" not in event.target


def test_a_session_idle_too_long_is_signed_out(client, reviewer):
    as_user(client, reviewer)
    assert client.get(reverse("home")).status_code == 200
    session = client.session
    assert session[signin.IDLE_SECONDS] == 30 * 60
    session[signin.LAST_SEEN] = time.time() - 31 * 60
    session.save()

    response = client.get(reverse("home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not signed_in(client)
    event = AuditEvent.objects.get(action="sign_out.timeout")
    assert event.actor == reviewer and event.details == {"reason": "idle"}


def test_an_officer_is_signed_out_sooner(client, officer):
    as_user(client, officer)
    session = client.session
    assert session[signin.IDLE_SECONDS] == 15 * 60
    session[signin.LAST_SEEN] = time.time() - 16 * 60
    session.save()
    response = client.get(reverse("cases"))
    assert response.status_code == 302 and reverse("login") in response.url
    assert not signed_in(client)


def test_a_recently_active_session_stays_and_no_session_outlives_its_maximum_age(client, reviewer):
    as_user(client, reviewer)
    session = client.session
    session[signin.LAST_SEEN] = time.time() - 14 * 60
    session.save()
    assert client.get(reverse("home")).status_code == 200
    assert client.session[signin.LAST_SEEN] > time.time() - 5  # activity recorded

    session = client.session
    session[signin.SIGNED_IN_AT] = time.time() - 13 * 3600
    session.save()
    assert client.get(reverse("home")).status_code == 302
    assert AuditEvent.objects.get(action="sign_out.timeout").details == {"reason": "max_age"}


def test_sign_out_everywhere_ends_the_other_sessions_and_keeps_this_one(reviewer):
    here, elsewhere = Client(), Client()
    as_user(here, reviewer)
    as_user(elsewhere, reviewer)
    assert elsewhere.get(reverse("home")).status_code == 200

    page = here.get(reverse("sign-out-everywhere"))
    assert page.status_code == 200
    wrong = here.post(reverse("sign-out-everywhere"), {"password": "not it"})
    assert wrong.status_code == 200 and "not your password" in wrong.content.decode()
    assert elsewhere.get(reverse("home")).status_code == 200

    done = here.post(reverse("sign-out-everywhere"), {"password": PASSWORD})
    assert done.status_code == 302
    assert here.get(reverse("home")).status_code == 200
    assert elsewhere.get(reverse("home")).status_code == 302
    reviewer.refresh_from_db()
    assert reviewer.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="sign_out.everywhere", actor=reviewer).count() == 1
    assert AuditEvent.objects.filter(action="sign_in.failed", target="rita").count() == 1
