"""The sign-out-everywhere page (the rules are in annotate/accounts/signin.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext

from annotate.accounts import signin
from annotate.web import client_ip


@login_required
def sign_out_everywhere(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        password = request.POST.get("password", "")
        checked = authenticate(request, username=request.user.get_username(), password=password)
        if checked is not None and checked.pk == request.user.pk:
            signin.sign_out_everywhere(user=request.user, password=password, ip=client_ip(request))
            update_session_auth_hash(request, request.user)  # this session stays signed in
            messages.success(request, gettext("Every other session of yours is signed out."))
            return redirect("sign-out-everywhere")
        error = gettext("That is not your password.")
    return render(request, "registration/sign_out_everywhere.html", {"error": error})


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    """The person's language and time zone (annotate.accounts.locale)."""
    from django.conf import settings
    from django.utils import translation
    from django.utils.translation import gettext as _

    from annotate.accounts.locale import choices_of_time_zones, remember
    from annotate.accounts.models import Preferences

    current, _created = Preferences.objects.get_or_create(user=request.user)
    zones = choices_of_time_zones()
    errors = []
    if request.method == "POST":
        language = request.POST.get("language", "")
        zone = request.POST.get("time_zone", "")
        if language and language not in {code for code, _name in settings.LANGUAGES}:
            errors.append(_("Pick a language from the list."))
        if zone and zone not in zones:
            errors.append(_("Pick a time zone from the list."))
        if not errors:
            current.language, current.time_zone = language, zone
            current.save()
            remember(request.session, request.user)
            if language:
                translation.activate(language)
            messages.success(request, _("Your preferences are saved."))
            return redirect("preferences")
    return render(
        request,
        "accounts/preferences.html",
        {"current": current, "languages": settings.LANGUAGES, "zones": zones, "errors": errors},
        status=400 if errors else 200,
    )
