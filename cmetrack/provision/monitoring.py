"""Attendance in the new provision, from the attendance feed, and the closing rule.

After the start, the case closes as "attending new provision" only when the child has
``monitoring_school_days()`` school days of marks at the provider since the start date,
with attendance over them of at least ``monitoring_threshold_percent()`` (settings, see
:mod:`cmetrack.provision.conf`). :func:`attending_close_refusal` is called by
``cases.services.case_close`` and names the rule when it refuses.

Marks are read from the detection app's attendance store
(``<attendance_dir>/school=<LAESTAB>/year=<YYYY>/``: the compacted ``marks.parquet`` and
the deltas of later imports, see :mod:`cmetrack.detection.store`) with DuckDB, for the
one pupil and school, from the start date.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from cmetrack.cases.models import Case
from cmetrack.detection import engine, store
from cmetrack.detection.importers import attendance_dir
from cmetrack.kit.dates import govuk_date
from cmetrack.organisations.models import Organisation
from cmetrack.schoolcalendar.selectors import school_days

from . import conf
from .models import Placement
from .rules import MonitoringResult, monitoring_result


def marks_for(provider: Organisation, upn: str, since: dt.date) -> list[tuple[dt.date, str, str]]:
    """The pupil's marks at ``provider`` on or after ``since``, from the attendance feed."""

    laestab = provider.laestab
    if not laestab or not upn:
        return []
    if store.store_files(attendance_dir(), laestabs=[laestab]).empty:
        return []
    con = engine.connect(threads=1)
    try:
        # The school's compacted marks and the deltas of later imports (the newest wins).
        store.create_store_view(con, attendance_dir(), laestabs=[laestab])
        rows = con.execute(
            "SELECT d, session, code FROM marks WHERE upn = ? AND laestab = ? AND d >= ? "
            "ORDER BY d, session",
            [upn, laestab, since],
        ).fetchall()
    finally:
        con.close()
    return [(row[0], str(row[1]), str(row[2])) for row in rows]


@dataclass(frozen=True)
class Monitoring:
    """What the monitoring panel shows, and what the closing rule decides."""

    provider: Organisation
    started_on: dt.date
    upn: str
    result: MonitoringResult

    @property
    def rule(self) -> str:
        return (
            f"a case closes as attending new provision only after {self.result.required_days} "
            f"school days of attendance at the new provider with attendance of at least "
            f"{self.result.threshold_percent:g}%"
        )

    @property
    def progress(self) -> str:
        r = self.result
        if not self.upn:
            return (
                "The child has no UPN recorded at the provider, so the attendance feed cannot "
                "be read: record the UPN when recording the start."
            )
        if r.possible == 0:
            return (
                f"No attendance marks for UPN {self.upn} at {self.provider} since "
                f"{govuk_date(self.started_on)} have been imported yet."
            )
        return (
            f"{r.school_days} school days recorded since {govuk_date(self.started_on)} "
            f"(latest {govuk_date(r.last_mark)}), attendance {r.percent:.1f}%."
        )


def monitoring_for(case: Case, today: dt.date | None = None) -> Monitoring | None:
    """Attendance at the provider the child moved into, or None before the start."""
    if case.provider_id is None or case.date_moved_into_provision is None:
        return None
    today = today or timezone.localdate()
    placement = (
        Placement.objects.filter(case=case, provider_id=case.provider_id)
        .order_by("-started_on", "-id")
        .first()
    )
    provider = case.provider
    assert provider is not None
    started = case.date_moved_into_provision
    upn = (placement.upn if placement is not None else "") or (case.child.upn or "")
    marks = marks_for(provider, upn, started) if upn else []
    result = monitoring_result(
        marks,
        school_days(provider, started, today),
        started_on=started,
        required_days=conf.monitoring_school_days(),
        threshold_percent=conf.monitoring_threshold_percent(),
    )
    return Monitoring(provider=provider, started_on=started, upn=upn, result=result)


def attending_close_refusal(case: Case) -> str | None:
    """Why ``case`` may not close as attending new provision yet, or None if it may."""
    monitoring = monitoring_for(case)
    if monitoring is None:
        return "To close a case as attending provision, record the move into provision first."
    if monitoring.result.may_close:
        return None
    rule = monitoring.rule
    return f"Not yet: {rule[0].lower()}{rule[1:]}. {monitoring.progress}"
