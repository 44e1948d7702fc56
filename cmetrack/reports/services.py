"""Writes of the reports app: issuing a termly report, submitting the DfE return (kept
byte for byte), rating a checklist point, and the audit row of every export. Each
validates, writes and audits in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
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
from cmetrack.kit.exports import csv_response, csv_safe
from cmetrack.kit.pdf import render_pdf

from . import dfe
from .checklist import POINT_NUMBERS
from .models import ChecklistRating, DfeSubmission, Rating, TermlyReport
from .periods import Season, census_day, term
from .presenters import termly_figures


def _label(actor: Actor) -> str:
    return actor.display[:254]


# --- exports ---------------------------------------------------------------------------


#: Characters Excel refuses in a sheet name.
_SHEET_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))


def sheet_name(title: str) -> str:
    """A sheet name Excel accepts: none of ``[ ] : * ? / \\``, no apostrophe at either
    end, at most 31 characters, never empty ("Cases behind: CME" → "Cases behind  CME")."""
    name = title.translate(_SHEET_FORBIDDEN).strip().strip("'").strip()
    return name[:31].rstrip() or "Sheet1"


def _xlsx_bytes(title: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> bytes:
    """An Excel workbook of one sheet. Text is written as text (never a formula) and also
    neutralised like the CSV (a leading =, +, -, @ gets a quote), so a copy into another
    sheet stays safe; whole numbers are written as numbers."""
    import xlsxwriter  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_formulas": False})
    sheet = book.add_worksheet(sheet_name(title))
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


# --- the DfE return, kept as submitted -------------------------------------------------------


@transaction.atomic
def dfe_return_submit(
    *,
    actor: Actor,
    season: Season | str,
    year: int,
    notes: str = "",
    today: dt.date | None = None,
) -> DfeSubmission:
    """Build the term's DfE return and keep its CSV file exactly as submitted, with who
    and when (and a ``create`` audit row). Refused before census day: the return counts
    census day. An earlier submission is never changed; this is a new one."""
    try:
        s = Season(season)
    except ValueError as exc:
        raise ValidationError({"season": "Choose autumn, spring or summer."}) from exc
    if not 2022 <= year <= 2100:
        raise ValidationError({"year": "Enter a year from 2022, like 2026."})
    today = today or timezone.localdate()
    census = census_day(s, year)
    if census > today:
        raise ValidationError(
            {"year": f"The census day ({census.isoformat()}) has not come yet: submit after it."}
        )
    ret = dfe.dfe_return(s, year, today=today)
    content = ret.csv_bytes()
    submission = DfeSubmission(
        season=s.value,
        year=year,
        census=census,
        filename=f"dfe-return-{s.value}-{year}.csv",
        content=content,
        sha256=hashlib.sha256(content).hexdigest(),
        rows=len(ret.csv_rows()),
        notes=notes.strip(),
        submitted_by=actor.user,
        submitted_by_label=_label(actor),
    )
    submission.full_clean()
    submission.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=submission,
        summary=f"Submitted the DfE return, {s.value} {year} ({submission.rows} rows)",
        changes={"after": {"season": s.value, "year": year, "sha256": submission.sha256}},
    )
    return submission


def dfe_submission_download(*, actor: Actor, submission: DfeSubmission) -> HttpResponse:
    """The submitted file again, byte for byte, with its ``export`` audit row."""
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=submission,
        summary=f"Downloaded the DfE return as submitted, {submission.season} {submission.year}",
    )
    response = HttpResponse(bytes(submission.content), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{submission.filename}"'
    response["Cache-Control"] = "no-store"
    return response


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
