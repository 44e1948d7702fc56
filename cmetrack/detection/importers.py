"""The importers: calendar, rolls, attendance, deletion and addition returns, allocations.

Each public ``<noun>_import(*, actor, path, file_name, ...)`` is a service: it runs one
handler through :func:`cmetrack.detection.imports.run_import` (all or nothing, logged) and
returns the :class:`ImportRun`. The CSV columns are documented on each handler and in the
README ("Data feeds").
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import itertools
import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.kit import lazy
from cmetrack.kit.db import update_fields_many
from cmetrack.kit.storage import StorageUnavailable, staged_upload
from cmetrack.organisations.models import Organisation
from cmetrack.people.choices import Sex
from cmetrack.registers.models import EnrolmentStatus, RollEntry, RollSnapshot
from cmetrack.registers.services import (
    home_education_deletion_refusals,
    home_education_from_deletion_return,
)
from cmetrack.rules.attendance import AttendanceCodeError, attendance_code
from cmetrack.rules.deletion import ground_h_problem, joint_enquiries_problem
from cmetrack.rules.upn import CHECK_LETTERS, InvalidUPN, validate_upn
from cmetrack.schoolcalendar.models import ClosureDay, Term
from cmetrack.schoolcalendar.selectors import closure_rows, school_days, term_rows

from . import engine, lines, store
from .imports import (
    MAX_REPORTED_PROBLEMS,
    ImportContext,
    ProgressListener,
    csv_rows,
    parse_date,
    parse_required,
    parse_upn,
    run_import,
)
from .models import (
    AdditionReturn,
    AdmissionAllocation,
    AttendancePartition,
    DeletionGround,
    DeletionReturn,
    ImportKind,
    ImportRun,
    ImportStatus,
)
from .registries import DeletionToCheck, after_roll_import_run, deletion_refusals

if TYPE_CHECKING:
    import duckdb
else:  # imported when first used: start-up does not pay for it (see kit/lazy.py)
    duckdb = lazy.module("duckdb")

logger = logging.getLogger(__name__)

# --- School calendar -----------------------------------------------------------------------

TERM_COLUMNS = ("term_start", "term_end")
CLOSURE_COLUMNS = ("laestab", "date", "reason")


def terms_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Term dates, ``term_start,term_end`` (and an optional ``name``), LA-wide."""
    return run_import(
        run=run,
        listener=listener,
        actor=actor,
        kind=ImportKind.TERMS,
        path=path,
        file_name=file_name,
        handler=_terms,
    )


def _terms(path: Path, context: ImportContext) -> None:
    if context.allowed_school_ids is not None:
        context.error(0, "", "only the local authority can change term dates")
        return
    parsed: list[tuple[int, date, date, str]] = []
    for line, row in csv_rows(path, context, TERM_COLUMNS, ("name",)):
        start = parse_date(context, line, "term_start", row["term_start"])
        end = parse_date(context, line, "term_end", row["term_end"])
        if start and end:
            if end < start:
                context.error(line, "term_end", "the last day of term is before the first day")
            else:
                parsed.append((line, start, end, row.get("name", "")))
    ordered = sorted(parsed, key=lambda p: p[1])
    for (_, _, prev_end, _), (line, start, _, _) in itertools.pairwise(ordered):
        if start <= prev_end:
            context.error(line, "term_start", "this term overlaps the term before it")
    context.check()
    for line, start, end, name in parsed:
        term = Term.objects.filter(term_start=start).first()
        clash = Term.objects.filter(term_start__lte=end, term_end__gte=start).exclude(
            term_start=start
        )
        if clash.exists():
            context.error(line, "term_start", f"this term overlaps {clash.first()}")
            continue
        if term is None:
            Term.objects.create(term_start=start, term_end=end, name=name)
            context.changed()
        elif (term.term_end, term.name) != (end, name or term.name):
            term.term_end, term.name = end, name or term.name
            term.save(update_fields=["term_end", "name"])
            context.changed()


def closures_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Closure days, ``laestab,date,reason``; an empty LAESTAB closes every school."""
    return run_import(
        run=run,
        listener=listener,
        actor=actor,
        kind=ImportKind.CLOSURES,
        path=path,
        file_name=file_name,
        handler=_closures,
    )


def _closures(path: Path, context: ImportContext) -> None:
    parsed: dict[tuple[int | None, date], tuple[Organisation | None, str]] = {}
    for line, row in csv_rows(path, context, CLOSURE_COLUMNS):
        school = None
        if row["laestab"]:
            school = context.school(line, "laestab", row["laestab"])
            if school is None:
                continue
        elif context.allowed_school_ids is not None:
            context.error(line, "laestab", "only the local authority can close every school")
            continue
        day = parse_date(context, line, "date", row["date"])
        reason = parse_required(context, line, "reason", row["reason"])
        if day is None or not reason:
            continue
        key = (school.pk if school else None, day)
        if key in parsed and parsed[key][1] != reason:
            context.error(line, "date", "this closure day appears twice with different reasons")
        parsed[key] = (school, reason)
    context.check()
    for (school_id, day), (school, reason) in parsed.items():
        closure = ClosureDay.objects.filter(school_id=school_id, date=day).first()
        if closure is None:
            ClosureDay.objects.create(school=school, date=day, reason=reason[:200])
            context.changed()
        elif closure.reason != reason[:200]:
            closure.reason = reason[:200]
            closure.save(update_fields=["reason"])
            context.changed()


# --- Roll snapshots ------------------------------------------------------------------------

ROLL_COLUMNS = (
    "laestab",
    "upn",
    "former_upn",
    "legal_given_name",
    "legal_family_name",
    "preferred_given_name",
    "preferred_family_name",
    "dob",
    "sex",
    "address",
    "postcode",
    "nc_year",
    "entry_date",
    "enrolment_status",
)
_NC_YEAR_WORDS = {"N1": -2, "N2": -1, "R": 0}


def roll_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    taken_on: date | str,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Roll snapshots taken on ``taken_on``: one per school in the file.

    A school's snapshot for a date is replaced only if its entries differ, so the same
    file twice changes nothing. Importing never creates children (ADR 0008).
    """

    day = date.fromisoformat(taken_on) if isinstance(taken_on, str) else taken_on

    def handler(path: Path, context: ImportContext) -> None:
        _roll(path, context, day)

    done = run_import(
        run=run,
        listener=listener,
        actor=actor,
        kind=ImportKind.ROLL,
        path=path,
        file_name=file_name,
        handler=handler,
    )
    if done.status != ImportStatus.FAILED:
        # What follows a roll's import in the areas above (transfers: new joiners are
        # looked for in the lost-pupil area).
        after_roll_import_run(actor)
    return done


def _roll(path: Path, context: ImportContext, taken_on: date) -> None:
    by_school: dict[int, tuple[Organisation, list[RollEntry]]] = {}
    seen: dict[tuple[int, str], int] = {}
    for line, row in csv_rows(path, context, ROLL_COLUMNS):
        school = context.school(line, "laestab", row["laestab"])
        upn = parse_upn(context, line, "upn", row["upn"])
        former = row["former_upn"].replace(" ", "").upper()
        if former:
            try:
                validate_upn(former)
            except InvalidUPN as exc:
                context.error(line, "former_upn", f"{former} is not a valid UPN: {exc}")
        given = parse_required(context, line, "legal_given_name", row["legal_given_name"])
        family = parse_required(context, line, "legal_family_name", row["legal_family_name"])
        dob = parse_date(context, line, "dob", row["dob"])
        if dob and dob >= taken_on:
            context.error(line, "dob", "the date of birth is on or after the roll date")
        sex = row["sex"].upper()[:1]
        if sex not in Sex.values:
            context.error(line, "sex", f"{row['sex']!r} is not a sex code: use F, M or U")
        nc_year = _nc_year(context, line, row["nc_year"])
        entry = parse_date(context, line, "entry_date", row["entry_date"], required=False)
        status = row["enrolment_status"].upper() or EnrolmentStatus.CURRENT
        if status not in EnrolmentStatus.values:
            context.error(
                line, "enrolment_status", f"{status!r} is not an enrolment status: use C, M, S or G"
            )
        if school is None or upn is None or dob is None:
            continue
        if (school.pk, upn) in seen:
            context.error(
                line, "upn", f"{upn} is already on line {seen[(school.pk, upn)]} for this school"
            )
            continue
        seen[(school.pk, upn)] = line
        entries = by_school.setdefault(school.pk, (school, []))[1]
        entries.append(
            RollEntry(
                upn=upn,
                former_upn=former,
                legal_given_name=given[:100],
                legal_family_name=family[:100],
                preferred_given_name=row["preferred_given_name"][:100],
                preferred_family_name=row["preferred_family_name"][:100],
                dob=dob,
                sex=sex,
                address=row["address"][:300],
                postcode=row["postcode"].upper()[:10],
                nc_year=nc_year,
                entry_date=entry,
                enrolment_status=status,
            )
        )
    context.check()
    saved = 0
    context.progress(0, sum(len(e) for _, e in by_school.values()), "Saving")
    for school, entries in by_school.values():
        context.progress(saved)
        saved += len(entries)
        digest = _entries_hash(entries)
        snapshot = RollSnapshot.objects.filter(school=school, taken_on=taken_on).first()
        if snapshot is not None and snapshot.content_hash == digest:
            continue
        if snapshot is None:
            snapshot = RollSnapshot.objects.create(
                school=school, taken_on=taken_on, source=context.run.file_name[:100]
            )
        else:
            snapshot.entries.all().delete()
        snapshot.content_hash = digest
        snapshot.source = context.run.file_name[:100]
        snapshot.imported_at = timezone.now()
        snapshot.save(update_fields=["content_hash", "source", "imported_at"])
        for roll_entry in entries:
            roll_entry.snapshot = snapshot
        RollEntry.objects.bulk_create(entries, batch_size=2000)
        context.changed(len(entries))


def _nc_year(context: ImportContext, line: int, value: str) -> int | None:
    value = value.strip().upper()
    if not value:
        return None
    if value in _NC_YEAR_WORDS:
        return _NC_YEAR_WORDS[value]
    try:
        year = int(value)
    except ValueError:
        year = 99
    if not -2 <= year <= 14:
        context.error(line, "nc_year", f"{value!r} is not a national curriculum year (R, 1 to 14)")
        return None
    return year


def _entries_hash(entries: list[RollEntry]) -> str:
    digest = hashlib.sha256()
    fields = [
        f.attname for f in RollEntry._meta.concrete_fields if f.name not in {"id", "snapshot"}
    ]
    for entry in sorted(entries, key=lambda e: e.upn):
        digest.update(repr([getattr(entry, f) for f in fields]).encode())
    return digest.hexdigest()


# --- Deletion and addition returns, allocations ------------------------------------------

DELETION_COLUMNS = (
    "laestab",
    "upn",
    "legal_given_name",
    "legal_family_name",
    "dob",
    "ground",
    "deleted_on",
)
DELETION_OPTIONAL = (
    "destination_laestab",
    "destination_name",
    "destination_start",
    "future_address",
    "future_postcode",
    "parent_name",
    "parent_phone",
    "school_enquiries",
    "la_enquiries",
    "leave_ended_on",
)
ADDITION_COLUMNS = ("laestab", "upn", "legal_given_name", "legal_family_name", "dob", "joined_on")
ALLOCATION_COLUMNS = (
    "laestab",
    "upn",
    "legal_given_name",
    "legal_family_name",
    "dob",
    "expected_start",
)


def _identity(context: ImportContext, line: int, row: dict[str, str]) -> dict[str, Any] | None:
    upn = parse_upn(context, line, "upn", row["upn"])
    given = parse_required(context, line, "legal_given_name", row["legal_given_name"])
    family = parse_required(context, line, "legal_family_name", row["legal_family_name"])
    dob = parse_date(context, line, "dob", row["dob"])
    if upn is None or dob is None or not given or not family:
        return None
    return {
        "upn": upn,
        "legal_given_name": given[:100],
        "legal_family_name": family[:100],
        "dob": dob,
    }


def _upsert(
    context: ImportContext, model: Any, keys: dict[str, Any], values: dict[str, Any]
) -> None:
    existing = model.objects.filter(**keys).first()
    if existing is None:
        model.objects.create(**keys, **values, import_run=context.run)
        context.changed()
        return
    changed = [name for name, value in values.items() if getattr(existing, name) != value]
    if changed:
        for name in changed:
            setattr(existing, name, values[name])
        existing.import_run = context.run
        existing.save(update_fields=[*changed, "import_run"])
        context.changed()


def _repeated(
    context: ImportContext,
    seen: dict[tuple[Any, ...], tuple[int, dict[str, Any]]],
    line: int,
    keys: dict[str, Any],
    values: dict[str, Any],
    what: str,
) -> bool:
    """Whether this row repeats an earlier one (same school, pupil and ``what``): the same
    details are read once (a warning), different ones are an error (which would be kept?)."""
    key = tuple(getattr(v, "pk", v) for v in keys.values())
    if key not in seen:
        seen[key] = (line, values)
        return False
    first, earlier = seen[key]
    if earlier == values:
        context.warning(
            line, "upn", f"this row repeats line {first} (the same pupil, school and {what})"
        )
    else:
        context.error(
            line,
            "upn",
            f"{keys['upn']} is already on line {first} for this school and {what}, with "
            "different details: keep the right one",
        )
    return True


def deletions_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Deletion returns: the columns in :data:`DELETION_COLUMNS` (+ optional ones)."""
    return run_import(
        run=run,
        listener=listener,
        actor=actor,
        kind=ImportKind.DELETIONS,
        path=path,
        file_name=file_name,
        handler=_deletions,
    )


def _deletions(path: Path, context: ImportContext) -> None:
    good: list[tuple[dict[str, Any], dict[str, Any]]] = []
    seen: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    in_care_checks: list[DeletionToCheck] = []
    for line, row in csv_rows(path, context, DELETION_COLUMNS, DELETION_OPTIONAL):
        errors_before = context.error_count
        school = context.school(line, "laestab", row["laestab"])
        identity = _identity(context, line, row)
        ground = row["ground"].strip().lower().strip("()")
        if ground not in DeletionGround.values:
            context.error(line, "ground", f"{row['ground']!r} is not a deletion ground: use a to o")
        deleted_on = parse_date(context, line, "deleted_on", row["deleted_on"])
        destination: Organisation | None = None
        if row.get("destination_laestab"):
            destination = context.schools.get(row["destination_laestab"].strip())
            if destination is None:
                context.error(
                    line,
                    "destination_laestab",
                    f"{row['destination_laestab']} is not the LAESTAB of a school we know; "
                    "leave it empty and give destination_name instead",
                )
        start = parse_date(
            context, line, "destination_start", row.get("destination_start", ""), required=False
        )
        leave_ended = parse_date(
            context, line, "leave_ended_on", row.get("leave_ended_on", ""), required=False
        )
        enquiries = joint_enquiries_problem(
            ground, row.get("school_enquiries", ""), row.get("la_enquiries", "")
        )
        if enquiries:
            context.error(line, "school_enquiries", enquiries)
        if school is None or identity is None or deleted_on is None:
            continue
        if ground == DeletionGround.H:
            after = leave_ended or deleted_on
            days = school_days(school, after + timedelta(days=1), deleted_on)
            problem = ground_h_problem(leave_ended, deleted_on, days)
            if problem:
                context.error(line, "leave_ended_on", problem)
        named = bool(destination or row.get("destination_name", "").strip())
        keys = {"school": school, "upn": identity["upn"], "deleted_on": deleted_on}
        values = {
            "legal_given_name": identity["legal_given_name"],
            "legal_family_name": identity["legal_family_name"],
            "dob": identity["dob"],
            "ground": ground,
            "destination_school": destination,
            "destination_name": row.get("destination_name", "")[:200],
            "destination_start": start,
            "future_address": row.get("future_address", "")[:300],
            "future_postcode": row.get("future_postcode", "").upper()[:10],
            "parent_name": row.get("parent_name", "")[:150],
            "parent_phone": row.get("parent_phone", "")[:40],
            "school_enquiries": row.get("school_enquiries", "")[:4000],
            "la_enquiries": row.get("la_enquiries", "")[:4000],
            "leave_ended_on": leave_ended,
        }
        # Said, not skipped: the rules below still see every row (a row with problems of
        # its own is not also said to repeat another).
        if context.error_count == errors_before:
            _repeated(context, seen, line, keys, values, "date of deletion")
        in_care_checks.append(
            DeletionToCheck(line, identity["upn"], ground, deleted_on, named, start)
        )
        good.append((keys, values))
    # Virtual School rule: a child in care stays on roll until a new school admits them.
    for line, message in deletion_refusals(in_care_checks):
        context.error(line, "", message)
    # Home education (2026 Act): no ground (f) deletion without the authority's consent
    # where it is needed; every ground (f) return puts the child on the home-education list.
    for line, message in home_education_deletion_refusals(
        (c.line, c.upn, c.ground, keys["school"])
        for c, (keys, _) in zip(in_care_checks, good, strict=True)
    ):
        context.error(line, "ground", message)
    # A UPN never seen on any school's roll: accepted, but said (a typing error, or a
    # pupil the authority has never been told of).
    known = set(
        RollEntry.objects.filter(upn__in={k["upn"] for k, _ in good}).values_list("upn", flat=True)
    )
    for check, (keys, _) in zip(in_care_checks, good, strict=True):
        if keys["upn"] not in known:
            context.warning(
                check.line,
                "upn",
                f"{keys['upn']} has never been on any school's roll sent to the authority: "
                "check the UPN",
            )
    context.check()
    for done, (keys, values) in enumerate(good):
        context.progress(done, len(good), "Saving")
        _upsert(context, DeletionReturn, keys, values)
    # Every ground (f) return puts its child on the home-education list.
    for keys, values in good:
        if values["ground"] == DeletionGround.F:
            deletion = DeletionReturn.objects.select_related("school").get(**keys)
            home_education_from_deletion_return(actor=context.actor, deletion=deletion)


#: A deletion return the server could not store (disk full or read-only).
RETURN_NOT_STORED = (
    "The return could not be sent because the server's storage is full or read-only. "
    "Nothing was saved. Try again later or tell your administrator."
)


def deletion_return_submit(*, actor: Actor, school: Organisation, **fields: Any) -> DeletionReturn:
    """A school's deletion return from the form: the same checks as a one-row CSV."""
    import csv
    import io

    columns = [*DELETION_COLUMNS, *DELETION_OPTIONAL]
    row = {c: fields.get(c, "") for c in columns}
    row["laestab"] = school.laestab
    for key, value in list(row.items()):
        if isinstance(value, date):
            row[key] = value.isoformat()
        elif isinstance(value, Organisation):
            row[key] = value.laestab
        elif value is None:
            row[key] = ""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=columns)
    writer.writeheader()
    writer.writerow(row)
    with staged_upload([text.getvalue().encode("utf-8")], suffix=".csv") as path:
        run = deletions_import(actor=actor, path=path, file_name="deletion form")
    if run.errors:
        from django.core.exceptions import ValidationError

        raise ValidationError({e["column"] or "__all__": e["message"] for e in run.errors})
    return DeletionReturn.objects.get(
        school=school, upn=row["upn"].replace(" ", "").upper(), deleted_on=row["deleted_on"]
    )


def additions_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Addition returns: ``laestab,upn,legal_given_name,legal_family_name,dob,joined_on``
    and an optional ``previous_school``."""
    return run_import(
        run=run,
        listener=listener,
        actor=actor,
        kind=ImportKind.ADDITIONS,
        path=path,
        file_name=file_name,
        handler=_additions,
    )


def _additions(path: Path, context: ImportContext) -> None:
    good: list[tuple[dict[str, Any], dict[str, Any]]] = []
    seen: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    for line, row in csv_rows(path, context, ADDITION_COLUMNS, ("previous_school",)):
        school = context.school(line, "laestab", row["laestab"])
        identity = _identity(context, line, row)
        joined = parse_date(context, line, "joined_on", row["joined_on"])
        if school is None or identity is None or joined is None:
            continue
        upn = identity.pop("upn")
        identity["previous_school"] = row.get("previous_school", "")[:200]
        keys = {"school": school, "upn": upn, "joined_on": joined}
        if not _repeated(context, seen, line, keys, identity, "date of joining"):
            good.append((keys, identity))
    context.check()
    for done, (keys, values) in enumerate(good):
        context.progress(done, len(good), "Saving")
        _upsert(context, AdditionReturn, keys, values)


def allocations_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Admissions allocations: ``laestab`` (the allocated school), the pupil's UPN, names
    and date of birth, and ``expected_start``."""
    return run_import(
        run=run,
        listener=listener,
        actor=actor,
        kind=ImportKind.ALLOCATIONS,
        path=path,
        file_name=file_name,
        handler=_allocations,
    )


def _allocations(path: Path, context: ImportContext) -> None:
    good: list[tuple[dict[str, Any], dict[str, Any]]] = []
    seen: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    for line, row in csv_rows(path, context, ALLOCATION_COLUMNS):
        school = context.school(line, "laestab", row["laestab"])
        identity = _identity(context, line, row)
        start = parse_date(context, line, "expected_start", row["expected_start"])
        if school is None or identity is None or start is None:
            continue
        upn = identity.pop("upn")
        keys = {"school": school, "upn": upn, "expected_start": start}
        if not _repeated(context, seen, line, keys, identity, "expected start"):
            good.append((keys, identity))
    context.check()
    for done, (keys, values) in enumerate(good):
        context.progress(done, len(good), "Saving")
        _upsert(context, AdmissionAllocation, keys, values)


# --- Attendance marks ---------------------------------------------------------------------

ATTENDANCE_COLUMNS = engine.MARKS_COLUMNS


def attendance_dir() -> Path:
    """Where the Parquet files of marks live (``ATTENDANCE_DIR``, else under VAR_DIR)."""
    configured = getattr(settings, "ATTENDANCE_DIR", None)
    return Path(configured) if configured else Path(settings.VAR_DIR) / "attendance"


def attendance_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    run: ImportRun | None = None,
    listener: ProgressListener | None = None,
) -> ImportRun:
    """Attendance marks in long form, ``laestab,upn,date,session,code``, from CSV or Parquet.

    Validated set-based in DuckDB. Each bad row is an error; a mark on a day that is not a
    school day for its school is a warning and is left out. Good marks are merged into the
    school's Parquet file for the academic year: a repeated mark replaces the old one.
    """
    return run_import(
        run=run,
        listener=listener,
        actor=actor,
        kind=ImportKind.ATTENDANCE,
        path=path,
        file_name=file_name,
        handler=_attendance,
    )


_LETTERS = CHECK_LETTERS
#: Whether ``upn`` (upper case, no spaces) is a valid UPN, as ``rules.upn.validate_upn``
#: decides it: a check letter, 11 digits, a digit or letter, and the check letter the
#: weighted sum gives (tested against the Python rule).
UPN_VALID_SQL = (
    "(regexp_full_match(upn, '[A-HJ-NP-RT-Z][0-9]{11}[0-9A-HJ-NP-RT-Z]') AND "
    f"substr('{_LETTERS}', 1 + CAST((list_sum([coalesce(TRY_CAST(substr(upn, k, 1) AS "
    "INTEGER), 0) * k for k in range(2, 13)]) + 13 * CASE WHEN substr(upn, 13, 1) "
    "BETWEEN '0' AND '9' THEN coalesce(TRY_CAST(substr(upn, 13, 1) AS INTEGER), 0) "
    f"ELSE strpos('{_LETTERS}', substr(upn, 13, 1)) - 1 END) % 23 AS INTEGER), 1) "
    "= substr(upn, 1, 1))"
)

_RAW_SQL = """
CREATE TABLE raw AS
SELECT line, trim(CAST(laestab AS VARCHAR)) AS laestab_raw,
    upper(replace(CAST(upn AS VARCHAR), ' ', '')) AS upn,
    CAST(date AS VARCHAR) AS date_raw,
    coalesce(
        TRY_CAST(CAST(date AS VARCHAR) AS DATE),
        TRY_CAST(try_strptime(CAST(date AS VARCHAR), '%d/%m/%Y') AS DATE)
    ) AS d,
    upper(trim(CAST(session AS VARCHAR))) AS session,
    upper(trim(CAST(code AS VARCHAR))) AS code
FROM ({source})
"""
#: A CSV file read as it is (see :func:`lines.is_plain_csv`): row n is line n + 1.
_PLAIN_CSV = (
    "SELECT row_number() OVER () + 1 AS line, * FROM read_csv(?, header = true, "
    "delim = ',', quote = '\"', escape = '\"', auto_detect = false, columns = "
    "{'laestab': 'VARCHAR', 'upn': 'VARCHAR', 'date': 'VARCHAR', 'session': 'VARCHAR', "
    "'code': 'VARCHAR'})"
)
_PARQUET = "SELECT row_number() OVER () AS line, * FROM read_parquet(?)"
#: The careful reading's output (:func:`_attendance_csv_careful`): the line is a column.
_CAREFUL_CSV = (
    "SELECT * FROM read_csv(?, header = true, delim = ',', "
    "quote = '\"', escape = '\"', auto_detect = false, columns = "
    "{'line': 'BIGINT', 'laestab': 'VARCHAR', 'upn': 'VARCHAR', 'date': 'VARCHAR', "
    "'session': 'VARCHAR', 'code': 'VARCHAR'})"
)


def _attendance_source(path: Path, context: ImportContext, con: Any) -> tuple[str, Path | None]:
    """The SQL that reads the marks with their real line numbers (bound to one path), and
    the temporary file to remove afterwards; ``("", None)`` if the file cannot be read."""
    with path.open("rb") as handle:
        is_parquet = handle.read(4) == b"PAR1"
    if is_parquet:
        try:
            columns = [
                str(row[0]).lower()
                for row in con.execute(
                    "DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]
                ).fetchall()
            ]
        except duckdb.Error as exc:
            # DuckDB's words name the server's folders and its SQL: the log has them.
            logger.info("import %s: not readable as Parquet: %s", context.run.pk, exc)
            context.error(
                0,
                "",
                "the file starts as a Parquet file does but could not be read as one (it may "
                "be cut short or damaged): export it again and send the new file",
            )
            return "", None
        missing = [c for c in ATTENDANCE_COLUMNS if c not in columns]
        if missing:
            context.error(
                0,
                ", ".join(missing),
                f"the file has no column {', '.join(missing)} "
                f"(expected: {','.join(ATTENDANCE_COLUMNS)}; found: {', '.join(columns)})",
            )
            return "", None
        return _PARQUET, None
    with path.open("rb") as handle:
        header = handle.readline(lines.MAX_LINE_BYTES).decode("utf-8-sig", "replace")
    names = [h.strip().strip('"').strip().lower() for h in header.rstrip("\r\n").split(",")]
    if names == list(ATTENDANCE_COLUMNS) and lines.is_plain_csv(path, len(names)):
        return _PLAIN_CSV, None
    return _attendance_csv_careful(path, context)


def _attendance_csv_careful(path: Path, context: ImportContext) -> tuple[str, Path | None]:
    """Read the CSV line by line (columns by name in any order; each unreadable line, short
    or long row its own error) into a clean temporary CSV that carries each row's line."""
    target = path.with_name(f".{path.name}.{uuid.uuid4().hex}.lines.csv")
    good = 0
    try:
        with target.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["line", *ATTENDANCE_COLUMNS])
            for line, row in csv_rows(path, context, ATTENDANCE_COLUMNS):
                writer.writerow([line, *(row[c] for c in ATTENDANCE_COLUMNS)])
                good += 1
    except OSError:
        target.unlink(missing_ok=True)
        raise
    if not good and context.error_count:
        target.unlink(missing_ok=True)
        return "", None
    return _CAREFUL_CSV, target


def _attendance(path: Path, context: ImportContext) -> None:
    con = engine.connect()
    context.progress(0, None, "Reading the marks")
    source, temporary = _attendance_source(path, context, con)
    if not source:
        return
    if source == _PLAIN_CSV:
        try:
            con.execute(_RAW_SQL.format(source=source), [str(path)])
        except duckdb.Error:
            # Short and long lines whose commas balanced out: read it carefully instead.
            source, temporary = _attendance_csv_careful(path, context)
            if not source:
                return
    try:
        careful_rows = context.rows  # (the careful reading counts rows, blank lines not)
        if temporary is not None:
            con.execute(_RAW_SQL.format(source=source), [str(temporary)])
        elif source != _PLAIN_CSV:
            con.execute(_RAW_SQL.format(source=source), [str(path)])
    except duckdb.Error as exc:
        context.error(0, "", f"the file could not be read: {exc}")
        return
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
    if temporary is None:
        context.rows = int(con.execute("SELECT count(*) FROM raw").fetchone()[0])
    else:
        context.rows = careful_rows
    context.progress(0, context.rows, "Checking marks")

    # Schools: known, and allowed for this importer.
    schools = context.schools
    for (laestab_raw,) in con.execute("SELECT DISTINCT laestab_raw FROM raw").fetchall():
        school = schools.get(laestab_raw or "")
        message = None
        if school is None:
            message = (
                "enter the school's 7-digit LAESTAB"
                if not laestab_raw
                else f"{laestab_raw} is not the LAESTAB of a school we know"
            )
        elif context.allowed_school_ids is not None and school.pk not in context.allowed_school_ids:
            message = f"you can only send data for your own school, not {school.name}"
        if message:
            _row_errors(
                con,
                context,
                "laestab_raw IS NOT DISTINCT FROM ?",
                [laestab_raw],
                "laestab",
                message,
            )

    # UPNs: validated once per distinct value; those the check in SQL passes are valid
    # (the same rule), the others are checked again for the reason.
    for (upn,) in con.execute(
        "SELECT upn FROM (SELECT DISTINCT upn FROM raw) "  # noqa: S608 - constant SQL
        f"WHERE NOT coalesce({UPN_VALID_SQL}, false)"
    ).fetchall():
        try:
            validate_upn(upn or "")
        except InvalidUPN as exc:
            text = f"{upn} is not a valid UPN: {exc}" if upn else "enter the pupil's UPN"
            _row_errors(con, context, "upn IS NOT DISTINCT FROM ?", [upn], "upn", text)

    # DuckDB reads a year of two digits as it stands (3/9/25 is 25 September 0003, and
    # 25-09-03 is 3 September 0025): such a date is the officer's short year, not a real one.
    _row_errors(
        con,
        context,
        "d IS NULL OR d < DATE '1900-01-01'",
        [],
        "date",
        None,
        lambda r: f"{r!r} is not a real date: use 2025-09-03 or 03/09/2025",
        "date_raw",
    )
    _row_errors(
        con,
        context,
        "session IS NULL OR session NOT IN ('AM', 'PM')",
        [],
        "session",
        None,
        lambda r: f"{r!r} is not a session: use AM or PM",
        "session",
    )
    for (code,) in con.execute("SELECT DISTINCT code FROM raw").fetchall():
        try:
            attendance_code(code or "")
        except AttendanceCodeError as exc:
            _row_errors(con, context, "code IS NOT DISTINCT FROM ?", [code], "code", str(exc))
    # Repeated sessions: the (rare) repeated keys found by grouping, then their lines (a
    # window over every row costs far more on a day of the whole authority).
    for line, first in con.execute(
        "WITH repeated AS (SELECT laestab_raw, upn, d, session, min(line) AS first_line "
        "FROM raw WHERE d IS NOT NULL GROUP BY ALL HAVING count(*) > 1) "
        "SELECT r.line, p.first_line FROM raw r JOIN repeated p "
        "ON r.laestab_raw IS NOT DISTINCT FROM p.laestab_raw "
        "AND r.upn IS NOT DISTINCT FROM p.upn AND r.d = p.d "
        "AND r.session IS NOT DISTINCT FROM p.session "
        "WHERE r.line > p.first_line ORDER BY r.line LIMIT ?",
        [500],
    ).fetchall():
        context.error(line, "session", f"this pupil's session is already on line {first}")
    if context.error_count:
        return
    context.progress(context.rows // 2, context.rows, "Checking school days")

    # Marks dated outside every loaded term: refused (a forgotten calendar must not lose a
    # month of marks quietly). Marks on a weekend, holiday or closure inside a term: a
    # warning each, left out, and counted in one plain sentence.
    laestabs = [x for (x,) in con.execute("SELECT DISTINCT laestab_raw FROM raw").fetchall()]
    engine.load_calendar(con, term_rows(), closure_rows())
    outside = "NOT EXISTS (SELECT 1 FROM terms t WHERE raw.d BETWEEN t.term_start AND t.term_end)"
    (count, first, last) = con.execute(
        f"SELECT count(*), min(d), max(d) FROM raw WHERE {outside}"  # noqa: S608 - constant SQL
    ).fetchone()
    if count:
        loaded = con.execute("SELECT min(term_start), max(term_end) FROM terms").fetchone()
        where = (
            f"the school calendar loaded runs from {loaded[0]:%-d %B %Y} to {loaded[1]:%-d %B %Y}"
            if loaded[0]
            else "no term dates are loaded"
        )
        context.error(
            0,
            "date",
            f"{count:,} mark{'s are' if count != 1 else ' is'} dated outside the school "
            f"calendar ({first:%-d %B %Y} to {last:%-d %B %Y}; {where}). Nothing was "
            "imported: load the term dates for these days first, then send the file again",
        )
        _row_errors(
            con,
            context,
            outside,
            [],
            "date",
            None,
            lambda d: f"{d:%-d %B %Y} is not in any term of the school calendar loaded",
            "d",
        )
        return
    (last_day,) = con.execute("SELECT max(d) FROM raw").fetchone()
    engine.build_school_days(con, last_day, laestabs)
    not_school_day = (
        "NOT EXISTS (SELECT 1 FROM school_days s WHERE s.laestab = r.laestab_raw AND s.d = r.d)"
    )
    (ignored,) = con.execute(f"SELECT count(*) FROM raw r WHERE {not_school_day}").fetchone()  # noqa: S608 - constant SQL
    if ignored:
        context.warning(
            0,
            "date",
            f"{ignored:,} mark{'s were' if ignored != 1 else ' was'} on days that are not school "
            "days (weekends, holidays or closure days) and left out",
        )
    for line, d, laestab in con.execute(
        f"SELECT line, d, laestab_raw FROM raw r WHERE {not_school_day} ORDER BY line LIMIT ?",  # noqa: S608 - constant SQL
        [MAX_REPORTED_PROBLEMS - 1],
    ).fetchall():
        context.warning(
            line, "date", f"{d:%A %-d %B %Y} is not a school day at {laestab}: mark ignored"
        )
    context.warning_count = max(context.warning_count, ignored + 1)
    con.execute(
        "CREATE TABLE good AS SELECT laestab_raw AS laestab, upn, d AS date, session, code, "
        "CASE WHEN month(d) >= 9 THEN year(d) ELSE year(d) - 1 END AS academic_year "
        "FROM raw r WHERE EXISTS (SELECT 1 FROM school_days s "
        "WHERE s.laestab = r.laestab_raw AND s.d = r.d)"
    )
    context.check()
    _write_partitions(con, context)


def _row_errors(
    con: Any,
    context: ImportContext,
    where: str,
    params: list[Any],
    column: str,
    message: str | None,
    describe: Any = None,
    value_column: str = "",
) -> None:
    select = f"SELECT line{', ' + value_column if value_column else ''} FROM raw WHERE {where} "  # noqa: S608 - bound values
    for row in con.execute(select + "ORDER BY line LIMIT 500", params).fetchall():
        context.error(row[0], column, message if message is not None else describe(row[1]))
    (total,) = con.execute(f"SELECT count(*) FROM raw WHERE {where}", params).fetchone()  # noqa: S608 - bound values
    if total > 500:
        context.error_count += total - 500


def _write_partitions(con: Any, context: ImportContext) -> None:
    """Append the marks that are new or changed to the store: one delta file per school
    and academic year, named after this import (see :mod:`cmetrack.detection.store`). No
    existing file is rewritten. A mark dated after the partition's last mark is new; only
    marks on or before it are compared with what the store holds (a repeat, or a
    correction), so a school day's import reads nothing back."""
    root = attendance_dir()
    schools = context.schools
    known = {
        (p.school.laestab, p.academic_year): p
        for p in AttendancePartition.objects.select_related("school__local_authority")
    }
    con.execute("CREATE OR REPLACE TABLE known_parts (laestab VARCHAR, year INTEGER, last DATE)")
    rows = [(la, year, p.last_date) for (la, year), p in known.items() if p.last_date]
    engine.insert_rows(con, "known_parts", rows, 3)
    (to_compare,) = con.execute(
        "SELECT count(*) FROM good g JOIN known_parts k "
        "ON k.laestab = g.laestab AND k.year = g.academic_year WHERE g.date <= k.last"
    ).fetchone()
    if to_compare:
        laestabs = [
            la
            for (la,) in con.execute(
                "SELECT DISTINCT g.laestab FROM good g JOIN known_parts k ON k.laestab = "
                "g.laestab AND k.year = g.academic_year WHERE g.date <= k.last"
            ).fetchall()
        ]
        store.create_store_view(con, root, name="stored_marks", laestabs=laestabs)
        old = (
            "(SELECT s.laestab, s.upn, s.d, s.session, s.code FROM stored_marks s "
            "SEMI JOIN (SELECT DISTINCT laestab, date FROM good) g "
            "ON g.laestab = s.laestab AND g.date = s.d)"
        )
    else:
        old = (
            "(SELECT NULL::VARCHAR AS laestab, NULL::VARCHAR AS upn, NULL::DATE AS d, "
            "NULL::VARCHAR AS session, NULL::VARCHAR AS code WHERE false)"
        )
    # Each good mark with what the store holds for it (NULL: nothing, a new mark).
    con.execute(
        "CREATE OR REPLACE TABLE changed AS "  # noqa: S608 - our SQL
        "SELECT g.laestab, g.upn, g.date, g.session, g.code, g.academic_year, "
        "o.code IS NULL AS is_new "
        "FROM good g LEFT JOIN known_parts k "
        "ON k.laestab = g.laestab AND k.year = g.academic_year AND g.date <= k.last "
        f"LEFT JOIN {old} o ON k.laestab IS NOT NULL AND o.laestab = g.laestab "
        "AND o.upn = g.upn AND o.d = g.date AND o.session = g.session "
        "WHERE o.code IS DISTINCT FROM g.code"
    )
    parts = con.execute(
        "SELECT laestab, academic_year, count(*), count(*) FILTER (WHERE is_new), "
        "min(date), max(date) FROM changed GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    moves: list[tuple[Path, Path]] = []
    total = sum(int(p[2]) for p in parts)
    context.progress(0, total, "Saving marks")
    # One write for every school and year: DuckDB writes each partition's delta into its
    # folder under a hidden temporary name; each is renamed into place at the end.
    prefix = f".{store.delta_name(context.run.pk)}-{uuid.uuid4().hex[:8]}-"
    now = timezone.now()

    def written() -> list[Path]:
        return [
            p
            for laestab, year, *_ in parts
            for p in store.partition_dir(root, laestab, year).glob(f"{prefix}*.tmp")
        ]

    try:
        if parts:
            with _storage(root):
                root.mkdir(parents=True, exist_ok=True)
                _copy_partitioned(
                    con,
                    "SELECT laestab, upn, date, session, code, laestab AS school, "
                    "academic_year AS year FROM changed "
                    "ORDER BY laestab, academic_year, upn, date, session",
                    root,
                    prefix,
                )
        new_parts: list[AttendancePartition] = []
        old_parts: list[AttendancePartition] = []
        for laestab, year, _count, new_keys, first, last in parts:
            folder = store.partition_dir(root, laestab, year)
            files = list(folder.glob(f"{prefix}*.tmp"))
            if len(files) != 1:
                raise RuntimeError(f"{len(files)} files written for {laestab} {year}")
            moves.append((files[0], folder / store.delta_name(context.run.pk)))
            partition = known.get((laestab, int(year)))
            if partition is None:
                new_parts.append(
                    AttendancePartition(
                        school=schools[laestab],
                        academic_year=int(year),
                        path=partition_stored_path(folder / store.BASE_NAME),
                        marks=int(new_keys),
                        first_date=first,
                        last_date=last,
                        updated_at=now,
                        last_import=context.run,
                    )
                )
                continue
            partition.marks += int(new_keys)
            partition.first_date = min(first, partition.first_date or first)
            partition.last_date = max(last, partition.last_date or last)
            partition.updated_at = now
            partition.last_import = context.run
            old_parts.append(partition)
        AttendancePartition.objects.bulk_create(new_parts, batch_size=500)
        _update_partitions(old_parts)
        context.changed(total)
        context.progress(total)
    except Exception:
        _remove(written())
        raise

    def finish() -> None:
        _move_all(moves)

    def cleanup() -> None:
        _remove(written())

    context.on_success(finish, cleanup)


def _move_all(moves: list[tuple[Path, Path]]) -> None:
    """Move every new delta into place, or none: a failure half-way removes the ones
    already moved (they are new files, so nothing else changes)."""
    done: list[Path] = []
    try:
        for temp, final in moves:
            os.replace(temp, final)
            done.append(final)
    except OSError as exc:
        for final in done:
            try:
                final.unlink(missing_ok=True)
            except OSError:
                logger.exception("could not remove %s", final)
        for temp, _ in moves:
            temp.unlink(missing_ok=True)
        logger.error("could not move the new marks into place: %s", exc)
        raise StorageUnavailable from exc


def _copy_partitioned(con: Any, query: str, target: Path, prefix: str) -> None:
    """Write the rows of ``query`` (with columns ``school`` and ``year``) under the folder
    ``target`` as ``school=<school>/year=<year>/<prefix><n>.tmp``: one Parquet file a
    partition (the two columns left out of it); nothing else in the folders is touched."""
    if "'" in prefix or "{" in prefix:
        raise ValueError(f"not a file name prefix: {prefix!r}")
    con.execute(
        f"COPY ({query}) TO '{_sql_path(target)}' (FORMAT parquet, COMPRESSION zstd, "
        f"PARTITION_BY (school, year), FILENAME_PATTERN '{prefix}{{i}}', "
        "FILE_EXTENSION 'tmp', OVERWRITE_OR_IGNORE)"
    )


def _remove(paths: list[Path]) -> None:
    """Remove the temporary files a failed import left."""
    for path in paths:
        path.unlink(missing_ok=True)


def _update_partitions(partitions: list[AttendancePartition]) -> None:
    """Save each partition's counts and dates: one UPDATE statement run for them all."""
    if not partitions:
        return
    update_fields_many(
        partitions, ("marks", "first_date", "last_date", "updated_at", "last_import")
    )


@contextlib.contextmanager
def _storage(path: Path) -> Iterator[None]:
    """Turn a failure to write ``path`` (``OSError``, DuckDB's ``IOException``) into
    :class:`StorageUnavailable`; the caller's cleanup removes any temporary file."""
    try:
        yield
    except (OSError, duckdb.IOException) as exc:
        logger.error("could not write %s: %s", path, exc)
        raise StorageUnavailable from exc


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def attendance_partitions_by_school() -> dict[str, list[str]]:
    """The Parquet files of marks, by LAESTAB (for the detection engine)."""
    files: dict[str, list[str]] = defaultdict(list)
    for partition in AttendancePartition.objects.select_related("school__local_authority"):
        base = partition_file(partition.path)
        found = store.store_files_in(base.parent)
        files[partition.school.laestab].extend(found or [str(base)])
    return dict(files)


def partition_stored_path(file: Path) -> str:
    """A partition's file as stored: relative to :func:`attendance_dir`, so the attendance
    folder can be restored or moved elsewhere with the database (older rows hold absolute
    paths, which :func:`partition_file` still reads)."""
    try:
        return str(file.relative_to(attendance_dir()))
    except ValueError:
        return str(file)


def partition_file(stored: str) -> Path:
    """The file of a partition's stored path (see :func:`partition_stored_path`)."""
    path = Path(stored)
    return path if path.is_absolute() else attendance_dir() / path
