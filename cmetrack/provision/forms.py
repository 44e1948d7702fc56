"""Forms of the places work, with GOV.UK error messages. They parse what was typed; the
rules are in the services, whose errors go on the field they name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from cmetrack.cases.models import Case, FormOfProvision
from cmetrack.casework.forms import GovukDateField, TrackingForm, _radio, _text
from cmetrack.kit.uploads import validate_upload
from cmetrack.organisations.models import Organisation

from .models import ApplicationOutcome, PanelDecision, ProvisionImportKind, SenSuitability
from .rules import year_group_label

YEAR_CHOICES = [(str(y), year_group_label(y)) for y in range(14)]
FORM_CHOICES = [(f.value, f.label) for f in FormOfProvision if f != FormOfProvision.EOTAS]


class ServiceForm(TrackingForm):
    """A form whose service errors (``ValidationError`` or a case refusal) go on fields."""

    def add_refusal(self, message: str, field: str = "") -> None:
        target = self.field_map.get(field, field)
        self.add_error(target if target in self.fields else None, message)


def _provider_choice(
    providers: list[Organisation], required: str, empty: str = "Choose a school or provider"
) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=[("", empty), *((str(p.pk), p.name) for p in providers)],
        error_messages={"required": required, "invalid_choice": required},
    )


class ProviderChoiceMixin:
    providers: dict[str, Organisation]
    cleaned_data: dict[str, Any]

    def _org(self, name: str) -> Organisation | None:
        value = self.cleaned_data.get(name)
        return self.providers.get(value) if value else None


class PlaceFigureForm(ServiceForm):
    year_group = forms.ChoiceField(
        choices=[("", "Choose a year group"), *YEAR_CHOICES],
        error_messages={
            "required": "Choose the year group",
            "invalid_choice": "Choose the year group",
        },
    )
    places = forms.IntegerField(
        min_value=0,
        max_value=99999,
        error_messages={
            "required": "Enter the number of places available (0 if none)",
            "invalid": "The number of places must be a whole number, like 3",
            "min_value": "The number of places cannot be negative",
            "max_value": "The number of places must be 99999 or fewer",
        },
    )
    as_of = GovukDateField(what="the date of the figure", when="past")

    def clean_year_group(self) -> int:
        return int(self.cleaned_data["year_group"])


class ProviderProfileForm(ServiceForm):
    provision_form = _radio(FORM_CHOICES, "Choose the form of provision the provider offers")
    youngest_year = forms.ChoiceField(
        choices=YEAR_CHOICES, error_messages={"required": "Choose the youngest year group"}
    )
    oldest_year = forms.ChoiceField(
        choices=YEAR_CHOICES, error_messages={"required": "Choose the oldest year group"}
    )
    sen_suitability = forms.ChoiceField(
        choices=SenSuitability.choices, required=False, widget=forms.RadioSelect
    )
    sen_notes = _text(None, 200, "The SEN provision must be 200 characters or fewer")
    latitude = forms.DecimalField(
        required=False,
        min_value=Decimal(-90),
        max_value=Decimal(90),
        decimal_places=5,
        error_messages={
            "invalid": "The latitude must be a number, like 51.50135",
            "min_value": "The latitude must be between -90 and 90",
            "max_value": "The latitude must be between -90 and 90",
            "max_decimal_places": "Give the latitude to 5 decimal places or fewer",
        },
    )
    longitude = forms.DecimalField(
        required=False,
        min_value=Decimal(-180),
        max_value=Decimal(180),
        decimal_places=5,
        error_messages={
            "invalid": "The longitude must be a number, like -0.14189",
            "min_value": "The longitude must be between -180 and 180",
            "max_value": "The longitude must be between -180 and 180",
            "max_decimal_places": "Give the longitude to 5 decimal places or fewer",
        },
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "youngest_year" in data and "oldest_year" in data:
            data["youngest_year"], data["oldest_year"] = (
                int(data["youngest_year"]),
                int(data["oldest_year"]),
            )
            if data["oldest_year"] < data["youngest_year"]:
                self.add_error(
                    "oldest_year", "The oldest year group must not be below the youngest"
                )
        return data


class ImportForm(forms.Form):
    kind = _radio(ProvisionImportKind.choices, "Choose what the file holds")
    file = forms.FileField(
        label="CSV file",
        error_messages={"required": "Choose a CSV file", "empty": "The selected file is empty"},
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        validate_upload(upload, extensions=("csv",))
        return upload


class VersionedForm(ServiceForm):
    """A form that changes the case: carries the version the person saw."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {}).setdefault("expected_version", case.version)
        super().__init__(*args, **kwargs)
        self.case = case


class RecommendForm(VersionedForm):
    provision_recommended = _radio(
        FormOfProvision.choices, "Choose the form of provision recommended"
    )
    date_provision_determined = GovukDateField(
        what="the date the form of provision was determined", when="past"
    )
    reason = _text(None, 2000, "The notes must be 2000 characters or fewer", widget=forms.Textarea)

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, case=case, **kwargs)
        if case.state == "located":
            self.fields["date_of_assessment"] = GovukDateField(
                what="the date of the needs assessment", when="past"
            )
            self.order_fields(["date_of_assessment"])


class ApplicationForm(ServiceForm, ProviderChoiceMixin):
    def __init__(self, *args: Any, providers: list[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.providers = {str(p.pk): p for p in providers}
        self.fields["school"] = _provider_choice(providers, "Choose the school applied to")
        self.fields["applied_on"] = GovukDateField(what="the date of the application", when="past")
        self.fields["year_group"] = forms.ChoiceField(
            choices=[("", "The child's own year group"), *YEAR_CHOICES], required=False
        )

    def clean_school(self) -> Organisation | None:
        return self._org("school")

    def clean_year_group(self) -> int | None:
        value = self.cleaned_data.get("year_group")
        return int(value) if value else None


class OutcomeForm(ServiceForm):
    outcome = _radio(
        [(o.value, o.label) for o in ApplicationOutcome if o != ApplicationOutcome.PENDING],
        "Choose the outcome of the application",
    )
    outcome_on = GovukDateField(what="the date of the outcome", when="past")
    notes = _text(None, 300, "The notes must be 300 characters or fewer", widget=forms.Textarea)


class PanelReferralForm(ServiceForm):
    referred_on = GovukDateField(what="the date of the referral to the panel", when="past")
    panel_date = GovukDateField(what="the date of the panel", required=False)
    reason = _text(
        "Say why the child needs the fair-access panel",
        2000,
        "The reason must be 2000 characters or fewer",
        widget=forms.Textarea,
    )


class PanelDecisionForm(ServiceForm, ProviderChoiceMixin):
    def __init__(self, *args: Any, providers: list[Organisation], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.providers = {str(p.pk): p for p in providers}
        self.fields["decision"] = _radio(PanelDecision.choices, "Choose the panel's decision")
        self.fields["named_school"] = forms.ChoiceField(
            choices=[("", "No school named"), *((str(p.pk), p.name) for p in providers)],
            required=False,
            error_messages={"invalid_choice": "Choose the school the panel named"},
        )
        self.fields["decision_on"] = GovukDateField(what="the date of the decision", when="past")
        self.fields["notes"] = _text(
            None, 300, "The notes must be 300 characters or fewer", widget=forms.Textarea
        )

    def clean_named_school(self) -> Organisation | None:
        return self._org("named_school")


class StartForm(VersionedForm, ProviderChoiceMixin):
    field_map = {
        "date_moved_into_provision": "started_on",
        "provider": "provider",
    }

    def __init__(
        self, *args: Any, case: Case, providers: list[Organisation], **kwargs: Any
    ) -> None:
        super().__init__(*args, case=case, **kwargs)
        self.providers = {str(p.pk): p for p in providers}
        self.fields["provider"] = _provider_choice(
            providers, "Choose the school or provider the child started at"
        )
        self.fields["started_on"] = GovukDateField(what="the date the child started", when="past")
        self.fields["provision_accessed"] = _radio(
            FormOfProvision.choices, "Choose the form of provision accessed"
        )
        self.fields["upn"] = _text(None, 13, "The UPN must be 13 characters")
        self.fields["reason"] = _text(
            None, 2000, "The notes must be 2000 characters or fewer", widget=forms.Textarea
        )
        self.order_fields(["provider", "started_on", "provision_accessed", "upn", "reason"])

    def clean_provider(self) -> Organisation | None:
        return self._org("provider")

    def clean_upn(self) -> str:
        value = str(self.cleaned_data.get("upn", "")).strip().upper().replace(" ", "")
        if value and len(value) != 13:
            raise ValidationError("The UPN must be 13 characters, like A123456789012")
        return value


class PlacementUpnForm(ServiceForm):
    """Record the start again: the UPN at the provider."""

    upn = _text(
        "Enter the child's UPN at the new school or provider", 13, "The UPN must be 13 characters"
    )
    reason = _text(None, 300, "The reason must be 300 characters or fewer", widget=forms.Textarea)

    def clean_upn(self) -> str:
        value = str(self.cleaned_data.get("upn", "")).strip().upper().replace(" ", "")
        if len(value) != 13:
            raise ValidationError("The UPN must be 13 characters, like A123456789012")
        return value
