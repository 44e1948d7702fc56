"""Background imports: the job's lifecycle on the django-q2 queue, its progress (page,
JSON, command line), failure leaving nothing, a missing or dead worker, and who may follow
which import."""

from __future__ import annotations

import io
import os
import re
import socket
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
from django_q.models import OrmQ  # type: ignore[import-untyped]

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.detection import imports, jobs
from cmetrack.detection.importers import DELETION_COLUMNS, ROLL_COLUMNS
from cmetrack.detection.models import DeletionReturn, ImportKind, ImportRun, ImportStatus
from cmetrack.detection.presenters import NO_WORKER_MESSAGE
from cmetrack.detection.progress import ProgressBar
from cmetrack.jobs import status as worker_status
from cmetrack.jobs.testing import run_queued
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
    assert worker_status.pending_args(jobs.IMPORT_TASK) == [(run.pk,)]  # its task, queued
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
def test_a_queue_that_fails_to_record_the_run_leaves_no_stored_upload(
    tmp_path: Path, var_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))

    def broken_enqueue(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the queue table could not be written")

    monkeypatch.setattr(jobs, "enqueue", broken_enqueue)
    with pytest.raises(RuntimeError):
        enqueue(path, ImportKind.DELETIONS)
    assert not ImportRun.objects.exists()
    assert list(jobs.uploads_dir().glob("*")) == []


@pytest.mark.django_db
def test_a_roll_keeps_its_date_through_the_queue(tmp_path: Path) -> None:
    ours = school(estab="2001")
    path = write_csv(tmp_path / "roll.csv", ROLL_COLUMNS, roll_rows("9992001", 2))
    run = enqueue(path, ImportKind.ROLL, taken_on="2025-10-02")
    (finished,) = run_queued(limit=1)
    # A roll is a feed: the worker detects after it, in the same task, once it committed.
    assert finished["success"], finished["result"]
    assert finished["result"] == (
        f"import {run.pk}: Imported; detection as of {timezone.localdate():%-d %B %Y}: "
        "0 marks read, 0 new alerts, 0 updated"
    )
    assert worker_status.pending_args(jobs.DETECT_TASK) == []  # nothing left for later
    snapshot = RollSnapshot.objects.get()
    assert (snapshot.school, snapshot.taken_on.isoformat()) == (ours, "2025-10-02")
    assert snapshot.entries.count() == 2


@pytest.mark.django_db
def test_a_roll_imported_at_once_queues_detection_once(tmp_path: Path) -> None:
    """However a feed arrives, detection follows: the command line with ``--no-detect``
    leaves it to the worker (queued once, however many feeds)."""
    school(estab="2001")
    for n, taken_on in enumerate(("2025-10-02", "2025-10-09")):
        path = write_csv(tmp_path / f"roll{n}.csv", ROLL_COLUMNS, roll_rows("9992001", 2))
        call_command(
            "import_data", "roll", str(path), "--taken-on", taken_on, "--no-detect",
            stdout=io.StringIO(),
        )  # fmt: skip
    assert RollSnapshot.objects.count() == 2
    assert worker_status.pending_args(jobs.DETECT_TASK) == [()]  # one waiting is enough
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    call_command("import_data", "deletions", str(path), "--no-detect", stdout=io.StringIO())
    assert worker_status.queue_depth() == 1


@pytest.mark.django_db
def test_the_import_command_detects_after_a_feed_in_the_same_process(tmp_path: Path) -> None:
    """The one-day path is one command: the import, then detection as of ``--as-of`` from
    the stored state, in the same process; nothing is queued for the worker."""
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    out = io.StringIO()
    call_command(
        "import_data", "deletions", str(path), "--as-of", "2025-10-10", "--threads", "1",
        stdout=out,
    )  # fmt: skip
    assert "Detection as of 10 October 2025: 0 marks read, 0 new alerts, 0 updated (" in (
        out.getvalue()
    )
    assert worker_status.queue_depth() == 0
    # Not a feed the rules read: no detection, nothing queued.
    terms = write_csv(
        tmp_path / "terms.csv", ["term_start", "term_end"], [["2025-09-03", "2025-10-24"]]
    )
    out = io.StringIO()
    call_command("import_data", "terms", str(terms), stdout=out)
    assert "Detection" not in out.getvalue()
    assert worker_status.queue_depth() == 0


@pytest.mark.django_db
def test_detection_failing_after_an_import_is_queued_for_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The import has committed: a detection that fails in the worker is queued again."""
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    run = enqueue(path, ImportKind.DELETIONS)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("no room for the state")

    monkeypatch.setattr(jobs, "_detect", broken)
    assert jobs.import_run_task(run.pk) == f"import {run.pk}: Imported"
    assert worker_status.pending_args(jobs.DETECT_TASK) == [()]
    assert DeletionReturn.objects.count() == 1


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


def claim_as(run: ImportRun, worker: str, *, progress_age: timedelta) -> None:
    assert jobs.import_claim(worker=worker, run_id=run.pk) is not None
    ImportRun.objects.filter(pk=run.pk).update(progress_at=timezone.now() - progress_age)


@pytest.mark.django_db
def test_a_run_whose_worker_stopped_beating_is_failed_within_a_minute(tmp_path: Path) -> None:
    """A worker on another machine: its heartbeat and the run's progress say it is alive."""
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    dead, beating, moving = (enqueue(path, ImportKind.DELETIONS) for _ in range(3))
    stored = Path(dead.upload_path)
    claim_as(dead, "far:11/12", progress_age=timedelta(seconds=61))
    claim_as(beating, "far:21/22", progress_age=timedelta(seconds=61))
    claim_as(moving, "far:31/32", progress_age=timedelta(seconds=5))
    worker_status.beat("far:21")
    worker_status.beat("far:11", now=timezone.now() - timedelta(seconds=61))

    assert jobs.imports_fail_stale() == 1
    dead.refresh_from_db()
    assert dead.status == ImportStatus.FAILED
    assert dead.errors[0]["message"] == jobs.STOPPED_MESSAGE
    assert "nothing was imported" in dead.errors[0]["message"]
    assert not stored.exists()
    assert dead.upload_path == ""
    assert not DeletionReturn.objects.exists()
    for alive in (beating, moving):
        alive.refresh_from_db()
        assert alive.status == ImportStatus.RUNNING
    # 50 seconds in, the dead run was not failed yet: it is the minute that decides.
    ImportRun.objects.filter(pk=beating.pk).update(
        progress_at=timezone.now() - timedelta(seconds=50)
    )
    worker_status.beat_stop("far:21")
    assert jobs.imports_fail_stale() == 0


@pytest.mark.django_db
def test_on_this_machine_a_run_is_dead_as_soon_as_its_process_is(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    gone, here = enqueue(path, ImportKind.DELETIONS), enqueue(path, ImportKind.DELETIONS)
    host = socket.gethostname()
    finished = subprocess_pid()
    claim_as(gone, f"{host}:{finished}/{finished}", progress_age=timedelta(seconds=1))
    claim_as(here, f"{host}:{os.getpid()}/{os.getpid()}", progress_age=timedelta(minutes=9))
    worker_status.beat(f"{host}:{finished}")  # a beat does not vouch for a dead process
    assert jobs.imports_fail_stale() == 1
    assert ImportRun.objects.get(pk=gone.pk).status == ImportStatus.FAILED
    assert ImportRun.objects.get(pk=here.pk).status == ImportStatus.RUNNING


def subprocess_pid() -> int:
    """The id of a process that has ended."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


@pytest.mark.django_db
def test_the_watchdog_gives_a_task_to_a_queued_run_that_has_none(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(2))
    run = enqueue(path, ImportKind.DELETIONS)
    OrmQ.objects.all().delete()  # its task was lost (or it was queued before an upgrade)
    assert "0 queued import(s) given a task" in jobs.imports_watchdog()  # too recent
    ImportRun.objects.filter(pk=run.pk).update(started_at=timezone.now() - timedelta(minutes=3))
    assert "1 queued import(s) given a task" in jobs.imports_watchdog()
    assert "0 queued import(s) given a task" in jobs.imports_watchdog()  # not twice
    run_queued()
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.SUCCEEDED
    assert DeletionReturn.objects.count() == 2


@pytest.mark.django_db
def test_a_task_handed_out_twice_imports_once(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(2))
    run = enqueue(path, ImportKind.DELETIONS)
    assert jobs.import_run_task(run.pk).startswith(f"import {run.pk}: Imported; detection as")
    assert "was not waiting" in jobs.import_run_task(run.pk)
    assert DeletionReturn.objects.count() == 2


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
    assert "12 rows read, 12 changed" in text


@pytest.mark.django_db
def test_the_import_command_can_queue_for_the_worker(tmp_path: Path) -> None:
    school(estab="2001")
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(2))
    out = io.StringIO()
    call_command("import_data", "deletions", str(path), "--background", stdout=out)
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.QUEUED
    assert f"Queued as import {run.pk}" in out.getvalue()
    results = [t["result"] for t in run_queued()]
    # Deletion returns are a feed: the worker detects after them, in the same task (issue 18).
    assert results == [
        f"import {run.pk}: Imported; detection as of {timezone.localdate():%-d %B %Y}: "
        "0 marks read, 0 new alerts, 0 updated"
    ]
    run.refresh_from_db()
    assert run.status == ImportStatus.SUCCEEDED
    assert run.rows == 2
    assert worker_status.pending_args(jobs.DETECT_TASK) == []  # deletions are not a feed


# --- Pages and who sees them ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_file_queued_with_no_worker_running_says_so(
    settings: Any, make_user: Any, tmp_path: Path
) -> None:
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 10
    ours = school(estab="2001")
    client = client_for(make_user(Role.SCHOOL_USER, organisation=ours))
    worker_status.beat("worker-1", now=timezone.now() - timedelta(seconds=61))  # long gone
    form = client.get(reverse("detection:upload")).content.decode()
    assert "The import worker is not running" in form
    content = ",".join(DELETION_COLUMNS) + "\n" + ",".join(deletion_rows(1)[0]) + "\n"
    response = client.post(
        reverse("detection:upload"),
        {"kind": "deletions", "file": SimpleUploadedFile("d.csv", content.encode(), "text/csv")},
    )
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.QUEUED  # queued all the same
    page = client.get(response["Location"]).content.decode()
    assert NO_WORKER_MESSAGE in page.replace("&#39;", "'")
    assert "<div data-worker-warning>" in page
    data = client.get(reverse("detection:import-progress", kwargs={"run_id": run.pk})).json()
    assert data["worker_warning"] == NO_WORKER_MESSAGE
    assert data["status"] == "queued"
    listing = client.get(reverse("detection:import-list")).content.decode()
    assert "The import worker is not running" in listing

    worker_status.beat("worker-2")  # a worker starts
    data = client.get(reverse("detection:import-progress", kwargs={"run_id": run.pk})).json()
    assert data["worker_warning"] == ""
    form = client.get(reverse("detection:upload")).content.decode()
    assert "The import worker is not running" not in form


@pytest.mark.django_db
def test_the_import_page_fails_a_run_whose_worker_died(make_user: Any, tmp_path: Path) -> None:
    """No "Importing… 65 %" for minutes: the page itself notices the dead worker."""
    ours = school(estab="2001")
    user = make_user(Role.SCHOOL_USER, organisation=ours)
    path = write_csv(tmp_path / "deletions.csv", DELETION_COLUMNS, deletion_rows(1))
    run = enqueue(path, ImportKind.DELETIONS, Actor(user=user))
    claim_as(run, "far:1/2", progress_age=timedelta(seconds=61))
    ImportRun.objects.filter(pk=run.pk).update(rows_done=65, rows_total=100)
    client = client_for(user)
    data = client.get(reverse("detection:import-progress", kwargs={"run_id": run.pk})).json()
    assert data["status"] == "failed"
    assert data["finished"] is True
    page = client.get(reverse("detection:import-run", kwargs={"run_id": run.pk})).content.decode()
    assert "nothing was imported" in page
    assert "65%" not in page


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_a_large_upload_goes_to_the_background_and_shows_a_progress_bar(
    settings: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CMETRACK_IMPORT_BACKGROUND_BYTES = 10
    worker_status.beat("worker-1")  # a worker is running
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
    assert worker_status.pending_args(jobs.IMPORT_TASK) == [(run.pk,)]
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
    assert progress.json()["worker_warning"] == ""
    assert "<div data-worker-warning hidden>" in html  # shown only if the worker stops

    run_queued()
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
