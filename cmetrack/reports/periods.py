"""Reporting periods: months, terms and academic years, and the DfE census days.

Pure functions, no Django and no clock. Reporting terms cover the whole year with no gap,
so every day belongs to exactly one term and a case referred on the last day of a term
counts in that term and not the next:

- autumn: 1 September to 31 December;
- spring: 1 January to 31 March;
- summer: 1 April to 31 August.

A term is named by its season and the calendar year it falls in ("autumn 2026" is
1 September to 31 December 2026; "spring 2027" follows it). An academic year runs from
1 September to 31 August and is named by the year it starts (2026 is 2026/27).

The DfE census day of each term (the elective home education and children missing
education collection uses the school census days): autumn, the first Thursday in
October; spring, the third Thursday in January; summer, the third Thursday in May.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Grain",
    "Period",
    "Season",
    "academic_year",
    "census_day",
    "month",
    "months_back",
    "parse_date",
    "term",
    "term_containing",
    "trend_periods",
]


class Season(StrEnum):
    AUTUMN = "autumn"
    SPRING = "spring"
    SUMMER = "summer"


class Grain(StrEnum):
    MONTH = "month"
    TERM = "term"
    YEAR = "year"


@dataclass(frozen=True, order=True)
class Period:
    """The days ``start`` to ``end``, both included."""

    start: dt.date
    end: dt.date
    label: str = ""

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("A period cannot end before it starts.")

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


_TERM_MONTHS = {
    Season.AUTUMN: ((9, 1), (12, 31)),
    Season.SPRING: ((1, 1), (3, 31)),
    Season.SUMMER: ((4, 1), (8, 31)),
}


def term(season: Season | str, year: int) -> Period:
    """The reporting term ``season`` of calendar year ``year``."""
    s = Season(season)
    (m1, d1), (m2, d2) = _TERM_MONTHS[s]
    return Period(dt.date(year, m1, d1), dt.date(year, m2, d2), f"{s.value.capitalize()} {year}")


def term_containing(day: dt.date) -> tuple[Season, int]:
    if day.month >= 9:
        return Season.AUTUMN, day.year
    if day.month <= 3:
        return Season.SPRING, day.year
    return Season.SUMMER, day.year


def _previous_term(season: Season, year: int) -> tuple[Season, int]:
    if season == Season.AUTUMN:
        return Season.SUMMER, year
    if season == Season.SUMMER:
        return Season.SPRING, year
    return Season.AUTUMN, year - 1


def month(year: int, month_number: int) -> Period:
    last = calendar.monthrange(year, month_number)[1]
    start = dt.date(year, month_number, 1)
    return Period(start, dt.date(year, month_number, last), f"{start:%B %Y}")


def academic_year(start_year: int) -> Period:
    return Period(
        dt.date(start_year, 9, 1),
        dt.date(start_year + 1, 8, 31),
        f"{start_year}/{(start_year + 1) % 100:02d}",
    )


def months_back(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months earlier, clamped to the month's end."""
    index = day.year * 12 + day.month - 1 - months
    year, zero_month = divmod(index, 12)
    last = calendar.monthrange(year, zero_month + 1)[1]
    return dt.date(year, zero_month + 1, min(day.day, last))


def trend_periods(grain: Grain | str, as_at: dt.date, count: int) -> list[Period]:
    """The ``count`` periods of ``grain`` ending with the one containing ``as_at``, oldest
    first."""
    g = Grain(grain)
    periods: list[Period] = []
    if g == Grain.MONTH:
        for back in range(count - 1, -1, -1):
            first = months_back(as_at.replace(day=1), back)
            periods.append(month(first.year, first.month))
    elif g == Grain.TERM:
        season, year = term_containing(as_at)
        terms = [(season, year)]
        for _ in range(count - 1):
            terms.append(_previous_term(*terms[-1]))
        periods = [term(s, y) for s, y in reversed(terms)]
    else:
        start = as_at.year if as_at.month >= 9 else as_at.year - 1
        periods = [academic_year(y) for y in range(start - count + 1, start + 1)]
    return periods


def _nth_weekday(year: int, month_number: int, weekday: int, n: int) -> dt.date:
    first = dt.date(year, month_number, 1)
    offset = (weekday - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7 * (n - 1))


_THURSDAY = 3


def census_day(season: Season | str, year: int) -> dt.date:
    """The DfE census day of the term ``season`` of calendar year ``year``."""
    s = Season(season)
    if s == Season.AUTUMN:
        return _nth_weekday(year, 10, _THURSDAY, 1)
    if s == Season.SPRING:
        return _nth_weekday(year, 1, _THURSDAY, 3)
    return _nth_weekday(year, 5, _THURSDAY, 3)


def parse_date(value: str | None, default: dt.date) -> dt.date:
    """An ISO date from a query string, or ``default`` when missing or not a date."""
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return default
