"""Runs of unexplained absence in DuckDB (rules.md section 4) on hand-built calendars,
and the set-based SQL against the pure function on generated calendars and marks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmetrack.detection import engine
from cmetrack.schoolcalendar.calendar import school_days_between

from .runs_support import (
    Mark,
    as_comparable,
    duckdb_runs,
    reference_comparable,
    reference_runs,
    register_marks,
    register_table,
)

SCHOOL = "9992001"
OTHER = "9992002"
# Spring term with a half-term holiday; Friday 10 January closed LA-wide (INSET) and
# Monday 13 January closed at SCHOOL only.
TERMS = [(date(2025, 1, 6), date(2025, 2, 14)), (date(2025, 2, 24), date(2025, 4, 4))]
CLOSURES = [("", date(2025, 1, 10)), (SCHOOL, date(2025, 1, 13))]
AS_OF = date(2025, 4, 30)


def sessions_from(start: date, school: str = SCHOOL) -> list[tuple[date, str]]:
    closed = [d for la, d in CLOSURES if la in ("", school)]
    days = school_days_between(TERMS, closed, start, AS_OF)
    return [(d, h) for d in days for h in ("AM", "PM")]


def pupil(
    upn: str, start: date, codes: str, first_half: str = "AM", school: str = SCHOOL
) -> list[Mark]:
    """Marks on consecutive school sessions from ``start``; '.' leaves a session unmarked."""
    sessions = sessions_from(start, school)
    if first_half == "PM":
        sessions = sessions[1:]
    return [
        (school, upn, d, h, code)
        for (d, h), code in zip(sessions, codes.split(), strict=False)
        if code != "."
    ]


def only_run(marks: list[Mark]) -> tuple[object, ...]:
    runs = duckdb_runs(marks, TERMS, CLOSURES, AS_OF)
    assert len(runs) == 1, runs
    r = runs[0]
    return (r.first_date, r.first_session, r.last_date, r.last_session, r.sessions,
            r.data_gaps, r.open)  # fmt: skip


def test_weekend_and_closure_days_neither_break_nor_extend() -> None:
    # Thu 9 Jan AM .. Tue 14 Jan PM: Fri 10 (LA closure), weekend, Mon 13 (school closure)
    # are not sessions, so 6 N sessions are one run; a "/" on Wed 15 ends it.
    marks = pupil("A", date(2025, 1, 9), "N N N N / /")
    assert only_run(marks) == (
        date(2025, 1, 9), "AM", date(2025, 1, 14), "PM", 4, 0, False
    )  # fmt: skip


def test_a_closure_for_another_school_is_a_school_day_here() -> None:
    marks = pupil("A", date(2025, 1, 9), "N N N N /", school=OTHER)
    assert only_run(marks)[2] == date(2025, 1, 13)


def test_holidays_between_terms_do_not_break_a_run() -> None:
    marks = pupil("A", date(2025, 2, 13), "G G G G O O /")
    assert only_run(marks) == (
        date(2025, 2, 13), "AM", date(2025, 2, 24), "PM", 6, 0, False
    )  # fmt: skip


@pytest.mark.parametrize("neutral", ["#", "Z", "X"])
def test_neutral_codes_neither_break_nor_extend(neutral: str) -> None:
    marks = pupil("A", date(2025, 3, 3), f"N {neutral} {neutral} N /")
    assert only_run(marks)[4:] == (2, 0, False)


@pytest.mark.parametrize("breaker", ["/", "\\", "L", "U", "D", "I", "M", "C", "B", "Q", "Y1", "E"])
def test_every_other_code_breaks_a_run(breaker: str) -> None:
    marks = pupil("A", date(2025, 3, 3), f"N N {breaker} O O O")
    runs = duckdb_runs(marks, TERMS, CLOSURES, AS_OF)
    assert [(r.sessions, r.open) for r in runs] == [(2, False), (3, True)]


def test_a_session_with_no_mark_is_a_counted_gap() -> None:
    marks = pupil("A", date(2025, 3, 3), "N . . N . /")
    assert only_run(marks)[4:] == (2, 3, False)


def test_a_run_may_start_with_a_pm_session() -> None:
    marks = pupil("A", date(2025, 3, 3), "/ N N N /")
    assert only_run(marks)[:2] == (date(2025, 3, 3), "PM")


def test_a_run_open_at_the_end_of_the_data_is_reported_so_far() -> None:
    # Another pupil's marks carry the school's data on to 7 March PM: two unmarked
    # sessions after the run's last N are gaps, and the run is open.
    marks = pupil("A", date(2025, 3, 3), "/ / N N N N") + pupil(
        "B", date(2025, 3, 3), "/ / / / / / / / / /"
    )
    assert only_run(marks) == (
        date(2025, 3, 4), "AM", date(2025, 3, 5), "PM", 4, 4, True
    )  # fmt: skip


def test_marks_on_non_school_days_are_ignored() -> None:
    saturday = date(2025, 3, 8)
    marks = [*pupil("A", date(2025, 3, 7), "N N N N /"), (SCHOOL, "A", saturday, "AM", "/")]
    assert only_run(marks)[4:] == (4, 0, False)


def test_twenty_sessions_is_ten_school_days() -> None:
    marks = pupil("A", date(2025, 3, 3), " ".join(["N"] * 20) + " /")
    runs = duckdb_runs(marks, TERMS, CLOSURES, AS_OF, min_sessions=20)
    assert [(r.sessions, r.school_days) for r in runs] == [(20, 10.0)]
    assert duckdb_runs(marks, TERMS, CLOSURES, AS_OF, min_sessions=21) == []


def test_as_of_date_ends_the_data() -> None:
    marks = pupil("A", date(2025, 3, 3), " ".join(["N"] * 10) + " /")
    runs = duckdb_runs(marks, TERMS, CLOSURES, date(2025, 3, 4))
    assert [(r.sessions, r.open, r.last_date) for r in runs] == [(4, True, date(2025, 3, 4))]


# --- DuckDB agrees with the pure function --------------------------------------------

CODES = ["G", "N", "O", "#", "Z", "X", "/", "\\", "U", "I", "D", "L", None]


@st.composite
def calendars_and_marks(draw: st.DrawFn) -> tuple[list[tuple[date, date]], list[tuple[str, date]],
                                                 list[Mark], date]:  # fmt: skip
    start = date(2025, 1, 6) + timedelta(days=draw(st.integers(0, 6)))
    terms = []
    cursor = start
    for _ in range(draw(st.integers(1, 3))):
        length = draw(st.integers(0, 20))
        terms.append((cursor, cursor + timedelta(days=length)))
        cursor += timedelta(days=length + draw(st.integers(2, 10)))
    end = cursor
    span = (end - start).days
    closures = [
        (
            draw(st.sampled_from(["", SCHOOL, OTHER])),
            start + timedelta(days=draw(st.integers(0, span))),
        )
        for _ in range(draw(st.integers(0, 4)))
    ]
    marks: list[Mark] = []
    for school in (SCHOOL, OTHER):
        for upn in ("P1", "P2", "P3")[: draw(st.integers(1, 3))]:
            day = start - timedelta(days=draw(st.integers(0, 3)))
            while day <= end:
                for half in ("AM", "PM"):
                    code = draw(st.sampled_from(CODES))
                    if code is not None:
                        marks.append((school, upn, day, half, code))
                day += timedelta(days=1)
    as_of = end - timedelta(days=draw(st.integers(0, 5)))
    return terms, closures, marks, as_of


@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(calendars_and_marks())
def test_duckdb_runs_agree_with_the_pure_function(
    case: tuple[list[tuple[date, date]], list[tuple[str, date]], list[Mark], date],
) -> None:
    terms, closures, marks, as_of = case
    marks_to_date = [m for m in marks if m[2] <= as_of]
    expected = reference_comparable(reference_runs(marks_to_date, terms, closures, as_of))
    assert as_comparable(duckdb_runs(marks, terms, closures, as_of)) == expected


# --- One-day increments agree with a full recompute ----------------------------------


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(calendars_and_marks(), st.integers(1, 6))
def test_an_increment_agrees_with_a_full_recompute(
    case: tuple[list[tuple[date, date]], list[tuple[str, date]], list[Mark], date],
    days_back: int,
) -> None:
    terms, closures, marks, as_of = case
    cut = as_of - timedelta(days=days_back)
    full = set(duckdb_runs(marks, terms, closures, as_of))

    con = engine.connect(threads=1)
    engine.load_calendar(con, terms, closures)
    register_marks(con, [m for m in marks if m[2] <= cut])
    engine.build_school_days(con, as_of, laestabs={m[0] for m in marks})
    engine.save_run_state(con, cut)
    ends = dict(con.execute("SELECT laestab, end_seq FROM school_state").fetchall())
    later = [m for m in marks if cut < m[2] <= as_of]
    con.register("later_marks", register_table(later))
    con.execute("CREATE OR REPLACE VIEW new_marks AS SELECT * FROM later_marks")
    increment = set(engine.incremental_runs(con, as_of))

    assert increment <= full
    assert {r for r in full if r.open} <= increment
    assert {r for r in full if r.last_seq > ends.get(r.laestab, 0)} <= increment


# --- Reading marks from CSV -------------------------------------------------------------


def test_csv_marks_are_normalised_and_give_the_same_runs(tmp_path: Path) -> None:
    """Spreadsheet-style CSV (padded LAESTAB, lower-case codes and sessions, dates as
    03/09/2025) reads the same as clean marks; only the values that need it are changed."""
    marks = pupil("A123456789012", date(2025, 1, 6), " ".join(["/", "\\"] + ["N"] * 22 + ["/"]))
    clean = duckdb_runs(marks, TERMS, CLOSURES, AS_OF)
    lines = ["laestab,upn,date,session,code"]
    for n, (la, upn, d, session, code) in enumerate(marks):
        day = d.isoformat()
        if n % 2:
            la, session, code = f" {la} ", session.lower(), code.lower()
            day = f"{d:%d/%m/%Y}"
        lines.append(f"{la},{upn},{day},{session},{code}")
    path = tmp_path / "marks.csv"
    path.write_text("\n".join(lines) + "\n")
    con = engine.connect(threads=1)
    engine.load_calendar(con, TERMS, CLOSURES)
    engine.create_marks_view(con, csv=[str(path)])
    engine.build_school_days(con, AS_OF)
    assert engine.absence_runs(con, AS_OF) == clean
    assert con.execute("SELECT DISTINCT laestab FROM marks").fetchall() == [(SCHOOL,)]


def test_a_stray_mark_on_a_closed_day_does_not_move_the_end_of_the_data() -> None:
    """The school's last marked session ignores a mark on a day it was closed, so a run
    before it is still open (the mark itself is ignored too)."""
    codes = " ".join(["/"] * 4 + ["N"] * 20)
    marks = pupil("A123456789012", date(2025, 3, 19), codes)
    last_day = marks[-1][2]
    saturday = last_day + timedelta(days=(5 - last_day.weekday()) % 7 or 7)
    stray = [(SCHOOL, "B123456789012", saturday, "AM", "/")]
    (run,) = duckdb_runs(marks + stray, TERMS, CLOSURES, AS_OF, min_sessions=20)
    assert run.open
    assert (run.sessions, run.last_date) == (20, last_day)


def test_a_session_given_twice_is_counted_once() -> None:
    """Imports refuse a repeated session; files read directly may have one."""
    marks = pupil("A123456789012", date(2025, 1, 6), " ".join(["/"] + ["N"] * 21 + ["/"]))
    repeated = marks + [m for m in marks if m[4] == "N"][:5]
    assert only_run(repeated) == only_run(marks)
