"""What a referring school is told about its roll."""

from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.cases.lifecycle import CaseState
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
