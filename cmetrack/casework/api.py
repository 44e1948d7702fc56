"""API for tracking work: the address-search checklist, contact attempts, notes and tasks
of a case, and the caller's own tasks.

Scoped exactly like the pages: a case the caller may not see is 404 (as if it did not
exist); a case the caller may see but not record work on is 403 for writes. Writes go
through the same services, so they are audited and on the case's chronology.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import ConfigDict

from cmetrack.accounts.api import api_user as _user
from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.kit.problems import InputSchema, Problem, invalid_field
from cmetrack.kit.problems import person_name as _person
from cmetrack.kit.problems import run_write as _write

from . import selectors, services
from .models import (
    AddressSearchCheck,
    AddressSearchSource,
    CaseNote,
    CheckResult,
    CheckStatus,
    Consultation,
    ConsultedWith,
    ContactAttempt,
    ContactMethod,
    ContactOutcome,
    Task,
)

router = Router(tags=["Tracking work"])


# --- schemas -------------------------------------------------------------------------------


class SourceOut(Schema):
    id: int
    name: str
    description: str
    active: bool


class CheckOut(Schema):
    id: int
    source_id: int
    source: str
    status: CheckStatus
    date: dt.date | None
    result: CheckResult | None
    details: str
    by: str | None
    recorded_at: dt.datetime

    @staticmethod
    def resolve_source(obj: AddressSearchCheck) -> str:
        return obj.source.name

    @staticmethod
    def resolve_result(obj: AddressSearchCheck) -> str | None:
        return obj.result or None

    @staticmethod
    def resolve_by(obj: AddressSearchCheck) -> str | None:
        return _person(obj.by)


class ChecklistItemOut(Schema):
    """One source with the case's current answer (the latest) and the earlier ones."""

    source: SourceOut
    current: CheckOut | None
    history: list[CheckOut]


class CheckIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "source_id": 7,
                    "status": "checked",
                    "date": "2026-11-20",
                    "result": "not_found",
                    "details": "",
                },
                {"source_id": 3, "status": "not_available", "details": "System down this week"},
            ]
        }
    )
    source_id: int
    status: CheckStatus
    date: dt.date | None = None
    result: CheckResult | None = None
    details: str = ""


class ContactOut(Schema):
    id: int
    method: ContactMethod
    date: dt.date
    time: dt.time | None
    with_whom: str
    outcome: ContactOutcome
    notes: str
    by: str | None
    recorded_at: dt.datetime

    @staticmethod
    def resolve_by(obj: ContactAttempt) -> str | None:
        return _person(obj.by)


class ContactIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "method": "phone",
                    "date": "2026-11-21",
                    "time": "14:30",
                    "with_whom": "Mother, mobile number from the referral",
                    "outcome": "no_answer",
                    "notes": "",
                }
            ]
        }
    )
    method: ContactMethod
    date: dt.date
    time: dt.time | None = None
    with_whom: str
    outcome: ContactOutcome
    notes: str = ""


class NoteOut(Schema):
    id: int
    text: str
    by: str | None
    at: dt.datetime

    @staticmethod
    def resolve_by(obj: CaseNote) -> str | None:
        return _person(obj.by)


class NoteIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"text": "Neighbour says the family left in October."}]}
    )
    text: str


class TaskOut(Schema):
    id: int
    case_id: int
    case_reference: str
    title: str
    details: str
    owner_id: int
    owner: str
    due: dt.date
    overdue: bool
    status: str
    kind: str
    done_at: dt.datetime | None
    created_at: dt.datetime

    @staticmethod
    def resolve_case_reference(obj: Task) -> str:
        return obj.case.reference

    @staticmethod
    def resolve_owner(obj: Task) -> str:
        return obj.owner.get_full_name()

    @staticmethod
    def resolve_overdue(obj: Task) -> bool:
        return obj.is_overdue()


class TaskIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "Ask the GP practice whether the family re-registered",
                    "owner_id": 12,
                    "due": "2026-12-01",
                    "details": "",
                }
            ]
        }
    )
    title: str
    owner_id: int
    due: dt.date
    details: str = ""


class ReassignIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [{"owner_id": 14}]})
    owner_id: int


# --- helpers ---------------------------------------------------------------------------------


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_for_tracking(user=_user(request), case_id=case_id)
    except Case.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


def _writable_case(request: HttpRequest, case_id: int) -> Case:
    case = _case(request, case_id)
    if not selectors.may_record_tracking(_user(request), case):
        raise HttpError(403, "You cannot record tracking work on this case.")
    return case


def _owner(owner_id: int) -> User:
    owner = User.objects.filter(pk=owner_id).first()
    if owner is None:
        raise ValidationError({"owner": "Choose someone who works on this case"})
    return owner


# --- the address-search checklist ------------------------------------------------------------


@router.get(
    "/cases/{case_id}/checks",
    response={200: list[ChecklistItemOut], 403: Problem, 404: Problem},
    summary="A case's address-search checklist",
    operation_id="case_checks_list",
)
def checks_list(request: HttpRequest, case_id: int) -> list[selectors.ChecklistItem]:
    return selectors.checklist_for(_case(request, case_id))


@router.post(
    "/cases/{case_id}/checks",
    response={201: CheckOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a source on a case's address-search checklist",
    operation_id="case_checks_record",
)
def checks_record(request: HttpRequest, case_id: int, payload: CheckIn) -> Any:
    case = _writable_case(request, case_id)
    source = AddressSearchSource.objects.filter(pk=payload.source_id).first()
    if source is None:
        invalid_field("source_id", "Choose a source on the checklist")
    return _write(
        lambda: services.address_check_record(
            actor=Actor.from_request(request),
            case=case,
            source=source,
            status=payload.status,
            date=payload.date,
            result=payload.result or "",
            details=payload.details,
        )
    )


# --- contact attempts -----------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/contacts",
    response={200: list[ContactOut], 403: Problem, 404: Problem},
    summary="A case's contact attempts, newest first",
    operation_id="case_contacts_list",
)
def contacts_list(request: HttpRequest, case_id: int) -> QuerySet[ContactAttempt]:
    return selectors.contacts_for(_case(request, case_id))


@router.post(
    "/cases/{case_id}/contacts",
    response={201: ContactOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a contact attempt",
    operation_id="case_contacts_record",
)
def contacts_record(request: HttpRequest, case_id: int, payload: ContactIn) -> Any:
    case = _writable_case(request, case_id)
    return _write(
        lambda: services.contact_attempt_record(
            actor=Actor.from_request(request), case=case, **payload.dict()
        )
    )


# --- notes ----------------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/notes",
    response={200: list[NoteOut], 403: Problem, 404: Problem},
    summary="A case's notes, newest first",
    operation_id="case_notes_list",
)
def notes_list(request: HttpRequest, case_id: int) -> QuerySet[CaseNote]:
    return selectors.notes_for(_case(request, case_id))


@router.post(
    "/cases/{case_id}/notes",
    response={201: NoteOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Add a note (notes are never changed; a correction is a new note)",
    operation_id="case_notes_add",
)
def notes_add(request: HttpRequest, case_id: int, payload: NoteIn) -> Any:
    case = _writable_case(request, case_id)
    return _write(
        lambda: services.case_note_add(
            actor=Actor.from_request(request), case=case, text=payload.text
        )
    )


# --- tasks ----------------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/tasks",
    response={200: list[TaskOut], 403: Problem, 404: Problem},
    summary="A case's tasks, by due date",
    operation_id="case_tasks_list",
)
def case_tasks_list(request: HttpRequest, case_id: int) -> QuerySet[Task]:
    return selectors.tasks_for_case(_case(request, case_id))


@router.post(
    "/cases/{case_id}/tasks",
    response={201: TaskOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Give someone a task on a case",
    operation_id="case_tasks_create",
)
def case_tasks_create(request: HttpRequest, case_id: int, payload: TaskIn) -> Any:
    case = _writable_case(request, case_id)
    return _write(
        lambda: services.task_create(
            actor=Actor.from_request(request),
            case=case,
            title=payload.title,
            owner=_owner(payload.owner_id),
            due=payload.due,
            details=payload.details,
        )
    )


@router.get(
    "/tasks",
    response=list[TaskOut],
    summary="Your open tasks, overdue first",
    operation_id="my_tasks_list",
)
@paginate(LimitOffsetPagination)
def my_tasks(request: HttpRequest) -> QuerySet[Task]:
    return selectors.tasks_for(_user(request)).select_related("owner")


def _task(request: HttpRequest, task_id: int) -> Task:
    task = (
        Task.objects.filter(pk=task_id, case__in=cases_visible_to(_user(request)))
        .select_related("case", "owner")
        .first()
    )
    if task is None:
        raise HttpError(404, "Not found")
    if not selectors.may_record_tracking(_user(request), task.case):
        raise HttpError(403, "You cannot record tracking work on this case.")
    return task


@router.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Mark a task as done",
    operation_id="task_complete",
)
def task_complete(request: HttpRequest, task_id: int) -> Any:
    task = _task(request, task_id)
    return _write(lambda: services.task_complete(actor=Actor.from_request(request), task=task), 200)


@router.post(
    "/tasks/{task_id}/reassign",
    response={200: TaskOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Give a task to someone else who works on the case",
    operation_id="task_reassign",
)
def task_reassign(request: HttpRequest, task_id: int, payload: ReassignIn) -> Any:
    task = _task(request, task_id)
    return _write(
        lambda: services.task_reassign(
            actor=Actor.from_request(request), task=task, owner=_owner(payload.owner_id)
        ),
        200,
    )


# --- consultations ---------------------------------------------------------------------------


class ConsultationOutcomeIn(InputSchema):
    title: str
    owner_id: int
    due: dt.date


class ConsultationIn(InputSchema):
    consulted_on: dt.date
    consulted_with: ConsultedWith
    consultee: str = ""
    named: bool
    family_told: bool
    not_told_reason: str = ""
    advice: str
    outcomes: list[ConsultationOutcomeIn] = []


class ConsultationOut(Schema):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    consulted_on: dt.date
    consulted_with: ConsultedWith
    consultee: str
    named: bool
    family_told: bool
    not_told_reason: str
    advice: str
    task_ids: list[int]

    @staticmethod
    def resolve_task_ids(obj: Consultation) -> list[int]:
        return [t.pk for t in obj.tasks.all()]


@router.get(
    "/cases/{case_id}/consultations",
    response={200: list[ConsultationOut], 403: Problem, 404: Problem},
    summary="A case's consultations, newest first, with the tasks they became",
    operation_id="case_consultations_list",
)
def consultations_list(request: HttpRequest, case_id: int) -> QuerySet[Consultation]:
    return selectors.consultations_for(_case(request, case_id))


@router.post(
    "/cases/{case_id}/consultations",
    response={201: ConsultationOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a consultation; each outcome becomes a task on the case",
    operation_id="case_consultations_record",
)
def consultations_record(request: HttpRequest, case_id: int, payload: ConsultationIn) -> Any:
    case = _writable_case(request, case_id)
    outcomes = []
    for i, o in enumerate(payload.outcomes):
        owner = User.objects.filter(pk=o.owner_id, is_active=True).first()
        if owner is None:
            invalid_field(f"outcomes.{i}.owner_id", "Choose someone who works on this case")
        outcomes.append(services.ConsultationOutcome(title=o.title, owner=owner, due=o.due))
    fields = payload.dict(exclude={"outcomes"})
    return _write(
        lambda: services.consultation_record(
            actor=Actor.from_request(request), case=case, outcomes=outcomes, **fields
        )
    )
