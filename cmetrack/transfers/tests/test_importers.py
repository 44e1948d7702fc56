"""Roll snapshots from CTF XML through the import framework (all or nothing, idempotent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmetrack.audit.services import Actor
from cmetrack.detection.models import ImportKind, ImportStatus
from cmetrack.registers.models import RollEntry, RollSnapshot
from cmetrack.transfers.importers import ctf_roll_import
from cmetrack.transfers.models import LostPupilMatch, RollCheck
from cmetrack.transfers.services import ctf_upload

from .conftest import ROLL_FILE, XXX_FILE, actor, sample

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def _write(tmp_path: Path, data: bytes, name: str = ROLL_FILE) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_ctf_roll_makes_a_snapshot_of_the_source_school(
    tmp_path: Path, schools: dict[str, Any]
) -> None:
    path = _write(tmp_path, sample(ROLL_FILE))
    run = ctf_roll_import(actor=SYSTEM, path=path, file_name=ROLL_FILE)
    assert (run.kind, run.status, run.rows, run.created) == (
        ImportKind.ROLL,
        ImportStatus.SUCCEEDED,
        3,
        3,
    )
    snapshot = RollSnapshot.objects.get()
    assert (snapshot.school, snapshot.taken_on) == (schools["meadowbank"], date(2025, 10, 2))
    siobhan = RollEntry.objects.get(upn="Z999200124002")
    assert (siobhan.legal_given_name, siobhan.legal_family_name, siobhan.nc_year) == (
        "Siobhán",
        "Ó Briain",
        5,
    )
    assert (siobhan.address, siobhan.postcode) == ("2 Mill Lane, Exampleton", "EX3 1ML")
    assert RollEntry.objects.get(upn="N999200124003").preferred_given_name == "Ro"
    assert RollEntry.objects.get(upn="X999200123017").enrolment_status == "M"
    # The same roll again changes nothing; a given date overrides the header's.
    again = ctf_roll_import(actor=SYSTEM, path=path, file_name=ROLL_FILE)
    assert again.status == ImportStatus.UNCHANGED
    ctf_roll_import(actor=SYSTEM, path=path, file_name=ROLL_FILE, taken_on=date(2025, 11, 1))
    assert RollSnapshot.objects.count() == 2
    assert RollCheck.objects.count() == 2


def test_errors_name_line_and_element_and_write_nothing(
    tmp_path: Path, schools: dict[str, Any]
) -> None:
    data = sample(ROLL_FILE).replace(b"N999200124003", b"A123456789001")
    data = data.replace(b"<DOB>2014-02-14</DOB>", b"<DOB>2027-02-14</DOB>")
    run = ctf_roll_import(actor=SYSTEM, path=_write(tmp_path, data), file_name=ROLL_FILE)
    assert run.status == ImportStatus.FAILED
    errors = {(e["line"], e["column"]) for e in run.errors}
    assert errors == {(23, "UPN"), (34, "DOB")}
    assert RollSnapshot.objects.count() == 0


def test_malformed_ctf_is_one_clear_error(tmp_path: Path, schools: dict[str, Any]) -> None:
    path = _write(tmp_path, b"<CTfile>\n<Header><SourceSchool></Header>")
    run = ctf_roll_import(actor=SYSTEM, path=path, file_name="x.xml")
    assert run.status == ImportStatus.FAILED
    (error,) = run.errors
    assert (error["line"], error["column"]) == (2, "SourceSchool")
    assert "not well formed" in error["message"]


def test_a_school_imports_only_its_own_roll(
    tmp_path: Path, schools: dict[str, Any], school_user: Callable[[str], Any]
) -> None:
    path = _write(tmp_path, sample(ROLL_FILE))
    run = ctf_roll_import(actor=actor(school_user("riverside")), path=path, file_name=ROLL_FILE)
    assert run.status == ImportStatus.FAILED
    assert "you can only send data for your own school" in run.errors[0]["message"]
    ok = ctf_roll_import(actor=actor(school_user("meadowbank")), path=path, file_name=ROLL_FILE)
    assert ok.status == ImportStatus.SUCCEEDED


def test_joiners_of_a_ctf_roll_are_matched_against_lost_pupils(
    tmp_path: Path, schools: dict[str, Any]
) -> None:
    ctf_upload(actor=SYSTEM, data=sample(XXX_FILE), file_name=XXX_FILE)
    data = (
        sample(ROLL_FILE)
        .replace(b"<Estab>2001</Estab><SchoolName>Meadowbank", b"<Estab>2003</Estab><SchoolName>R")
        .replace(b"N999200124003", b"K999200124001")
    )
    run = ctf_roll_import(actor=SYSTEM, path=_write(tmp_path, data), file_name="roll.xml")
    assert run.status == ImportStatus.SUCCEEDED
    match = LostPupilMatch.objects.get()
    assert (match.school, match.how) == (schools["riverside"], "upn")


def test_command_checks_csv_rolls_once(schools: dict[str, Any]) -> None:
    from io import StringIO

    from django.core.management import call_command

    ctf_upload(actor=SYSTEM, data=sample(XXX_FILE), file_name=XXX_FILE)
    snapshot = RollSnapshot.objects.create(
        school=schools["st_brigids"], taken_on=date(2026, 9, 10), content_hash="a"
    )
    RollEntry.objects.create(
        snapshot=snapshot, upn="K999200124001", legal_given_name="Amara",
        legal_family_name="Hart", dob=date(2016, 3, 27), sex="F",
    )  # fmt: skip
    out = StringIO()
    call_command("lost_pupils_match", stdout=out)
    assert out.getvalue().strip() == "1 new possible match found"
    out = StringIO()
    call_command("lost_pupils_match", stdout=out)
    assert out.getvalue().strip() == "0 new possible matches found"


def test_registered_with_the_background_queue() -> None:
    jobs = pytest.importorskip("cmetrack.detection.jobs")
    assert jobs.importer_for("ctf_roll") is ctf_roll_import
    assert jobs.importer_for("roll").__name__ == "roll_import"
