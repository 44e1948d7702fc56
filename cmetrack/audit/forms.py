"""The auditors' search form (GET): who, which child, what, and between which dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from .models import AuditAction
from .selectors import AuditFilters

DATE_PARTS = ("day", "month", "year")


class AuditSearchForm(forms.Form):
    user = forms.EmailField(
        label="User's email address",
        required=False,
        error_messages={"invalid": "Enter an email address in the correct format"},
    )
    child = forms.IntegerField(
        label="Child record number",
        required=False,
        min_value=1,
        error_messages={
            "invalid": "Child record number must be a number, like 1234",
            "min_value": "Child record number must be a number, like 1234",
        },
    )
    action = forms.ChoiceField(
        label="Action", required=False, choices=[("", "Any action"), *AuditAction.choices]
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for prefix in ("from", "to"):
            for part in DATE_PARTS:
                self.fields[f"{prefix}_{part}"] = forms.CharField(required=False, max_length=4)

    def _date(self, prefix: str, label: str) -> dt.date | None:
        values = [self.cleaned_data.get(f"{prefix}_{p}", "").strip() for p in DATE_PARTS]
        if not any(values):
            return None
        if not all(values):
            self.add_error(f"{prefix}_day", f"{label} must include a day, month and year")
            return None
        try:
            day, month, year = (int(v) for v in values)
            return dt.date(year, month, day)
        except ValueError:
            self.add_error(f"{prefix}_day", f"{label} must be a real date")
            return None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        cleaned["date_from"] = self._date("from", "Date from")
        cleaned["date_to"] = self._date("to", "Date to")
        if (
            cleaned["date_from"]
            and cleaned["date_to"]
            and cleaned["date_to"] < cleaned["date_from"]
        ):
            self.add_error("to_day", "Date to must be the same as or after date from")
        return cleaned

    def filters(self) -> AuditFilters:
        """The filters of a valid form."""
        c = self.cleaned_data
        return AuditFilters(
            user=c.get("user") or "",
            child_id=c.get("child"),
            action=c.get("action") or "",
            date_from=c.get("date_from"),
            date_to=c.get("date_to"),
        )
