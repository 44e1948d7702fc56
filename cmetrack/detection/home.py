"""Detection's home-page section (``cases/home.py``): new alerts of potential CME."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.home import QUEUE_LIMIT, URGENT, QueueRow, QueueSection, register_section
from cmetrack.kit.dates import govuk_date

from .models import AlertState
from .selectors import alerts_visible_to, may_see_alerts


def new_alerts(user: User, today: dt.date) -> QueueSection | None:
    if not may_see_alerts(user):
        return None
    new = alerts_visible_to(user).filter(state=AlertState.NEW)
    total = new.count()
    if not total:
        return None
    return QueueSection(
        title="New alerts of children who may be missing education",
        empty_text="There are no new alerts.",
        headers=("Pupil", "What was found", "School", "Found on"),
        rows=[
            QueueRow(
                cells=(
                    a.full_name,
                    a.get_rule_display(),
                    a.school.name if a.school else a.laestab,
                    govuk_date(a.detected_on),
                ),
                href=reverse("detection:alert-detail", args=[a.pk]),
            )
            for a in new.order_by("first_detected_at", "id")[:QUEUE_LIMIT]
        ],
        total=total,
        more_href=reverse("detection:alert-list"),
        due_today=total,
    )


register_section(
    "detection.alerts",
    roles=[Role.CME_OFFICER, Role.CME_MANAGER, Role.SCHOOL_USER],
    build=new_alerts,
    urgency=URGENT + 5,
)
