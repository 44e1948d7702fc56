from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import UserFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.casework.models import Task
from cmetrack.casework.tests.factories import open_case
from cmetrack.enquiries.jobs import enquiry_reply_reminders_create
from cmetrack.enquiries.models import EnquiryStatus, OutgoingEnquiry

from .conftest import make_authority

pytestmark = pytest.mark.django_db


def enquiry(
    case: Case, *, remind_days_ago: int, status: str = EnquiryStatus.SENT
) -> OutgoingEnquiry:
    today = timezone.localdate()
    return OutgoingEnquiry.objects.create(
        case=case,
        local_authority=make_authority("202", "Camden"),
        contact_name="Contact at Camden",
        contact_email="cme@202.gov.uk",
        reason_linked="The family said they were moving to Camden.",
        sent_on=today - dt.timedelta(days=20),
        reply_due_on=today - dt.timedelta(days=remind_days_ago),
        remind_on=today - dt.timedelta(days=remind_days_ago),
        status=status,
    )


def test_an_unanswered_enquiry_past_its_date_becomes_one_chase_task() -> None:
    officer = UserFactory.create(roles=(Role.CME_OFFICER,))
    case = open_case(officer=officer)
    overdue = enquiry(case, remind_days_ago=2)
    enquiry(case, remind_days_ago=0)  # due today: not yet
    enquiry(case, remind_days_ago=5, status=EnquiryStatus.ANSWERED)
    system = Actor.system("test")

    assert enquiry_reply_reminders_create(actor=system) == 1
    task = Task.objects.get(title__startswith="Chase enquiry")
    assert overdue.reference in task.title
    assert (task.case, task.owner, task.due) == (case, officer, timezone.localdate())
    assert enquiry_reply_reminders_create(actor=system) == 0
    # A chase moves the reminder date; when that passes too, a new reminder.
    OutgoingEnquiry.objects.filter(pk=overdue.pk).update(
        remind_on=timezone.localdate() - dt.timedelta(days=1), status=EnquiryStatus.CHASED
    )
    assert enquiry_reply_reminders_create(actor=system) == 1
