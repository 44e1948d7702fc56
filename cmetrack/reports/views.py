"""Report pages: thin views over the selectors and presenters.

Only CME officers, managers and auditors see reports (others get 403). An auditor sees
counts only: opening a figure shows its count and no case. Officers and managers see the
cases behind a figure through their case scope.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.kit.dates import govuk_date

from . import dfe, issuing, services
from . import presenters as pr
from . import selectors as sel
from .checklist import POINTS, evidence_for
from .models import ChecklistRating, DfeSubmission, Rating, TermlyReport
from .periods import Grain, Season, term_containing

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def reports_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not sel.may_see_reports(_user(request)):
            raise PermissionDenied("You cannot see reports.")
        return view(request, *args, **kwargs)

    return wrapped


def _figure(key: str) -> sel.Figure:
    try:
        return sel.FIGURES[key]
    except KeyError as exc:
        raise Http404("No such figure") from exc


def _base(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    filters = pr.Filters.from_query(request.GET)
    user = _user(request)
    return {
        "filters": filters,
        "may_see_cases": sel.may_see_cases(user),
        "may_manage": sel.may_manage_reports(user),
        "govuk_date": govuk_date,
        **extra,
    }


@reports_view
def dashboard(request: HttpRequest) -> HttpResponse:
    ctx = _base(request)
    filters: pr.Filters = ctx["filters"]
    cme = sel.FIGURES["cme"]

    def count() -> dict[str, Any]:
        return {
            "totals": pr.headline_totals(filters),
            "states": sel.breakdown(cme, "state", filters.params),
            "referrals": sel.referrals_by_route(filters.period),
            "leavers": sel.leavers_without_destination(filters.as_at),
        }

    figures = pr.cached_figures("dashboard", filters, count)
    ctx["headlines"] = pr.headlines(filters, totals=figures["totals"])
    ctx["state_table"] = pr.breakdown_table(cme, "state", filters, buckets=figures["states"])
    ctx["referrals"] = figures["referrals"]
    ctx["leavers"] = figures["leavers"]
    ctx["not_yet_recorded"] = sel.NOT_YET_RECORDED
    ctx["dimensions"] = sel.DIMENSIONS
    return render(request, "reports/dashboard.jinja", ctx)


@reports_view
def figure(request: HttpRequest, key: str) -> HttpResponse:
    fig = _figure(key)
    ctx = _base(request, figure=fig)
    filters: pr.Filters = ctx["filters"]
    dimension = request.GET.get("dimension") or fig.dimensions[0]
    if dimension not in fig.dimensions:
        dimension = fig.dimensions[0]
    ctx["dimension"] = sel.DIMENSIONS[dimension]
    ctx["when"] = filters.describe(fig)
    ctx["table"] = table = pr.breakdown_table(fig, dimension, filters)
    # A child-level attribute puts each child in exactly one bucket: the buckets add up to
    # the total, which saves a second pass over the records.
    ctx["total"] = (
        sum(int(row[1]) for row in table.rows)
        if dimension in sel.PARTITIONING_DIMENSIONS
        else sel.figure_total(fig, filters.params)
    )
    ctx["dimension_links"] = [
        (sel.DIMENSIONS[d].title, pr.figure_url(fig.key, filters, d), d == dimension)
        for d in fig.dimensions
    ]
    ctx["cases_href"] = pr.cases_url(fig.key, filters)
    return render(request, "reports/figure.jinja", ctx)


@reports_view
def figure_cases(request: HttpRequest, key: str) -> HttpResponse:
    fig = _figure(key)
    ctx = _base(request, figure=fig)
    filters: pr.Filters = ctx["filters"]
    dimension = request.GET.get("dimension", "")
    if dimension and dimension not in fig.dimensions:
        raise Http404("No such breakdown")
    value = request.GET.get("value", "")
    base = sel.figure_cases(fig, filters.params, dimension=dimension, value=value)
    label = ""
    if dimension:
        buckets = {b.key: b.label for b in sel.breakdown(fig, dimension, filters.params)}
        label = f"{sel.DIMENSIONS[dimension].title}: {buckets.get(value, value or 'not recorded')}"
    ctx.update(
        dimension=dimension,
        value=value,
        label=label,
        when=filters.describe(fig),
        back=pr.figure_url(fig.key, filters, dimension),
    )
    user = _user(request)
    if sel.may_see_cases(user):
        visible = sel.scoped_cases(user, base.order_by()).order_by("date_referred", "pk")
        page = Paginator(visible, PAGE_SIZE).get_page(request.GET.get("page"))
        ctx["page"] = page
        ctx["page_base"] = request.path + "?" + _without_page(request)
        # Officers and managers see every case, so the list's count is the figure's.
        ctx["count"] = page.paginator.count
    else:
        ctx["count"] = sel.count_cases(base.order_by())
    return render(request, "reports/figure_cases.jinja", ctx)


def _without_page(request: HttpRequest) -> str:
    q = request.GET.copy()
    q.pop("page", None)
    return q.urlencode()


@reports_view
def trends(request: HttpRequest) -> HttpResponse:
    grain = request.GET.get("grain", Grain.MONTH.value)
    if grain not in Grain.__members__.values():
        grain = Grain.MONTH.value
    ctx = _base(request, grain=grain, grains=[g.value for g in Grain])
    ctx["table"] = pr.trend_table(Grain(grain), ctx["filters"])
    return render(request, "reports/trends.jinja", ctx)


def _threshold(request: HttpRequest) -> int:
    try:
        return max(0, min(int(request.GET.get("threshold", "")), 3650))
    except ValueError:
        return pr.default_threshold()


@reports_view
def pace(request: HttpRequest) -> HttpResponse:
    ctx = _base(request, threshold=_threshold(request))
    results = pr.pace_results(ctx["filters"], ctx["threshold"])
    ctx["results"] = results
    ctx["summary"] = pr.pace_summary_table(results)
    return render(request, "reports/pace.jinja", ctx)


@reports_view
def pace_over(request: HttpRequest, measure: str) -> HttpResponse:
    m = sel.PACE_MEASURES.get(measure)
    if m is None:
        raise Http404("No such measure")
    threshold = _threshold(request)
    ctx = _base(request, measure=m, threshold=threshold)
    qs = sel.pace_over(m, ctx["filters"].period, threshold)
    ctx["count"] = sel.count_cases(qs.order_by())
    user = _user(request)
    if sel.may_see_cases(user):
        visible = sel.pace_annotate(sel.scoped_cases(user, qs.order_by()), m).order_by(
            "-days", "pk"
        )
        ctx["page"] = Paginator(visible, PAGE_SIZE).get_page(request.GET.get("page"))
        ctx["page_base"] = request.path + "?" + _without_page(request)
    return render(request, "reports/pace_over.jinja", ctx)


# --- exports ---------------------------------------------------------------------------


def _table_for(request: HttpRequest, name: str) -> pr.Table:
    filters = pr.Filters.from_query(request.GET)
    kind, _, rest = name.partition(":")
    if kind == "figure":
        key, _, dimension = rest.partition(":")
        fig = _figure(key)
        if dimension not in fig.dimensions:
            raise Http404("No such table")
        return pr.breakdown_table(fig, dimension, filters)
    if kind == "trend" and rest in Grain.__members__.values():
        return pr.trend_table(Grain(rest), filters)
    if kind == "pace" and rest in sel.PACE_MEASURES:
        threshold = _threshold(request)
        results = pr.pace_results(filters, threshold)
        return next(r.distribution for r in results if r.measure.key == rest)
    if kind == "pace-summary":
        return pr.pace_summary_table(pr.pace_results(filters, _threshold(request)))
    if kind == "dfe":
        season, year = _dfe_term(request)
        ret = dfe.dfe_return(season, year)
        return pr.Table(
            name=f"dfe-return-{season}-{year}",
            title="DfE return",
            header=dfe.CSV_HEADER,
            rows=ret.csv_rows(),
        )
    if kind == "cases" and sel.may_see_cases(_user(request)):
        fig = _figure(rest)
        dimension = request.GET.get("dimension", "")
        if dimension and dimension not in fig.dimensions:
            raise Http404("No such table")
        qs = sel.figure_cases(
            fig, filters.params, dimension=dimension, value=request.GET.get("value", "")
        )
        visible = sel.scoped_cases(_user(request), qs.order_by()).order_by("date_referred", "pk")
        return pr.Table(
            name=f"{fig.key}-cases",
            title=f"{fig.title}: cases",
            header=("Case", "Child", "State", "Date referred"),
            rows=[
                (c.reference, c.child.full_name, c.get_state_display(), c.date_referred.isoformat())
                for c in visible.iterator(chunk_size=2000)
            ],
        )
    raise Http404("No such table")


@reports_view
def export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    table = _table_for(request, name)
    return services.table_export(  # type: ignore[return-value]
        actor=Actor.from_request(request),
        name=table.name,
        title=table.title,
        header=table.header,
        rows=table.rows,
        fmt=fmt,
    )


# --- DfE return ------------------------------------------------------------------------


def _dfe_term(request: HttpRequest) -> tuple[Season, int]:
    today = timezone.localdate()
    season, year = term_containing(today)
    try:
        season = Season(request.GET.get("season", season.value))
        year = int(request.GET.get("year", year))
    except ValueError:
        pass
    return season, max(2022, min(year, today.year + 1))


@reports_view
@require_http_methods(["GET", "POST"])
def dfe_return(request: HttpRequest) -> HttpResponse:
    """The return for a term; managers (and senior managers) submit it, which keeps the
    file as submitted. Every submission of the term is listed and downloads again."""
    season, year = _dfe_term(request)
    errors: dict[str, str] = {}
    if request.method == "POST":
        if not sel.may_manage_reports(_user(request)):
            raise PermissionDenied("Only managers and senior managers submit the DfE return.")
        try:
            submitted = services.dfe_return_submit(
                actor=Actor.from_request(request),
                season=request.POST.get("season", ""),
                year=int(request.POST.get("year", "0") or 0),
                notes=request.POST.get("notes", ""),
            )
        except (ValidationError, ValueError) as exc:
            if isinstance(exc, ValidationError) and hasattr(exc, "message_dict"):
                errors = {k: " ".join(v) for k, v in exc.message_dict.items()}
            else:
                errors = {"year": "Enter the year as a number, like 2026."}
        else:
            return HttpResponseRedirect(
                reverse("reports:dfe-return")
                + f"?season={submitted.season}&year={submitted.year}#submissions"
            )
    ret = dfe.dfe_return(season, year)
    submissions = DfeSubmission.objects.filter(season=season.value, year=year).defer("content")
    ctx = _base(
        request,
        ret=ret,
        seasons=[s.value for s in Season],
        season=season,
        year=year,
        submissions=submissions,
        errors=errors,
        may_submit=sel.may_manage_reports(_user(request)),
    )
    return render(request, "reports/dfe.jinja", ctx, status=400 if errors else 200)


@reports_view
def dfe_submission(request: HttpRequest, submission_id: int) -> HttpResponse:
    """A submitted return's file, byte for byte as submitted."""
    submission = get_object_or_404(DfeSubmission, pk=submission_id)
    return services.dfe_submission_download(
        actor=Actor.from_request(request), submission=submission
    )


# --- termly reports --------------------------------------------------------------------


@reports_view
@require_http_methods(["GET", "POST"])
def termly_history(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    errors: dict[str, str] = {}
    season, year = term_containing(timezone.localdate())
    values = {"season": season.value, "year": str(year), "notes": ""}
    if request.method == "POST":
        if not sel.may_manage_reports(user):
            raise PermissionDenied("Only managers and senior managers issue reports.")
        values = {k: request.POST.get(k, "").strip() for k in values}
        try:
            year_n = int(values["year"])
        except ValueError:
            errors["year"] = "Enter the year as a number, like 2026"
        if not errors and values["season"] not in {s.value for s in Season}:
            errors["season"] = "Choose autumn, spring or summer."
        if not errors:
            # Issued in the background (reports/issuing.py): the page follows its progress.
            token = issuing.issue_request(
                user=user, season=values["season"], year=year_n, notes=values["notes"]
            )
            return HttpResponseRedirect(reverse("reports:termly-issuing", args=[token]))
    reports = TermlyReport.objects.defer("html", "pdf", "figures").select_related("issued_by")
    page = Paginator(reports, PAGE_SIZE).get_page(request.GET.get("page"))
    ctx = _base(
        request,
        page=page,
        errors=errors,
        values=values,
        seasons=[s.value for s in Season],
    )
    return render(request, "reports/termly_history.jinja", ctx, status=400 if errors else 200)


@reports_view
def termly_issuing(request: HttpRequest, token: str) -> HttpResponse:
    """The progress of a termly report being issued; the report itself once it is."""
    status = issuing.issue_status(token, _user(request))
    if status is None:
        raise Http404("No such report being issued")
    if request.GET.get("format") == "json":
        return JsonResponse(status)
    if status["href"]:
        return HttpResponseRedirect(status["href"])
    return render(request, "reports/termly_issuing.jinja", _base(request, status=status))


@reports_view
def termly_detail(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(TermlyReport.objects.defer("pdf"), pk=report_id)
    return render(request, "reports/termly_detail.jinja", _base(request, report=report))


@reports_view
def termly_pdf(request: HttpRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(TermlyReport, pk=report_id)
    response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
    response["Content-Disposition"] = (
        f'attachment; filename="termly-report-{report.season}-{report.year}-{report.pk}.pdf"'
    )
    return response


# --- the self-evaluation checklist ------------------------------------------------------


@reports_view
@require_http_methods(["GET", "POST"])
def checklist(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    errors: dict[str, str] = {}
    values = {"point": "", "rating": "", "plan": "", "notes": ""}
    if request.method == "POST":
        if not sel.may_manage_reports(user):
            raise PermissionDenied("Only managers and senior managers rate the checklist.")
        values = {k: request.POST.get(k, "").strip() for k in values}
        try:
            services.checklist_rate(
                actor=Actor.from_request(request),
                point=int(values["point"] or 0),
                rating=values["rating"],
                plan=values["plan"],
                notes=values["notes"],
            )
        except (ValidationError, ValueError) as exc:
            errors = (
                {k: " ".join(v) for k, v in exc.message_dict.items()}
                if isinstance(exc, ValidationError)
                else {"point": "Choose a point from 1 to 22."}
            )
        else:
            return HttpResponseRedirect(reverse("reports:checklist") + f"#point-{values['point']}")
    latest: dict[int, ChecklistRating] = {}
    for r in ChecklistRating.objects.order_by("point", "-recorded_at", "-id").distinct():
        latest.setdefault(r.point, r)
    rows = [(p, latest.get(p.number), evidence_for(p.number)) for p in POINTS]
    ctx = _base(request, rows=rows, errors=errors, values=values, ratings=Rating.choices)
    return render(request, "reports/checklist.jinja", ctx, status=400 if errors else 200)


@reports_view
def checklist_point(request: HttpRequest, point: int) -> HttpResponse:
    p = next((p for p in POINTS if p.number == point), None)
    if p is None:
        raise Http404("No such point")
    history = ChecklistRating.objects.filter(point=point).order_by("-recorded_at", "-id")
    return render(
        request,
        "reports/checklist_point.jinja",
        _base(request, point=p, history=history, evidence=evidence_for(point)),
    )
