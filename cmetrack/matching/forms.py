"""The find-a-child form: any mix of what is known, checked for shape only."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from cmetrack.kit.forms import name_length_limits
from cmetrack.rules import InvalidUPN, normalise_upn, validate_upn

from .services import SearchQuery

_SEPARATORS = re.compile(r"[,;\n]+")


def _list(value: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in _SEPARATORS.split(value or "") if p.strip())


class FindChildForm(forms.Form):
    given_names = forms.CharField(label="Given names", required=False, max_length=100)
    family_name = forms.CharField(label="Family name", required=False, max_length=100)
    other_names = forms.CharField(
        label="Other names the child may be known by", required=False, max_length=300
    )
    dob_day = forms.CharField(required=False, max_length=2)
    dob_month = forms.CharField(required=False, max_length=2)
    dob_year = forms.CharField(required=False, max_length=4)
    dob_approximate = forms.BooleanField(
        label="The date of birth is approximate (match on the year only)", required=False
    )
    sex = forms.ChoiceField(
        label="Sex",
        required=False,
        choices=[("", "Not known"), ("F", "Female"), ("M", "Male")],
    )
    postcode = forms.CharField(label="Postcode", required=False, max_length=10)
    address = forms.CharField(label="Address", required=False, max_length=300)
    parent_names = forms.CharField(
        label="Names of parents or carers", required=False, max_length=300
    )
    upn = forms.CharField(label="UPN", required=False, max_length=20)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        name_length_limits(self)
        for part, word in (("day", "Day"), ("month", "Month"), ("year", "Year")):
            self.fields[f"dob_{part}"].error_messages["max_length"] = (
                f"{word} of birth must be {self.fields[f'dob_{part}'].max_length} "  # type: ignore[attr-defined]
                "characters or fewer"
            )

    def clean_upn(self) -> str:
        raw = self.cleaned_data.get("upn", "").strip()
        if not raw:
            return ""
        upn = normalise_upn(raw)
        try:
            validate_upn(upn)
        except InvalidUPN as exc:
            raise ValidationError(
                "Enter a UPN in the correct format, a letter then 12 numbers or letters, "
                "like A801200001001"
            ) from exc
        return upn

    def _dob(self) -> tuple[dt.date | None, int | None, int | None]:
        data = self.cleaned_data
        day, month, year = (data.get(f"dob_{p}", "").strip() for p in ("day", "month", "year"))
        if not (day or month or year):
            return None, None, None
        if not year:
            self.add_error("dob_year", "Date of birth must include a year")
            return None, None, None
        if day and not month:
            self.add_error("dob_month", "Date of birth must include a month if it has a day")
            return None, None, None
        try:
            y = int(year)
            m = int(month) if month else None
            d = int(day) if day else None
        except ValueError:
            self.add_error("dob_day", "Date of birth must be a real date")
            return None, None, None
        if y < 1900 or y > timezone.localdate().year:
            self.add_error("dob_year", "Year of birth must be a real year, like 2015")
            return None, None, None
        if m is not None and not 1 <= m <= 12:
            self.add_error("dob_month", "Month of birth must be between 1 and 12")
            return None, None, None
        if d is not None and m is not None:
            try:
                return dt.date(y, m, d), y, m
            except ValueError:
                self.add_error("dob_day", "Date of birth must be a real date")
                return None, None, None
        return None, y, m

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        dob, year, month = self._dob()
        data["dob"], data["dob_year_int"], data["dob_month_int"] = dob, year, month
        searchable = ("given_names", "family_name", "other_names", "postcode", "upn")
        if not self.errors and not (dob or year or any(data.get(f) for f in searchable)):
            # Shown by the first field, where the summary's link lands (GOV.UK: an error
            # about several fields goes with the first of them).
            self.add_error(
                "given_names",
                ValidationError(
                    "Enter at least a name, a date of birth, a postcode or a UPN", code="empty"
                ),
            )
        return data

    def to_query(self) -> SearchQuery:
        data = self.cleaned_data
        return SearchQuery(
            given_names=data.get("given_names", ""),
            family_name=data.get("family_name", ""),
            aliases=_list(data.get("other_names", "")),
            dob=data.get("dob"),
            dob_year=data.get("dob_year_int"),
            dob_month=data.get("dob_month_int"),
            dob_approximate=bool(data.get("dob_approximate")),
            sex=data.get("sex", ""),
            postcode=data.get("postcode", ""),
            address=data.get("address", ""),
            parent_names=_list(data.get("parent_names", "")),
            upn=data.get("upn", ""),
        )

    def error_list(self) -> list[dict[str, str]]:
        """The GOV.UK error summary: each message linking to its field."""
        out = [{"text": str(m), "href": "#id_given_names"} for m in self.non_field_errors()]
        for name, messages in self.errors.items():
            if name == "__all__":
                continue
            out += [{"text": str(m), "href": f"#id_{name}"} for m in messages]
        return out
