from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_q.models import OrmQ, Task  # type: ignore[import-untyped]

from cmetrack.jobs import status
from cmetrack.jobs.models import WorkerBeat
from cmetrack.jobs.services import enqueue
from cmetrack.jobs.tasks import on_weekdays
from cmetrack.jobs.testing import run_queued

pytestmark = pytest.mark.django_db

CALLS: list[tuple[object, ...]] = []


def record(*args: object, **kwargs: object) -> str:
    CALLS.append((*args, kwargs))
    return f"recorded {args}"


def explode() -> None:
    raise RuntimeError("boom")


def test_enqueue_queues_and_the_worker_runs_it() -> None:
    CALLS.clear()
    assert status.queue_depth() == 0
    assert status.oldest_job_age() is None
    task_id = enqueue(
        "cmetrack.jobs.tests.test_services.record", 7, "x", task_name="record seven", flag=True
    )
    assert OrmQ.objects.count() == 1
    assert status.queue_depth() == 1
    age = status.oldest_job_age(now=timezone.now() + dt.timedelta(seconds=30))
    assert age is not None
    assert dt.timedelta(seconds=29) < age < dt.timedelta(seconds=40)
    assert CALLS == []  # queued, not run

    finished = run_queued()

    assert [t["id"] for t in finished] == [task_id]
    assert CALLS == [(7, "x", {"flag": True})]
    task = Task.objects.get(id=task_id)
    assert task.success
    assert task.name == "record seven"
    assert task.result == "recorded (7, 'x')"
    assert status.queue_depth() == 0  # acknowledged


def test_a_failed_task_is_recorded_and_not_retried() -> None:
    before = timezone.now() - dt.timedelta(seconds=1)
    enqueue("cmetrack.jobs.tests.test_services.explode")
    run_queued()
    assert status.failed_since(before) == 1
    assert "boom" in Task.objects.get().result
    assert status.queue_depth() == 0  # ack_failures: not handed out again
    assert status.failed_since(timezone.now() + dt.timedelta(seconds=1)) == 0


def test_enqueue_refuses_arguments_the_queue_would_take() -> None:
    with pytest.raises(TypeError, match="timeout"):
        enqueue("cmetrack.jobs.tests.test_services.record", timeout=5)


def test_worker_alive_follows_the_heartbeat() -> None:
    now = timezone.now()
    assert not status.worker_alive(now)
    assert status.last_beat() is None
    assert status.beat("host:123", now=now)
    beat = WorkerBeat.objects.get()
    assert (beat.host, beat.pid) == ("host", 123)
    assert status.worker_alive(now + dt.timedelta(seconds=59))
    assert status.worker_seen("host:123", now + dt.timedelta(seconds=59))
    assert not status.worker_alive(now + dt.timedelta(seconds=61))
    assert status.last_beat() == now
    status.beat_stop("host:123")
    assert not status.worker_alive(now)


def test_weekdays_only_wrapper_skips_weekends(monkeypatch: pytest.MonkeyPatch) -> None:
    CALLS.clear()
    monkeypatch.setattr(timezone, "localdate", lambda: dt.date(2026, 3, 7))  # Saturday
    assert on_weekdays("cmetrack.jobs.tests.test_services.record") == "skipped: weekend"
    monkeypatch.setattr(timezone, "localdate", lambda: dt.date(2026, 3, 9))  # Monday
    assert on_weekdays("cmetrack.jobs.tests.test_services.record") == "recorded ()"
    assert CALLS == [({},)]


def test_on_sqlite_a_running_worker_here_counts_while_its_beat_waits_on_a_lock() -> None:
    import os
    import socket

    from django.db import connection

    old = timezone.now() - dt.timedelta(minutes=5)
    here = f"{socket.gethostname()}:{os.getpid()}"
    status.beat(here, now=old)  # this process is running; its beat is five minutes old
    assert status.worker_alive() == (connection.vendor == "sqlite")
    WorkerBeat.objects.filter(name=here).update(pid=subprocess_pid())  # a process that ended
    assert not status.worker_alive()


def subprocess_pid() -> int:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_pending_args_tell_waiting_tasks_from_taken_ones() -> None:
    enqueue("cmetrack.jobs.tests.test_services.record", 1)
    enqueue("cmetrack.jobs.tests.test_services.record", 2)
    enqueue("cmetrack.jobs.tests.test_services.explode")
    taken = OrmQ.objects.order_by("pk").first()
    OrmQ.objects.filter(pk=taken.pk).update(lock=timezone.now() + dt.timedelta(hours=1))
    record = "cmetrack.jobs.tests.test_services.record"
    assert status.pending_args(record) == [(1,), (2,)]
    assert status.pending_args(record, waiting_only=True) == [(2,)]
    assert status.pending_args("cmetrack.jobs.tests.test_services.explode") == [()]
