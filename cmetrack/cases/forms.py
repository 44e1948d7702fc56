"""The forms of the case page: one per action, with errors in the GOV.UK style.

Forms parse what a person (or an API caller) typed; the rules of each move live in the
services, which name the rule when they refuse. The same forms read the API's JSON body.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.kit.forms import name_length_limits
from cmetrack.organisations.models import LocalAuthority, Organisation, OrganisationKind

from .lifecycle import (
    CLOSING_OUTCOMES,
    ROUTE_OUTCOME,
    CaseState,
    HomeEducationEvidence,
    LocatedRoute,
    Outcome,
)
from .models import Case, CmeReason, FormOfProvision, HomeVisitOutcome, ReferralRoute, YesNoUnknown
from .permissions import ASSIGNABLE_ROLES
from .services import STATUTORY_DATE_FIELDS, SloOutcome, state_changes_to_correct


class GovukDateWidget(forms.Widget):
    """Three inputs, ``<name>-day``, ``-month``, ``-year`` (GOV.UK date input).

    An API caller may send one ISO date (``"2026-11-25"``) under ``<name>`` instead."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        whole = data.get(name)
        if whole not in (None, ""):
            return whole
        parts = tuple((data.get(f"{name}-{p}") or "").strip() for p in ("day", "month", "year"))
        return parts if any(parts) else None

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and f"{name}-day" not in data


class GovukDateField(forms.Field):
    widget = GovukDateWidget

    def __init__(self, *, label: str, **kwargs: Any) -> None:
        self.noun = label[0].lower() + label[1:]
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", f"Enter the {self.noun}")
        super().__init__(label=label, **kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if value in self.empty_values:
            return None
        if isinstance(value, dt.date):
            return value
        if isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise forms.ValidationError(
                    f"The {self.noun} must be a real date, like 2026-11-25", code="invalid"
                ) from None
        day, month, year = value
        missing = [n for n, v in (("day", day), ("month", month), ("year", year)) if not v]
        if missing:
            raise forms.ValidationError(
                f"The {self.noun} must include a {' and '.join(missing)}", code="incomplete"
            )
        try:
            result = dt.date(int(year), int(month), int(day))
        except ValueError:
            raise forms.ValidationError(
                f"The {self.noun} must be a real date", code="invalid"
            ) from None
        if result.year < 1900:
            raise forms.ValidationError(f"The {self.noun} must be a real date", code="invalid")
        return result

    def parts(self, bound: Any) -> tuple[str, str, str]:
        """The day, month and year to show back in the inputs."""
        value = bound.value()
        if isinstance(value, dt.date):
            return str(value.day), str(value.month), str(value.year)
        if isinstance(value, str):
            try:
                d = dt.date.fromisoformat(value)
            except ValueError:
                return "", "", ""
            return str(d.day), str(d.month), str(d.year)
        if isinstance(value, tuple):
            return value
        return "", "", ""


def _reason(label: str = "Reason", *, required: bool = False, message: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=required,
        max_length=2000,
        widget=forms.Textarea,
        error_messages={"required": message or f"Enter the {label.lower()}"},
    )


def schools() -> QuerySet[Organisation]:
    return Organisation.objects.filter(kind=OrganisationKind.SCHOOL, is_active=True).order_by(
        "name"
    )


def _school_choice(label: str) -> forms.ModelChoiceField[Organisation]:
    """An optional choice of school (the form sets ``queryset`` to :func:`schools`)."""
    return forms.ModelChoiceField(
        label=label,
        queryset=Organisation.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choose a school from the list"},
    )


def _authority_choice(label: str) -> forms.ModelChoiceField[LocalAuthority]:
    """An optional choice of local authority."""
    return forms.ModelChoiceField(
        label=label,
        queryset=LocalAuthority.objects.all(),
        required=False,
        error_messages={"invalid_choice": "Choose a local authority from the list"},
    )


class CaseActionForm(forms.Form):
    """Every case form carries the version of the case the person was looking at."""

    expected_version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def __init__(self, *args: Any, case: Case, actor_user: User | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        name_length_limits(self)
        self.case = case
        self.actor_user = actor_user
        if not self.is_bound:
            self.initial.setdefault("expected_version", case.version)

    def service_kwargs(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("expected_version", None)
        return data


def _choice(label: str, choices: Any, message: str, *, required: bool = True) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=label,
        choices=choices,
        required=required,
        widget=forms.RadioSelect,
        error_messages={"required": message, "invalid_choice": message},
    )


class StartSloInvestigationForm(CaseActionForm):
    school = _school_choice("School whose roll the child is on")
    reason = _reason()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools()  # type: ignore[attr-defined]
        if self.case.last_education_school_id:
            self.initial.setdefault("school", self.case.last_education_school_id)


class StartTrackingForm(CaseActionForm):
    reason = _reason()


class SloOutcomeForm(CaseActionForm):
    outcome = _choice("The SLO's decision", SloOutcome.choices, "Choose the SLO's decision")
    reason = _reason(
        "Reason for the decision", required=True, message="Give the reason for the decision"
    )


class AdviseOffRollForm(CaseActionForm):
    advised_date = GovukDateField(label="Date the school may take the child off roll")
    reason = _reason("Notes")


class HomeVisitForm(CaseActionForm):
    visited_on = GovukDateField(label="Date of the visit")
    visited_by = forms.CharField(
        label="Who visited",
        max_length=200,
        error_messages={"required": "Enter who visited"},
    )
    outcome = _choice("What happened", HomeVisitOutcome.choices, "Choose what happened")
    notes = _reason("Notes")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.actor_user is not None:
            self.initial.setdefault("visited_by", self.actor_user.get_full_name())


class LocateForm(CaseActionForm):
    where = forms.CharField(
        label="Where the child is",
        help_text="An address, or a description of where the child is.",
        max_length=300,
        widget=forms.Textarea,
        error_messages={"required": "Enter where the child is"},
    )
    route = _choice(
        "Where the child's education is",
        LocatedRoute.choices,
        "Choose where the child's education is",
    )
    school = _school_choice("School (if on a school roll)")
    local_authority = _authority_choice("Local authority (if moved to another authority)")
    located_on = GovukDateField(label="Date the child was located")
    home_education_evidence = _choice(
        "Evidence of home education (if home educated)",
        HomeEducationEvidence.choices,
        "Choose the evidence of home education",
        required=False,
    )
    home_education_evidence_on = GovukDateField(
        label="Date of the evidence of home education", required=False
    )
    reason = _reason("Notes")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools()  # type: ignore[attr-defined]
        self.initial.setdefault("located_on", timezone.localdate())


class NeedsAssessmentForm(CaseActionForm):
    date_of_assessment = GovukDateField(label="Date of assessment")
    early_help_assessment = _choice(
        "Is an early help (Common Assessment Framework) assessment in place?",
        YesNoUnknown.choices,
        "Say whether an early help (CAF) assessment is in place: yes, no or not known",
    )
    lead_professional = forms.CharField(
        label="Lead professional (name and service)",
        help_text="The person who co-ordinates the services supporting the child, if "
        "more than one service is involved. Needed when an early help assessment is in place.",
        max_length=200,
        required=False,
    )
    reason = _reason("Notes")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("date_of_assessment", timezone.localdate())


class DetermineProvisionForm(CaseActionForm):
    provision_recommended = _choice(
        "Form of provision recommended",
        FormOfProvision.choices,
        "Choose the form of provision recommended",
    )
    date_provision_determined = GovukDateField(label="Date form of provision determined")
    reason = _reason("Notes")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.initial.setdefault("date_provision_determined", timezone.localdate())


class MoveIntoProvisionForm(CaseActionForm):
    provider = forms.ModelChoiceField(
        label="Provider",
        help_text="The school or alternative provider the child started at.",
        queryset=Organisation.objects.none(),
        error_messages={
            "required": "Choose the provider the child moved into",
            "invalid_choice": "Choose a provider from the list",
        },
    )
    date_moved_into_provision = GovukDateField(label="Date moved into provision")
    provision_accessed = _choice(
        "Form of provision accessed",
        FormOfProvision.choices,
        "Choose the form of provision accessed",
    )
    reason = _reason("Notes")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = schools()  # type: ignore[attr-defined]
        if self.case.provision_recommended:
            self.initial.setdefault("provision_accessed", self.case.provision_recommended)


class PlacementFailedForm(CaseActionForm):
    reason = _reason(
        "Why the placement failed", required=True, message="Say why the placement failed"
    )


class CloseForm(CaseActionForm):
    outcome = _choice("Outcome", [], "Choose an outcome")
    reason = _reason(
        "Reason for closing", required=True, message="Give the reason for closing the case"
    )
    evidence = _reason("Evidence")
    school = _school_choice("School (found on a school roll)")
    local_authority = _authority_choice("Local authority (moved to another authority)")
    acknowledged_by = forms.CharField(
        label="Who at that authority acknowledged the child", max_length=150, required=False
    )
    acknowledged_on = GovukDateField(label="Date the authority acknowledged", required=False)
    confirmation_source = forms.CharField(
        label="Who confirmed the child left the country", max_length=200, required=False
    )
    confirmed_on = GovukDateField(label="Date leaving the country was confirmed", required=False)
    effective_on = GovukDateField(
        label="Date the case closed, if before today (the reason for closing says why)",
        required=False,
    )
    home_education_evidence = _choice(
        "Evidence of home education (if not recorded when located)",
        HomeEducationEvidence.choices,
        "Choose the evidence of home education",
        required=False,
    )
    home_education_evidence_on = GovukDateField(
        label="Date of the evidence of home education", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        allowed = CLOSING_OUTCOMES.get(CaseState(self.case.state), frozenset())
        outcome_field = self.fields["outcome"]
        assert isinstance(outcome_field, forms.ChoiceField)
        outcome_field.choices = [(o.value, o.label) for o in Outcome if o in allowed]
        self.fields["school"].queryset = schools()  # type: ignore[attr-defined]
        if self.case.destination_school_id:
            self.initial.setdefault("school", self.case.destination_school_id)
        if self.case.destination_la_id:
            self.initial.setdefault("local_authority", self.case.destination_la_id)
        if self.case.located_route:
            suggested = ROUTE_OUTCOME.get(LocatedRoute(self.case.located_route))
            if suggested in allowed:
                self.initial.setdefault("outcome", suggested)
        if self.case.state == CaseState.IN_PROVISION:
            self.initial.setdefault("outcome", Outcome.ATTENDING_PROVISION)


class RequestSloVisitForm(CaseActionForm):
    slo = forms.ModelChoiceField(
        label="School Liaison Officer",
        queryset=User.objects.none(),
        error_messages={
            "required": "Choose the School Liaison Officer",
            "invalid_choice": "Choose a School Liaison Officer from the list",
        },
    )
    reason = _reason(
        "What tracking and contacts found",
        required=True,
        message="Say what tracking and contacts found (why a home visit is needed)",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["slo"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(is_active=True, roles__role="slo").distinct().order_by("full_name")
        )


class MissingFromCareForm(CaseActionForm):
    missing_since = GovukDateField(label="Date the child went missing")
    social_worker = forms.CharField(
        label="Social worker following the missing from home or care protocol",
        help_text="Name and team.",
        max_length=200,
        error_messages={"required": "Enter the social worker following the protocol"},
    )
    social_worker_contact = forms.CharField(
        label="Social worker's phone or email", max_length=200, required=False
    )
    reported_to_police = _choice(
        "Reported missing to the police?",
        YesNoUnknown.choices,
        "Say whether the child was reported missing to the police: yes, no or not known",
    )
    notes = _reason("Notes")


class MakeDormantForm(CaseActionForm):
    reason = _reason("Why the case should go dormant")


class ReopenTrackingForm(CaseActionForm):
    new_information = _reason(
        "New information", required=True, message="Enter the new information about the child"
    )


class ReopenForm(CaseActionForm):
    reason = _reason(
        "Why the case is reopened", required=True, message="Give the reason for reopening"
    )
    route = _choice("How the new information came", ReferralRoute.choices, "", required=False)


class AssignForm(CaseActionForm):
    officer = forms.ModelChoiceField(
        label="Officer",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody (unassigned)",
        error_messages={"invalid_choice": "Choose an officer from the list"},
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = (  # type: ignore[attr-defined]
            User.objects.filter(is_active=True, roles__role__in=ASSIGNABLE_ROLES)
            .distinct()
            .order_by("full_name")
        )
        self.initial.setdefault("officer", self.case.assigned_officer_id)


class CorrectDateForm(CaseActionForm):
    field = _choice(
        "Which date", list(STATUTORY_DATE_FIELDS.items()), "Choose which date to correct"
    )
    value = GovukDateField(label="Corrected date")
    reason = _reason(
        "Reason for the correction", required=True, message="Give the reason for the correction"
    )


class CorrectStateDateForm(CaseActionForm):
    """A manager corrects the day a move took effect (the figures by date follow it)."""

    change = _choice("Which move", [], "Choose the move to correct")
    effective_on = GovukDateField(label="Corrected date the move took effect")
    reason = _reason(
        "Reason for the correction", required=True, message="Give the reason for the correction"
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["change"].choices = state_changes_to_correct(self.case)  # type: ignore[attr-defined]


class CorrectRouteForm(CaseActionForm):
    """Correct where a located child's education is (the route), from the day located or
    from a later day."""

    route = _choice(
        "Where the child's education is",
        LocatedRoute.choices,
        "Choose where the child's education is",
    )
    effective_on = GovukDateField(
        label="From which date",
        required=False,
        help_text="Leave blank if the route was wrong from the day the child was located. "
        "Give a later date if the route changed that day.",
    )
    where = forms.CharField(
        label="Where the child is (if it changed)",
        max_length=300,
        required=False,
        widget=forms.Textarea,
    )
    school = _school_choice("School (if on a school roll)")
    local_authority = _authority_choice("Local authority (if moved to another authority)")
    home_education_evidence = _choice(
        "Evidence of home education (if home educated)",
        HomeEducationEvidence.choices,
        "Choose the evidence of home education",
        required=False,
    )
    home_education_evidence_on = GovukDateField(
        label="Date of the evidence of home education", required=False
    )
    reason = _reason(
        "Reason for the correction", required=True, message="Give the reason for the correction"
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["school"].queryset = schools()  # type: ignore[attr-defined]
        if self.case.located_route:
            self.initial.setdefault("route", self.case.located_route)


class CircumstancesForm(CaseActionForm):
    cme_reason = _choice(
        "Primary reason the child is missing education",
        CmeReason.choices,
        "Choose the primary reason the child is missing education",
    )
    new_to_area = _choice(
        "Is the child new to the area?",
        YesNoUnknown.choices,
        "Say whether the child is new to the area: yes, no or not known",
    )
    new_to_country = _choice(
        "Is the child new to the country?",
        YesNoUnknown.choices,
        "Say whether the child is new to the country: yes, no or not known",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for name in ("cme_reason", "new_to_area", "new_to_country"):
            current = getattr(self.case, name)
            if current:
                self.initial.setdefault(name, current)


class QueueFilterForm(forms.Form):
    """The filters of the work queues (GET)."""

    q = forms.CharField(label="Name, UPN or case reference", required=False, max_length=100)
    state = forms.ChoiceField(
        label="State", choices=[("", "Any state"), *CaseState.choices], required=False
    )
    route = forms.ChoiceField(
        label="Referred by", choices=[("", "Any route"), *ReferralRoute.choices], required=False
    )
    officer = forms.ChoiceField(label="Officer", choices=[], required=False)
    after = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        officers = (
            User.objects.filter(is_active=True, roles__role__in=ASSIGNABLE_ROLES)
            .distinct()
            .order_by("full_name")
            .values_list("pk", "full_name")
        )
        officer_field = self.fields["officer"]
        assert isinstance(officer_field, forms.ChoiceField)
        officer_field.choices = [
            ("", "Any officer"),
            ("none", "Nobody (unassigned)"),
            *[(str(pk), name) for pk, name in officers],
        ]
