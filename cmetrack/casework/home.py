"""Casework's home-page section (``cases/home.py``): the user's tasks due and overdue."""

from __future__ import annotations

import datetime as dt

from django.db.models import Max, Min
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.cases.home import QUEUE_LIMIT, URGENT, QueueRow, QueueSection, register_section
from cmetrack.cases.selectors import queue_column_register
from cmetrack.kit.dates import govuk_date

from .models import ContactAttempt, Task, TaskStatus
from .selectors import CASEWORK_ROLES, tasks_for

#: Tasks due within this many days are shown with today's and the overdue ones.
DUE_SOON_DAYS = 7


def tasks_due(user: User, today: dt.date) -> QueueSection | None:
    """Open tasks overdue, due today and due in the coming week, overdue first."""
    due = tasks_for(user).filter(due__lte=today + dt.timedelta(days=DUE_SOON_DAYS))
    total = due.count()
    if not total:
        return None
    overdue = due.filter(due__lt=today).count()
    due_today = due.filter(due=today).count()
    rows = []
    for t in due[:QUEUE_LIMIT]:
        when = "Overdue" if t.due < today else "Today" if t.due == today else "This week"
        colour = (
            "govuk-tag--red"
            if t.due < today
            else "govuk-tag--orange"
            if t.due == today
            else "govuk-tag--grey"
        )
        rows.append(
            QueueRow(
                cells=(t.title, t.case.reference, t.case.child.full_name, govuk_date(t.due)),
                href=reverse("casework:case-tracking", args=[t.case_id]) + "#tasks",
                tag=(when, colour),
            )
        )
    return QueueSection(
        title="Your tasks due",
        empty_text="You have no tasks due.",
        headers=("Task", "Case", "Child", "Due", "When"),
        rows=rows,
        total=total,
        more_href=reverse("casework:my-tasks"),
        overdue=overdue,
        due_today=due_today,
    )


register_section("casework.tasks", roles=CASEWORK_ROLES, build=tasks_due, urgency=URGENT)


# --- the work queues' columns (cases/selectors.py) ------------------------------------------


def last_contact(case_ids: list[int]) -> dict[int, str]:
    """The date of each case's latest contact attempt (one grouped query a page)."""
    latest = (
        ContactAttempt.objects.filter(case_id__in=case_ids)
        .values("case_id")
        .annotate(last=Max("date"))
        .order_by()
    )
    return {row["case_id"]: govuk_date(row["last"]) for row in latest}


def next_task_due(case_ids: list[int]) -> dict[int, str]:
    """The due date of each case's earliest open task."""
    due = (
        Task.objects.filter(case_id__in=case_ids, status=TaskStatus.OPEN)
        .values("case_id")
        .annotate(next=Min("due"))
        .order_by()
    )
    return {row["case_id"]: govuk_date(row["next"]) for row in due}


queue_column_register("last_contact", "Last contact", last_contact)
queue_column_register("next_task", "Next task due", next_task_due)
