"""Forms for the alerts pages, with messages in the GOV.UK style."""

from __future__ import annotations

from typing import Any

from django import forms

from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.people.choices import VulnerableGroup

from .models import AlertRule, AlertState

AGE_CHOICES = [
    ("", "Any age"),
    ("under_11", "Under 11"),
    ("11_to_15", "11 to 15"),
    ("16_plus", "16 or over"),
]


class AlertFilterForm(forms.Form):
    rule = forms.ChoiceField(
        label="Rule", required=False, choices=[("", "Any rule"), *AlertRule.choices]
    )
    school = forms.TypedChoiceField(label="School", required=False, coerce=int, empty_value=None)
    age = forms.ChoiceField(label="Age", required=False, choices=AGE_CHOICES)
    group = forms.ChoiceField(
        label="Vulnerable group",
        required=False,
        choices=[("", "Any group"), ("in_care", "Child in care"), *VulnerableGroup.choices],
    )
    state = forms.ChoiceField(
        label="State", required=False, choices=[("", "New or acknowledged"), *AlertState.choices]
    )
    after = forms.IntegerField(required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = Organisation.objects.filter(kind=OrganisationKind.SCHOOL).order_by("name")
        self.fields["school"].choices = [  # type: ignore[attr-defined]
            ("", "Any school"),
            *((s.pk, s.name) for s in schools.only("pk", "name")),
        ]


class DismissForm(forms.Form):
    reason = forms.CharField(
        label="Why are you dismissing this alert?",
        max_length=300,
        error_messages={
            "required": "Enter why you are dismissing this alert",
            "max_length": "Reason must be 300 characters or fewer",
        },
        widget=forms.Textarea,
    )


class AttachForm(forms.Form):
    case_reference = forms.CharField(
        label="Case reference",
        help_text="For example, CME-000123",
        max_length=12,
        error_messages={"required": "Enter the case reference, like CME-000123"},
    )

    def clean_case_reference(self) -> int:
        value = self.cleaned_data["case_reference"].strip().upper().removeprefix("CME-")
        if not value.isdigit():
            raise forms.ValidationError("Enter the case reference, like CME-000123")
        return int(value)
