"""Grounds (h) and (i): the joint enquiries and the 10 school days after leave."""

from datetime import date, timedelta

import pytest

from cmetrack.rules.deletion import ground_h_problem, joint_enquiries_problem

WEEKDAYS = [
    date(2025, 9, 1) + timedelta(days=n)
    for n in range(60)
    if (date(2025, 9, 1) + timedelta(days=n)).weekday() < 5
]


@pytest.mark.parametrize(
    ("ground", "school", "la", "needs"),
    [
        ("i", "visited twice", "checked records", None),
        ("h", "visited twice", "checked records", None),
        ("i", "", "checked records", "the school's enquiries"),
        ("h", "visited", " ", "the authority's enquiries"),
        ("i", "", "", "the school's and the authority's enquiries"),
        ("a", "", "", None),
        ("f", "", "", None),
    ],
)
def test_joint_enquiries(ground: str, school: str, la: str, needs: str | None) -> None:
    problem = joint_enquiries_problem(ground, school, la)
    if needs is None:
        assert problem is None
    else:
        assert problem is not None
        assert needs in problem


def test_ground_h_counts_school_days_after_the_leave() -> None:
    ended = date(2025, 9, 5)  # Friday
    # 10 school days after Friday 5 September: 8-12 and 15-19 September.
    assert ground_h_problem(ended, date(2025, 9, 19), WEEKDAYS) is None
    problem = ground_h_problem(ended, date(2025, 9, 18), WEEKDAYS)
    assert problem is not None
    assert "9 school days had passed" in problem
    # A closure day (a missing day in the calendar) does not count.
    without_15th = [d for d in WEEKDAYS if d != date(2025, 9, 15)]
    assert ground_h_problem(ended, date(2025, 9, 19), without_15th) is not None
    assert ground_h_problem(ended, date(2025, 9, 22), without_15th) is None


def test_ground_h_needs_the_end_of_leave_before_the_deletion() -> None:
    assert "leave_ended_on" in (ground_h_problem(None, date(2025, 9, 19), WEEKDAYS) or "")
    assert "before the date" in (ground_h_problem(date(2025, 9, 19), date(2025, 9, 19), []) or "")
