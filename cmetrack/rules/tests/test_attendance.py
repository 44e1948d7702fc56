"""Attendance codes and runs of unexplained absence (rules.md sections 3 and 4)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.rules import (
    ATTENDANCE_CODES,
    CME_REFERRAL_SCHOOL_DAYS,
    WITHDRAWN_CODES,
    AbsenceRun,
    AttendanceCategory,
    AttendanceCodeError,
    Half,
    UnknownAttendanceCode,
    WithdrawnAttendanceCode,
    attendance_code,
    breaks_run,
    is_neutral_for_runs,
    is_unexplained_absence,
    runs_at_least,
    unexplained_absence_runs,
)

_props = settings(database=None, max_examples=300)

Mark = str | None
Row = tuple[date, Half, Mark]

# --- The code table ------------------------------------------------------------------

_SPEC_TABLE: dict[AttendanceCategory, tuple[str, ...]] = {
    AttendanceCategory.PRESENT: ("/", "\\", "L"),
    AttendanceCategory.APPROVED_ACTIVITY: ("K", "V", "P", "W", "B"),
    AttendanceCategory.AUTHORISED_LEAVE: ("C1", "M", "J1", "S", "X", "C2", "C"),
    AttendanceCategory.AUTHORISED_OTHER: ("T", "R", "I", "E"),
    AttendanceCategory.UNABLE_TO_ATTEND: ("Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"),
    AttendanceCategory.UNAUTHORISED: ("G", "N", "O", "U"),
    AttendanceCategory.NOT_COUNTED: ("D", "Z", "#"),
}
_SPEC_PAIRS = [(code, category) for category, codes in _SPEC_TABLE.items() for code in codes]


@pytest.mark.parametrize(("code", "category"), _SPEC_PAIRS)
def test_every_code_in_rules_md_has_its_category(code: str, category: AttendanceCategory) -> None:
    entry = attendance_code(code)
    assert entry.code == code
    assert entry.category is category
    assert entry.meaning
    assert ATTENDANCE_CODES[code] is entry


def test_table_has_exactly_the_codes_in_rules_md() -> None:
    assert set(ATTENDANCE_CODES) == {code for code, _ in _SPEC_PAIRS}
    assert len(ATTENDANCE_CODES) == 34


def test_category_values() -> None:
    assert [c.value for c in AttendanceCategory] == [
        "present",
        "approved_activity",
        "authorised_leave",
        "authorised_other",
        "unable_to_attend",
        "unauthorised",
        "not_counted",
    ]
    assert AttendanceCategory("unauthorised") is AttendanceCategory.UNAUTHORISED


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        ATTENDANCE_CODES["H"] = ATTENDANCE_CODES["C"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ATTENDANCE_CODES["G"].code = "O"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("raw", "code"),
    [(" n ", "N"), ("j1", "J1"), ("c2", "C2"), ("y7", "Y7"), ("\\", "\\"), ("#\n", "#")],
)
def test_code_lookup_strips_and_upper_cases(raw: str, code: str) -> None:
    assert attendance_code(raw).code == code


@pytest.mark.parametrize(
    ("code", "message_start", "replacements"),
    [
        (
            "J",
            "attendance code J (interview) was withdrawn in August 2024; use J1 instead.",
            ("J1",),
        ),
        (
            "H",
            "attendance code H (authorised absence: agreed family holiday) was withdrawn in "
            "August 2024; use C (leave agreed in exceptional circumstances) or G (holiday "
            "not agreed) instead.",
            ("C", "G"),
        ),
        (
            "F",
            "attendance code F (authorised absence: agreed extended family holiday) was "
            "withdrawn in September 2013; use C",
            ("C", "G"),
        ),
        (
            "Y",
            "attendance code Y (unable to attend due to exceptional circumstances) was "
            "withdrawn in August 2024; use Y1 to Y7, by cause instead.",
            ("Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"),
        ),
        ("j", "attendance code J (interview)", ("J1",)),
        (" y ", "attendance code Y ", ("Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7")),
    ],
)
def test_withdrawn_codes_are_rejected_naming_the_replacement(
    code: str, message_start: str, replacements: tuple[str, ...]
) -> None:
    with pytest.raises(WithdrawnAttendanceCode) as excinfo:
        attendance_code(code)
    error = excinfo.value
    assert isinstance(error, ValueError)
    assert str(error).startswith(message_start)
    assert error.code == code.strip().upper()
    assert error.withdrawn.replacement_codes == replacements
    for replacement in replacements:
        assert replacement in str(error)


def test_withdrawn_table() -> None:
    assert set(WITHDRAWN_CODES) == {"H", "F", "J", "Y"}
    for code, withdrawn in WITHDRAWN_CODES.items():
        assert withdrawn.code == code
        assert code not in ATTENDANCE_CODES
        assert withdrawn.replacement_codes
        for replacement in withdrawn.replacement_codes:
            assert replacement in ATTENDANCE_CODES
        assert withdrawn.explanation


@pytest.mark.parametrize("code", ["A", "C3", "Y8", "J2", "//", "1", "-", "present", "GN"])
def test_unknown_codes(code: str) -> None:
    with pytest.raises(UnknownAttendanceCode) as excinfo:
        attendance_code(code)
    assert isinstance(excinfo.value, ValueError)
    assert isinstance(excinfo.value, AttendanceCodeError)
    assert not isinstance(excinfo.value, WithdrawnAttendanceCode)
    assert str(excinfo.value) == (
        f"{code!r} is not an attendance code in use in England since August 2024"
    )
    assert excinfo.value.code == code


@pytest.mark.parametrize("code", ["", "  "])
def test_empty_mark_is_not_a_code(code: str) -> None:
    with pytest.raises(UnknownAttendanceCode, match="a session with no mark is a data gap"):
        attendance_code(code)


@pytest.mark.parametrize(
    ("code", "unexplained", "neutral", "breaks"),
    [
        ("G", True, False, False),
        ("N", True, False, False),
        ("O", True, False, False),
        ("n", True, False, False),
        ("U", False, False, True),  # the child was seen
        ("#", False, True, False),
        ("Z", False, True, False),
        ("X", False, True, False),
        ("D", False, False, True),  # not counted, but breaks a run
        ("/", False, False, True),
        ("\\", False, False, True),
        ("L", False, False, True),
        ("B", False, False, True),
        ("C", False, False, True),
        ("I", False, False, True),
        ("Q", False, False, True),
        ("Y4", False, False, True),
    ],
)
def test_run_classification(code: str, unexplained: bool, neutral: bool, breaks: bool) -> None:
    assert is_unexplained_absence(code) is unexplained
    assert is_neutral_for_runs(code) is neutral
    assert breaks_run(code) is breaks


@pytest.mark.parametrize("code", sorted(ATTENDANCE_CODES))
def test_every_code_has_exactly_one_run_role(code: str) -> None:
    roles = [is_unexplained_absence(code), is_neutral_for_runs(code), breaks_run(code)]
    assert roles.count(True) == 1


@pytest.mark.parametrize("function", [is_unexplained_absence, is_neutral_for_runs, breaks_run])
def test_run_classification_rejects_withdrawn_and_unknown(
    function: Callable[[str], bool],
) -> None:
    with pytest.raises(WithdrawnAttendanceCode):
        function("H")
    with pytest.raises(UnknownAttendanceCode):
        function("?")


# --- Runs ----------------------------------------------------------------------------


def _school_sessions(first: date, first_half: Half, marks: Sequence[Mark]) -> list[Row]:
    """Give ``marks`` consecutive Monday-to-Friday sessions, starting at ``first``."""
    rows: list[Row] = []
    day, half = first, first_half
    for mark in marks:
        assert day.weekday() < 5
        rows.append((day, half, mark))
        if half == "AM":
            half = "PM"
        else:
            half = "AM"
            day += timedelta(days=1)
            while day.weekday() >= 5:
                day += timedelta(days=1)
    return rows


MON = date(2025, 1, 6)  # a Monday in term


def test_run_across_a_weekend() -> None:
    thursday, friday, monday = date(2025, 1, 9), date(2025, 1, 10), date(2025, 1, 13)
    rows: list[Row] = [
        (thursday, "AM", "/"),
        (thursday, "PM", "G"),
        (friday, "AM", "G"),
        (friday, "PM", "N"),
        # Saturday and Sunday are not sessions: the caller leaves them out.
        (monday, "AM", "O"),
        (monday, "PM", "G"),
        (date(2025, 1, 14), "AM", "/"),
    ]
    assert unexplained_absence_runs(rows) == [
        AbsenceRun(
            first_session=(thursday, "PM"),
            last_session=(monday, "PM"),
            sessions=5,
            data_gaps=0,
            open=False,
        )
    ]
    assert unexplained_absence_runs(rows)[0].school_days == 2.5


def test_run_starting_on_a_pm_session() -> None:
    rows = _school_sessions(MON, "AM", ["/", "N", "N", "N"])
    (run,) = unexplained_absence_runs(rows)
    assert run.first_session == (MON, "PM")
    assert run.last_session == (MON + timedelta(days=1), "PM")
    assert run.sessions == 3
    assert run.school_days == 1.5
    assert run.open


def test_run_broken_by_a_present_mark() -> None:
    rows = _school_sessions(MON, "AM", ["G", "G", "/", "G"])
    assert unexplained_absence_runs(rows) == [
        AbsenceRun((MON, "AM"), (MON, "PM"), sessions=2, data_gaps=0, open=False),
        AbsenceRun((MON + timedelta(days=1), "PM"), (MON + timedelta(days=1), "PM"), 1, 0, True),
    ]


@pytest.mark.parametrize("neutral", ["#", "Z", "X"])
def test_run_not_broken_by_a_neutral_code(neutral: str) -> None:
    rows = _school_sessions(MON, "AM", ["G", neutral, neutral, "O", "/"])
    (run,) = unexplained_absence_runs(rows)
    assert run.first_session == (MON, "AM")
    assert run.last_session == (MON + timedelta(days=1), "PM")
    assert run.sessions == 2  # neutral sessions neither break nor extend
    assert run.data_gaps == 0
    assert not run.open


def test_run_not_broken_by_a_data_gap_which_is_counted() -> None:
    rows = _school_sessions(MON, "AM", ["N", None, None, "N", "#", None, "G", "L"])
    (run,) = unexplained_absence_runs(rows)
    assert run.sessions == 3
    assert run.data_gaps == 3
    assert run.first_session == (MON, "AM")
    assert run.last_session == (MON + timedelta(days=3), "AM")
    assert not run.open


def test_gaps_before_a_run_are_not_counted_with_it() -> None:
    rows = _school_sessions(MON, "AM", [None, "/", None, "G", "/"])
    (run,) = unexplained_absence_runs(rows)
    assert run.data_gaps == 0
    assert run.sessions == 1


def test_gaps_after_the_last_absence_before_the_break_are_counted() -> None:
    rows = _school_sessions(MON, "AM", ["G", "G", None, None, "/"])
    (run,) = unexplained_absence_runs(rows)
    assert run.last_session == (MON, "PM")
    assert run.data_gaps == 2
    assert not run.open


@pytest.mark.parametrize(
    ("marks", "sessions", "gaps"),
    [
        (["/", "G", "G"], 2, 0),
        (["G", "G", None, None], 2, 2),  # trailing gaps: still open
        (["G", "#", "Z"], 1, 0),  # trailing neutral codes: still open
    ],
)
def test_run_still_open_at_the_end(marks: list[Mark], sessions: int, gaps: int) -> None:
    (run,) = unexplained_absence_runs(_school_sessions(MON, "AM", marks))
    assert run.open
    assert run.sessions == sessions
    assert run.data_gaps == gaps


def test_two_runs_separated_by_a_present_mark() -> None:
    rows = _school_sessions(MON, "AM", ["G", "G", "N", "\\", "O", "O", "O"])
    runs = unexplained_absence_runs(rows)
    assert [(r.sessions, r.open) for r in runs] == [(3, False), (3, True)]
    assert runs[0].last_session == (MON + timedelta(days=1), "AM")
    assert runs[1].first_session == (MON + timedelta(days=2), "AM")


def test_exactly_twenty_sessions_is_ten_school_days() -> None:
    # Two school weeks, Monday 6 to Friday 17 January 2025, weekend left out.
    rows = _school_sessions(MON, "AM", ["G"] * 20 + ["/"])
    assert rows[19][:2] == (date(2025, 1, 17), "PM")
    (run,) = unexplained_absence_runs(rows)
    assert run.sessions == 20
    assert run.school_days == 10.0
    assert run.last_session == (date(2025, 1, 17), "PM")
    assert runs_at_least([run], CME_REFERRAL_SCHOOL_DAYS) == [run]
    assert runs_at_least([run], 10.5) == []


def test_nineteen_sessions_is_below_the_threshold() -> None:
    rows = _school_sessions(MON, "PM", ["N"] * 19)
    runs = unexplained_absence_runs(rows)
    assert runs[0].sessions == 19
    assert runs[0].school_days == 9.5
    assert runs_at_least(runs, 10) == []
    assert runs_at_least(runs, 9.5) == runs


def test_twenty_sessions_with_gaps_and_closures_inside() -> None:
    marks: list[Mark] = ["G"] * 10 + ["#", "#", None] + ["O"] * 10
    (run,) = unexplained_absence_runs(_school_sessions(MON, "AM", marks))
    assert run.sessions == 20
    assert run.data_gaps == 1
    assert runs_at_least([run], 10) == [run]


@pytest.mark.parametrize(
    "breaker",
    sorted(c for c in ATTENDANCE_CODES if c not in {"G", "N", "O", "#", "Z", "X"}),
)
def test_every_other_code_breaks_a_run(breaker: str) -> None:
    runs = unexplained_absence_runs(_school_sessions(MON, "AM", ["G", breaker, "G"]))
    assert [r.sessions for r in runs] == [1, 1]
    assert [r.open for r in runs] == [False, True]


def test_no_sessions_and_no_absence() -> None:
    assert unexplained_absence_runs([]) == []
    assert unexplained_absence_runs(_school_sessions(MON, "AM", ["/", "\\", None, "#"])) == []


def test_accepts_a_one_shot_iterator_and_lower_case_codes() -> None:
    def rows() -> Iterator[Row]:
        yield from _school_sessions(MON, "AM", ["g", "n", "o"])

    (run,) = unexplained_absence_runs(rows())
    assert run.sessions == 3


def test_withdrawn_code_in_the_data_is_rejected() -> None:
    with pytest.raises(WithdrawnAttendanceCode, match="use J1"):
        unexplained_absence_runs(_school_sessions(MON, "AM", ["G", "J"]))


@pytest.mark.parametrize(
    "rows",
    [
        [(MON, "PM", "G"), (MON, "AM", "G")],
        [(MON, "AM", "G"), (MON, "AM", "G")],
        [(MON + timedelta(days=1), "AM", "G"), (MON, "PM", "G")],
    ],
)
def test_sessions_out_of_order_are_rejected(rows: list[Row]) -> None:
    with pytest.raises(ValueError, match="sessions must be in order"):
        unexplained_absence_runs(rows)


def test_bad_half_is_rejected() -> None:
    rows = [(MON, "am", "G")]
    with pytest.raises(ValueError, match="session half must be 'AM' or 'PM'"):
        unexplained_absence_runs(rows)  # type: ignore[arg-type]


@pytest.mark.parametrize("days", [0, -1, 0.0])
def test_runs_at_least_needs_a_positive_threshold(days: float) -> None:
    with pytest.raises(ValueError, match="must be positive"):
        runs_at_least([], days)


def test_school_days_is_not_a_stored_field() -> None:
    run = AbsenceRun((MON, "AM"), (MON, "PM"), sessions=2, data_gaps=0, open=True)
    assert run.school_days == 1.0
    assert [f.name for f in dataclasses.fields(run)] == [
        "first_session",
        "last_session",
        "sessions",
        "data_gaps",
        "open",
    ]


# --- Properties: compare with a simple reference implementation --------------------

_marks = st.lists(
    st.one_of(
        st.none(),
        st.sampled_from(["G", "N", "O", "#", "Z", "X", "/", "\\", "U", "D", "I", "C2"]),
    ),
    max_size=120,
)


def _reference_run_lengths(marks: Sequence[Mark]) -> list[int]:
    """Drop gaps and neutral codes, then measure maximal blocks of G/N/O."""
    kept = [m for m in marks if m is not None and m not in {"#", "Z", "X"}]
    lengths: list[int] = []
    current = 0
    for mark in kept:
        if mark in {"G", "N", "O"}:
            current += 1
        elif current:
            lengths.append(current)
            current = 0
    if current:
        lengths.append(current)
    return lengths


@_props
@given(_marks, st.sampled_from(["AM", "PM"]))
def test_runs_match_reference(marks: list[Mark], first_half: Half) -> None:
    rows = _school_sessions(MON, first_half, marks)
    runs = unexplained_absence_runs(rows)
    assert [r.sessions for r in runs] == _reference_run_lengths(marks)
    assert sum(r.data_gaps for r in runs) <= marks.count(None)
    # Only the last run can be open, and it is open exactly when no breaking code follows.
    assert all(not r.open for r in runs[:-1])
    if runs:
        after_last = [row[2] for row in rows if row[:2] > runs[-1].last_session]
        assert runs[-1].open is all(m is None or m in {"#", "Z", "X"} for m in after_last)
    for run in runs:
        assert run.first_session <= run.last_session
        assert run.school_days * 2 == run.sessions
        positions = [row[:2] for row in rows]
        start, end = positions.index(run.first_session), positions.index(run.last_session)
        inside = [row[2] for row in rows[start : end + 1]]
        assert sum(m in {"G", "N", "O"} for m in inside) == run.sessions
        assert all(m is None or not breaks_run(m) for m in inside)
