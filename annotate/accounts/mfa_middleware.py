"""Nothing but sign-in, sign-out and the second-factor pages for a user who owes a second factor
(HTTP: MfaRequiredMiddleware; WebSocket: MfaWebsocketMiddleware)."""

from __future__ import annotations

from urllib.parse import urlencode

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device

from annotate.accounts import mfa
from annotate.web import wants_json

MESSAGE = "a second factor is required: sign in with the code from your authenticator"


def _is_api(request: HttpRequest) -> bool:
    path = request.path
    return wants_json(request) or "/api/" in path or path.endswith(".json")


class MfaRequiredMiddleware:
    """After OTPMiddleware: a signed-in lead, officer, admin or staff member (reviewer too when
    ANNOTATE_MFA_REVIEWERS) who is not OTP-verified is sent to enrol (no authenticator yet) or to
    the code step; a JSON API answers 401 with a message instead of a redirect."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return self.get_response(request)
        if user.is_verified() or not mfa.mfa_required(user) or self._open(request.path):
            return self.get_response(request)
        if _is_api(request):
            return JsonResponse({"error": MESSAGE, "mfa": "required"}, status=401)
        step = "mfa-verify" if mfa.has_authenticator(user) else "mfa-enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")

    @staticmethod
    def _open(path: str) -> bool:
        open_paths = (reverse("login"), reverse("logout"), reverse("mfa-enrol"), reverse("mfa-verify"))
        return path in open_paths or path.startswith("/" + settings.STATIC_URL.lstrip("/"))


class MfaWebsocketMiddleware:
    """The same gate for WebSockets (inside Channels' AuthMiddlewareStack): a user who owes a
    second factor is anonymous to the consumers, which then refuse them as they refuse anyone
    not signed in."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if await database_sync_to_async(_owes_code)(scope):
            scope = {**scope, "user": AnonymousUser()}
        return await self.inner(scope, receive, send)


def _owes_code(scope) -> bool:
    user = scope.get("user")
    if user is None or not user.is_authenticated or not mfa.mfa_required(user):
        return False
    session = scope.get("session")
    persistent_id = session.get(DEVICE_ID_SESSION_KEY) if session is not None else None
    device = Device.from_persistent_id(persistent_id) if persistent_id else None
    return device is None or device.user_id != user.pk or not device.confirmed
