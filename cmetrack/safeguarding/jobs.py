"""Scheduled work of the safeguarding app (run by ``cmetrack worker``): reminders of
dormant reviews falling due, as tasks for the case's officer (rules.md §6)."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.casework.models import Task
from cmetrack.casework.selectors import may_own_task
from cmetrack.casework.services import task_create
from cmetrack.core.jinja import govuk_date
from cmetrack.rules import next_dormant_review

from .rules import latest_base_due_by
from .selectors import base_on_or_before, with_review_base

logger = logging.getLogger(__name__)


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
        officer = case.assigned_officer
        if base is None or officer is None or not may_own_task(officer, case):
            continue
        title = review_reminder_title(next_dormant_review(base))
        if Task.objects.filter(case=case, title=title).exists():
            continue
        try:
            with transaction.atomic():
                task_create(actor=actor, case=case, title=title, owner=officer, due=today)
        except (ValidationError, PermissionDenied):
            logger.warning("no dormant review reminder for case %s", case.pk)
            continue
        created += 1
    return created


def dormant_review_reminders() -> str:
    """Daily (weekdays): reminders of dormant reviews due."""
    created = dormant_review_reminders_create(actor=Actor.system("dormant review reminders"))
    return f"dormant review reminders: {created} task(s) created"
