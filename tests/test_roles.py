"""Roles are granted by two people and recorded (issue 11, item 3).

Officer and admin: one admin requests, a second admin confirms; every other role by
one admin; every change, however made, in the audit log; a privileged role given
outside the grant is refused; a freshly made officer cannot approve an unsealing.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from annotate.accounts import roles, services
from annotate.accounts.models import RoleGrant
from annotate.accounts.role_guard import PrivilegedRoleRefused
from annotate.audit.models import AuditEvent
from annotate.escalation import services as escalation
from tests.factories import S, case_in, make_queue
from tests.support import make_user

REASON = "The caller may be a child in danger; police need the account to find the address."


@pytest.fixture
def second_admin(db) -> User:
    return make_user("bea", roles.ADMIN, is_staff=True, is_superuser=True)


def actions(user) -> list[str]:
    return list(AuditEvent.objects.filter(target=f"user:{user.pk}").order_by("pk").values_list("action", flat=True))


def refused(fn) -> PrivilegedRoleRefused:
    """Run a change the net should refuse, in its own savepoint (the test's transaction lives on)."""
    with pytest.raises(PrivilegedRoleRefused) as caught, transaction.atomic():
        fn()
    return caught.value


# --- the four-eyes grant --------------------------------------------------------------


def test_one_admin_alone_cannot_make_an_officer(admin_user, second_admin, outsider):
    grant = services.request_grant(
        admin=admin_user, user=outsider, role=roles.OFFICER, reason="new officer", ip="10.0.0.1"
    )

    assert grant.state == RoleGrant.State.PENDING
    assert not outsider.groups.filter(name=roles.OFFICER).exists()
    with pytest.raises(services.RoleForbidden, match="second admin"):
        services.confirm_grant(admin=admin_user, grant_id=grant.pk)
    assert not outsider.groups.filter(name=roles.OFFICER).exists()
    assert actions(outsider) == ["role.grant_requested"]

    services.confirm_grant(admin=second_admin, grant_id=grant.pk, note="checked with HR", ip="10.0.0.2")

    grant.refresh_from_db()
    assert (grant.state, grant.requested_by, grant.confirmed_by) == ("confirmed", admin_user, second_admin)
    assert roles.has_role(User.objects.get(pk=outsider.pk), roles.OFFICER)
    assert actions(outsider) == ["role.grant_requested", "role.granted"]
    granted = AuditEvent.objects.get(action="role.granted")
    assert (granted.actor, granted.ip) == (second_admin, "10.0.0.2")
    assert granted.details | {} == {
        "grant": grant.pk,
        "role": "officer",
        "user": outsider.pk,
        "requested_by": admin_user.pk,
        "confirmed_by": second_admin.pk,
    }


def test_the_admin_role_needs_two_admins_and_brings_the_admin_flags(admin_user, second_admin, outsider):
    grant = services.request_grant(admin=admin_user, user=outsider, role=roles.ADMIN)
    outsider.refresh_from_db()
    assert not (outsider.is_staff or outsider.is_superuser)

    services.confirm_grant(admin=second_admin, grant_id=grant.pk)

    outsider.refresh_from_db()
    assert outsider.is_staff and outsider.is_superuser
    assert roles.has_role(outsider, roles.ADMIN)


def test_nobody_confirms_a_grant_to_themselves(admin_user, second_admin, officer):
    grant = services.request_grant(admin=admin_user, user=second_admin, role=roles.OFFICER)
    with pytest.raises(services.RoleForbidden, match="another admin"):
        services.confirm_grant(admin=second_admin, grant_id=grant.pk)
    with pytest.raises(services.RoleForbidden, match="only admins"):
        services.confirm_grant(admin=officer, grant_id=grant.pk)
    with pytest.raises(services.RoleForbidden, match="only admins"):
        services.request_grant(admin=officer, user=officer, role=roles.ADMIN)


def test_a_refused_grant_gives_nothing_and_is_recorded(admin_user, second_admin, outsider):
    grant = services.request_grant(admin=admin_user, user=outsider, role=roles.OFFICER)
    services.refuse_grant(admin=second_admin, grant_id=grant.pk, note="not on the officer rota")

    assert not outsider.groups.exists()
    assert actions(outsider) == ["role.grant_requested", "role.grant_refused"]
    with pytest.raises(services.RoleError, match="already refused"):
        services.confirm_grant(admin=second_admin, grant_id=grant.pk)


def test_other_roles_by_one_admin_and_revocation_audited(admin_user, outsider):
    services.request_grant(admin=admin_user, user=outsider, role=roles.LEAD)
    assert roles.has_role(User.objects.get(pk=outsider.pk), roles.LEAD)

    services.revoke_role(admin=admin_user, user=outsider, role=roles.LEAD, reason="moved team")

    assert not outsider.groups.exists()
    assert actions(outsider) == ["role.granted", "role.revoked"]


# --- the net: changes made any other way -----------------------------------------------


def test_a_privileged_group_added_directly_is_refused(admin_user, outsider):
    officers = Group.objects.get_or_create(name=roles.OFFICER)[0]

    error = refused(lambda: outsider.groups.add(officers))
    assert "second admin" in str(error)
    refused(lambda: officers.user_set.add(outsider))
    refused(lambda: outsider.groups.set([Group.objects.get_or_create(name=roles.ADMIN)[0]]))

    assert not outsider.groups.exists()


def test_admin_flags_set_directly_are_refused(admin_user, outsider):
    def make_superuser():
        outsider.is_superuser = True
        outsider.save()

    refused(make_superuser)
    refused(lambda: User.objects.create_user("mallory", is_staff=True))
    refused(lambda: call_command("createsuperuser", username="eve", email="", interactive=False, verbosity=0))

    assert not User.objects.filter(is_superuser=True).exclude(pk=admin_user.pk).exists()


def test_renaming_a_group_to_officer_is_refused(admin_user, lead):
    leads = Group.objects.get(name=roles.LEAD)
    Group.objects.filter(name=roles.OFFICER).delete()

    def rename():
        leads.name = roles.OFFICER
        leads.save()

    refused(rename)


def test_other_changes_made_directly_are_recorded(admin_user, officer, outsider):
    outsider.groups.add(Group.objects.get_or_create(name=roles.REVIEWER)[0])
    officer.groups.clear()

    assert actions(outsider) == ["role.changed_outside_services"]
    assert AuditEvent.objects.get(target=f"user:{outsider.pk}").details == {
        "user": outsider.pk,
        "role": "reviewer",
        "change": "added",
    }
    assert AuditEvent.objects.get(target=f"user:{officer.pk}").details == {
        "user": officer.pk,
        "role": "officer",
        "change": "removed",
    }


def test_the_first_admin_of_an_empty_installation_is_recorded(db):
    call_command("createsuperuser", username="root", email="", interactive=False, verbosity=0)

    root = User.objects.get(username="root")
    assert root.is_superuser
    assert AuditEvent.objects.get(target=f"user:{root.pk}").action == "role.bootstrap_admin"


# --- the Django admin ----------------------------------------------------------------


def test_the_user_form_cannot_change_roles(client, admin_user, outsider):
    client.force_login(admin_user)
    officers = Group.objects.get_or_create(name=roles.OFFICER)[0]

    page = client.get(f"/admin/auth/user/{outsider.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    assert not {"groups", "is_superuser", "is_staff"} & set(form.fields)
    client.post(
        f"/admin/auth/user/{outsider.pk}/change/",
        {"username": outsider.username, "groups": [officers.pk], "is_superuser": "on", "is_active": "on"},
    )

    outsider.refresh_from_db()
    assert not outsider.groups.exists() and not outsider.is_superuser


def test_role_grants_in_the_admin_need_a_second_admin(client, admin_user, second_admin, outsider):
    client.force_login(admin_user)
    response = client.post(
        "/admin/accounts/rolegrant/add/", {"user": outsider.pk, "role": roles.OFFICER, "reason": "rota"}
    )
    assert response.status_code == 302
    grant = RoleGrant.objects.get()
    assert grant.state == RoleGrant.State.PENDING

    confirm = {"action": "confirm_selected", "_selected_action": [grant.pk]}
    client.post("/admin/accounts/rolegrant/", confirm)
    assert RoleGrant.objects.get().state == RoleGrant.State.PENDING  # the same admin: refused

    client.force_login(second_admin)
    client.post("/admin/accounts/rolegrant/", confirm)
    assert RoleGrant.objects.get().state == RoleGrant.State.CONFIRMED
    assert outsider.groups.filter(name=roles.OFFICER).exists()


# --- a freshly made officer cannot approve an unsealing ------------------------------------


def test_a_fresh_officer_cannot_approve_an_unsealing(settings, reviewer, officer, admin_user, second_admin, outsider):
    settings.ANNOTATE_ROLE_COOLDOWN_HOURS = 24
    grant = services.request_grant(admin=admin_user, user=outsider, role=roles.OFFICER)
    services.confirm_grant(admin=second_admin, grant_id=grant.pk)
    fresh = User.objects.get(pk=outsider.pk)
    case = case_in(S.INVESTIGATING, reviewer=reviewer, officer=officer, queue=make_queue(reviewer), with_audio=True)
    unseal = escalation.request_unseal(case_id=case.pk, officer=officer, reason=REASON)

    with pytest.raises(escalation.CaseForbidden, match="officer role is new"):
        escalation.decide_unseal(case_id=case.pk, request_id=unseal.pk, officer=fresh, approve=True, note="agreed")

    RoleGrant.objects.filter(pk=grant.pk).update(confirmed_at=timezone.now() - timedelta(hours=25))
    decided = escalation.decide_unseal(
        case_id=case.pk, request_id=unseal.pk, officer=fresh, approve=True, note="agreed: risk to life"
    )
    assert decided.state == "approved"


def test_setup_role_on_the_server_is_recorded(admin_user, outsider):
    call_command("setup_role", outsider.username, roles.ADMIN, verbosity=0, stdout=None)

    outsider.refresh_from_db()
    assert roles.has_role(outsider, roles.ADMIN) and outsider.is_staff
    event = AuditEvent.objects.get(target=f"user:{outsider.pk}")
    assert (event.action, event.details["by"]) == ("role.setup_grant", "manage.py setup_role")


def test_an_admin_cannot_set_another_admins_or_an_officers_password(
    client, admin_user, second_admin, officer, outsider
):
    client.force_login(admin_user)

    assert client.get(f"/admin/auth/user/{second_admin.pk}/password/").status_code == 403
    assert client.get(f"/admin/auth/user/{officer.pk}/password/").status_code == 403
    assert client.get(f"/admin/auth/user/{outsider.pk}/password/").status_code == 200
    assert client.get(f"/admin/auth/user/{admin_user.pk}/password/").status_code == 200
