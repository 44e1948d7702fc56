"""Forms for tracking work, with GOV.UK error messages. They parse what was typed; the
rules (what a check needs, who may own a task) are in the models' ``clean`` and the
services, whose errors :func:`add_service_errors` puts on the right field."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from cmetrack.accounts.models import User

from .models import (
    AddressSearchSource,
    CheckResult,
    CheckStatus,
    ConsultedWith,
    ContactMethod,
    ContactOutcome,
)
from .services import ConsultationOutcome

DATE_PARTS = ("day", "month", "year")


class DateInputWidget(forms.Widget):
    """Reads the three boxes of ``govukDateInput`` (``<name>-day``, ``-month``, ``-year``)."""

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> list[str]:
        return [str(data.get(f"{name}-{part}", "")).strip() for part in DATE_PARTS]

    def value_omitted_from_data(self, data: Mapping[str, Any], files: Any, name: str) -> bool:
        return all(f"{name}-{part}" not in data for part in DATE_PARTS)

    def format_value(self, value: Any) -> Any:
        if isinstance(value, dt.date):
            return [str(value.day), str(value.month), str(value.year)]
        return value


class GovukDateField(forms.Field):
    """A date typed as day, month and year, with the GOV.UK error messages.

    ``what`` names the date in messages ("the date of the attempt"); ``when`` is "past"
    (today or earlier), "future" (today or later) or "" (any date).
    """

    widget = DateInputWidget

    def __init__(self, *, what: str, when: str = "", **kwargs: Any) -> None:
        self.what, self.when = what, when
        kwargs.setdefault("error_messages", {"required": f"Enter {what}"})
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> dt.date | None:
        if isinstance(value, dt.date) or value is None:
            return value
        parts = dict(zip(DATE_PARTS, value, strict=True))
        if not any(parts.values()):
            return None
        label = self.what[0].upper() + self.what[1:]
        missing = [p for p in DATE_PARTS if not parts[p]]
        if missing:
            raise ValidationError(f"{label} must include a {' and '.join(missing)}")
        try:
            year, month, day = (int(parts[p]) for p in ("year", "month", "day"))
            if len(parts["year"]) != 4:
                raise ValueError
            return dt.date(year, month, day)
        except ValueError as exc:
            raise ValidationError(f"{label} must be a real date") from exc

    def validate(self, value: Any) -> None:
        super().validate(value)
        if value is None:
            return
        label = self.what[0].upper() + self.what[1:]
        today = timezone.localdate()
        if self.when == "past" and value > today:
            raise ValidationError(f"{label} must be today or in the past")
        if self.when == "future" and value < today:
            raise ValidationError(f"{label} must be today or in the future")


def _radio(choices: Any, required: str) -> forms.ChoiceField:
    return forms.ChoiceField(
        choices=choices,
        widget=forms.RadioSelect,
        error_messages={"required": required, "invalid_choice": required},
    )


def _text(required: str | None, max_length: int, too_long: str, **kw: Any) -> forms.CharField:
    messages = {"max_length": too_long}
    if required:
        messages["required"] = required
    return forms.CharField(
        required=bool(required), max_length=max_length, error_messages=messages, **kw
    )


class TrackingForm(forms.Form):
    #: Service field name → form field name, where they differ.
    field_map: dict[str, str] = {}

    def add_service_errors(self, exc: ValidationError) -> None:
        """Put a service's ``ValidationError`` on the fields it names (or the whole form)."""
        if hasattr(exc, "error_dict"):
            for name, errors in exc.message_dict.items():
                target = self.field_map.get(name, name)
                for message in errors:
                    self.add_error(target if target in self.fields else None, message)
        else:
            for message in exc.messages:
                self.add_error(None, message)


class CheckForm(TrackingForm):
    """One source of the address-search checklist."""

    def __init__(self, *args: Any, source: AddressSearchSource, **kwargs: Any) -> None:
        kwargs.setdefault("prefix", f"check-{source.pk}")
        super().__init__(*args, **kwargs)
        self.source = source
        self.fields["status"] = _radio(
            CheckStatus.choices,
            f"Select whether you checked {source.name}, it was not applicable or not available",
        )
        self.fields["date"] = GovukDateField(
            what=f"the date you checked {source.name}", when="past", required=False
        )
        self.fields["result"] = forms.ChoiceField(
            choices=CheckResult.choices,
            widget=forms.RadioSelect,
            required=False,
            error_messages={"invalid_choice": "Select whether the child was found"},
        )
        self.fields["details"] = _text(
            None, 2000, "Details must be 2000 characters or fewer", widget=forms.Textarea
        )


class ContactForm(TrackingForm):
    prefix = "contact"
    method = _radio(ContactMethod.choices, "Select how you tried to make contact")
    date = GovukDateField(what="the date of the attempt", when="past")
    time = forms.CharField(required=False, max_length=5)
    with_whom = _text(
        "Enter who you tried to contact", 200, "Who you contacted must be 200 characters or fewer"
    )
    outcome = _radio(ContactOutcome.choices, "Select the outcome of the attempt")
    notes = _text(None, 4000, "Notes must be 4000 characters or fewer", widget=forms.Textarea)

    def clean_time(self) -> dt.time | None:
        raw = self.cleaned_data["time"].strip().replace(".", ":")
        if not raw:
            return None
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", raw)
        if match and int(match[1]) < 24 and int(match[2]) < 60:
            return dt.time(int(match[1]), int(match[2]))
        raise ValidationError("Enter the time in 24-hour format, like 14:30")


class NoteForm(TrackingForm):
    prefix = "note"
    text = _text(
        "Enter the note",
        10000,
        "The note must be 10,000 characters or fewer",
        widget=forms.Textarea,
    )


class TaskForm(TrackingForm):
    prefix = "task"
    title = _text("Enter what needs to be done", 200, "The task must be 200 characters or fewer")
    due = GovukDateField(what="the due date", when="future")
    details = _text(None, 4000, "Details must be 4000 characters or fewer", widget=forms.Textarea)

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {str(u.pk): u for u in owners}
        self.fields["owner"] = forms.ChoiceField(
            choices=[
                ("", "Choose a person"),
                *((k, u.get_full_name()) for k, u in self.owners.items()),
            ],
            error_messages={
                "required": "Select who will do the task",
                "invalid_choice": "Select someone who works on this case",
            },
        )
        self.order_fields(["title", "owner", "due", "details"])

    def clean_owner(self) -> User:
        return self.owners[self.cleaned_data["owner"]]


YES_NO = [("yes", "Yes"), ("no", "No")]
#: How many outcome rows the consultation form offers (each optional).
CONSULTATION_OUTCOME_ROWS = 3


class ConsultationForm(TrackingForm):
    """A professional consultation, with up to three outcomes that become tasks."""

    prefix = "consultation"
    consulted_on = GovukDateField(what="the date of the consultation", when="past")
    consulted_with = _radio(ConsultedWith.choices, "Select who you consulted")
    consultee = _text(None, 200, "Who you consulted must be 200 characters or fewer")
    named = _radio(YES_NO, "Select whether the child and family were named")
    family_told = _radio(YES_NO, "Select whether the family was told about the consultation")
    not_told_reason = _text(
        None, 2000, "The reason must be 2000 characters or fewer", widget=forms.Textarea
    )
    advice = _text(
        "Enter the advice given",
        4000,
        "Advice must be 4000 characters or fewer",
        widget=forms.Textarea,
    )

    def __init__(self, *args: Any, owners: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.owners = {str(u.pk): u for u in owners}
        owner_choices = [
            ("", "Choose a person"),
            *((k, u.get_full_name()) for k, u in self.owners.items()),
        ]
        for i in range(CONSULTATION_OUTCOME_ROWS):
            self.fields[f"outcome_{i}_title"] = _text(
                None, 200, "The action must be 200 characters or fewer"
            )
            self.fields[f"outcome_{i}_owner"] = forms.ChoiceField(
                choices=owner_choices,
                required=False,
                error_messages={"invalid_choice": "Select someone who works on this case"},
            )
            self.fields[f"outcome_{i}_due"] = GovukDateField(
                what="the due date of the action", when="future", required=False
            )

    @property
    def outcome_rows(self) -> list[tuple[str, str, str]]:
        return [
            (f"outcome_{i}_title", f"outcome_{i}_owner", f"outcome_{i}_due")
            for i in range(CONSULTATION_OUTCOME_ROWS)
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["named"] = data.get("named") == "yes"
        if "family_told" in data:
            data["family_told"] = data["family_told"] == "yes"
            if not data["family_told"] and not (data.get("not_told_reason") or "").strip():
                self.add_error("not_told_reason", "Enter why the family was not told")
        if data.get("consulted_with") == ConsultedWith.OTHER and not data.get("consultee"):
            self.add_error("consultee", "Enter who you consulted")
        for title, owner, due in self.outcome_rows:
            given = [data.get(title), data.get(owner), data.get(due)]
            if any(given) and not all(given):
                if not data.get(title):
                    self.add_error(title, "Enter the action")
                if not data.get(owner):
                    self.add_error(owner, "Select who will do the action")
                if not data.get(due) and due not in self.errors:
                    self.add_error(due, "Enter the due date of the action")
        return data

    def service_kwargs(self) -> dict[str, Any]:

        d = self.cleaned_data
        outcomes = [
            ConsultationOutcome(title=d[t], owner=self.owners[d[o]], due=d[u])
            for t, o, u in self.outcome_rows
            if d.get(t) and d.get(o) and d.get(u)
        ]
        return {
            "consulted_on": d["consulted_on"],
            "consulted_with": d["consulted_with"],
            "consultee": d.get("consultee", ""),
            "named": d["named"],
            "family_told": d["family_told"],
            "not_told_reason": d.get("not_told_reason", "") if not d["family_told"] else "",
            "advice": d["advice"],
            "outcomes": outcomes,
        }
