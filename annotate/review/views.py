from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from annotate.queues import selectors as queue_selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    queues = queue_selectors.queues_for_reviewer(user=request.user)
    return render(request, "review/home.html", {"queues": queues})
