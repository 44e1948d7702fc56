"""Report filters take dates in GOV.UK date inputs (day, month, year), not browser date
pickers; ISO dates in links and exports still work."""

from __future__ import annotations

import datetime as dt

from django.http import QueryDict

from cmetrack.reports.presenters import Filters, query_date

DEFAULT = dt.date(2026, 1, 1)


def test_the_three_boxes_make_the_date() -> None:
    q = QueryDict("as_at-day=31&as_at-month=10&as_at-year=2026")
    assert query_date(q, "as_at", DEFAULT) == dt.date(2026, 10, 31)


def test_an_iso_date_still_works_and_a_bad_one_gives_the_default() -> None:
    assert query_date(QueryDict("as_at=2026-10-31"), "as_at", DEFAULT) == dt.date(2026, 10, 31)
    assert (
        query_date(QueryDict("as_at-day=31&as_at-month=2&as_at-year=2026"), "as_at", DEFAULT)
        == DEFAULT
    )
    assert (
        query_date(QueryDict("as_at-day=1&as_at-month=2&as_at-year=26"), "as_at", DEFAULT)
        == DEFAULT
    )


def test_filters_read_the_period_from_the_boxes() -> None:
    q = QueryDict(
        "as_at-day=20&as_at-month=11&as_at-year=2026"
        "&from-day=1&from-month=9&from-year=2026&to-day=30&to-month=11&to-year=2026"
    )
    f = Filters.from_query(q, today=dt.date(2026, 12, 6))
    assert (f.as_at, f.period.start, f.period.end) == (
        dt.date(2026, 11, 20),
        dt.date(2026, 9, 1),
        dt.date(2026, 11, 30),
    )
    assert f.period.label == "1 September 2026 to 30 November 2026"
