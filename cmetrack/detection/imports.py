"""The import framework every importer uses: validate all, write all or nothing, log.

An importer is a *handler* ``(source, context) -> None``: it parses and validates the whole
file, reporting each problem with :meth:`ImportContext.error` or
:meth:`ImportContext.warning` (line, column, plain-English message). Then, only if there
was no error, it writes, counting the rows that changed data with
:meth:`ImportContext.changed`. :func:`run_import` wraps it:

* the handler validates first, outside any transaction, then calls
  :meth:`ImportContext.check` before its first write: that is where the transaction
  opens (so a long validation does not hold the database's write lock and the progress
  of the run stays visible). Any error, or any exception half-way, rolls every write
  back, and the run is then recorded as failed with its errors;
* progress (rows done of rows total, and the stage) is reported with
  :meth:`ImportContext.progress`; a run at top level (a worker, the command line) writes
  it at most every :data:`PROGRESS_EVERY` rows to its :class:`ImportRun` through a
  connection of its own, so other sessions see it while the import's transaction is open;
* files outside the database (attendance Parquet) are written to temporary names and
  moved into place only as the last step (:meth:`ImportContext.on_success`), so a
  failure leaves them as they were. A disk that is full or read-only raises
  :class:`~cmetrack.kit.storage.StorageUnavailable`: a run made for the import in a
  request is then removed again (the page says nothing was imported, and nothing is
  recorded), and a queued run is failed with the same words;
* importing the same data again changes nothing: every importer upserts on natural keys
  and counts only real changes, and a run that changed nothing is logged ``unchanged``.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.jobs.services import enqueue
from cmetrack.jobs.status import pending_args
from cmetrack.kit.storage import StorageUnavailable
from cmetrack.kit.words import plural
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.rules.upn import InvalidUPN, normalise_upn, validate_upn

from .lines import LineProblem, read_records
from .models import ImportKind, ImportRun, ImportStatus

#: Kinds whose success is followed by a detection run: every feed the rules read
#: (attendance, rolls, deletion and addition returns, allocations).
FEED_KINDS = frozenset(
    {
        ImportKind.ROLL.value,
        ImportKind.CTF_ROLL.value,
        ImportKind.ATTENDANCE.value,
        ImportKind.DELETIONS.value,
        ImportKind.ADDITIONS.value,
        ImportKind.ALLOCATIONS.value,
    }
)
#: Detection as of today over the imported data, run by the background worker.
DETECT_TASK = "cmetrack.detection.jobs.detect_today"


#: True while a caller that runs detection itself, in this process, once the import is
#: done (``cmetrack import_data``, the worker: :func:`cmetrack.detection.jobs.
#: detection_after_import`) imports: the import then queues no detection task.
_detecting_here: ContextVar[bool] = ContextVar("detecting_here", default=False)


@contextmanager
def detection_in_this_process() -> Iterator[None]:
    """Imports inside this block leave detection to their caller, who runs it in this
    process afterwards (rather than queueing it for the worker)."""
    token = _detecting_here.set(True)
    try:
        yield
    finally:
        _detecting_here.reset(token)


def detection_after_feed() -> None:
    """Queue a detection run after new attendance or rolls imported where detection does
    not follow in the same process (a feed pushed to the API and imported in the request),
    unless one is waiting (one already running may have started before these data, so it
    does not count)."""
    if _detecting_here.get():
        return  # the caller runs detection itself once the import has committed
    if not pending_args(DETECT_TASK, waiting_only=True):
        enqueue(DETECT_TASK, task_name="detection after a data feed")


logger = logging.getLogger(__name__)

#: At most this many problems are kept per import (the count is always exact).
MAX_REPORTED_PROBLEMS = 500

#: Progress is published at most every this many rows (and on each new stage).
PROGRESS_EVERY = 5000

#: A running import rewrites its progress at least this often (seconds): its heartbeat.
HEARTBEAT_SECONDS = 10.0

#: ``listener(rows_done, rows_total, stage)``: the command line's progress bar.
ProgressListener = Callable[[int, int | None, str], None]

#: Roles that may import any school's data. Schools import only their own.
ANY_SCHOOL_IMPORT_ROLES = frozenset({Role.ADMINISTRATOR, Role.CME_OFFICER, Role.CME_MANAGER})


@dataclass(frozen=True)
class RowProblem:
    """One problem in a file: where (line and column) and what, in plain English."""

    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        if self.column:
            where += f", column {self.column}"
        return f"{where[0].upper()}{where[1:]}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "message": self.message}


class ImportRejected(Exception):
    """Raised to roll an import back because the file has errors."""


@dataclass
class ImportContext:
    """What a handler gets: who is importing, for which schools, and the problem lists."""

    actor: Actor
    run: ImportRun
    allowed_school_ids: frozenset[int] | None
    error_count: int = 0
    warning_count: int = 0
    errors: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    rows: int = 0
    changes: int = 0
    _finishers: list[Callable[[], None]] = field(default_factory=list)
    _cleanups: list[Callable[[], None]] = field(default_factory=list)
    _schools: dict[str, Organisation] | None = None
    reporter: ProgressReporter | None = None
    _begin_writes: Callable[[], None] | None = None

    def error(self, line: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_PROBLEMS:
            self.errors.append(RowProblem(line, column, message))

    def warning(self, line: int, column: str, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_REPORTED_PROBLEMS:
            self.warnings.append(RowProblem(line, column, message))

    def changed(self, count: int = 1) -> None:
        self.changes += count

    def check(self) -> None:
        """Stop here (nothing written) if any error was found; else open the transaction.

        Every handler calls this after validating and before its first write.
        """
        if self.error_count:
            raise ImportRejected
        if self._begin_writes is not None:
            begin, self._begin_writes = self._begin_writes, None
            begin()

    def progress(self, done: int, total: int | None = None, stage: str | None = None) -> None:
        """``done`` of ``total`` rows in ``stage`` (cheap: published every N rows)."""
        if self.reporter is not None:
            self.reporter.report(done, total, stage)

    def on_success(self, finish: Callable[[], None], cleanup: Callable[[], None]) -> None:
        """``finish`` runs as the last step of a good import; ``cleanup`` runs on failure."""
        self._finishers.append(finish)
        self._cleanups.append(cleanup)

    # Schools -----------------------------------------------------------------

    @property
    def schools(self) -> dict[str, Organisation]:
        """Every school by LAESTAB."""
        if self._schools is None:
            self._schools = {
                school.laestab: school
                for school in Organisation.objects.filter(
                    kind=OrganisationKind.SCHOOL
                ).select_related("local_authority")
                if school.laestab
            }
        return self._schools

    def school(self, line: int, column: str, laestab: str) -> Organisation | None:
        """The school with this LAESTAB that the importer may write for, else an error."""
        laestab = laestab.strip()
        if not laestab:
            self.error(line, column, "enter the school's 7-digit LAESTAB")
            return None
        school = self.schools.get(laestab)
        if school is None:
            self.error(line, column, f"{laestab} is not the LAESTAB of a school we know")
            return None
        if self.allowed_school_ids is not None and school.pk not in self.allowed_school_ids:
            self.error(
                line, column, f"you can only send data for your own school, not {school.name}"
            )
            return None
        return school


#: Tries of one progress write before it is left to the next change or heartbeat.
PROGRESS_WRITE_ATTEMPTS = 10


class ProgressReporter:
    """Publishes a run's progress: to a listener, and to its :class:`ImportRun` row.

    The import's own connection cannot do it (its transaction is open and would hide the
    numbers until the end), so a small thread with its own database connection writes the
    latest numbers: when they change and at least every :data:`HEARTBEAT_SECONDS` (the
    worker's heartbeat), and only while the run is ``running``. Progress is best effort:
    a failed write is logged and the import goes on.
    """

    def __init__(
        self,
        run_id: int,
        *,
        to_database: bool,
        listener: ProgressListener | None = None,
        every: int | None = None,
    ) -> None:
        self.run_id = run_id
        self.listener = listener
        self.every = max(1, every or PROGRESS_EVERY)
        self.done = 0
        self.total: int | None = None
        self.stage = ""
        self._published = -1
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if to_database:
            self._thread = threading.Thread(
                target=self._write_loop, name=f"import-progress-{run_id}", daemon=True
            )
            self._thread.start()

    def report(self, done: int, total: int | None = None, stage: str | None = None) -> None:
        new_stage = stage is not None and stage != self.stage
        new_total = total is not None and total != self.total
        at_end = bool(self.total) and done >= (self.total or 0) and done != self._published
        if not (new_stage or new_total or at_end or done - self._published >= self.every):
            return
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            if stage is not None:
                self.stage = stage
        self._published = done
        self._wake.set()
        if self.listener is not None:
            self.listener(self.done, self.total, self.stage)

    def close(self) -> None:
        """Stop the writer (after the import's transaction has ended)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _write_loop(self) -> None:
        try:
            while not self._stop.is_set():
                self._wake.wait(HEARTBEAT_SECONDS)
                self._wake.clear()
                if self._stop.is_set():
                    break
                with self._lock:
                    done, total, stage = self.done, self.total, self.stage[:60]
                self._write(done, total, stage)
        finally:
            connection.close()

    def _write(self, done: int, total: int | None, stage: str) -> None:
        table = connection.ops.quote_name(ImportRun._meta.db_table)
        # A reader can hold the row's table for a moment (SQLite locks tables, and a
        # shared-cache lock is not waited on): try again briefly before giving up on this
        # update; the next change or heartbeat writes again anyway.
        for attempt in range(PROGRESS_WRITE_ATTEMPTS):
            try:
                with connection.cursor() as cursor:
                    cursor.execute(
                        f"UPDATE {table} SET rows_done = %s, rows_total = %s, stage = %s, "  # noqa: S608 - our table
                        "progress_at = %s WHERE id = %s AND status = %s",
                        [
                            done,
                            total,
                            stage,
                            connection.ops.adapt_datetimefield_value(timezone.now()),
                            self.run_id,
                            ImportStatus.RUNNING.value,
                        ],
                    )
                return
            except DatabaseError:
                if attempt + 1 < PROGRESS_WRITE_ATTEMPTS:
                    time.sleep(0.02 * (attempt + 1))
        logger.warning("could not record the progress of import %s", self.run_id)


def allowed_school_ids(actor: Actor) -> frozenset[int] | None:
    """Schools the actor may import for: ``None`` means any (LA roles and system jobs)."""
    user = actor.user
    if user is None:
        return None
    if user.has_role(*ANY_SCHOOL_IMPORT_ROLES):
        return None
    if user.has_role(Role.SCHOOL_USER) and user.organisation_id is not None:
        organisation = user.organisation
        if organisation is not None and organisation.kind == OrganisationKind.SCHOOL:
            return frozenset({organisation.pk})
    return frozenset()


def may_import(actor: Actor) -> bool:
    allowed = allowed_school_ids(actor)
    return allowed is None or bool(allowed)


Handler = Callable[[Path, ImportContext], None]


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def run_import(
    *,
    actor: Actor,
    kind: ImportKind,
    path: Path,
    file_name: str,
    handler: Handler,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Run ``handler`` on the file at ``path`` as one all-or-nothing, logged import.

    ``run`` is the queued job when a worker runs it (:mod:`cmetrack.detection.jobs`);
    without it a run is recorded here. ``listener`` sees the progress (the command line).
    """
    user = actor.user
    now = timezone.now()
    made_here = run is None
    values = {
        "kind": kind,
        "file_name": file_name[:255],
        "content_hash": file_hash(path),
        "status": ImportStatus.RUNNING,
        "rows_done": 0,
        "progress_at": now,
    }
    if run is None:
        run = ImportRun.objects.create(
            started_at=now,
            by=user,
            by_label=actor.display[:254],
            organisation=getattr(user, "organisation", None),
            **values,
        )
    else:
        for name, value in values.items():
            setattr(run, name, value)
        run.save(update_fields=list(values))
    # At top level the progress goes to the database as the import runs; inside a caller's
    # transaction nobody else could see it, so only the listener gets it.
    reporter = ProgressReporter(
        run.pk, to_database=not connection.in_atomic_block, listener=listener
    )
    context = ImportContext(
        actor=actor, run=run, allowed_school_ids=allowed_school_ids(actor), reporter=reporter
    )
    try:
        with ExitStack() as stack:
            context._begin_writes = lambda: stack.enter_context(transaction.atomic())
            if context.allowed_school_ids is not None and not context.allowed_school_ids:
                context.error(0, "", "you do not have permission to import data")
            else:
                handler(path, context)
            context.check()
            run.status = ImportStatus.SUCCEEDED if context.changes else ImportStatus.UNCHANGED
            run.rows = context.rows
            run.rows_done = run.rows_total = context.rows
            run.stage = ""
            run.created = context.changes
            run.warnings = [w.as_dict() for w in context.warnings]
            run.finished_at = timezone.now()
            run.upload_path = ""
            run.save()
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=run,
                summary=f"Imported {run.get_kind_display().lower()} from {run.file_name}: "
                f"{plural(run.rows, 'row')} read, {run.created:,} changed, "
                f"{plural(context.warning_count, 'warning')}",
            )
            for finish in context._finishers:
                finish()
            if run.status == ImportStatus.SUCCEEDED and run.kind in FEED_KINDS:
                detection_after_feed()  # queued with the import: both commit, or neither
        return run
    except ImportRejected:
        _cleanup(context)
        return _log_failure(actor, run, context.rows, context.errors, context.warnings)
    except StorageUnavailable:
        _cleanup(context)
        reporter.close()
        if made_here:  # the page tells the person; nothing is kept of this try
            ImportRun.objects.filter(pk=run.pk).delete()
            raise
        return _log_failure(actor, run, context.rows, [STORAGE_PROBLEM], context.warnings)
    except Exception:
        _cleanup(context)
        _log_failure(
            actor,
            run,
            context.rows,
            [RowProblem(0, "", "the import stopped because of an unexpected problem")],
            context.warnings,
        )
        raise
    finally:
        reporter.close()


#: A queued run that could not write its files (disk full or read-only).
STORAGE_PROBLEM = RowProblem(
    0,
    "",
    "the server's storage is full or read-only, so nothing was imported. "
    "Try again later or tell your administrator.",
)


def _cleanup(context: ImportContext) -> None:
    for cleanup in context._cleanups:
        try:
            cleanup()
        except OSError:  # pragma: no cover - best effort
            logger.exception("could not remove a temporary import file")


def _log_failure(
    actor: Actor,
    run: ImportRun,
    rows: int,
    errors: list[RowProblem],
    warnings: list[RowProblem],
) -> ImportRun:
    """Record the refused (or broken) run: its problems, and that nothing was imported."""
    with transaction.atomic():
        run.status = ImportStatus.FAILED
        run.rows = rows
        # In the file's order (a problem of the whole file, line 0, first).
        run.errors = [e.as_dict() for e in sorted(errors, key=lambda e: e.line)]
        run.warnings = [w.as_dict() for w in warnings]
        run.finished_at = timezone.now()
        run.upload_path = ""
        run.stage = ""
        run.save()
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=run,
            summary=f"Refused {run.get_kind_display().lower()} from {run.file_name}: "
            f"{len(errors)} errors, nothing imported",
        )
    return run


# Parsing helpers ------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 (with or without a byte-order mark), else Windows-1252 as spreadsheets save."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def csv_rows(
    path: Path, context: ImportContext, required: Iterable[str], optional: Iterable[str] = ()
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for each data row, with lower-case column names.

    Columns are found by name, in any order and any case. Line numbers are the file's own
    (blank lines counted; a row is on the line it starts on). A line that cannot be read
    (not UTF-8, far too long) and a row with too few or too many values are that line's
    errors, and the rest of the file is still checked (:mod:`cmetrack.detection.lines`). A
    missing required column, or one named twice, is an error on the header's line and no
    rows are returned.
    """
    required = list(required)
    expected = ", ".join([*required, *optional])
    header: list[str] | None = None
    header_line = 1
    for item in read_records(path):
        if isinstance(item, LineProblem):
            if item.line == 0:  # the whole file (a workbook, or saved as UTF-16)
                context.error(0, "", item.message)
                return
            if header is None:
                context.error(item.line, "", f"{item.message} (the header row)")
                return
            context.rows += 1
            index = item.column
            column = header[index] if index is not None and index < len(header) else ""
            context.error(item.line, column, item.message)
            continue
        values = item.values
        if header is None:
            if not any(v.strip() for v in values):
                continue  # blank lines before the header
            header = [h.strip().lower() for h in values]
            twice = [c for c in [*required, *optional] if header.count(c) > 1]
            if twice:
                context.error(
                    item.line,
                    ", ".join(twice),
                    "the header row has the column"
                    + ("s " if len(twice) > 1 else " ")
                    + ", ".join(twice)
                    + " more than once: keep one of each, so that it is clear which to read",
                )
                return
            missing = [c for c in required if c not in header]
            separator = _other_separator(header) if missing else None
            if separator:
                context.error(
                    item.line,
                    "",
                    f"the columns are separated by {separator}, not commas: save the file as "
                    "CSV UTF-8 (comma delimited) and send it again",
                )
                return
            if missing:
                context.error(
                    item.line,
                    ", ".join(missing),
                    "the header row is missing the column"
                    + ("s " if len(missing) > 1 else " ")
                    + ", ".join(missing)
                    + f" (expected: {expected}; found: {', '.join(header)})",
                )
                return
            header_line = item.line
            context.progress(0, max(0, count_lines(path) - header_line), "Checking rows")
            continue
        context.progress(item.line - header_line)
        if not any(v.strip() for v in values):
            continue
        context.rows += 1
        if len(values) != len(header):
            column, message = _row_length_problem(values, header)
            if item.end > item.line:
                message += (
                    f" (the row runs from line {item.line} to line {item.end}, joined by a "
                    "value in double quotes: check that every double quote is closed)"
                )
            context.error(item.line, column, message)
            continue
        yield item.line, {h: v.strip() for h, v in zip(header, values, strict=True)}
    if header is None:
        context.error(1, "", "the file is empty: it needs a header row")


def _other_separator(header: list[str]) -> str | None:
    """ "semicolons" or "tabs" if the header is one column of names those separate (a
    spreadsheet saved with another list separator), else None."""
    if len(header) != 1:
        return None
    for char, name in ((";", "semicolons"), ("\t", "tabs")):
        if len([n for n in header[0].split(char) if n.strip()]) > 1:
            return name
    return None


def count_lines(path: Path) -> int:
    """The lines of the file (for a progress bar): line endings (``\\n``, ``\\r\\n`` or a
    lone ``\\r``, as :mod:`cmetrack.detection.lines` reads them) counted a megabyte at a
    time."""
    lines = 0
    last = b"\n"
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            lines += block.count(b"\n") + block.count(b"\r") - block.count(b"\r\n")
            last = block[-1:]
    return lines + (0 if last in (b"\n", b"\r") else 1)


def _row_length_problem(values: list[str], header: list[str]) -> tuple[str, str]:
    """A row with too few or too many values: the column and the words for it."""
    count, wanted = len(values), len(header)
    if count < wanted:
        missing = header[count:]
        return missing[0], (
            f"this row has {count} value{'s' if count != 1 else ''} but the header has "
            f"{wanted} columns: no value for {', '.join(missing)}"
        )
    return "", (
        f"this row has {count} values but the header has {wanted} columns: "
        f"{count - wanted} value{'s' if count - wanted != 1 else ''} too many (a comma in a "
        "value must be inside double quotes)"
    )


_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")


def parse_date(
    context: ImportContext, line: int, column: str, value: str, *, required: bool = True
) -> date | None:
    if not value:
        if required:
            context.error(line, column, "enter a date, for example 2025-09-03")
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    context.error(line, column, f"{value!r} is not a real date: use 2025-09-03 or 03/09/2025")
    return None


def parse_upn(context: ImportContext, line: int, column: str, value: str) -> str | None:
    upn = normalise_upn(value)
    if not upn:
        context.error(line, column, "enter the pupil's UPN")
        return None
    try:
        validate_upn(upn)
    except InvalidUPN as exc:
        context.error(line, column, f"{upn} is not a valid UPN: {exc}")
        return None
    return upn


def parse_required(context: ImportContext, line: int, column: str, value: str) -> str:
    if not value:
        context.error(line, column, f"enter the {column.replace('_', ' ')}")
    return value
