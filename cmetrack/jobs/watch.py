"""A worker process that outlives its ``cmetrack worker`` stops at once.

django-q2's cluster runs in processes forked from ``cmetrack worker``. If that process is
killed (``kill -9``, out of memory), nothing else stops them: a half-done import would go
on, unseen, while its worker's heartbeat has stopped. So each task process watches the
worker that started it and, when it has gone, kills its cluster (the sentinel and its
other processes) and itself. The import's transaction then never commits, and the import
pages fail the run (see :func:`cmetrack.detection.jobs.imports_fail_stale`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

#: The process id of ``cmetrack worker`` (set by the command for its cluster).
WORKER_PID_ENV = "CMETRACK_WORKER_PID"
#: Seconds between looks at the worker.
EVERY = 2.0


def process_alive(pid: int) -> bool:
    """Is ``pid`` running (a zombie, killed and not yet reaped, is not)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (Linux; empty elsewhere)."""
    found = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == pid:
            found.append(int(entry.name))
    return found


def _stop_cluster() -> None:
    me, sentinel = os.getpid(), os.getppid()
    logger.error("the worker that started this cluster has gone: stopping its processes")
    for pid in children_of(sentinel):
        if pid != me:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(sentinel, signal.SIGKILL)
    os._exit(1)


def _watch(worker_pid: int) -> None:
    stop = threading.Event()
    while not stop.wait(EVERY):
        if not process_alive(worker_pid):
            _stop_cluster()


def watch_worker(**kwargs: Any) -> None:
    """django-q2's ``post_spawn`` (in each task process): watch ``cmetrack worker``."""
    raw = os.environ.get(WORKER_PID_ENV, "")
    if not raw.isdigit() or int(raw) == os.getpid():
        return
    threading.Thread(
        target=_watch, args=(int(raw),), name="cmetrack-worker-watch", daemon=True
    ).start()
