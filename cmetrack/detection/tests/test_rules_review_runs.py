"""Adversarial review of the attendance rules end to end (rules.md sections 3 and 4): the
calendar, the run threshold and the children in care's attendance, through
:func:`detection_find` on a data folder. Every expected answer was counted by hand.

Calendar: autumn term 2025 to Friday 19 December, spring term 2026 from Monday 5 January;
school A (alone) closed on Monday 5 January 2026 (INSET).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmetrack.detection.services import DetectionConfig, Finding, detection_find
from cmetrack.people.tests.factories import ChildFactory

from .factories import ClosureDayFactory, TermFactory, make_upn, school, write_csv

pytestmark = pytest.mark.django_db

A = "9994001"
U = {n: make_upn(n, estab="4000") for n in range(1, 10)}
AS_OF = date(2026, 1, 16)

#: Pupil 1's marks at A, in order. 7 unexplained sessions before Christmas (16 December PM
#: to 19 December), a present mark on A's INSET day (not a school session: ignored), then
#: 13 more in January with a planned closure (#) day and one unmarked session inside; Y1
#: (unable to attend) on Friday 16 January breaks the run.
RUN_1 = [
    ("2025-12-16", "AM", "/"),
    ("2025-12-16", "PM", "N"),
    *((d, h, "N") for d in ("2025-12-17", "2025-12-18", "2025-12-19") for h in ("AM", "PM")),
    ("2026-01-05", "AM", "/"),  # A's INSET day
    ("2026-01-05", "PM", "/"),
    *((d, h, "O") for d in ("2026-01-06", "2026-01-07") for h in ("AM", "PM")),
    ("2026-01-08", "AM", "#"),
    ("2026-01-08", "PM", "#"),
    *((d, h, "G") for d in ("2026-01-09", "2026-01-12") for h in ("AM", "PM")),
    ("2026-01-13", "AM", "N"),  # 13 January PM: no mark (a data gap)
    *((d, h, "N") for d in ("2026-01-14", "2026-01-15") for h in ("AM", "PM")),
    ("2026-01-16", "AM", "Y1"),
    ("2026-01-16", "PM", "/"),
]


@pytest.fixture
def data(tmp_path: Path) -> Path:
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))
    TermFactory.create(term_start=date(2026, 1, 5), term_end=date(2026, 3, 27), name="Spring")
    org = school(code="999", estab="4001")
    ClosureDayFactory.create(school=org, date=date(2026, 1, 5), reason="INSET day")
    rows: list[list[Any]] = [[A, U[1], d, h, c] for d, h, c in RUN_1]
    # Pupil 2: the same, but late (L: present) on 15 January PM: 19 sessions, below 10 days.
    rows += [[A, U[2], d, h, "L" if (d, h) == ("2026-01-15", "PM") else c] for d, h, c in RUN_1]
    # Pupil 3, in care: 9 present days of 6 to 16 January (A's INSET day is not one) with
    # Q (access arrangements not made) on 6 January and Y2 (travel disruption) on 7 January:
    # 14 attended of 14 possible. Unable to attend is not absence: 100 %, no alert.
    days = [
        "2026-01-06", "2026-01-07", "2026-01-08", "2026-01-09", "2026-01-12",
        "2026-01-13", "2026-01-14", "2026-01-15", "2026-01-16",
    ]  # fmt: skip
    for d in days:
        code = {"2026-01-06": "Q", "2026-01-07": "Y2"}.get(d, "/")
        rows += [[A, U[3], d, "AM", code], [A, U[3], d, "PM", code]]
    # Pupil 4, in care: the same days, all present but one session of N on 16 January PM:
    # 17 attended of 18 possible, 94.4 %: at or below 95 %, alerted.
    for d in days:
        rows += [[A, U[4], d, "AM", "/"], [A, U[4], d, "PM", "N" if d == days[-1] else "/"]]
    for n in (3, 4):
        ChildFactory.create(upn=U[n], in_care=True)
    write_csv(tmp_path / "marks.csv", ["laestab", "upn", "date", "session", "code"], rows)
    return tmp_path


def findings(data: Path) -> dict[tuple[str, str], Finding]:
    report = detection_find(DetectionConfig(as_of=AS_OF, data_dir=data))
    return {(str(f.rule), f.upn): f for f in report.findings}


def test_a_run_of_exactly_ten_days_across_the_holidays_and_closures(data: Path) -> None:
    """Pupil 1: 16 December PM to 15 January PM is 20 G/N/O sessions (7 + 4 + 4 + 1 + 4):
    the Christmas holiday, A's INSET day (and the present marks on it), the # day and the
    unmarked session neither break nor extend it; 1 data gap; closed by Y1. Exactly 10
    school days: the referral threshold (rules.md section 4), not ground (i)'s 20."""
    found = findings(data)
    evidence = found[("absence_20", U[1])].evidence
    assert (evidence["first_session"], evidence["last_session"]) == (
        "2025-12-16 PM",
        "2026-01-15 PM",
    )
    assert (evidence["sessions"], evidence["school_days"]) == (20, 10.0)
    assert (evidence["data_gaps"], evidence["open"]) == (1, False)
    assert ("absence_40", U[1]) not in found


def test_nineteen_sessions_is_below_the_threshold(data: Path) -> None:
    """Pupil 2: late (L) on 15 January PM breaks the run at 19 sessions: no alert."""
    found = findings(data)
    assert ("absence_20", U[2]) not in found


def test_unable_to_attend_is_not_absence_for_a_child_in_care(data: Path) -> None:
    found = findings(data)
    assert ("in_care_attendance", U[3]) not in found
    evidence = found[("in_care_attendance", U[4])].evidence
    assert (evidence["attended_sessions"], evidence["possible_sessions"]) == (17, 18)
    assert evidence["attendance_percent"] == 94.4


def test_a_dual_registration_run_with_one_schools_closure_day_inside(tmp_path: Path) -> None:
    """Pupil 5, dual registered from Monday 3 to Friday 21 November 2025: due at A Monday to
    Wednesday (N there, D at B), at B Thursday and Friday (N there, D at A). A alone is
    closed on Wednesday 12 November: no session at A, and B's D that day decides nothing,
    so the run goes on. 15 school days less that Wednesday: 14 days, 28 sessions, both
    schools, open at the end of the data, last absent at B. Neither school alone has more
    than 3 days in a row (D breaks a run at one school), so only the joined run is found;
    28 sessions is under ground (i)'s 40."""
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))
    a, b = school(code="999", estab="4001"), school(code="999", estab="4002")
    assert (a.laestab, b.laestab) == (A, "9994002")
    ClosureDayFactory.create(school=a, date=date(2025, 11, 12), reason="INSET day")
    rows: list[list[Any]] = []
    day = date(2025, 11, 3)
    while day <= date(2025, 11, 21):
        if day.weekday() < 5:
            at_a = day.weekday() < 3
            for half in ("AM", "PM"):
                if day != date(2025, 11, 12):
                    rows.append([A, U[5], day.isoformat(), half, "N" if at_a else "D"])
                rows.append(["9994002", U[5], day.isoformat(), half, "D" if at_a else "N"])
        day = date.fromordinal(day.toordinal() + 1)
    write_csv(tmp_path / "marks.csv", ["laestab", "upn", "date", "session", "code"], rows)
    report = detection_find(DetectionConfig(as_of=date(2025, 11, 21), data_dir=tmp_path))
    found = [(str(f.rule), f.laestab, f.evidence) for f in report.findings if f.upn == U[5]]
    assert [(rule, laestab) for rule, laestab, _ in found] == [("absence_20", "9994002")]
    evidence = found[0][2]
    assert (evidence["first_session"], evidence["last_session"]) == (
        "2025-11-03 AM",
        "2025-11-21 PM",
    )
    assert (evidence["sessions"], evidence["data_gaps"], evidence["open"]) == (28, 0, True)
    assert evidence["schools"] == [A, "9994002"]
