"""Writes for Common Transfer Files and the lost-pupil area. Each service is one
transaction that saves, logs a :class:`TransferEvent` and writes its audit row.

Refusals: ``PermissionDenied`` when the role or the school is wrong, ``ValidationError``
with a message for the person otherwise. A file with any problem raises
:class:`CtfRejected` listing every problem (line, element, message) and nothing is saved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.models import Case
from cmetrack.matching.adapters import adapter_for
from cmetrack.matching.features import PersonRecord
from cmetrack.matching.index import CandidateIndex
from cmetrack.matching.model import current_model
from cmetrack.matching.services import SearchNotReady, register_index, search_children
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.people.models import Child
from cmetrack.people.selectors import children_visible_to
from cmetrack.registers.models import RollEntry, RollSnapshot
from cmetrack.registers.selectors import joiners_and_leavers, latest_snapshots, previous_snapshot
from cmetrack.rules.school_age import national_curriculum_year
from cmetrack.rules.upn import InvalidUPN, validate_upn

from . import ctf
from .models import (
    CtfFile,
    CtfPupil,
    DestinationKind,
    Direction,
    EventKind,
    LostPupil,
    LostPupilMatch,
    LostPupilStatus,
    MatchHow,
    RequestStatus,
    RollCheck,
    SearchRequest,
    TransferEvent,
)
from .selectors import OFFICER_ROLES, _school_of, files_visible_to
from .xmlsafe import XmlRejected

#: Roles that work the lost-pupil area (search, forward, export) and upload any school's CTF.
UPLOAD_ANY_ROLES = frozenset({*ALL_CASES_ROLES, Role.ADMINISTRATOR})
#: A joiner this likely to be a lost pupil is recorded as a possible match.
MATCH_THRESHOLD = 0.80


@dataclass(frozen=True)
class Problem:
    line: int
    element: str
    message: str

    def __str__(self) -> str:
        return str(XmlRejected(self.message, line=self.line, element=self.element))


class CtfRejected(Exception):
    """The file was refused; ``problems`` says why. Nothing was saved."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass
class UploadResult:
    file: CtfFile
    created: bool
    lost_pupils: int = 0
    matches: int = 0
    warnings: list[str] = field(default_factory=list)


# --- pupils as JSON ----------------------------------------------------------------------


def pupil_to_json(pupil: ctf.CtfPupil) -> dict[str, Any]:
    data = asdict(pupil)
    data.pop("line", None)
    data.pop("lines", None)
    data["dob"] = pupil.dob.isoformat() if pupil.dob else None
    data["sections"] = [[k, t] for k, t in pupil.sections]
    data["unknown"] = [[a, x] for a, x in pupil.unknown]
    return data


def pupil_from_json(data: dict[str, Any]) -> ctf.CtfPupil:
    values = dict(data)
    address = values.pop("address", None)
    return ctf.CtfPupil(
        **{
            k: v
            for k, v in values.items()
            if k not in {"dob", "sections", "unknown", "basic_details"}
        },
        dob=date.fromisoformat(values["dob"]) if values.get("dob") else None,
        address=ctf.CtfAddress(
            lines=tuple(address["lines"]), postcode=address["postcode"], tree=address["tree"]
        )
        if address
        else None,
        basic_details=tuple(values.get("basic_details", ())),
        sections=tuple((k, t) for k, t in values.get("sections", ())),
        unknown=tuple((a, x) for a, x in values.get("unknown", ())),
    )


def stored_pupil(row: CtfPupil) -> ctf.CtfPupil:
    return pupil_from_json(row.data)


# --- helpers -----------------------------------------------------------------------------


def _event(
    actor: Actor,
    kind: EventKind,
    *,
    file: CtfFile | None = None,
    request: SearchRequest | None = None,
    detail: str = "",
    child_id: int | None = None,
) -> TransferEvent:
    user = actor.user
    event = TransferEvent.objects.create(
        kind=kind,
        by=user,
        by_label=actor.display[:254],
        organisation=getattr(user, "organisation", None),
        file=file,
        request=request,
        detail=detail[:300],
    )
    target: Any = file or request or event
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT
        if kind in {EventKind.DOWNLOAD, EventKind.FORWARD, EventKind.EXPORT}
        else (AuditAction.VIEW if kind == EventKind.SEARCH else AuditAction.CREATE),
        obj=target,
        child_id=child_id,
        summary=f"Transfer file {EventKind(kind).label.lower()}: {detail}"[:300],
        changes={"event": event.pk, "kind": str(kind)},
    )
    return event


def _schools_by_laestab(laestabs: Iterable[str]) -> dict[str, Organisation]:
    wanted = {x for x in laestabs if len(x) == 7}
    found: dict[str, Organisation] = {}
    for school in Organisation.objects.filter(
        kind=OrganisationKind.SCHOOL, estab_number__in={x[3:] for x in wanted}
    ).select_related("local_authority"):
        if school.laestab in wanted:
            found[school.laestab] = school
    return found


def is_officer(user: User | None) -> bool:
    return user is not None and user.is_active and user.has_role(*OFFICER_ROLES)


def _require_officer(actor: Actor) -> User:
    if not is_officer(actor.user):
        raise PermissionDenied("Only CME officers and managers can do this.")
    assert actor.user is not None
    return actor.user


def may_upload(user: User | None) -> bool:
    if user is None:
        return True  # system jobs
    if not user.is_active:
        return False
    return user.has_role(*UPLOAD_ANY_ROLES) or _school_of(user) is not None


# --- reading and checking a file ---------------------------------------------------------


def check_ctf(data: bytes) -> tuple[ctf.CtfDocument, list[Problem], list[str]]:
    """Parse and check a CTF: the document, its problems (none: good) and warnings."""
    try:
        document = ctf.read_ctf(data)
    except (XmlRejected, ctf.CtfError) as exc:
        return (
            ctf.CtfDocument(ctf.CtfHeader(), ()),
            [Problem(exc.line, exc.element, exc.message)],
            [],
        )
    problems: list[Problem] = []
    warnings: list[str] = []
    if not document.pupils:
        problems.append(Problem(0, "CTFpupilData", "the file has no pupils"))
    for index, p in enumerate(document.pupils, start=1):
        where = f"pupil {index}"
        if not p.upn:
            warnings.append(
                f"Line {p.line}: {where} has no UPN; it was imported and can be matched "
                "on names and date of birth"
            )
        else:
            try:
                validate_upn(p.upn)
            except InvalidUPN as exc:
                problems.append(
                    Problem(p.line_of("UPN"), "UPN", f"{p.upn} is not a valid UPN: {exc}")
                )
        if p.former_upn:
            try:
                validate_upn(p.former_upn)
            except InvalidUPN as exc:
                problems.append(
                    Problem(
                        p.line_of("FormerUPN"),
                        "FormerUPN",
                        f"{p.former_upn} is not a valid UPN: {exc}",
                    )
                )
        if not p.surname:
            problems.append(Problem(p.line_of("Surname"), "Surname", f"{where} has no surname"))
        if not p.forename:
            problems.append(Problem(p.line_of("Forename"), "Forename", f"{where} has no forename"))
        if p.dob is None:
            problems.append(Problem(p.line_of("DOB"), "DOB", f"{where} has no date of birth"))
        elif p.dob > timezone.localdate():
            problems.append(
                Problem(p.line_of("DOB"), "DOB", f"{where}'s date of birth is in the future")
            )
    upns = [p.upn for p in document.pupils if p.upn]
    if len(upns) != len(set(upns)):
        problems.append(Problem(0, "UPN", "the same UPN appears for two pupils"))
    if document.destination_kind == DestinationKind.UNKNOWN and len(document.pupils) > 1:
        warnings.append(
            "A file for a destination not known (XXX) should hold one pupil; "
            f"this one holds {len(document.pupils)}: each is added to the lost-pupil area"
        )
    return document, problems, warnings


def _name_warnings(file_name: str, header: ctf.CtfHeader) -> list[str]:
    parsed = ctf.parse_ctf_file_name(file_name)
    if parsed is None:
        return [
            f"The file name {file_name!r} does not follow LLLEEEE_CTF_LLLEEEE_nnn.xml; "
            "it was imported from its contents"
        ]
    source, dest, _serial = parsed
    if (source, dest) != (header.source.laestab.upper(), header.dest.laestab.upper()):
        return [
            f"The file name says {source} to {dest} but the header says "
            f"{header.source.laestab} to {header.dest.laestab}; the header was used"
        ]
    return []


# --- upload ------------------------------------------------------------------------------


def ctf_upload(*, actor: Actor, data: bytes, file_name: str) -> UploadResult:
    """Store a received CTF, all or nothing. Files sent to XXX or MMM put their pupils in
    the lost-pupil area, checked at once against the latest rolls. The same file twice
    is stored once. A school may upload only files from or to itself."""
    user = actor.user
    if not may_upload(user):
        raise PermissionDenied("You cannot upload transfer files.")
    document, problems, warnings = check_ctf(data)
    if problems:
        raise CtfRejected(problems)
    header = document.header
    schools = _schools_by_laestab([header.source.laestab, header.dest.laestab])
    source_school = schools.get(header.source.laestab)
    dest_school = schools.get(header.dest.laestab)
    own = _school_of(user)
    school_only = user is not None and not user.has_role(*UPLOAD_ANY_ROLES)
    if school_only and (own is None or own not in {source_school, dest_school}):
        raise CtfRejected(
            [
                Problem(
                    0,
                    "SourceSchool",
                    f"you can only upload your own school's transfer files; this one is "
                    f"from {header.source.laestab} to {header.dest.laestab}",
                )
            ]
        )
    warnings += _name_warnings(file_name, header)
    digest = hashlib.sha256(data).hexdigest()
    existing = CtfFile.objects.filter(direction=Direction.RECEIVED, content_hash=digest).first()
    if existing is not None:
        with transaction.atomic():
            _event(actor, EventKind.UPLOAD, file=existing, detail=f"{file_name} (already held)")
        return UploadResult(file=existing, created=False, warnings=warnings)
    kind = document.destination_kind
    with transaction.atomic():
        stored = CtfFile.objects.create(
            direction=Direction.RECEIVED,
            file_name=file_name[:255],
            content=data,
            content_hash=digest,
            version=header.version[:20],
            document_date=header.date_time[:40],
            qualifier=header.qualifier[:20],
            source_lea=header.source.lea[:3],
            source_estab=header.source.estab[:4],
            source_name=header.source.name[:200],
            source_school=source_school,
            dest_lea=header.dest.lea[:3],
            dest_estab=header.dest.estab[:4],
            dest_school=dest_school,
            destination_kind=kind,
            suppinfo=header.suppinfo,
            pupil_count=len(document.pupils),
            created_by=user,
            created_by_label=actor.display[:254],
            created_by_organisation=getattr(user, "organisation", None),
        )
        rows = [_pupil_row(stored, i, p) for i, p in enumerate(document.pupils)]
        CtfPupil.objects.bulk_create(rows)
        lost: list[LostPupil] = []
        if kind != DestinationKind.SCHOOL:
            held = _open_lost_upns([row.upn for row in rows if row.upn])
            for row in rows:
                if row.upn in held:
                    warnings.append(
                        f"{row.upn} is already in the lost-pupil area (file {held[row.upn]}); "
                        "the new file is kept with the pupil's record but not added twice"
                    )
            lost = LostPupil.objects.bulk_create(
                [
                    LostPupil(pupil=row, destination_kind=kind)
                    for row in stored.pupils.all()
                    if row.upn not in held
                ]
            )
        _event(
            actor,
            EventKind.UPLOAD,
            file=stored,
            detail=f"{stored.file_name}: {len(rows)} pupils, {len(lost)} to the lost-pupil area",
        )
        matches = _match_against_latest_rolls(actor, lost) if lost else 0
        if kind == DestinationKind.SCHOOL:
            matches += _match_files_to_schools(actor, stored, header)
    return UploadResult(
        file=stored, created=True, lost_pupils=len(lost), matches=matches, warnings=warnings
    )


def _open_lost_upns(upns: list[str]) -> dict[str, str]:
    """UPN → file name of each of ``upns`` already open in the lost-pupil area."""
    if not upns:
        return {}
    return dict(
        LostPupil.objects.filter(
            pupil__upn__in=upns,
            status__in=[LostPupilStatus.OPEN, LostPupilStatus.POSSIBLE_MATCH],
        ).values_list("pupil__upn", "pupil__file__file_name")
    )


def _pupil_row(file: CtfFile, position: int, p: ctf.CtfPupil) -> CtfPupil:
    return CtfPupil(
        file=file,
        position=position,
        upn=p.upn[:13],
        former_upn=p.former_upn[:13],
        surname=p.surname[:100],
        forename=p.forename[:100],
        middle_names=p.middle_names[:100],
        preferred_surname=p.preferred_surname[:100],
        preferred_forename=p.preferred_forename[:100],
        former_surname=p.former_surname[:100],
        dob=p.dob,
        sex=p.sex,
        address=p.address.text[:300] if p.address else "",
        postcode=p.address.postcode[:10] if p.address else "",
        data=pupil_to_json(p),
    )


# --- matching lost pupils against rolls --------------------------------------------------


def lost_pupil_record(row: CtfPupil) -> Any:
    """The pupil as the matching engine's :class:`PersonRecord`."""

    aliases = []
    if row.preferred_forename or row.preferred_surname:
        aliases.append(
            (row.preferred_forename or row.forename, row.preferred_surname or row.surname)
        )
    if row.former_surname:
        aliases.append((row.forename, row.former_surname))
    return PersonRecord(
        given_names=row.forename,
        middle_names=row.middle_names,
        family_name=row.surname,
        aliases=tuple(aliases),
        dob=row.dob,
        sex=row.sex,
        postcode=row.postcode,
        address=row.address,
        upns=tuple(u for u in (row.upn, row.former_upn) if u),
    )


def _open_lost() -> list[LostPupil]:
    return list(
        LostPupil.objects.filter(
            status__in=[LostPupilStatus.OPEN, LostPupilStatus.POSSIBLE_MATCH]
        ).select_related("pupil__file")
    )


def _record_match(
    actor: Actor,
    lost: LostPupil,
    entry: RollEntry | CtfPupil,
    school: Organisation,
    taken_on: date,
    probability: float,
    how: MatchHow,
    explanation: str,
) -> bool:
    """Record that ``entry`` (a roll entry, or a pupil of a CTF sent to ``school``) may be
    the lost pupil; False if that was known already."""
    if isinstance(entry, RollEntry):
        name = f"{entry.legal_given_name} {entry.legal_family_name}"
        roll_entry: RollEntry | None = entry
    else:
        name, roll_entry = entry.full_name, None
    _match_row, created = LostPupilMatch.objects.get_or_create(
        lost_pupil=lost,
        school=school,
        upn=entry.upn,
        defaults={
            "roll_entry": roll_entry,
            "roll_date": taken_on,
            "name": name[:200],
            "dob": entry.dob,
            "probability": probability,
            "how": how,
            "explanation": explanation[:300],
        },
    )
    if not created:
        return False
    if lost.status == LostPupilStatus.OPEN:
        lost.status = LostPupilStatus.POSSIBLE_MATCH
        lost.save(update_fields=["status"])
    _event(
        actor,
        EventKind.MATCH,
        file=lost.pupil.file,
        detail=f"Lost pupil {lost.pupil.upn} may be {entry.upn} at {school.name} "
        f"({probability:.0%}, {MatchHow(how).label.lower()})",
    )
    return True


def _match_files_to_schools(actor: Actor, stored: CtfFile, header: ctf.CtfHeader) -> int:
    """A CTF sent to one of our schools for a pupil in the lost-pupil area (same UPN or
    former UPN) says where that pupil went: recorded as a certain match."""
    if stored.dest_school is None:
        return 0
    pupils = list(stored.pupils.all())
    upns = {u for p in pupils for u in (p.upn, p.former_upn) if u}
    if not upns:
        return 0
    found = 0
    candidates = LostPupil.objects.filter(
        Q(pupil__upn__in=upns) | Q(pupil__former_upn__in=upns),
        status__in=[LostPupilStatus.OPEN, LostPupilStatus.POSSIBLE_MATCH],
    ).select_related("pupil__file")
    when = header.date or timezone.localdate()
    for lost in candidates:
        if lost.pupil.file.source_school_id == stored.dest_school_id:
            continue
        known = {u for u in (lost.pupil.upn, lost.pupil.former_upn) if u}
        for p in pupils:
            if known & {u for u in (p.upn, p.former_upn) if u}:
                found += _record_match(
                    actor,
                    lost,
                    p,
                    stored.dest_school,
                    when,
                    1.0,
                    MatchHow.UPN,
                    f"A transfer file for this pupil was sent to this school ({stored.file_name})",
                )
    return found


def _match(
    actor: Actor,
    lost_pupils: Sequence[LostPupil],
    entries: Sequence[tuple[RollEntry, Organisation, date]],
) -> list[int]:
    """Record each lost pupil's likely matches among ``entries`` (never at the school the
    pupil left). Same UPN or former UPN is certain; otherwise the matching engine over
    one index of ``entries``. Returns the positions of the entries newly matched."""

    if not lost_pupils or not entries:
        return []
    by_upn: dict[str, list[int]] = {}
    for i, (entry, _s, _d) in enumerate(entries):
        for u in (entry.upn, entry.former_upn):
            if u:
                by_upn.setdefault(u, []).append(i)
    records = ((i, _roll_record(entry)) for i, (entry, _school, _taken) in enumerate(entries))
    index = CandidateIndex(records, current_model())
    found: list[int] = []
    for lost in lost_pupils:
        hits: dict[int, tuple[float, MatchHow, str]] = {}
        for u in (lost.pupil.upn, lost.pupil.former_upn):
            for i in by_upn.get(u, []) if u else []:
                hits[i] = (1.0, MatchHow.UPN, "Same UPN")
        for candidate in index.search(lost_pupil_record(lost.pupil), limit=5):
            if candidate.probability >= MATCH_THRESHOLD and candidate.item not in hits:
                hits[candidate.item] = (
                    candidate.probability,
                    MatchHow.MATCHING,
                    candidate.score.explanation,
                )
        for i, hit in hits.items():
            entry, school, taken_on = entries[i]
            if school.pk != lost.pupil.file.source_school_id and _record_match(
                actor, lost, entry, school, taken_on, *hit
            ):
                found.append(i)
    return found


def _roll_record(entry: RollEntry) -> Any:

    p_given, p_family = entry.preferred_given_name, entry.preferred_family_name
    return PersonRecord(
        given_names=entry.legal_given_name,
        family_name=entry.legal_family_name,
        aliases=((p_given, p_family),) if (p_given or p_family) else (),
        dob=entry.dob,
        sex=entry.sex,
        postcode=entry.postcode,
        address=entry.address,
        upns=tuple(u for u in (entry.upn, entry.former_upn) if u),
    )


def _match_against_latest_rolls(actor: Actor, lost: Sequence[LostPupil]) -> int:
    """New lost pupils against every school's latest roll (they may have joined already).

    Uses the matching engine's cached index of the latest rolls (the find-a-child one),
    so a new file costs a few searches, not a rebuild; same UPN is looked up directly."""

    pupils = list(
        LostPupil.objects.filter(pk__in=[x.pk for x in lost]).select_related("pupil__file")
    )
    latest = RollEntry.objects.filter(snapshot__in=latest_snapshots())
    if not pupils or not latest.exists():
        return 0
    try:
        index = register_index(adapter_for("roll"), current_model())
    except SearchNotReady:
        # No roll index yet (the worker is building it): same-UPN matches only for now;
        # the lost-pupil check of each later roll's joiners still goes through the engine.
        import logging

        logging.getLogger(__name__).warning(
            "lost pupils: no roll search index yet, matched by UPN only"
        )
        index = None
    hits: list[tuple[LostPupil, int, float, MatchHow, str]] = []
    for row in pupils:
        upns = [u for u in (row.pupil.upn, row.pupil.former_upn) if u]
        same = set(
            latest.filter(Q(upn__in=upns) | Q(former_upn__in=upns)).values_list("pk", flat=True)
        )
        hits += [(row, pk, 1.0, MatchHow.UPN, "Same UPN") for pk in same]
        for candidate in index.search(lost_pupil_record(row.pupil), limit=5) if index else ():
            if candidate.probability >= MATCH_THRESHOLD and candidate.item.pk not in same:
                hits.append(
                    (
                        row,
                        candidate.item.pk,
                        candidate.probability,
                        MatchHow.MATCHING,
                        candidate.score.explanation,
                    )
                )
    entries = RollEntry.objects.select_related("snapshot__school").in_bulk(
        [pk for _r, pk, *_ in hits]
    )
    found = 0
    for row, pk, probability, how, why in hits:
        entry = entries.get(pk)
        if entry is None or entry.snapshot.school_id == row.pupil.file.source_school_id:
            continue
        found += _record_match(
            actor, row, entry, entry.snapshot.school, entry.snapshot.taken_on, probability, how, why
        )
    return found


def lost_pupils_check_rolls(
    *, actor: Actor, snapshots: Sequence[RollSnapshot] | None = None
) -> int:
    """Check the joiners of every roll snapshot not yet checked (or changed since) against
    the lost-pupil area; returns the number of new possible matches. Joiners are the pupils
    on a snapshot who were not on the school's snapshot before it (all of them for a
    school's first snapshot). The joiners of every snapshot checked go into one index, so
    a term's rolls cost one pass. Run after every roll import (``cmetrack
    lost_pupils_match``, and by the CTF roll importer); checking twice finds nothing new."""

    checked = dict(RollCheck.objects.values_list("snapshot_id", "content_hash"))
    todo = (
        list(snapshots)
        if snapshots is not None
        else list(RollSnapshot.objects.select_related("school").order_by("taken_on", "pk"))
    )
    todo = [s for s in todo if s.pk not in checked or checked[s.pk] != s.content_hash]
    if not todo:
        return 0
    lost = _open_lost()
    with transaction.atomic():
        entries: list[tuple[RollEntry, Organisation, date]] = []
        owner: list[int] = []  # the position in ``todo`` of each entry's snapshot
        joiners: list[int] = []
        for n, snapshot in enumerate(todo):
            earlier = previous_snapshot(snapshot)
            new = (
                list(joiners_and_leavers(earlier, snapshot)[0])
                if earlier is not None
                else list(snapshot.entries.all())
            )
            joiners.append(len(new))
            entries += [(e, snapshot.school, snapshot.taken_on) for e in new]
            owner += [n] * len(new)
        found = _match(actor, lost, entries) if lost else []
        per_snapshot = [0] * len(todo)
        for i in found:
            per_snapshot[owner[i]] += 1
        for n, snapshot in enumerate(todo):
            RollCheck.objects.update_or_create(
                snapshot=snapshot,
                defaults={
                    "content_hash": snapshot.content_hash,
                    "checked_at": timezone.now(),
                    "joiners": joiners[n],
                    "matches": per_snapshot[n],
                },
            )
    return len(found)


# --- search, forward, export, download ---------------------------------------------------


def lost_pupils_search(
    *, actor: Actor, query: Any, request: SearchRequest | None = None
) -> list[Any]:
    """Search the lost-pupil area through the matching engine (audited there), logged."""

    user = _require_officer(actor)
    results = search_children(user=user, query=query, actor=actor, registers=["lost_pupils"])
    with transaction.atomic():
        _event(
            actor,
            EventKind.SEARCH,
            request=request,
            detail=f"Searched the lost-pupil area ({len(results)} possible matches)",
        )
    return results


def _child_for(row: CtfPupil) -> Child | None:
    upns = [u for u in (row.upn, row.former_upn) if u]
    if not upns:
        return None
    return Child.objects.filter(Q(upn__in=upns) | Q(former_upns__upn__in=upns)).distinct().first()


def _has_restricted(child: Child | None) -> bool:
    return child is not None and child.addresses.filter(is_restricted=True).exists()


def _school_ref(school: Organisation) -> ctf.SchoolRef:
    if not school.laestab:
        raise ValidationError({"school": f"{school.name} has no LAESTAB, so no CTF can go to it"})
    assert school.local_authority is not None
    return ctf.SchoolRef(
        lea=school.local_authority.code, estab=school.estab_number, name=school.name
    )


def _next_serial(source: ctf.SchoolRef, dest: ctf.SchoolRef) -> int:
    sent = CtfFile.objects.filter(
        direction=Direction.SENT,
        source_lea=source.lea,
        source_estab=source.estab,
        dest_lea=dest.lea,
        dest_estab=dest.estab,
    ).count()
    return sent % 999 + 1


def _send(
    *,
    actor: Actor,
    source: ctf.SchoolRef,
    dest_school: Organisation,
    pupil: ctf.CtfPupil,
    child: Child | None,
    suppinfo: str,
    kind: EventKind,
    from_pupil: CtfPupil | None = None,
    request: SearchRequest | None = None,
) -> CtfFile:
    if _has_restricted(child):
        pupil = ctf.without_addresses(pupil)
    dest = _school_ref(dest_school)
    serial = _next_serial(source, dest)
    now = timezone.localtime()
    # The full header (rules.md §7): the source's academic year is the one the school sent,
    # or the current one for a file the authority makes.
    if not source.academic_year:
        source = replace(source, academic_year=ctf.academic_year_of(now.date()))
    document = ctf.CtfDocument(
        header=ctf.CtfHeader(
            version=ctf.DEFAULT_VERSION,
            date_time=now.strftime("%Y-%m-%dT%H:%M:%S"),
            qualifier="partial",
            supplier_id="cmetrack",
            source=source,
            dest=dest,
            suppinfo=suppinfo,
        ),
        pupils=(pupil,),
    )
    content = ctf.write_ctf(document)
    if child is not None:
        _assert_no_restricted(content, child)
    name = ctf.ctf_file_name(source, dest, serial)
    sent = CtfFile.objects.create(
        direction=Direction.SENT,
        file_name=name,
        content=content,
        content_hash=hashlib.sha256(content).hexdigest(),
        version=ctf.DEFAULT_VERSION,
        document_date=document.header.date_time,
        qualifier="partial",
        source_lea=source.lea,
        source_estab=source.estab,
        source_name=source.name[:200],
        dest_lea=dest.lea,
        dest_estab=dest.estab,
        dest_school=dest_school,
        destination_kind=DestinationKind.SCHOOL,
        suppinfo=suppinfo,
        pupil_count=1,
        created_by=actor.user,
        created_by_label=actor.display[:254],
        created_by_organisation=getattr(actor.user, "organisation", None),
        from_pupil=from_pupil,
        child=child,
        request=request,
        serial=serial,
    )
    _event(
        actor,
        kind,
        file=sent,
        request=request,
        detail=f"{name} for {pupil.upn or 'a pupil'} to {dest_school.name}",
        child_id=child.pk if child is not None else None,
    )
    return sent


def _assert_no_restricted(content: bytes, child: Child) -> None:
    """Last guard: no line or postcode of a restricted address is in the outgoing file."""
    text = content.decode("utf-8").upper()
    for address in child.addresses.filter(is_restricted=True):
        for part in (address.line1, address.postcode):
            if part and part.upper() in text:
                raise ValidationError(
                    "This file would include a restricted address, so it was not made."
                )


def lost_pupil_forward(
    *,
    actor: Actor,
    lost: LostPupil,
    school: Organisation,
    request: SearchRequest | None = None,
) -> CtfFile:
    """Forward a lost pupil's file to the school that admitted them: a CTF from the
    school the pupil left to that school, with everything the old school sent (never a
    restricted address), for the school to download."""
    _require_officer(actor)
    if school.kind != OrganisationKind.SCHOOL:
        raise ValidationError({"school": "Choose a school"})
    if request is not None and request.school_id != school.pk:
        raise ValidationError({"school": "Forward the file to the school that asked"})
    row = lost.pupil
    source = _received_source(row.file)
    with transaction.atomic():
        sent = _send(
            actor=actor,
            source=source,
            dest_school=school,
            pupil=stored_pupil(row),
            child=_child_for(row),
            suppinfo=f"Forwarded from the lost-pupil area by {settings.CMETRACK_LA_NAME}",
            kind=EventKind.FORWARD,
            from_pupil=row,
            request=request,
        )
        lost.status = LostPupilStatus.FORWARDED
        lost.closed_at = timezone.now()
        lost.save(update_fields=["status", "closed_at"])
        if request is not None:
            request.status = RequestStatus.FORWARDED
            request.handled_by = actor.user
            request.handled_at = timezone.now()
            request.save(update_fields=["status", "handled_by", "handled_at"])
    return sent


def child_ctf_export(*, actor: Actor, child: Child, school: Organisation) -> CtfFile:
    """A CTF for a child with a case, for the school that admits them. Built from the
    child's record (names, date of birth, UPNs, current address unless restricted,
    parents) and, if a transfer file for the child was received, everything else it held.
    A child with any restricted address has no address at all in the file."""

    user = _require_officer(actor)
    if not children_visible_to(user).filter(pk=child.pk).exists():
        raise PermissionDenied("You cannot see this child's record.")
    upns = [u for u in [child.upn, *child.former_upns.values_list("upn", flat=True)] if u]
    previous = (
        CtfPupil.objects.filter(Q(upn__in=upns) | Q(former_upn__in=upns))
        .filter(file__direction=Direction.RECEIVED)
        .select_related("file")
        .order_by("-file__created_at", "-pk")
        .first()
        if upns
        else None
    )
    base = stored_pupil(previous) if previous is not None else ctf.CtfPupil()
    pupil = _pupil_from_child(child, base)
    if previous is not None:
        source = _received_source(previous.file)
    else:
        # The authority's own file: its LA code, no establishment, its name.
        source = ctf.SchoolRef(
            lea=str(settings.CMETRACK_LA_CODE)[:3], estab="0000", name=settings.CMETRACK_LA_NAME
        )
    with transaction.atomic():
        return _send(
            actor=actor,
            source=source,
            dest_school=school,
            pupil=pupil,
            child=child,
            suppinfo="Sent by the local authority's children missing education team",
            kind=EventKind.EXPORT,
        )


def _received_source(file: CtfFile) -> ctf.SchoolRef:
    """The source school of a received file as the school sent it (its header, academic
    year included); the stored columns if the file cannot be read again."""
    try:
        source = ctf.read_ctf(bytes(file.content)).header.source
    except (ctf.CtfError, XmlRejected, ValueError):
        source = ctf.SchoolRef()
    return ctf.SchoolRef(
        lea=source.lea or file.source_lea,
        estab=source.estab or file.source_estab,
        name=source.name or file.source_name,
        academic_year=source.academic_year,
    )


def _school_history(child: Child) -> dict[str, Any] | None:
    """``<SchoolHistory>`` from what the child's cases know: each last known school with a
    LAESTAB, with the date of last known education as the leaving date."""
    schools: list[dict[str, Any]] = []
    seen: set[int] = set()
    cases = Case.objects.filter(child=child, last_education_school__isnull=False).order_by(
        "date_referred", "pk"
    )
    for case in cases.select_related("last_education_school__local_authority"):
        school = case.last_education_school
        if school is None or school.pk in seen or not school.laestab:
            continue
        seen.add(school.pk)
        c: list[dict[str, Any]] = [
            {"n": "LEA", "t": school.local_authority.code if school.local_authority else ""},
            {"n": "Estab", "t": school.estab_number},
            {"n": "SchoolName", "t": school.name},
        ]
        if case.last_education_date:
            c.append({"n": "LeavingDate", "t": case.last_education_date.isoformat()})
        schools.append({"n": "School", "c": c})
    return {"n": "SchoolHistory", "c": schools} if schools else None


def _sen_history(child: Child) -> dict[str, Any] | None:
    """``<SENhistory>`` with the child's current SEN provision (E or K), if any."""
    if child.sen_provision not in ("E", "K"):
        return None
    return {"n": "SENhistory", "c": [{"n": "SEN", "c": [
        {"n": "SENprovision", "t": child.sen_provision}
    ]}]}  # fmt: skip


def _pupil_from_child(child: Child, base: ctf.CtfPupil) -> ctf.CtfPupil:
    former = list(child.former_upns.values_list("upn", flat=True))
    aliases = list(child.aliases.all())
    preferred = next((a for a in aliases if a.alias_type == "known_as"), None)
    previous_name = next((a for a in aliases if a.alias_type == "previous_name"), None)
    current = next((a for a in child.addresses.all() if a.is_current), None)
    address = base.address
    if current is not None and not current.is_restricted:
        lines = tuple(x for x in (current.line1, current.line2, current.town) if x)
        address = ctf.CtfAddress(lines=lines, postcode=current.postcode.upper(), tree=None)
    contacts = _contacts_tree(child) if child.parents_carers.exists() else None
    sections = [(k, t) for k, t in base.sections if not (k == "Contacts" and contacts)]
    if contacts:
        sections.append(("Contacts", contacts))
    # What the school sent stays; what the authority knows fills the gaps (issue 17).
    held = {k for k, _ in sections}
    gaps = (("SchoolHistory", _school_history(child)), ("SENhistory", _sen_history(child)))
    for name, tree in gaps:
        if tree is not None and name not in held:
            sections.append((name, tree))
    basic = list(base.basic_details)
    if child.ethnicity and not any(t.get("n") == "Ethnicity" for t in basic):
        basic.append({"n": "Ethnicity", "t": child.ethnicity})
    nc_year = base.nc_year
    if not nc_year and child.dob is not None:
        year = national_curriculum_year(child.dob, int(ctf.academic_year_of(timezone.localdate())))
        nc_year = "R" if year == 0 else str(year) if 1 <= year <= 14 else ""
    return replace(
        base,
        basic_details=tuple(basic),
        nc_year=nc_year,
        upn=child.upn or base.upn,
        surname=child.legal_family_name,
        forename=child.legal_given_names,
        middle_names=child.legal_middle_names,
        dob=child.dob or base.dob,
        sex=child.sex or base.sex,
        former_upn=(former[0] if former else base.former_upn),
        preferred_surname=(preferred.family_name if preferred else base.preferred_surname),
        preferred_forename=(preferred.given_names if preferred else base.preferred_forename),
        former_surname=(previous_name.family_name if previous_name else base.former_surname),
        address=address,
        sections=tuple(sections),
    )


#: Our relationships as CTF contact relationship codes (DfE common basic data set).
_RELATIONSHIP_CODES = {
    "mother": "PAR",
    "father": "PAR",
    "step_parent": "STP",
    "grandparent": "REL",
    "other_relative": "REL",
    "foster_carer": "CAR",
    "corporate_parent": "SWR",
}


def _contacts_tree(child: Child) -> dict[str, Any]:
    contacts = []
    for order, p in enumerate(child.parents_carers.all(), start=1):
        c: list[dict[str, Any]] = [
            {"n": "Order", "t": str(order)},
            {"n": "Surname", "t": p.family_name},
            {"n": "Forename", "t": p.given_names},
            {"n": "Relationship", "t": _RELATIONSHIP_CODES.get(p.relationship, "OTH")},
            {"n": "Responsibility", "t": "true" if p.parental_responsibility else "false"},
        ]
        if p.phone:
            c.append(
                {
                    "n": "Phones",
                    "c": [
                        {
                            "n": "Phone",
                            "c": [
                                {"n": "TelephoneType", "t": "H"},
                                {"n": "TelephoneNumber", "t": p.phone},
                            ],
                        }
                    ],
                }
            )
        if p.email:
            c.append({"n": "Email", "t": p.email})
        contacts.append({"n": "Contact", "c": c})
    return {"n": "Contacts", "c": contacts}


def ctf_file_download(*, actor: Actor, file: CtfFile) -> bytes:
    """The file's bytes, for someone allowed to have it (see selectors), logged."""
    user = actor.user
    if user is None or not files_visible_to(user).filter(pk=file.pk).exists():
        raise PermissionDenied("You cannot download this file.")
    with transaction.atomic():
        _event(
            actor,
            EventKind.DOWNLOAD,
            file=file,
            detail=file.file_name,
            child_id=file.child_id,
        )
    return bytes(file.content)


# --- requests from schools ---------------------------------------------------------------


def search_request_create(
    *,
    actor: Actor,
    given_names: str,
    family_name: str,
    dob: date,
    admitted_on: date,
    sex: str = "",
    upn: str = "",
    other_names: str = "",
    previous_school: str = "",
) -> SearchRequest:
    """A school asks the authority to search the lost-pupil area for a pupil it admitted."""
    school = _school_of(actor.user)
    if school is None or actor.user is None:
        raise PermissionDenied("Only a school can ask the authority to search for a pupil.")
    upn = upn.replace(" ", "").upper()
    if upn:
        try:
            validate_upn(upn)
        except InvalidUPN as exc:
            raise ValidationError({"upn": f"Enter a real UPN, or leave it blank ({exc})"}) from exc
    if dob > timezone.localdate():
        raise ValidationError({"dob": "Date of birth must be in the past"})
    with transaction.atomic():
        request = SearchRequest.objects.create(
            school=school,
            requested_by=actor.user,
            given_names=given_names.strip()[:100],
            family_name=family_name.strip()[:100],
            other_names=other_names.strip()[:200],
            dob=dob,
            sex=sex,
            upn=upn,
            admitted_on=admitted_on,
            previous_school=previous_school.strip()[:200],
        )
        _event(actor, EventKind.REQUEST, request=request, detail=f"Request from {school.name}")
    return request


def search_request_not_found(*, actor: Actor, request: SearchRequest, note: str) -> SearchRequest:
    _require_officer(actor)
    if request.status != RequestStatus.OPEN:
        raise ValidationError("This request has already been answered.")
    with transaction.atomic():
        request.status = RequestStatus.NOT_FOUND
        request.note = note[:500]
        request.handled_by = actor.user
        request.handled_at = timezone.now()
        request.save(update_fields=["status", "note", "handled_by", "handled_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=request,
            summary="Answered a school's search request: no file found",
        )
    return request


def lost_pupil_close(*, actor: Actor, lost: LostPupil, reason: str) -> LostPupil:
    """Take a pupil out of the lost-pupil area (found some other way), with the reason."""
    _require_officer(actor)
    if not reason.strip():
        raise ValidationError({"reason": "Enter why this pupil is no longer lost"})
    with transaction.atomic():
        lost.status = LostPupilStatus.CLOSED
        lost.closed_at = timezone.now()
        lost.save(update_fields=["status", "closed_at"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=lost,
            summary=f"Closed lost pupil {lost.pupil.upn}: {reason.strip()}"[:300],
        )
    return lost
