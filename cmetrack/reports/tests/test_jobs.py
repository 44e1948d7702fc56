from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.reports.jobs import termly_report_due
from cmetrack.reports.models import TermlyReport

pytestmark = pytest.mark.django_db


def test_no_termly_report_before_the_census_day() -> None:
    # Autumn 2026's census day is Thursday 1 October.
    assert "not passed yet" in termly_report_due(dt.date(2026, 10, 1))
    assert not TermlyReport.objects.exists()


@pytest.mark.pdf
def test_the_termly_report_is_issued_once_after_the_census_day() -> None:
    assert "issued" in termly_report_due(dt.date(2026, 10, 2))
    report = TermlyReport.objects.get()
    assert (report.season, report.year, report.as_at) == ("autumn", 2026, dt.date(2026, 10, 1))
    assert report.issued_by is None
    assert report.issued_by_label == "system: termly report (scheduled)"
    assert "already issued" in termly_report_due(dt.date(2026, 10, 3))
    assert TermlyReport.objects.count() == 1
