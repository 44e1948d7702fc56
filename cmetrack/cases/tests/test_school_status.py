"""What a referring school is told about its roll."""

from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.cases.lifecycle import CaseState, Outcome
from cmetrack.cases.presenters import DO_NOT_REMOVE, school_status
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db


def test_a_child_in_care_stays_on_roll_even_with_off_roll_advice():
    case = case_in_state(CaseState.TRACKING, child=ChildFactory.create(in_care=True))
    case.advised_off_roll_date = dt.date(2026, 11, 20)
    assert school_status(case)[1] == (
        "Do not remove this child from roll until a new school has admitted them"
    )


def test_other_children_follow_the_slo_advice():
    case = case_in_state(CaseState.TRACKING)
    assert school_status(case)[1] == DO_NOT_REMOVE
    case.advised_off_roll_date = dt.date(2026, 11, 20)
    assert school_status(case)[1] == "You may remove the child from roll from 20 November 2026"


@pytest.mark.parametrize(
    ("outcome", "starts"),
    [
        (Outcome.ON_ROLL, "The child is registered at another school: you may remove them"),
        (Outcome.HOME_EDUCATED, "The parent has chosen home education: you may remove"),
        (Outcome.MOVED_LA, "The child has moved to another local authority"),
        (Outcome.LEFT_COUNTRY, "The child has left the country"),
    ],
)
def test_a_closed_case_no_longer_tells_the_school_to_keep_the_child(outcome, starts):
    case = case_in_state(CaseState.TRACKING)
    case.state, case.outcome = CaseState.CLOSED, outcome
    status, advice = school_status(case)
    assert status == f"Closed: {outcome.label.lower()}"
    assert advice.startswith(starts)
    assert advice != DO_NOT_REMOVE


def test_found_on_the_referring_schools_own_roll_stays_on_it(school):
    case = case_in_state(CaseState.TRACKING, school=school)
    case.state, case.outcome, case.destination_school = CaseState.CLOSED, Outcome.ON_ROLL, school
    assert school_status(case)[1] == "Keep the child on roll: the child was found on your roll"
