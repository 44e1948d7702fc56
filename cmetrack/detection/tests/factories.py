"""Factories and helpers for detection tests; synthetic data only."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import factory

from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.detection.models import Alert, AlertRule
from cmetrack.organisations.models import Organisation
from cmetrack.rules.upn import upn_check_letter
from cmetrack.schoolcalendar.models import ClosureDay, Term


def make_upn(serial: int, la: str = "999", estab: str = "2000", year: str = "25") -> str:
    body = f"{la}{estab}{year}{serial:03d}"
    return upn_check_letter(body) + body


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def school(code: str = "999", estab: str = "2001", **kwargs: Any) -> Organisation:
    from cmetrack.accounts.tests.factories import LocalAuthorityFactory

    la = LocalAuthorityFactory.create(code=code)
    return SchoolFactory.create(local_authority=la, estab_number=estab, **kwargs)


class TermFactory(factory.django.DjangoModelFactory[Term]):
    class Meta:
        model = Term

    term_start = date(2025, 9, 3)
    term_end = date(2025, 12, 19)
    name = "Autumn 2025"


class ClosureDayFactory(factory.django.DjangoModelFactory[ClosureDay]):
    class Meta:
        model = ClosureDay

    date = date(2025, 9, 1)
    reason = "INSET day"


class AlertFactory(factory.django.DjangoModelFactory[Alert]):
    class Meta:
        model = Alert

    rule = AlertRule.ABSENCE_20
    upn = factory.Sequence(lambda n: make_upn(n % 1000))
    laestab = "9992001"
    given_name = "Amira"
    family_name = "Example"
    dob = date(2014, 5, 1)
    episode_start = factory.Sequence(lambda n: f"2025-10-{1 + n % 28:02d} AM")
    evidence = factory.LazyFunction(
        lambda: {
            "first_session": "2025-10-01 AM",
            "last_session": "2025-10-14 PM",
            "sessions": 20,
            "school_days": 10.0,
            "span_sessions": 20,
            "data_gaps": 0,
            "open": True,
            "marks": [["2025-10-01", "AM", "N"]],
        }
    )
    detected_on = date(2025, 10, 20)
