"""Background imports: the job's lifecycle, its progress (page, JSON, command line),
failure leaving nothing, a stopped worker, and who may follow which import."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.detection import imports, jobs
from cmetrack.detection.importers import DELETION_COLUMNS, ROLL_COLUMNS
from cmetrack.detection.models import (
    DeletionReturn,
    ImportKind,
    ImportRun,
    ImportStatus,
    ImportWorkerBeat,
)
from cmetrack.detection.progress import ProgressBar
from cmetrack.registers.models import RollEntry, RollSnapshot

from .factories import make_upn, school, write_csv

SYSTEM = Actor.system("test")


@pytest.fixture(autouse=True)
def var_dir(settings: Any, tmp_path: Path) -> Path:
    var = tmp_path / "var"
    settings.VAR_DIR = var
    settings.ATTENDANCE_DIR = str(tmp_path / "attendance")
    return var


def deletion_rows(count: int, laestab: str = "9992001") -> list[list[str]]:
    return [
        [laestab, make_upn(n), "Sam", f"Pupil{n}", "2014-05-01", "g", "2025-10-06"]
        for n in range(1, count + 1)
    ]


def roll_rows(laestab: str, count: int = 1, start: int = 1) -> list[list[str]]:
    rest = ["", "Amira", "Khan", "", "", "2014-05-01", "F", "", "", "6", "", "C"]
    return [[laestab, make_upn(n), *rest] for n in range(start, start + count)]


def enqueue(path: Path, kind: str, actor: Actor = SYSTEM, **params: Any) -> ImportRun:
    return jobs.import_enqueue(
        actor=actor, kind=kind, file_name=path.name, content=path, params=params
    )


# --- Lifecycle ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_queued_import_is_claimed_once_run_and_its_upload_removed(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(3))
    run = enqueue(path, ImportKind.DELETIONS)
    assert run.status == ImportStatus.QUEUED
    stored = Path(run.upload_path)
    assert stored.read_bytes() == path.read_bytes()
    assert not run.finished
    assert run.percent is None

    claimed = jobs.import_claim(worker="w1")
    assert claimed is not None
    assert claimed.pk == run.pk
    assert claimed.status == ImportStatus.RUNNING
    assert jobs.import_claim(worker="w2") is None  # never twice

    done = jobs.import_process(claimed)
    assert done.status == ImportStatus.SUCCEEDED, done.errors
    assert (done.rows, done.created, done.rows_done, done.rows_total) == (3, 3, 3, 3)
    assert done.percent == 100
    assert done.finished_at is not None
    assert DeletionReturn.objects.count() == 3
    assert not stored.exists()
    assert ImportRun.objects.get(pk=run.pk).upload_path == ""


@pytest.mark.django_db
def test_a_roll_keeps_its_date_through_the_queue(tmp_path: Path) -> None:
    ours = school(estab="2001")
    path = write_csv(tmp_path / "roll.csv", ROLL_COLUMNS, roll_rows("9992001", 2))
    enqueue(path, ImportKind.ROLL, taken_on="2025-10-02")
    call_command("import_worker", "--once", stdout=io.StringIO())
    snapshot = RollSnapshot.objects.get()
    assert (snapshot.school, snapshot.taken_on.isoformat()) == (ours, "2025-10-02")
    assert snapshot.entries.count() == 2


@pytest.mark.django_db
def test_a_refused_file_in_the_background_saves_nothing_and_names_each_problem(
    tmp_path: Path,
) -> None:
    school(estab="2001")
    rows = deletion_rows(3)
    rows[1][5] = "z"
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, rows)
    run = enqueue(path, ImportKind.DELETIONS)
    done = jobs.import_process(jobs.import_claim(worker="w", run_id=run.pk))  # type: ignore[arg-type]
    assert done.status == ImportStatus.FAILED
    assert done.errors == [
        {"line": 3, "column": "ground", "message": "'z' is not a deletion ground: use a to o"}
    ]
    assert not DeletionReturn.objects.exists()
    assert not Path(run.upload_path).exists()


@pytest.mark.django_db
def test_a_crash_half_way_fails_the_run_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second school's insert fails after the first school's rows were written."""
    school(estab="2001")
    school(estab="2002")
    path = write_csv(
        tmp_path / "roll.csv",
        ROLL_COLUMNS,
        roll_rows("9992001", 2) + roll_rows("9992002", 2, start=3),
    )
    run = enqueue(path, ImportKind.ROLL, taken_on="2025-10-02")
    original = RollEntry.objects.bulk_create
    calls: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(RollEntry.objects, "bulk_create", failing)
    done = jobs.import_process(jobs.import_claim(worker="w", run_id=run.pk))  # type: ignore[arg-type]
    assert len(calls) == 2
    assert done.status == ImportStatus.FAILED
    assert "unexpected problem" in done.errors[0]["message"]
    assert not RollSnapshot.objects.exists()
    assert not RollEntry.objects.exists()


@pytest.mark.django_db
def test_a_run_whose_worker_died_is_failed_and_its_upload_removed(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    run = enqueue(path, ImportKind.DELETIONS)
    jobs.import_claim(worker="gone")
    fresh = enqueue(path, ImportKind.DELETIONS)
    jobs.import_claim(worker="alive", run_id=fresh.pk)
    ImportRun.objects.filter(pk=run.pk).update(
        progress_at=timezone.now() - jobs.STALE_AFTER - timedelta(seconds=1)
    )
    assert jobs.imports_fail_stale() == 1
    run.refresh_from_db()
    assert run.status == ImportStatus.FAILED
    assert "stopped before it finished" in run.errors[0]["message"]
    assert not Path(run.upload_path).exists()
    assert ImportRun.objects.get(pk=fresh.pk).status == ImportStatus.RUNNING


@pytest.mark.django_db
def test_the_upload_page_starts_a_worker_only_when_none_is_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[list[str]] = []

    class FakePopen:
        def __init__(self, command: list[str], **kwargs: Any) -> None:
            assert kwargs["start_new_session"] is True
            started.append(command)

    monkeypatch.setattr(subprocess, "Popen", FakePopen)
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    run = enqueue(path, ImportKind.DELETIONS)
    jobs.import_start(run)
    assert started == [[sys.executable, "-m", "cmetrack.cli", "import_worker", "--run",
                        str(run.pk)]]  # fmt: skip
    jobs.worker_beat("worker-1")
    jobs.import_start(run)
    assert len(started) == 1
    ImportWorkerBeat.objects.update(seen_at=timezone.now() - timedelta(minutes=5))
    jobs.import_start(run)
    assert len(started) == 2


# --- Progress -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_progress_is_written_as_the_import_runs_and_seen_by_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At most every N rows, from its own connection: readers see it before the end."""
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 10)
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(45))
    run = enqueue(path, ImportKind.DELETIONS)
    seen: list[tuple[int, int | None, str]] = []
    observed: list[int] = []

    def listener(done: int, total: int | None, stage: str) -> None:
        seen.append((done, total, stage))
        if stage == "Checking rows" and done == 20:
            # Another session sees the numbers while the import is still checking.
            deadline = timezone.now() + timedelta(seconds=10)
            while timezone.now() < deadline:
                current = ImportRun.objects.get(pk=run.pk)
                if current.rows_done >= 20:
                    observed.append(current.rows_done)
                    break
                time.sleep(0.01)  # a reader polls; it does not hold the table continuously

    claimed = jobs.import_claim(worker="w", run_id=run.pk)
    assert claimed is not None
    done = jobs.import_process(claimed, listener=listener)
    assert done.status == ImportStatus.SUCCEEDED
    checking = [d for d, _, stage in seen if stage == "Checking rows"]
    assert checking == [0, 10, 20, 30, 40, 45]
    assert all(total == 45 for _, total, _ in seen)
    assert observed
    assert observed[0] >= 20
    assert "Saving" in {stage for _, _, stage in seen}


def test_the_command_line_bar_redraws_on_a_terminal_and_prints_lines_otherwise() -> None:
    tty = io.StringIO()
    bar = ProgressBar(tty, tty=True)
    bar(0, 200, "Checking rows")
    bar(100, 200, "Checking rows")
    bar.finish()
    assert "\r" in tty.getvalue()
    assert "[###############---------------]  50% 100 of 200 rows" in tty.getvalue()
    plain = io.StringIO()
    bar = ProgressBar(plain, tty=False)
    for done in range(0, 201, 5):
        bar(done, 200, "Checking rows")
    bar(0, 10, "Saving")
    lines = plain.getvalue().splitlines()
    assert "\r" not in plain.getvalue()
    assert lines[0] == "Checking rows: 0% (0 of 200 rows)"
    assert lines[-2] == "Checking rows: 100% (200 of 200 rows)"
    assert lines[-1] == "Saving: 0% (0 of 10 rows)"
    assert len(lines) == 12  # one a tenth, and one for the new stage


@pytest.mark.django_db
def test_the_import_command_shows_progress_lines(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(12))
    out = io.StringIO()
    call_command("import_data", "deletions", str(path), stdout=out)
    text = out.getvalue()
    assert "Checking rows: 0% (0 of 12 rows)" in text
    assert "Checking rows: 100% (12 of 12 rows)" in text
    assert "Imported: 12 rows, 12 changed" in text


@pytest.mark.django_db
def test_the_import_command_can_queue_for_the_worker(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(2))
    out = io.StringIO()
    call_command("import_data", "deletions", str(path), "--background", stdout=out)
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.QUEUED
    assert f"Queued as import {run.pk}" in out.getvalue()
    worker_out = io.StringIO()
    call_command("import_worker", "--once", stdout=worker_out)
    run.refresh_from_db()
    assert run.status == ImportStatus.SUCCEEDED
    assert f"Import {run.pk}: Imported: 2 rows" in worker_out.getvalue()


# --- Pages and who sees them ----------------------------------------------------------------


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_large_upload_goes_to_the_background_and_shows_a_progress_bar(
    settings: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 10
    started: list[int] = []
    monkeypatch.setattr(jobs, "import_start", lambda run: started.append(run.pk))
    ours = school(estab="2001")
    client = client_for(make_user(Role.SCHOOL_USER, organisation=ours))
    content = ",".join(ROLL_COLUMNS) + "\n" + ",".join(roll_rows("9992001")[0]) + "\n"
    response = client.post(
        reverse("detection:upload"),
        {
            "kind": "roll",
            "taken_on": "02/10/2025",
            "file": SimpleUploadedFile("roll.csv", content.encode(), "text/csv"),
        },
    )
    run = ImportRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("detection:import-run", kwargs={"run_id": run.pk})
    assert started == [run.pk]
    assert run.status == ImportStatus.QUEUED
    assert run.params["taken_on"] == "2025-10-02"

    page = client.get(response["Location"])
    html = page.content.decode()
    assert "Importing roll.csv" in html
    assert '<progress class="app-import-progress__bar"' in html
    assert "Refresh this page" in html  # the no-JavaScript way to follow it
    nonce = re.search(r"nonce-([^' ]+)", page["Content-Security-Policy"])
    assert nonce is not None
    assert f'import-progress.js" nonce="{nonce.group(1)}"' in html

    progress = client.get(reverse("detection:import-progress", kwargs={"run_id": run.pk}))
    assert progress.json()["status"] == "queued"
    assert progress.json()["finished"] is False

    call_command("import_worker", "--once", stdout=io.StringIO())
    data = client.get(reverse("detection:import-progress", kwargs={"run_id": run.pk})).json()
    assert data["status"] == "succeeded"
    assert (data["finished"], data["percent"], data["rows_done"], data["rows_total"]) == (
        True,
        100,
        1,
        1,
    )
    done_page = client.get(response["Location"]).content.decode()
    assert "File imported" in done_page
    assert "import-progress.js" not in done_page
    assert RollEntry.objects.get().snapshot.school == ours


@pytest.mark.django_db
def test_a_school_follows_only_its_own_imports(tmp_path: Path, make_user: Any) -> None:
    ours, other = school(estab="2001"), school(estab="2002")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    our_user = make_user(Role.SCHOOL_USER, organisation=ours)
    their_user = make_user(Role.SCHOOL_USER, organisation=other)
    our_run = enqueue(path, ImportKind.DELETIONS, Actor(user=our_user))
    their_run = enqueue(path, ImportKind.DELETIONS, Actor(user=their_user))

    def status(user: Any, run: ImportRun, name: str = "detection:import-progress") -> int:
        return client_for(user).get(reverse(name, kwargs={"run_id": run.pk})).status_code

    assert status(our_user, our_run) == 200
    assert status(our_user, our_run, "detection:import-run") == 200
    assert status(our_user, their_run) == 404
    assert status(our_user, their_run, "detection:import-run") == 404
    assert status(their_user, our_run) == 404
    officer = make_user(Role.CME_OFFICER)
    assert status(officer, our_run) == 200
    assert status(officer, their_run) == 200
    for role in (Role.AGENCY_USER, Role.AUDITOR, Role.SLO):
        assert status(make_user(role), our_run) == 404
    listing = client_for(our_user).get(reverse("detection:import-list")).content.decode()
    assert f"/imports/{our_run.pk}/" in listing
    assert f"/imports/{their_run.pk}/" not in listing
    everyone = client_for(officer).get(reverse("detection:import-list")).content.decode()
    assert f"/imports/{their_run.pk}/" in everyone
    assert (
        client_for(make_user(Role.AUDITOR)).get(reverse("detection:import-list")).status_code == 403
    )
