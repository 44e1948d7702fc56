"""Writes of the reports app: issuing a termly report, rating a checklist point, and the
audit row of every export. Each validates, writes and audits in one transaction."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.core.exports import csv_response, csv_safe
from cmetrack.core.pdf import render_pdf

from .checklist import POINT_NUMBERS
from .models import ChecklistRating, Rating, TermlyReport
from .periods import Season, term


def _label(actor: Actor) -> str:
    return actor.display[:254]


# --- exports ---------------------------------------------------------------------------


def _xlsx_bytes(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """An Excel workbook of one sheet. Text is written as text (never a formula) and also
    neutralised like the CSV (a leading =, +, -, @ gets a quote), so a copy into another
    sheet stays safe; whole numbers are written as numbers."""
    import xlsxwriter  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(title[:31] or "Sheet1")
    bold = book.add_format({"bold": True})
    for col, h in enumerate(header):
        sheet.write_string(0, col, csv_safe(h), bold)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, int | float):
                sheet.write_string(r, col, csv_safe(value))
            else:
                sheet.write_number(r, col, value)
    book.close()
    return buffer.getvalue()


@transaction.atomic
def table_export(
    *,
    actor: Actor,
    name: str,
    title: str,
    header: Sequence[Any],
    rows: Sequence[Sequence[Any]],
    fmt: str,
) -> HttpResponse | StreamingHttpResponse:
    """A CSV or Excel download of one table, with its ``export`` audit row."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationError("Choose CSV or Excel.")
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="reports.table",
        object_id=name[:60],
        summary=f"Exported {title} ({len(rows)} rows, {fmt.upper()})",
    )
    filename = f"{name}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    response = HttpResponse(
        _xlsx_bytes(title, header, rows),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


# --- termly reports --------------------------------------------------------------------


@transaction.atomic
def termly_report_issue(
    *,
    actor: Actor,
    season: Season | str,
    year: int,
    notes: str = "",
    as_at: dt.date | None = None,
) -> TermlyReport:
    """Compute the term's figures, render them as HTML and PDF and keep all three."""
    from .presenters import termly_figures

    try:
        s = Season(season)
    except ValueError as exc:
        raise ValidationError({"season": "Choose autumn, spring or summer."}) from exc
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": "Enter a year like 2026."})
    period = term(s, year)
    today = timezone.localdate()
    if period.start > today:
        raise ValidationError({"year": "The term has not started yet."})
    as_at = as_at or min(period.end, today)
    figures = termly_figures(period=period, season=s, year=year, as_at=as_at, today=today)
    now = timezone.now()
    title = f"Children missing education: termly report, {period.label}"
    html = render_to_string(
        "reports/termly_document.jinja",
        {
            "title": title,
            "figures": figures,
            "notes": notes.strip(),
            "issued_at": now,
            "issued_by": _label(actor),
        },
    )
    report = TermlyReport(
        season=s.value,
        year=year,
        period_start=period.start,
        period_end=period.end,
        as_at=as_at,
        title=title,
        notes=notes.strip(),
        figures=figures,
        html=html,
        pdf=render_pdf(html),
        issued_at=now,
        issued_by=actor.user,
        issued_by_label=_label(actor),
    )
    report.full_clean()
    report.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=report,
        summary=f"Issued {title}",
        changes={"after": {"season": s.value, "year": year, "as_at": as_at.isoformat()}},
    )
    return report


# --- the self-evaluation checklist ------------------------------------------------------


@transaction.atomic
def checklist_rate(
    *,
    actor: Actor,
    point: int,
    rating: str,
    rated_on: dt.date | None = None,
    plan: str = "",
    notes: str = "",
) -> ChecklistRating:
    """Record a new rating of one checklist point; earlier ratings are kept as history."""
    errors: dict[str, str] = {}
    if point not in POINT_NUMBERS:
        errors["point"] = "Choose a point from 1 to 22."
    if rating not in Rating.values:
        errors["rating"] = "Select a rating: N, W, A or E."
    rated_on = rated_on or timezone.localdate()
    if rated_on > timezone.localdate():
        errors["rated_on"] = "The date rated must be today or in the past."
    if rating == Rating.NOT_IDENTIFIED and not plan.strip():
        errors["plan"] = "Enter the plan: a point rated N needs one."
    if errors:
        raise ValidationError(errors)
    row = ChecklistRating(
        point=point,
        rating=rating,
        rated_on=rated_on,
        rated_by=actor.user,
        rated_by_label=_label(actor),
        plan=plan.strip(),
        notes=notes.strip(),
    )
    row.full_clean()
    row.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=row,
        summary=f"Rated self-evaluation point {point}: {rating}",
        changes={"after": {"point": point, "rating": rating, "rated_on": rated_on.isoformat()}},
    )
    return row
