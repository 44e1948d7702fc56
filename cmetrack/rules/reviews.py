"""Dormant case reviews (rules.md section 6).

A dormant case is reviewed at least monthly: the next review is due one calendar month
after the last, clamped to the end of a shorter month (31 January -> 28 or 29 February,
31 March -> 30 April).  A review is overdue from the day *after* it was due: on the due
date itself it is not yet overdue.
"""

from __future__ import annotations

import calendar
from datetime import date

__all__ = ["is_review_overdue", "next_dormant_review"]


def next_dormant_review(last_review: date) -> date:
    """Return the date the next review of a dormant case is due.

    One calendar month after ``last_review``, with the day clamped to the last day of
    the month when that month is shorter: 31 January 2025 -> 28 February 2025,
    31 January 2024 -> 29 February 2024, 15 December 2024 -> 15 January 2025.  The
    result is always 28 to 31 days after ``last_review``.

    Note that the clamp does not carry forward: a case reviewed on 28 February is next
    due on 28 March, even if its earlier reviews were on the 31st.
    """
    # Months since year 0 (0-based month), plus one month.
    year, zero_based_month = divmod(last_review.year * 12 + (last_review.month - 1) + 1, 12)
    month = zero_based_month + 1
    day = min(last_review.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def is_review_overdue(last_review: date, today: date) -> bool:
    """Return whether, on ``today``, the review after ``last_review`` is overdue.

    Overdue means ``today`` is after the due date from :func:`next_dormant_review`; a
    review due today is not yet overdue.
    """
    return today > next_dormant_review(last_review)
