"""Tracking-work services: each write is validated, audited with the child, on the case's
chronology, and all-or-nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import ChronologyEvent, ChronologyKind
from cmetrack.casework import services
from cmetrack.casework.models import (
    AddressSearchCheck,
    AddressSearchSource,
    CaseNote,
    ContactAttempt,
    Task,
    TaskStatus,
)
from cmetrack.casework.selectors import checklist_for

from .factories import AddressSearchSourceFactory, open_case

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def YESTERDAY() -> dt.date:
    """Yesterday, worked out when the test runs (like TODAY, called at each use)."""
    return timezone.localdate() - dt.timedelta(days=1)


@pytest.fixture
def officer(make_user):
    return make_user(Role.CME_OFFICER, full_name="Olive Officer")


@pytest.fixture
def actor(officer):
    return Actor(user=officer, ip_address="192.0.2.5")


@pytest.fixture
def case(officer):
    return open_case(officer=officer)


@pytest.fixture
def source():
    return AddressSearchSource.objects.get(name="Electoral roll")


def _check(actor, case, source):
    return services.address_check_record(
        actor=actor, case=case, source=source, status="checked", date=YESTERDAY(),
        result="not_found",
    )  # fmt: skip


def _contact(actor, case, source):
    return services.contact_attempt_record(
        actor=actor, case=case, method="phone", date=TODAY(), time=dt.time(14, 30),
        with_whom="Mother", outcome="no_answer",
    )  # fmt: skip


def _note(actor, case, source):
    return services.case_note_add(actor=actor, case=case, text="Neighbour says they left.")


def _task(actor, case, source):
    return services.task_create(
        actor=actor, case=case, title="Ring the GP", owner=actor.user, due=TODAY()
    )


def _open_task(case: Any, owner: Any) -> Task:
    return Task.objects.create(case=case, title="T", owner=owner, due=TODAY())


def _complete(actor, case, source):
    task = Task.objects.get(case=case, title="T")
    return services.task_complete(actor=actor, task=task)


def _reassign(actor, case, source):
    from cmetrack.accounts.models import User

    task = Task.objects.get(case=case, title="T")
    return services.task_reassign(
        actor=actor, task=task, owner=User.objects.get(full_name="Max Manager")
    )


WRITES: dict[str, tuple[Callable[..., Any], str, ChronologyKind, str, str]] = {
    # name: (call, audited object type, chronology kind, audit action, chronology text)
    "check": (
        _check, "casework.addresssearchcheck", ChronologyKind.CHECK, AuditAction.CREATE,
        "Address search, Electoral roll: checked on",
    ),
    "contact": (
        _contact, "casework.contactattempt", ChronologyKind.CONTACT, AuditAction.CREATE,
        "Phone to Mother on",
    ),
    "note": (
        _note, "casework.casenote", ChronologyKind.NOTE, AuditAction.CREATE,
        "Neighbour says they left.",
    ),
    "task": (
        _task, "casework.task", ChronologyKind.TASK, AuditAction.CREATE,
        "Task for Olive Officer, due",
    ),
    "complete": (
        _complete, "casework.task", ChronologyKind.NOTE, AuditAction.UPDATE,
        "Task done by Olive Officer: T",
    ),
    "reassign": (
        _reassign, "casework.task", ChronologyKind.TASK, AuditAction.UPDATE,
        "Task given to Max Manager: T",
    ),
}  # fmt: skip


@pytest.fixture
def prepared(case, officer, make_user):
    """A case with one open task "T" of the officer's, and a manager to give it to."""
    make_user(Role.CME_MANAGER, full_name="Max Manager")
    _open_task(case, officer)
    return case


def _state() -> tuple[Any, ...]:
    return (
        list(AddressSearchCheck.objects.values_list("pk", flat=True)),
        list(ContactAttempt.objects.values_list("pk", flat=True)),
        list(CaseNote.objects.values_list("pk", flat=True)),
        list(Task.objects.values_list("pk", "status", "owner_id", "done_at")),
        list(AuditEvent.objects.values_list("pk", flat=True)),
        list(ChronologyEvent.objects.values_list("pk", flat=True)),
    )


@pytest.mark.parametrize("name", list(WRITES))
def test_each_write_is_audited_with_the_child_and_on_the_chronology(
    name, actor, prepared, source, officer
):
    case = prepared
    call, object_type, kind, action, text = WRITES[name]
    before = ChronologyEvent.objects.filter(case=case).count()
    obj = call(actor, case, source)
    event = AuditEvent.objects.filter(object_type=object_type, action=action).latest("id")
    assert event.object_id == str(obj.pk)
    assert event.child_id == case.child_id
    assert event.actor == officer
    assert event.ip_address == "192.0.2.5"
    added = list(ChronologyEvent.objects.filter(case=case).order_by("id"))[before:]
    assert [(e.kind, e.by_id) for e in added] == [(kind, officer.pk)]
    assert added[0].summary.startswith(text)


@pytest.mark.parametrize("name", list(WRITES))
def test_each_write_is_all_or_nothing(name, actor, prepared, source, monkeypatch):
    """If the chronology cannot be written, nothing of the change is left behind."""

    def broken(**kwargs):
        raise RuntimeError("chronology down")

    before = _state()
    monkeypatch.setattr(services, "chronology_add", broken)
    with pytest.raises(RuntimeError):
        WRITES[name][0](actor, prepared, source)
    assert _state() == before


def test_checklist_keeps_history_and_the_latest_is_current(actor, case, source):
    first = _check(actor, case, source)
    second = services.address_check_record(
        actor=actor, case=case, source=source, status="checked", date=TODAY(),
        result="found", details="Registered at 4 New Street",
    )  # fmt: skip
    item = next(i for i in checklist_for(case) if i.source == source)
    assert item.current == second
    assert item.history == [first]
    others = [i for i in checklist_for(case) if i.source != source]
    assert len(others) == 9
    assert all(i.current is None for i in others)


def test_the_checklist_is_every_active_source_in_order(case):
    names = [i.source.name for i in checklist_for(case)]
    assert names == [
        "SEN system", "Admissions system", "Education management system",
        "Free school meals", "Youth services", "School census", "Electoral roll",
        "Careers/post-16 system", "Health", "Social media",
    ]  # fmt: skip


def test_a_switched_off_source_leaves_the_checklist_but_keeps_its_history(actor, case, source):
    _check(actor, case, source)
    extra = AddressSearchSourceFactory.create(active=False)
    source.active = False
    source.save()
    items = {i.source.name: i for i in checklist_for(case)}
    assert "Electoral roll" in items  # it has a check on this case
    assert extra.name not in items
    other_case = open_case()
    assert "Electoral roll" not in {i.source.name for i in checklist_for(other_case)}
    with pytest.raises(ValidationError, match="no longer on the address-search checklist"):
        _check(actor, other_case, source)


CHECK_ERRORS = [
    ({"status": "checked"}, {"date", "result"}),
    ({"status": "checked", "date": "past", "result": "found"}, {"details"}),
    ({"status": "checked", "date": "future", "result": "not_found"}, {"date"}),
    ({"status": "not_applicable", "result": "found"}, {"result"}),
    ({"status": "maybe"}, {"status"}),
]


@pytest.mark.parametrize(("fields", "wrong"), CHECK_ERRORS)
def test_check_validation(fields, wrong, actor, case, source):
    fields = dict(fields)
    if "date" in fields:
        offset = -3 if fields["date"] == "past" else 3
        fields["date"] = TODAY() + dt.timedelta(days=offset)
    with pytest.raises(ValidationError) as exc:
        services.address_check_record(actor=actor, case=case, source=source, **fields)
    assert set(exc.value.message_dict) == wrong
    assert not AddressSearchCheck.objects.exists()


@pytest.mark.parametrize("status", ["not_applicable", "not_available"])
def test_not_applicable_and_not_available_need_no_date_or_result(status, actor, case, source):
    check = services.address_check_record(actor=actor, case=case, source=source, status=status)
    assert (check.date, check.result) == (None, "")


def test_contact_other_outcome_needs_notes_and_date_not_in_future(actor, case):
    with pytest.raises(ValidationError) as exc:
        services.contact_attempt_record(
            actor=actor, case=case, method="email", date=TODAY() + dt.timedelta(days=1),
            with_whom="School", outcome="other",
        )  # fmt: skip
    assert set(exc.value.message_dict) == {"date", "notes"}
    assert not ContactAttempt.objects.exists()


def test_task_due_date_and_owner_rules(actor, case, make_user):
    school_user = make_user(Role.SCHOOL_USER)
    slo_elsewhere = make_user(Role.SLO)
    for owner in (school_user, slo_elsewhere):
        with pytest.raises(ValidationError) as exc:
            services.task_create(actor=actor, case=case, title="x", owner=owner, due=YESTERDAY())
        assert set(exc.value.message_dict) == {"due", "owner"}
    assert not Task.objects.exists()


def test_a_task_is_completed_once(actor, case):
    task = _task(actor, case, None)
    services.task_complete(actor=actor, task=task)
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE
    assert task.done_at is not None
    with pytest.raises(ValidationError, match="already done"):
        services.task_complete(actor=actor, task=task)
    with pytest.raises(ValidationError, match="already done"):
        services.task_reassign(actor=actor, task=task, owner=actor.user)


def test_cancel_needs_a_reason(actor, case):
    task = _task(actor, case, None)
    with pytest.raises(ValidationError):
        services.task_cancel(actor=actor, task=task, reason=" ")
    services.task_cancel(actor=actor, task=task, reason="Family found")
    task.refresh_from_db()
    assert task.status == TaskStatus.CANCELLED


def test_closed_case_takes_no_more_work_not_even_notes(actor, source):
    """Issue 17: a closed episode is frozen; its chronology does not grow."""
    closed = open_case(state=CaseState.CLOSED)
    entries = closed.chronology.count()
    for call in (_check, _contact, _task, _note):
        with pytest.raises(ValidationError, match="This case is closed"):
            call(actor, closed, source)
    assert closed.chronology.count() == entries


@pytest.mark.parametrize(
    "role", [Role.SCHOOL_USER, Role.AGENCY_USER, Role.AUDITOR, Role.ADMINISTRATOR,
             Role.SAFEGUARDING_ADVISER],
)  # fmt: skip
def test_services_refuse_people_who_do_not_record_tracking_work(role, make_user, case, source):
    actor = Actor(user=make_user(role))
    for call in (_check, _contact, _note, _task):
        with pytest.raises(PermissionDenied):
            call(actor, case, source)
    assert not AuditEvent.objects.filter(object_type__startswith="casework.").exists()


def test_virtual_school_records_only_on_children_in_care(make_user, source):
    actor = Actor(user=make_user(Role.VIRTUAL_SCHOOL))
    assert _note(actor, open_case(in_care=True), source)
    with pytest.raises(PermissionDenied):
        _note(actor, open_case(in_care=False), source)


def test_a_system_job_may_write(case, officer):
    task = services.task_create(
        actor=Actor.system("job"), case=case, title="x", owner=officer, due=TODAY()
    )
    assert task.created_by is None
    assert AuditEvent.objects.filter(object_type="casework.task", actor_label="system: job")
