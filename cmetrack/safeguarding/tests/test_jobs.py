from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import CaseStateChange
from cmetrack.casework.models import Task
from cmetrack.safeguarding.jobs import dormant_review_reminders_create

from .factories import SYSTEM, dormant_case, user

pytestmark = pytest.mark.django_db


def test_a_dormant_review_falling_due_becomes_one_task_for_the_officer() -> None:
    officer = user(Role.CME_OFFICER)
    due_case, later_case = dormant_case(officer), dormant_case(officer)
    today = timezone.localdate()
    CaseStateChange.objects.filter(case=due_case, to_state=CaseState.DORMANT).update(
        at=timezone.now() - dt.timedelta(days=40)
    )

    assert dormant_review_reminders_create(actor=SYSTEM, today=today) == 1
    task = Task.objects.get(title__startswith="Dormant review due")
    assert (task.case, task.owner, task.due) == (due_case, officer, today)
    assert not Task.objects.filter(case=later_case, title__startswith="Dormant review").exists()
    # Again the same day, or the next: still one reminder for that review.
    assert dormant_review_reminders_create(actor=SYSTEM, today=today) == 0
    assert Task.objects.filter(title__startswith="Dormant review due").count() == 1
