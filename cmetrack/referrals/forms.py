"""The front door's forms, with error messages in the GOV.UK style.

Forms check what was typed (present, the right shape, a real date). The rules about a
referral (the threshold of absence, the school's checks, who may refer whom) are the
services'; a view shows the services' ``ValidationError`` on the same form
(:func:`add_service_errors`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from cmetrack.kit.forms import too_long
from cmetrack.people.choices import Relationship, Sex
from cmetrack.rules import InvalidUPN, normalise_upn, validate_upn
from cmetrack.rules.names import name_problem, phone_problem

from .models import AgencySituation, CheckKind, CheckStatus, Concern

# --- a GOV.UK date input as one field ---------------------------------------------------


class DatePartsWidget(forms.Widget):
    """Reads ``<name>-day``, ``<name>-month`` and ``<name>-year`` (govukDateInput)."""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        parts = tuple(str(data.get(f"{name}-{p}", "")).strip() for p in ("day", "month", "year"))
        return parts if any(parts) else None

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return not any(f"{name}-{p}" in data for p in ("day", "month", "year"))


class GovukDateField(forms.Field):
    """A date typed as day, month and year, with the GOV.UK pattern's messages."""

    widget = DatePartsWidget

    def __init__(
        self, *, noun: str, past: bool = True, required_message: str = "", **kwargs: Any
    ) -> None:
        self.noun = noun  # e.g. "Date of birth"
        self.past = past
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault(
            "required", required_message or f"Enter the {noun.lower()}"
        )
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if value in (None, ""):
            return None
        if isinstance(value, dt.date):
            return value
        day, month, year = value
        missing = [n for n, v in (("day", day), ("month", month), ("year", year)) if not v]
        if missing:
            raise ValidationError(f"{self.noun} must include a {' and a '.join(missing)}")
        try:
            d, m, y = int(day), int(month), int(year)
        except ValueError as exc:
            raise ValidationError(f"{self.noun} must be a real date") from exc
        if y < 1000:
            raise ValidationError(f"{self.noun} year must include 4 numbers")
        try:
            date = dt.date(y, m, d)
        except ValueError as exc:
            raise ValidationError(f"{self.noun} must be a real date") from exc
        if self.past and date > timezone.localdate():
            raise ValidationError(f"{self.noun} must be today or in the past")
        if date.year < 1900:
            raise ValidationError(f"{self.noun} must be after 1900")
        return date


def _req(message: str) -> dict[str, str]:
    """The message for a missing answer, also used for an answer that is not an option."""
    return {"required": message, "invalid_choice": message}


def _text(label: str, *, required: str = "", max_length: int = 100, **kw: Any) -> forms.CharField:
    messages = {
        "required": required,
        "max_length": too_long(label, max_length),
    }
    return forms.CharField(
        label=label, required=bool(required), max_length=max_length, error_messages=messages, **kw
    )


def _area(label: str, *, required: str = "", max_length: int = 5000, **kw: Any) -> forms.CharField:
    return _text(label, required=required, max_length=max_length, widget=forms.Textarea, **kw)


SEX_CHOICES = [(Sex.FEMALE, "Female"), (Sex.MALE, "Male"), (Sex.UNKNOWN, "Not known")]
CONCERN_CHOICES = list(Concern.choices)
RELATIONSHIP_CHOICES = [("", "Choose a relationship"), *Relationship.choices]


class UpnField(forms.CharField):
    def clean(self, value: Any) -> str:
        raw = super().clean(value)
        if not raw:
            return ""
        upn = normalise_upn(raw)
        try:
            validate_upn(upn)
        except InvalidUPN as exc:
            raise ValidationError(
                f"Enter a real UPN: 13 characters, a check letter then 12 numbers ({exc})"
            ) from exc
        return upn


class ParentsMixin:
    """Two parent or carer rows, flattened as ``parentN_name`` and so on."""

    PARENT_ROWS = 2
    parents_required: bool = False
    cleaned_data: dict[str, Any]

    @classmethod
    def parent_fields(cls) -> dict[str, forms.Field]:
        fields: dict[str, forms.Field] = {}
        for n in range(1, cls.PARENT_ROWS + 1):
            fields[f"parent{n}_name"] = _text("Full name", max_length=200)
            fields[f"parent{n}_relationship"] = forms.ChoiceField(
                label="Relationship to the child",
                choices=RELATIONSHIP_CHOICES,
                required=False,
                error_messages=_req(f"Select the relationship of parent or carer {n} to the child"),
            )
            fields[f"parent{n}_phone"] = _text("Phone number", max_length=40)
            fields[f"parent{n}_email"] = forms.EmailField(
                label="Email address",
                required=False,
                max_length=254,
                error_messages={
                    "invalid": "Enter an email address in the correct format, like name@example.org"
                },
            )
        return fields

    def clean_parents(self) -> list[dict[str, str]]:
        rows = []
        for n in range(1, self.PARENT_ROWS + 1):
            row = {
                k: self.cleaned_data.get(f"parent{n}_{k}") or ""
                for k in ("name", "relationship", "phone", "email")
            }
            if not any(row.values()) and not (n == 1 and self.parents_required):
                continue
            if not row["name"]:
                self.add_error(f"parent{n}_name", f"Enter the full name of parent or carer {n}")  # type: ignore[attr-defined]
            elif problem := name_problem(row["name"], f"the name of parent or carer {n}"):
                self.add_error(f"parent{n}_name", problem)  # type: ignore[attr-defined]
            if row["phone"] and (
                problem := phone_problem(row["phone"], f"the phone number of parent or carer {n}")
            ):
                self.add_error(f"parent{n}_phone", problem)  # type: ignore[attr-defined]
            if not row["relationship"]:
                self.add_error(  # type: ignore[attr-defined]
                    f"parent{n}_relationship",
                    f"Select the relationship of parent or carer {n} to the child",
                )
            rows.append(row)
        return rows


#: The child's names on every referral form, and the words for them in messages.
CHILD_NAMES = {"given_names": "the child's first name", "family_name": "the child's last name"}


def _check_names(form: forms.Form, names: Mapping[str, str]) -> None:
    """Names as people write them (Welsh and Irish names, accents, apostrophes), not digits
    or emoji; each problem on its own field, naming it (rules/names.py)."""
    for field, what in names.items():
        if (problem := name_problem(str(form.cleaned_data.get(field) or ""), what)) is not None:
            form.add_error(field, problem)


def keep_revealed(form: forms.Form, revealed: Mapping[str, tuple[str, ...]], chosen: Any) -> None:
    """A conditional reveal on the server: the answers revealed by an option (GOV.UK radios'
    ``conditional``) count only when that option is chosen. The others are dropped with
    any error they had, so a question answered and then hidden again is neither checked
    nor kept."""
    shown = set(revealed.get(str(chosen or ""), ()))
    for name in {n for names in revealed.values() for n in names} - shown:
        form.errors.pop(name, None)
        form.cleaned_data[name] = None if isinstance(form.fields[name], GovukDateField) else ""


#: The safeguarding question's answer that reveals the details, and the details.
SAFEGUARDING_REVEALS = {Concern.YES.value: ("safeguarding_details",)}


def _safeguarding(form: forms.Form) -> None:
    chosen = form.cleaned_data.get("safeguarding_concern")
    keep_revealed(form, SAFEGUARDING_REVEALS, chosen)
    if chosen == Concern.YES and not form.cleaned_data.get("safeguarding_details"):
        form.add_error("safeguarding_details", "Describe the safeguarding concern")


class SchoolReferralForm(ParentsMixin, forms.Form):
    parents_required = True

    given_names = _text("First name", required="Enter the child's first name")
    family_name = _text("Last name", required="Enter the child's last name")
    aliases = _text("Other names the child is known by (optional)", max_length=300)
    dob = GovukDateField(noun="Date of birth", required_message="Enter the child's date of birth")
    sex = forms.ChoiceField(
        label="Sex", choices=SEX_CHOICES, error_messages=_req("Select the child's sex")
    )
    gender = _text("Gender, if different from sex (optional)", max_length=50)
    upn = UpnField(label="UPN (optional)", required=False, max_length=20)
    address = _area("Address", required="Enter the child's address", max_length=300)
    postcode = _text("Postcode", max_length=10)
    date_last_attendance = GovukDateField(
        noun="Date of last attendance",
        required_message="Enter the date the child last attended",
    )
    absence_school_days = forms.IntegerField(
        label="School days of continuous unexplained absence",
        min_value=0,
        max_value=400,
        error_messages={
            "required": "Enter the number of school days of continuous unexplained absence",
            "invalid": "School days of absence must be a whole number, like 12",
            "min_value": "School days of absence must be 0 or more",
            "max_value": "School days of absence must be 400 or fewer",
        },
    )
    safeguarding_concern = forms.ChoiceField(
        label="Is there a safeguarding concern about the child?",
        choices=CONCERN_CHOICES,
        error_messages=_req("Select whether there is a safeguarding concern about the child"),
    )
    safeguarding_details = _area("Describe the concern")
    siblings = _area("Siblings and their schools, if known (optional)", max_length=2000)
    reason = _area(
        "Why are you referring the child?", required="Say why you are referring the child"
    )
    all_checks_complete = forms.BooleanField(
        label="The school has completed every check", required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.parent_fields().items():
            self.fields[name] = field
        # Parent or carer 1 is required on a school referral.
        self.fields["parent1_name"].error_messages["required"] = (
            "Enter the full name of parent or carer 1"
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["parents_carers"] = self.clean_parents()
        _check_names(self, CHILD_NAMES)
        _safeguarding(self)
        return data

    def service_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        names = (
            "given_names", "family_name", "aliases", "dob", "sex", "gender", "upn", "address",
            "postcode", "parents_carers", "siblings", "reason", "date_last_attendance",
            "absence_school_days", "safeguarding_concern", "safeguarding_details",
        )  # fmt: skip
        return {n: d.get(n) for n in names}


class CheckForm(forms.Form):
    """One of the school's six checks; its prefix is the check's kind."""

    status = forms.ChoiceField(choices=CheckStatus.choices)
    done_on = GovukDateField(noun="Date of the check", required=False)
    result = _area("What happened", max_length=2000)
    reason = _area("Why was it not possible?", max_length=2000)

    def __init__(self, *args: Any, kind: CheckKind, **kwargs: Any) -> None:
        kwargs["prefix"] = str(kind)
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.fields["status"].label = kind.label
        message = f"Select whether “{kind.label.lower()}” was done, not possible or not applicable"
        self.fields["status"].error_messages.update(required=message, invalid_choice=message)

    #: What each answer reveals (the template's conditional reveals); the rest is dropped.
    REVEALS = {
        CheckStatus.DONE.value: ("done_on", "result"),
        CheckStatus.NOT_POSSIBLE.value: ("reason",),
    }

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        status = data.get("status")
        keep_revealed(self, self.REVEALS, status)
        what = self.kind.label.lower()
        if status == CheckStatus.DONE:
            if data.get("done_on") is None and "done_on" not in self.errors:
                self.add_error("done_on", f"Enter the date of “{what}”")
            if not data.get("result") and "result" not in self.errors:
                self.add_error("result", f"Say what happened when you did “{what}”")
        if status == CheckStatus.NOT_POSSIBLE and not data.get("reason"):
            self.add_error("reason", f"Say why “{what}” was not possible")
        return data


def check_forms(data: Mapping[str, Any] | None = None) -> list[CheckForm]:
    return [CheckForm(data, kind=kind) for kind in CheckKind]


class AgencyReferralForm(ParentsMixin, forms.Form):
    given_names = _text("First name", required="Enter the child's first name")
    family_name = _text("Last name, if known", max_length=100)
    aliases = _text("Other names the child is known by (optional)", max_length=300)
    dob = GovukDateField(noun="Date of birth", required=False)
    approximate_age = forms.IntegerField(
        label="Approximate age, if you do not know the date of birth",
        required=False,
        min_value=0,
        max_value=19,
        error_messages={
            "invalid": "Approximate age must be a whole number, like 9",
            "min_value": "Approximate age must be 0 or more",
            "max_value": "Approximate age must be 19 or less",
        },
    )
    sex = forms.ChoiceField(
        label="Sex", choices=SEX_CHOICES, error_messages=_req("Select the child's sex")
    )
    gender = _text("Gender, if different from sex (optional)", max_length=50)
    upn = UpnField(label="UPN, if known", required=False, max_length=20)
    situation = forms.ChoiceField(
        label="What is the child's situation?",
        choices=AgencySituation.choices,
        error_messages=_req(
            "Select whether the child is not on a school roll or their whereabouts are not known"
        ),
    )
    address = _area("Last known address or where the child is staying (optional)", max_length=300)
    postcode = _text("Postcode (optional)", max_length=10)
    how_met = _area(
        "How did your agency meet the child?", required="Say how your agency met the child"
    )
    reason = _area(
        "What do you know about the child?", required="Say what you know about the child"
    )
    safeguarding_concern = forms.ChoiceField(
        label="Is there a safeguarding concern about the child?",
        choices=CONCERN_CHOICES,
        error_messages=_req("Select whether there is a safeguarding concern about the child"),
    )
    safeguarding_details = _area("Describe the concern")
    siblings = _area("Siblings and their schools, if known (optional)", max_length=2000)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.parent_fields().items():
            self.fields[name] = field

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        data["parents_carers"] = self.clean_parents()
        _check_names(self, CHILD_NAMES)
        _safeguarding(self)
        return data

    def service_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        names = (
            "given_names", "family_name", "aliases", "dob", "approximate_age", "sex", "gender",
            "upn", "situation", "address", "postcode", "how_met", "reason",
            "safeguarding_concern", "safeguarding_details", "siblings", "parents_carers",
        )  # fmt: skip
        return {n: d.get(n) for n in names}


class PublicReportForm(forms.Form):
    """What a member of the public can tell us, and nothing that asks what we know."""

    given_names = _text("Child's first name", required="Enter the child's first name")
    family_name = _text("Child's last name, if you know it", max_length=100)
    approximate_age = forms.IntegerField(
        label="How old do you think the child is? (optional)",
        required=False,
        min_value=0,
        max_value=19,
        error_messages={
            "invalid": "Age must be a whole number, like 9",
            "min_value": "Age must be 0 or more",
            "max_value": "Age must be 19 or less",
        },
    )
    dob = GovukDateField(noun="Date of birth", required=False)
    address = _area(
        "Where have you seen the child, or where do they live?",
        required="Tell us where you have seen the child or where they live",
        max_length=300,
    )
    postcode = _text("Postcode, if you know it (optional)", max_length=10)
    reason = _area(
        "Why do you think the child is not in school?",
        required="Tell us why you think the child is not in school",
        max_length=3000,
    )
    reporter_name = _text("Your name (optional)", max_length=150)
    reporter_contact = _text("Your phone number or email address (optional)", max_length=200)
    # A field people never see: a bot that fills every field fills this one.
    website = forms.CharField(label="Leave this field empty", required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _check_names(self, {**CHILD_NAMES, "reporter_name": "your name"})
        return data

    form_token = forms.CharField(widget=forms.HiddenInput, required=False)

    def service_fields(self) -> dict[str, Any]:
        d = self.cleaned_data
        names = ("given_names", "family_name", "approximate_age", "dob", "address", "postcode",
                 "reason", "reporter_name", "reporter_contact")  # fmt: skip
        return {n: d.get(n) for n in names}


# --- triage ---------------------------------------------------------------------------

NEW_CHILD = "new"


class TriageForm(forms.Form):
    decision = forms.ChoiceField(
        label="What happens to this referral?",
        choices=[],
        error_messages=_req("Select what happens to this referral"),
    )
    child = forms.ChoiceField(
        label="Which child is this?",
        choices=[],
        required=False,
        error_messages=_req("Select the child's record, or create a new one"),
    )
    family_name = _text("Child's last name for the new record", max_length=100)
    duplicate_of = forms.ChoiceField(
        label="Which open case does it repeat?",
        choices=[],
        required=False,
        error_messages=_req("Select the open case this referral repeats"),
    )
    reason = _area("Reason", max_length=300)
    assign_to = forms.ChoiceField(
        label="Assign the case to (optional)",
        choices=[],
        required=False,
        error_messages=_req("Select someone from the list, or do not assign now"),
    )

    def __init__(
        self,
        *args: Any,
        decisions: list[tuple[str, str]],
        children: list[tuple[str, str]],
        open_cases: list[tuple[str, str]],
        assignees: list[tuple[str, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision"].choices = decisions  # type: ignore[attr-defined]
        self.fields["child"].choices = [*children, (NEW_CHILD, "Create a new child record")]  # type: ignore[attr-defined]
        self.fields["duplicate_of"].choices = open_cases  # type: ignore[attr-defined]
        self.fields["assign_to"].choices = [("", "Do not assign now"), *assignees]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        decision = data.get("decision")
        if (
            decision in ("open", "not_school_age")
            and not data.get("child")
            and "child" not in self.errors
        ):
            self.add_error("child", "Select the child's record, or create a new one")
        if (
            decision == "duplicate"
            and not data.get("duplicate_of")
            and "duplicate_of" not in self.errors
        ):
            self.add_error("duplicate_of", "Select the open case this referral repeats")
        if decision == "not_school_age" and not data.get("reason"):
            self.add_error("reason", "Say why the child is not children missing education")
        return data


# --- showing a service's errors on forms ------------------------------------------------


def add_service_errors(
    exc: ValidationError,
    form: forms.Form,
    checks: list[CheckForm] | None = None,
    aliases: Mapping[str, str] | None = None,
) -> None:
    """Put a service's ``ValidationError`` on the form fields it is about."""
    by_kind = {c.kind.value: c for c in checks or []}
    aliases = {"parents_carers": "parent1_phone", **(aliases or {})}
    for key, messages in exc.message_dict.items():
        if key.startswith("checks.") and key.count(".") == 2:
            _, kind, name = key.split(".")
            if kind in by_kind and name in by_kind[kind].fields:
                for m in messages:
                    by_kind[kind].add_error(name, m)
                continue
        name = aliases.get(key, key)
        target = name if name in form.fields else None
        for m in messages:
            form.add_error(target, m)


def error_summary(*forms_: forms.Form) -> list[dict[str, str]]:
    """The GOV.UK error summary's list: each message linking to its field."""
    out: list[dict[str, str]] = []
    for form in forms_:
        for message in form.non_field_errors():
            out.append({"text": str(message), "href": "#main-content"})
        for bound in form:
            for message in bound.errors:
                suffix = "-day" if isinstance(bound.field, GovukDateField) else ""
                out.append({"text": str(message), "href": f"#id_{bound.html_name}{suffix}"})
    return out
