"""The front door's forms on their own: each field's messages, table-driven."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django import forms
from django.utils import timezone

from cmetrack.referrals.forms import (
    AgencyReferralForm,
    CheckForm,
    GovukDateField,
    PublicReportForm,
    TriageForm,
    error_summary,
)
from cmetrack.referrals.models import CheckKind


class DateForm(forms.Form):
    when = GovukDateField(noun="Date of birth", required_message="Enter the child's date of birth")


def date_errors(day: str, month: str, year: str) -> list[str]:
    form = DateForm({"when-day": day, "when-month": month, "when-year": year})
    form.is_valid()
    return [str(e) for e in form.errors.get("when", [])]


#: Stands for tomorrow's day, month and year, worked out when the test runs (not when it is
#: collected: a run that crosses midnight would otherwise test today).
TOMORROW = "tomorrow"


@pytest.mark.parametrize(
    ("day", "month", "year", "errors"),
    [
        ("14", "3", "2015", []),
        ("", "", "", ["Enter the child's date of birth"]),
        ("14", "", "2015", ["Date of birth must include a month"]),
        ("", "", "2015", ["Date of birth must include a day and a month"]),
        ("31", "2", "2015", ["Date of birth must be a real date"]),
        ("a", "3", "2015", ["Date of birth must be a real date"]),
        ("1", "1", "15", ["Date of birth year must include 4 numbers"]),
        ("1", "1", "1850", ["Date of birth must be after 1900"]),
        (TOMORROW, TOMORROW, TOMORROW, ["Date of birth must be today or in the past"]),
    ],
)
def test_govuk_date_field(day: str, month: str, year: str, errors: list[str]) -> None:
    if day == TOMORROW:
        tomorrow = timezone.localdate() + dt.timedelta(days=1)
        day, month, year = str(tomorrow.day), str(tomorrow.month), str(tomorrow.year)
    assert date_errors(day, month, year) == errors


def test_a_date_error_links_to_the_day_box() -> None:
    form = DateForm({"when-day": "", "when-month": "3", "when-year": "2015"})
    form.is_valid()
    assert error_summary(form) == [
        {"text": "Date of birth must include a day", "href": "#id_when-day"}
    ]


FRIENDS = "“spoke to the child's friends”"
SELECT_FRIENDS = f"Select whether {FRIENDS} was done, not possible or not applicable"
CHECK_CASES: list[tuple[dict[str, str], dict[str, list[str]]]] = [
    ({"status": "not_applicable"}, {}),
    (
        {
            "status": "done",
            "done_on-day": "2",
            "done_on-month": "11",
            "done_on-year": "2026",
            "result": "Nobody had seen her",
        },
        {},
    ),
    (
        {"status": "done"},
        {
            "done_on": [f"Enter the date of {FRIENDS}"],
            "result": [f"Say what happened when you did {FRIENDS}"],
        },
    ),
    # What an answer does not reveal is neither checked nor kept (a hidden reveal).
    ({"status": "not_applicable", "done_on-day": "40", "reason": "x"}, {}),
    ({"status": "not_possible", "reason": "Moved away", "done_on-day": "40"}, {}),
    ({"status": "not_possible"}, {"reason": [f"Say why {FRIENDS} was not possible"]}),
    ({"status": "not_possible", "reason": "No friends known"}, {}),
    ({}, {"status": [SELECT_FRIENDS]}),
    ({"status": "maybe"}, {"status": [SELECT_FRIENDS]}),
]


@pytest.mark.parametrize(("data", "errors"), CHECK_CASES)
def test_check_form(data: dict[str, str], errors: dict[str, list[str]]) -> None:
    form = CheckForm({f"friends-{k}": v for k, v in data.items()}, kind=CheckKind.FRIENDS)
    form.is_valid()
    assert dict(form.errors) == errors


def test_answers_a_check_does_not_reveal_are_dropped() -> None:
    """Done, then changed to not possible: the date and result typed first are not kept."""
    data = {
        "status": "not_possible",
        "done_on-day": "2",
        "done_on-month": "11",
        "done_on-year": "2026",
        "result": "No answer",
        "reason": "The family moved away",
    }
    form = CheckForm({f"friends-{k}": v for k, v in data.items()}, kind=CheckKind.FRIENDS)
    assert form.is_valid()
    assert form.cleaned_data["done_on"] is None
    assert form.cleaned_data["result"] == ""
    assert form.cleaned_data["reason"] == "The family moved away"


AGENCY_OK = {
    "given_names": "Jakub",
    "sex": "M",
    "situation": "not_on_roll",
    "how_met": "Housing visit",
    "reason": "No school place",
    "safeguarding_concern": "no",
}


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"given_names": ""}, "given_names", "Enter the child's first name"),
        ({"given_names": "x" * 101}, "given_names", "First name must be 100 characters or fewer"),
        ({"upn": "H801200001002"}, "upn", "Enter a real UPN"),
        ({"approximate_age": "-1"}, "approximate_age", "Approximate age must be 0 or more"),
        ({"situation": "lost"}, "situation", "Select whether the child is not on a school roll"),
        (
            {"safeguarding_concern": "yes"},
            "safeguarding_details",
            "Describe the safeguarding concern",
        ),
        ({"parent1_phone": "0123"}, "parent1_name", "Enter the full name of parent or carer 1"),
        ({"parent2_email": "x@"}, "parent2_email", "Enter an email address in the correct format"),
    ],
)
def test_agency_form(overrides: dict[str, str], field: str, message: str) -> None:
    form = AgencyReferralForm({**AGENCY_OK, **overrides})
    assert not form.is_valid()
    assert message in " ".join(str(e) for e in form.errors[field])


def test_agency_form_valid_and_parents_collected() -> None:
    form = AgencyReferralForm(
        {
            **AGENCY_OK,
            "parent1_name": "Anna Nowak",
            "parent1_relationship": "mother",
            "upn": "h801200001001",
        }
    )
    assert form.is_valid(), form.errors
    fields = form.service_fields()
    assert fields["upn"] == "H801200001001"
    assert fields["parents_carers"] == [
        {"name": "Anna Nowak", "relationship": "mother", "phone": "", "email": ""}
    ]


def test_public_form_asks_only_the_minimum() -> None:
    form = PublicReportForm({"given_names": "Sam", "address": "Mill Lane", "reason": "At home"})
    assert form.is_valid(), form.errors
    assert set(form.service_fields()) == {
        "given_names",
        "family_name",
        "approximate_age",
        "dob",
        "address",
        "postcode",
        "reason",
        "reporter_name",
        "reporter_contact",
    }


def triage_form(data: dict[str, Any]) -> TriageForm:
    return TriageForm(
        data,
        decisions=[("open", "Open"), ("not_school_age", "Close"), ("duplicate", "Duplicate")],
        children=[("7", "Ola Kowalska")],
        open_cases=[("3", "CME-000003")],
        assignees=[("5", "Olive Officer")],
    )


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"decision": "open", "child": "new"}, {}),
        ({"decision": "open", "child": "7", "assign_to": "5"}, {}),
        ({}, {"decision": ["Select what happens to this referral"]}),
        ({"decision": "open"}, {"child": ["Select the child's record, or create a new one"]}),
        (
            {"decision": "duplicate"},
            {"duplicate_of": ["Select the open case this referral repeats"]},
        ),
        (
            {"decision": "not_school_age", "child": "new"},
            {"reason": ["Say why the child is not children missing education"]},
        ),
        (
            {"decision": "open", "child": "99"},
            {"child": ["Select the child's record, or create a new one"]},
        ),
        (
            {"decision": "open", "child": "new", "assign_to": "1"},
            {"assign_to": ["Select someone from the list, or do not assign now"]},
        ),
    ],
)
def test_triage_form(data: dict[str, str], errors: dict[str, list[str]]) -> None:
    form = triage_form(data)
    form.is_valid()
    assert dict(form.errors) == errors
