"""Forms of the home-education list, with GOV.UK error messages. They parse what was
typed; the rules (consent, who may write) are in the services, whose errors
``add_service_errors`` puts on the right field."""

from __future__ import annotations

from typing import Any

from django import forms

from cmetrack.casework.forms import GovukDateField, TrackingForm, _radio, _text
from cmetrack.organisations.models import Organisation, OrganisationKind

from .models import (
    ConsentStatus,
    EheEnd,
    EheReason,
    HomeEducationNoticeKind,
    LearntFrom,
    SenStatus,
)
from .selectors import ListStatus


def _schools() -> list[tuple[str, str]]:
    schools = Organisation.objects.filter(kind=OrganisationKind.SCHOOL, is_active=True).order_by(
        "name"
    )
    return [("", "Not one of our schools, or not known"), *((str(s.pk), s.name) for s in schools)]


class SchoolChoiceMixin:
    fields: dict[str, forms.Field]
    cleaned_data: dict[str, Any]

    def _school_field(self, name: str, required: str | None = None) -> None:
        self.fields[name] = forms.ChoiceField(
            choices=_schools(),
            required=bool(required),
            error_messages={
                "required": required or "",
                "invalid_choice": "Select a school from the list",
            },
        )

    def _school(self, name: str) -> Organisation | None:
        pk = self.cleaned_data.get(name)
        return Organisation.objects.get(pk=pk) if pk else None


class ChildIdentityForm(TrackingForm):
    """Who the child is: found by UPN or exact name and date of birth, else recorded."""

    given_names = _text(
        "Enter the child's first name", 100, "First name must be 100 characters or fewer"
    )
    family_name = _text(
        "Enter the child's last name", 100, "Last name must be 100 characters or fewer"
    )
    dob = GovukDateField(what="the child's date of birth", when="past")
    upn = _text(None, 13, "A UPN is 13 characters")
    address = _text(None, 150, "The address must be 150 characters or fewer")
    postcode = _text(None, 10, "Enter a real postcode")
    parent_name = _text(None, 150, "The parent's name must be 150 characters or fewer")

    def identity(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "given_names": d["given_names"],
            "family_name": d["family_name"],
            "dob": d["dob"],
            "upn": d.get("upn", ""),
            "address": d.get("address", ""),
            "postcode": d.get("postcode", ""),
            "parent_name": d.get("parent_name", ""),
        }


class HomeEducationAddForm(SchoolChoiceMixin, ChildIdentityForm):
    learnt_from = _radio(LearntFrom.choices, "Select how the authority learnt of it")
    learnt_on = GovukDateField(what="the date the authority learnt of it", when="past")
    started_on = GovukDateField(what="the date home education started", when="past")
    previous_school_name = _text(None, 200, "The school's name must be 200 characters or fewer")
    sen_status = _radio(SenStatus.choices, "Select the child's SEN or EHC plan status")
    source = _text(None, 200, "Details must be 200 characters or fewer")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._school_field("previous_school")
        self.order_fields(
            [
                "given_names",
                "family_name",
                "dob",
                "upn",
                "address",
                "postcode",
                "parent_name",
                "learnt_from",
                "learnt_on",
                "started_on",
                "previous_school",
                "previous_school_name",
                "sen_status",
                "source",
            ]
        )

    def record_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "learnt_from": d["learnt_from"],
            "learnt_on": d["learnt_on"],
            "started_on": d["started_on"],
            "previous_school": self._school("previous_school"),
            "previous_school_name": d.get("previous_school_name", ""),
            "sen_status": d["sen_status"],
            "source": d.get("source", ""),
        }


class ConcernForm(TrackingForm):
    prefix = "concern"
    raised_on = GovukDateField(what="the date the concern was raised", when="past")
    raised_by_whom = _text(
        "Enter who raised the concern", 200, "Who raised it must be 200 characters or fewer"
    )
    details = _text(
        "Enter the concern",
        4000,
        "The concern must be 4000 characters or fewer",
        widget=forms.Textarea,
    )


class EndForm(TrackingForm):
    prefix = "end"
    ended_on = GovukDateField(what="the date home education ended", when="past")
    ended_because = _radio(EheEnd.choices, "Choose why home education ended")
    reason = _text(
        "Enter why the child is no longer home educated",
        300,
        "The reason must be 300 characters or fewer",
    )


class NoticeForm(TrackingForm):
    """A section 437(1) notice or a school attendance order served (the DfE return)."""

    prefix = "notice"
    kind = _radio(
        HomeEducationNoticeKind.choices,
        "Choose a section 437(1) notice or a school attendance order",
    )
    served_on = GovukDateField(what="the date the notice was served", when="past")
    notes = _text(None, 4000, "The notes must be 4000 characters or fewer", widget=forms.Textarea)


class ReasonForm(TrackingForm):
    """The parent's primary reason for home education (the DfE return)."""

    prefix = "reason"
    primary_reason = _radio(
        [(v, label) for v, label in EheReason.choices if v],
        "Choose the primary reason for home education",
    )


class ConsentRequestForm(SchoolChoiceMixin, ChildIdentityForm):
    prefix = "request"
    requested_on = GovukDateField(what="the date of the request", when="past")
    requested_by = _text(
        "Enter who asked for consent", 200, "Who asked must be 200 characters or fewer"
    )
    child_protection_enquiries = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._school_field("school", "Select the school the child would leave")

    def request_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "school": self._school("school"),
            "requested_on": d["requested_on"],
            "requested_by": d["requested_by"],
            "child_protection_enquiries": d["child_protection_enquiries"],
        }


class ConsentDecisionForm(TrackingForm):
    decision = _radio(
        [(ConsentStatus.GRANTED, "Give consent"), (ConsentStatus.REFUSED, "Refuse consent")],
        "Select whether the authority consents",
    )
    decided_on = GovukDateField(what="the date of the decision", when="past")
    reason = _text(
        "Enter the reasons for the decision",
        4000,
        "Reasons must be 4000 characters or fewer",
        widget=forms.Textarea,
    )

    def __init__(self, *args: Any, request_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"decide-{request_id}")
        super().__init__(*args, **kwargs)


class ListFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=100)
    status = forms.ChoiceField(choices=ListStatus.choices, required=False)
    learnt_from = forms.ChoiceField(choices=[("", "Any"), *LearntFrom.choices], required=False)
    concern = forms.ChoiceField(
        choices=[("", "Any"), ("yes", "Concern raised"), ("no", "No concern")], required=False
    )

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        d = self.cleaned_data
        return {
            "q": d.get("q") or "",
            "status": d.get("status") or ListStatus.OPEN,
            "learnt_from": d.get("learnt_from") or "",
            "concern": {"yes": True, "no": False}.get(d.get("concern") or ""),
        }
