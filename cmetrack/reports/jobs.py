"""Scheduled work of the reports app (run by ``cmetrack worker``)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.jobs.registry import register_schedule

from .models import TermlyReport
from .periods import census_day, term_containing
from .services import termly_report_issue


def termly_report_due(today: dt.date | None = None) -> str:
    """Daily: once this term's census day has passed, issue the term's report (figures as
    at the census day) if none has been issued for the term yet."""
    today = today or timezone.localdate()
    season, year = term_containing(today)
    census = census_day(season, year)
    if today <= census:
        return f"termly report: {season.value} {year} census day {census} not passed yet"
    if TermlyReport.objects.filter(season=season.value, year=year).exists():
        return f"termly report: {season.value} {year} already issued"
    report = termly_report_issue(
        actor=Actor.system("termly report (scheduled)"),
        season=season,
        year=year,
        as_at=census,
        notes=f"Issued automatically after the census day ({census:%d %B %Y}).",
    )
    return f"termly report: issued {report.title} (report {report.pk})"


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

# Each day: has this term's census day passed with no report issued yet?
register_schedule(
    "termly-report", "cmetrack.reports.jobs.termly_report_due", daily_at=dt.time(7, 0)
)
