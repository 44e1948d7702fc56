"""The referrals' home-page sections (``cases/home.py``): referrals waiting for triage,
and a school's or agency's own referrals."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.home import (
    QUEUE_LIMIT,
    REFERENCE,
    URGENT,
    QueueRow,
    QueueSection,
    days_between,
    register_section,
)
from cmetrack.kit.dates import govuk_date

from .selectors import TRIAGE_ROLES, referrals_visible_to, triage_queue

#: A referral not triaged by the end of the next day is overdue (the quicker the
#: intervention, the more likely the child is traced).
TRIAGE_WITHIN_DAYS = 1


def to_triage(user: User, today: dt.date) -> QueueSection | None:
    waiting = triage_queue(user)
    total = waiting.count()
    if not total:
        return None
    oldest_first = waiting.order_by("received_at", "id")
    cutoff = timezone.make_aware(
        dt.datetime.combine(today - dt.timedelta(days=TRIAGE_WITHIN_DAYS), dt.time.min)
    )
    overdue = waiting.filter(received_at__lt=cutoff).count()
    rows = []
    for r in oldest_first[:QUEUE_LIMIT]:
        received = timezone.localdate(r.received_at)
        rows.append(
            QueueRow(
                cells=(
                    r.reference,
                    f"{r.given_names} {r.family_name}".strip(),
                    r.get_route_display(),
                    days_between(received, today),
                ),
                href=reverse("referrals:triage", args=[r.reference]),
            )
        )
    return QueueSection(
        title="Referrals to triage",
        empty_text="No referral is waiting for triage.",
        headers=("Referral", "Child", "From", "Waiting"),
        rows=rows,
        total=total,
        more_href=reverse("referrals:triage-queue"),
        overdue=overdue,
        due_today=total - overdue,
    )


def own_referrals(user: User, today: dt.date) -> QueueSection:
    referrals = referrals_visible_to(user)
    return QueueSection(
        title="Your referrals",
        empty_text="Your organisation has not made any referrals.",
        headers=("Reference", "Child", "Received", "Status"),
        rows=[
            QueueRow(
                cells=(
                    r.reference,
                    f"{r.given_names} {r.family_name}",
                    govuk_date(timezone.localdate(r.received_at)),
                    r.get_status_display(),
                ),
                href=reverse("referrals:detail", args=[r.reference]),
            )
            for r in referrals[:QUEUE_LIMIT]
        ],
        total=referrals.count(),
        more_href=reverse("referrals:list"),
    )


register_section("referrals.triage", roles=TRIAGE_ROLES, build=to_triage, urgency=URGENT)
register_section(
    "referrals.own",
    roles=[Role.SCHOOL_USER, Role.AGENCY_USER],
    build=own_referrals,
    urgency=REFERENCE,
)
