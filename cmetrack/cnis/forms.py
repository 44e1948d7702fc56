"""Forms of the children-not-in-school register, with GOV.UK error messages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from cmetrack.casework.forms import GovukDateField, TrackingForm, _radio, _text
from cmetrack.organisations.models import Organisation, OrganisationKind

from .models import PartTimeKind, ProviderType, YesNoUnknown


def _hours(what: str, required: bool = False) -> forms.DecimalField:
    return forms.DecimalField(
        required=required,
        min_value=Decimal("0"),
        max_value=Decimal("168"),
        max_digits=4,
        decimal_places=1,
        error_messages={
            "required": f"Enter {what}",
            "invalid": f"Enter {what} as a number, like 12 or 7.5",
            "min_value": "Hours must be 0 or more",
            "max_value": "Hours must be 168 or fewer (the hours in a week)",
            "max_digits": "Hours must be 168 or fewer (the hours in a week)",
            "max_decimal_places": "Give hours to one decimal place at most",
        },
    )


class DetailsForm(TrackingForm):
    prefix = "details"
    parent_hours_per_week = _hours("the hours a week the parents educate the child")
    no_other_providers = forms.BooleanField(required=False)
    child_protection_enquiries = forms.ChoiceField(choices=YesNoUnknown.choices, required=False)
    child_in_need = forms.ChoiceField(choices=YesNoUnknown.choices, required=False)
    protected_characteristics = _text(None, 300, "This must be 300 characters or fewer")


class ProviderForm(TrackingForm):
    prefix = "provider"
    name = _text("Enter the provider's name", 200, "The name must be 200 characters or fewer")
    provider_type = _radio(ProviderType.choices, "Select the type of provider")
    hours_per_week = _hours("the hours a week with this provider")
    address = _text(None, 300, "The address must be 300 characters or fewer")
    where = _text(None, 300, "Where must be 300 characters or fewer")
    online = forms.BooleanField(required=False)
    started_on = GovukDateField(what="the date the provider started", when="past", required=False)


class PartTimeForm(TrackingForm):
    prefix = "parttime"
    kind = _radio(PartTimeKind.choices, "Select the kind of arrangement")
    started_on = GovukDateField(what="the date the arrangement started")
    details = _text(None, 300, "Details must be 300 characters or fewer")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schools = Organisation.objects.filter(kind=OrganisationKind.SCHOOL, is_active=True)
        self.fields["school"] = forms.ModelChoiceField(
            queryset=schools.order_by("name"),
            required=False,
            empty_label="Choose the school",
            error_messages={"invalid_choice": "Select a school from the list"},
        )
        self.order_fields(["kind", "school", "started_on", "details"])
