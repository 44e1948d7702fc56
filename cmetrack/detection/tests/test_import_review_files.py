"""Imports tell the truth about files as schools' systems and spreadsheets save them
(issue 18, item 6): Mac line endings, UTF-16, a byte-order mark with Windows line endings,
short years, and what `import_data` and `detect --data` print.

Every expected line below is counted by hand, header = line 1, blank lines included.
"""

from __future__ import annotations

import codecs
import io
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from cmetrack.audit.services import Actor
from cmetrack.detection import importers, lines
from cmetrack.detection.imports import count_lines
from cmetrack.detection.models import AdmissionAllocation, AttendancePartition, ImportStatus
from cmetrack.registers.models import RollEntry
from cmetrack.schoolcalendar.models import Term

from . import test_import_truth as truth
from .factories import make_upn

# The fixtures and helpers of the import-truth tests (attendance_dir is autouse).
attendance_dir, autumn, schools = truth.attendance_dir, truth.autumn, truth.schools
write, problems = truth.write, truth.problems

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
U1, U2 = make_upn(1), make_upn(2)
ALLOC_HEADER = "laestab,upn,legal_given_name,legal_family_name,dob,expected_start"
MARKS_HEADER = "laestab,upn,date,session,code"


def alloc(upn: str, given: str = "Amira") -> str:
    return f"9992001,{upn},{given},Khan,2014-05-01,2025-09-03"


def allocations(tmp_path: Path, data: bytes, name: str = "a.csv") -> Any:
    return importers.allocations_import(
        actor=SYSTEM, path=write(tmp_path, name, data), file_name=name
    )


def attendance(tmp_path: Path, data: bytes, name: str = "m.csv") -> Any:
    return importers.attendance_import(
        actor=SYSTEM, path=write(tmp_path, name, data), file_name=name
    )


def mark(upn: str = U1, day: str = "2025-10-06", session: str = "AM", code: str = "/") -> str:
    return f"9992001,{upn},{day},{session},{code}"


# --- Line endings: a lone CR (a Mac spreadsheet's "CSV") is a line ending ----------------


def test_the_line_reader_ends_lines_at_lf_crlf_and_a_lone_cr(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", b"a,b\r1,2\r\n\r3,4\n\n5,6\r")
    items = list(lines.read_records(path))
    assert [(i.line, i.values) for i in items] == [  # type: ignore[union-attr]
        (1, ["a", "b"]),
        (2, ["1", "2"]),
        (3, []),
        (4, ["3", "4"]),
        (5, []),
        (6, ["5", "6"]),
    ]
    assert count_lines(path) == 6


def test_a_crlf_split_between_two_reads_is_one_line_ending(tmp_path: Path) -> None:
    # The "\r" is the last byte of the first block read, its "\n" the first of the next;
    # then the same after a line too long to keep.
    first = b"x" * (lines._READ_BLOCK - 1) + b"\r\nz\n"
    assert [n for n, _, _ in lines._physical_lines(write(tmp_path, "a", first))] == [1, 2]
    huge = b"h\n" + b"x" * (20 * lines._READ_BLOCK - 3) + b"\r\nz"
    got = list(lines._physical_lines(write(tmp_path, "b", huge)))
    assert [(n, raw) for n, raw, _ in got] == [(1, b"h"), (2, None), (3, b"z")]
    assert got[1][2] == 20 * lines._READ_BLOCK - 3


def test_a_file_with_mac_line_endings_is_read_line_by_line(tmp_path: Path, schools: Any) -> None:
    # 1 header, 2 good, 3 blank, 4 bad UPN (before: the whole file was one line, refused
    # with Python's words about "universal-newline mode")
    data = "\r".join([ALLOC_HEADER, alloc(U1), "", alloc("A12")]) + "\r"
    run = allocations(tmp_path, data.encode())
    assert problems(run) == [(4, "upn")]
    assert run.rows == 2
    assert not AdmissionAllocation.objects.exists()
    run = allocations(tmp_path, ("\r".join([ALLOC_HEADER, alloc(U1), alloc(U2)]) + "\r").encode())
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert AdmissionAllocation.objects.count() == 2


def test_a_roll_from_a_mac_spreadsheet_in_windows_1252(tmp_path: Path, schools: Any) -> None:
    header = (
        "laestab,upn,former_upn,legal_given_name,legal_family_name,preferred_given_name,"
        "preferred_family_name,dob,sex,address,postcode,nc_year,entry_date,enrolment_status"
    )
    row = f"9992001,{U1},,Zoë,Khan,,,03/05/2014,F,1 High St,AB1 2CD,6,2021-09-01,C"
    data = ("\r".join([header, row]) + "\r").encode("cp1252")
    run = importers.roll_import(
        actor=SYSTEM, path=write(tmp_path, "r.csv", data), file_name="r.csv", taken_on="2025-10-02"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert RollEntry.objects.get().legal_given_name == "Zoë"


def test_crlf_with_a_quoted_value_over_two_lines_keeps_later_lines_right(
    tmp_path: Path, schools: Any
) -> None:
    # 1 header, 2-3 a given name of two lines, 4 a line of only commas, 5 bad UPN
    two_lines = f'9992001,{U1},"Amira\r\nJane",Khan,2014-05-01,2025-09-03'
    data = "\r\n".join([ALLOC_HEADER, two_lines, ",,,,,", alloc("A12")]) + "\r\n"
    run = allocations(tmp_path, data.encode())
    assert problems(run) == [(5, "upn")]
    assert not AdmissionAllocation.objects.exists()


# --- A file saved as UTF-16 ("Unicode text") ----------------------------------------------


def test_a_utf_16_file_is_refused_as_a_whole_in_plain_words(tmp_path: Path, schools: Any) -> None:
    data = "\r\n".join([ALLOC_HEADER, alloc(U1, "Zoë")]).encode("utf-16")
    run = allocations(tmp_path, data)
    assert run.status == ImportStatus.FAILED
    assert problems(run) == [(0, "")]
    assert run.errors[0]["message"] == (
        "it is saved as Unicode text (UTF-16), which cannot be read: save it as CSV UTF-8 "
        "and send it again"
    )
    assert not AdmissionAllocation.objects.exists()


def test_a_utf_16_attendance_file_is_refused_in_the_same_words(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    text = "\n".join([MARKS_HEADER, mark()])
    for data in (codecs.BOM_UTF16_BE + text.encode("utf-16-be"), text.encode("utf-16-le")):
        run = attendance(tmp_path, data)
        assert problems(run) == [(0, "")]
        assert "UTF-16" in run.errors[0]["message"]


# --- Attendance: as MIS exports and spreadsheets save it ---------------------------------


def test_attendance_with_a_bom_crlf_and_a_padded_upper_case_header(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    data = b"\xef\xbb\xbfLAESTAB ,UPN , Date,Session,Code \r\n"
    data += (mark() + "\r\n" + mark(session="PM", day="7/10/2025") + "\r\n").encode()
    run = attendance(tmp_path, data)
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert run.rows == 2
    assert AttendancePartition.objects.get().marks == 2


def test_attendance_with_mac_line_endings(tmp_path: Path, schools: Any, autumn: None) -> None:
    # 1 header, 2 good, 3 blank, 4 bad UPN, 5 a withdrawn code
    data = "\r".join([MARKS_HEADER, mark(), "", mark(upn="A12"), mark(session="PM", code="J")])
    run = attendance(tmp_path, (data + "\r").encode())
    assert problems(run) == [(4, "upn"), (5, "code")]
    assert "use J1 instead" in run.errors[1]["message"]
    assert not AttendancePartition.objects.exists()


def test_attendance_dates_with_a_short_year_are_not_real_dates(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    # DuckDB read 3/9/25 as 25 September 0003 and 25-09-03 as 3 September 0025: they were
    # then "dated outside the school calendar (25 September 3 ...)". The other importers
    # say what they say of any date they cannot read.
    data = "\n".join(
        [
            MARKS_HEADER,
            mark(day="3/9/25"),  # 2
            mark(day="2025-10-06"),  # 3
            mark(day="03/09/25", session="PM"),  # 4
            mark(upn=U2, day="25-09-03"),  # 5
            mark(upn=U2, day="3/9/2025", session="PM"),  # 6: a real date
        ]
    )
    run = attendance(tmp_path, (data + "\n").encode())
    assert problems(run) == [(2, "date"), (4, "date"), (5, "date")]
    assert run.errors[0]["message"] == "'3/9/25' is not a real date: use 2025-09-03 or 03/09/2025"
    assert not any("calendar" in e["message"] for e in run.errors)
    assert not AttendancePartition.objects.exists()


def test_the_calendar_importers_say_the_same_of_a_short_year(tmp_path: Path) -> None:
    # 1 header, 2 only commas, 3 good, 4 blank, 5 a short year
    data = b"term_start,term_end\n,\n2025-09-03,19/12/2025\n\n3/9/25,20/12/2025\n"
    run = importers.terms_import(
        actor=SYSTEM, path=write(tmp_path, "t.csv", data), file_name="t.csv"
    )
    assert problems(run) == [(5, "term_start")]
    assert run.errors[0]["message"] == "'3/9/25' is not a real date: use 2025-09-03 or 03/09/2025"
    assert not Term.objects.exists()


# --- What the commands print --------------------------------------------------------------


def test_import_data_prints_each_problem_with_its_line_and_column_or_the_file(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    path = write(tmp_path, "m.csv", "\n".join([MARKS_HEADER, mark(day="2026-01-05")]).encode())
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command(
            "import_data", "attendance", str(path), "--no-detect", stderr=err, stdout=io.StringIO()
        )
    printed = err.getvalue().splitlines()
    assert printed[0].startswith("error: The file, column date: 1 mark is dated outside")
    assert printed[1] == (
        "error: Line 2, column date: 5 January 2026 is not in any term of the school calendar "
        "loaded"
    )
    short = write(tmp_path, "a.csv", f"{ALLOC_HEADER}\n9992001,{U1},Amira\n".encode())
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command(
            "import_data",
            "allocations",
            str(short),
            "--no-detect",
            stderr=err,
            stdout=io.StringIO(),
        )
    assert err.getvalue().startswith(
        "error: Line 2, column legal_family_name: this row has 3 values but the header has 6"
    )


def test_detect_data_names_a_parquet_file_without_a_marks_column(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    data = tmp_path / "marks"
    data.mkdir()
    target = str(data / "week.PARQUET").replace("'", "''")
    duckdb.execute(
        "COPY (SELECT '9992001' AS LAESTAB, ? AS Upn, DATE '2025-10-06' AS date, 'AM' AS session) "
        f"TO '{target}' (FORMAT parquet)",
        [U1],
    )
    with pytest.raises(CommandError) as raised:
        call_command(
            "detect",
            "--data",
            str(data),
            "--as-of",
            "2025-10-10",
            "--dry-run",
            stdout=io.StringIO(),
        )
    assert str(raised.value) == (
        f"{data / 'week.PARQUET'} is not a file of marks: it has no column code "
        "(expected laestab,upn,date,session,code, in any order)"
    )
    (data / "week.PARQUET").write_bytes(b"PAR1 not really")
    with pytest.raises(CommandError, match="could not be read as Parquet"):
        call_command(
            "detect",
            "--data",
            str(data),
            "--as-of",
            "2025-10-10",
            "--dry-run",
            stdout=io.StringIO(),
        )


def test_detect_data_reads_a_parquet_file_with_columns_in_any_order_and_case(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    data = tmp_path / "marks"
    data.mkdir()
    target = str(data / "week.Parquet").replace("'", "''")
    duckdb.execute(
        "COPY (SELECT 'N' AS CODE, 'AM' AS Session, DATE '2025-10-06' AS date, ? AS UPN, "
        f"'9992001' AS laestab) TO '{target}' (FORMAT parquet)",
        [U1],
    )
    out = io.StringIO()
    call_command("detect", "--data", str(data), "--as-of", "2025-10-10", "--dry-run", stdout=out)
    assert "1 marks read" in out.getvalue()


# --- A double quote never closed, a column named twice ----------------------------------


def test_a_quote_never_closed_is_its_lines_problem_and_the_rest_is_still_checked(
    tmp_path: Path, schools: Any
) -> None:
    # 1 header, 2 a quote opened before the given name and never closed, 3 bad UPN,
    # 4 blank, 5 good, 6 bad UPN (before: lines 3 to 6 were the given name of line 2, and
    # the one error was "this row has 3 values")
    data = "\n".join(
        [
            ALLOC_HEADER,
            f'9992001,{U1},"Amira,Khan,2014-05-01,2025-09-03',
            alloc("A12"),
            "",
            alloc(U2),
            alloc("B12"),
        ]
    )
    run = allocations(tmp_path, (data + "\n").encode())
    assert problems(run) == [(2, "legal_given_name"), (3, "upn"), (6, "upn")]
    assert run.errors[0]["message"].startswith(
        'a double quote (") opens a value on this line and is never closed'
    )
    assert run.rows == 4
    assert not AdmissionAllocation.objects.exists()


def test_a_quote_never_closed_in_attendance(tmp_path: Path, schools: Any, autumn: None) -> None:
    # 1 header, 2 good, 3 a quote opened before the UPN, 4 bad UPN, 5 good
    data = "\n".join(
        [
            MARKS_HEADER,
            mark(),
            f'9992001,"{U2},2025-10-06,AM,N',
            mark(upn="A12"),
            mark(session="PM"),
        ]
    )
    run = attendance(tmp_path, data.encode())
    assert problems(run) == [(3, "upn"), (4, "upn")]
    assert not AttendancePartition.objects.exists()


def test_a_row_joined_to_the_next_by_a_quote_says_so(tmp_path: Path, schools: Any) -> None:
    # 1 header, 2-3 one record (a quote opened on line 2 closes on line 3): 5 values;
    # 4 bad UPN
    data = "\n".join(
        [
            ALLOC_HEADER,
            f'9992001,{U1},"Amira,Khan,2014-05-01,2025-09-03',
            f'9992001,{U2},Jane,Khan",2014-05-01,2025-09-03',
            alloc("A12"),
        ]
    )
    run = allocations(tmp_path, (data + "\n").encode())
    assert problems(run) == [(2, "expected_start"), (4, "upn")]
    assert run.errors[0]["message"] == (
        "this row has 5 values but the header has 6 columns: no value for expected_start "
        "(the row runs from line 2 to line 3, joined by a value in double quotes: check that "
        "every double quote is closed)"
    )


def test_a_column_named_twice_in_the_header_is_refused(tmp_path: Path, schools: Any) -> None:
    # Which UPN would be read? (Before: the last, in silence.) Extra columns named twice are
    # not read, so they do not matter.
    data = f"\n{ALLOC_HEADER},UPN ,notes,notes\n{alloc(U1)},{U2},x,y\n"
    run = allocations(tmp_path, data.encode())
    assert problems(run) == [(2, "upn")]
    assert run.errors[0]["message"] == (
        "the header row has the column upn more than once: keep one of each, so that it is "
        "clear which to read"
    )
    data = f"{ALLOC_HEADER},notes,notes\n{alloc(U1)},x,y\n"
    assert allocations(tmp_path, data.encode()).status == ImportStatus.SUCCEEDED


def test_the_line_reader_tells_a_quote_closed_at_the_end_from_one_never_closed(
    tmp_path: Path,
) -> None:
    for closed in (b'a,b\n1,"x\ny"', b'a,b\r\n1,"x\r\ny"\r\n'):
        items = list(lines.read_records(write(tmp_path, "c.csv", closed)))
        assert [(type(i).__name__, i.line) for i in items] == [("Record", 1), ("Record", 2)]
        assert items[1].end == 3  # type: ignore[union-attr]
    items = list(lines.read_records(write(tmp_path, "o.csv", b'a,b\n1,"x\n2,3\n')))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Record", 1),
        ("LineProblem", 2),
        ("Record", 3),
    ]
    assert items[1].column == 1  # type: ignore[union-attr]


def test_a_quote_not_closed_in_a_large_file_is_its_lines_problem(
    tmp_path: Path, schools: Any
) -> None:
    # 1 header, 2 a quote opened before the given name, 3 to 30,002 good rows (2.4 MB,
    # past the CSV field limit), 30,003 bad UPN (before: "field larger than field limit
    # (2097152)", then reading went on from the line the limit was reached on)
    rows = [ALLOC_HEADER, f'9992001,{U1},"Amira,Khan,2014-05-01,2025-09-03']
    rows += [alloc(U2, f"Amira{'x' * 30}")] * 30_000 + [alloc("A12")]
    path = write(tmp_path, "a.csv", ("\n".join(rows) + "\n").encode())
    assert path.stat().st_size > 2 * lines.MAX_LINE_BYTES
    items = [i for i in lines.read_records(path) if isinstance(i, lines.LineProblem)]
    assert [(i.line, i.column) for i in items] == [(2, None)]
    assert "runs on for more than 2,097,152 characters" in items[0].message
    run = allocations(tmp_path, path.read_bytes())
    assert problems(run) == [(2, ""), (30_003, "upn")]
    assert run.rows == 30_002


def test_a_spreadsheet_workbook_sent_as_it_is_is_refused_in_plain_words(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    book = io.BytesIO()
    with zipfile.ZipFile(book, "w") as archive:  # an .xlsx is a zip of XML parts
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", f"<sheetData>{ALLOC_HEADER}</sheetData>")
    old_xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
    for data in (book.getvalue(), old_xls):
        run = allocations(tmp_path, data, "allocations.xlsx")
        assert problems(run) == [(0, "")]
        assert run.errors[0]["message"] == (
            "it is a spreadsheet workbook (Excel .xlsx or .xls), not a CSV file: open it, "
            'save it with "Save as" as CSV UTF-8, and send that file'
        )
        run = attendance(tmp_path, data, "marks.xlsx")
        assert problems(run) == [(0, "")]
        assert "spreadsheet workbook" in run.errors[0]["message"]
    assert not AdmissionAllocation.objects.exists()


def test_a_damaged_parquet_file_is_refused_in_plain_words(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    # Before: DuckDB's message, with the server's path of the upload and its SQL.
    run = attendance(tmp_path, b"PAR1 and then nothing a Parquet reader can use", "m.parquet")
    assert problems(run) == [(0, "")]
    assert run.errors[0]["message"] == (
        "the file starts as a Parquet file does but could not be read as one (it may be cut "
        "short or damaged): export it again and send the new file"
    )
    assert str(tmp_path) not in run.errors[0]["message"]


def test_attendance_from_parquet_with_upper_case_columns_and_a_short_year(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    # In a Parquet file the "line" is the row (1 is the first mark: there is no header).
    path = tmp_path / "m.parquet"
    target = str(path).replace("'", "''")
    duckdb.execute(
        "COPY (SELECT * FROM (VALUES (9992001, ?, '2025-10-06', 'am', 'n'), "  # noqa: S608 - a test's path
        "(9992001, ?, '3/9/25', 'AM', 'N')) t(LAESTAB, Upn, DATE, Session, CODE)) "
        f"TO '{target}' (FORMAT parquet)",
        [U1, U2],
    )
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name="m.parquet")
    assert problems(run) == [(2, "date")]
    assert run.errors[0]["message"] == "'3/9/25' is not a real date: use 2025-09-03 or 03/09/2025"


# --- A pupil twice in a return ------------------------------------------------------------


def test_a_pupil_twice_in_an_allocation_file(tmp_path: Path, schools: Any) -> None:
    # 1 header, 2 Amira, 3 the same row again, 4 the same pupil, school and start but
    # another given name (before: read in silence, the last one kept)
    data = "\n".join([ALLOC_HEADER, alloc(U1), alloc(U1), alloc(U1, "Amina")]) + "\n"
    run = allocations(tmp_path, data.encode())
    assert problems(run) == [(4, "upn")]
    assert run.errors[0]["message"] == (
        f"{U1} is already on line 2 for this school and expected start, with different "
        "details: keep the right one"
    )
    assert not AdmissionAllocation.objects.exists()
    run = allocations(tmp_path, ("\n".join([ALLOC_HEADER, alloc(U1), alloc(U1)]) + "\n").encode())
    assert run.status == ImportStatus.SUCCEEDED
    assert [(w["line"], w["column"], w["message"]) for w in run.warnings] == [
        (3, "upn", "this row repeats line 2 (the same pupil, school and expected start)")
    ]
    assert AdmissionAllocation.objects.count() == 1


def test_a_pupil_twice_in_a_deletion_and_an_addition_return(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    header = "laestab,upn,legal_given_name,legal_family_name,dob,ground,deleted_on,destination_name"
    row = f"9992001,{U1},Amira,Khan,2014-05-01,b,2025-10-20"
    data = "\n".join([header, f"{row},Hill School", "", f"{row},Vale School"]) + "\n"
    run = importers.deletions_import(
        actor=SYSTEM, path=write(tmp_path, "d.csv", data.encode()), file_name="d.csv"
    )
    assert problems(run) == [(4, "upn")]
    assert "already on line 2 for this school and date of deletion" in run.errors[0]["message"]
    header = "laestab,upn,legal_given_name,legal_family_name,dob,joined_on"
    row = f"9992001,{U1},Amira,Khan,2014-05-01,2025-10-20"
    data = "\n".join([header, row, row.replace("Khan", "Kahn")]) + "\n"
    run = importers.additions_import(
        actor=SYSTEM, path=write(tmp_path, "j.csv", data.encode()), file_name="j.csv"
    )
    assert problems(run) == [(3, "upn")]
    assert "already on line 2 for this school and date of joining" in run.errors[0]["message"]


def test_a_file_separated_by_semicolons_or_tabs_says_so(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    # A spreadsheet saved where the list separator is ";" (before: "the header row is
    # missing the columns laestab, upn, ... (found: laestab;upn;...)")
    for char in (";", "\t"):
        data = "\n".join([ALLOC_HEADER.replace(",", char), alloc(U1).replace(",", char)])
        run = allocations(tmp_path, (data + "\n").encode())
        assert problems(run) == [(1, "")]
        name = "semicolons" if char == ";" else "tabs"
        assert run.errors[0]["message"] == (
            f"the columns are separated by {name}, not commas: save the file as CSV UTF-8 "
            "(comma delimited) and send it again"
        )
    data = "\n".join([MARKS_HEADER.replace(",", ";"), mark().replace(",", ";")])
    run = attendance(tmp_path, data.encode())
    assert problems(run) == [(1, "")]
    assert "separated by semicolons" in run.errors[0]["message"]


def test_detect_data_names_a_csv_that_is_a_workbook_or_utf_16(
    tmp_path: Path, schools: Any, autumn: None
) -> None:
    data = tmp_path / "marks"
    data.mkdir()
    marks = data / "Marks.Csv"
    marks.write_bytes(codecs.BOM_UTF16_LE + f"{MARKS_HEADER}\n{mark()}\n".encode("utf-16-le"))
    # (before: "its header has no column laestab, upn, date, session, code")
    with pytest.raises(CommandError) as raised:
        call_command("detect", "--data", str(data), "--as-of", "2025-10-10", "--dry-run")
    assert str(raised.value) == f"{marks} is not a file of marks: {lines.UTF16_PROBLEM}"
    marks.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(CommandError, match="spreadsheet workbook"):
        call_command("detect", "--data", str(data), "--as-of", "2025-10-10", "--dry-run")
