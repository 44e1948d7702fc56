"""School days as a pure function of terms and closures (no Django, no clock).

rules.md section 4: non-school days are weekends, days between terms, and closure days
(LA-wide or per school). Every school day has two sessions, AM and PM.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta

SATURDAY = 5


def school_days_between(
    terms: Iterable[tuple[date, date]],
    closures: Iterable[date],
    start: date,
    end: date,
) -> list[date]:
    """Weekdays from ``start`` to ``end`` (inclusive) inside a term and not closed.

    ``terms`` are ``(first day, last day)`` pairs (inclusive; any order, not overlapping);
    ``closures`` are the closure days that apply to the school (LA-wide and its own).
    O(days in range + terms + closures).
    """
    closed = frozenset(closures)
    days: list[date] = []
    for term_start, term_end in sorted(terms):
        lo = max(term_start, start)
        hi = min(term_end, end)
        days.extend(d for d in _days(lo, hi) if d.weekday() < SATURDAY and d not in closed)
    return days


def _days(lo: date, hi: date) -> Iterator[date]:
    day = lo
    while day <= hi:
        yield day
        day += timedelta(days=1)


def add_school_days(school_days: list[date], after: date, count: int) -> date | None:
    """The ``count``-th school day strictly after ``after`` in the sorted ``school_days``."""
    import bisect

    index = bisect.bisect_right(school_days, after) + count - 1
    return school_days[index] if 0 <= index < len(school_days) else None
