"""The Virtual School's rules as pure functions: table-driven, with the boundaries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmetrack.virtualschool import rules
from cmetrack.virtualschool.rules import PepStatus, SchoolGap

D = date(2026, 3, 10)


@pytest.mark.parametrize(
    ("in_care", "ground", "named", "start", "refused", "words"),
    [
        (False, "i", False, None, False, ""),  # not in care: the rule does not apply
        (True, "a", True, D, False, ""),  # admitted the day of deletion
        (True, "a", True, D - timedelta(days=3), False, ""),  # admitted before
        (True, "a", False, None, True, "Give the new school"),
        (True, "i", False, None, True, "not taken off a school's roll until a new school"),
        (True, "g", True, None, True, "Give the date the new school admitted"),
        (True, "a", True, D + timedelta(days=1), True, "keep the pupil on roll until then"),
        (True, "f", False, None, True, "child in care"),  # home education still refused
        (True, "o", False, None, True, "child in care"),  # permanent exclusion: refused
        (True, "k", False, None, False, ""),  # died
        (True, "(l)", False, None, False, ""),  # past compulsory school age
        (True, "K", False, None, False, ""),
    ],
)
def test_deletion_refusal(
    in_care: bool, ground: str, named: bool, start: date | None, refused: bool, words: str
) -> None:
    message = rules.deletion_refusal(
        in_care=in_care, ground=ground, deleted_on=D, new_school_named=named, new_school_start=start
    )
    assert (message is not None) == refused
    if refused:
        assert message is not None
        assert words in message
        assert rules.CIC_RULE in message  # the message names the rule


def test_deletion_refusal_names_both_dates() -> None:
    message = rules.deletion_refusal(
        in_care=True,
        ground="a",
        deleted_on=date(2026, 3, 10),
        new_school_named=True,
        new_school_start=date(2026, 4, 20),
    )
    assert message is not None
    assert "20 April 2026" in message
    assert "10 March 2026" in message


@pytest.mark.parametrize(
    ("school", "admitted", "on_roll", "gap"),
    [
        (False, None, False, SchoolGap.NO_SCHOOL),
        (False, D, True, SchoolGap.NO_SCHOOL),  # no school named: nothing else counts
        (True, None, False, SchoolGap.NOT_ON_ROLL),
        (True, D, False, None),  # the school confirmed the admission
        (True, None, True, None),  # on the school's roll since the move
    ],
)
def test_placement_school_gap(
    school: bool, admitted: date | None, on_roll: bool, gap: SchoolGap | None
) -> None:
    assert (
        rules.placement_school_gap(school_recorded=school, admitted_on=admitted, on_roll=on_roll)
        == gap
    )


@pytest.mark.parametrize(
    ("attended", "possible", "alert"),
    [(19, 20, True), (190, 200, True), (191, 200, False), (0, 0, False), (0, 2, True),
     (200, 200, False), (9499, 10000, True), (9501, 10000, False)],
)  # fmt: skip
def test_attendance_alert_at_95_percent_or_below(attended: int, possible: int, alert: bool) -> None:
    assert rules.attendance_needs_alert(attended, possible) is alert


def test_the_threshold_is_detections() -> None:
    from cmetrack.detection.services import IN_CARE_ATTENDANCE_PERCENT

    assert rules.ATTENDANCE_ALERT_PERCENT == IN_CARE_ATTENDANCE_PERCENT


@pytest.mark.parametrize(
    ("meeting", "review"),
    [
        (date(2026, 1, 31), date(2026, 2, 28)),
        (date(2024, 1, 31), date(2024, 2, 29)),
        (date(2026, 12, 15), date(2027, 1, 15)),
        (date(2026, 3, 31), date(2026, 4, 30)),
    ],
)
def test_default_review_is_a_month_later(meeting: date, review: date) -> None:
    assert rules.default_pep_review_date(meeting) == review


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31)))
def test_default_review_date_is_always_allowed(meeting: date) -> None:
    review = rules.default_pep_review_date(meeting)
    assert 28 <= (review - meeting).days <= 31
    assert rules.pep_review_problem(meeting, review) is None


def test_review_date_rules() -> None:
    assert (
        rules.pep_review_problem(D, D)
        == "The review date must be after the date of the PEP meeting"
    )
    assert rules.pep_review_problem(D, D + timedelta(days=91)) is None
    problem = rules.pep_review_problem(D, D + timedelta(days=92))
    assert problem is not None
    assert "at least every term" in problem
    assert "9 June 2026" in problem


@pytest.mark.parametrize(
    ("review", "today", "status"),
    [
        (None, D + timedelta(days=28), PepStatus.NEEDED),
        (None, D + timedelta(days=29), PepStatus.NEEDED_OVERDUE),
        (D + timedelta(days=40), D + timedelta(days=10), PepStatus.SCHEDULED),
        (D + timedelta(days=24), D + timedelta(days=10), PepStatus.DUE),  # 14 days away
        (D + timedelta(days=10), D + timedelta(days=10), PepStatus.DUE),  # due today
        (D + timedelta(days=10), D + timedelta(days=11), PepStatus.OVERDUE),
    ],
)
def test_pep_status(review: date | None, today: date, status: PepStatus) -> None:
    assert rules.pep_status(case_referred=D, review_on=review, today=today) == status


@pytest.mark.parametrize(
    ("answer", "reasons", "ok"),
    [("yes", "", True), ("no", "", False), ("not_known", "  ", False), ("no", "Not on roll", True)],
)
def test_reasons_needed_unless_receiving_suitable_education(
    answer: str, reasons: str, ok: bool
) -> None:
    assert (rules.suitable_education_problem(answer, reasons) is None) is ok


def test_placement_dates() -> None:
    care = date(2025, 1, 1)
    ok = rules.placement_dates_problem(
        previous_start=D,
        new_start=D + timedelta(days=1),
        came_into_care=care,
        today=D + timedelta(days=5),
    )
    assert ok is None
    assert "after the start of the current placement" in (
        rules.placement_dates_problem(previous_start=D, new_start=D, came_into_care=care, today=D)
        or ""
    )
    assert "today or in the past" in (
        rules.placement_dates_problem(
            previous_start=None, new_start=D, came_into_care=care, today=D - timedelta(days=1)
        )
        or ""
    )
    assert "came into care" in (
        rules.placement_dates_problem(
            previous_start=None, new_start=date(2024, 12, 31), came_into_care=care, today=D
        )
        or ""
    )


def test_standard_targets_are_forms_md_section_6() -> None:
    attendance, academic = rules.STANDARD_TARGETS
    assert (attendance.label, attendance.intervention, attendance.improvement) == (
        "Attendance",
        "Inclusion",
        "Attendance at school",
    )
    assert "network of professionals" in attendance.actions
    assert (academic.label, academic.intervention) == ("Academic achievement", "One-to-one")
    assert "pupil premium plus" in academic.actions
