"""Scheduled work of the enquiries app (run by ``cmetrack worker``): a reminder to chase
each enquiry to another authority that has had no reply by its date."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.casework.models import Task
from cmetrack.casework.selectors import may_own_task
from cmetrack.casework.services import task_create
from cmetrack.core.jinja import govuk_date

from .models import AWAITING_REPLY, OutgoingEnquiry

logger = logging.getLogger(__name__)


def reply_reminder_title(enquiry: OutgoingEnquiry) -> str:
    return (
        f"Chase enquiry {enquiry.reference} to {enquiry.local_authority.name}: "
        f"no reply by {govuk_date(enquiry.remind_on)}"
    )[:200]


def enquiry_reply_reminders_create(*, actor: Actor, today: dt.date | None = None) -> int:
    """A task for the case's officer for each enquiry still unanswered after its reminder
    date (the reply due date, or a chase's), due today. Idempotent: one task an enquiry
    and reminder date (a chase moves the date, and so earns a new reminder later)."""
    today = today or timezone.localdate()
    overdue = OutgoingEnquiry.objects.filter(
        status__in=AWAITING_REPLY, remind_on__lt=today
    ).select_related("case__assigned_officer", "local_authority")
    created = 0
    for enquiry in overdue.order_by("remind_on", "id").iterator(chunk_size=500):
        case = enquiry.case
        officer = case.assigned_officer
        if officer is None or not may_own_task(officer, case):
            continue
        title = reply_reminder_title(enquiry)
        if Task.objects.filter(case=case, title=title).exists():
            continue
        try:
            with transaction.atomic():
                task_create(
                    actor=actor,
                    case=case,
                    title=title,
                    owner=officer,
                    due=today,
                    details="No reply yet: chase the other authority, or record its answer.",
                )
        except (ValidationError, PermissionDenied):
            logger.warning("no reply reminder for enquiry %s", enquiry.pk)
            continue
        created += 1
    return created


def enquiry_reply_reminders() -> str:
    """Daily (weekdays): reminders to chase unanswered enquiries."""
    created = enquiry_reply_reminders_create(actor=Actor.system("enquiry reply reminders"))
    return f"enquiry reply reminders: {created} task(s) created"
