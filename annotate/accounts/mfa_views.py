"""The second-factor pages: enrol an authenticator, the code step of sign-in, an admin's reset."""

from __future__ import annotations

from urllib.parse import urlencode

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django_otp import login as otp_login

from annotate.accounts import mfa, roles
from annotate.web import client_ip, role_required


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return "/"


def _qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=15, border=2)
    return image.to_string(encoding="unicode")


def admin_sign_in(request: HttpRequest) -> HttpResponse:
    """The admin site signs in through the product's sign-in (password, then the code step or enrolment),
    so an admin without an authenticator yet can set one up; the admin site itself wants a verified session."""
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('login')}?{urlencode({'next': target})}")


@login_required
def enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator: a QR code and the key to type, confirmed with a code; then recovery codes, once."""
    if mfa.has_authenticator(request.user):
        # A second authenticator needs the first one (or an admin's reset), never the password alone.
        return redirect("mfa-verify" if not request.user.is_verified() else "home")
    device = mfa.pending_authenticator(user=request.user)
    error = ""
    if request.method == "POST":
        try:
            device, codes = mfa.confirm_authenticator(
                user=request.user,
                device_id=device.pk,
                token=request.POST.get("token", ""),
                ip=client_ip(request),
            )
        except mfa.MfaError as exc:
            error = str(exc)
        else:
            otp_login(request, device)
            return render(request, "accounts/mfa_recovery_codes.html", {"codes": codes, "next": _next_url(request)})
    return render(
        request,
        "accounts/mfa_enrol.html",
        {
            "qr_svg": _qr_svg(device.config_url),
            "manual_key": mfa.manual_key(device),
            "error": error,
            "next": _next_url(request),
        },
        status=400 if error else 200,
    )


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """The code step of sign-in: a code from the authenticator, or one recovery code (used up)."""
    if request.user.is_verified():
        return redirect(_next_url(request))
    if not mfa.has_authenticator(request.user):
        return redirect("mfa-enrol")
    error = ""
    if request.method == "POST":
        device = mfa.check_code(user=request.user, token=request.POST.get("token", ""), ip=client_ip(request))
        if device is not None:
            otp_login(request, device)
            request.session.cycle_key()
            return redirect(_next_url(request))
        error = gettext("That code did not match. Type the current code of your authenticator, or a recovery code.")
    return render(
        request, "accounts/mfa_verify.html", {"error": error, "next": _next_url(request)}, status=400 if error else 200
    )


@role_required(roles.ADMIN, message=_("Only admins can reset a second factor."))
def people(request: HttpRequest) -> HttpResponse:
    """Admins: who must have an authenticator, who has one, and the reset (for someone else)."""
    return render(request, "accounts/mfa_people.html", {"rows": mfa.people_with_mfa_state()})


@require_POST
@role_required(roles.ADMIN, message=_("Only admins can reset a second factor."))
def reset(request: HttpRequest, user_id: int) -> HttpResponse:
    person = get_object_or_404(get_user_model(), pk=user_id)
    try:
        removed = mfa.reset_mfa(
            actor=request.user, user=person, reason=request.POST.get("reason", ""), ip=client_ip(request)
        )
    except mfa.MfaError as exc:
        messages.error(request, str(exc))
        return render(
            request,
            "accounts/mfa_people.html",
            {"rows": mfa.people_with_mfa_state()},
            status=403 if isinstance(exc, mfa.MfaForbidden) else 400,
        )
    messages.success(
        request,
        ngettext(
            "%(name)s: %(n)s second factor removed; they enrol again at their next sign-in.",
            "%(name)s: %(n)s second factors removed; they enrol again at their next sign-in.",
            removed,
        )
        % {"name": person.get_username(), "n": removed},
    )
    return redirect("mfa-people")
