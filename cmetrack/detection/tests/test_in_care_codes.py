"""Children in care: "unable to attend" (Q, Y1 to Y7) is not absence (issue 18, item 5)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from cmetrack.detection import engine

from .factories import write_csv

TERM = (date(2025, 9, 3), date(2025, 12, 19))


@pytest.mark.parametrize("code", ["Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7"])
def test_unable_to_attend_is_left_out_of_possible_sessions(tmp_path: Path, code: str) -> None:
    marks = [
        ["9992001", "P1", "2025-09-08", "AM", "/"],
        ["9992001", "P1", "2025-09-08", "PM", "/"],
        ["9992001", "P1", "2025-09-09", "AM", code],
        ["9992001", "P1", "2025-09-09", "PM", code],
        ["9992001", "P1", "2025-09-10", "AM", "/"],
        ["9992001", "P1", "2025-09-10", "PM", "O"],
    ]
    path = write_csv(tmp_path / "m.csv", engine.MARKS_COLUMNS, marks)
    con = engine.connect()
    engine.load_calendar(con, [TERM], [])
    engine.create_marks_view(con, [], [str(path)])
    engine.build_school_days(con, date(2025, 9, 10), ["9992001"])
    (row,) = engine.attendance_summary(con, TERM[0], date(2025, 9, 10), ["P1"])
    # Three attended of four possible: the two unable-to-attend sessions count for nothing.
    assert (row.attended, row.possible, row.percent) == (3, 4, 75.0)
