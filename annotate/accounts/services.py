"""Granting and taking away roles: the only sanctioned way a user's groups and admin flags change.

The officer and admin roles (and with admin, Django's is_staff and is_superuser) are
granted by two admins, the same four-eyes shape as unsealing an identity: one admin
requests, a different admin (never the user themselves) confirms. Other roles are
granted by one admin. Every grant, refusal and revocation is in the audit log.

Changes made any other way (the Django admin's user form, a shell, a command) meet
the net in annotate/accounts/role_guard.py: a privileged role or flag is refused,
anything else is recorded in the audit log.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from annotate.accounts import role_guard, roles
from annotate.accounts.models import RoleGrant
from annotate.audit import services as audit

# Roles whose grant needs a second admin: officers unseal identities, admins make officers.
PRIVILEGED = (roles.OFFICER, roles.ADMIN)
GRANTABLE = (*roles.ROLES, roles.INGEST)


class RoleError(Exception):
    """A grant that cannot be made (unknown role, already held, not pending)."""


class RoleForbidden(RoleError):
    """The actor may not do this (not an admin, or the same admin twice, or their own grant)."""


def _require_admin(user) -> None:
    if not roles.has_role(user, roles.ADMIN):
        raise RoleForbidden("only admins grant roles")


def _check_role(role: str) -> str:
    if role not in GRANTABLE:
        raise RoleError(f"unknown role {role!r}: one of {', '.join(GRANTABLE)}")
    return role


def holds(user, role: str) -> bool:
    """The user is in the role's group (for admin, also a superuser)."""
    in_group = user.groups.filter(name=role).exists()
    if role == roles.ADMIN:
        return in_group and user.is_superuser
    return in_group


def _apply(user, role: str, *, how: str) -> None:
    """Put the user in the role (admin: also is_staff and is_superuser), past the net."""
    with role_guard.sanctioned(how):
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        if role == roles.ADMIN and not (user.is_staff and user.is_superuser):
            user.is_staff = user.is_superuser = True
            user.save(update_fields=["is_staff", "is_superuser"])
    user.__dict__.pop("_annotate_roles", None)


def _take_away(user, role: str, *, how: str) -> None:
    with role_guard.sanctioned(how):
        user.groups.remove(*Group.objects.filter(name=role))
        if role == roles.ADMIN and (user.is_staff or user.is_superuser):
            user.is_staff = user.is_superuser = False
            user.save(update_fields=["is_staff", "is_superuser"])
    user.__dict__.pop("_annotate_roles", None)


def _grant_details(grant: RoleGrant) -> dict[str, Any]:
    return {
        "grant": grant.pk,
        "role": grant.role,
        "user": grant.user_id,
        "requested_by": grant.requested_by_id,
        "confirmed_by": grant.confirmed_by_id,
    }


@transaction.atomic
def request_grant(*, admin, user, role: str, reason: str = "", ip: str | None = None) -> RoleGrant:
    """An admin asks for `user` to get `role`.

    Officer and admin: the request waits for a second admin (confirm_grant); the
    user is not in the role until then. Other roles are granted at once.
    """
    _require_admin(admin)
    _check_role(role)
    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if holds(user, role):
        raise RoleError(f"{user} already holds the {role} role")
    if RoleGrant.objects.filter(user=user, role=role, state=RoleGrant.State.PENDING).exists():
        raise RoleError(f"a grant of the {role} role to {user} is already waiting for a second admin")
    if role not in PRIVILEGED:
        now = timezone.now()
        grant = RoleGrant.objects.create(
            user=user,
            role=role,
            reason=reason,
            requested_by=admin,
            state=RoleGrant.State.CONFIRMED,
            confirmed_by=admin,
            confirmed_at=now,
        )
        _apply(user, role, how="grant")
        audit.record(action="role.granted", actor=admin, target=f"user:{user.pk}", ip=ip, details=_grant_details(grant))
        return grant
    grant = RoleGrant.objects.create(user=user, role=role, reason=reason, requested_by=admin)
    audit.record(
        action="role.grant_requested", actor=admin, target=f"user:{user.pk}", ip=ip, details=_grant_details(grant)
    )
    return grant


def _pending(grant_id: int) -> RoleGrant:
    grant = RoleGrant.objects.select_for_update().select_related("user").filter(pk=grant_id).first()
    if grant is None:
        raise RoleError(f"no role grant {grant_id}")
    if grant.state != RoleGrant.State.PENDING:
        raise RoleError(f"that grant was already {grant.get_state_display()}")
    return grant


@transaction.atomic
def confirm_grant(*, admin, grant_id: int, note: str = "", ip: str | None = None) -> RoleGrant:
    """A second admin (not the one who asked, not the user) confirms: the user now holds the role."""
    _require_admin(admin)
    grant = _pending(grant_id)
    if grant.requested_by_id == admin.pk:
        raise RoleForbidden("a second admin must confirm: you cannot confirm your own request")
    if grant.user_id == admin.pk:
        raise RoleForbidden("another admin must confirm a role granted to you")
    grant.state, grant.confirmed_by, grant.confirmed_at = RoleGrant.State.CONFIRMED, admin, timezone.now()
    grant.decision_note = note
    grant.save(update_fields=["state", "confirmed_by", "confirmed_at", "decision_note"])
    _apply(grant.user, grant.role, how="grant")
    audit.record(
        action="role.granted", actor=admin, target=f"user:{grant.user_id}", ip=ip, details=_grant_details(grant)
    )
    return grant


@transaction.atomic
def refuse_grant(*, admin, grant_id: int, note: str = "", ip: str | None = None) -> RoleGrant:
    """Any admin refuses a waiting request (the one who asked withdraws it the same way)."""
    _require_admin(admin)
    grant = _pending(grant_id)
    grant.state, grant.refused_by, grant.refused_at = RoleGrant.State.REFUSED, admin, timezone.now()
    grant.decision_note = note
    grant.save(update_fields=["state", "refused_by", "refused_at", "decision_note"])
    audit.record(
        action="role.grant_refused",
        actor=admin,
        target=f"user:{grant.user_id}",
        ip=ip,
        details={**_grant_details(grant), "note": note},
    )
    return grant


@transaction.atomic
def revoke_role(*, admin, user, role: str, reason: str = "", ip: str | None = None) -> None:
    """One admin takes a role away (taking power away needs no second admin). Audited."""
    _require_admin(admin)
    _check_role(role)
    if not (user.groups.filter(name=role).exists() or (role == roles.ADMIN and user.is_superuser)):
        raise RoleError(f"{user} does not hold the {role} role")
    _take_away(user, role, how="revoke")
    audit.record(
        action="role.revoked",
        actor=admin,
        target=f"user:{user.pk}",
        ip=ip,
        details={"role": role, "user": user.pk, "reason": reason},
    )


@transaction.atomic
def assign_role_for_setup(*, user, role: str, by: str) -> None:
    """Give a role without a second admin: for the first admin, the demo, tests and commands.

    Only code run on the server (a management command, a shell) reaches this; `by`
    names what did it and goes to the audit log. It makes no RoleGrant, so the
    officer role's cool-down (ANNOTATE_ROLE_COOLDOWN_HOURS) does not apply.
    """
    _check_role(role)
    _apply(user, role, how=f"setup:{by}")
    audit.record(action="role.setup_grant", target=f"user:{user.pk}", details={"role": role, "user": user.pk, "by": by})
