"""Sign-in protection: lockout after repeated failures, idle timeout, sign-out everywhere, audit.

- Lockout is django-axes: after ANNOTATE_LOGIN_FAILURES failed sign-ins for one username,
  or from one address, further attempts (even with the right password) are refused for
  ANNOTATE_LOGIN_COOLOFF_MINUTES; each refused attempt restarts the cool-off. Failures
  older than the cool-off are forgotten. An admin unlocks with the admin's "Access
  attempts" page or `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`.
- Idle timeout: a session unused for ANNOTATE_IDLE_MINUTES (ANNOTATE_OFFICER_IDLE_MINUTES
  for officers and admins) or older than ANNOTATE_SESSION_MAX_HOURS is signed out on its
  next request (IdleTimeoutMiddleware); the last activity is kept in the session.
- Sign-out everywhere: the user's password is re-hashed with a new salt, which changes
  Django's session auth hash, so every other session of theirs ends at its next request.
- Audit (annotate.audit): every sign-in, failed sign-in (the username tried, never the
  password), lockout, idle sign-out and sign-out everywhere, through the auth signals.
"""

from __future__ import annotations

import time
from typing import Any

from axes.backends import AxesBackend
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, SESSION_KEY, logout
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext, ngettext

from annotate.accounts import locale, roles
from annotate.audit import services as audit

SIGNED_IN_AT = "annotate_signed_in_at"
LAST_SEEN = "annotate_last_seen"
IDLE_SECONDS = "annotate_idle_seconds"
# The last activity is written to the session at most this often (seconds), not on every request.
LAST_SEEN_GRANULARITY = 60


def _ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


# --- lockout (django-axes) -------------------------------------------------------------


class SignInBackend(AxesBackend):
    """Axes' lockout check, first in AUTHENTICATION_BACKENDS.

    Sign-ins over HTTP always carry the request; `authenticate()` called without one (a
    shell, the test client's `login()`) is not an attempt from anywhere and is left to
    the next backend unchecked, instead of failing as axes' own backend does."""

    def authenticate(self, request, username=None, password=None, **kwargs: Any):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def cool_off_minutes() -> int:
    return settings.ANNOTATE_LOGIN_COOLOFF_MINUTES


def lockout_message() -> str:
    minutes = cool_off_minutes()
    return ngettext(
        "Too many failed sign-ins; try again in %(minutes)d minute or ask an admin.",
        "Too many failed sign-ins; try again in %(minutes)d minutes or ask an admin.",
        minutes,
    ) % {"minutes": minutes}


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the sign-in page again, with the lockout message, status 429."""
    return render(request, "registration/locked_out.html", {"lockout_message": lockout_message()}, status=429)


# --- audit of sign-ins, through the auth signals --------------------------------------


def _on_signed_in(sender, request: HttpRequest | None, user, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_SEEN] = now
        request.session[IDLE_SECONDS] = idle_seconds_for(user)
        locale.remember(request.session, user)  # the language and time zone, once per session
    audit.record(action="sign_in", actor=user, ip=_ip(request))


def _on_sign_in_failed(sender, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any) -> None:
    # Django has already replaced the password (and anything like it) in `credentials`.
    username = str(credentials.get("username", ""))[:150]
    audit.record(action="sign_in.failed", target=username, ip=_ip(request), details={"username": username})


def _on_locked_out(sender, request: HttpRequest | None = None, username: str | None = None, **kwargs: Any) -> None:
    ip = kwargs.get("ip_address") or _ip(request)
    audit.record(
        action="sign_in.locked_out",
        target=username or "",
        ip=ip,
        details={
            "username": username or "",
            "failures": settings.ANNOTATE_LOGIN_FAILURES,
            "cool_off_minutes": cool_off_minutes(),
        },
    )


def connect() -> None:
    """Called once from AccountsConfig.ready()."""
    user_logged_in.connect(_on_signed_in, dispatch_uid="annotate.signin.signed_in")
    user_login_failed.connect(_on_sign_in_failed, dispatch_uid="annotate.signin.failed")
    user_locked_out.connect(_on_locked_out, dispatch_uid="annotate.signin.locked_out")


# --- idle timeout ----------------------------------------------------------------------


def idle_seconds_for(user) -> int:
    if roles.has_role(user, roles.OFFICER) or roles.has_role(user, roles.ADMIN):
        return settings.ANNOTATE_OFFICER_IDLE_MINUTES * 60
    return settings.ANNOTATE_IDLE_MINUTES * 60


class IdleTimeoutMiddleware:
    """After AuthenticationMiddleware and MessageMiddleware: signs out a session idle too long
    or older than the maximum age, before the view runs (the view then sees an anonymous
    user and answers as it does to one)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = request.session
        if SESSION_KEY in session:
            now = time.time()
            last_seen = session.get(LAST_SEEN)
            signed_in_at = session.get(SIGNED_IN_AT)
            if last_seen is None or signed_in_at is None:
                # A session from before this rule (or made without the sign-in signal): start counting now.
                session[SIGNED_IN_AT] = signed_in_at or now
                session[LAST_SEEN] = now
            else:
                idle_limit = session.get(IDLE_SECONDS) or settings.ANNOTATE_IDLE_MINUTES * 60
                if now - last_seen > idle_limit:
                    self._sign_out(request, reason="idle", minutes=round(idle_limit / 60))
                elif now - signed_in_at > settings.ANNOTATE_SESSION_MAX_HOURS * 3600:
                    self._sign_out(request, reason="max_age", minutes=settings.ANNOTATE_SESSION_MAX_HOURS * 60)
                elif now - last_seen >= LAST_SEEN_GRANULARITY:
                    session[LAST_SEEN] = now
        return self.get_response(request)

    @staticmethod
    def _sign_out(request: HttpRequest, *, reason: str, minutes: int) -> None:
        user = request.user
        if BACKEND_SESSION_KEY in request.session and user.is_authenticated:
            audit.record(action="sign_out.timeout", actor=user, ip=_ip(request), details={"reason": reason})
        logout(request)
        if reason == "idle":
            text = ngettext(
                "You were signed out after %(minutes)d minute without activity. Sign in again.",
                "You were signed out after %(minutes)d minutes without activity. Sign in again.",
                minutes,
            ) % {"minutes": minutes}
        else:
            text = gettext("Your session reached its maximum age. Sign in again.")
        messages.info(request, text)


# --- sign-out everywhere ---------------------------------------------------------------


@transaction.atomic
def sign_out_everywhere(*, user, password: str, ip: str | None) -> None:
    """End every session of `user` but the one the caller keeps (update_session_auth_hash).

    The caller has checked `password` (the view asks for it again, through authenticate(),
    so a wrong one counts as a failed sign-in, lockout included). Re-hashing it with a new
    salt changes the session auth hash, which every other session of the user then fails."""
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(action="sign_out.everywhere", actor=user, ip=ip)
