"""The second factor: who must give one, enrolment, the code step, recovery codes, the admin site, the reset."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from annotate.accounts import mfa
from annotate.audit.models import AuditEvent
from tests.support import PASSWORD, authenticator, current_code, get_json, verify_otp

pytestmark = pytest.mark.django_db


def password_only(user) -> Client:
    """A client signed in with the password step alone."""
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def enrol(client: Client, user) -> list[str]:
    """Enrol through the page: read the key it shows, answer with the current code; the recovery codes."""
    page = client.get(reverse("mfa-enrol"))
    assert page.status_code == 200
    assert b"<svg" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert mfa.manual_key(device) in page.content.decode()
    done = client.post(reverse("mfa-enrol"), {"token": current_code(device), "next": "/cases/"})
    assert done.status_code == 200
    return re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())


@pytest.mark.parametrize("who", ["lead", "officer", "admin_user"])
def test_a_privileged_role_with_the_password_alone_reaches_nothing_but_enrolment(request, who):
    user = request.getfixturevalue(who)
    client = password_only(user)
    page = client.get("/cases/")
    assert page.status_code == 302
    assert page["Location"].startswith(reverse("mfa-enrol"))
    api = get_json(client, reverse("cases-api-open"))
    assert api.status_code == 401
    assert "second factor" in api.json()["error"]
    assert client.get("/admin/").status_code == 302


def test_reviewers_need_no_code_unless_the_setting_says_so(reviewer, settings):
    client = password_only(reviewer)
    assert client.get("/").status_code == 200
    settings.ANNOTATE_MFA_REVIEWERS = True
    client = password_only(reviewer)
    assert client.get("/")["Location"].startswith(reverse("mfa-enrol"))


def test_enrolment_confirms_with_a_code_shows_recovery_codes_once_and_is_audited(officer):
    client = password_only(officer)
    wrong = client.post(reverse("mfa-enrol"), {"token": "000000"})
    assert wrong.status_code == 400
    codes = enrol(client, officer)
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
    assert client.get("/cases/").status_code == 200
    assert AuditEvent.objects.filter(action="mfa.enrolled", actor=officer).count() == 1
    # Enrolled: the page does not show a key again, with or without the code given.
    assert client.get(reverse("mfa-enrol")).status_code == 302
    again = password_only(officer)
    assert again.get(reverse("mfa-enrol"))["Location"].startswith(reverse("mfa-verify"))
    assert not TOTPDevice.objects.filter(user=officer, confirmed=False).exists()


def test_the_code_step_takes_a_code_or_a_recovery_code_once(officer):
    codes = enrol(password_only(officer), officer)
    client = password_only(officer)
    assert client.get("/cases/")["Location"].startswith(reverse("mfa-verify"))
    # The code that confirmed enrolment is spent; the app's next one is taken.
    signed_in = client.post(
        reverse("mfa-verify"), {"token": current_code(authenticator(officer), 1), "next": "/cases/"}
    )
    assert signed_in["Location"] == "/cases/"
    assert client.get("/cases/").status_code == 200

    first = password_only(officer)
    assert first.post(reverse("mfa-verify"), {"token": codes[0], "next": "/cases/"}).status_code == 302
    assert first.get("/cases/").status_code == 200
    second = password_only(officer)
    assert second.post(reverse("mfa-verify"), {"token": codes[0]}).status_code == 400
    assert second.get("/cases/").status_code == 302
    assert StaticDevice.objects.get(user=officer).token_set.count() == mfa.RECOVERY_CODE_COUNT - 1


def test_a_wrong_code_is_refused_and_audited(officer):
    enrol(password_only(officer), officer)
    client = password_only(officer)
    refused = client.post(reverse("mfa-verify"), {"token": "123456", "next": "/cases/"})
    assert refused.status_code == 400
    assert AuditEvent.objects.filter(action="mfa.failed", actor=officer).exists()
    assert client.get("/cases/").status_code == 302


def test_the_code_step_sends_only_to_this_site(officer):
    enrol(password_only(officer), officer)
    client = password_only(officer)
    answer = client.post(
        reverse("mfa-verify"), {"token": current_code(authenticator(officer), 1), "next": "https://evil.example/"}
    )
    assert answer["Location"] == "/"


def test_the_admin_site_wants_the_second_factor(admin_user, client):
    assert password_only(admin_user).get("/admin/").status_code == 302
    client.force_login(admin_user)  # the toolbox's sign-in gives the code too
    assert client.get("/admin/").status_code == 200
    # The admin site signs in through the product's sign-in: password, then the code (or enrolment).
    sign_in = Client().get("/admin/login/?next=/admin/")
    assert sign_in["Location"] == "/login/?next=%2Fadmin%2F"


def test_another_admin_resets_a_second_factor_with_a_reason_audited(admin_user, officer, client):
    enrol(password_only(officer), officer)
    client.force_login(admin_user)
    people = client.get(reverse("mfa-people"))
    assert people.status_code == 200
    assert f'href="{reverse("mfa-people")}"' in people.content.decode()  # the admins' nav links to it
    refused = client.post(reverse("mfa-reset", args=[officer.pk]), {"reason": ""})
    assert refused.status_code == 400
    done = client.post(reverse("mfa-reset", args=[officer.pk]), {"reason": "lost phone, ticket 123"})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=officer).exists()
    assert not StaticDevice.objects.filter(user=officer).exists()
    event = AuditEvent.objects.get(action="mfa.reset")
    assert event.actor == admin_user
    assert event.details["reason"] == "lost phone, ticket 123"
    # The officer enrols again at the next sign-in.
    assert password_only(officer).get("/cases/")["Location"].startswith(reverse("mfa-enrol"))


def test_an_admin_cannot_reset_their_own_and_others_cannot_reset_at_all(admin_user, officer, lead, client):
    client.force_login(admin_user)
    own = client.post(reverse("mfa-reset", args=[admin_user.pk]), {"reason": "mine"})
    assert own.status_code == 403
    assert authenticator(admin_user).pk
    assert not AuditEvent.objects.filter(action="mfa.reset").exists()
    lead_client = Client()
    lead_client.force_login(lead)
    assert lead_client.post(reverse("mfa-reset", args=[officer.pk]), {"reason": "x"}).status_code == 403
    with pytest.raises(mfa.MfaForbidden):
        mfa.reset_mfa(actor=officer, user=lead, reason="x", ip=None)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("verified", "connects"), [(False, False), (True, True)])
def test_the_officers_websocket_wants_the_second_factor_too(officer, settings, verified, connects):
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from annotate.asgi import application

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    client = password_only(officer)
    if verified:
        verify_otp(client, officer)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    headers = [(b"origin", b"http://testserver"), (b"cookie", cookie)]
    comm = WebsocketCommunicator(application, "/ws/cases/", headers=headers)

    @async_to_sync
    async def run():
        try:
            connected, _ = await comm.connect()
            assert connected is connects
        finally:
            await comm.disconnect()

    run()
