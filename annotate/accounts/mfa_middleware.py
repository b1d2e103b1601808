"""Nothing but sign-in, sign-out and the second-factor pages for a user who owes a second factor."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

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
        if user is None or not user.is_authenticated or self._open(request.path):
            return self.get_response(request)
        if user.is_verified() or not mfa.mfa_required(user):
            return self.get_response(request)
        if _is_api(request):
            return JsonResponse({"error": MESSAGE, "mfa": "required"}, status=401)
        step = "mfa-verify" if mfa.has_authenticator(user) else "mfa-enrol"
        return redirect(f"{reverse(step)}?{urlencode({'next': request.get_full_path()})}")

    @staticmethod
    def _open(path: str) -> bool:
        open_paths = (reverse("login"), reverse("logout"), reverse("mfa-enrol"), reverse("mfa-verify"))
        return path in open_paths or path.startswith("/" + settings.STATIC_URL.lstrip("/"))
