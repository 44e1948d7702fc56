"""Issuing a termly report in the background, with its progress.

Counting a term's figures and writing the PDF takes seconds at a county's size, longer than
a page should wait. The page asks for the report (:func:`issue_request`), the worker issues
it (:func:`issue_termly_report`, through ``jobs.enqueue``) and the page follows the
progress (:func:`issue_status`) until it can open the report. The progress is kept in the
cache the web processes and the worker share (``CACHES["shared"]``) for a day: it is a
convenience, the report itself (``TermlyReport``) is what is kept.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.core.cache import caches
from django.core.exceptions import ValidationError
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.jobs.services import enqueue

from . import services

KEEP_SECONDS = 24 * 3600
#: The steps the page shows, in order.
STAGES = (
    "Waiting for the background worker",
    "Counting the term's figures and writing the report",
    "Issued",
)


def _key(token: str) -> str:
    return f"reports:termly-issue:{token}"


def _save(token: str, **status: Any) -> None:
    caches["shared"].set(_key(token), status, KEEP_SECONDS)


def issue_request(*, user: User, season: str, year: int, notes: str) -> str:
    """Queue the report for the worker; return the token its progress is followed by."""
    token = secrets.token_urlsafe(16)
    _save(token, user_id=user.pk, stage=0, season=season, year=year)
    enqueue(
        "cmetrack.reports.issuing.issue_termly_report",
        token,
        user.pk,
        season,
        year,
        notes,
        task_name=f"termly report {season} {year}",
    )
    return token


def issue_termly_report(token: str, user_id: int, season: str, year: int, notes: str) -> int | None:
    """The worker's task: issue the report as the person who asked for it."""
    base = {"user_id": user_id, "season": season, "year": year}
    _save(token, **base, stage=1)
    user = User.objects.get(pk=user_id)
    try:
        report = services.termly_report_issue(
            actor=Actor(user=user), season=season, year=year, notes=notes
        )
    except ValidationError as exc:
        problems = [m for messages in exc.message_dict.values() for m in messages]
        _save(token, **base, stage=1, error=" ".join(problems) or "The report was not issued.")
        return None
    _save(token, **base, stage=2, report_id=report.pk)
    return int(report.pk)


def issue_status(token: str, user: User) -> dict[str, Any] | None:
    """The progress of ``token`` for the person who asked (None for anyone else, or an
    unknown or expired token)."""
    status = caches["shared"].get(_key(token))
    if not isinstance(status, dict) or status.get("user_id") != user.pk:
        return None
    stage = int(status.get("stage", 0))
    report_id = status.get("report_id")
    return {
        "stage": stage,
        "stage_text": STAGES[min(stage, len(STAGES) - 1)],
        "percent": {0: 5, 1: 50}.get(stage, 100),
        "error": status.get("error", ""),
        "finished": bool(report_id) or bool(status.get("error")),
        "href": reverse("reports:termly-detail", args=[report_id]) if report_id else "",
        "season": status.get("season", ""),
        "year": status.get("year", ""),
    }
