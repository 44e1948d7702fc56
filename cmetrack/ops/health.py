"""The checks behind ``/health/`` (django-health-check ``HealthCheck`` classes).

Each check has a name (its key in the JSON), says whether it is *critical* and carries the
fixed sentence shown when it fails. The endpoint answers 503 only when a critical check
fails: the database cannot be reached, or ``$CMETRACK_VAR_DIR`` cannot be written. A worker
that stopped, a search index still being prepared or one behind its register, and a var
directory running out of space are *warnings*: the service still answers people, so the
probe answers 200 with ``"status": "degraded"`` and the warning says what is wrong.

Messages are written here, never copied from an exception: the endpoint needs no sign-in,
so it must not show host names, paths, versions or data. The exception itself goes to the
log (django-health-check logs every failed check).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import shutil
import uuid
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.db import connections
from django.utils import timezone
from health_check.base import HealthCheck  # type: ignore[import-untyped]
from health_check.checks import Database  # type: ignore[import-untyped]
from health_check.exceptions import (  # type: ignore[import-untyped]
    ServiceUnavailable,
    ServiceWarning,
)

from cmetrack.jobs import status as jobs_status
from cmetrack.matching import services as matching_services


def _close_thread_connections() -> None:
    """django-health-check runs synchronous checks in a thread of their own; a connection
    that thread opened would otherwise outlive the request."""
    connections.close_all()


def _seconds(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else max(0, round(delta.total_seconds()))


@dataclasses.dataclass
class CmetrackCheck(HealthCheck):  # type: ignore[misc]  # the library has no type hints
    """A check of ours: a JSON name, critical or not, a fixed failure sentence, details."""

    name: ClassVar[str]
    critical: ClassVar[bool]
    failure_message: ClassVar[str]
    # Filled in by run(): figures worth showing next to the status (no personal data).
    details: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass
class DatabaseCheck(CmetrackCheck, Database):  # type: ignore[misc]  # the library has no type hints
    """``SELECT 1`` on the default database (django-health-check's own check)."""

    name: ClassVar[str] = "database"
    critical: ClassVar[bool] = True
    failure_message: ClassVar[str] = "The database cannot be reached."


@dataclasses.dataclass
class VarDirectoryCheck(CmetrackCheck):
    """``$CMETRACK_VAR_DIR`` exists and takes a write; warns when little space is left."""

    name: ClassVar[str] = "var_directory"
    critical: ClassVar[bool] = True
    failure_message: ClassVar[str] = (
        "The data directory cannot be written to: imports, uploads and search indexes will fail."
    )

    def run(self) -> None:
        directory = Path(settings.VAR_DIR)
        probe_write(directory)
        usage = shutil.disk_usage(directory)
        free_mb = usage.free // (1024 * 1024)
        self.details["free_percent"] = round(100 * usage.free / usage.total) if usage.total else 0
        minimum = int(getattr(settings, "CMETRACK_HEALTH_MIN_FREE_MB", 1024))
        if free_mb < minimum:
            raise ServiceWarning(
                f"The data directory has less than {minimum} MB free: imports may fail soon."
            )


def probe_write(directory: Path) -> None:
    """Write, flush and remove a small file in ``directory``; OSError when that fails."""
    path = directory / f".health-{uuid.uuid4().hex}"
    try:
        with path.open("xb") as handle:
            handle.write(b"ok")
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        raise ServiceUnavailable("not writable") from error
    finally:
        path.unlink(missing_ok=True)


@dataclasses.dataclass
class WorkerCheck(CmetrackCheck):
    """The background worker's heartbeat, and how long the queue is."""

    name: ClassVar[str] = "worker"
    critical: ClassVar[bool] = False
    failure_message: ClassVar[str] = "The background worker's state cannot be read."

    def run(self) -> None:
        try:
            now = timezone.now()
            beat = jobs_status.last_beat()
            self.details["last_heartbeat_seconds_ago"] = (
                None if beat is None else _seconds(now - beat)
            )
            self.details["queued_jobs"] = jobs_status.queue_depth()
            self.details["oldest_job_seconds"] = _seconds(jobs_status.oldest_job_age(now))
            alive = jobs_status.worker_alive(now)
        finally:
            _close_thread_connections()
        if not alive:
            raise ServiceWarning(
                "The background worker is not running: imports, search-index builds and "
                "scheduled jobs wait until it starts."
            )


@dataclasses.dataclass
class SearchIndexCheck(CmetrackCheck):
    """Each register's search index exists and is not behind its register."""

    name: ClassVar[str] = "search_index"
    critical: ClassVar[bool] = False
    failure_message: ClassVar[str] = "The search indexes' state cannot be read."

    def run(self) -> None:
        try:
            registers = matching_services.index_status()
        finally:
            _close_thread_connections()
        now = timezone.now()
        preparing: list[str] = []
        behind: list[str] = []
        shown: dict[str, dict[str, Any]] = {}
        for register, state in sorted(registers.items()):
            built_at = state.get("built_at")
            exists = bool(state.get("exists"))
            is_behind = bool(state.get("behind"))
            shown[register] = {
                "exists": exists,
                "behind": is_behind,
                "built_seconds_ago": (
                    _seconds(now - built_at) if isinstance(built_at, dt.datetime) else None
                ),
            }
            if not exists:  # the worker builds it (an empty register's too)
                preparing.append(register)
            elif is_behind:
                behind.append(register)
        self.details["registers"] = shown
        if preparing:
            raise ServiceWarning("Search is being prepared for: " + ", ".join(preparing) + ".")
        if behind:
            raise ServiceWarning(
                "The search index is behind its register for: " + ", ".join(behind) + "."
            )


#: The checks of /health/, in the order they are shown.
CHECKS: tuple[type[CmetrackCheck], ...] = (
    DatabaseCheck,
    VarDirectoryCheck,
    WorkerCheck,
    SearchIndexCheck,
)
