"""API for the monitoring figures: the same numbers as the report pages, counts only.

Open to the roles that see reports (CME officers, managers, auditors); others get 403.
The cases behind a figure are not served here: they are on the pages, through the
caller's case scope.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, QueryDict
from ninja import Router, Schema
from ninja.errors import HttpError

from cmetrack.accounts.models import User

from . import dfe
from . import presenters as pr
from . import selectors as sel
from .periods import Season
from .stats import pace_stats

router = Router(tags=["Reports"])


class BucketOut(Schema):
    key: str
    label: str
    count: int


class FigureOut(Schema):
    key: str
    title: str
    how: str
    unit: str
    kind: str
    total: int
    dimensions: list[str]


class BreakdownOut(FigureOut):
    dimension: str
    buckets: list[BucketOut]


class PaceOut(Schema):
    measure: str
    title: str
    cases: int
    mean: float | None
    median: float | None
    mode: int | None
    modes: list[int]
    minimum: int | None
    maximum: int | None
    over_threshold: int


class DfeRowOut(Schema):
    data_item: str
    breakdown_topic: str
    breakdown: str
    child_count: int


def _filters(
    request: HttpRequest, as_at: dt.date | None, start: dt.date | None, end: dt.date | None
) -> pr.Filters:
    user: User = request.auth  # type: ignore[attr-defined]
    if not sel.may_see_reports(user):
        raise HttpError(403, "You cannot see reports.")
    q = QueryDict(mutable=True)
    for k, v in (("as_at", as_at), ("from", start), ("to", end)):
        if v is not None:
            q[k] = v.isoformat()
    return pr.Filters.from_query(q)


def _figure_out(f: sel.Figure, filters: pr.Filters) -> dict[str, object]:
    return {
        "key": f.key,
        "title": f.title,
        "how": f.how,
        "unit": f.unit,
        "kind": f.kind,
        "total": sel.figure_total(f, filters.params),
        "dimensions": list(f.dimensions),
    }


@router.get("/reports/figures", response=list[FigureOut])
def figures(
    request: HttpRequest,
    as_at: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[dict[str, object]]:
    """Every figure's total, as at a date (``as_at``) or in a period (``start``–``end``)."""
    filters = _filters(request, as_at, start, end)
    return [_figure_out(f, filters) for f in sel.FIGURES.values()]


@router.get("/reports/figures/{key}", response=BreakdownOut)
def figure(
    request: HttpRequest,
    key: str,
    dimension: str = "",
    as_at: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> dict[str, object]:
    filters = _filters(request, as_at, start, end)
    f = sel.FIGURES.get(key)
    if f is None:
        raise HttpError(404, "No such figure")
    dimension = dimension or f.dimensions[0]
    if dimension not in f.dimensions:
        raise HttpError(404, "No such breakdown")
    buckets = sel.breakdown(f, dimension, filters.params)
    return {
        **_figure_out(f, filters),
        "dimension": dimension,
        "buckets": [{"key": b.key, "label": b.label, "count": b.count} for b in buckets],
    }


@router.get("/reports/pace", response=list[PaceOut])
def pace(
    request: HttpRequest,
    start: dt.date | None = None,
    end: dt.date | None = None,
    threshold: int | None = None,
) -> list[dict[str, object]]:
    filters = _filters(request, None, start, end)
    limit = pr.default_threshold() if threshold is None else threshold
    out = []
    for m in sel.PACE_MEASURES.values():
        histogram, _ = sel.pace_histogram(m, filters.period)
        s = pace_stats(histogram)
        out.append(
            {
                "measure": m.key,
                "title": m.title,
                "cases": s.cases,
                "mean": s.mean,
                "median": s.median,
                "mode": s.mode,
                "modes": list(s.modes),
                "minimum": s.minimum,
                "maximum": s.maximum,
                "over_threshold": sum(n for d, n in histogram.items() if d > limit),
            }
        )
    return out


@router.get("/reports/dfe-return", response=list[DfeRowOut])
def dfe_return(request: HttpRequest, season: Season, year: int) -> list[dict[str, object]]:
    _filters(request, None, None, None)
    ret = dfe.dfe_return(season, year)
    return [
        {"data_item": r[0], "breakdown_topic": r[6], "breakdown": r[7], "child_count": r[8]}
        for r in ret.csv_rows()
    ]
