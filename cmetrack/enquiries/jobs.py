"""Scheduled work of the enquiries app (run by ``cmetrack worker``): a reminder to chase
each enquiry to another authority that has had no reply by its date."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.casework.services import reminder_task_give
from cmetrack.jobs.registry import register_schedule
from cmetrack.kit.dates import govuk_date
from cmetrack.notifications.services import notification_send, notification_sent_before

from .models import AWAITING_REPLY, OutgoingEnquiry


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
        if not reminder_task_give(
            actor=actor,
            case=enquiry.case,
            title=reply_reminder_title(enquiry),
            owner=enquiry.case.assigned_officer,
            due=today,
            details="No reply yet: chase the other authority, or record its answer.",
        ):
            continue
        created += 1
    return created


def enquiry_reply_reminders() -> str:
    """Daily (weekdays): reminders to chase unanswered enquiries."""
    created = enquiry_reply_reminders_create(actor=Actor.system("enquiry reply reminders"))
    return f"enquiry reply reminders: {created} task(s) created"


#: Days ahead of a reply's due date that the officer is emailed.
REPLY_NOTICE_DAYS = 2


def enquiry_reply_emails_send(*, actor: Actor, today: dt.date | None = None) -> int:
    """Email the case's officer when a reply to an enquiry is due within 2 days, and when
    it is overdue (past its reminder date; a chase moves the date and earns a new email).
    Idempotent: once for each enquiry, date and kind."""
    today = today or timezone.localdate()
    waiting = OutgoingEnquiry.objects.filter(
        status__in=AWAITING_REPLY, remind_on__lte=today + dt.timedelta(days=REPLY_NOTICE_DAYS)
    ).select_related("case__assigned_officer", "case__child", "local_authority")
    sent = 0
    for enquiry in waiting.order_by("remind_on", "id").iterator(chunk_size=500):
        officer = enquiry.case.assigned_officer
        if officer is None:
            continue
        overdue = enquiry.remind_on < today
        key = "enquiry_reply_overdue" if overdue else "enquiry_reply_due"
        if not overdue and enquiry.reply_due_on < today:
            continue  # a chase's new date: the overdue email comes after it
        marker = enquiry.remind_on.isoformat()
        if notification_sent_before(key, enquiry, marker):
            continue
        with transaction.atomic():
            sent += bool(
                notification_send(
                    key=key,
                    recipients=[officer],
                    reference=enquiry.reference,
                    personalisation={
                        "due": govuk_date(enquiry.remind_on),
                        "authority": enquiry.local_authority.name,
                        "marker": marker,
                    },
                    obj=enquiry,
                    child_id=enquiry.case.child_id,
                    child_name=enquiry.case.child.full_name,
                    link=reverse("enquiries:case", args=[enquiry.case_id]),
                    actor=actor,
                )
            )
    return sent


def enquiry_reply_emails() -> str:
    """Daily (weekdays): emails of enquiry replies due soon or overdue."""
    sent = enquiry_reply_emails_send(actor=Actor.system("enquiry reply emails"))
    return f"enquiry reply emails: {sent} enquiry(ies)"


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule(
    "enquiry-reply-reminders",
    "cmetrack.enquiries.jobs.enquiry_reply_reminders",
    daily_at=dt.time(6, 30),
    weekdays_only=True,
)
register_schedule(
    "enquiry-reply-emails",
    "cmetrack.enquiries.jobs.enquiry_reply_emails",
    daily_at=dt.time(6, 35),
    weekdays_only=True,
)
