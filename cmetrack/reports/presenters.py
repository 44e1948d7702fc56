"""What the report pages, exports and the termly report show, built from the selectors.

Every table is a :class:`Table` (title, header, rows), so the page, the chart, the CSV and
the Excel file all come from the same numbers.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from django.conf import settings
from django.core.cache import caches
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from cmetrack.kit.dates import govuk_date

from . import selectors as sel
from .periods import Grain, Period, Season, parse_date, term, term_containing, trend_periods
from .stats import PaceStats, bands, pace_stats

TREND_COUNTS = {Grain.MONTH: 12, Grain.TERM: 6, Grain.YEAR: 3}


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    header: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    #: Per row, the link behind its count (drill-down), or "".
    links: list[str] = field(default_factory=list)
    chart: dict[str, Any] | None = None
    note: str = ""


def query_date(query: QueryDict, name: str, default: dt.date) -> dt.date:
    """A date from the filters: the GOV.UK date input's three boxes (``<name>-day``,
    ``-month``, ``-year``), or an ISO date in ``<name>`` (links and exports), or
    ``default`` when neither is a real date."""
    parts = [str(query.get(f"{name}-{p}") or "").strip() for p in ("day", "month", "year")]
    if any(parts):
        try:
            day, month, year = (int(p) for p in parts)
            return dt.date(year, month, day) if len(parts[2]) == 4 else default
        except ValueError:
            return default
    return parse_date(query.get(name), default)


@dataclass(frozen=True)
class Filters:
    as_at: dt.date
    period: Period
    today: dt.date

    @classmethod
    def from_query(cls, query: QueryDict, today: dt.date | None = None) -> Filters:
        today = today or timezone.localdate()
        as_at = min(query_date(query, "as_at", today), today)
        season, year = term_containing(as_at)
        default = term(season, year)
        start = query_date(query, "from", default.start)
        end = query_date(query, "to", default.end)
        if end < start:
            start, end = end, start
        label = (
            default.label
            if (start, end) == (default.start, default.end)
            else f"{govuk_date(start)} to {govuk_date(end)}"
        )
        return cls(as_at=as_at, period=Period(start, end, label), today=today)

    @property
    def params(self) -> sel.Params:
        return sel.Params(as_at=self.as_at, period=self.period, today=self.today)

    @property
    def query(self) -> str:
        return (
            f"as_at={self.as_at.isoformat()}&from={self.period.start.isoformat()}"
            f"&to={self.period.end.isoformat()}"
        )

    def describe(self, figure: sel.Figure) -> str:
        if figure.kind == "period":
            return f"{govuk_date(self.period.start)} to {govuk_date(self.period.end)}"
        if figure.kind == "today":
            return f"as at today, {govuk_date(self.today)}"
        return f"as at the end of {govuk_date(self.as_at)}"


def bar_chart(
    title: str, labels: list[str], series: dict[str, list[int]], kind: str = "bar"
) -> dict[str, Any]:
    return {
        "type": kind,
        "title": title,
        "labels": labels,
        "datasets": [{"label": k, "data": v} for k, v in series.items()],
    }


# --- figures ---------------------------------------------------------------------------


def figure_url(key: str, filters: Filters, dimension: str = "") -> str:
    url = reverse("reports:figure", args=[key]) + "?" + filters.query
    return url + (f"&dimension={dimension}" if dimension else "")


def cases_url(key: str, filters: Filters, dimension: str = "", value: str = "") -> str:
    url = reverse("reports:figure-cases", args=[key]) + "?" + filters.query
    if dimension:
        url += f"&dimension={dimension}&value={value}"
    return url


@dataclass(frozen=True)
class Headline:
    figure: sel.Figure
    total: int
    href: str
    when: str


ALL_KINDS = ("as_at", "today", "period")
T = TypeVar("T")


def cached_figures(name: str, filters: Filters, compute: Callable[[], T]) -> T:
    """``compute()``, kept for ``CMETRACK_REPORTS_CACHE_SECONDS`` (60 s) in the cache every
    web process shares, under the page's name and filters (and today's date). A dashboard
    viewed by fifty people counts the county's cases once a minute, not fifty times; its
    figures are at most that old. Counted afresh when the cache cannot be read or written
    (a full or read-only var directory)."""
    seconds = int(getattr(settings, "CMETRACK_REPORTS_CACHE_SECONDS", 60))
    if seconds <= 0:
        return compute()
    cache = caches["shared"] if "shared" in settings.CACHES else caches["default"]
    key = f"reports:{name}:{filters.today.isoformat()}:{filters.query}"
    try:
        found = cache.get(key)
    except (OSError, EOFError, pickle.UnpicklingError):
        found = None
    if found is not None:
        return cast(T, found)
    value = compute()
    with contextlib.suppress(OSError):
        cache.set(key, value, seconds)
    return value


def headline_totals(filters: Filters, kinds: tuple[str, ...] = ALL_KINDS) -> dict[str, int]:
    """Every headline's total: two queries (the figures on a date, and the rest)."""
    p = filters.params
    known = sel.as_at_totals(p) if "as_at" in kinds else {}
    if kinds != ("as_at",):
        known = {**known, **sel.totals_not_on_a_date(p)}
    return known


def headlines(
    filters: Filters,
    kinds: tuple[str, ...] = ALL_KINDS,
    totals: dict[str, int] | None = None,
) -> list[Headline]:
    p = filters.params
    known = headline_totals(filters, kinds) if totals is None else totals
    return [
        Headline(
            figure=f,
            total=known[f.key] if f.key in known else sel.figure_total(f, p),
            href=figure_url(f.key, filters),
            when=filters.describe(f),
        )
        for f in sel.FIGURES.values()
        if f.kind in kinds
    ]


def breakdown_table(
    figure: sel.Figure,
    dimension: str,
    filters: Filters,
    buckets: list[sel.Bucket] | None = None,
) -> Table:
    dim = sel.DIMENSIONS[dimension]
    if buckets is None:
        buckets = sel.breakdown(figure, dimension, filters.params)
    unit = "Children" if figure.unit == "children" else "Cases"
    rows = [(b.label, b.count) for b in buckets]
    links = [cases_url(figure.key, filters, dimension, b.key) for b in buckets]
    return Table(
        name=f"{figure.key}-by-{dimension}",
        title=f"{figure.title} by {dim.title.lower()}",
        header=(dim.title, unit),
        rows=rows,
        links=links,
        chart=bar_chart(
            f"{figure.title} by {dim.title.lower()}",
            [b.label for b in buckets],
            {unit: [b.count for b in buckets]},
        ),
        note=dim.note,
    )


# --- trends ----------------------------------------------------------------------------


def trend_table(grain: Grain, filters: Filters) -> Table:
    periods = trend_periods(grain, filters.as_at, TREND_COUNTS[grain])
    rows_data = sel.trend(periods, as_at=filters.as_at)
    states = sorted(sel.CME_STATES)
    labels = dict(sel.DIMENSIONS["state"].labels())
    header = (
        "Period",
        "Children missing education at the end",
        *(labels[s] for s in states),
        "New cases",
        "Located",
        "Closed",
    )
    rows = [
        (
            r.period.label,
            r.cme,
            *(r.by_state.get(s, 0) for s in states),
            r.opened,
            r.located,
            r.closed,
        )
        for r in rows_data
    ]
    return Table(
        name=f"trend-{grain.value}",
        title=f"Trend by {grain.value}",
        header=header,
        rows=rows,
        chart=bar_chart(
            f"Children missing education at the end of each {grain.value}",
            [r.period.label for r in rows_data],
            {
                "Children missing education": [r.cme for r in rows_data],
                "New cases": [r.opened for r in rows_data],
                "Closed": [r.closed for r in rows_data],
            },
            kind="line",
        ),
        note=(
            "The count at the end of each period comes from the state history; the current "
            "period ends on the as-at date."
        ),
    )


# --- pace ------------------------------------------------------------------------------


def default_threshold() -> int:
    return int(getattr(settings, "CMETRACK_PACE_THRESHOLD_DAYS", 30))


@dataclass(frozen=True)
class PaceResult:
    measure: sel.PaceMeasure
    stats: PaceStats
    out_of_order: int
    distribution: Table
    over_href: str
    over_count: int


def pace_results(filters: Filters, threshold: int) -> list[PaceResult]:
    out = []
    for m in sel.PACE_MEASURES.values():
        histogram, out_of_order = sel.pace_histogram(m, filters.period)
        stats = pace_stats(histogram)
        over = sum(n for d, n in histogram.items() if d > threshold)
        width = 7 if stats.maximum is not None and stats.maximum > 30 else 1
        banded = bands(stats.distribution, width)
        out.append(
            PaceResult(
                measure=m,
                stats=stats,
                out_of_order=out_of_order,
                distribution=Table(
                    name=f"pace-{m.key}",
                    title=f"{m.title}: distribution of days",
                    header=("Days", "Cases"),
                    rows=[(label, n) for label, n in banded],
                    chart=bar_chart(
                        f"{m.title}: cases by number of days",
                        [label for label, _ in banded],
                        {"Cases": [n for _, n in banded]},
                    ),
                ),
                over_href=reverse("reports:pace-over", args=[m.key])
                + f"?{filters.query}&threshold={threshold}",
                over_count=over,
            )
        )
    return out


def pace_summary_table(results: list[PaceResult]) -> Table:
    def fmt(v: object) -> object:
        return "" if v is None else v

    return Table(
        name="pace-summary",
        title="Pace into provision",
        header=(
            "Measure",
            "Cases",
            "Mean",
            "Median",
            "Mode",
            "All modes",
            "Minimum",
            "Maximum",
            "Range",
        ),
        rows=[
            (
                r.measure.title,
                r.stats.cases,
                fmt(r.stats.mean),
                fmt(r.stats.median),
                fmt(r.stats.mode),
                ", ".join(str(m) for m in r.stats.modes),
                fmt(r.stats.minimum),
                fmt(r.stats.maximum),
                fmt(r.stats.range),
            )
            for r in results
        ],
    )


# --- the termly report -----------------------------------------------------------------

TERMLY_DIMENSIONS = ("state", "route", "year_group", "sex", "vulnerable", "in_care", "sen", "area")


def _table_json(t: Table) -> dict[str, Any]:
    return {
        "title": t.title,
        "header": list(t.header),
        "rows": [list(r) for r in t.rows],
        "note": t.note,
    }


def termly_figures(
    *, period: Period, season: Season, year: int, as_at: dt.date, today: dt.date
) -> dict[str, Any]:
    """Everything the termly report shows, as JSON kept with the issued report."""
    filters = Filters(as_at=as_at, period=period, today=today)
    cme = sel.FIGURES["cme"]
    results = pace_results(filters, default_threshold())
    totals = {h.figure.key: h.total for h in headlines(filters)}
    return {
        "season": season.value,
        "year": year,
        "period": {
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "label": period.label,
        },
        "as_at": as_at.isoformat(),
        "headlines": [
            {
                "title": f.title,
                "total": totals[f.key],
                "when": filters.describe(f),
                "how": f.how,
            }
            for f in sel.FIGURES.values()
            # A report quotes only its own dates: a figure that is always as at today
            # belongs in a report only when the report is as at today.
            if f.kind != "today" or as_at >= today
        ],
        "breakdowns": [_table_json(breakdown_table(cme, d, filters)) for d in TERMLY_DIMENSIONS],
        "closed": _table_json(breakdown_table(sel.FIGURES["closed"], "outcome", filters)),
        "dormant": _table_json(breakdown_table(sel.FIGURES["dormant"], "review", filters)),
        "trend": _table_json(trend_table(Grain.TERM, filters)),
        "pace": _table_json(pace_summary_table(results)),
        "pace_threshold": default_threshold(),
        "pace_over": {r.measure.title: r.over_count for r in results},
        "not_yet_recorded": list(sel.NOT_YET_RECORDED),
    }
