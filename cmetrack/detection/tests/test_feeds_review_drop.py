"""Review of the drop folder (issue 18, item 3b): what a real SFTP landing area holds."""

from __future__ import annotations

import fcntl
import json
import os
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmetrack.audit.services import Actor
from cmetrack.detection import feeds
from cmetrack.detection.models import AdmissionAllocation, ImportRun
from cmetrack.detection.tests.factories import make_upn, school
from cmetrack.detection.tests.test_feeds import ALLOC, alloc, settle

from . import test_feeds

pytestmark = pytest.mark.django_db
var = test_feeds.var  # the feeds tests' var folder (autouse)
SYSTEM = Actor.system("test")
U1, U2 = make_upn(1), make_upn(2)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """School 9992001's allocations folder in the drop folder ``tmp_path / "drop"``."""
    school(estab="2001")
    path = tmp_path / "drop" / "9992001" / "allocations"
    path.mkdir(parents=True)
    return path


def drop(folder: Path, name: str, text: str | bytes, *, settled: bool = True) -> Path:
    path = folder / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    if settled:
        settle(path)
    return path


def report(folder: Path, name: str) -> dict[str, Any]:
    (found,) = folder.glob(f"*-{name}.report.json")
    return dict(json.loads(found.read_text()))


def test_temporary_names_of_sftp_clients_are_left_alone(folder: Path) -> None:
    """WinSCP uploads to ``name.filepart`` and renames when done: the half-written file was
    imported (a header only: "unchanged") and moved to done/, and WinSCP's rename failed."""
    names = ["roll.csv.filepart", "a.csv.part", "b.csv.tmp", "c.csv.partial", ".d.csv"]
    for name in names:
        drop(folder, name, ALLOC)
    assert feeds.drop_folder_scan(root=folder.parent.parent) == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    assert not ImportRun.objects.exists()


def test_a_file_still_being_written_is_left_until_it_settles(folder: Path) -> None:
    path = drop(folder, "alloc.csv", ALLOC, settled=False)  # modified just now
    assert feeds.drop_folder_scan(root=folder.parent.parent) == []
    path.write_text(ALLOC + alloc("9992001", U1))
    settle(path)  # a minute with no change
    (result,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert result[0].parent.name == "done"
    assert AdmissionAllocation.objects.get().upn == U1


def test_a_file_that_is_not_csv_or_json_lines_fails_saying_so(folder: Path) -> None:
    drop(folder, "alloc.xlsx", b"PK\x03\x04 a spreadsheet")
    (result,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert result == (result[0], None)
    assert result[0].parent.name == "failed"
    assert result[0].read_bytes() == b"PK\x03\x04 a spreadsheet"  # kept as it came
    errors = report(folder / "failed", "alloc.xlsx")["errors"]
    assert errors == [
        {
            "line": 0,
            "column": "",
            "message": "alloc.xlsx is not a .csv, .jsonl or .ndjson file: save it as CSV "
            "UTF-8 (.csv) and send it again",
        }
    ]
    assert not ImportRun.objects.exists()


def test_a_file_the_worker_cannot_read_fails_saying_why(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unreadable = drop(folder, "alloc.csv", ALLOC + alloc("9992001", U1))
    real_open = Path.open

    def refusing(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == unreadable:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refusing)  # (the tests run as root: chmod is no test)
    (result,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert result[0].parent.name == "failed"
    message = report(folder / "failed", "alloc.csv")["errors"][0]["message"]
    assert message == (
        "alloc.csv could not be read (Permission denied): the worker needs read access to "
        "it; nothing was imported"
    )


def test_the_same_name_dropped_twice_is_imported_twice_and_both_kept(folder: Path) -> None:
    first = drop(folder, "alloc.csv", ALLOC + alloc("9992001", U1))
    (one,) = feeds.drop_folder_scan(root=folder.parent.parent)
    drop(folder, "alloc.csv", ALLOC + alloc("9992001", U1) + alloc("9992001", U2))
    (two,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert not first.exists()
    assert one[0] != two[0]
    assert sorted(p.name for p in (folder / "done").iterdir()) == sorted(
        [one[0].name, f"{one[0].name}.report.json", two[0].name, f"{two[0].name}.report.json"]
    )
    assert (one[1].created, two[1].created) == (1, 1)  # type: ignore[union-attr]
    assert AdmissionAllocation.objects.count() == 2


def test_two_files_of_the_same_name_in_the_same_second_keep_both(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``done/<time>-<name>`` is to the second: a second file of that name in the same
    second must not replace the first (nor its report)."""
    drop(folder, "alloc.csv", ALLOC + alloc("9992001", U1))
    (one,) = feeds.drop_folder_scan(root=folder.parent.parent)
    stamp = one[0].name.split("-", 1)[0]
    # The second one is imported in the same second (made so: the first's name is taken).
    drop(folder, "alloc.csv", ALLOC + alloc("9992001", U2))
    monkeypatch.setattr(feeds, "_stamp", lambda: stamp)
    (two,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert one[0].exists()
    assert two[0].exists()
    assert one[0] != two[0]
    assert U1 in one[0].read_text()
    assert U2 in two[0].read_text()
    assert Path(f"{one[0]}.report.json").exists()
    assert Path(f"{two[0]}.report.json").exists()


def test_a_file_that_cannot_be_moved_does_not_stop_the_others(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stuck = drop(folder, "a.csv", ALLOC + alloc("9992001", U1))
    drop(folder, "b.csv", ALLOC + alloc("9992001", U2))
    real_replace = os.replace

    def replace(source: Any, target: Any) -> None:
        if Path(source) == stuck:
            raise PermissionError(13, "Permission denied")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    results = feeds.drop_folder_scan(root=folder.parent.parent)
    assert [p.name.split("-", 1)[1] for p, _ in results] == ["b.csv"]
    assert stuck.exists()  # left where it was: tried again next time (harmlessly)
    assert AdmissionAllocation.objects.count() == 2


def test_one_scan_at_a_time(folder: Path, var: Path) -> None:
    """The worker has two processes: a scan still running when the next is due must not
    import the same files again alongside it."""
    path = drop(folder, "alloc.csv", ALLOC + alloc("9992001", U1))
    lock_path = var / "feeds" / "drop-folder.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        assert feeds.drop_folder_scan(root=folder.parent.parent) == []
        assert path.exists()
    assert len(feeds.drop_folder_scan(root=folder.parent.parent)) == 1


def test_json_lines_dropped_report_the_bodys_lines(folder: Path) -> None:
    good = {
        "laestab": "9992001",
        "upn": U1,
        "legal_given_name": "Amira",
        "legal_family_name": "Khan",
        "dob": "2014-05-01",
        "expected_start": "2025-09-03",
    }
    body = json.dumps(good) + "\n" + json.dumps({**good, "upn": "A12"}) + "\n"
    drop(folder, "alloc.ndjson", body)
    (result,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert result[0].parent.name == "failed"
    errors = report(folder / "failed", "alloc.ndjson")["errors"]
    assert [(e["line"], e["column"]) for e in errors] == [(2, "upn")]


def test_json_lines_that_cannot_be_read_are_each_reported(folder: Path) -> None:
    drop(folder, "alloc.jsonl", '{"upn": 1}\nnot json\n\n[1]\n')
    (result,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert result[0].parent.name == "failed"
    got = report(folder / "failed", "alloc.jsonl")
    assert got["error_count"] == 2
    assert [(e["line"], e["message"]) for e in got["errors"]] == [
        (2, "line 2 is not JSON: Expecting value: line 1 column 1 (char 0)"),
        (4, "line 4 is not a JSON object"),
    ]


def test_a_kind_folder_in_another_case_is_read(tmp_path: Path) -> None:
    """An SFTP client (or a person) made ``Allocations/``: its files were never seen."""
    school(estab="2001")
    folder = tmp_path / "drop" / "9992001" / "Allocations"
    folder.mkdir(parents=True)
    drop(folder, "alloc.csv", ALLOC + alloc("9992001", U1))
    (result,) = feeds.drop_folder_scan(root=tmp_path / "drop")
    assert result[0].parent == folder / "done"
    assert AdmissionAllocation.objects.get().upn == U1


def test_a_file_in_a_schools_folder_outside_any_feed_fails_saying_where(folder: Path) -> None:
    """A file left in ``<laestab>/`` itself lay there unseen, every scan, for ever."""
    school_folder = folder.parent
    misplaced = drop(school_folder, "marks.csv", ALLOC + alloc("9992001", U1))
    (result,) = feeds.drop_folder_scan(root=school_folder.parent)
    assert not misplaced.exists()
    assert result[0].parent == school_folder / "failed"
    assert report(school_folder / "failed", "marks.csv")["errors"][0]["message"] == (
        "marks.csv is not in a feed's folder, so it was not imported: put it in "
        "attendance/, rolls/, deletions/, allocations/"
    )
    assert not ImportRun.objects.exists()
    assert feeds.drop_folder_scan(root=school_folder.parent) == []  # failed/ is not re-read


def test_links_a_school_makes_are_not_followed(folder: Path, tmp_path: Path) -> None:
    """An SFTP user can make symbolic links: to a file elsewhere on the server (read as a
    feed, its rows quoted in the report the school reads), or its feed folder to another
    school's (whose files would be refused as ours and moved to failed/)."""
    school(estab="2002")
    secret = tmp_path / "secret.csv"
    secret.write_text(ALLOC + alloc("9992001", "SECRET-VALUE"))
    link = folder / "steal.csv"
    link.symlink_to(secret)
    theirs = tmp_path / "drop" / "9992002" / "attendance"
    theirs.mkdir(parents=True)
    their_file = drop(theirs, "marks.csv", "laestab,upn,date,session,code\n")
    (folder.parent / "attendance").symlink_to(theirs, target_is_directory=True)
    results = feeds.drop_folder_scan(root=tmp_path / "drop")
    outcome = {
        (str(p.parent.relative_to(tmp_path / "drop")), p.name.split("-", 1)[1]): run
        for p, run in results
    }
    assert set(outcome) == {
        ("9992001/failed", "attendance"),  # the linked folder: failed, as a link
        ("9992001/allocations/failed", "steal.csv"),
        ("9992002/attendance/done", "marks.csv"),  # theirs: imported as theirs, not ours
    }
    assert outcome["9992001/failed", "attendance"] is None
    assert outcome["9992001/allocations/failed", "steal.csv"] is None
    their_run = outcome["9992002/attendance/done", "marks.csv"]
    assert their_run is not None
    assert their_run.organisation.laestab == "9992002"  # type: ignore[union-attr]
    assert not their_file.exists()
    stolen = tmp_path / "drop" / "9992001" / "allocations" / "failed"
    (moved,) = (p for p in stolen.iterdir() if p.name.endswith("steal.csv"))
    assert moved.is_symlink()  # the link was moved, not what it points at
    assert secret.read_text().endswith("SECRET-VALUE,Amira,Khan,2014-05-01,2025-09-03\n")
    got = report(stolen, "steal.csv")
    assert got["errors"][0]["message"] == "steal.csv is a link, not a file: it was not read"
    assert "SECRET" not in json.dumps(got)
    assert ImportRun.objects.count() == 1  # theirs only


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("8012345-2025-10-02.csv", date(2025, 10, 2)),  # was None (read "0123-45-20"): today
        ("roll_8012345_20251002.csv", date(2025, 10, 2)),
        ("roll-2025-10-02.csv", date(2025, 10, 2)),
        ("roll-2025-13-40-then-2025-10-03.csv", date(2025, 10, 3)),
        ("roll.csv", None),
        ("roll-120251002.csv", None),  # part of a longer number
    ],
)
def test_the_roll_date_in_a_file_name(name: str, expected: date | None) -> None:
    assert feeds._taken_on_from_name(name) == expected


def test_a_switched_off_feed_account_imports_no_dropped_files(folder: Path) -> None:
    """Deactivating a school's feed account revoked its API tokens, but its drop folder
    went on importing as it."""
    from cmetrack.accounts.services import user_deactivate
    from cmetrack.organisations.models import Organisation

    ours = Organisation.objects.get(estab_number="2001")
    user_deactivate(actor=SYSTEM, user=feeds.school_feed_account(actor=SYSTEM, school=ours))
    drop(folder, "alloc.csv", ALLOC + alloc("9992001", U1))
    (result,) = feeds.drop_folder_scan(root=folder.parent.parent)
    assert result[0].parent.name == "failed"
    assert report(folder / "failed", "alloc.csv")["errors"][0]["message"] == (
        "alloc.csv was not imported: this school's feed account "
        "(feeds-9992001@service.invalid) is switched off. Ask the CME team."
    )
    assert not AdmissionAllocation.objects.exists()
