"""A full or read-only disk during an upload or an import: the page says so in plain words
(503), nothing partial is left on disk, no run or other row is recorded, and attendance
partitions keep their previous files.

CI runs as root, which ``chmod`` does not stop, so the faults are simulated with the
``OSError`` the kernel raises (see :mod:`cmetrack.core.tests.faults`).
"""

from __future__ import annotations

import errno
import html
import os
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.core.tests.faults import (
    files_under,
    fill_disk,
    fill_disk_while_reading_uploads,
    lock_disk,
)
from cmetrack.detection import importers
from cmetrack.detection.importers import DELETION_COLUMNS, ROLL_COLUMNS
from cmetrack.detection.models import (
    AttendancePartition,
    DeletionReturn,
    ImportKind,
    ImportRun,
    ImportStatus,
)
from cmetrack.kit.storage import STORAGE_MESSAGE, StorageUnavailable
from cmetrack.kit.testing import assert_problem
from cmetrack.registers.models import RollEntry

from .factories import TermFactory, make_upn, school
from .test_imports import marks_file, read_marks

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
U1, U2 = make_upn(1), make_upn(2)


@pytest.fixture(autouse=True)
def disk(settings: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """var/, the attendance folder and the system temporary folder, all under tmp_path."""
    var = tmp_path / "var"
    settings.VAR_DIR = var
    settings.ATTENDANCE_DIR = str(tmp_path / "attendance")
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return {"var": var, "attendance": tmp_path / "attendance", "tmp": temp}


@pytest.fixture
def autumn() -> None:
    TermFactory.create(term_start=date(2025, 9, 3), term_end=date(2025, 12, 19))


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response: Any) -> str:
    return str(html.unescape(response.content.decode()))


def roll_upload() -> dict[str, Any]:
    rest = ["", "Amira", "Khan", "", "", "2014-05-01", "F", "", "", "6", "", "C"]
    content = ",".join(ROLL_COLUMNS) + "\n" + ",".join(["9992001", U1, *rest]) + "\n"
    return {
        "kind": "roll",
        "taken_on": "02/10/2025",
        "file": SimpleUploadedFile("roll.csv", content.encode(), "text/csv"),
    }


# --- uploads through the page -----------------------------------------------------------


@pytest.mark.parametrize("fault", ["full", "read-only", "no permission"])
@pytest.mark.parametrize("background", [False, True], ids=["at-once", "queued"])
def test_an_upload_on_a_full_or_read_only_disk_says_so_and_keeps_nothing(
    settings: Any,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    disk: dict[str, Path],
    fault: str,
    background: bool,
) -> None:
    if background:
        settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 10
    ours = school(estab="2001")
    client = client_for(make_user(Role.SCHOOL_USER, organisation=ours))
    audit_rows = AuditEvent.objects.count()
    if fault == "full":
        fill_disk(monkeypatch)
    else:
        lock_disk(monkeypatch, errno.EROFS if fault == "read-only" else errno.EACCES)

    response = client.post(reverse("detection:upload"), roll_upload())

    assert response.status_code == 503
    page = text(response)
    assert STORAGE_MESSAGE in page
    assert "There is a problem" in page
    assert not ImportRun.objects.exists()
    assert not RollEntry.objects.exists()
    assert AuditEvent.objects.count() == audit_rows
    assert files_under(disk["var"]) == []
    assert files_under(disk["tmp"]) == []


def test_a_large_upload_spooled_to_disk_is_imported_and_its_spool_removed(
    settings: Any, make_user: Any, disk: dict[str, Path]
) -> None:
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # spooled, as a real large file is
    settings.FILE_UPLOAD_TEMP_DIR = str(disk["tmp"])
    client = client_for(make_user(Role.SCHOOL_USER, organisation=school(estab="2001")))
    response = client.post(reverse("detection:upload"), roll_upload())
    assert response.status_code == 200
    assert ImportRun.objects.get().status == ImportStatus.SUCCEEDED
    assert RollEntry.objects.count() == 1
    assert files_under(disk["tmp"]) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_large_upload_django_cannot_spool_to_disk_says_so_on_the_form(
    settings: Any,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    disk: dict[str, Path],
    code: int,
) -> None:
    """Django writes a large upload to a temporary file while it reads the request, before
    any view runs: a full or read-only disk there is shown on the form too."""
    ours = school(estab="2001")
    client = client_for(make_user(Role.SCHOOL_USER, organisation=ours))
    fill_disk_while_reading_uploads(monkeypatch, settings, disk["tmp"], code)

    response = client.post(reverse("detection:upload"), roll_upload())

    assert response.status_code == 503
    page = text(response)
    assert STORAGE_MESSAGE in page
    assert "Select a file" not in page
    assert not ImportRun.objects.exists()
    assert not RollEntry.objects.exists()
    assert files_under(disk["tmp"]) == []
    assert files_under(disk["var"]) == []


def test_a_deletion_return_on_a_full_disk_says_so_and_keeps_nothing(
    make_user: Any, monkeypatch: pytest.MonkeyPatch, disk: dict[str, Path]
) -> None:
    ours = school(estab="2001")
    client = client_for(make_user(Role.SCHOOL_USER, organisation=ours))
    fill_disk(monkeypatch)
    response = client.post(
        reverse("detection:deletion-return"),
        {
            "upn": make_upn(7),
            "legal_given_name": "Amira",
            "legal_family_name": "Khan",
            "dob": "01/05/2014",
            "ground": "i",
            "school_enquiries": "Home visit and calls",
            "la_enquiries": "Checked records",
            "deleted_on": "03/11/2025",
        },
    )
    assert response.status_code == 503
    assert "The return could not be sent because the server's storage is full" in text(response)
    assert not DeletionReturn.objects.exists()
    assert not ImportRun.objects.exists()
    assert files_under(disk["tmp"]) == []


def test_a_deletion_return_through_the_api_on_a_read_only_disk_is_a_503(
    make_user: Any, monkeypatch: pytest.MonkeyPatch, disk: dict[str, Path]
) -> None:
    client = client_for(make_user(Role.SCHOOL_USER, organisation=school(estab="2001")))
    lock_disk(monkeypatch, errno.EROFS)
    response = client.post(
        "/api/v1/deletion-returns",
        {
            "upn": make_upn(7),
            "legal_given_name": "Amira",
            "legal_family_name": "Khan",
            "dob": "2014-05-01",
            "ground": "i",
            "school_enquiries": "Home visit and calls",
            "la_enquiries": "Checked records",
            "deleted_on": "2025-11-03",
        },
        content_type="application/json",
    )
    body = assert_problem(response, 503, "service_unavailable")
    assert "storage is full or read-only" in body["detail"]
    assert not DeletionReturn.objects.exists()
    assert not ImportRun.objects.exists()


def test_the_import_command_queueing_on_a_full_disk_records_no_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, disk: dict[str, Path]
) -> None:
    from cmetrack.detection import jobs

    source = tmp_path / "deletions.csv"
    source.write_text(",".join(DELETION_COLUMNS) + "\n")
    fill_disk(monkeypatch)
    with pytest.raises(StorageUnavailable):
        jobs.import_enqueue(
            actor=SYSTEM, kind=ImportKind.DELETIONS, file_name="d.csv", content=source
        )
    assert not ImportRun.objects.exists()
    assert files_under(disk["var"]) == []


# --- attendance partitions ----------------------------------------------------------------


def _copy_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB's COPY writes part of the new Parquet files, then the disk is full."""

    def copy(con: Any, query: str, target: Path, prefix: str) -> None:
        part = target / "school=9992001" / "year=2025"
        part.mkdir(parents=True, exist_ok=True)
        (part / f"{prefix}0.tmp").write_bytes(b"PAR1 half a file")
        raise duckdb.IOException(f'IO Error: Could not write file "{part}": No space left')

    monkeypatch.setattr(importers, "_copy_partitioned", copy)


def _first_marks(tmp_path: Path) -> None:
    run = importers.attendance_import(
        actor=SYSTEM,
        path=marks_file(
            tmp_path,
            [["9992001", U1, "2025-10-06", "AM", "/"], ["9992002", U2, "2025-10-06", "AM", "/"]],
        ),
        file_name="m.csv",
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors


def _new_marks(tmp_path: Path) -> Path:
    return marks_file(
        tmp_path,
        [["9992001", U1, "2025-10-06", "AM", "N"], ["9992002", U2, "2025-10-06", "AM", "N"]],
        "m2.csv",
    )


def _partitions() -> list[tuple[Any, ...]]:
    return list(
        AttendancePartition.objects.order_by("pk").values_list(
            "pk", "marks", "last_import_id", "updated_at"
        )
    )


def test_attendance_on_a_full_disk_keeps_the_previous_partitions_and_records_no_run(
    tmp_path: Path, autumn: None, monkeypatch: pytest.MonkeyPatch, disk: dict[str, Path]
) -> None:
    school(estab="2001"), school(estab="2002")
    _first_marks(tmp_path)
    before, partitions, runs = (
        read_marks(disk["attendance"]),
        _partitions(),
        ImportRun.objects.count(),
    )
    files_before = files_under(disk["attendance"])
    _copy_fails(monkeypatch)

    with pytest.raises(StorageUnavailable):
        importers.attendance_import(actor=SYSTEM, path=_new_marks(tmp_path), file_name="m2.csv")

    assert read_marks(disk["attendance"]) == before
    assert files_under(disk["attendance"]) == files_before  # no temporary file left
    assert _partitions() == partitions
    assert ImportRun.objects.count() == runs


def test_attendance_failing_to_move_a_partition_into_place_puts_back_the_others(
    tmp_path: Path, autumn: None, monkeypatch: pytest.MonkeyPatch, disk: dict[str, Path]
) -> None:
    school(estab="2001"), school(estab="2002")
    _first_marks(tmp_path)
    before, partitions = read_marks(disk["attendance"]), _partitions()
    files_before = files_under(disk["attendance"])
    real_replace = os.replace
    moved: list[str] = []

    def replace(src: Any, dst: Any) -> None:
        if str(src).endswith(".tmp"):
            moved.append(str(dst))
            if len(moved) == 2:  # the first partition is in place; the second fails
                raise OSError(errno.EROFS, "Read-only file system")
        real_replace(src, dst)

    monkeypatch.setattr("cmetrack.detection.importers.os.replace", replace)
    with pytest.raises(StorageUnavailable):
        importers.attendance_import(actor=SYSTEM, path=_new_marks(tmp_path), file_name="m2.csv")

    assert len(moved) == 2
    assert read_marks(disk["attendance"]) == before  # the first one was put back
    assert files_under(disk["attendance"]) == files_before
    assert _partitions() == partitions


def test_a_queued_attendance_import_on_a_full_disk_fails_saying_why(
    tmp_path: Path, autumn: None, monkeypatch: pytest.MonkeyPatch, disk: dict[str, Path]
) -> None:
    school(estab="2001"), school(estab="2002")
    _first_marks(tmp_path)
    before = read_marks(disk["attendance"])
    queued = ImportRun.objects.create(
        kind=ImportKind.ATTENDANCE, status=ImportStatus.QUEUED, file_name="m2.csv"
    )
    _copy_fails(monkeypatch)

    run = importers.attendance_import(
        actor=SYSTEM, path=_new_marks(tmp_path), file_name="m2.csv", run=queued
    )

    assert run.pk == queued.pk
    assert run.status == ImportStatus.FAILED
    assert "storage is full or read-only, so nothing was imported" in run.errors[0]["message"]
    assert read_marks(disk["attendance"]) == before
    assert not list(disk["attendance"].rglob("*.tmp"))


def test_attendance_uploaded_on_a_full_disk_says_so_on_the_page(
    tmp_path: Path,
    autumn: None,
    make_user: Any,
    monkeypatch: pytest.MonkeyPatch,
    disk: dict[str, Path],
) -> None:
    school(estab="2001"), school(estab="2002")
    _first_marks(tmp_path)
    runs = ImportRun.objects.count()
    _copy_fails(monkeypatch)
    client = client_for(make_user(Role.CME_OFFICER))
    response = client.post(
        reverse("detection:upload"),
        {
            "kind": "attendance",
            "file": SimpleUploadedFile("m2.csv", _new_marks(tmp_path).read_bytes(), "text/csv"),
        },
    )
    assert response.status_code == 503
    assert STORAGE_MESSAGE in text(response)
    assert ImportRun.objects.count() == runs
    assert files_under(disk["tmp"]) == []
