"""The fault run: the worker is killed (SIGKILL) in the middle of an import. Its processes
stop, nothing of the import is kept, and the run is failed at the next look."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cmetrack.audit.services import Actor
from cmetrack.detection import jobs
from cmetrack.detection.importers import ROLL_COLUMNS
from cmetrack.detection.models import ImportKind
from cmetrack.jobs.tests.test_worker_command import (  # noqa: F401 - worker_database: a fixture
    Query,
    _descendants,
    start_worker,
    wait_for,
    worker_database,
)
from cmetrack.jobs.watch import process_alive

from .factories import make_upn, school, write_csv

pytestmark = pytest.mark.django_db(transaction=True)

ROWS = 30_000


def test_a_worker_killed_mid_import_leaves_nothing_and_the_run_says_so(
    worker_database: tuple[dict[str, str], Query],  # noqa: F811 - the fixture
    settings: Any,
) -> None:
    env, query = worker_database
    settings.VAR_DIR = Path(env["CMETRACK_VAR_DIR"])
    ours = school(estab="2001")
    rest = ["", "Amira", "Khan", "", "", "2014-05-01", "F", "", "", "6", "", "C"]
    rows = (
        [ours.laestab, make_upn(n % 1000, estab=str(3000 + n // 1000)), *rest] for n in range(ROWS)
    )
    path = write_csv(settings.VAR_DIR.parent / "roll.csv", ROLL_COLUMNS, rows)
    run = jobs.import_enqueue(
        actor=Actor.system("test"),
        kind=ImportKind.ROLL,
        file_name="roll.csv",
        content=path,
        params={"taken_on": "2025-10-02"},
    )
    status = f"SELECT status FROM detection_importrun WHERE id = {run.pk}"  # noqa: S608
    query("SELECT 1")  # (SQLite: the worker's copy of the database is taken now)
    worker = start_worker(env)
    try:
        assert wait_for(lambda: query(status)[0][0] == "running", 40), query(status)
        tree = _descendants(worker.pid)
        worker.kill()
        worker.wait()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert wait_for(lambda: not any(process_alive(pid) for pid in tree), 15)
    assert query(status)[0][0] == "running"  # until someone looks

    looked = subprocess.run(
        [sys.executable, "-m", "cmetrack.cli", "shell", "-c",
         "from cmetrack.detection import jobs; print(jobs.imports_fail_stale())"],
        env={k: v for k, v in env.items() if k != "_take_copy"},
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert looked.stdout.strip().splitlines()[-1] == "1", looked.stdout + looked.stderr
    (failed,) = query(f"SELECT status, errors FROM detection_importrun WHERE id = {run.pk}")  # noqa: S608
    assert failed[0] == "failed"
    assert "nothing was imported" in failed[1]
    assert query("SELECT count(*) FROM registers_rollsnapshot")[0][0] == 0
    assert query("SELECT count(*) FROM registers_rollentry")[0][0] == 0
