"""Forms of the lead console."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from annotate.leads.models import Export
from annotate.queues.models import Queue

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
_DEVICE = re.compile(r"^[a-z0-9_-]{1,32}$")


class CommaListField(forms.CharField):
    """ "en-US, en-GB" <-> ["en-US", "en-GB"]; empty means "all"."""

    def __init__(self, *, pattern: re.Pattern, invalid: str, **kwargs):
        self.pattern, self.invalid = pattern, invalid  # invalid: a message with %(items)s
        super().__init__(required=False, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(value)
        return value

    def to_python(self, value) -> list[str]:
        items = []
        for item in (value or "").replace(";", ",").split(","):
            item = item.strip()
            if item and item not in items:
                items.append(item)
        return items

    def validate(self, value) -> None:
        bad = [item for item in value if not self.pattern.match(item)]
        if bad:
            raise forms.ValidationError(self.invalid % {"items": ", ".join(bad)})


class QueueForm(forms.ModelForm):
    locales = CommaListField(
        pattern=_LOCALE,
        invalid=_("not a locale: %(items)s"),
        label=_("Locales"),
        help_text=_("comma-separated, e.g. en-US, en-GB; empty: every locale"),
    )
    device_types = CommaListField(
        pattern=_DEVICE,
        invalid=_("not a device type: %(items)s"),
        label=_("Device types"),
        help_text=_("comma-separated, e.g. speaker, phone; empty: every device"),
    )

    class Meta:
        model = Queue
        fields = [
            "name",
            "kind",
            "priority",
            "locales",
            "device_types",
            "sample_rate",
            "lease_seconds",
            "overlap",
            "gold_ratio",
            "likely_distressing",
            "disguise_voice",
            "redact_personal_data",
            "guidelines",
        ]
        labels = {
            "name": _("Name"),
            "kind": _("Task"),
            "priority": _("Priority"),
            "sample_rate": _("Sampling rate"),
            "lease_seconds": _("Lease (seconds)"),
            "overlap": _("Reviewers per clip (overlap k)"),
            "gold_ratio": _("Gold ratio"),
            "likely_distressing": _("Likely distressing"),
            "disguise_voice": _("Disguise voices"),
            "redact_personal_data": _("Bleep spoken personal data"),
            "guidelines": _("Guidelines (Markdown, shown to reviewers)"),
        }
        help_texts = {  # the model's, in the lead's language
            "priority": _("higher is served first"),
            "sample_rate": _("share of matching new clips sampled, 0..1"),
            "lease_seconds": _("empty: the site default"),
            "overlap": _("reviewers per clip (k), 1..5"),
            "gold_ratio": _("share of served tasks that are gold clips, 0..0.5"),
            "disguise_voice": _("reviewers hear the voice disguised (pitch and formants moved)"),
            "redact_personal_data": _(
                "spoken personal data bleeped in the audio and masked ([PHONE]) in Whisper's text"
            ),
            "guidelines": _("Markdown, shown to reviewers"),
        }
        error_messages = {"name": {"unique": _("A queue of that name exists already.")}}
        widgets = {
            "guidelines": forms.Textarea(attrs={"rows": 8}),
            "sample_rate": forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "1"}),
            "gold_ratio": forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "0.5"}),
            "overlap": forms.NumberInput(attrs={"min": "1", "max": "5"}),
            "lease_seconds": forms.NumberInput(attrs={"min": "30", "placeholder": _("site default")}),
        }

    def clean_sample_rate(self) -> float:
        value = self.cleaned_data["sample_rate"]
        if not 0 <= value <= 1:
            raise forms.ValidationError(_("between 0 (none) and 1 (every matching clip)"))
        return value

    def clean_gold_ratio(self) -> float:
        value = self.cleaned_data["gold_ratio"]
        if not 0 <= value <= 0.5:
            raise forms.ValidationError(_("between 0 (no gold) and 0.5 (half of the tasks)"))
        return value

    def clean_overlap(self) -> int:
        value = self.cleaned_data["overlap"]
        if not 1 <= value <= 5:
            raise forms.ValidationError(_("between 1 and 5 reviewers per clip"))
        return value

    def clean_lease_seconds(self) -> int | None:
        value = self.cleaned_data["lease_seconds"]
        if value is not None and not 30 <= value <= 24 * 3600:
            raise forms.ValidationError(_("between 30 seconds and a day, or empty for the site default"))
        return value


class GoldForm(forms.Form):
    clip = forms.CharField(
        max_length=32, label=_("Clip id"), help_text=_("the clip's public id, e.g. c_0123456789abcdef")
    )
    reference_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=5000, label=_("Reference text")
    )


class AdjudicationForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label=_("Final transcript"))
    annotation = forms.IntegerField(required=False, widget=forms.HiddenInput)
    gold_queue = forms.IntegerField(required=False)


class AnswerForm(forms.Form):
    answer = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000, label=_("Your answer"))


class ExportForm(forms.Form):
    format = forms.ChoiceField(choices=Export.Format.choices, label=_("Format"))
    queue = forms.ModelChoiceField(
        queryset=Queue.objects.all(), required=False, empty_label=_("every queue"), label=_("Queue")
    )
