"""Roll snapshots from a CTF (issue 6: "roll snapshots from CSV ... and from CTF XML").

The same import as the CSV roll (``detection.importers.roll_import``): one
:class:`ImportRun` through :func:`detection.imports.run_import`, all or nothing, the same
RollSnapshot/RollEntry rows, the same content hash (the same roll twice changes nothing),
and problems reported as line, element and message. The school is the CTF's
``SourceSchool``; the roll date is ``taken_on`` or else the date in the header. After a
good import the new joiners are checked against the lost-pupil area.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.detection.importers import _entries_hash, _nc_year
from cmetrack.detection.imports import ImportContext, run_import
from cmetrack.detection.models import ImportKind, ImportRun, ImportStatus
from cmetrack.people.choices import Sex
from cmetrack.registers.models import EnrolmentStatus, RollEntry, RollSnapshot
from cmetrack.rules.upn import InvalidUPN, validate_upn

from . import ctf
from .services import lost_pupils_check_rolls
from .xmlsafe import XmlRejected


def ctf_roll_import(
    *,
    actor: Actor,
    path: Path,
    file_name: str,
    taken_on: date | str | None = None,
    **framework: Any,
) -> ImportRun:
    """Import the pupils of a CTF as the source school's roll on ``taken_on`` (default:
    the header's date). Then checks the snapshot's joiners against the lost-pupil area.

    ``framework`` is passed on to ``run_import`` (a queued run and its progress listener
    when the import runs in the background)."""
    day = date.fromisoformat(taken_on) if isinstance(taken_on, str) else taken_on
    snapshots: list[RollSnapshot] = []

    def handler(path: Path, context: ImportContext) -> None:
        snapshots.extend(_ctf_roll(path, context, day))

    extra = {k: v for k, v in framework.items() if v is not None}
    run = run_import(
        actor=actor,
        kind=ImportKind.ROLL,
        path=path,
        file_name=file_name,
        handler=handler,
        **extra,
    )
    if snapshots and run.status != ImportStatus.FAILED:
        lost_pupils_check_rolls(actor=actor, snapshots=snapshots)
    return run


def _ctf_roll(path: Path, context: ImportContext, taken_on: date | None) -> list[RollSnapshot]:

    try:
        document = ctf.read_ctf(path.read_bytes())
    except (XmlRejected, ctf.CtfError) as exc:
        context.error(exc.line, exc.element, exc.message)
        return []
    header = document.header
    school = context.school(0, "SourceSchool", header.source.laestab)
    day = taken_on or header.date
    if day is None:
        context.error(0, "DateTime", "the header has no date: give the date the roll was taken")
    entries: list[RollEntry] = []
    seen: dict[str, int] = {}
    for p in document.pupils:
        context.rows += 1
        line = p.line
        upn = p.upn
        if not upn:
            context.error(p.line_of("UPN"), "UPN", "enter the pupil's UPN")
        else:
            try:
                validate_upn(upn)
            except InvalidUPN as exc:
                context.error(p.line_of("UPN"), "UPN", f"{upn} is not a valid UPN: {exc}")
                upn = ""
        if p.former_upn:
            try:
                validate_upn(p.former_upn)
            except InvalidUPN as exc:
                context.error(
                    p.line_of("FormerUPN"), "FormerUPN", f"{p.former_upn} is not a valid UPN: {exc}"
                )
        if not p.forename:
            context.error(p.line_of("Forename"), "Forename", "enter the pupil's forename")
        if not p.surname:
            context.error(p.line_of("Surname"), "Surname", "enter the pupil's surname")
        if p.dob is None:
            context.error(p.line_of("DOB"), "DOB", "enter the pupil's date of birth")
        elif day is not None and p.dob >= day:
            context.error(p.line_of("DOB"), "DOB", "the date of birth is on or after the roll date")
        sex = p.sex or Sex.UNKNOWN
        nc_year = _nc_year(context, p.line_of("NCyearActual"), p.nc_year)
        status = (p.enrol_status or EnrolmentStatus.CURRENT).upper()[:1]
        if status not in EnrolmentStatus.values:
            context.error(
                line,
                "EnrolStatus",
                f"{p.enrol_status!r} is not an enrolment status: use C, M, S or G",
            )
        if not upn or p.dob is None:
            continue
        if upn in seen:
            context.error(p.line_of("UPN"), "UPN", f"{upn} is already on line {seen[upn]}")
            continue
        seen[upn] = line
        entries.append(
            RollEntry(
                upn=upn,
                former_upn=p.former_upn,
                legal_given_name=p.forename[:100],
                legal_family_name=p.surname[:100],
                preferred_given_name=p.preferred_forename[:100],
                preferred_family_name=p.preferred_surname[:100],
                dob=p.dob,
                sex=sex,
                address=p.address.text[:300] if p.address else "",
                postcode=p.address.postcode[:10] if p.address else "",
                nc_year=nc_year,
                entry_date=_entry_date(p, header.source),
                enrolment_status=status,
            )
        )
    if not document.pupils:
        context.error(0, "CTFpupilData", "the file has no pupils")
    context.check()
    assert school is not None
    assert day is not None
    digest = _entries_hash(entries)
    snapshot = RollSnapshot.objects.filter(school=school, taken_on=day).first()
    if snapshot is not None and snapshot.content_hash == digest:
        return []
    if snapshot is None:
        snapshot = RollSnapshot.objects.create(
            school=school, taken_on=day, source=context.run.file_name[:100]
        )
    else:
        snapshot.entries.all().delete()
    snapshot.content_hash = digest
    snapshot.source = context.run.file_name[:100]
    snapshot.imported_at = timezone.now()
    snapshot.save(update_fields=["content_hash", "source", "imported_at"])
    for entry in entries:
        entry.snapshot = snapshot
    RollEntry.objects.bulk_create(entries, batch_size=2000)
    context.changed(len(entries))
    return [snapshot]


def _entry_date(p: ctf.CtfPupil, school: ctf.SchoolRef) -> date | None:
    """The pupil's entry date at the source school, from its school history if given."""
    history = p.section("SchoolHistory")
    if history is None:
        return None
    for entry in history.all("School"):
        if entry.value("LEA") == school.lea and entry.value("Estab") == school.estab:
            return ctf.parse_ctf_date(entry.value("EntryDate"))
    return None
