"""API for the monitoring figures: the same numbers as the report pages, counts only.

Open to the roles that see reports (CME officers, managers, auditors); others get 403.
The cases behind a figure are not served here: they are on the pages, through the
caller's case scope.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Router, Schema
from ninja.errors import HttpError

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.kit.problems import InputSchema, Problem, problems, run_write

from . import dfe, services
from . import presenters as pr
from . import selectors as sel
from .models import DfeSubmission
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


class DfeSubmissionOut(Schema):
    id: int
    season: str
    year: int
    census: dt.date
    filename: str
    sha256: str
    rows: int
    notes: str
    submitted_at: dt.datetime
    submitted_by: str = Field(alias="submitted_by_label")
    download: str

    @staticmethod
    def resolve_download(obj: DfeSubmission) -> str:
        return reverse("reports:dfe-submission", args=[obj.pk])


class DfeSubmitIn(InputSchema):
    season: Season
    year: int
    notes: str = ""


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


@router.get(
    "/reports/figures",
    response={200: list[FigureOut], **problems(403)},
    summary="Every figure's total",
    operation_id="report_figures",
)
def figures(
    request: HttpRequest,
    as_at: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[dict[str, object]]:
    """Every figure's total, as at a date (``as_at``) or in a period (``start``–``end``)."""
    filters = _filters(request, as_at, start, end)
    return [_figure_out(f, filters) for f in sel.FIGURES.values()]


@router.get(
    "/reports/figures/{key}",
    response={200: BreakdownOut, **problems(403, 404)},
    summary="One figure broken down by a dimension",
    operation_id="report_figure",
)
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


@router.get(
    "/reports/pace",
    response={200: list[PaceOut], **problems(403)},
    summary="Pace: days between the statutory dates, per measure",
    operation_id="report_pace",
)
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


@router.get(
    "/reports/dfe-return",
    response={200: list[DfeRowOut], **problems(403)},
    summary="The DfE termly return's rows",
    operation_id="report_dfe_return",
)
def dfe_return(request: HttpRequest, season: Season, year: int) -> list[dict[str, object]]:
    _filters(request, None, None, None)
    ret = dfe.dfe_return(season, year)
    return [
        {"data_item": r[0], "breakdown_topic": r[6], "breakdown": r[7], "child_count": r[8]}
        for r in ret.csv_rows()
    ]


@router.get(
    "/reports/dfe-return/submissions",
    response={200: list[DfeSubmissionOut], **problems(403)},
    summary="The DfE returns submitted for a term, kept as submitted",
    operation_id="report_dfe_submissions",
)
def dfe_submissions(request: HttpRequest, season: Season, year: int) -> list[DfeSubmission]:
    _filters(request, None, None, None)
    return list(DfeSubmission.objects.filter(season=season.value, year=year).defer("content"))


@router.post(
    "/reports/dfe-return/submissions",
    response={201: DfeSubmissionOut, 422: Problem, **problems(403)},
    summary="Submit the term's DfE return: its file is kept byte for byte, with who and when",
    operation_id="report_dfe_submit",
)
def dfe_submit(request: HttpRequest, payload: DfeSubmitIn) -> object:
    user: User = request.auth  # type: ignore[attr-defined]
    if not sel.may_manage_reports(user):
        raise HttpError(403, "Only managers and senior managers submit the DfE return.")
    return run_write(
        lambda: services.dfe_return_submit(
            actor=Actor.from_request(request),
            season=payload.season,
            year=payload.year,
            notes=payload.notes,
        )
    )


@router.get(
    "/reports/dfe-return/submissions/{submission_id}/file",
    response={200: None, **problems(403, 404)},
    summary="A submitted DfE return's file, byte for byte as submitted (audited)",
    operation_id="report_dfe_submission_file",
)
def dfe_submission_file(request: HttpRequest, submission_id: int) -> HttpResponse:
    _filters(request, None, None, None)
    submission = get_object_or_404(DfeSubmission, pk=submission_id)
    return services.dfe_submission_download(
        actor=Actor.from_request(request), submission=submission
    )
