"""API of the home-education list (mounted through the casework router, /api/v1/).

No ``from __future__ import annotations`` here: ninja reads the query parameters of the
paginated list from real annotations.

Scoped like the pages: CME officers and managers see and keep the list, a Virtual School
officer reads the records of children in care; anyone else gets an empty list (or 403 on
writes). A record out of scope is 404. Writes go through the same services (audited)."""

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from cmetrack.accounts.api import api_user as _user
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.kit.problems import InputSchema, Problem
from cmetrack.kit.problems import run_write as _write
from cmetrack.organisations.models import Organisation, OrganisationKind

from . import selectors, services
from .models import (
    ConsentStatus,
    EheEnd,
    EheReason,
    HomeEducationConsentRequest,
    HomeEducationNoticeKind,
    HomeEducationRecord,
    LearntFrom,
    SenStatus,
)
from .presenters import concern_text
from .selectors import ListStatus

router = Router(tags=["Home-education list"])


class RecordOut(Schema):
    id: int
    child_id: int
    child_name: str
    dob: dt.date | None
    upn: str | None
    started_on: dt.date
    ended_on: dt.date | None
    end_reason: str
    learnt_from: LearntFrom
    learnt_on: dt.date | None
    source: str
    previous_school_id: int | None
    previous_school: str
    sen_status: SenStatus
    primary_reason: EheReason
    #: Why home education ended ("" while the child is on the list).
    ended_because: str
    concern_raised: bool
    outcome: str = Field(examples=["No further action"])
    case_id: int | None

    @staticmethod
    def resolve_child_name(obj: HomeEducationRecord) -> str:
        return obj.child.full_name

    @staticmethod
    def resolve_dob(obj: HomeEducationRecord) -> dt.date | None:
        return obj.child.dob

    @staticmethod
    def resolve_upn(obj: HomeEducationRecord) -> str | None:
        return obj.child.upn

    @staticmethod
    def resolve_previous_school(obj: HomeEducationRecord) -> str:
        return obj.previous_school_text

    @staticmethod
    def resolve_concern_raised(obj: HomeEducationRecord) -> bool:
        raised = getattr(obj, "concern_raised", None)
        return bool(raised) if raised is not None else obj.concerns.exists()

    @staticmethod
    def resolve_outcome(obj: HomeEducationRecord) -> str:
        return concern_text(obj)


class ChildIn(InputSchema):
    given_names: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    dob: dt.date | None = None
    upn: str = ""
    address: str = ""
    postcode: str = ""
    parent_name: str = ""


class RecordIn(InputSchema):
    child: ChildIn
    learnt_from: LearntFrom
    learnt_on: dt.date
    started_on: dt.date
    previous_school_id: int | None = None
    previous_school_name: str = ""
    sen_status: SenStatus = SenStatus.UNKNOWN
    source: str = ""


class ConcernIn(InputSchema):
    raised_on: dt.date
    raised_by_whom: str
    details: str


class ConcernOut(Schema):
    id: int
    record_id: int
    raised_on: dt.date
    raised_by_whom: str
    details: str
    case_id: int | None
    case_opened: bool


class EndIn(InputSchema):
    ended_on: dt.date
    reason: str
    ended_because: EheEnd | None = None


class NoticeIn(InputSchema):
    kind: HomeEducationNoticeKind
    served_on: dt.date
    notes: str = ""


class NoticeOut(Schema):
    id: int
    record_id: int
    kind: HomeEducationNoticeKind
    served_on: dt.date
    notes: str


class ReasonIn(InputSchema):
    primary_reason: EheReason


class ConsentRequestIn(InputSchema):
    child: ChildIn
    school_id: int
    requested_on: dt.date
    requested_by: str
    child_protection_enquiries: bool = False


class ConsentDecisionIn(InputSchema):
    decision: ConsentStatus
    decided_on: dt.date
    reason: str


class ConsentRequestOut(Schema):
    id: int
    child_id: int
    school_id: int
    requested_on: dt.date
    requested_by: str
    child_protection_enquiries: bool
    child_protection_plan: bool
    special_school: bool
    status: ConsentStatus
    decided_on: dt.date | None
    decision_reason: str


class CountsOut(Schema):
    as_at: dt.date
    period_start: dt.date
    period_end: dt.date
    on_list: int
    on_list_with_ehc_plan: int
    on_list_with_sen_support: int
    added_in_period: int
    added_by_route: dict[str, int]
    ended_in_period: int
    concerns_in_period: int
    cases_opened_in_period: int
    consent_requests_in_period: int
    consents_granted_in_period: int
    consents_refused_in_period: int


def _keeper(request: HttpRequest) -> None:
    if not selectors.may_keep_home_education_list(_user(request)):
        raise HttpError(403, "Only the CME team keeps the home-education list.")


def _school(school_id: int | None, field: str) -> Organisation | None:
    if school_id is None:
        return None
    school = Organisation.objects.filter(pk=school_id, kind=OrganisationKind.SCHOOL).first()
    if school is None:
        raise ValidationError({field: "Choose a school the authority knows"})
    return school


def _record(request: HttpRequest, record_id: int) -> HomeEducationRecord:
    try:
        return selectors.home_education_get(actor=Actor.from_request(request), record_id=record_id)
    except HomeEducationRecord.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


@router.get(
    "/home-education",
    response=list[RecordOut],
    summary="The home-education list (search by name or UPN, filter)",
    operation_id="home_education_list",
)
@paginate(LimitOffsetPagination)
def home_education_list(
    request: HttpRequest,
    q: str = "",
    status: ListStatus = ListStatus.OPEN,
    learnt_from: LearntFrom | None = None,
    concern: bool | None = None,
) -> QuerySet[HomeEducationRecord]:
    return selectors.home_education_search(
        _user(request), q=q, status=status, learnt_from=learnt_from or "", concern=concern
    )


@router.post(
    "/home-education",
    response={201: RecordOut, 422: Problem, 403: Problem},
    summary="Put a child on the home-education list (the child is found or recorded)",
    operation_id="home_education_add",
)
def home_education_add(request: HttpRequest, payload: RecordIn) -> Any:
    _keeper(request)
    school = _school(payload.previous_school_id, "previous_school_id")
    fields = payload.dict(exclude={"child", "previous_school_id"})
    return _write(
        lambda: services.home_education_child_add(
            actor=Actor.from_request(request),
            identity=payload.child.dict(),
            previous_school=school,
            **fields,
        )[0]
    )


@router.get(
    "/home-education/figures",
    response={200: CountsOut, 403: Problem},
    summary="The list in figures: on the list on a date, and what happened in a period",
    operation_id="home_education_figures",
)
def home_education_figures(
    request: HttpRequest,
    as_at: dt.date | None = None,
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
) -> Any:

    if not _user(request).has_role(*selectors.HOME_EDUCATION_ROLES, Role.AUDITOR):
        raise HttpError(403, "You do not have access to these figures.")
    from django.utils import timezone

    as_at = as_at or timezone.localdate()
    period = (period_start, period_end or as_at) if period_start else None
    return selectors.home_education_counts(as_at, period)


@router.get(
    "/home-education/consent-requests",
    response=list[ConsentRequestOut],
    summary="Requests for consent to home educate, and the decisions",
    operation_id="home_education_consent_list",
)
@paginate(LimitOffsetPagination)
def consent_list(request: HttpRequest) -> QuerySet[HomeEducationConsentRequest]:
    return selectors.consent_requests_visible_to(_user(request))


@router.post(
    "/home-education/consent-requests",
    response={201: ConsentRequestOut, 422: Problem, 403: Problem},
    summary="Record a request for consent to withdraw a child for home education",
    operation_id="home_education_consent_request",
)
def consent_request(request: HttpRequest, payload: ConsentRequestIn) -> Any:
    _keeper(request)
    school = _school(payload.school_id, "school_id")
    return _write(
        lambda: services.consent_request_for_identity(
            actor=Actor.from_request(request),
            identity=payload.child.dict(),
            school=school,
            requested_on=payload.requested_on,
            requested_by=payload.requested_by,
            child_protection_enquiries=payload.child_protection_enquiries,
        )
    )


@router.post(
    "/home-education/consent-requests/{request_id}/decision",
    response={200: ConsentRequestOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Give or refuse consent (CME managers)",
    operation_id="home_education_consent_decide",
)
def consent_decide(request: HttpRequest, request_id: int, payload: ConsentDecisionIn) -> Any:
    consent = selectors.consent_requests_visible_to(_user(request)).filter(pk=request_id).first()
    if consent is None:
        raise HttpError(404, "Not found")
    return _write(
        lambda: services.consent_decide(
            actor=Actor.from_request(request), request=consent, **payload.dict()
        ),
        success=200,
    )


@router.get(
    "/home-education/{record_id}",
    response={200: RecordOut, 404: Problem},
    summary="One record on the home-education list (audited read)",
    operation_id="home_education_get",
)
def home_education_get(request: HttpRequest, record_id: int) -> HomeEducationRecord:
    return _record(request, record_id)


@router.post(
    "/home-education/{record_id}/concerns",
    response={201: ConcernOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a welfare concern: opens a CME case (or adds to the open one)",
    operation_id="home_education_concern",
)
def concern_record(request: HttpRequest, record_id: int, payload: ConcernIn) -> Any:
    _keeper(request)
    record = _record(request, record_id)
    return _write(
        lambda: services.home_education_concern_record(
            actor=Actor.from_request(request), record=record, **payload.dict()
        )
    )


@router.post(
    "/home-education/{record_id}/end",
    response={200: RecordOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Take a child off the list (no longer home educated)",
    operation_id="home_education_end",
)
def record_end(request: HttpRequest, record_id: int, payload: EndIn) -> Any:
    _keeper(request)
    record = _record(request, record_id)
    data = payload.dict()
    data["ended_because"] = data["ended_because"] or ""
    return _write(
        lambda: services.home_education_record_end(
            actor=Actor.from_request(request), record=record, **data
        ),
        success=200,
    )


@router.post(
    "/home-education/{record_id}/notices",
    response={201: NoticeOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a section 437(1) notice or a school attendance order served",
    operation_id="home_education_notice",
)
def record_notice(request: HttpRequest, record_id: int, payload: NoticeIn) -> Any:
    _keeper(request)
    record = _record(request, record_id)
    return _write(
        lambda: services.home_education_notice_record(
            actor=Actor.from_request(request), record=record, **payload.dict()
        )
    )


@router.post(
    "/home-education/{record_id}/reason",
    response={200: RecordOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record the parent's primary reason for home education",
    operation_id="home_education_reason",
)
def record_reason(request: HttpRequest, record_id: int, payload: ReasonIn) -> Any:
    _keeper(request)
    record = _record(request, record_id)
    return _write(
        lambda: services.home_education_reason_record(
            actor=Actor.from_request(request), record=record, **payload.dict()
        ),
        success=200,
    )
