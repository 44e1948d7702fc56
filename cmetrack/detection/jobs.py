"""Background imports: :class:`ImportRun` rows run as django-q2 tasks (``cmetrack worker``).

* :func:`import_enqueue` stores the upload under ``VAR_DIR/imports/``, records a ``queued``
  run with the importer's options and, in the same transaction, queues
  :func:`import_run_task` for it (:func:`cmetrack.jobs.services.enqueue`);
* the task claims the run (:func:`import_claim`, a conditional UPDATE, so a task handed out
  twice never runs the same file twice) and runs it through the importer registered for
  its kind (:func:`register_importer`), which writes progress as it goes (``rows_done`` of
  ``rows_total``; see :class:`cmetrack.detection.imports.ProgressReporter`) and removes
  the stored upload when done;
* a running import whose worker died is failed by :func:`imports_fail_stale` within a
  minute (its transaction never committed, so nothing of it is in the database): the
  import pages call it, and so does the worker's watchdog every minute;
* while no worker is running (:func:`cmetrack.jobs.status.worker_alive`), the import pages
  say so: the file stays queued and is imported when a worker starts.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.jobs import status as worker_status
from cmetrack.jobs.registry import register_schedule
from cmetrack.jobs.services import enqueue
from cmetrack.jobs.watch import process_alive
from cmetrack.kit.storage import save_atomically
from cmetrack.notifications.services import (
    cme_team,
    notification_send,
    notification_sent_before,
)

from .freshness import feed_freshness, stale_school_days
from .imports import (
    ANY_SCHOOL_IMPORT_ROLES,
    ProgressListener,
    detection_after_feed,
    detection_in_this_process,
)
from .imports import DETECT_TASK as DETECT_TASK  # (re-exported: the task after a feed)
from .imports import FEED_KINDS as FEED_KINDS
from .models import FINISHED_STATUSES, ImportKind, ImportRun, ImportStatus

if TYPE_CHECKING:
    from .services import DetectionReport

logger = logging.getLogger(__name__)

#: ``service(*, actor, path, file_name, run, listener, **params) -> ImportRun``.
ImportService = Callable[..., ImportRun]

#: An importer, or the dotted path of one: imported when first run, so that start-up
#: (this module is loaded in ``CoreConfig.ready()``) does not load the importers.
_IMPORTERS: dict[str, ImportService | str] = {}

#: A running import with no progress and no heartbeat from its worker for this long has
#: died (the worker's heartbeat and the import's progress are both written every 10 s).
STALE_AFTER = worker_status.ALIVE_WITHIN
#: The task that runs one queued import.
IMPORT_TASK = "cmetrack.detection.jobs.import_run_task"
#: What a run whose worker died says.
STOPPED_MESSAGE = (
    "the import stopped before it finished (the background worker stopped); nothing was "
    "imported. Send the file again."
)


def register_importer(kind: str, service: ImportService | str) -> None:
    """Make ``kind`` runnable in the background (the transfers app registers CTF rolls):
    the service, or its dotted path (imported the first time it is asked for)."""
    _IMPORTERS[kind] = service


def importer_for(kind: str) -> ImportService:
    # Other apps register their kinds at start-up, so an empty table is not the test.
    if not _BUILTIN_LOADED:
        _register_builtin()
    try:
        service = _IMPORTERS[kind]
    except KeyError:
        raise LookupError(f"no importer is registered for {kind!r}") from None
    if isinstance(service, str):
        service = _IMPORTERS[kind] = import_string(service)
    return service


_BUILTIN_LOADED = False


def _register_builtin() -> None:
    global _BUILTIN_LOADED

    for kind in (
        ImportKind.TERMS,
        ImportKind.CLOSURES,
        ImportKind.ROLL,
        ImportKind.ATTENDANCE,
        ImportKind.DELETIONS,
        ImportKind.ADDITIONS,
        ImportKind.ALLOCATIONS,
    ):
        _IMPORTERS.setdefault(kind.value, f"cmetrack.detection.importers.{kind.value}_import")
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
    suffix = Path(file_name).suffix.lower()[:10]
    # Stored whole or not at all: a full or read-only disk raises StorageUnavailable here,
    # before any run is recorded, and leaves no partial file.
    stored = save_atomically(uploads_dir() / f"{uuid.uuid4().hex}{suffix}", content)
    try:
        return _import_queue(actor, kind, file_name, stored, params)
    except BaseException:
        # Nothing was recorded (the transaction rolled back): the stored file goes too.
        stored.unlink(missing_ok=True)
        raise


def _import_queue(
    actor: Actor, kind: str, file_name: str, stored: Path, params: dict[str, Any] | None
) -> ImportRun:
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
        # In the same transaction (the ORM broker's queue is a table of this database):
        # the run and its task exist together or not at all.
        enqueue(IMPORT_TASK, run.pk, task_name=f"import {run.pk}")
    return run


def import_run_task(run_id: int) -> str:
    """The worker's task: claim the queued run ``run_id`` and import it."""
    run = import_claim(worker=_runner_name(), run_id=run_id)
    if run is None:
        return f"import {run_id} was not waiting (already run, or failed)"
    with detection_in_this_process():
        done = import_process(run)
    if done.status == ImportStatus.FAILED:
        import_failed_tell(done)
    report = detection_after_import(done, by="import worker")
    detected = "" if report is None else f"; {detection_summary(report)}"
    return f"import {run_id}: {done.get_status_display()}{detected}"


def detection_after_import(
    run: ImportRun,
    *,
    by: str,
    as_of: date | None = None,
    threads: int | None = None,
    fallback: bool = True,
) -> DetectionReport | None:
    """Detection after an import, in this process: every path that imports a feed and then
    detects goes through here (``cmetrack import_data``, the worker's queued imports, the
    drop folder). Runs only when ``run`` changed data the rules read (a successful feed:
    :data:`FEED_KINDS`), as of ``as_of`` (default today), carrying the open runs on from
    the stored state (an increment over what was imported since the last run). The import
    is committed already: if detection fails it is queued for the worker instead
    (``fallback``) and the failure logged, and None is returned as when nothing ran."""
    if run.status != ImportStatus.SUCCEEDED or run.kind not in FEED_KINDS:
        return None
    try:
        return _detect(as_of or timezone.localdate(), by=by, threads=threads)
    except Exception:
        if not fallback:
            raise
        logger.exception("detection after import %s failed: queued for the worker", run.pk)
        detection_after_feed()
        return None


def detection_summary(report: DetectionReport) -> str:
    return (
        f"detection as of {report.as_of:%-d %B %Y}: {report.marks:,} marks read, "
        f"{report.created} new alerts, {report.updated} updated"
    )


def import_failed_tell(run: ImportRun) -> None:
    """Email the person who sent the file that its import failed (no row contents)."""
    if run.by is None:
        return
    errors = run.errors or []
    if len(errors) == 1 and not errors[0].get("line"):
        error = str(errors[0].get("message", ""))[:200]  # (the service's own words)
    else:  # rows' problems can quote the rows: the import's page lists them
        error = f"{len(errors)} problem(s) in the file, listed on the import's page"
    notification_send(
        key="import_failed",
        recipients=[run.by],
        reference=f"import {run.pk}",
        personalisation={
            "file": run.file_name,
            "import_kind": run.get_kind_display().lower(),
            "error": error,
        },
        obj=run,
        link=reverse("detection:import-run", args=[run.pk]),
        actor=Actor.system("import worker"),
    )


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
        options = {k: v for k, v in run.params.items() if k not in ("ip_address", FEED_LINES)}
        done = service(
            actor=actor, path=path, file_name=run.file_name, run=run, listener=listener, **options
        )
        if FEED_LINES in run.params:  # JSON lines sent as a feed: the body's own lines
            feed_lines_restore(done, run.params[FEED_LINES])
        return done
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


#: A run's parameter (not the importer's): how the lines of the CSV made from a feed's JSON
#: lines map back to the body's own (:func:`feed_line`).
FEED_LINES = "feed_lines"


def feed_line(line: int, breaks: list[list[int]]) -> int:
    """The body's line of the CSV's ``line`` made from JSON lines: the CSV has a header
    first (one line more), and a value with line breaks in it runs over more CSV lines
    (``breaks``: ``[first CSV line after such a row, line breaks so far]``, in order)."""
    if line <= 1:
        return 0  # the file as a whole (its header is made up)
    extra = 0
    for first, total in breaks:
        if first > line:
            break
        extra = total
    return line - 1 - extra


def feed_lines_restore(run: ImportRun, breaks: list[list[int]]) -> None:
    """Give ``run``'s errors and warnings the body's own line numbers (see :func:`feed_line`)."""

    def mapped(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
        return [
            {**i, "line": feed_line(int(i.get("line") or 0), breaks)} if i.get("line") else i
            for i in (items or [])
        ]

    run.errors, run.warnings = mapped(run.errors), mapped(run.warnings)
    ImportRun.objects.filter(pk=run.pk).update(errors=run.errors, warnings=run.warnings)


def attendance_feeds_stale_tell(*, today: date | None = None) -> int:
    """Tell the attendance team (CME managers and officers: there is no separate attendance
    role) about each school whose attendance feed is more than
    ``CMETRACK_FEED_STALE_SCHOOL_DAYS`` school days behind (default 3; see
    :mod:`cmetrack.detection.freshness`). Only schools that have sent attendance are
    watched; each school is told of once for each latest date, so a feed that stays stopped
    is not raised again day after day. Returns the schools told of."""
    today = today or timezone.localdate()
    limit = stale_school_days()
    team = cme_team()
    told = 0
    for row in feed_freshness(today=today):
        last = row.attendance
        school = row.school
        if last is None or not row.behind(limit):
            continue
        if notification_sent_before("feed_stale", school, last.isoformat()):
            continue
        with transaction.atomic():
            notification_send(
                key="feed_stale",
                recipients=team,
                reference=school.urn or school.name,
                personalisation={
                    "school": school.name,
                    "last": f"{last:%-d %B %Y}",
                    "days": str(row.attendance_school_days_behind),
                    "marker": last.isoformat(),
                },
                obj=school,
                link=reverse("detection:feed-freshness"),
                actor=Actor.system("attendance feed check"),
            )
        told += 1
    return told


def attendance_feeds_stale() -> str:
    """Daily (weekdays): schools whose attendance feed has gone stale."""
    return f"attendance feeds: {attendance_feeds_stale_tell()} school(s) gone quiet"


def _runner_name() -> str:
    """``worker/pid``: the worker whose heartbeat vouches for the run, and the process
    that runs it (a django-q2 worker process)."""
    return f"{worker_status.worker_name()}/{os.getpid()}"[:100]


def run_alive(run: ImportRun, now: Any = None) -> bool:
    """Is the process running ``run`` still there? On this machine: its process id says.
    Elsewhere: its progress or its worker's heartbeat within :data:`STALE_AFTER`."""
    now = now or timezone.now()
    worker, _, pid = (run.worker or "").partition("/")
    host = worker.rpartition(":")[0]
    if host == socket.gethostname() and pid.isdigit():
        return process_alive(int(pid))
    if run.progress_at is not None and run.progress_at >= now - STALE_AFTER:
        return True
    return bool(worker) and worker_status.worker_seen(worker, now)


def imports_fail_stale(now: Any = None) -> int:
    """Fail running imports whose worker died: nothing of them was committed."""
    now = now or timezone.now()
    try:
        running = list(ImportRun.objects.filter(status=ImportStatus.RUNNING))
    except DatabaseError:
        return 0
    count = 0
    for run in running:
        if run_alive(run, now):
            continue
        try:
            failed = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).update(
                status=ImportStatus.FAILED,
                finished_at=now,
                stage="",
                upload_path="",
                errors=[{"line": 0, "column": "", "message": STOPPED_MESSAGE}],
            )
        except DatabaseError:  # SQLite: the database is busy; the next look will do
            logger.warning("could not mark import %s as stopped yet", run.pk)
            continue
        if failed:
            logger.warning("import %s stopped with its worker (%s): failed", run.pk, run.worker)
            count += 1
            run.errors = [{"line": 0, "column": "", "message": STOPPED_MESSAGE}]
            try:
                import_failed_tell(run)
            except DatabaseError:
                logger.warning("could not record the failed-import email for %s", run.pk)
            if run.upload_path:
                Path(run.upload_path).unlink(missing_ok=True)
    return count


def imports_watchdog() -> str:
    """Every minute in the worker: fail imports whose worker died, and queue again a
    queued run that has no task (queued before an upgrade, or its task was lost)."""
    stopped = imports_fail_stale()
    waiting = set(
        ImportRun.objects.filter(
            status=ImportStatus.QUEUED, started_at__lt=timezone.now() - timedelta(minutes=2)
        ).values_list("pk", flat=True)
    )
    requeued = 0
    if waiting:
        queued = {args[0] for args in worker_status.pending_args(IMPORT_TASK) if args}
        for pk in sorted(pk for pk in waiting if pk not in queued):
            enqueue(IMPORT_TASK, pk, task_name=f"import {pk}")
            requeued += 1
    return f"{stopped} stopped import(s) failed, {requeued} queued import(s) given a task"


def detect_today() -> str:
    """Run every detection rule as of today over the imported attendance and rolls (what
    ``cmetrack detect --as-of TODAY`` does): nightly, and after each roll or attendance feed."""
    report = _detect(timezone.localdate(), by="detection (scheduled)")
    return f"detection: {report.marks} marks, {report.created} new alerts, {report.updated} updated"


def _detect(as_of: date, *, by: str, threads: int | None = None) -> DetectionReport:
    """Every rule as of ``as_of``, incrementally from the stored state, alerts written."""
    # In the function: detection (DuckDB, the grids) is loaded when it runs, not when
    # CoreConfig.ready() loads this module for its schedules in every process.
    from .services import DetectionConfig, detection_run, leaver_school_days_setting

    config = DetectionConfig(
        as_of=as_of, leaver_school_days=leaver_school_days_setting(), threads=threads
    )
    return detection_run(actor=Actor.system(by), config=config)


# --- Workers -------------------------------------------------------------------------------


def worker_alive() -> bool:
    """Is a background worker running (so a queued import will start)?"""
    return worker_status.worker_alive()


# --- Who sees which runs -------------------------------------------------------------------


def import_runs_visible_to(user: User) -> QuerySet[ImportRun]:
    """The local authority's import roles see every run; a school its own; others none."""
    runs = ImportRun.objects.select_related("by", "organisation")
    if user.has_role(*ANY_SCHOOL_IMPORT_ROLES):
        return runs
    if user.has_role("school_user") and user.organisation_id is not None:
        return runs.filter(Q(organisation_id=user.organisation_id))
    return runs.none()


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

# Imports whose worker died are failed within a minute; lost tasks are queued again.
register_schedule("imports-watchdog", "cmetrack.detection.jobs.imports_watchdog", minutes=1)
# Nightly, besides the run after each roll or attendance import.
register_schedule(
    "detection-nightly", "cmetrack.detection.jobs.detect_today", daily_at=dt.time(2, 0)
)
# Schools whose attendance feed has gone quiet: the CME team is emailed.
register_schedule(
    "attendance-feed-stale",
    "cmetrack.detection.jobs.attendance_feeds_stale",
    daily_at=dt.time(7, 30),
    weekdays_only=True,
)
# Files left in the drop folder (CMETRACK_FEED_DROP_DIR, an SFTP landing area) are imported
# and moved to done/ or failed/ with their reports (cmetrack.detection.feeds).
register_schedule("feeds-drop-folder", "cmetrack.detection.feeds.drop_folder_job", minutes=5)
# Attendance deltas that detection has read are folded into each partition's file
# (cmetrack.detection.store): nightly, before detection.
register_schedule(
    "attendance-compact",
    "cmetrack.detection.services.attendance_compact_job",
    daily_at=dt.time(1, 30),
)
