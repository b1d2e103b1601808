"""What the review page's entity-span plugin (static/review/spans/) needs from the catalog."""

from __future__ import annotations

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def spans_plugin_state() -> dict:
    return {
        "urls": {
            "kinds": reverse("catalog-api-kinds"),
            "search": reverse("catalog-api-search"),
            "suggest": reverse("catalog-api-suggest"),
        },
    }
