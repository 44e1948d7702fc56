"""Compulsory school age and national curriculum year group (rules.md section 1).

Compulsory school age is defined by the Education Act 1996, s8:

* It **starts** on the child's fifth birthday if that falls on a *prescribed day*
  (31 December, 31 March or 31 August), otherwise on the next prescribed day after it.
* It **ends** on the *school leaving date* (the last Friday in June) of the school year in
  which the child turns 16.  rules.md states this precisely, and this module implements
  it exactly as written (see :func:`compulsory_school_age`).

A 29 February birthday counts as 1 March in years that are not leap years.

All functions here are pure: they take and return :class:`datetime.date` values and
never look at the clock.  Years must leave room for the arithmetic (a date of birth
must be early enough that its 17th year is still representable, i.e. year <= 9982).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

__all__ = [
    "PRESCRIBED_DAYS",
    "academic_year_start_for",
    "compulsory_school_age",
    "is_of_compulsory_school_age",
    "is_prescribed_day",
    "national_curriculum_year",
    "school_leaving_date",
]

#: The prescribed days as (month, day), in calendar order: 31 March, 31 August,
#: 31 December.
PRESCRIBED_DAYS: tuple[tuple[int, int], ...] = ((3, 31), (8, 31), (12, 31))

#: Month in which the school (academic) year begins; rules.md says "take 1 September".
_SCHOOL_YEAR_START_MONTH = 9

_FRIDAY = calendar.FRIDAY  # 4


def _birthday_in(dob: date, year: int) -> date:
    """Return the child's birthday in ``year``.

    A 29 February birthday counts as 1 March in a year that is not a leap year.
    """
    if dob.month == 2 and dob.day == 29 and not calendar.isleap(year):
        return date(year, 3, 1)
    return dob.replace(year=year)


def is_prescribed_day(day: date) -> bool:
    """Return whether ``day`` is a prescribed day (31 December, 31 March or 31 August)."""
    return (day.month, day.day) in PRESCRIBED_DAYS


def _prescribed_day_on_or_after(day: date) -> date:
    """Return ``day`` itself if it is a prescribed day, else the next prescribed day."""
    for month, dom in PRESCRIBED_DAYS:
        candidate = date(day.year, month, dom)
        if candidate >= day:
            return candidate
    # 31 December is on or after every day of its year, so the loop always returns.
    raise AssertionError("unreachable")  # pragma: no cover


def school_leaving_date(year: int) -> date:
    """Return the school leaving date of ``year``: the last Friday in June.

    It always falls between 24 and 30 June inclusive.

    >>> school_leaving_date(2026)
    datetime.date(2026, 6, 26)
    """
    june_30 = date(year, 6, 30)
    return june_30 - timedelta(days=(june_30.weekday() - _FRIDAY) % 7)


def _compulsory_school_age_end(dob: date) -> date:
    """Return the last day of compulsory school age, per rules.md section 1, as written.

    Let ``b16`` be the 16th birthday and ``L`` that calendar year's leaving date:

    * if ``b16 == L``: the child leaves on ``L``;
    * if ``L < b16 < 1 September`` of that year: the child leaves on ``L`` (which is
      *before* the 16th birthday: the child is still 15 on the leaving date);
    * otherwise: the first leaving date after ``b16``.

    This is equivalent to "the leaving date in June at the end of the child's Year 11"
    (see :func:`national_curriculum_year`); the tests check that equivalence.
    """
    sixteenth = _birthday_in(dob, dob.year + 16)
    this_year = school_leaving_date(sixteenth.year)
    if sixteenth == this_year:
        return this_year
    if this_year < sixteenth < date(sixteenth.year, _SCHOOL_YEAR_START_MONTH, 1):
        return this_year
    # First leaving date after the 16th birthday.
    if this_year > sixteenth:
        return this_year
    return school_leaving_date(sixteenth.year + 1)


def compulsory_school_age(dob: date) -> tuple[date, date]:
    """Return ``(start, end)``: the first and last days of compulsory school age.

    Both days are inclusive: the child is of compulsory school age on ``start``, on
    ``end`` and on every day between.

    ``start`` is the fifth birthday if it is a prescribed day (31 December, 31 March,
    31 August), otherwise the next prescribed day after it.  ``end`` is the school
    leaving date (last Friday in June) of the school year in which the child turns 16.
    Precisely, with ``b16`` the 16th birthday and ``L`` that calendar year's leaving
    date: if ``b16`` is ``L``, or after ``L`` but before 1 September, the end is ``L``;
    otherwise it is the first leaving date after ``b16``.  So a child whose 16th birthday
    falls between the last Friday in June and 31 August leaves while still 15.

    >>> compulsory_school_age(date(2020, 9, 15))
    (datetime.date(2025, 12, 31), datetime.date(2037, 6, 26))
    """
    start = _prescribed_day_on_or_after(_birthday_in(dob, dob.year + 5))
    return start, _compulsory_school_age_end(dob)


def is_of_compulsory_school_age(dob: date, on: date) -> bool:
    """Return whether a child born on ``dob`` is of compulsory school age on ``on``.

    Inclusive of both the start and end days given by :func:`compulsory_school_age`.
    """
    start, end = compulsory_school_age(dob)
    return start <= on <= end


def academic_year_start_for(on: date) -> int:
    """Return the year ``Y`` whose 1 September starts the academic year containing ``on``.

    1 September to 31 December belong to the academic year starting that year;
    1 January to 31 August to the one that started the previous year.

    >>> academic_year_start_for(date(2025, 3, 1))
    2024
    """
    return on.year if on.month >= _SCHOOL_YEAR_START_MONTH else on.year - 1


def national_curriculum_year(dob: date, academic_year_start: int) -> int:
    """Return the national curriculum year group in the academic year starting 1 Sept.

    ``academic_year_start`` is the calendar year ``Y`` of the 1 September that starts the
    academic year (use :func:`academic_year_start_for` to get it from a date).

    With ``B`` the year the child's own "birth academic year" starts (the DOB's year if
    born September to December, else the year before), the year group is ``Y - B - 5``:
    0 is Reception, 1 is Year 1, ..., 11 is Year 11.

    The result is *not* clamped.  Values below 0 mean the child is below Reception age
    (-1 is the year before Reception, typically nursery); values above 11 mean the child
    is past Year 11 (12 and 13 correspond to Years 12 and 13 in sixth forms).  It is
    the chronological year group; a child educated out of year group is not reflected.

    >>> national_curriculum_year(date(2019, 9, 1), 2024)
    0
    """
    birth_academic_year = academic_year_start_for(dob)
    return academic_year_start - birth_academic_year - 5
