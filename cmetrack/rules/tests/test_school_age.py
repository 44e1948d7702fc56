"""Compulsory school age and national curriculum year (rules.md section 1)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.rules import (
    academic_year_start_for,
    compulsory_school_age,
    is_of_compulsory_school_age,
    is_prescribed_day,
    national_curriculum_year,
    school_leaving_date,
)

# No example database: keep test runs from writing into the working tree.
_props = settings(database=None, max_examples=300)

_dobs = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))


def _age_on(dob: date, on: date) -> int:
    """Age in whole years, with a 29 February birthday counting as 1 March."""
    birthday_month_day = (dob.month, dob.day)
    had_birthday = (on.month, on.day) >= birthday_month_day
    if birthday_month_day == (2, 29) and (on.month, on.day) == (2, 28):
        had_birthday = False
    return on.year - dob.year - (0 if had_birthday else 1)


# --- Worked examples from rules.md, and further hand-checked cases ------------------


@pytest.mark.parametrize(
    ("dob", "starts", "ends"),
    [
        # The DOB table in rules.md section 1.
        (date(2020, 9, 15), date(2025, 12, 31), date(2037, 6, 26)),
        (date(2021, 1, 10), date(2026, 3, 31), date(2037, 6, 26)),
        (date(2020, 8, 31), date(2025, 8, 31), date(2036, 6, 27)),
        (date(2010, 6, 30), date(2015, 8, 31), date(2026, 6, 26)),
        (date(2009, 10, 20), date(2014, 12, 31), date(2026, 6, 26)),
        # Fifth birthday on each prescribed day: starts that day.
        (date(2019, 12, 31), date(2024, 12, 31), date(2036, 6, 27)),
        (date(2020, 3, 31), date(2025, 3, 31), date(2036, 6, 27)),
        (date(2019, 8, 31), date(2024, 8, 31), date(2035, 6, 29)),
        # Fifth birthday the day after each prescribed day: the next one.
        (date(2020, 1, 1), date(2025, 3, 31), date(2036, 6, 27)),
        (date(2020, 4, 1), date(2025, 8, 31), date(2036, 6, 27)),
        (date(2020, 9, 1), date(2025, 12, 31), date(2037, 6, 26)),
        # 16th birthday exactly on the leaving date (Fri 26 June 2026): that date.
        (date(2010, 6, 26), date(2015, 8, 31), date(2026, 6, 26)),
        # 16th birthday the day before it: the first leaving date after, same day.
        (date(2010, 6, 25), date(2015, 8, 31), date(2026, 6, 26)),
        # 16th birthday the day after (Sat 27 June 2026): that year's date, aged 15.
        (date(2010, 6, 27), date(2015, 8, 31), date(2026, 6, 26)),
        # 16th birthday between the last Friday in June and 1 September.
        (date(2010, 7, 15), date(2015, 8, 31), date(2026, 6, 26)),
        (date(2010, 8, 31), date(2015, 8, 31), date(2026, 6, 26)),
        # 16th birthday on 1 September: not "before the next school year begins",
        # so the first leaving date after it (Fri 25 June 2027).
        (date(2010, 9, 1), date(2015, 12, 31), date(2027, 6, 25)),
        # Leap-day births.  2025 is not a leap year: 5th birthday is 1 March 2025.
        # 2036 is a leap year: 16th birthday 29 Feb 2036.
        (date(2020, 2, 29), date(2025, 3, 31), date(2036, 6, 27)),
        # 2100 is not a leap year: 16th birthday counts as 1 March 2100.
        (date(2084, 2, 29), date(2089, 3, 31), date(2100, 6, 25)),
        # 2112 is a leap year, and its last Friday in June is the 24th.
        (date(2096, 2, 29), date(2101, 3, 31), date(2112, 6, 24)),
    ],
)
def test_compulsory_school_age_examples(dob: date, starts: date, ends: date) -> None:
    assert compulsory_school_age(dob) == (starts, ends)


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2022, date(2022, 6, 24)),  # earliest possible day
        (2023, date(2023, 6, 30)),  # 30 June is itself a Friday
        (2024, date(2024, 6, 28)),
        (2025, date(2025, 6, 27)),
        (2026, date(2026, 6, 26)),
        (2027, date(2027, 6, 25)),
        (2036, date(2036, 6, 27)),
        (2037, date(2037, 6, 26)),
        (2100, date(2100, 6, 25)),
    ],
)
def test_school_leaving_date_examples(year: int, expected: date) -> None:
    assert school_leaving_date(year) == expected


@pytest.mark.parametrize(
    ("dob", "on", "expected"),
    [
        # Both ends are inclusive (born 15 Sep 2020: 31 Dec 2025 to 26 Jun 2037).
        (date(2020, 9, 15), date(2025, 12, 30), False),
        (date(2020, 9, 15), date(2025, 12, 31), True),
        (date(2020, 9, 15), date(2030, 1, 1), True),
        (date(2020, 9, 15), date(2037, 6, 26), True),
        (date(2020, 9, 15), date(2037, 6, 27), False),
        # Fifth birthday on a prescribed day: of age that very day.
        (date(2020, 8, 31), date(2025, 8, 30), False),
        (date(2020, 8, 31), date(2025, 8, 31), True),
        # Born 27 June 2010: no longer of compulsory school age on the 16th birthday.
        (date(2010, 6, 27), date(2026, 6, 26), True),
        (date(2010, 6, 27), date(2026, 6, 27), False),
        # Leap-day birth, non-leap fifth birthday year.
        (date(2020, 2, 29), date(2025, 3, 30), False),
        (date(2020, 2, 29), date(2025, 3, 31), True),
    ],
)
def test_is_of_compulsory_school_age_examples(dob: date, on: date, expected: bool) -> None:
    assert is_of_compulsory_school_age(dob, on) is expected


@pytest.mark.parametrize(
    ("dob", "academic_year_start", "expected"),
    [
        # rules.md: born 1 Sep 2019 to 31 Aug 2020 are in Reception in 2024/25.
        (date(2019, 9, 1), 2024, 0),
        (date(2020, 8, 31), 2024, 0),
        (date(2020, 1, 1), 2024, 0),
        # Just outside both boundaries.
        (date(2019, 8, 31), 2024, 1),
        (date(2020, 9, 1), 2024, -1),
        # Year 11 in 2024/25: born 1 Sep 2008 to 31 Aug 2009.
        (date(2008, 9, 1), 2024, 11),
        (date(2009, 8, 31), 2024, 11),
        (date(2008, 8, 31), 2024, 12),
        # Leap-day birth belongs to the cohort that started the previous September.
        (date(2020, 2, 29), 2024, 0),
        # Far outside school: not clamped.
        (date(2024, 3, 1), 2024, -4),
        (date(2000, 1, 1), 2024, 20),
    ],
)
def test_national_curriculum_year_examples(
    dob: date, academic_year_start: int, expected: int
) -> None:
    assert national_curriculum_year(dob, academic_year_start) == expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2024, 9, 1), 2024),
        (date(2024, 12, 31), 2024),
        (date(2025, 1, 1), 2024),
        (date(2025, 8, 31), 2024),
        (date(2025, 9, 1), 2025),
    ],
)
def test_academic_year_start_for_examples(on: date, expected: int) -> None:
    assert academic_year_start_for(on) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 12, 31), True),
        (date(2025, 3, 31), True),
        (date(2025, 8, 31), True),
        (date(2025, 5, 31), False),
        (date(2025, 12, 30), False),
        (date(2025, 9, 1), False),
    ],
)
def test_is_prescribed_day(day: date, expected: bool) -> None:
    assert is_prescribed_day(day) is expected


# --- Properties ----------------------------------------------------------------------


@_props
@given(_dobs)
def test_start_is_the_first_prescribed_day_on_or_after_fifth_birthday(dob: date) -> None:
    start, _ = compulsory_school_age(dob)
    # A 29 February birth is five in a non-leap year, so the birthday is 1 March.
    leap_day = (dob.month, dob.day) == (2, 29)
    fifth = date(dob.year + 5, 3, 1) if leap_day else dob.replace(year=dob.year + 5)
    assert is_prescribed_day(start)
    assert start >= fifth
    # The longest wait is from 1 April to 31 August: 152 days (about 5 months).
    assert (start - fifth).days <= 152
    # No prescribed day is skipped between the fifth birthday and the start.
    day = fifth
    while day < start:
        assert not is_prescribed_day(day)
        day += timedelta(days=1)


@_props
@given(_dobs)
def test_end_is_a_last_friday_in_june_and_child_is_15_or_16(dob: date) -> None:
    _, end = compulsory_school_age(dob)
    assert end.month == 6
    assert end.weekday() == 4  # Friday
    assert 24 <= end.day <= 30
    assert (end + timedelta(days=7)).month == 7  # it is the *last* Friday
    assert _age_on(dob, end) in (15, 16)


@_props
@given(_dobs)
def test_end_is_the_june_at_the_end_of_year_11(dob: date) -> None:
    # Two independent formulations agree: the s8 rule as written in rules.md, and
    # "the leaving date at the end of the academic year in which the child is in Y11".
    _, end = compulsory_school_age(dob)
    assert national_curriculum_year(dob, academic_year_start_for(end)) == 11


@_props
@given(_dobs)
def test_start_is_in_reception(dob: date) -> None:
    start, _ = compulsory_school_age(dob)
    assert national_curriculum_year(dob, academic_year_start_for(start)) == 0


@_props
@given(_dobs)
def test_is_of_compulsory_school_age_boundaries(dob: date) -> None:
    start, end = compulsory_school_age(dob)
    assert is_of_compulsory_school_age(dob, start)
    assert is_of_compulsory_school_age(dob, end)
    assert not is_of_compulsory_school_age(dob, start - timedelta(days=1))
    assert not is_of_compulsory_school_age(dob, end + timedelta(days=1))


@_props
@given(st.integers(min_value=1, max_value=9999))
def test_school_leaving_date_is_last_friday_in_june(year: int) -> None:
    leaving = school_leaving_date(year)
    assert (leaving.year, leaving.month) == (year, 6)
    assert leaving.weekday() == 4
    assert leaving.day >= 24


@_props
@given(_dobs, st.integers(min_value=1900, max_value=2200))
def test_national_curriculum_year_moves_one_per_year(dob: date, year: int) -> None:
    assert national_curriculum_year(dob, year + 1) == national_curriculum_year(dob, year) + 1
