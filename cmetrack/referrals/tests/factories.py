"""Factories for the front door's tests: school rolls and valid referral data (synthetic)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.referrals.models import CheckKind, CheckStatus
from cmetrack.referrals.services import CheckInput
from cmetrack.registers.models import RollEntry, RollSnapshot


class RollSnapshotFactory(factory.django.DjangoModelFactory[RollSnapshot]):
    class Meta:
        model = RollSnapshot

    school = factory.SubFactory(SchoolFactory)
    taken_on = dt.date(2026, 10, 1)
    source = "test"


class RollEntryFactory(factory.django.DjangoModelFactory[RollEntry]):
    class Meta:
        model = RollEntry

    snapshot = factory.SubFactory(RollSnapshotFactory)
    upn = "H801200001001"
    legal_given_name = "Ola"
    legal_family_name = "Kowalska"
    dob = dt.date(2015, 3, 14)
    sex = "F"
    address = "12 Station Road, Exampleton"
    postcode = "EX1 4QT"
    nc_year = 6


#: Valid UPNs (rules.md §2 worked examples and more from the check-letter rule).
UPNS = ("H801200001001", "B801200005001", "A950000178301")


def all_checks(status: str = CheckStatus.DONE) -> list[CheckInput]:
    """Every check answered with ``status`` (a date and result when done)."""
    return [
        CheckInput(
            kind=kind,
            status=status,
            done_on=dt.date(2026, 11, 2) if status == CheckStatus.DONE else None,
            result="No answer" if status == CheckStatus.DONE else "",
            reason="No number held" if status == CheckStatus.NOT_POSSIBLE else "",
        )
        for kind in CheckKind
    ]


def school_fields(**overrides: Any) -> dict[str, Any]:
    """Everything a valid school referral needs besides the roll entry and checks."""
    fields: dict[str, Any] = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "aliases": "",
        "dob": dt.date(2015, 3, 14),
        "sex": "F",
        "gender": "",
        "upn": "H801200001001",
        "address": "12 Station Road, Exampleton",
        "postcode": "ex1 4qt",
        "parents_carers": [
            {
                "name": "Maria Kowalska",
                "relationship": "mother",
                "phone": "07700 900123",
                "email": "",
            }
        ],
        "siblings": "",
        "reason": "Not attended since 30 October; family not at home.",
        "date_last_attendance": dt.date(2026, 10, 30),
        "absence_school_days": 12,
        "safeguarding_concern": "no",
        "safeguarding_details": "",
    }
    fields.update(overrides)
    return fields


def agency_fields(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "given_names": "Jakub",
        "family_name": "Nowak",
        "approximate_age": 11,
        "sex": "M",
        "situation": "not_on_roll",
        "address": "Flat 3, 12 Station Road",
        "postcode": "EX1 4QT",
        "how_met": "Housing visit",
        "reason": "No school place since arriving in September.",
        "safeguarding_concern": "unknown",
    }
    fields.update(overrides)
    return fields
