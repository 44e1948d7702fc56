"""Scheduled work of the safeguarding app (run by ``cmetrack worker``): reminders of
dormant reviews falling due, as tasks for the case's officer (rules.md §6)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.casework.services import reminder_task_give
from cmetrack.jobs.registry import register_schedule
from cmetrack.kit.dates import govuk_date
from cmetrack.notifications.services import notification_send, notification_sent_before
from cmetrack.rules import next_dormant_review

from .rules import latest_base_due_by
from .selectors import base_on_or_before, with_review_base


def review_reminder_title(due: dt.date) -> str:
    return f"Dormant review due {govuk_date(due)}"


def dormant_review_reminders_create(*, actor: Actor, today: dt.date | None = None) -> int:
    """A task for the assigned officer of each dormant case whose monthly review is due by
    ``today`` (or overdue), due today. Idempotent: one task a case and due date."""
    today = today or timezone.localdate()
    cases = with_review_base(
        base_on_or_before(Case.objects.all(), latest_base_due_by(today))
    ).select_related("assigned_officer")
    created = 0
    for case in cases.iterator(chunk_size=500):
        base = getattr(case, "review_base", None)
        if base is None or not reminder_task_give(
            actor=actor,
            case=case,
            title=review_reminder_title(next_dormant_review(base)),
            owner=case.assigned_officer,
            due=today,
        ):
            continue
        created += 1
    return created


def dormant_review_reminders() -> str:
    """Daily (weekdays): reminders of dormant reviews due."""
    created = dormant_review_reminders_create(actor=Actor.system("dormant review reminders"))
    return f"dormant review reminders: {created} task(s) created"


#: Days ahead of a dormant review's date that its officer is emailed.
REVIEW_NOTICE_DAYS = 7


def dormant_review_emails_send(*, actor: Actor, today: dt.date | None = None) -> int:
    """Email each dormant case's officer when its review is due within 7 days, and again
    when it is overdue. Idempotent: once for each case, due date and kind."""
    today = today or timezone.localdate()
    horizon = today + dt.timedelta(days=REVIEW_NOTICE_DAYS)
    cases = with_review_base(
        base_on_or_before(Case.objects.all(), latest_base_due_by(horizon))
    ).select_related("assigned_officer", "child")
    sent = 0
    for case in cases.iterator(chunk_size=500):
        base = getattr(case, "review_base", None)
        officer = case.assigned_officer
        if base is None or officer is None:
            continue
        due = next_dormant_review(base)
        key = "dormant_review_overdue" if due < today else "dormant_review_due"
        if due > horizon or notification_sent_before(key, case, due.isoformat()):
            continue
        with transaction.atomic():
            sent += bool(
                notification_send(
                    key=key,
                    recipients=[officer],
                    reference=case.reference,
                    personalisation={"due": govuk_date(due), "marker": due.isoformat()},
                    obj=case,
                    child_id=case.child_id,
                    child_name=case.child.full_name,
                    link=reverse("safeguarding:case", args=[case.pk]),
                    actor=actor,
                )
            )
    return sent


def dormant_review_emails() -> str:
    """Daily (weekdays): emails of dormant reviews due within 7 days or overdue."""
    sent = dormant_review_emails_send(actor=Actor.system("dormant review emails"))
    return f"dormant review emails: {sent} case(s)"


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule(
    "dormant-review-reminders",
    "cmetrack.safeguarding.jobs.dormant_review_reminders",
    daily_at=dt.time(6, 15),
    weekdays_only=True,
)
register_schedule(
    "dormant-review-emails",
    "cmetrack.safeguarding.jobs.dormant_review_emails",
    daily_at=dt.time(6, 20),
    weekdays_only=True,
)
