"""The home page's own section (``cases/home.py``): the auditor's recent activity."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.cases.home import REFERENCE, QueueRow, QueueSection, register_section
from cmetrack.kit.dates import govuk_date


def recent_activity(user: User, today: dt.date) -> QueueSection:
    # The newest 20 only: counting the whole trail (millions of rows) on every home page
    # would be slow; the audit search pages the rest.
    recent = []
    for e in AuditEvent.objects.order_by("-at", "-id")[:20]:
        at = timezone.localtime(e.at)
        recent.append(QueueRow(cells=(f"{govuk_date(at)} {at:%H:%M}", e.actor_label, e.summary)))
    return QueueSection(
        title="Recent activity in the audit trail",
        empty_text="Nothing has been recorded yet.",
        headers=("When", "Who", "What"),
        rows=recent,
        total=len(recent),
        more_href=reverse("audit:search"),
    )


register_section("core.audit", roles=[Role.AUDITOR], build=recent_activity, urgency=REFERENCE)
