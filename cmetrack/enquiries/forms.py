"""Forms of the enquiry pages, with GOV.UK error messages. They parse what was typed; the
rules (one authority, its own reason, nothing restricted, the status table) are in
:mod:`.services`, whose errors ``add_service_errors`` puts on the right field."""

from __future__ import annotations

from typing import Any

from django import forms

from cmetrack.casework.forms import GovukDateField, TrackingForm
from cmetrack.organisations.models import LocalAuthority
from cmetrack.people.choices import Sex

from .dataset import ALL_ITEMS, EnquiryDetails
from .models import HomeOfficeResult, ReplyOutcome, RiskLevel
from .services import NONE_OF_THESE, EnquiryRequest


def _authority_choices(qs: Any) -> list[tuple[str, str]]:
    return [("", "Choose an authority")] + [(str(la.pk), f"{la.name} ({la.code})") for la in qs]


class AuthorityField(forms.ChoiceField):
    def __init__(self, *, queryset: Any, **kwargs: Any) -> None:
        self.queryset = queryset
        kwargs.setdefault("error_messages", {"required": "Choose the authority"})
        super().__init__(choices=_authority_choices(queryset), **kwargs)

    def clean(self, value: Any) -> LocalAuthority | None:
        value = super().clean(value)
        if not value and not self.required:
            return None
        try:
            return self.queryset.get(pk=int(value))  # type: ignore[no-any-return]
        except (ValueError, LocalAuthority.DoesNotExist) as exc:
            raise forms.ValidationError("Choose the authority") from exc


#: Other authorities the same form may ask at once (each with its own reason).
EXTRA_AUTHORITIES = (2, 3)


class EnquiryForm(TrackingForm):
    """An enquiry to one named authority about the case's child."""

    field_map = {"share": "share"}

    reason_linked = forms.CharField(
        widget=forms.Textarea,
        max_length=2000,
        error_messages={
            "required": "Give the reason for believing the child is linked to the authority"
        },
    )
    share = forms.MultipleChoiceField(
        choices=list(ALL_ITEMS.items()),
        required=False,
    )
    date_left_area = GovukDateField(
        what="the date the child left the area", when="past", required=False
    )
    possible_new_address = forms.CharField(max_length=300, required=False)
    possible_new_school = forms.CharField(max_length=300, required=False)
    country_of_origin = forms.CharField(max_length=300, required=False)
    reason_for_leaving = forms.CharField(widget=forms.Textarea, max_length=2000, required=False)
    attendance_interventions = forms.CharField(
        widget=forms.Textarea, max_length=2000, required=False
    )
    other_vulnerability = forms.CharField(widget=forms.Textarea, max_length=2000, required=False)

    def __init__(self, *args: Any, authorities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["local_authority"] = AuthorityField(queryset=authorities)
        for n in EXTRA_AUTHORITIES:
            self.fields[f"local_authority_{n}"] = AuthorityField(
                queryset=authorities, required=False
            )
            self.fields[f"reason_linked_{n}"] = forms.CharField(
                widget=forms.Textarea, max_length=2000, required=False
            )
        self.order_fields(["local_authority", "reason_linked"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for n in EXTRA_AUTHORITIES:
            if data.get(f"reason_linked_{n}", "").strip() and not data.get(f"local_authority_{n}"):
                self.add_error(f"local_authority_{n}", "Choose the authority this reason is about")
        return data

    def requests(self) -> list[EnquiryRequest]:
        """One request per authority chosen, each with the reason typed beside it."""
        d = self.cleaned_data
        out = [EnquiryRequest(d["local_authority"], d["reason_linked"])]
        for n in EXTRA_AUTHORITIES:
            la = d.get(f"local_authority_{n}")
            if la is not None:
                out.append(EnquiryRequest(la, d.get(f"reason_linked_{n}", "")))
        return out

    def details(self) -> EnquiryDetails:
        d = self.cleaned_data
        return EnquiryDetails(
            date_left_area=d.get("date_left_area"),
            possible_new_address=d.get("possible_new_address", ""),
            possible_new_school=d.get("possible_new_school", ""),
            country_of_origin=d.get("country_of_origin", ""),
            reason_for_leaving=d.get("reason_for_leaving", ""),
            attendance_interventions=d.get("attendance_interventions", ""),
            other_vulnerability=d.get("other_vulnerability", ""),
            share=frozenset(d.get("share") or []),
        )


class AcknowledgeForm(TrackingForm):
    acknowledged_by = forms.CharField(
        max_length=150, error_messages={"required": "Enter who acknowledged the enquiry"}
    )
    acknowledged_on = GovukDateField(what="the date of the acknowledgement", when="past")


class ChaseForm(TrackingForm):
    chased_on = GovukDateField(what="the date you chased", when="past")
    note = forms.CharField(max_length=300, required=False)


class ReplyForm(TrackingForm):
    received_on = GovukDateField(what="the date the reply was received", when="past")
    outcome = forms.ChoiceField(
        choices=ReplyOutcome.choices,
        error_messages={"required": "Choose what the authority found"},
    )
    responder_name = forms.CharField(
        max_length=150, error_messages={"required": "Enter who replied"}
    )
    responder_role = forms.CharField(max_length=150, required=False)
    school = forms.CharField(max_length=200, required=False)
    address = forms.CharField(max_length=300, required=False)
    details = forms.CharField(widget=forms.Textarea, max_length=2000, required=False)


class ReplyImportForm(TrackingForm):
    field_map = {"file": "file"}
    file = forms.FileField(error_messages={"required": "Choose the JSON reply file"})


class CloseForm(TrackingForm):
    reason = forms.CharField(
        max_length=300, error_messages={"required": "Say why the enquiry is closed"}
    )


class IncomingForm(TrackingForm):
    """Another authority's enquiry, typed from its letter."""

    received_on = GovukDateField(what="the date the enquiry was received", when="past")
    given_names = forms.CharField(
        max_length=100, error_messages={"required": "Enter the child's given names"}
    )
    family_name = forms.CharField(max_length=100, required=False)
    dob = GovukDateField(what="the date of birth", when="past", required=False)
    sex = forms.ChoiceField(choices=Sex.choices, initial=Sex.UNKNOWN, required=False)
    reason_linked = forms.CharField(
        widget=forms.Textarea,
        max_length=2000,
        error_messages={"required": "Enter their reason for believing the child is in our area"},
    )
    address_given = forms.CharField(max_length=300, required=False)
    postcode = forms.CharField(max_length=10, required=False)
    vulnerabilities = forms.CharField(widget=forms.Textarea, max_length=2000, required=False)
    their_reference = forms.CharField(max_length=40, required=False)
    contact_name = forms.CharField(max_length=120, required=False)
    contact_email = forms.EmailField(
        required=False,
        error_messages={"invalid": "Enter an email address like name@example.gov.uk"},
    )

    def __init__(self, *args: Any, authorities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["from_la"] = AuthorityField(queryset=authorities)
        self.order_fields(["from_la", "received_on"])


class IncomingImportForm(TrackingForm):
    field_map = {"file": "file"}
    file = forms.FileField(error_messages={"required": "Choose the JSON enquiry file"})


class AssessForm(TrackingForm):
    assessed_on = GovukDateField(what="the date of the assessment", when="past")
    risk_level = forms.ChoiceField(
        choices=RiskLevel.choices, error_messages={"required": "Choose the level of risk"}
    )
    assessment = forms.CharField(
        widget=forms.Textarea,
        max_length=4000,
        error_messages={"required": "Say what the assessment found"},
    )


class VisitForm(TrackingForm):
    due = GovukDateField(what="the date the visit is due", when="future")

    def __init__(self, *args: Any, owners: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = forms.ChoiceField(
            choices=[("", "Choose who visits"), *owners],
            error_messages={"required": "Choose who visits"},
        )


class MatchForm(TrackingForm):
    """Which of the records the search found is the child, or none of them."""

    def __init__(self, *args: Any, results: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [
            (
                str(r["key"]),
                f"{r.get('name', '')}, born {r.get('dob', '')}: {r.get('register', '')}, "
                f"{r.get('where', '')} ({r.get('probability', '')} likely)",
            )
            for r in results
            if r.get("key")
        ]
        self.fields["choice"] = forms.ChoiceField(
            choices=[*choices, (NONE_OF_THESE, "None of these is the child")],
            error_messages={
                "required": "Choose the child the search found, or say that none of them is",
                "invalid_choice": "Choose one of the possible matches shown",
            },
        )


class IncomingReplyForm(TrackingForm):
    outcome = forms.ChoiceField(
        choices=ReplyOutcome.choices, error_messages={"required": "Choose what we found"}
    )
    details = forms.CharField(widget=forms.Textarea, max_length=2000, required=False)
    school = forms.CharField(max_length=200, required=False)
    address = forms.CharField(max_length=300, required=False)


class MoveNoticeForm(TrackingForm):
    sent_on = GovukDateField(what="the date the notice was sent", when="past")
    details = forms.CharField(widget=forms.Textarea, max_length=2000, required=False)

    def __init__(self, *args: Any, authorities: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["local_authority"] = AuthorityField(queryset=authorities)
        self.order_fields(["local_authority", "sent_on"])


class HomeOfficeForm(TrackingForm):
    requested_on = GovukDateField(what="the date the Home Office was asked", when="past")
    result = forms.ChoiceField(
        choices=HomeOfficeResult.choices,
        error_messages={"required": "Choose the Home Office's answer"},
    )
    result_on = GovukDateField(what="the date of the answer", when="past", required=False)
    reference = forms.CharField(max_length=60, required=False)
    details = forms.CharField(widget=forms.Textarea, max_length=2000, required=False)


class ContactForm(TrackingForm):
    """An authority's named CME contact (administrators)."""

    cme_contact_name = forms.CharField(max_length=120, required=False)
    cme_contact_role = forms.CharField(max_length=120, required=False)
    cme_contact_email = forms.EmailField(
        max_length=254,
        required=False,
        error_messages={"invalid": "Enter a secure email address like cme@example.gov.uk"},
    )
    cme_contact_phone = forms.CharField(max_length=40, required=False)
    contact_confirmed_on = GovukDateField(
        what="the date the contact was last confirmed", when="past", required=False
    )
