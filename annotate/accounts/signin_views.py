"""The sign-out-everywhere page (the rules are in annotate/accounts/signin.py)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import authenticate, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

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
            messages.success(request, "Every other session of yours is signed out.")
            return redirect("sign-out-everywhere")
        error = "That is not your password."
    return render(request, "registration/sign_out_everywhere.html", {"error": error})
