"""What the review page's second-opinion plugin (static/review/ask.js) needs from the lead console."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def ask_plugin_state() -> dict:
    return {"urls": {"questions": reverse("lead-api-second-opinions")}}
