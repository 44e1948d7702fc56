"""Working days in England and Wales: weekdays that are not bank holidays (pure, no clock).

Bank holidays follow the standing rules (Banking and Financial Dealings Act 1971 and the
annual proclamations): New Year's Day, Good Friday, Easter Monday, the early May bank
holiday (first Monday of May), the spring bank holiday (last Monday of May), the summer
bank holiday (last Monday of August), Christmas Day and Boxing Day, each moved to the next
weekday when it falls at a weekend. The one-off changes made by proclamation are listed
in ``_MOVED`` and ``_EXTRA``; any later one-off day is added by the caller (``extra``), for
example from the authority's LA-wide closure days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from functools import cache

SATURDAY = 5

#: Standing bank holidays moved by proclamation: (year, usual date) -> date observed.
_MOVED: dict[tuple[int, str], date] = {
    (1995, "early_may"): date(1995, 5, 8),
    (2002, "spring"): date(2002, 6, 4),
    (2012, "spring"): date(2012, 6, 4),
    (2020, "early_may"): date(2020, 5, 8),
    (2022, "spring"): date(2022, 6, 2),
}

#: One-off bank holidays.
_EXTRA: frozenset[date] = frozenset(
    {
        date(1999, 12, 31),  # millennium
        date(2002, 6, 3),  # Golden Jubilee
        date(2011, 4, 29),  # royal wedding
        date(2012, 6, 5),  # Diamond Jubilee
        date(2022, 6, 3),  # Platinum Jubilee
        date(2022, 9, 19),  # state funeral of Queen Elizabeth II
        date(2023, 5, 8),  # coronation of King Charles III
    }
)


def easter_sunday(year: int) -> date:
    """Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def _first_monday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7)


def _last_monday(year: int, month: int) -> date:
    last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=last.weekday())


def _next_weekday(day: date) -> date:
    while day.weekday() >= SATURDAY:
        day += timedelta(days=1)
    return day


@cache
def bank_holidays(year: int) -> frozenset[date]:
    """The bank holidays of England and Wales in ``year`` (the days observed)."""
    easter = easter_sunday(year)
    days = {
        _next_weekday(date(year, 1, 1)),
        easter - timedelta(days=2),
        easter + timedelta(days=1),
        _MOVED.get((year, "early_may"), _first_monday(year, 5)),
        _MOVED.get((year, "spring"), _last_monday(year, 5)),
        _last_monday(year, 8),
    }
    christmas = date(year, 12, 25)
    if christmas.weekday() == SATURDAY:  # Christmas Mon 27, Boxing Day Tue 28
        days |= {date(year, 12, 27), date(year, 12, 28)}
    elif christmas.weekday() == SATURDAY + 1:  # Sunday: Boxing Day Mon 26, Christmas Tue 27
        days |= {date(year, 12, 26), date(year, 12, 27)}
    elif christmas.weekday() == SATURDAY - 1:  # Friday: Boxing Day (Sat) observed Mon 28
        days |= {christmas, date(year, 12, 28)}
    else:
        days |= {christmas, date(year, 12, 26)}
    return frozenset(days | {d for d in _EXTRA if d.year == year})


def is_working_day(day: date, extra: Iterable[date] = ()) -> bool:
    """A weekday that is not a bank holiday (nor one of ``extra``, the caller's closures)."""
    return day.weekday() < SATURDAY and day not in bank_holidays(day.year) and day not in set(extra)


def add_working_days(start: date, count: int, extra: Iterable[date] = ()) -> date:
    """The ``count``-th working day after ``start`` (``start`` itself never counts).

    ``count`` 0 gives ``start`` if it is a working day, else the next working day: a reply
    "within 10 working days" of an enquiry sent on a Friday is due on the second Friday
    after it, later by one day for each bank holiday in between.
    """
    if count < 0:
        raise ValueError("count must be zero or more")
    closed = frozenset(extra)
    day = start
    if count == 0:
        while not is_working_day(day, closed):
            day += timedelta(days=1)
        return day
    while count:
        day += timedelta(days=1)
        if is_working_day(day, closed):
            count -= 1
    return day


def working_days_between(start: date, end: date, extra: Iterable[date] = ()) -> int:
    """Working days after ``start`` up to and including ``end`` (0 if ``end`` <= ``start``)."""
    closed = frozenset(extra)
    total, day = 0, start
    while day < end:
        day += timedelta(days=1)
        total += is_working_day(day, closed)
    return total
