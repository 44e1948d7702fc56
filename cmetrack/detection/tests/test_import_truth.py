"""Imports tell the truth (issue 18, item 6): the real line and column of every problem.

Blank lines are counted; a short or long row is that row's problem; a line that is not
UTF-8 or is far too long is that line's problem and the rest of the file is still checked;
marks dated outside the loaded calendar are refused with their count.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmetrack.audit.services import Actor
from cmetrack.detection import importers, lines
from cmetrack.detection.models import AdmissionAllocation, ImportStatus

from .factories import TermFactory, make_upn, school

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
U1, U2 = make_upn(1), make_upn(2)
ALLOC_HEADER = b"laestab,upn,legal_given_name,legal_family_name,dob,expected_start\n"


@pytest.fixture(autouse=True)
def attendance_dir(settings: Any, tmp_path: Path) -> Path:
    settings.ATTENDANCE_DIR = str(tmp_path / "attendance")
    return tmp_path / "attendance"


@pytest.fixture
def schools() -> Any:
    return school(estab="2001")


@pytest.fixture
def autumn() -> None:
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def problems(run: Any) -> list[tuple[int, str]]:
    return [(e["line"], e["column"]) for e in run.errors]


def alloc(upn: str, given: str = "Amira", dob: str = "2014-05-01") -> bytes:
    return f"9992001,{upn},{given},Khan,{dob},2025-09-03\n".encode()


# --- Every CSV importer (the shared reader) ----------------------------------------------


def test_blank_lines_are_counted_in_line_numbers(tmp_path: Path, schools: Any) -> None:
    data = ALLOC_HEADER + b"\n" + alloc(U1) + b"\n\n" + alloc("A12")
    run = importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, "a.csv", data), file_name="a.csv"
    )
    assert problems(run) == [(6, "upn")]
    assert run.rows == 2


def test_a_short_and_a_long_row_are_those_rows_problems(tmp_path: Path, schools: Any) -> None:
    data = ALLOC_HEADER + b"9992001,H801200001001,Amira\n" + alloc(U1)[:-1] + b",extra\n"
    run = importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, "a.csv", data), file_name="a.csv"
    )
    assert problems(run) == [(2, "legal_family_name"), (3, "")]
    assert "no value for legal_family_name, dob, expected_start" in run.errors[0]["message"]
    assert "1 value too many" in run.errors[1]["message"]
    assert not any("header row is missing" in e["message"] for e in run.errors)


def test_a_quoted_value_over_two_lines_is_on_the_line_it_starts(
    tmp_path: Path, schools: Any
) -> None:
    data = ALLOC_HEADER + b'9992001,A12,"Amira\nJane",Khan,2014-05-01,2025-09-03\n' + alloc("B1")
    run = importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, "a.csv", data), file_name="a.csv"
    )
    assert problems(run) == [(2, "upn"), (4, "upn")]


def test_a_bad_byte_is_its_lines_problem_and_later_errors_are_still_listed(
    tmp_path: Path, schools: Any
) -> None:
    data = ALLOC_HEADER + alloc(U1, "Zoë") + alloc(U2, "Ren\xe9e").replace(b"\xc3\xa9", b"\xe9")
    data += alloc("A12")
    run = importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, "a.csv", data), file_name="a.csv"
    )
    assert problems(run) == [(3, "legal_given_name"), (4, "upn")]
    assert "byte 0xE9 at character 26" in run.errors[0]["message"]
    assert "UTF-8" in run.errors[0]["message"]


def test_a_spreadsheets_windows_1252_file_is_still_read(tmp_path: Path, schools: Any) -> None:
    data = ALLOC_HEADER + alloc(U1, "Ren\xe9e").replace(b"\xc3\xa9", b"\xe9")
    run = importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, "a.csv", data), file_name="a.csv"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert AdmissionAllocation.objects.get().legal_given_name == "Renée"


def test_a_10_mb_line_is_its_lines_problem_and_the_rest_is_still_checked(
    tmp_path: Path, schools: Any
) -> None:
    huge = b"9992001," + b"X" * (10 * 1024 * 1024) + b",Khan,2014-05-01,2025-09-03\n"
    data = ALLOC_HEADER + alloc(U1) + huge + alloc(U2) + alloc("A12")
    run = importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, "a.csv", data), file_name="a.csv"
    )
    assert problems(run) == [(3, ""), (5, "upn")]
    assert "10,485,795 characters long" in run.errors[0]["message"]
    assert len(run.errors[0]["message"]) < 200


def test_columns_are_found_by_name_in_any_order_and_case(tmp_path: Path, schools: Any) -> None:
    data = (
        b"Expected_Start,UPN,DOB,Legal_Family_Name,Legal_Given_Name,LAESTAB\n"
        + f"2025-09-03,{U1},2014-05-01,Khan,Amira,9992001\n".encode()
    )
    run = importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, "a.CSV", data), file_name="a.CSV"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors


def test_the_line_reader_on_its_own(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", b"a,b\n\n1,\xc3\xa9\n\xff,3\n4,5")
    items = list(lines.read_records(path))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Record", 1),
        ("Record", 2),
        ("Record", 3),
        ("LineProblem", 4),
        ("Record", 4),
        ("Record", 5),
    ]
    assert items[3].column == 0  # type: ignore[union-attr]


# --- Attendance (DuckDB) -----------------------------------------------------------------

HEADER = b"laestab,upn,date,session,code\n"


def mark(upn: str = U1, day: str = "2025-10-06", session: str = "AM", code: str = "/") -> bytes:
    return f"9992001,{upn},{day},{session},{code}\n".encode()


def attendance(tmp_path: Path, data: bytes, name: str = "m.csv") -> Any:
    return importers.attendance_import(
        actor=SYSTEM, path=write(tmp_path, name, data), file_name=name
    )


def test_attendance_plain_file_is_checked_quickly_and_read(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    path = write(tmp_path, "m.csv", HEADER + mark() + mark(session="PM"))
    assert lines.is_plain_csv(path, 5)
    run = attendance(tmp_path, HEADER + mark() + mark(session="PM"))
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert run.rows == 2


def test_attendance_blank_lines_count(tmp_path: Path, schools: Any, autumn: None) -> None:
    run = attendance(tmp_path, HEADER + mark() + b"\n\n" + mark(upn="A12"))
    assert problems(run) == [(5, "upn")]


def test_attendance_short_row_is_that_rows_problem(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    run = attendance(tmp_path, HEADER + mark() + b"9992001,H801200001001,2025-10-06,PM\n")
    assert problems(run) == [(3, "code")]
    assert "this row has 4 values but the header has 5 columns" in run.errors[0]["message"]


def test_attendance_bad_byte_and_huge_line_and_later_errors_all_listed(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    huge = b"9992001," + b"9" * (10 * 1024 * 1024) + b",2025-10-06,AM,/\n"
    data = (
        HEADER
        + mark()
        + f"9992001,{U1}\xe9,2025-10-06,PM,/\n".replace("\xe9", "é").encode()
        + b"9992001,H801200001001,2025-10-07,AM,\xe9\n"
        + huge
        + mark(day="2025-10-08", code="H")
    )
    run = attendance(tmp_path, data)
    assert problems(run) == [(3, "upn"), (4, "code"), (5, ""), (6, "code")]
    assert "not UTF-8" in run.errors[1]["message"]
    assert "characters long" in run.errors[2]["message"]


def test_attendance_columns_in_another_order_and_case(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    data = b"Code,Session,DATE,UPN,LAESTAB\n" + f"N,AM,2025-10-06,{U1},9992001\n".encode()
    run = attendance(tmp_path, data, "marks.CSV")
    assert run.status == ImportStatus.SUCCEEDED, run.errors


def test_marks_outside_the_loaded_calendar_are_refused_with_their_count(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    data = HEADER + mark() + mark(day="2026-01-05") + mark(day="2026-01-06")
    run = attendance(tmp_path, data)
    assert run.status == ImportStatus.FAILED
    assert run.errors[0]["line"] == 0
    assert run.errors[0]["message"].startswith(
        "2 marks are dated outside the school calendar (5 January 2026 to 6 January 2026; "
        "the school calendar loaded runs from 3 September 2025 to 19 December 2025)"
    )
    assert problems(run)[1:] == [(3, "date"), (4, "date")]


def test_marks_with_no_calendar_loaded_are_refused(tmp_path: Path, schools: Any) -> None:
    run = attendance(tmp_path, HEADER + mark())
    assert run.status == ImportStatus.FAILED
    assert "no term dates are loaded" in run.errors[0]["message"]


# --- Deletion grounds (h) and (i), and a UPN never on any roll (issue 18, item 5) ---------

DELETION_HEADER = (
    b"laestab,upn,legal_given_name,legal_family_name,dob,ground,deleted_on,"
    b"school_enquiries,la_enquiries,leave_ended_on\n"
)


def deletion(ground: str, school_enq: str = "", la_enq: str = "", leave: str = "") -> bytes:
    return (
        f"9992001,{U1},Amira,Khan,2014-05-01,{ground},2025-10-20,{school_enq},{la_enq},{leave}\n"
    ).encode()


def test_grounds_h_and_i_are_refused_without_the_joint_enquiries(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    data = DELETION_HEADER + deletion("i") + deletion("i", "Visited", "")
    run = importers.deletions_import(
        actor=SYSTEM, path=write(tmp_path, "d.csv", data), file_name="d.csv"
    )
    assert problems(run) == [(2, "school_enquiries"), (3, "school_enquiries")]
    assert "the school's and the authority's enquiries" in run.errors[0]["message"]
    assert "give the authority's enquiries" in run.errors[1]["message"]


def test_ground_h_needs_ten_school_days_after_the_leave(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    early = deletion("h", "Visited", "Checked", "2025-10-10")  # 6 school days to 20 Oct
    late = deletion("h", "Visited", "Checked", "2025-10-03")  # 11 school days
    run = importers.deletions_import(
        actor=SYSTEM, path=write(tmp_path, "d.csv", DELETION_HEADER + early), file_name="d.csv"
    )
    assert problems(run) == [(2, "leave_ended_on")]
    assert "6 school days had passed" in run.errors[0]["message"]
    run = importers.deletions_import(
        actor=SYSTEM, path=write(tmp_path, "d2.csv", DELETION_HEADER + late), file_name="d2.csv"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert run.warnings[0]["column"] == "upn"
    assert "has never been on any school's roll" in run.warnings[0]["message"]


def test_attendance_short_and_long_rows_whose_commas_balance_are_still_found(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    short = b"9992001,H801200001001,2025-10-06,PM\n"
    long = mark()[:-1] + b",extra\n"
    path = write(tmp_path, "m.csv", HEADER + short + long)
    assert lines.is_plain_csv(path, 5)  # the quick check cannot tell...
    run = attendance(tmp_path, HEADER + short + long)
    assert problems(run) == [(2, "code"), (3, "")]  # ...the reading does


def test_the_quick_check_refuses_what_it_cannot_vouch_for(tmp_path: Path) -> None:
    for data in (
        HEADER + mark() + b"\n" + mark(),  # a blank line
        HEADER + b'"9992001",' + mark()[8:],  # quotes
        HEADER + mark()[:-1] + b"\xe9\n",  # not UTF-8
        HEADER + mark() + b"9992001," + b"9" * (lines.MAX_LINE_BYTES + 1) + b",d,AM,/\n",
    ):
        assert not lines.is_plain_csv(write(tmp_path, "x.csv", data), 5)
