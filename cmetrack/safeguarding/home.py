"""Safeguarding's home-page sections (``cases/home.py``): dormant reviews overdue and due
this week, and a manager's risk assessments waiting for authorisation."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.home import (
    QUEUE_LIMIT,
    TODAY,
    URGENT,
    QueueRow,
    QueueSection,
    register_section,
)
from cmetrack.cases.selectors import queue_column_register
from cmetrack.kit.dates import govuk_date
from cmetrack.rules import next_dormant_review

from .models import RiskAssessment
from .presenters import to_authorise_rows
from .rules import RiskLevel
from .selectors import (
    REVIEW_QUEUE_ROLES,
    overdue_reviews,
    reviews_due_this_week,
    risk_assessments_to_authorise,
)


def dormant_reviews(user: User, today: dt.date) -> QueueSection | None:
    overdue = overdue_reviews(user, today=today)
    week = reviews_due_this_week(user, today=today)
    overdue_total, week_total = overdue.count(), week.count()
    if not overdue_total and not week_total:
        return None
    rows = []
    for case, late in [(c, True) for c in overdue[:QUEUE_LIMIT]] + [
        (c, False) for c in week[:QUEUE_LIMIT]
    ]:
        base = getattr(case, "review_base", None)  # annotated by with_review_base
        due = next_dormant_review(base) if base else None
        rows.append(
            QueueRow(
                cells=(case.reference, case.child.full_name, govuk_date(due)),
                href=reverse("safeguarding:review-new", args=[case.pk]),
                tag=("Overdue", "govuk-tag--red") if late else ("This week", "govuk-tag--grey"),
            )
        )
    return QueueSection(
        title="Dormant case reviews due",
        empty_text="No dormant review is due.",
        headers=("Case", "Child", "Review due", "When"),
        rows=rows[:QUEUE_LIMIT],
        total=overdue_total + week_total,
        more_href=reverse("safeguarding:reviews"),
        overdue=overdue_total,
    )


def to_authorise(user: User, today: dt.date) -> QueueSection | None:
    waiting = risk_assessments_to_authorise(user)
    total = waiting.count()
    if not total:
        return None
    return QueueSection(
        title="Risk assessments to authorise",
        empty_text="No risk assessment is waiting for you.",
        headers=("Case", "Child", "Risk level", "Completed by", "Waiting"),
        rows=[
            QueueRow(cells=(r.reference, r.child, r.level, r.officer, r.waiting), href=r.href)
            for r in to_authorise_rows(list(waiting[:QUEUE_LIMIT]), today)
        ],
        total=total,
        more_href=reverse("safeguarding:to-authorise"),
        due_today=total,
    )


register_section(
    "safeguarding.reviews", roles=REVIEW_QUEUE_ROLES, build=dormant_reviews, urgency=TODAY
)
register_section(
    "safeguarding.to_authorise", roles=[Role.CME_MANAGER], build=to_authorise, urgency=URGENT
)


def risk_level(case_ids: list[int]) -> dict[int, str]:
    """Each case's latest risk assessment's level ("High", or "High (not authorised)")."""
    levels: dict[int, str] = {}
    latest_first = (
        RiskAssessment.objects.filter(case_id__in=case_ids)
        .order_by("case_id", "-recorded_at", "-id")
        .values_list("case_id", "risk_level", "authorised_at")
    )
    for case_id, level, authorised_at in latest_first:
        if case_id not in levels:
            text = RiskLevel(level).label
            levels[case_id] = text if authorised_at else f"{text} (not authorised)"
    return levels


queue_column_register("risk", "Risk level", risk_level)
