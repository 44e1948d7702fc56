"""The hand-built authority every figure test counts by hand (see test_figures.py)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from cmetrack.cases.models import Case
from cmetrack.people.models import Child, ChildVulnerability
from cmetrack.people.tests.factories import AddressFactory, ChildFactory
from cmetrack.registers.models import HomeEducationRecord

from .factories import case_with_history

D = dt.date
#: "Today" for the tests: figures as at this day use the cases' current state.
TODAY = D(2026, 11, 20)


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    settings.CMETRACK_REQUIRE_2FA = False


@dataclass
class World:
    a: Child
    b: Child
    c: Child
    d: Child
    e: Child
    f: Child
    cases: dict[int, Case]


@pytest.fixture
def world(db: None) -> World:
    """Six children and seven cases.

    A  F, born 14 Mar 2015 (Year 7 in 2026/27), White British, young carer, lives in EX1.
       case 1: school, referred 1 Sep 2026; tracking from 5 Sep.
    B  M, born 1 Oct 2012 (Year 9), in care, EHC plan, restricted address in EX9.
       case 2: agency, referred 15 Jun 2026; tracking 20 Jun; dormant 1 Jul.
    C  F, born 10 Jan 2019 (Year 3), no address.
       case 3: public, referred 1 Oct 2026; tracking 2 Oct; located 10 Oct (living here);
       needs assessment 15 Oct; awaiting provision 20 Oct (determined 20 Oct);
       in provision 10 Nov (moved 10 Nov).
    D  sex not known, no date of birth.
       case 4: other LA, referred 31 Aug 2026 (last day of the summer term); closed
       10 Sep as not CME.
    E  M, born 5 May 2010 (Year 12 or above).
       case 5: school, referred 31 Mar 2026 (last day of the spring term); tracking 2 Apr;
       closed 1 May, found on a roll.
       case 6: reopened as a new episode after case 5: school, referred 2 Nov 2026,
       received.
    F  F, born 1 Jan 2014 (Year 8 in 2026/27).
       case 7: agency, referred 15 Sep 2026; tracking 16 Sep; closed 20 Sep, home educated.
    """
    a = ChildFactory.create(sex="F", dob=D(2015, 3, 14), ethnicity="WBRI")
    ChildVulnerability.objects.create(child=a, group="young_carer")
    AddressFactory.create(child=a, postcode="EX1 2AB")
    b = ChildFactory.create(sex="M", dob=D(2012, 10, 1), in_care=True, sen_provision="E")
    AddressFactory.create(child=b, postcode="EX9 9ZZ", is_restricted=True)
    c = ChildFactory.create(sex="F", dob=D(2019, 1, 10))
    d = ChildFactory.create(sex="U", dob=None)
    e = ChildFactory.create(sex="M", dob=D(2010, 5, 5))
    f = ChildFactory.create(sex="F", dob=D(2014, 1, 1))
    cases: dict[int, Case] = {}
    cases[1] = case_with_history(
        child=a,
        route="school",
        referred=D(2026, 9, 1),
        history=[("received", D(2026, 9, 1)), ("tracking", D(2026, 9, 5))],
    )
    cases[2] = case_with_history(
        child=b,
        route="agency",
        referred=D(2026, 6, 15),
        history=[
            ("received", D(2026, 6, 15)),
            ("tracking", D(2026, 6, 20)),
            ("dormant", D(2026, 7, 1)),
        ],
    )
    cases[3] = case_with_history(
        child=c,
        route="public",
        referred=D(2026, 10, 1),
        located_on=D(2026, 10, 10),
        located_route="living_here",
        date_of_assessment=D(2026, 10, 15),
        date_provision_determined=D(2026, 10, 20),
        date_moved_into_provision=D(2026, 11, 10),
        history=[
            ("received", D(2026, 10, 1)),
            ("tracking", D(2026, 10, 2)),
            ("located", D(2026, 10, 10)),
            ("needs_assessment", D(2026, 10, 15)),
            ("awaiting_provision", D(2026, 10, 20)),
            ("in_provision", D(2026, 11, 10)),
        ],
    )
    cases[4] = case_with_history(
        child=d,
        route="other_la",
        referred=D(2026, 8, 31),
        outcome="not_cme",
        closed_on=D(2026, 9, 10),
        history=[("received", D(2026, 8, 31)), ("closed", D(2026, 9, 10))],
    )
    cases[5] = case_with_history(
        child=e,
        route="school",
        referred=D(2026, 3, 31),
        outcome="on_roll",
        closed_on=D(2026, 5, 1),
        history=[
            ("received", D(2026, 3, 31)),
            ("tracking", D(2026, 4, 2)),
            ("closed", D(2026, 5, 1)),
        ],
    )
    cases[6] = case_with_history(
        child=e,
        route="school",
        referred=D(2026, 11, 2),
        previous_case=cases[5],
        history=[("received", D(2026, 11, 2))],
    )
    cases[7] = case_with_history(
        child=f,
        route="agency",
        referred=D(2026, 9, 15),
        outcome="home_educated",
        closed_on=D(2026, 9, 20),
        history=[
            ("received", D(2026, 9, 15)),
            ("tracking", D(2026, 9, 16)),
            ("closed", D(2026, 9, 20)),
        ],
    )
    # F is on the home-education list from the day the case closed (the DfE EHE tables).
    HomeEducationRecord.objects.create(
        child=f, started_on=D(2026, 9, 20), learnt_from="case", case=cases[7]
    )
    return World(a=a, b=b, c=c, d=d, e=e, f=f, cases=cases)
