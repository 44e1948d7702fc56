"""Dormant case reviews (rules.md section 6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.rules import is_review_overdue, next_dormant_review

_props = settings(database=None, max_examples=500)


@pytest.mark.parametrize(
    ("last_review", "due"),
    [
        # rules.md: 31 January -> 28/29 February.
        (date(2025, 1, 31), date(2025, 2, 28)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2100, 1, 31), date(2100, 2, 28)),  # 2100 is not a leap year
        (date(2000, 1, 31), date(2000, 2, 29)),  # 2000 is
        (date(2025, 1, 29), date(2025, 2, 28)),
        (date(2025, 1, 28), date(2025, 2, 28)),
        (date(2024, 1, 30), date(2024, 2, 29)),
        (date(2025, 3, 31), date(2025, 4, 30)),
        (date(2025, 8, 31), date(2025, 9, 30)),
        (date(2025, 2, 28), date(2025, 3, 28)),  # the clamp does not carry forward
        (date(2024, 2, 29), date(2024, 3, 29)),
        (date(2024, 12, 15), date(2025, 1, 15)),  # over the year end
        (date(2024, 12, 31), date(2025, 1, 31)),
        (date(2025, 6, 1), date(2025, 7, 1)),
    ],
)
def test_next_dormant_review(last_review: date, due: date) -> None:
    assert next_dormant_review(last_review) == due


@pytest.mark.parametrize(
    ("last_review", "today", "overdue"),
    [
        (date(2025, 1, 31), date(2025, 2, 27), False),
        (date(2025, 1, 31), date(2025, 2, 28), False),  # due today: not yet overdue
        (date(2025, 1, 31), date(2025, 3, 1), True),
        (date(2024, 1, 31), date(2024, 2, 29), False),
        (date(2024, 1, 31), date(2024, 3, 1), True),
        (date(2025, 5, 10), date(2025, 5, 10), False),  # reviewed today
        (date(2025, 5, 10), date(2025, 1, 1), False),  # review after "today"
        (date(2024, 12, 20), date(2025, 1, 21), True),
    ],
)
def test_is_review_overdue(last_review: date, today: date, overdue: bool) -> None:
    assert is_review_overdue(last_review, today) is overdue


_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(9999, 11, 30))


@_props
@given(_dates)
def test_next_review_is_one_calendar_month_later(last_review: date) -> None:
    due = next_dormant_review(last_review)
    assert 28 <= (due - last_review).days <= 31
    assert (due.year * 12 + due.month) - (last_review.year * 12 + last_review.month) == 1
    if due.day != last_review.day:
        # Clamped: the due date is the last day of its month.
        assert due.day < last_review.day
        assert (due + timedelta(days=1)).day == 1


@_props
# Up to 1 October 9998: the due date plus 400 days stays a representable date (to 9999 the
# test itself overflowed, not the rule).
@given(
    st.dates(min_value=date(1900, 1, 1), max_value=date(9998, 10, 1)),
    st.integers(min_value=-400, max_value=400),
)
def test_overdue_exactly_after_the_due_date(last_review: date, offset: int) -> None:
    due = next_dormant_review(last_review)
    today = due + timedelta(days=offset)
    assert is_review_overdue(last_review, today) is (offset > 0)
