"""Background imports: a database-backed queue of :class:`ImportRun` jobs and its worker.

No broker: the queue is the ``ImportRun`` table.

* :func:`import_enqueue` stores the upload under ``VAR_DIR/imports/`` and records a
  ``queued`` run with the importer's options;
* :func:`import_claim` moves one queued run to ``running`` with a conditional UPDATE, so
  two workers never run the same file;
* :func:`import_process` runs it through the importer registered for its kind
  (:func:`register_importer`), which writes progress as it goes (``rows_done`` of
  ``rows_total``; see :class:`cmetrack.detection.imports.ProgressReporter`), and removes
  the stored upload when done;
* ``cmetrack import_worker`` loops over the queue and says it is alive
  (:class:`ImportWorkerBeat`). When no worker has been seen lately, the upload view starts
  a one-shot worker process for the run (:func:`import_start`), which outlives the request;
* a run whose progress has not moved for :data:`STALE_AFTER` (its process died) is failed
  by :func:`imports_fail_stale`: its transaction was never committed, so nothing of it is
  in the database.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record

from .imports import ANY_SCHOOL_IMPORT_ROLES, ProgressListener
from .models import FINISHED_STATUSES, ImportKind, ImportRun, ImportStatus, ImportWorkerBeat

logger = logging.getLogger(__name__)

#: ``service(*, actor, path, file_name, run, listener, **params) -> ImportRun``.
ImportService = Callable[..., ImportRun]

_IMPORTERS: dict[str, ImportService] = {}

#: A worker seen this recently is alive: uploads then only queue.
WORKER_ALIVE = timedelta(seconds=30)
#: A running import whose progress has not moved for this long has died.
STALE_AFTER = timedelta(minutes=5)


def register_importer(kind: str, service: ImportService) -> None:
    """Make ``kind`` runnable in the background (the transfers app registers CTF rolls)."""
    _IMPORTERS[kind] = service


def importer_for(kind: str) -> ImportService:
    # Other apps register their kinds at start-up, so an empty table is not the test.
    if not _BUILTIN_LOADED:
        _register_builtin()
    try:
        return _IMPORTERS[kind]
    except KeyError:
        raise LookupError(f"no importer is registered for {kind!r}") from None


_BUILTIN_LOADED = False


def _register_builtin() -> None:
    global _BUILTIN_LOADED
    from . import importers

    for kind in (
        ImportKind.TERMS,
        ImportKind.CLOSURES,
        ImportKind.ROLL,
        ImportKind.ATTENDANCE,
        ImportKind.DELETIONS,
        ImportKind.ADDITIONS,
        ImportKind.ALLOCATIONS,
    ):
        _IMPORTERS.setdefault(kind.value, getattr(importers, f"{kind.value}_import"))
    _BUILTIN_LOADED = True


def uploads_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


# --- Queue ---------------------------------------------------------------------------------


def import_enqueue(
    *,
    actor: Actor,
    kind: str,
    file_name: str,
    content: BinaryIO | Path,
    params: dict[str, Any] | None = None,
) -> ImportRun:
    """Store the file and queue its import. ``params`` must be JSON (dates as ISO text)."""
    importer_for(kind)  # an unknown kind fails now, not in the worker
    folder = uploads_dir()
    folder.mkdir(parents=True, exist_ok=True)
    suffix = Path(file_name).suffix.lower()[:10]
    stored = folder / f"{uuid.uuid4().hex}{suffix}"
    with stored.open("wb") as out:
        if isinstance(content, Path):
            with content.open("rb") as source:
                while block := source.read(1 << 20):
                    out.write(block)
        else:
            while block := content.read(1 << 20):
                out.write(block)
    user = actor.user
    with transaction.atomic():
        run = ImportRun.objects.create(
            kind=kind,
            status=ImportStatus.QUEUED,
            file_name=file_name[:255],
            by=user,
            by_label=actor.display[:254],
            organisation=getattr(user, "organisation", None),
            params={**(params or {}), "ip_address": actor.ip_address},
            upload_path=str(stored),
            stage="Waiting to start",
        )
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=run,
            summary=f"Queued {run.get_kind_display().lower()} from {run.file_name}",
        )
    return run


def import_claim(*, worker: str, run_id: int | None = None) -> ImportRun | None:
    """Take the oldest queued run (or ``run_id``) for this worker, or None if none is left."""
    candidates = ImportRun.objects.filter(status=ImportStatus.QUEUED)
    if run_id is not None:
        candidates = candidates.filter(pk=run_id)
    for pk in candidates.order_by("started_at", "id").values_list("pk", flat=True)[:20]:
        taken = ImportRun.objects.filter(pk=pk, status=ImportStatus.QUEUED).update(
            status=ImportStatus.RUNNING,
            worker=worker[:100],
            stage="Starting",
            progress_at=timezone.now(),
            started_at=timezone.now(),
        )
        if taken:
            return ImportRun.objects.select_related("by").get(pk=pk)
    return None


def import_process(run: ImportRun, *, listener: ProgressListener | None = None) -> ImportRun:
    """Run a claimed run to its end (succeeded, unchanged or failed). Never raises."""
    path = Path(run.upload_path)
    actor = Actor(user=run.by, ip_address=run.params.get("ip_address"), label=run.by_label)
    if run.by is None:
        actor = Actor.system(run.by_label.removeprefix("system: ") or "import worker")
    try:
        if not path.is_file():
            raise FileNotFoundError(path)
        service = importer_for(run.kind)
        options = {k: v for k, v in run.params.items() if k != "ip_address"}
        return service(
            actor=actor, path=path, file_name=run.file_name, run=run, listener=listener, **options
        )
    except Exception:
        logger.exception("import %s failed", run.pk)
        run.refresh_from_db()
        if run.status not in FINISHED_STATUSES:
            run.status = ImportStatus.FAILED
            run.errors = [
                {
                    "line": 0,
                    "column": "",
                    "message": "the import stopped because of an unexpected problem; "
                    "nothing was imported. Send the file again or ask the CME team.",
                }
            ]
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "errors", "finished_at"])
        return run
    finally:
        path.unlink(missing_ok=True)
        if run.upload_path:
            ImportRun.objects.filter(pk=run.pk).update(upload_path="")


def imports_fail_stale(now: Any = None) -> int:
    """Fail running imports whose worker died (no progress for :data:`STALE_AFTER`)."""
    now = now or timezone.now()
    stale = ImportRun.objects.filter(status=ImportStatus.RUNNING, progress_at__lt=now - STALE_AFTER)
    count = 0
    for run in stale:
        count += ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED,
            finished_at=now,
            stage="",
            errors=[
                {
                    "line": 0,
                    "column": "",
                    "message": "the import stopped before it finished; nothing was imported. "
                    "Send the file again.",
                }
            ],
        )
        if run.upload_path:
            Path(run.upload_path).unlink(missing_ok=True)
    return count


# --- Workers -------------------------------------------------------------------------------


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def worker_beat(name: str) -> None:
    ImportWorkerBeat.objects.update_or_create(name=name, defaults={"seen_at": timezone.now()})


def worker_gone(name: str) -> None:
    ImportWorkerBeat.objects.filter(name=name).delete()


def worker_alive() -> bool:
    return ImportWorkerBeat.objects.filter(seen_at__gte=timezone.now() - WORKER_ALIVE).exists()


def import_start(run: ImportRun) -> None:
    """Make sure someone runs ``run``: a live worker will; else start a one-shot one.

    The one-shot worker is a separate process (``cmetrack import_worker --run ID``) in its
    own session, so it outlives the request and a restart of the web worker.
    """
    if worker_alive():
        return
    command = [sys.executable, "-m", "cmetrack.cli", "import_worker", "--run", str(run.pk)]
    log = uploads_dir() / f"worker-{run.pk}.log"
    with log.open("ab") as out:
        subprocess.Popen(  # noqa: S603 - our own command, no user input
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ},
        )


# --- Who sees which runs -------------------------------------------------------------------


def import_runs_visible_to(user: User) -> QuerySet[ImportRun]:
    """The local authority's import roles see every run; a school its own; others none."""
    runs = ImportRun.objects.select_related("by", "organisation")
    if user.has_role(*ANY_SCHOOL_IMPORT_ROLES):
        return runs
    if user.has_role("school_user") and user.organisation_id is not None:
        return runs.filter(Q(organisation_id=user.organisation_id))
    return runs.none()
