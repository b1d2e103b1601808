"""The second factor: who must have one, enrolment, recovery codes, reset by another admin.

Leads, officers and admins (and staff) must sign in with a TOTP code (django-otp);
reviewers too when ANNOTATE_MFA_REVIEWERS is on. A confirmed authenticator comes
with single-use recovery codes (django-otp's static tokens). MfaRequiredMiddleware
(annotate/accounts/mfa_middleware.py) sends a signed-in user who needs a second
factor and has not given it to enrolment or to the code step.
"""

from __future__ import annotations

from base64 import b32encode

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext
from django_otp import devices_for_user, match_token
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from annotate.accounts import roles
from annotate.audit import services as audit

RECOVERY_CODE_COUNT = 10
AUTHENTICATOR_NAME = "authenticator"
RECOVERY_NAME = "recovery codes"


class MfaError(ValueError):
    """A request about a second factor that is refused; the message is for the person."""


class MfaForbidden(MfaError):
    """The actor may not do this (not an admin, or resetting their own second factor)."""


def mfa_required(user) -> bool:
    """Must this signed-in user give a second factor before reaching anything?"""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff or user.is_superuser:
        return True
    if any(roles.has_role(user, role) for role in (roles.LEAD, roles.OFFICER, roles.ADMIN)):
        return True
    return bool(settings.ANNOTATE_MFA_REVIEWERS) and roles.has_role(user, roles.REVIEWER)


def has_authenticator(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def manual_key(device: TOTPDevice) -> str:
    """The secret as an authenticator app asks for it when typed in (base32, in groups of four)."""
    key = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


def pending_authenticator(*, user) -> TOTPDevice:
    """The unconfirmed authenticator being enrolled (made on first call). Refused once one is confirmed."""
    if has_authenticator(user):
        raise MfaError(gettext("you already have an authenticator; an admin can reset it if it is lost"))
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=AUTHENTICATOR_NAME, confirmed=False)
    return device


@transaction.atomic
def confirm_authenticator(*, user, device_id: int, token: str, ip: str | None) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a code from it; return it and fresh recovery codes (shown once)."""
    device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user, confirmed=False).first()
    if device is None or has_authenticator(user):
        raise MfaError(gettext("this enrolment is no longer open; start again"))
    if not device.verify_token(token.strip().replace(" ", "")):
        raise MfaError(gettext("that code did not match; check the clock of your phone and type the current code"))
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    TOTPDevice.objects.filter(user=user, confirmed=False).delete()
    codes = _new_recovery_codes(user)
    audit.record(action="mfa.enrolled", actor=user, target=f"user:{user.pk}", ip=ip, details={"device": "totp"})
    return device, codes


def _new_recovery_codes(user) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    static = StaticDevice.objects.create(user=user, name=RECOVERY_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return codes


def check_code(*, user, token: str, ip: str | None) -> Device | None:
    """The confirmed device that accepts `token` (an authenticator code, or a recovery code, used up), or None."""
    token = token.strip().replace(" ", "")
    if not token:
        return None
    device = match_token(user, token)
    if device is None:
        audit.record(action="mfa.failed", actor=user, target=f"user:{user.pk}", ip=ip)
    elif isinstance(device, StaticDevice):
        audit.record(
            action="mfa.recovery_code_used",
            actor=user,
            target=f"user:{user.pk}",
            ip=ip,
            details={"left": device.token_set.count()},
        )
    return device


@transaction.atomic
def reset_mfa(*, actor, user, reason: str, ip: str | None) -> int:
    """Remove every second factor of `user` (they enrol again at their next sign-in). Another admin only."""
    if not roles.has_role(actor, roles.ADMIN):
        raise MfaForbidden(gettext("only an admin can reset a second factor"))
    if actor.pk == user.pk:
        raise MfaForbidden(gettext("another admin must reset your own second factor"))
    reason = reason.strip()
    if not reason:
        raise MfaError(gettext("give a reason for the reset"))
    removed = 0
    for device in list(devices_for_user(user, confirmed=None)):
        device.delete()
        removed += 1
    audit.record(
        action="mfa.reset",
        actor=actor,
        target=f"user:{user.pk}",
        ip=ip,
        details={"username": user.get_username(), "reason": reason, "devices_removed": removed},
    )
    return removed


def people_with_mfa_state():
    """Every active user with whether they must and do have an authenticator (the admins' reset page)."""
    from django.contrib.auth import get_user_model

    enrolled = set(TOTPDevice.objects.filter(confirmed=True).values_list("user_id", flat=True))
    users = get_user_model().objects.filter(is_active=True).prefetch_related("groups").order_by("username")
    return [{"user": u, "required": mfa_required(u), "enrolled": u.pk in enrolled} for u in users]
