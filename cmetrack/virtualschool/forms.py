"""Forms of the Virtual School pages, with GOV.UK error messages. They parse what was
typed; the rules (dates, review within a term, reasons for "not receiving suitable
education", who may act) are in :mod:`.rules` and :mod:`.services`, whose errors
``add_service_errors`` puts on the right field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.models import Case
from cmetrack.casework.forms import GovukDateField, TrackingForm
from cmetrack.organisations.models import LocalAuthority, Organisation, OrganisationKind

from .models import LegalStatus, PlacementType, SuitableEducation, TargetStatus
from .rules import STANDARD_TARGETS


def _text(label: str, max_length: int, required: str | None = None, **kw: Any) -> forms.CharField:
    messages = {"max_length": f"{label} must be {max_length} characters or fewer"}
    if required:
        messages["required"] = required
    return forms.CharField(
        required=bool(required), max_length=max_length, error_messages=messages, **kw
    )


def _choice(choices: Any, required: str, blank: str = "") -> forms.ChoiceField:
    options = [("", blank), *choices] if blank else list(choices)
    return forms.ChoiceField(
        choices=options, error_messages={"required": required, "invalid_choice": required}
    )


class _ModelChoice(forms.ModelChoiceField):  # type: ignore[type-arg]
    def __init__(self, queryset: QuerySet[Any], required: str | None, blank: str) -> None:
        message = required or "Choose from the list"
        super().__init__(
            queryset=queryset,
            required=bool(required),
            empty_label=blank,
            error_messages={"required": message, "invalid_choice": "Choose from the list"},
        )


def authorities() -> QuerySet[LocalAuthority]:
    return LocalAuthority.objects.order_by("name")


def schools() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.SCHOOL, is_active=True).order_by(
        "name"
    )


def virtual_school_officers() -> QuerySet[User]:
    return (
        User.objects.filter(
            is_active=True, is_service_account=False, roles__role=Role.VIRTUAL_SCHOOL
        )
        .distinct()
        .order_by("full_name")
    )


def dates_as_boxes(form: forms.Form) -> None:
    """An unbound form shows a date's initial value in the three GOV.UK date boxes."""
    if form.is_bound:
        return
    for name, field in form.fields.items():
        value = form.initial.get(name)
        if isinstance(field, GovukDateField) and isinstance(value, dt.date):
            form.initial[name] = [str(value.day), str(value.month), str(value.year)]


class _UserChoice(_ModelChoice):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name())


class CicRecordForm(TrackingForm):
    """The in-care record (create and edit). ``with_placement``: the first placement too."""

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.editing = editing
        f = self.fields
        f["upn"] = _text("UPN", 20)
        f["responsible_authority"] = _ModelChoice(
            authorities(), "Choose the responsible local authority", "Choose an authority"
        )
        f["legal_status"] = _choice(
            LegalStatus.choices, "Choose the child's legal status", "Choose a legal status"
        )
        f["came_into_care_on"] = GovukDateField(
            what="the date the child came into care", when="past"
        )
        f["social_worker_name"] = _text(
            "The social worker's name", 150, "Enter the social worker's name"
        )
        f["social_worker_team"] = _text("The social work team", 150)
        f["social_worker_phone"] = _text("The social worker's phone number", 40)
        f["social_worker_email"] = forms.EmailField(
            required=False,
            max_length=254,
            error_messages={
                "invalid": "Enter the social worker's email address in the right format, like "
                "name@example.gov.uk"
            },
        )
        f["lead_officer"] = _UserChoice(virtual_school_officers(), None, "Not yet assigned")
        if editing:
            f["ceased_on"] = GovukDateField(
                what="the date the child ceased to be looked after", when="past", required=False
            )
        dates_as_boxes(self)

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if self.editing and data.get("ceased_on") is None:
            data["ceased_on"] = None
        return data


class PlacementForm(TrackingForm):
    """A placement: where, what type, placed by whom, and its school."""

    field_map = {"started_on": "started_on"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        f = self.fields
        f["started_on"] = GovukDateField(what="the date the placement started", when="past")
        f["placement_type"] = _choice(
            PlacementType.choices, "Choose the type of placement", "Choose a type"
        )
        f["placing_authority"] = _ModelChoice(
            authorities(), "Choose the placing authority", "Choose an authority"
        )
        f["carer"] = _text("The carer or provider", 150)
        f["line1"] = _text("Address line 1", 150)
        f["line2"] = _text("Address line 2", 150)
        f["town"] = _text("Town or city", 80)
        f["postcode"] = _text("Postcode", 10)
        f["is_restricted"] = forms.TypedChoiceField(
            choices=[("no", "No"), ("yes", "Yes")],
            coerce=lambda v: v == "yes",
            required=False,
            empty_value="",
            widget=forms.RadioSelect,
        )
        f["school"] = _ModelChoice(schools(), None, "No school, or not in the list")
        f["school_name"] = _text("The school's name", 200)
        f["school_admitted_on"] = GovukDateField(
            what="the date the school admitted the child", when="past", required=False
        )
        f["reason"] = _text("The reason for the move", 300)
        if not self.is_bound:
            self.initial.setdefault("is_restricted", "no")
        dates_as_boxes(self)

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data["is_restricted"] = data.get("is_restricted") is True
        return data


class PlacementSchoolForm(TrackingForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["school"] = _ModelChoice(schools(), None, "Not in the list")
        self.fields["school_name"] = _text("The school's name", 200)
        self.fields["school_admitted_on"] = GovukDateField(
            what="the date the school admitted the child", when="past", required=False
        )
        dates_as_boxes(self)


class ResolveForm(TrackingForm):
    resolution = _text(
        "How it was sorted out", 300, "Enter how the child's school place was sorted out"
    )


class DismissForm(TrackingForm):
    reason = _text("The reason", 300, "Enter why you are dismissing this alert")


def _target_fields(form: forms.Form) -> None:
    for t in STANDARD_TARGETS:
        form.fields[f"{t.area}_actions"] = forms.CharField(
            required=False, widget=forms.Textarea, max_length=4000
        )
        form.fields[f"{t.area}_responsible"] = _text("Who is responsible", 150)
        form.fields[f"{t.area}_due_on"] = GovukDateField(
            what=f"the date the {t.label.lower()} target is due", required=False
        )
        form.fields[f"{t.area}_status"] = _choice(
            TargetStatus.choices, f"Choose the progress of the {t.label.lower()} target"
        )
        form.fields[f"{t.area}_progress"] = forms.CharField(
            required=False, widget=forms.Textarea, max_length=4000
        )


def _targets(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for t in STANDARD_TARGETS:
        out[t.area] = {
            name: data.pop(f"{t.area}_{name}")
            for name in ("actions", "responsible", "due_on", "status", "progress")
            if f"{t.area}_{name}" in data
        }
    return out


class PepForm(TrackingForm):
    """forms.md §6: section A's contacts, section D's meeting, question and targets."""

    def __init__(self, *args: Any, cases: QuerySet[Case] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        f = self.fields
        if cases is not None:
            f["case"] = forms.ModelChoiceField(
                queryset=cases,
                empty_label=None,
                widget=forms.RadioSelect,
                error_messages={
                    "required": "Choose the CME case this plan is for",
                    "invalid_choice": "Choose the CME case this plan is for",
                },
            )
            f["case"].label_from_instance = lambda c: (  # type: ignore[attr-defined]
                f"{c.reference} ({c.get_state_display().lower()})"
            )
        f["family_contacts"] = forms.CharField(
            required=False, widget=forms.Textarea, max_length=4000
        )
        f["key_contacts"] = forms.CharField(required=False, widget=forms.Textarea, max_length=4000)
        f["meeting_on"] = GovukDateField(what="the date of the PEP meeting", when="past")
        f["attendees"] = _text("Who attended", 4000, "Enter who attended the PEP meeting")
        f["summary"] = _text("The summary", 8000, "Enter a summary of the PEP meeting")
        f["suitable_education"] = forms.ChoiceField(
            choices=SuitableEducation.choices,
            widget=forms.RadioSelect,
            error_messages={
                "required": "Select yes, no or not known",
                "invalid_choice": "Select yes, no or not known",
            },
        )
        f["suitable_education_reasons"] = forms.CharField(
            required=False, widget=forms.Textarea, max_length=4000
        )
        f["review_on"] = GovukDateField(what="the review date", required=False)
        _target_fields(self)
        for t in STANDARD_TARGETS:
            if not self.is_bound and not self.initial.get(f"{t.area}_actions"):
                self.initial[f"{t.area}_actions"] = t.actions
            self.initial.setdefault(f"{t.area}_status", TargetStatus.NOT_STARTED)
        dates_as_boxes(self)

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        targets = _targets(data)
        if data.get("review_on") is None:
            data.pop("review_on", None)
        data.pop("case", None)
        return {**data, "targets": targets}


class PepReviewForm(TrackingForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        f = self.fields
        f["reviewed_on"] = GovukDateField(what="the date of the review meeting", when="past")
        f["attendees"] = _text("Who attended", 4000, "Enter who attended the review")
        f["summary"] = _text("The summary", 8000, "Enter a summary of the review")
        f["suitable_education"] = forms.ChoiceField(
            choices=SuitableEducation.choices,
            widget=forms.RadioSelect,
            error_messages={
                "required": "Select yes, no or not known",
                "invalid_choice": "Select yes, no or not known",
            },
        )
        f["suitable_education_reasons"] = forms.CharField(
            required=False, widget=forms.Textarea, max_length=4000
        )
        f["next_review_on"] = GovukDateField(what="the next review date", required=False)
        dates_as_boxes(self)

    def service_kwargs(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
