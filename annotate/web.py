"""HTTP plumbing shared by every app's views: who may reach a view, JSON bodies, the caller's address.

Views use these and nothing else for the three; services never see the request
(they take the actor and `ip=client_ip(request)`).

Role checks answer in one of three ways (`answer=`):

- "page": the anonymous are sent to sign in; other roles get the 403 page.
- "json": the anonymous get 401 {"error": "sign in first"}; other roles 403 {"error": message}.
- "either": JSON when the request is JSON (Content-Type or Accept), else as a page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, Literal

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from annotate.accounts import roles

Answer = Literal["page", "json", "either"]


class BadRequest(ValueError):
    """The request itself is malformed (not JSON, a field of the wrong type); answered 400 with the message."""


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def wants_json(request: HttpRequest) -> bool:
    if request.content_type == "application/json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object (an empty body is {}); else BadRequest."""
    try:
        body = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the request body must be a JSON object")
    return body


def form_or_json(request: HttpRequest) -> dict[str, Any]:
    """The fields of a form post, or of a JSON body when the request is JSON."""
    if request.content_type == "application/json":
        return json_body(request)
    return request.POST.dict()


def role_required(*allowed: str, message: str, answer: Answer = "page") -> Callable:
    """Let through signed-in users holding any of the `allowed` roles; answer the rest as `answer` says."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            as_json = answer == "json" or (answer == "either" and wants_json(request))
            if not request.user.is_authenticated:
                if as_json:
                    return JsonResponse({"error": "sign in first"}, status=401)
                return redirect_to_login(request.get_full_path())
            if not any(roles.has_role(request.user, role) for role in allowed):
                if as_json:
                    return JsonResponse({"error": message}, status=403)
                return render(request, "403.html", {"message": message}, status=403)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
