"""Shared helpers: run the engine on in-memory marks, and the pure reference answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from cmetrack.detection import engine
from cmetrack.rules.attendance import AbsenceRun, unexplained_absence_runs
from cmetrack.schoolcalendar.calendar import school_days_between

Mark = tuple[str, str, date, str, str]  # laestab, upn, date, session, code


def duckdb_runs(
    marks: Sequence[Mark],
    terms: Sequence[tuple[date, date]],
    closures: Sequence[tuple[str, date]],
    as_of: date,
    min_sessions: int = 1,
) -> list[engine.RunRow]:
    con = engine.connect(threads=1)
    engine.load_calendar(con, terms, closures)
    register_marks(con, marks)
    engine.build_school_days(con, as_of)
    return engine.absence_runs(con, as_of, min_sessions)


def register_marks(con: Any, marks: Sequence[Mark]) -> None:
    con.register("marks_arrow", register_table(marks))
    con.execute("CREATE OR REPLACE VIEW marks AS SELECT * FROM marks_arrow")


def register_table(marks: Sequence[Mark]) -> Any:
    return pa.table(
        {
            "laestab": pa.array([m[0] for m in marks], pa.string()),
            "upn": pa.array([m[1] for m in marks], pa.string()),
            "d": pa.array([m[2] for m in marks], pa.date32()),
            "session": pa.array([m[3] for m in marks], pa.string()),
            "code": pa.array([m[4] for m in marks], pa.string()),
        }
    )


def reference_runs(
    marks: Sequence[Mark],
    terms: Sequence[tuple[date, date]],
    closures: Sequence[tuple[str, date]],
    as_of: date,
) -> dict[tuple[str, str], list[AbsenceRun]]:
    """The pure function's answer, on each pupil's school sessions from their first mark
    to the school's last marked session (the end of the data)."""
    result: dict[tuple[str, str], list[AbsenceRun]] = {}
    by_school: dict[str, list[Mark]] = {}
    for mark in marks:
        by_school.setdefault(mark[0], []).append(mark)
    for laestab, school_marks in by_school.items():
        closed = [d for la, d in closures if la in ("", laestab)]
        days = school_days_between(terms, closed, date(1990, 1, 1), as_of)
        sessions = [(d, h) for d in days for h in ("AM", "PM")]
        index = {s: i for i, s in enumerate(sessions)}
        on_days = [m for m in school_marks if (m[2], m[3]) in index]
        if not on_days:
            continue
        end = max(index[(m[2], m[3])] for m in on_days)
        pupils: dict[str, dict[int, str]] = {}
        for _, upn, d, half, code in on_days:
            pupils.setdefault(upn, {})[index[(d, half)]] = code
        for upn, codes in pupils.items():
            start = min(codes)
            seq = [(sessions[i][0], sessions[i][1], codes.get(i)) for i in range(start, end + 1)]
            runs = unexplained_absence_runs(seq)  # type: ignore[arg-type]
            if runs:
                result[(laestab, upn)] = runs
    return result


def as_comparable(runs: Sequence[engine.RunRow]) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    result: dict[tuple[str, str], list[tuple[Any, ...]]] = {}
    for r in runs:
        result.setdefault((r.laestab, r.upn), []).append(
            (
                (r.first_date, r.first_session),
                (r.last_date, r.last_session),
                r.sessions,
                r.data_gaps,
                r.open,
            )
        )
    return result


def reference_comparable(
    ref: dict[tuple[str, str], list[AbsenceRun]],
) -> dict[tuple[str, str], list[tuple[Any, ...]]]:
    return {
        key: [(r.first_session, r.last_session, r.sessions, r.data_gaps, r.open) for r in runs]
        for key, runs in ref.items()
    }
