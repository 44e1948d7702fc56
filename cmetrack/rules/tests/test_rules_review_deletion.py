"""Ground (h) at the edges a school's data hits (rules.md sections 4 and 5): a deletion or an
end of leave on a non-school day, a closure inside the wait. The school days are the
caller's calendar; every count below was made by hand on a 2025 calendar."""

from datetime import date, timedelta

import pytest

from cmetrack.rules.deletion import ground_h_problem, joint_enquiries_problem

#: Weekdays from Monday 1 September to Friday 31 October 2025, less Friday 24 October (a
#: closure day) and the half-term week of 27 to 31 October.
SCHOOL_DAYS = [
    date(2025, 9, 1) + timedelta(days=n)
    for n in range(61)
    if (date(2025, 9, 1) + timedelta(days=n)).weekday() < 5
    and date(2025, 9, 1) + timedelta(days=n) != date(2025, 10, 24)
    and not date(2025, 10, 27) <= date(2025, 9, 1) + timedelta(days=n) <= date(2025, 10, 31)
]


@pytest.mark.parametrize(
    ("leave_ended", "deleted", "waited"),
    [
        # Leave ended Friday 5 September; deleted Saturday 20 September: the 10 school days
        # 8 to 19 September have passed.
        (date(2025, 9, 5), date(2025, 9, 20), 10),
        # Deleted Sunday 14 September: only 8 to 12 September, 5 school days.
        (date(2025, 9, 5), date(2025, 9, 14), 5),
        # Leave ended Sunday 7 September: Monday 8 is the 1st school day, Friday 19 the
        # 10th: deleted on the 19th is allowed, on Thursday 18th not.
        (date(2025, 9, 7), date(2025, 9, 19), 10),
        (date(2025, 9, 7), date(2025, 9, 18), 9),
        # Leave ended Friday 10 October: 13 to 17 October are 5, 20 to 23 are 4 more, the
        # closure on Friday 24 and half term do not count: by Sunday 2 November only 9.
        (date(2025, 10, 10), date(2025, 11, 2), 9),
    ],
)
def test_ground_h_school_days_waited(leave_ended: date, deleted: date, waited: int) -> None:
    problem = ground_h_problem(leave_ended, deleted, SCHOOL_DAYS)
    if waited >= 10:
        assert problem is None
    else:
        assert problem is not None
        assert f"{waited} school day" in problem


def test_school_days_outside_the_wait_are_not_counted() -> None:
    """The caller may pass the whole calendar: only days after the end of the leave and up
    to the deletion count (leave ended Friday 12 September, deleted Friday 19 September: 5
    school days, although the list holds 42)."""
    problem = ground_h_problem(date(2025, 9, 12), date(2025, 9, 19), SCHOOL_DAYS)
    assert problem is not None
    assert "5 school days" in problem


@pytest.mark.parametrize("ground", ["h", "i"])
def test_a_line_break_or_tab_is_no_record_of_enquiries(ground: str) -> None:
    problem = joint_enquiries_problem(ground, "\n\t", "home visit 3 October, no answer")
    assert problem is not None
    assert "the school's" in problem
