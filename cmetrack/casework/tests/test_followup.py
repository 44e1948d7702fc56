"""Follow-up prompts: the no-contact selector at its boundaries and the command's
idempotence; the task selectors."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.test import override_settings
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.casework import services
from cmetrack.casework.models import Task, TaskKind, TaskStatus
from cmetrack.casework.selectors import (
    cases_without_contact_since,
    overdue_tasks_for,
    tasks_for,
)

from .factories import SYSTEM, open_case

pytestmark = pytest.mark.django_db


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


def contact(case: Any, on: dt.date) -> Any:
    return services.contact_attempt_record(
        actor=SYSTEM, case=case, method="phone", date=on, with_whom="Mother", outcome="no_answer"
    )


@pytest.fixture
def officer(make_user):
    return make_user(Role.CME_OFFICER)


@pytest.mark.parametrize(
    ("referred", "contacts", "due"),
    [
        (29, [], False),  # referred 29 days ago, never contacted: not yet
        (30, [], True),  # exactly 30 days: due
        (31, [], True),
        (90, [29], False),  # the last contact counts, not the referral
        (90, [30], True),
        (90, [60, 31, 45], True),  # the latest of several
        (90, [60, 10, 45], False),
        (5, [], False),
    ],
)
def test_no_contact_boundaries(referred, contacts, due, officer):
    case = open_case(referred_days_ago=referred)
    for n in contacts:
        contact(case, days_ago(n))
    assert cases_without_contact_since(officer).filter(pk=case.pk).exists() is due


def test_closed_cases_are_never_prompted(officer):
    closed = open_case(state=CaseState.CLOSED, referred_days_ago=100)
    received = open_case(state=CaseState.RECEIVED, referred_days_ago=100)
    found = set(cases_without_contact_since(officer).values_list("pk", flat=True))
    assert found == {received.pk}
    assert closed.pk not in found


def test_threshold_is_a_setting_and_an_argument(officer):
    case = open_case(referred_days_ago=10)
    assert not cases_without_contact_since(officer).filter(pk=case.pk).exists()
    with override_settings(CMETRACK_NO_CONTACT_DAYS=10):
        assert cases_without_contact_since(officer).filter(pk=case.pk).exists()
    assert cases_without_contact_since(officer, days=7).filter(pk=case.pk).exists()
    # "today" can be given: in 20 days the case is due.
    later = timezone.localdate() + dt.timedelta(days=20)
    assert cases_without_contact_since(officer, today=later).filter(pk=case.pk).exists()


def test_queue_is_scoped_and_ordered_oldest_gap_first(make_user):
    slo = make_user(Role.SLO)
    a = open_case(referred_days_ago=40)
    b = open_case(referred_days_ago=90, officer=slo)
    c = open_case(referred_days_ago=200)
    contact(c, days_ago(35))
    officer = make_user(Role.CME_OFFICER)
    order = list(cases_without_contact_since(officer).values_list("pk", flat=True))
    assert order == [b.pk, a.pk, c.pk]  # 90 days, 40 days, 35 days
    assert list(cases_without_contact_since(slo)) == [b]
    for role in (Role.SCHOOL_USER, Role.AGENCY_USER, Role.AUDITOR, Role.ADMINISTRATOR):
        assert not cases_without_contact_since(make_user(role)).exists()


def test_last_contact_annotation_is_one_query(officer, django_assert_num_queries):
    for n in range(5):
        case = open_case(referred_days_ago=50)
        contact(case, days_ago(n + 1))
    assert officer.role_set  # roles are read once per request, before the queue
    with django_assert_num_queries(1):
        rows = list(cases_without_contact_since(officer, days=0))
    assert len(rows) == 5
    assert {getattr(r, "last_attempt", None) for r in rows} == {days_ago(n + 1) for n in range(5)}


# --- the command -------------------------------------------------------------------------


def run(*args: str) -> str:
    out = StringIO()
    call_command("followup_prompts", *args, stdout=out)
    return out.getvalue()


def test_command_creates_one_task_per_gap_for_the_assigned_officer(officer, make_user):
    due = open_case(referred_days_ago=45, officer=officer)
    recent = open_case(referred_days_ago=5, officer=officer)
    unassigned = open_case(referred_days_ago=60)

    out = run()
    assert "created 1 follow-up task(s); 0 case(s) already had one" in out
    assert (
        f"1 case(s) have no assigned officer who can take the task: {unassigned.reference}" in out
    )
    task = Task.objects.get()
    assert (task.case, task.owner, task.kind, task.status) == (
        due,
        officer,
        TaskKind.FOLLOW_UP,
        TaskStatus.OPEN,
    )
    assert task.gap_since == due.date_referred
    assert task.title == f"Follow up: no contact since {due.date_referred.day} " + (
        f"{due.date_referred:%B %Y}"
    )
    assert task.due == timezone.localdate()
    assert AuditEvent.objects.filter(object_type="casework.task", object_id=str(task.pk)).exists()
    assert due.chronology.filter(summary__contains="Follow up: no contact since").exists()
    assert not recent.tasks.exists()

    # Idempotent: the same gap never gets a second task, even once the first is done.
    assert "created 0 follow-up task(s); 1 case(s) already had one" in run()
    services.task_complete(actor=Actor(user=officer), task=task)
    assert "created 0 follow-up task(s); 1 case(s) already had one" in run()
    assert Task.objects.count() == 1

    # A contact ends the gap; when the next gap reaches the threshold, a new task.
    contact(due, days_ago(31))
    run()
    assert Task.objects.filter(case=due).count() == 2
    assert set(Task.objects.values_list("gap_since", flat=True)) == {
        due.date_referred,
        days_ago(31),
    }
    contact(due, days_ago(2))
    assert "created 0 follow-up task(s); 0 case(s)" in run()


def test_command_days_option(officer):
    open_case(referred_days_ago=8, officer=officer)
    assert "created 0" in run()
    assert "No contact for 7 days or more: created 1" in run("--days", "7")
    with pytest.raises(CommandError, match="--days must be 1 or more"):
        run("--days", "0")


def test_database_refuses_a_second_follow_up_for_one_gap(officer):
    case = open_case(referred_days_ago=45, officer=officer)
    Task.objects.create(
        case=case, title="a", owner=officer, due=timezone.localdate(),
        kind=TaskKind.FOLLOW_UP, gap_since=case.date_referred,
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            case=case, title="b", owner=officer, due=timezone.localdate(),
            kind=TaskKind.FOLLOW_UP, gap_since=case.date_referred,
        )  # fmt: skip


def test_assigned_officer_who_cannot_own_the_task_is_reported(make_user):
    adviser = make_user(Role.SAFEGUARDING_ADVISER)
    case = open_case(referred_days_ago=45, officer=adviser)
    out = run()
    assert case.reference in out
    assert not Task.objects.exists()


# --- task selectors ----------------------------------------------------------------------


def test_tasks_for_lists_my_open_tasks_overdue_first(officer, make_user):
    case = open_case(officer=officer)
    other = make_user(Role.CME_OFFICER)
    today = timezone.localdate()

    def task(title, due, owner=officer, status=TaskStatus.OPEN):
        return Task.objects.create(case=case, title=title, owner=owner, due=due, status=status)

    later = task("later", today + dt.timedelta(days=3))
    overdue = task("overdue", today - dt.timedelta(days=1))
    today_task = task("today", today)
    task("done", today - dt.timedelta(days=9), status=TaskStatus.DONE)
    task("someone else's", today - dt.timedelta(days=9), owner=other)
    assert list(tasks_for(officer)) == [overdue, today_task, later]
    assert list(overdue_tasks_for(officer)) == [overdue]
    assert list(overdue_tasks_for(officer, today=today + dt.timedelta(days=1))) == [
        overdue,
        today_task,
    ]


def test_tasks_for_hides_tasks_on_cases_no_longer_visible(make_user):
    slo = make_user(Role.SLO)
    visible = open_case(officer=slo)
    hidden = open_case()
    Task.objects.create(case=visible, title="v", owner=slo, due=timezone.localdate())
    Task.objects.create(case=hidden, title="h", owner=slo, due=timezone.localdate())
    assert [t.title for t in tasks_for(slo)] == ["v"]


def test_overdue_tasks_is_a_work_queue_of_the_cases_app(officer, make_user):
    from cmetrack.cases.selectors import QUEUES, queue_cases

    assert QUEUES["overdue_tasks"] == "Open cases with overdue tasks"
    late, on_time, done = open_case(), open_case(), open_case()
    today = timezone.localdate()
    Task.objects.create(case=late, title="a", owner=officer, due=today - dt.timedelta(days=1))
    Task.objects.create(case=on_time, title="b", owner=officer, due=today)
    Task.objects.create(
        case=done, title="c", owner=officer, due=today - dt.timedelta(days=5),
        status=TaskStatus.DONE,
    )  # fmt: skip
    assert list(queue_cases(officer, "overdue_tasks")) == [late]
    assert not queue_cases(make_user(Role.SLO), "overdue_tasks").exists()


def test_no_contact_page_reads_ids_then_one_page_of_cases(officer, django_assert_num_queries):
    from cmetrack.casework.selectors import no_contact_page

    cases = [open_case(referred_days_ago=100 - i, officer=officer) for i in range(5)]
    contact(cases[0], days_ago(40))
    assert officer.role_set
    with django_assert_num_queries(3):  # count, ids, rows
        page = no_contact_page(officer, 1, per_page=2)
    assert [c.pk for c in page.object_list] == [cases[1].pk, cases[2].pk]
    assert page.paginator.count == 5
    last = no_contact_page(officer, 3, per_page=2)
    assert [c.pk for c in last.object_list] == [cases[0].pk]
    assert getattr(last.object_list[0], "last_attempt", None) == days_ago(40)
