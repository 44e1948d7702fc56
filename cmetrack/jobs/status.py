"""How the background worker is doing: for /health/, metrics and the import pages.

Keep these names: the health check and the Prometheus metrics use them.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone
from django_q.conf import Conf  # type: ignore[import-untyped]
from django_q.models import OrmQ, Task  # type: ignore[import-untyped]

from .models import WorkerBeat
from .watch import process_alive

#: A worker seen this recently is alive (it beats about every ten seconds).
ALIVE_WITHIN = dt.timedelta(seconds=60)
#: Seconds between a worker's heartbeats.
BEAT_SECONDS = 10.0
#: The environment variable naming the worker that runs a task (set by ``cmetrack worker``).
WORKER_NAME_ENV = "CMETRACK_WORKER_NAME"


def worker_alive(now: dt.datetime | None = None) -> bool:
    """True when some worker has beaten within :data:`ALIVE_WITHIN`.

    On SQLite a long import holds the only write lock until it commits, and the heartbeat
    waits behind it; there, a worker on this machine whose process is running counts too.
    """
    now = now or timezone.now()
    if WorkerBeat.objects.filter(seen_at__gte=now - ALIVE_WITHIN).exists():
        return True
    if connection.vendor != "sqlite":
        return False
    here = WorkerBeat.objects.filter(host=socket.gethostname(), pid__isnull=False)
    return any(process_alive(pid) for pid in here.values_list("pid", flat=True) if pid)


def worker_seen(name: str, now: dt.datetime | None = None) -> bool:
    """True when the worker ``name`` has beaten within :data:`ALIVE_WITHIN`."""
    now = now or timezone.now()
    return WorkerBeat.objects.filter(name=name, seen_at__gte=now - ALIVE_WITHIN).exists()


def live_workers(now: dt.datetime | None = None) -> list[str]:
    now = now or timezone.now()
    return list(
        WorkerBeat.objects.filter(seen_at__gte=now - ALIVE_WITHIN).values_list("name", flat=True)
    )


def last_beat() -> dt.datetime | None:
    """When a worker last said it was alive (None: never, or every worker stopped)."""
    seen: dt.datetime | None = WorkerBeat.objects.aggregate(last=Max("seen_at"))["last"]
    return seen


def queue_depth() -> int:
    """Tasks queued and not finished (waiting, or taken by a worker and running)."""

    depth: int = OrmQ.objects.using(Conf.ORM or "default").filter(key=Conf.CLUSTER_NAME).count()
    return depth


def oldest_job_age(now: dt.datetime | None = None) -> dt.timedelta | None:
    """How long ago the oldest task still in the queue was queued (None: the queue is empty)."""

    now = now or timezone.now()
    oldest = (
        OrmQ.objects.using(Conf.ORM or "default")
        .filter(key=Conf.CLUSTER_NAME)
        .order_by("pk")
        .first()
    )
    if oldest is None:
        return None
    queued = oldest.task.get("started") if isinstance(oldest.task, dict) else None
    if not isinstance(queued, dt.datetime):
        queued = oldest.lock  # unreadable payload: when it was queued or last released
    if queued is None:
        return dt.timedelta(0)
    return max(dt.timedelta(0), now - queued)


def pending_args(func: str, *, waiting_only: bool = False) -> list[tuple[object, ...]]:
    """The arguments of each queued task of ``func``, oldest first: waiting, or taken by a
    worker too (unless ``waiting_only``)."""
    rows = OrmQ.objects.using(Conf.ORM or "default").filter(key=Conf.CLUSTER_NAME).order_by("pk")
    if waiting_only:
        rows = rows.filter(lock__lte=timezone.now())
    found = []
    for row in rows:
        task = row.task
        if isinstance(task, dict) and task.get("func") == func:
            found.append(tuple(task.get("args") or ()))
    return found


def failed_since(t: dt.datetime) -> int:
    """Tasks that failed (raised, or timed out) since ``t``."""

    failed: int = Task.objects.filter(success=False, stopped__gte=t).count()
    return failed


# --- The worker's own beat ----------------------------------------------------------------


def worker_name() -> str:
    """This process's worker name: ``host:pid``, or the name ``cmetrack worker`` gave its
    cluster (so a task knows whose heartbeat to look at)."""
    return os.environ.get(WORKER_NAME_ENV) or f"{socket.gethostname()}:{os.getpid()}"[:100]


def beat(name: str, now: dt.datetime | None = None) -> bool:
    """Record that ``name`` is alive. False when the database would not take it now."""
    now = now or timezone.now()
    try:
        updated = WorkerBeat.objects.filter(name=name).update(seen_at=now)
        if not updated:
            host, _, pid = name.rpartition(":")
            WorkerBeat.objects.create(
                name=name,
                host=host[:100],
                pid=int(pid) if pid.isdigit() else None,
                started_at=now,
                seen_at=now,
            )
    except DatabaseError:
        return False
    return True


def beat_stop(name: str) -> None:
    """The worker ``name`` stopped cleanly."""
    WorkerBeat.objects.filter(name=name).delete()
