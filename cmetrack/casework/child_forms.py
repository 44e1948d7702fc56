"""Forms for correcting a child's record from the case: the child's details, a new
address, and a parent or carer. The people services check names and phone numbers
(``rules.names``); these forms check what a form can (required, lengths, real dates)."""

from __future__ import annotations

from typing import Any

from django import forms

from cmetrack.people.choices import DobCertainty, Relationship, Sex
from cmetrack.people.models import Child, ParentCarer
from cmetrack.rules.names import name_problem, phone_problem

from .forms import GovukDateField, TrackingForm, _radio, _text


def _name(required: str | None, what: str) -> forms.CharField:
    return _text(required, 100, f"Enter {what} in 100 characters or fewer")


class _NamesChecked(TrackingForm):
    #: Field → the words for it in messages ("the child's last name").
    names: dict[str, str] = {}
    phones: dict[str, str] = {}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field, what in self.names.items():
            if (problem := name_problem(str(data.get(field) or ""), what)) is not None:
                self.add_error(field, problem)
        for field, what in self.phones.items():
            if (problem := phone_problem(str(data.get(field) or ""), what)) is not None:
                self.add_error(field, problem)
        return data


class ChildDetailsForm(_NamesChecked):
    legal_given_names = _name("Enter the child's first name", "the child's first name")
    legal_middle_names = _name(None, "the child's middle names")
    legal_family_name = _name("Enter the child's last name", "the child's last name")
    dob = GovukDateField(what="the date of birth", when="past", required=False)
    dob_certainty = _radio(DobCertainty.choices, "Say how certain the date of birth is")
    sex = _radio(Sex.choices, "Choose the child's sex, or not known")
    upn = _text(None, 13, "The UPN must be 13 characters, like A123456789012")
    reason = _text(
        "Give the reason for the correction",
        300,
        "The reason must be 300 characters or fewer",
        widget=forms.Textarea,
    )
    names = {
        "legal_given_names": "the child's first name",
        "legal_middle_names": "the child's middle names",
        "legal_family_name": "the child's last name",
    }

    @classmethod
    def for_child(cls, child: Child, data: Any = None) -> ChildDetailsForm:
        return cls(
            data,
            prefix="details",
            initial={
                "legal_given_names": child.legal_given_names,
                "legal_middle_names": child.legal_middle_names,
                "legal_family_name": child.legal_family_name,
                "dob": child.dob,
                "dob_certainty": child.dob_certainty,
                "sex": child.sex,
                "upn": child.upn or "",
            },
        )

    def changes(self, child: Child) -> dict[str, Any]:
        """Only the details that differ from the record."""
        data = self.cleaned_data
        upn = (data["upn"] or "").strip().upper().replace(" ", "") or None
        proposed = {
            "legal_given_names": data["legal_given_names"],
            "legal_middle_names": data["legal_middle_names"],
            "legal_family_name": data["legal_family_name"],
            "dob": data["dob"],
            "dob_certainty": data["dob_certainty"],
            "sex": data["sex"],
            "upn": upn,
        }
        return {k: v for k, v in proposed.items() if getattr(child, k) != v}


class AddressForm(TrackingForm):
    line1 = _text(
        "Enter the first line of the address", 150, "Address line 1 must be 150 characters or fewer"
    )
    line2 = _text(None, 150, "Address line 2 must be 150 characters or fewer")
    town = _text(None, 80, "The town or city must be 80 characters or fewer")
    postcode = _text(None, 10, "The postcode must be 10 characters or fewer")
    date_from = GovukDateField(what="the date the child moved there", when="past", required=False)
    is_restricted = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "address")
        super().__init__(*args, **kwargs)

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "line1": d["line1"].strip(),
            "line2": d["line2"].strip(),
            "town": d["town"].strip(),
            "postcode": d["postcode"].strip().upper(),
            "date_from": d["date_from"],
            "is_restricted": d["is_restricted"],
        }


class ParentCarerForm(_NamesChecked):
    given_names = _name("Enter their first name", "their first name")
    family_name = _name("Enter their last name", "their last name")
    relationship = _radio(Relationship.choices, "Choose their relationship to the child")
    phone = _text(None, 40, "Enter their phone number in 40 characters or fewer")
    email = forms.EmailField(
        required=False,
        max_length=254,
        error_messages={
            "invalid": "Enter their email address in the correct format, like name@example.org"
        },
    )
    lives_with_child = _radio(
        [("yes", "Yes"), ("no", "No")], "Say whether the child lives with them"
    )
    parental_responsibility = _radio(
        [("yes", "Yes"), ("no", "No")], "Say whether they have parental responsibility"
    )
    reason = _text(None, 300, "The reason must be 300 characters or fewer")
    names = {"given_names": "their first name", "family_name": "their last name"}
    phones = {"phone": "their phone number"}

    def __init__(self, *args: Any, parent: ParentCarer | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "parent")
        if parent is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "given_names": parent.given_names,
                "family_name": parent.family_name,
                "relationship": parent.relationship,
                "phone": parent.phone,
                "email": parent.email,
                "lives_with_child": "yes" if parent.lives_with_child else "no",
                "parental_responsibility": "yes" if parent.parental_responsibility else "no",
            }
        super().__init__(*args, **kwargs)
        self.parent = parent
        if parent is not None:
            self.fields["reason"].required = True
            self.fields["reason"].error_messages["required"] = "Give the reason for the correction"

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "given_names": d["given_names"],
            "family_name": d["family_name"],
            "relationship": d["relationship"],
            "phone": d["phone"].strip(),
            "email": d["email"],
            "lives_with_child": d["lives_with_child"] == "yes",
            "parental_responsibility": d["parental_responsibility"] == "yes",
        }
