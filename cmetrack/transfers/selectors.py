"""Scoped reads of transfer files, the lost-pupil area and search requests.

CME officers and managers see everything here. A school sees the files it uploaded,
the files sent to it, and its own search requests; nothing else (no other school's
files, nothing in the lost-pupil area). Other roles see nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.organisations.models import Organisation, OrganisationKind

from .models import (
    CtfFile,
    Direction,
    EventKind,
    LostPupil,
    LostPupilStatus,
    SearchRequest,
    TransferEvent,
)

#: Who works with every file (CME officers and managers).
OFFICER_ROLES = ALL_CASES_ROLES


def _school_of(user: User | None) -> Organisation | None:
    if user is None or not user.has_role(Role.SCHOOL_USER):
        return None
    org = user.organisation
    return org if org is not None and org.kind == OrganisationKind.SCHOOL else None


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def files_visible_to(user: User) -> QuerySet[CtfFile]:
    if not _active(user):
        return CtfFile.objects.none()
    if user.has_role(*OFFICER_ROLES):
        return CtfFile.objects.all()
    school = _school_of(user)
    if school is None:
        return CtfFile.objects.none()
    return CtfFile.objects.filter(
        Q(direction=Direction.SENT, dest_school=school)
        | Q(direction=Direction.RECEIVED, created_by_organisation=school)
    )


def lost_pupils_visible_to(user: User, *, include_closed: bool = False) -> QuerySet[LostPupil]:
    if not _active(user) or not user.has_role(*OFFICER_ROLES):
        return LostPupil.objects.none()
    qs = LostPupil.objects.select_related("pupil__file__source_school")
    if not include_closed:
        qs = qs.exclude(status=LostPupilStatus.CLOSED)
    return qs


def requests_visible_to(user: User) -> QuerySet[SearchRequest]:
    if not _active(user):
        return SearchRequest.objects.none()
    qs = SearchRequest.objects.select_related("school", "requested_by")
    if user.has_role(*OFFICER_ROLES):
        return qs
    school = _school_of(user)
    if school is None:
        return SearchRequest.objects.none()
    return qs.filter(school=school)


def may_use_lost_pupil_area(user: User) -> bool:
    return _active(user) and user.has_role(*OFFICER_ROLES)


def may_ask_for_search(user: User) -> bool:
    return _active(user) and _school_of(user) is not None


def may_upload_page(user: User) -> bool:
    return _active(user) and (
        user.has_role(*OFFICER_ROLES, Role.ADMINISTRATOR) or _school_of(user) is not None
    )


@dataclass(frozen=True)
class MonthActivity:
    """One month of transfer-file activity (self-evaluation checklist evidence)."""

    month: date
    uploads: int = 0
    downloads: int = 0
    searches: int = 0
    forwards: int = 0
    exports: int = 0
    requests: int = 0
    matches: int = 0


_FIELDS = {
    EventKind.UPLOAD: "uploads",
    EventKind.DOWNLOAD: "downloads",
    EventKind.SEARCH: "searches",
    EventKind.FORWARD: "forwards",
    EventKind.EXPORT: "exports",
    EventKind.REQUEST: "requests",
    EventKind.MATCH: "matches",
}


def activity_by_month(start: date | None = None, end: date | None = None) -> list[MonthActivity]:
    """Counts of uploads, downloads, searches, forwards (and exports, requests, automatic
    matches) per calendar month, oldest first, from ``start`` to ``end`` inclusive (dates
    of events). Months with nothing are listed as zero between the first and last month.
    One grouped query; reports link to this as the monthly upload/download evidence."""
    qs = TransferEvent.objects.all()
    if start is not None:
        qs = qs.filter(at__date__gte=start)
    if end is not None:
        qs = qs.filter(at__date__lte=end)
    rows = qs.annotate(month=TruncMonth("at")).values("month", "kind").annotate(n=Count("pk"))
    counts: dict[date, dict[str, int]] = {}
    for row in rows:
        month = row["month"]
        month = month.date() if hasattr(month, "date") else month
        counts.setdefault(month, {})[_FIELDS[EventKind(row["kind"])]] = row["n"]
    first = start.replace(day=1) if start else min(counts, default=None)
    last = end.replace(day=1) if end else max(counts, default=None)
    if first is None or last is None:
        return []
    out = []
    month = first
    while month <= last:
        out.append(MonthActivity(month=month, **counts.get(month, {})))
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return out


def lost_pupil_get_for_view(*, actor: Actor, lost_id: int) -> LostPupil:
    """One lost pupil for display, audited as a read of personal data; raises
    ``LostPupil.DoesNotExist`` when out of scope (the page shows 404)."""
    assert actor.user is not None, "a person reads a lost pupil's record"
    lost = lost_pupils_visible_to(actor.user, include_closed=True).get(pk=lost_id)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=lost,
        summary=f"Viewed lost pupil {lost.pupil.upn}",
    )
    return lost
