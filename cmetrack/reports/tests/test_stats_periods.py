"""Pure functions: pace statistics (with ties for the mode) and reporting periods."""

from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.reports.periods import (
    Grain,
    Season,
    academic_year,
    census_day,
    months_back,
    term,
    term_containing,
    trend_periods,
)
from cmetrack.reports.stats import bands, pace_stats

D = dt.date


@pytest.mark.parametrize(
    ("values", "mean", "median", "modes", "minimum", "maximum"),
    [
        # Two values tie for most common: both listed, the smallest is "the" mode.
        ([10, 10, 20, 20, 30], 18.0, 20.0, (10, 20), 10, 30),
        # Even count: median is the mean of the two middle values.
        ([1, 2, 3, 4], 2.5, 2.5, (1, 2, 3, 4), 1, 4),
        # One clear mode.
        ([5, 7, 7, 7, 40], 13.2, 7.0, (7,), 5, 40),
        # A single case.
        ([0], 0.0, 0.0, (0,), 0, 0),
        # Three-way tie among six cases.
        ([3, 3, 9, 9, 1, 1], 4.3, 3.0, (1, 3, 9), 1, 9),
    ],
)
def test_pace_stats(
    values: list[int],
    mean: float,
    median: float,
    modes: tuple[int, ...],
    minimum: int,
    maximum: int,
) -> None:
    histogram: dict[int, int] = {}
    for v in values:
        histogram[v] = histogram.get(v, 0) + 1
    s = pace_stats(histogram)
    assert s.cases == len(values)
    assert s.mean == mean
    assert s.median == median
    assert s.modes == modes
    assert s.mode == modes[0]
    assert (s.minimum, s.maximum, s.range) == (minimum, maximum, maximum - minimum)


def test_pace_stats_of_nothing() -> None:
    s = pace_stats({})
    assert s.cases == 0
    assert s.mean is None
    assert s.mode is None
    assert s.range is None


def test_bands_keep_empty_bands_inside_the_range() -> None:
    assert bands(((1, 2), (15, 1)), 7) == [
        ("0 to 6 days", 2),
        ("7 to 13 days", 0),
        ("14 to 20 days", 1),
    ]
    assert bands(((3, 1),), 1) == [("3 days", 1)]


@pytest.mark.parametrize(
    ("season", "year", "start", "end"),
    [
        ("autumn", 2026, D(2026, 9, 1), D(2026, 12, 31)),
        ("spring", 2027, D(2027, 1, 1), D(2027, 3, 31)),
        ("summer", 2027, D(2027, 4, 1), D(2027, 8, 31)),
    ],
)
def test_terms_cover_the_year(season: str, year: int, start: dt.date, end: dt.date) -> None:
    t = term(season, year)
    assert (t.start, t.end) == (start, end)
    assert term_containing(start) == (Season(season), year)
    assert term_containing(end) == (Season(season), year)
    # The day after the last day of term is in the next term.
    assert term_containing(end + dt.timedelta(days=1)) != (Season(season), year)


@pytest.mark.parametrize(
    ("season", "year", "day"),
    [
        ("autumn", 2026, D(2026, 10, 1)),  # first Thursday in October
        ("spring", 2027, D(2027, 1, 21)),  # third Thursday in January
        ("summer", 2027, D(2027, 5, 20)),  # third Thursday in May
        ("autumn", 2025, D(2025, 10, 2)),
    ],
)
def test_census_days(season: str, year: int, day: dt.date) -> None:
    assert census_day(season, year) == day
    assert day.weekday() == 3


def test_trend_periods() -> None:
    terms = trend_periods(Grain.TERM, D(2027, 2, 1), 4)
    assert [t.label for t in terms] == ["Spring 2026", "Summer 2026", "Autumn 2026", "Spring 2027"]
    years = trend_periods(Grain.YEAR, D(2027, 2, 1), 2)
    assert years == [academic_year(2025), academic_year(2026)]
    assert years[-1].label == "2026/27"
    months = trend_periods(Grain.MONTH, D(2026, 3, 31), 2)
    assert [m.label for m in months] == ["February 2026", "March 2026"]


def test_months_back_clamps() -> None:
    assert months_back(D(2026, 3, 31), 1) == D(2026, 2, 28)
    assert months_back(D(2026, 1, 15), 2) == D(2025, 11, 15)
