"""The pure rules: postcodes, distance, staleness, year groups, monitoring, school days."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmetrack.provision.rules import (
    ELSEWHERE,
    SAME_AREA,
    SAME_DISTRICT,
    SAME_SECTOR,
    distance_miles,
    is_stale,
    monitoring_result,
    normalise_postcode,
    one_month_before,
    phases_for,
    postcode_nearness,
    school_days_after,
    year_group_label,
)

D = dt.date


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" SW1A   1AA ", "SW1A 1AA"),
        ("m1 1ae", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("not a postcode", ""),
        ("", ""),
        ("12345", ""),
    ],
)
def test_postcodes_are_normalised(raw, expected):
    assert normalise_postcode(raw) == expected


@pytest.mark.parametrize(
    ("home", "other", "nearness"),
    [
        ("AB1 2CD", "AB1 2XY", SAME_SECTOR),
        ("AB1 2CD", "AB1 3XY", SAME_DISTRICT),
        ("AB1 2CD", "AB12 3XY", SAME_AREA),
        ("AB1 2CD", "B1 2CD", ELSEWHERE),
        ("AB1 2CD", "", ELSEWHERE),
    ],
)
def test_postcode_nearness_is_sector_then_district_then_area(home, other, nearness):
    assert postcode_nearness(home, other) == nearness


def test_distance_between_known_places():
    # Westminster (51.5010, -0.1416) to Manchester Piccadilly (53.4774, -2.2309): ~163 miles.
    assert distance_miles(51.5010, -0.1416, 53.4774, -2.2309) == pytest.approx(163, abs=2)
    assert distance_miles(52.0, -1.0, 52.0, -1.0) == 0


@given(st.floats(49, 59), st.floats(-7, 2), st.floats(49, 59), st.floats(-7, 2))
def test_distance_is_symmetric_and_non_negative(a, b, c, d):
    assert distance_miles(a, b, c, d) == pytest.approx(distance_miles(c, d, a, b))
    assert distance_miles(a, b, c, d) >= 0


@pytest.mark.parametrize(
    ("today", "month_before"),
    [
        (D(2026, 11, 25), D(2026, 10, 25)),
        (D(2026, 3, 31), D(2026, 2, 28)),
        (D(2028, 3, 31), D(2028, 2, 29)),
        (D(2026, 1, 15), D(2025, 12, 15)),
    ],
)
def test_one_month_before(today, month_before):
    assert one_month_before(today) == month_before


@pytest.mark.parametrize(
    ("as_of", "stale"),
    [
        (D(2026, 11, 25), False),
        (D(2026, 10, 25), False),  # exactly a month old: still current
        (D(2026, 10, 24), True),  # more than a month old
        (D(2026, 1, 1), True),
    ],
)
def test_a_figure_is_stale_when_more_than_a_month_old(as_of, stale):
    assert is_stale(as_of, D(2026, 11, 25)) is stale


@pytest.mark.parametrize(
    ("years", "phases"),
    [
        ((0, 6), ["Primary"]),
        ((7, 11), ["Secondary"]),
        ((7, 13), ["Secondary", "Sixth form"]),
        ((0, 13), ["Primary", "Secondary", "Sixth form"]),
        ((5, 8), ["Primary", "Secondary"]),
    ],
)
def test_phases_follow_the_year_groups(years, phases):
    assert phases_for(*years) == phases


def test_year_group_labels():
    assert [year_group_label(y) for y in (0, 1, 13)] == ["Reception", "Year 1", "Year 13"]


# --- Monitoring -----------------------------------------------------------------------------

START = D(2026, 11, 2)  # a Monday
WEEK1 = [START + dt.timedelta(days=i) for i in range(5)]
WEEK2 = [START + dt.timedelta(days=7 + i) for i in range(5)]
DAYS = WEEK1 + WEEK2


def marks(days, code="/"):
    return [(d, s, code) for d in days for s in ("AM", "PM")]


def result(m, days=DAYS, required=10, threshold=90.0, start=START):
    return monitoring_result(
        m, days, started_on=start, required_days=required, threshold_percent=threshold
    )


def test_full_attendance_for_the_period_may_close():
    r = result(marks(DAYS))
    assert (r.school_days, r.attended, r.possible, r.percent) == (10, 20, 20, 100.0)
    assert r.may_close
    assert r.last_mark == WEEK2[-1]


def test_too_few_school_days_may_not_close_however_good():
    r = result(marks(WEEK1))
    assert (r.school_days, r.period_complete, r.attendance_good) == (5, False, True)
    assert not r.may_close


def test_attendance_below_the_threshold_may_not_close():
    # 2 of 20 sessions unauthorised: 90% exactly closes; 3: 85% does not.
    two = [*marks(DAYS[:9]), (DAYS[9], "AM", "O"), (DAYS[9], "PM", "O")]
    assert result(two).percent == 90.0
    assert result(two).may_close
    three = [*two[:-3], (DAYS[8], "PM", "N"), *two[-2:]]
    assert result(three).percent == 85.0
    assert not result(three).may_close


def test_approved_activity_counts_as_attending_and_d_z_hash_x_are_not_possible():
    m = [
        *marks(DAYS[:8]),
        (DAYS[8], "AM", "K"),
        (DAYS[8], "PM", "V"),
        (DAYS[9], "AM", "D"),
        (DAYS[9], "PM", "#"),
    ]
    r = result(m)
    assert (r.attended, r.possible, r.school_days) == (18, 18, 9)


def test_unable_to_attend_codes_are_not_possible_sessions():
    # Q (access arrangements not made by the authority) and Y1-Y7 (transport, disruption,
    # closure, detention, public health, other unavoidable cause): not absence.
    m = [
        *marks(DAYS[:7]),
        (DAYS[7], "AM", "Q"),
        (DAYS[7], "PM", "Q"),
        (DAYS[8], "AM", "Y1"),
        (DAYS[8], "PM", "Y4"),
        (DAYS[9], "AM", "Y7"),
        (DAYS[9], "PM", "O"),
    ]
    r = result(m)
    assert (r.attended, r.possible, r.school_days) == (14, 15, 8)
    assert round(r.percent or 0, 1) == 93.3


def test_marks_before_the_start_and_on_non_school_days_are_ignored():
    saturday = START + dt.timedelta(days=5)
    m = [*marks(DAYS), (START - dt.timedelta(days=3), "AM", "O"), (saturday, "AM", "O")]
    assert result(m).possible == 20


def test_a_repeated_mark_keeps_the_last_one():
    m = [*marks(DAYS), (DAYS[0], "am", "N")]
    assert result(m).attended == 19


def test_no_marks_means_no_percentage_and_no_close():
    r = result([])
    assert r.percent is None
    assert not r.may_close


def test_school_days_after_counts_strictly_after_the_start_up_to_today():
    assert school_days_after(DAYS, START, WEEK1[-1]) == 4
    assert school_days_after(DAYS, START, START) == 0
    assert school_days_after(DAYS, START - dt.timedelta(days=1), WEEK2[-1]) == 10


def test_a_period_of_zero_days_monitors_nothing():
    assert result([], required=0).may_close
