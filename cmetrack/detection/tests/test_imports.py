"""Every importer: good files, every error path, idempotence, atomicity, permissions."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.detection import importers, store
from cmetrack.detection.models import (
    AdditionReturn,
    AdmissionAllocation,
    AttendancePartition,
    DeletionReturn,
    ImportKind,
    ImportRun,
    ImportStatus,
)
from cmetrack.registers.models import RollEntry, RollSnapshot
from cmetrack.registers.selectors import joiners_and_leavers
from cmetrack.rules.upn import is_valid_upn, upn_check_letter

from .factories import TermFactory, make_upn, school, write_csv

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
U1, U2, U3 = make_upn(1), make_upn(2), make_upn(3)


@pytest.fixture(autouse=True)
def attendance_dir(settings: Any, tmp_path: Path) -> Path:
    settings.ATTENDANCE_DIR = str(tmp_path / "attendance")
    return tmp_path / "attendance"


@pytest.fixture
def schools() -> tuple[Any, Any]:
    return school(estab="2001"), school(estab="2002")


def roll_row(pupil: str, school_laestab: str = "9992001", **over: str) -> list[str]:
    row = {
        "laestab": school_laestab,
        "upn": pupil,
        "former_upn": "",
        "legal_given_name": "Amira",
        "legal_family_name": "Khan",
        "preferred_given_name": "",
        "preferred_family_name": "",
        "dob": "2014-05-01",
        "sex": "F",
        "address": "1 High Street, Exampleton",
        "postcode": "ex1 2ab",
        "nc_year": "6",
        "entry_date": "2021-09-01",
        "enrolment_status": "C",
    }
    row.update(over)
    return [row[c] for c in importers.ROLL_COLUMNS]


def roll_file(tmp_path: Path, rows: list[list[str]], name: str = "roll.csv") -> Path:
    return write_csv(tmp_path / name, importers.ROLL_COLUMNS, rows)


# --- Rolls ------------------------------------------------------------------------------


def test_roll_import_creates_a_dated_snapshot_per_school(tmp_path: Path, schools: Any) -> None:
    path = roll_file(tmp_path, [roll_row(U1), roll_row(U2), roll_row(U3, "9992002")])
    run = importers.roll_import(
        actor=SYSTEM, path=path, file_name="roll.csv", taken_on=date(2025, 10, 2)
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert (run.rows, run.created) == (3, 3)
    assert RollSnapshot.objects.count() == 2
    entry = RollEntry.objects.get(upn=U1)
    assert (entry.postcode, entry.nc_year, entry.snapshot.taken_on) == (
        "EX1 2AB",
        6,
        date(2025, 10, 2),
    )
    assert AuditEvent.objects.filter(object_type="detection.importrun", object_id=run.pk).exists()


def test_the_same_roll_twice_changes_nothing(tmp_path: Path, schools: Any) -> None:
    path = roll_file(tmp_path, [roll_row(U1), roll_row(U2)])
    importers.roll_import(actor=SYSTEM, path=path, file_name="r.csv", taken_on=date(2025, 10, 2))
    ids = sorted(RollEntry.objects.values_list("pk", flat=True))
    again = importers.roll_import(
        actor=SYSTEM, path=path, file_name="r.csv", taken_on=date(2025, 10, 2)
    )
    assert again.status == ImportStatus.UNCHANGED
    assert sorted(RollEntry.objects.values_list("pk", flat=True)) == ids


def test_a_corrected_roll_for_the_same_date_replaces_it(tmp_path: Path, schools: Any) -> None:
    importers.roll_import(
        actor=SYSTEM,
        path=roll_file(tmp_path, [roll_row(U1), roll_row(U2)]),
        file_name="r.csv",
        taken_on=date(2025, 10, 2),
    )
    importers.roll_import(
        actor=SYSTEM,
        path=roll_file(tmp_path, [roll_row(U1)], "r2.csv"),
        file_name="r2.csv",
        taken_on=date(2025, 10, 2),
    )
    assert list(RollEntry.objects.values_list("upn", flat=True)) == [U1]


def test_joiners_and_leavers_between_consecutive_snapshots(tmp_path: Path, schools: Any) -> None:
    for taken_on, upns in ((date(2025, 10, 2), [U1, U2]), (date(2026, 1, 15), [U2, U3])):
        importers.roll_import(
            actor=SYSTEM,
            path=roll_file(tmp_path, [roll_row(u) for u in upns], f"{taken_on}.csv"),
            file_name="r.csv",
            taken_on=taken_on,
        )
    earlier, later = RollSnapshot.objects.order_by("taken_on")
    joiners, leavers = joiners_and_leavers(earlier, later)
    assert [e.upn for e in joiners] == [U3]
    assert [e.upn for e in leavers] == [U1]


@pytest.mark.parametrize(
    ("override", "column", "message"),
    [
        ({"laestab": "1234567"}, "laestab", "is not the LAESTAB of a school we know"),
        ({"laestab": ""}, "laestab", "enter the school's 7-digit LAESTAB"),
        ({"upn": "A999200025001"}, "upn", "is not a valid UPN: the check letter should be"),
        ({"upn": ""}, "upn", "enter the pupil's UPN"),
        ({"former_upn": "X1"}, "former_upn", "is not a valid UPN"),
        ({"legal_given_name": ""}, "legal_given_name", "enter the legal given name"),
        ({"legal_family_name": ""}, "legal_family_name", "enter the legal family name"),
        ({"dob": "31/02/2014"}, "dob", "is not a real date"),
        ({"dob": "2030-01-01"}, "dob", "on or after the roll date"),
        ({"sex": "Q"}, "sex", "is not a sex code"),
        ({"nc_year": "Year 6"}, "nc_year", "is not a national curriculum year"),
        ({"entry_date": "yesterday"}, "entry_date", "is not a real date"),
        ({"enrolment_status": "X"}, "enrolment_status", "is not an enrolment status"),
    ],
)
def test_roll_errors_name_line_column_and_write_nothing(
    tmp_path: Path, schools: Any, override: dict[str, str], column: str, message: str
) -> None:
    path = roll_file(tmp_path, [roll_row(U1), roll_row(U2, **override)])
    run = importers.roll_import(
        actor=SYSTEM, path=path, file_name="r.csv", taken_on=date(2025, 10, 2)
    )
    assert run.status == ImportStatus.FAILED
    assert any(
        e["line"] == 3 and e["column"] == column and message in e["message"] for e in run.errors
    ), run.errors
    assert not RollSnapshot.objects.exists()
    assert not RollEntry.objects.exists()


def test_roll_rejects_a_pupil_twice_and_a_short_row(tmp_path: Path, schools: Any) -> None:
    path = roll_file(tmp_path, [roll_row(U1), roll_row(U1)])
    with path.open("a") as handle:
        handle.write("9992001,too,short\n")
    run = importers.roll_import(
        actor=SYSTEM, path=path, file_name="r.csv", taken_on=date(2025, 10, 2)
    )
    assert [(e["line"], e["column"]) for e in run.errors] == [(3, "upn"), (4, "legal_given_name")]
    assert "already on line 2" in run.errors[0]["message"]
    assert "has 3 values but the header has 14" in run.errors[1]["message"]


def test_a_failure_half_way_leaves_nothing(
    tmp_path: Path, schools: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two schools: the second school's bulk insert fails after the first was written."""
    path = roll_file(tmp_path, [roll_row(U1), roll_row(U2, "9992002")])
    original = RollEntry.objects.bulk_create
    calls: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(RollEntry.objects, "bulk_create", failing)
    with pytest.raises(RuntimeError):
        importers.roll_import(
            actor=SYSTEM, path=path, file_name="r.csv", taken_on=date(2025, 10, 2)
        )
    assert len(calls) == 2
    assert not RollSnapshot.objects.exists()
    assert not RollEntry.objects.exists()
    assert not ImportRun.objects.filter(status=ImportStatus.SUCCEEDED).exists()


# --- Permissions ------------------------------------------------------------------------


def test_a_school_imports_only_its_own_data(tmp_path: Path, schools: Any, make_user: Any) -> None:
    ours, _ = schools
    user = make_user(Role.SCHOOL_USER, organisation=ours)
    actor = Actor(user=user)
    ok = importers.roll_import(
        actor=actor,
        path=roll_file(tmp_path, [roll_row(U1)]),
        file_name="r.csv",
        taken_on=date(2025, 10, 2),
    )
    assert ok.status == ImportStatus.SUCCEEDED
    refused = importers.roll_import(
        actor=actor,
        path=roll_file(tmp_path, [roll_row(U2, "9992002")], "r2.csv"),
        file_name="r2.csv",
        taken_on=date(2025, 10, 2),
    )
    assert refused.status == ImportStatus.FAILED
    assert "only send data for your own school" in refused.errors[0]["message"]
    assert refused.by == user


@pytest.mark.parametrize("role", [Role.AGENCY_USER, Role.AUDITOR, Role.SLO])
def test_other_roles_may_not_import(
    tmp_path: Path, schools: Any, make_user: Any, role: Role
) -> None:
    run = importers.roll_import(
        actor=Actor(user=make_user(role)),
        path=roll_file(tmp_path, [roll_row(U1)]),
        file_name="r.csv",
        taken_on=date(2025, 10, 2),
    )
    assert run.status == ImportStatus.FAILED
    assert run.errors[0]["message"] == "you do not have permission to import data"


# --- Attendance -------------------------------------------------------------------------

MARK_HEADER = ["laestab", "upn", "date", "session", "code"]


@pytest.fixture
def autumn() -> None:
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))


def marks_file(tmp_path: Path, rows: list[list[str]], name: str = "marks.csv") -> Path:
    return write_csv(tmp_path / name, MARK_HEADER, rows)


def read_marks(root: Path) -> list[tuple[Any, ...]]:
    """The store's marks as detection reads them (the newest import's value wins)."""
    con = duckdb.connect()
    store.create_store_view(con, root)
    return con.execute(
        "SELECT laestab, upn, CAST(d AS VARCHAR), session, code FROM marks ORDER BY ALL"
    ).fetchall()


def test_attendance_csv_is_stored_in_parquet_by_school_and_year(
    tmp_path: Path, schools: Any, autumn: None, attendance_dir: Path
) -> None:
    path = marks_file(
        tmp_path,
        [
            ["9992001", U1, "2025-10-06", "AM", "/"],
            ["9992001", U1, "2025-10-06", "pm", "n"],
            ["9992002", U2, "06/10/2025", "AM", "\\"],
        ],
    )
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name="marks.csv")
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert (run.rows, run.created) == (3, 3)
    # Appended as this import's delta; compaction makes marks.parquet later.
    assert (
        attendance_dir / "school=9992001" / "year=2025" / f"delta-{run.pk:012d}.parquet"
    ).exists()
    assert read_marks(attendance_dir) == [
        ("9992001", U1, "2025-10-06", "AM", "/"),
        ("9992001", U1, "2025-10-06", "PM", "N"),
        ("9992002", U2, "2025-10-06", "AM", "\\"),
    ]
    partition = AttendancePartition.objects.get(school__estab_number="2001")
    assert (partition.marks, partition.academic_year) == (2, 2025)


def test_attendance_folder_restored_elsewhere_is_still_read(
    tmp_path: Path, schools: Any, autumn: None, attendance_dir: Path, settings: Any
) -> None:
    """Partitions are stored relative to the attendance folder: a backup restored into
    another folder (a restore drill, a new server) is read there."""
    path = marks_file(tmp_path, [["9992001", U1, "2025-10-06", "AM", "N"]])
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name="marks.csv")
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    partition = AttendancePartition.objects.get(school__estab_number="2001")
    assert not Path(partition.path).is_absolute()

    moved = tmp_path / "restored" / "attendance"
    shutil.copytree(attendance_dir, moved)
    shutil.rmtree(attendance_dir)
    settings.ATTENDANCE_DIR = str(moved)
    files = importers.attendance_partitions_by_school()
    assert files == {
        "9992001": [str(moved / "school=9992001" / "year=2025" / f"delta-{run.pk:012d}.parquet")]
    }
    assert read_marks(moved) == [("9992001", U1, "2025-10-06", "AM", "N")]

    # A row written before paths were relative still names its file.
    AttendancePartition.objects.filter(pk=partition.pk).update(path="/old/place/marks.parquet")
    assert importers.attendance_partitions_by_school() == {"9992001": ["/old/place/marks.parquet"]}


def test_attendance_twice_changes_nothing_and_a_correction_replaces_the_mark(
    tmp_path: Path, schools: Any, autumn: None, attendance_dir: Path
) -> None:
    path = marks_file(tmp_path, [["9992001", U1, "2025-10-06", "AM", "N"]])
    importers.attendance_import(actor=SYSTEM, path=path, file_name="m.csv")
    again = importers.attendance_import(actor=SYSTEM, path=path, file_name="m.csv")
    assert again.status == ImportStatus.UNCHANGED
    fixed = marks_file(
        tmp_path,
        [["9992001", U1, "2025-10-06", "AM", "I"], ["9992001", U1, "2025-10-07", "AM", "/"]],
        "fix.csv",
    )
    run = importers.attendance_import(actor=SYSTEM, path=fixed, file_name="fix.csv")
    assert run.created == 2
    assert [m[2:] for m in read_marks(attendance_dir)] == [
        ("2025-10-06", "AM", "I"),
        ("2025-10-07", "AM", "/"),
    ]


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (["9992001", U1, "2025-10-06", "AM", "H"], "code", "H (authorised absence: agreed"),
        (["9992001", U1, "2025-10-06", "AM", "J"], "code", "use J1 instead"),
        (["9992001", U1, "2025-10-06", "AM", "Y"], "code", "use Y1 to Y7"),
        (["9992001", U1, "2025-10-06", "AM", "F"], "code", "was withdrawn in September 2013"),
        (["9992001", U1, "2025-10-06", "AM", "XX"], "code", "is not an attendance code"),
        (["9992001", U1, "2025-10-06", "AM", ""], "code", "an empty attendance mark"),
        (["9992001", U1, "2025-10-06", "XM", "/"], "session", "is not a session: use AM or PM"),
        (["9992001", U1, "2025-10-32", "AM", "/"], "date", "is not a real date"),
        (["9999999", U1, "2025-10-06", "AM", "/"], "laestab", "is not the LAESTAB of a school"),
        (["9992001", "A12", "2025-10-06", "AM", "/"], "upn", "A12 is not a valid UPN"),
        (["9992001", U1, "2025-10-07", "AM", "/"], "session", "already on line 2"),
    ],
)
def test_attendance_errors(
    tmp_path: Path,
    schools: Any,
    autumn: None,
    attendance_dir: Path,
    row: list[str],
    column: str,
    message: str,
) -> None:
    first = ["9992001", U1, "2025-10-07", "AM", "/"]
    path = marks_file(tmp_path, [first, row])
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name="m.csv")
    assert run.status == ImportStatus.FAILED
    assert any(
        e["line"] == 3 and e["column"] == column and message in e["message"] for e in run.errors
    ), run.errors
    assert read_marks(attendance_dir) == []
    assert not AttendancePartition.objects.exists()


def test_attendance_missing_column(tmp_path: Path, schools: Any) -> None:
    path = write_csv(tmp_path / "m.csv", ["laestab", "upn", "date", "code"], [])
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name="m.csv")
    assert run.errors == [
        {
            "line": 1,
            "column": "session",
            "message": "the header row is missing the column session (expected: laestab, upn, "
            "date, session, code; found: laestab, upn, date, code)",
        }
    ]


def test_a_mark_on_a_non_school_day_is_a_warning_and_ignored(
    tmp_path: Path, schools: Any, autumn: None, attendance_dir: Path
) -> None:
    path = marks_file(
        tmp_path,
        [["9992001", U1, "2025-10-06", "AM", "/"], ["9992001", U1, "2025-10-04", "AM", "/"]],
    )
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name="m.csv")
    assert run.status == ImportStatus.SUCCEEDED
    assert run.warnings == [
        {
            "line": 0,
            "column": "date",
            "message": "1 mark was on days that are not school days (weekends, holidays or "
            "closure days) and left out",
        },
        {
            "line": 3,
            "column": "date",
            "message": "Saturday 4 October 2025 is not a school day at 9992001: mark ignored",
        },
    ]
    assert len(read_marks(attendance_dir)) == 1


def test_attendance_from_parquet(
    tmp_path: Path, schools: Any, autumn: None, attendance_dir: Path
) -> None:
    source = tmp_path / "bulk.parquet"
    duckdb.sql(
        f"COPY (SELECT '9992001' AS laestab, '{U1}' AS upn, DATE '2025-10-06' AS date, "
        f"'AM' AS session, 'O' AS code) TO '{source}' (FORMAT parquet)"
    )
    run = importers.attendance_import(actor=SYSTEM, path=source, file_name="bulk.parquet")
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert read_marks(attendance_dir) == [("9992001", U1, "2025-10-06", "AM", "O")]


def test_attendance_failure_half_way_leaves_files_and_rows_as_they_were(
    tmp_path: Path,
    schools: Any,
    autumn: None,
    attendance_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    importers.attendance_import(
        actor=SYSTEM,
        path=marks_file(tmp_path, [["9992001", U1, "2025-10-06", "AM", "/"]]),
        file_name="m.csv",
    )
    before = read_marks(attendance_dir)

    def failing(*args: Any, **kwargs: Any) -> Any:
        # The new school's partition is created, then the known one's update fails.
        assert AttendancePartition.objects.count() == 2
        raise RuntimeError("database went away")

    monkeypatch.setattr(importers, "_update_partitions", failing)
    path = marks_file(
        tmp_path,
        [["9992001", U1, "2025-10-06", "AM", "N"], ["9992002", U2, "2025-10-06", "AM", "N"]],
        "m2.csv",
    )
    with pytest.raises(RuntimeError):
        importers.attendance_import(actor=SYSTEM, path=path, file_name="m2.csv")
    assert read_marks(attendance_dir) == before
    assert not list(attendance_dir.rglob("*.tmp"))
    assert AttendancePartition.objects.count() == 1


# --- Returns and allocations -----------------------------------------------------------

IMPORTERS: dict[str, tuple[Callable[..., ImportRun], tuple[str, ...], list[str], Any]] = {
    "deletions": (
        importers.deletions_import,
        (
            *importers.DELETION_COLUMNS,
            "destination_name",
            "future_address",
            "school_enquiries",
            "la_enquiries",
        ),
        [
            *("9992001", U1, "Amira", "Khan", "2014-05-01", "(i)", "2025-11-03", ""),
            *("1 New Road", "Home visit, calls, neighbours", "Checked records with health"),
        ],
        DeletionReturn,
    ),
    "additions": (
        importers.additions_import,
        importers.ADDITION_COLUMNS,
        ["9992001", U1, "Amira", "Khan", "2014-05-01", "2025-11-03"],
        AdditionReturn,
    ),
    "allocations": (
        importers.allocations_import,
        importers.ALLOCATION_COLUMNS,
        ["9992001", U1, "Amira", "Khan", "2014-05-01", "2025-11-03"],
        AdmissionAllocation,
    ),
}


@pytest.mark.parametrize("kind", IMPORTERS)
def test_returns_import_once_and_are_idempotent(tmp_path: Path, schools: Any, kind: str) -> None:
    service, header, row, model = IMPORTERS[kind]
    path = write_csv(tmp_path / "f.csv", header, [row])
    first = service(actor=SYSTEM, path=path, file_name="f.csv")
    assert first.status == ImportStatus.SUCCEEDED, first.errors
    second = service(actor=SYSTEM, path=path, file_name="f.csv")
    assert second.status == ImportStatus.UNCHANGED
    assert model.objects.count() == 1
    assert model.objects.get().import_run == first


@pytest.mark.parametrize("kind", IMPORTERS)
@pytest.mark.parametrize(
    ("index", "value", "column", "message"),
    [
        (0, "123", "laestab", "is not the LAESTAB of a school we know"),
        (1, "not-a-upn", "upn", "is not a valid UPN"),
        (2, "", "legal_given_name", "enter the legal given name"),
        (4, "2014-02-30", "dob", "is not a real date"),
        (5, "", None, "enter a date"),
    ],
)
def test_returns_errors(
    tmp_path: Path,
    schools: Any,
    kind: str,
    index: int,
    value: str,
    column: str | None,
    message: str,
) -> None:
    service, header, row, model = IMPORTERS[kind]
    if index == 5 and kind == "deletions":
        index = 6  # the date column comes after the ground
    bad = list(row)
    bad[index] = value
    path = write_csv(tmp_path / "f.csv", header, [row, bad])
    run = service(actor=SYSTEM, path=path, file_name="f.csv")
    assert run.status == ImportStatus.FAILED
    wanted = column or header[index]
    assert any(
        e["line"] == 3 and e["column"] == wanted and message in e["message"] for e in run.errors
    ), run.errors
    assert not model.objects.exists()


def test_deletion_ground_must_be_a_to_o(tmp_path: Path, schools: Any) -> None:
    service, header, row, _ = IMPORTERS["deletions"]
    bad = list(row)
    bad[5] = "p"
    run = service(actor=SYSTEM, path=write_csv(tmp_path / "f.csv", header, [bad]), file_name="f")
    assert run.errors[0]["message"] == "'p' is not a deletion ground: use a to o"


def test_deletion_return_from_the_form(schools: Any, make_user: Any) -> None:
    ours, _ = schools
    user = make_user(Role.SCHOOL_USER, organisation=ours)
    record = importers.deletion_return_submit(
        actor=Actor(user=user),
        school=ours,
        upn=U1,
        legal_given_name="Amira",
        legal_family_name="Khan",
        dob=date(2014, 5, 1),
        ground="i",
        deleted_on=date(2025, 11, 3),
        school_enquiries="Home visit and calls",
        la_enquiries="Checked records",
    )
    assert record.ground == "i"
    assert not record.destination_known
    assert ImportRun.objects.get().kind == ImportKind.DELETIONS


def test_import_command_reports_errors_and_exits_non_zero(tmp_path: Path, schools: Any) -> None:
    path = roll_file(tmp_path, [roll_row("bad")])
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_data", "roll", str(path), "--taken-on", "2025-10-02")
    ok = roll_file(tmp_path, [roll_row(U1)], "ok.csv")
    call_command("import_data", "roll", str(ok), "--taken-on", "2025-10-02")
    assert RollEntry.objects.count() == 1


@hypothesis_settings(max_examples=300, deadline=None, database=None)
@given(
    st.one_of(
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=0, max_size=14),
        st.from_regex(r"[A-Z][0-9]{11}[0-9A-Z]", fullmatch=True),
        st.from_regex(r"[0-9]{11}[0-9A-HJ-NP-RT-Z]", fullmatch=True).map(
            lambda body: upn_check_letter(body) + body
        ),
    )
)
def test_the_upn_check_in_sql_is_the_rule(upn: str) -> None:
    """The import checks UPNs in SQL first: it must accept exactly what the rule accepts."""
    con = duckdb.connect()
    (by_sql,) = con.execute(  # type: ignore[misc]
        f"SELECT coalesce({importers.UPN_VALID_SQL}, false) FROM (SELECT ? AS upn)",  # noqa: S608 - constant SQL
        [upn],
    ).fetchone()
    assert by_sql == is_valid_upn(upn)


def test_attendance_repeated_sessions_name_the_first_line_of_each(
    tmp_path: Path, schools: Any, autumn: None, attendance_dir: Path
) -> None:
    """A session three times and another twice: each repeat names its session's first line
    (the repeats are found by grouping, then their lines listed in order)."""
    rows = [
        ["9992001", U1, "2025-10-07", "AM", "/"],
        ["9992001", U1, "2025-10-07", "PM", "/"],
        ["9992001", U1, "2025-10-07", "AM", "N"],
        ["9992001", U2, "2025-10-07", "AM", "/"],
        ["9992001", U1, "2025-10-07", "PM", "\\"],
        ["9992001", U1, "07/10/2025", "AM", "/"],
    ]
    run = importers.attendance_import(
        actor=SYSTEM, path=marks_file(tmp_path, rows), file_name="m.csv"
    )
    assert run.status == ImportStatus.FAILED
    assert [(e["line"], e["column"], e["message"]) for e in run.errors] == [
        (4, "session", "this pupil's session is already on line 2"),
        (6, "session", "this pupil's session is already on line 3"),
        (7, "session", "this pupil's session is already on line 2"),
    ]
