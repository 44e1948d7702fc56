"""The import framework every importer uses: validate all, write all or nothing, log.

An importer is a *handler* ``(source, context) -> None``: it parses and validates the whole
file, reporting each problem with :meth:`ImportContext.error` or
:meth:`ImportContext.warning` (line, column, plain-English message). Then, only if there
was no error, it writes, counting the rows that changed data with
:meth:`ImportContext.changed`. :func:`run_import` wraps it:

* the handler runs inside one transaction; any error, or any exception half-way, rolls
  everything back, and the failed attempt is then logged (an :class:`ImportRun` with the
  errors) in a transaction of its own;
* files outside the database (attendance Parquet) are written to temporary names and
  moved into place only as the last step (:meth:`ImportContext.on_success`), so a
  failure leaves them as they were;
* importing the same data again changes nothing: every importer upserts on natural keys
  and counts only real changes, and a run that changed nothing is logged ``unchanged``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.rules.upn import InvalidUPN, normalise_upn, validate_upn

from .models import ImportKind, ImportRun, ImportStatus

logger = logging.getLogger(__name__)

#: At most this many problems are kept per import (the count is always exact).
MAX_REPORTED_PROBLEMS = 500

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
        """Stop here (nothing written) if any error was found."""
        if self.error_count:
            raise ImportRejected

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
    *, actor: Actor, kind: ImportKind, path: Path, file_name: str, handler: Handler
) -> ImportRun:
    """Run ``handler`` on the file at ``path`` as one all-or-nothing, logged import."""
    user = actor.user
    started = timezone.now()
    base = {
        "kind": kind,
        "file_name": file_name[:255],
        "content_hash": file_hash(path),
        "started_at": started,
        "by": user,
        "by_label": actor.display[:254],
        "organisation": getattr(user, "organisation", None),
    }
    context: ImportContext | None = None
    try:
        with transaction.atomic():
            run = ImportRun.objects.create(status=ImportStatus.SUCCEEDED, **base)
            context = ImportContext(
                actor=actor, run=run, allowed_school_ids=allowed_school_ids(actor)
            )
            if context.allowed_school_ids is not None and not context.allowed_school_ids:
                context.error(0, "", "you do not have permission to import data")
            else:
                handler(path, context)
            context.check()
            run.status = ImportStatus.SUCCEEDED if context.changes else ImportStatus.UNCHANGED
            run.rows = context.rows
            run.created = context.changes
            run.warnings = [w.as_dict() for w in context.warnings]
            run.finished_at = timezone.now()
            run.save()
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=run,
                summary=f"Imported {run.get_kind_display().lower()} from {run.file_name}: "
                f"{run.rows} rows, {run.created} changed, {context.warning_count} warnings",
            )
            for finish in context._finishers:
                finish()
            return run
    except ImportRejected:
        assert context is not None
        _cleanup(context)
        return _log_failure(actor, base, context.rows, context.errors, context.warnings)
    except Exception:
        if context is not None:
            _cleanup(context)
        raise


def _cleanup(context: ImportContext) -> None:
    for cleanup in context._cleanups:
        try:
            cleanup()
        except OSError:  # pragma: no cover - best effort
            logger.exception("could not remove a temporary import file")


def _log_failure(
    actor: Actor,
    base: dict[str, Any],
    rows: int,
    errors: list[RowProblem],
    warnings: list[RowProblem],
) -> ImportRun:
    with transaction.atomic():
        run = ImportRun.objects.create(
            status=ImportStatus.FAILED,
            rows=rows,
            errors=[e.as_dict() for e in errors],
            warnings=[w.as_dict() for w in warnings],
            finished_at=timezone.now(),
            **base,
        )
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

    A missing required column is an error on line 1 and no rows are returned.
    """
    text = decode(path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        context.error(1, "", "the file is empty: it needs a header row")
        return
    missing = [c for c in required if c not in header]
    if missing:
        context.error(
            1,
            ", ".join(missing),
            "the header row is missing the column"
            + ("s " if len(missing) > 1 else " ")
            + ", ".join(missing)
            + f" (expected: {', '.join([*required, *optional])})",
        )
        return
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            context.rows += 1
            context.error(
                line, "", f"this row has {len(values)} values but the header has {len(header)}"
            )
            continue
        context.rows += 1
        yield line, {h: v.strip() for h, v in zip(header, values, strict=True)}


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
