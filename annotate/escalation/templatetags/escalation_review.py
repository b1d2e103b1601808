"""What the review page's flag plugin (static/review/flag.js) needs from escalation: its URLs and choices."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.text import capfirst

from annotate.escalation.models import DEFAULT_SEVERITY, Category, Severity

register = template.Library()


@register.simple_tag
def flag_plugin_state() -> dict:
    return {
        "urls": {
            "flag": reverse("cases-api-flag"),
            "receipts": reverse("cases-api-receipts"),
            "break": reverse("care-break"),
            "care": reverse("care"),
        },
        "categories": [
            {"value": value, "label": capfirst(str(label)), "severity": str(DEFAULT_SEVERITY[Category(value)])}
            for value, label in Category.choices
        ],
        "severities": [{"value": value, "label": capfirst(str(label))} for value, label in Severity.choices],
    }
