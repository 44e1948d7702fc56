"""``cmetrack worker`` as it runs: a real process with its django-q2 cluster, on a copy of
the test database (SQLite) or the test database itself (PostgreSQL)."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from cmetrack.jobs.services import enqueue
from cmetrack.jobs.watch import children_of, process_alive

pytestmark = pytest.mark.django_db(transaction=True)

Query = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture
def worker_database(tmp_path: Path) -> Iterator[tuple[dict[str, str], Query]]:
    """The environment for a worker process on this test's data, and a way to read what
    it wrote (call it after the data is in place: SQLite's copy is taken then)."""
    settings_dict = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cmetrack.config.settings.test",
        "CMETRACK_VAR_DIR": str(tmp_path / "var"),
        "CMETRACK_WORKERS": "1",
    }
    if connection.vendor == "sqlite":
        copy = tmp_path / "worker.sqlite3"
        env["DATABASE_URL"] = f"sqlite:///{copy}"

        def query(sql: str) -> list[tuple[Any, ...]]:
            with sqlite3.connect(copy, timeout=10) as db:
                return db.execute(sql).fetchall()

        def take_copy() -> None:
            connection.ensure_connection()
            with sqlite3.connect(copy) as target:
                connection.connection.backup(target)

        env["_take_copy"] = "1"
        yield env, _with_copy(query, take_copy)
        return
    user, host = settings_dict["USER"] or "postgres", settings_dict["HOST"] or "127.0.0.1"
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    port = settings_dict["PORT"] or "5432"
    env["DATABASE_URL"] = f"postgres://{user}{password}@{host}:{port}/{settings_dict['NAME']}"

    def pg_query(sql: str) -> list[tuple[Any, ...]]:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return list(cursor.fetchall())

    yield env, pg_query


def _with_copy(query: Query, take_copy: Callable[[], None]) -> Query:
    taken: list[bool] = []

    def run(sql: str) -> list[tuple[Any, ...]]:
        if not taken:
            take_copy()
            taken.append(True)
        return query(sql)

    return run


def start_worker(env: dict[str, str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in env.items() if k != "_take_copy"}
    return subprocess.Popen(
        [sys.executable, "-m", "cmetrack.cli", "worker", "--beat-seconds", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(check: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_the_worker_runs_tasks_beats_and_stops_on_sigterm(
    worker_database: tuple[dict[str, str], Query],
) -> None:
    env, query = worker_database
    enqueue("cmetrack.jobs.tasks.on_weekdays", "cmetrack.jobs.status.queue_depth", task_name="t")
    query("SELECT 1")  # (SQLite: the worker's copy of the database is taken now)
    worker = start_worker(env)
    try:
        assert wait_for(lambda: bool(query("SELECT name FROM jobs_workerbeat")), 30), "no beat"
        assert wait_for(lambda: bool(query("SELECT id FROM django_q_task WHERE name = 't'")), 20)
        assert query("SELECT success FROM django_q_task WHERE name = 't'")[0][0] in (1, True)
        # The worker saves the task's result, then deletes its queue row: wait for both.
        assert wait_for(lambda: query("SELECT count(*) FROM django_q_ormq")[0][0] == 0, 10)
        worker.send_signal(signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, out
    assert "running: 1 processes" in out
    assert "stopped." in out
    assert query("SELECT count(*) FROM jobs_workerbeat")[0][0] == 0  # gone with it


def test_a_killed_worker_leaves_no_process_behind(
    worker_database: tuple[dict[str, str], Query],
) -> None:
    env, query = worker_database
    query("SELECT 1")
    worker = start_worker(env)
    try:
        assert wait_for(lambda: bool(query("SELECT name FROM jobs_workerbeat")), 30), "no beat"
        # The cluster: its sentinel, one task process, the monitor and the pusher.
        assert wait_for(lambda: len(_descendants(worker.pid)) >= 4, 30)
        tree = _descendants(worker.pid)
        worker.kill()  # SIGKILL: no chance to stop its cluster
        worker.wait()
        assert wait_for(lambda: not any(process_alive(pid) for pid in tree), 15), [
            pid for pid in tree if process_alive(pid)
        ]
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_sigterm_to_the_whole_process_group_stops_the_worker(
    worker_database: tuple[dict[str, str], Query],
) -> None:
    """Ctrl+C in a terminal, or a kill of the whole group, reaches the cluster's processes
    at the same moment as the worker: it must still stop (django-q2's own stop waited for
    ever on a lock a dead process held)."""
    env, query = worker_database
    query("SELECT 1")
    env = {k: v for k, v in env.items() if k != "_take_copy"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "cmetrack.cli", "worker", "--beat-seconds", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, which the test signals whole
    )
    try:
        assert wait_for(lambda: bool(query("SELECT name FROM jobs_workerbeat")), 30), "no beat"
        assert wait_for(lambda: len(_descendants(worker.pid)) >= 4, 30)
        tree = _descendants(worker.pid)
        os.killpg(worker.pid, signal.SIGTERM)
        out, _ = worker.communicate(timeout=30)
        assert "stopped." in out
        assert wait_for(lambda: not any(process_alive(pid) for pid in tree), 15)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            found.append(child)
            todo.append(child)
    return found
