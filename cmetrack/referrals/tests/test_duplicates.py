"""Possible duplicates: UPN, former UPN, similar names with the same or swapped date of
birth; twins are not the same child; only indexed lookups."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.matching.normalise import jaro_winkler, normalise_name
from cmetrack.people.models import FormerUpn
from cmetrack.people.tests.factories import AddressFactory, ChildFactory
from cmetrack.referrals.duplicates import possible_duplicates, swapped_dob

pytestmark = pytest.mark.django_db
DOB = dt.date(2015, 3, 14)


def find(**kw: Any) -> list[Any]:
    args: dict[str, Any] = {
        "given_names": "",
        "family_name": "",
        "dob": None,
        "upn": None,
        "postcode": None,
    }
    args.update(kw)
    return possible_duplicates(**args)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ("MARTHA", "MARHTA", 0.961),
        ("DWAYNE", "DUANE", 0.84),
        ("DIXON", "DICKSONX", 0.813),
        ("same", "same", 1.0),
        ("", "x", 0.0),
        ("abc", "xyz", 0.0),
    ],
)
def test_jaro_winkler_worked_examples(a: str, b: str, expected: float) -> None:
    assert jaro_winkler(a, b) == pytest.approx(expected, abs=0.001)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("  Zoë  O'Brien-Smith ", "zoe obrien smith"), ("ANNA", "anna"), ("José", "jose")],
)
def test_names_are_normalised(raw: str, expected: str) -> None:
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("dob", "swapped"),
    [
        (dt.date(2015, 3, 4), dt.date(2015, 4, 3)),
        (dt.date(2015, 3, 14), None),
        (dt.date(2015, 5, 5), None),
    ],
)
def test_swapped_dob(dob: dt.date, swapped: dt.date | None) -> None:
    assert swapped_dob(dob) == swapped


def test_same_upn_is_a_certain_match() -> None:
    child = ChildFactory.create(upn="H801200001001", legal_family_name="Zed")
    (match,) = find(given_names="Other", family_name="Name", upn="h801200001001")
    assert match.child == child
    assert match.score == 1.0
    assert match.reasons == ["Same UPN (H801200001001)"]


def test_a_former_upn_matches() -> None:
    child = ChildFactory.create(upn="B801200005001", legal_family_name="Zed")
    FormerUpn.objects.create(child=child, upn="H801200001001")
    (match,) = find(upn="H801200001001")
    assert match.child == child
    assert "former UPN" in match.reasons[0]


def test_similar_name_and_same_dob() -> None:
    child = ChildFactory.create(
        legal_given_names="Aleksandra", legal_family_name="Kowalska", dob=DOB
    )
    (match,) = find(given_names="Alexandra", family_name="Kowalski", dob=DOB)
    assert match.child == child
    assert "Similar name" in match.reasons[0]
    assert "Same date of birth" in match.reasons
    assert 0.8 < match.score < 1.0


def test_day_and_month_swapped() -> None:
    child = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2015, 4, 3)
    )
    (match,) = find(given_names="Ola", family_name="Kowalska", dob=dt.date(2015, 3, 4))
    assert match.child == child
    assert "Date of birth with day and month swapped" in match.reasons


def test_twins_with_different_first_names_are_not_the_same_child() -> None:
    ChildFactory.create(legal_given_names="Oliver", legal_family_name="Kowalski", dob=DOB)
    assert find(given_names="Amelia", family_name="Kowalski", dob=DOB) == []


def test_a_different_dob_is_not_a_match_on_the_name_alone() -> None:
    ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2012, 1, 1)
    )
    assert find(given_names="Ola", family_name="Kowalska", dob=DOB) == []


def test_a_name_without_a_dob_is_a_weak_match() -> None:
    ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB)
    (match,) = find(given_names="Ola", family_name="Kowalska")
    assert match.score < 0.7
    assert "Date of birth not known for one of them" in match.reasons


def test_open_cases_and_postcode_are_reported() -> None:
    child = ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB)
    AddressFactory.create(child=child, postcode="EX1 4QT")
    case = case_open(
        actor=Actor.system("test"),
        child=child,
        route=ReferralRoute.AGENCY,
        date_referred=dt.date(2026, 10, 1),
    )
    (match,) = find(given_names="Ola", family_name="Kowalska", dob=DOB, postcode="ex14qt")
    assert match.open_cases == [case]
    assert f"Has an open case: {case.reference}" in match.reasons
    assert "An address with the same postcode" in match.reasons


def test_the_most_likely_comes_first() -> None:
    weak = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalsky", dob=dt.date(2015, 4, 3)
    )
    strong = ChildFactory.create(
        upn="H801200001001", legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB
    )
    matches = find(
        given_names="Ola", family_name="Kowalska", dob=dt.date(2015, 3, 4), upn="H801200001001"
    )
    assert [m.child for m in matches] == [strong, weak]


def test_candidates_come_from_indexed_lookups_not_a_scan() -> None:
    ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska", dob=DOB)
    with CaptureQueriesContext(connection) as ctx:
        find(given_names="Ola", family_name="Kowalska", dob=DOB, upn="H801200001001")
    first = ctx.captured_queries[0]["sql"]
    assert '"dob" IN' in first
    assert '"legal_family_name" >=' in first
    assert '"upn" =' in first
    assert len(ctx.captured_queries) <= 5  # candidates + prefetches, whatever their number


def test_a_record_without_a_dob_is_found_by_name() -> None:
    child = ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska", dob=None)
    ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2011, 1, 1)
    )
    (match,) = find(given_names="Ola", family_name="kowalska", dob=DOB)
    assert match.child == child
    assert "Date of birth not known for one of them" in match.reasons
