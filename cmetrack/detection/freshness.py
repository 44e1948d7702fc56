"""Feed freshness (issue 18, item 4): each school's latest data per feed, and how far behind.

Attendance is the feed that matters day to day: a school whose latest mark is more than
``CMETRACK_FEED_STALE_SCHOOL_DAYS`` school days old (default 3; school days from the school
calendar) is *behind*: its open runs of absence are frozen at that date. The page
(``/alerts/feeds/``) lists every school; the scheduled job
(:func:`cmetrack.detection.jobs.attendance_feeds_stale_tell`) tells the attendance (CME)
team once per school and latest date, never again day after day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.registers.models import RollSnapshot
from cmetrack.schoolcalendar.selectors import school_days_by_school

from .models import (
    AdmissionAllocation,
    AttendancePartition,
    DeletionReturn,
    ImportStatus,
)

#: Default for ``CMETRACK_FEED_STALE_SCHOOL_DAYS``.
DEFAULT_STALE_SCHOOL_DAYS = 3


def stale_school_days() -> int:
    """The setting (the older name if only that is set; 0 is a setting too: any school
    day behind), else :data:`DEFAULT_STALE_SCHOOL_DAYS`."""
    for name in ("CMETRACK_FEED_STALE_SCHOOL_DAYS", "CMETRACK_NOTIFY_STALE_FEED_SCHOOL_DAYS"):
        value = getattr(settings, name, None)
        if value is not None and value != "":
            return int(value)
    return DEFAULT_STALE_SCHOOL_DAYS


@dataclass(frozen=True)
class Freshness:
    school: Organisation
    attendance: date | None
    rolls: date | None
    deletions: date | None
    allocations: date | None
    #: School days since the latest attendance mark, up to yesterday (None: no attendance).
    attendance_school_days_behind: int | None

    def behind(self, limit: int) -> bool:
        return (self.attendance_school_days_behind or 0) > limit


def _latest(rows: Iterable[tuple[int, date | datetime | None]]) -> dict[int, date]:
    """``{school id: date}``; a time is taken as its local date."""
    return {pk: timezone.localdate(d) if isinstance(d, datetime) else d for pk, d in rows if d}


def feed_freshness(*, today: date, school_ids: frozenset[int] | None = None) -> list[Freshness]:
    """Every active school (or those in ``school_ids``) with its latest data per feed."""
    schools = Organisation.objects.filter(kind=OrganisationKind.SCHOOL, is_active=True)
    if school_ids is not None:
        schools = schools.filter(pk__in=school_ids)
    by_pk = {s.pk: s for s in schools.select_related("local_authority").order_by("name")}
    attendance = _latest(
        AttendancePartition.objects.filter(school__in=by_pk)
        .values("school")
        .annotate(last=Max("last_date"))
        .values_list("school", "last")
    )
    rolls = _latest(
        RollSnapshot.objects.filter(school__in=by_pk)
        .values("school")
        .annotate(last=Max("taken_on"))
        .values_list("school", "last")
    )
    deletions = _latest(
        DeletionReturn.objects.filter(school__in=by_pk)
        .values("school")
        .annotate(last=Max("submitted_at"))
        .values_list("school", "last")
    )
    allocations = _latest(
        AdmissionAllocation.objects.filter(
            school__in=by_pk, import_run__status=ImportStatus.SUCCEEDED
        )
        .values("school")
        .annotate(last=Max("import_run__finished_at"))
        .values_list("school", "last")
    )
    behind: dict[int, int] = {}
    if attendance:
        days = school_days_by_school(
            [by_pk[pk] for pk in attendance], min(attendance.values()), today - timedelta(days=1)
        )
        behind = {
            pk: sum(1 for d in days.get(pk, []) if d > last) for pk, last in attendance.items()
        }
    return [
        Freshness(
            school=school,
            attendance=attendance.get(pk),
            rolls=rolls.get(pk),
            deletions=deletions.get(pk),
            allocations=allocations.get(pk),
            attendance_school_days_behind=behind.get(pk),
        )
        for pk, school in by_pk.items()
    ]
