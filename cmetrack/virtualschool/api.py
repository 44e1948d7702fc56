"""HTTP API of the Virtual School (mounted under /api/v1/): in-care records with their
placements, and personal education plans with their targets and reviews.

Scoped exactly like the pages: a record or plan out of the caller's scope is 404 (as if it
did not exist); a caller who may read but not write gets 403. Reading a record or a plan is
audited; writes go through the same services (validated, audited, on the chronology). A
restricted placement address is "Restricted" unless the caller is named for the child.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from cmetrack.accounts.api import api_user as _user
from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.kit.problems import InputSchema, Problem, invalid_field, run_write
from cmetrack.organisations.models import LocalAuthority, Organisation, OrganisationKind
from cmetrack.people.models import Child
from cmetrack.people.selectors import children_visible_to

from . import selectors, services
from .models import (
    ChildInCare,
    LegalStatus,
    PersonalEducationPlan,
    Placement,
    PlacementType,
    SuitableEducation,
    TargetStatus,
)

router = Router(tags=["Virtual School: children in care"])


# --- schemas -------------------------------------------------------------------------------


class CicPlacementOut(Schema):
    id: int
    started_on: dt.date
    ended_on: dt.date | None
    placement_type: str
    placement_type_label: str
    placing_authority: str = Field(description="DfE code of the placing authority")
    carer: str
    address: str = Field(description='"Restricted" unless the caller is named for the child')
    school_laestab: str | None
    school: str
    school_admitted_on: dt.date | None
    reason: str
    open_alerts: list[str]


class CicRecordOut(Schema):
    id: int
    child_id: int
    child_name: str
    upn: str | None
    responsible_authority: str = Field(description="DfE code of the responsible authority")
    legal_status: str
    legal_status_label: str
    came_into_care_on: dt.date
    ceased_on: dt.date | None
    social_worker_name: str
    social_worker_team: str
    social_worker_phone: str
    social_worker_email: str
    lead_officer_id: int | None


class CicRecordDetailOut(CicRecordOut):
    placements: list[CicPlacementOut]


class CicPlacementIn(InputSchema):
    started_on: dt.date
    placement_type: PlacementType
    placing_authority: str = Field(description="DfE code, e.g. 886")
    carer: str = ""
    line1: str = ""
    line2: str = ""
    town: str = ""
    postcode: str = ""
    is_restricted: bool = False
    school_laestab: str | None = Field(default=None, description="A school we know (LAESTAB)")
    school_name: str = Field(default="", description="Or the name of a school not in our list")
    school_admitted_on: dt.date | None = None
    reason: str = ""


class CicRecordIn(InputSchema):
    child_id: int
    upn: str = ""
    responsible_authority: str = Field(description="DfE code, e.g. 886")
    legal_status: LegalStatus
    came_into_care_on: dt.date
    social_worker_name: str
    social_worker_team: str = ""
    social_worker_phone: str = ""
    social_worker_email: str = ""
    lead_officer_id: int | None = None
    placement: CicPlacementIn | None = None


class CicRecordPatch(InputSchema):
    upn: str | None = None
    responsible_authority: str | None = None
    legal_status: LegalStatus | None = None
    came_into_care_on: dt.date | None = None
    ceased_on: dt.date | None = None
    social_worker_name: str | None = None
    social_worker_team: str | None = None
    social_worker_phone: str | None = None
    social_worker_email: str | None = None
    lead_officer_id: int | None = None


class CicMoveOut(Schema):
    placement: CicPlacementOut
    alert: str | None = Field(description="The Virtual School alert the move raised, if any")


class PepTargetOut(Schema):
    area: str
    actions: str
    intervention: str
    improvement: str
    responsible: str
    due_on: dt.date | None
    status: str
    progress: str


class PepReviewOut(Schema):
    reviewed_on: dt.date
    attendees: str
    summary: str
    suitable_education: str
    suitable_education_reasons: str
    next_review_on: dt.date


class PepOut(Schema):
    id: int
    record_id: int
    case_id: int
    case_reference: str
    family_contacts: str
    key_contacts: str
    meeting_on: dt.date
    attendees: str
    summary: str
    suitable_education: str
    suitable_education_reasons: str
    review_on: dt.date
    targets: list[PepTargetOut]
    reviews: list[PepReviewOut]


class PepTargetIn(InputSchema):
    actions: str | None = None
    responsible: str | None = None
    due_on: dt.date | None = None
    status: TargetStatus | None = None
    progress: str | None = None


class PepIn(InputSchema):
    case_id: int
    meeting_on: dt.date
    attendees: str
    summary: str
    suitable_education: SuitableEducation
    suitable_education_reasons: str = ""
    review_on: dt.date | None = Field(
        default=None, description="Default: one month after the meeting; at most 13 weeks"
    )
    family_contacts: str = ""
    key_contacts: str = ""
    targets: dict[str, PepTargetIn] = Field(
        default_factory=dict, description='Keyed "attendance" and "academic"'
    )


class PepPatch(InputSchema):
    meeting_on: dt.date | None = None
    attendees: str | None = None
    summary: str | None = None
    suitable_education: SuitableEducation | None = None
    suitable_education_reasons: str | None = None
    review_on: dt.date | None = None
    family_contacts: str | None = None
    key_contacts: str | None = None
    targets: dict[str, PepTargetIn] = Field(default_factory=dict)


class PepReviewIn(InputSchema):
    reviewed_on: dt.date
    attendees: str
    summary: str
    suitable_education: SuitableEducation
    suitable_education_reasons: str = ""
    next_review_on: dt.date | None = None


# --- helpers ---------------------------------------------------------------------------------


def _placement_out(user: User, p: Placement) -> dict[str, Any]:
    return {
        "id": p.pk,
        "started_on": p.started_on,
        "ended_on": p.ended_on,
        "placement_type": p.placement_type,
        "placement_type_label": p.get_placement_type_display(),
        "placing_authority": p.placing_authority.code,
        "carer": p.carer,
        "address": selectors.placement_address_for(user, p),
        "school_laestab": p.school.laestab if p.school_id and p.school else None,
        "school": p.school_display,
        "school_admitted_on": p.school_admitted_on,
        "reason": p.reason,
        "open_alerts": [a.get_reason_display() for a in p.alerts.all() if a.is_open],
    }


def _record_out(r: ChildInCare) -> dict[str, Any]:
    return {
        "id": r.pk,
        "child_id": r.child_id,
        "child_name": r.child.full_name,
        "upn": r.child.upn,
        "responsible_authority": r.responsible_authority.code,
        "legal_status": r.legal_status,
        "legal_status_label": r.get_legal_status_display(),
        "came_into_care_on": r.came_into_care_on,
        "ceased_on": r.ceased_on,
        "social_worker_name": r.social_worker_name,
        "social_worker_team": r.social_worker_team,
        "social_worker_phone": r.social_worker_phone,
        "social_worker_email": r.social_worker_email,
        "lead_officer_id": r.lead_officer_id,
    }


def _record_detail(user: User, r: ChildInCare) -> dict[str, Any]:
    return {
        **_record_out(r),
        "placements": [_placement_out(user, p) for p in selectors.placements_for(r)],
    }


def _pep_out(p: PersonalEducationPlan) -> dict[str, Any]:
    return {
        "id": p.pk,
        "record_id": p.record_id,
        "case_id": p.case_id,
        "case_reference": p.case.reference,
        "family_contacts": p.family_contacts,
        "key_contacts": p.key_contacts,
        "meeting_on": p.meeting_on,
        "attendees": p.attendees,
        "summary": p.summary,
        "suitable_education": p.suitable_education,
        "suitable_education_reasons": p.suitable_education_reasons,
        "review_on": p.review_on,
        "targets": list(p.targets.all()),
        "reviews": list(p.reviews.all()),
    }


def _authority(code: str, field: str) -> LocalAuthority:
    la = LocalAuthority.objects.filter(code=code.strip()).first()
    if la is None:
        raise ValidationError({field: f"{code} is not the DfE code of a local authority"})
    return la


def _school(laestab: str | None) -> Organisation | None:
    if not laestab:
        return None
    digits = laestab.strip()
    school = next(
        (
            s
            for s in Organisation.objects.filter(
                kind=OrganisationKind.SCHOOL,
                local_authority__code=digits[:3],
                estab_number=digits[3:],
            ).select_related("local_authority")
        ),
        None,
    )
    if school is None:
        raise ValidationError(
            {
                "school_laestab": f"{laestab} is not the LAESTAB of a school we know: give "
                "school_name instead"
            }
        )
    return school


def _lead(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    lead = User.objects.filter(pk=user_id).first()
    if lead is None:
        raise ValidationError({"lead_officer": "Choose a Virtual School officer"})
    return lead


def _placement_values(body: CicPlacementIn) -> dict[str, Any]:
    data = body.dict()
    data["placing_authority"] = _authority(data["placing_authority"], "placing_authority")
    data["school"] = _school(data.pop("school_laestab"))
    return data


def _readable_record(request: HttpRequest, record_id: int) -> ChildInCare:
    try:
        return selectors.cic_records_visible_to(_user(request)).get(pk=record_id)
    except ChildInCare.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


def _writable_record(request: HttpRequest, record_id: int) -> ChildInCare:
    record = _readable_record(request, record_id)
    if not selectors.may_write_cic(_user(request)):
        raise HttpError(403, services.NOT_ALLOWED_CIC)
    return record


def _readable_pep(request: HttpRequest, pep_id: int) -> PersonalEducationPlan:
    try:
        return selectors.pep_get(user=_user(request), pep_id=pep_id)
    except PersonalEducationPlan.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


def _targets(body: dict[str, PepTargetIn]) -> dict[str, dict[str, Any]]:
    unknown = set(body) - {"attendance", "academic"}
    if unknown:
        raise ValidationError({"targets": 'Targets are "attendance" and "academic"'})
    return {area: t.dict(exclude_none=True) for area, t in body.items()}


# --- in-care records -------------------------------------------------------------------------


@router.get(
    "/virtual-school/records",
    response={200: list[CicRecordOut], 404: Problem},
    summary="Children in care on record (current records)",
)
def cic_records_list(request: HttpRequest) -> Any:
    user = _user(request)
    if not selectors.may_read_cic(user):
        raise HttpError(404, "Not found")
    return [_record_out(r) for r in selectors.current_records(user)[:1000]]


@router.post(
    "/virtual-school/records",
    response={201: CicRecordDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record that a child is in care (with their current placement)",
)
def cic_record_create(request: HttpRequest, body: CicRecordIn) -> Any:
    user = _user(request)
    if not selectors.may_read_cic(user):
        raise HttpError(404, "Not found")
    if not selectors.may_write_cic(user):
        raise HttpError(403, services.NOT_ALLOWED_CIC)
    try:
        child = children_visible_to(user).get(pk=body.child_id)
    except Child.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc

    def call() -> Any:
        data = body.dict(exclude={"placement", "child_id", "lead_officer_id"})
        data["responsible_authority"] = _authority(
            data["responsible_authority"], "responsible_authority"
        )
        record = services.cic_record_create(
            actor=Actor.from_request(request),
            child=child,
            lead_officer=_lead(body.lead_officer_id),
            placement=_placement_values(body.placement) if body.placement else None,
            **data,
        )
        return _record_detail(user, record)

    return run_write(call)


@router.get(
    "/virtual-school/records/{record_id}",
    response={200: CicRecordDetailOut, 404: Problem},
    summary="One in-care record with its placement history (the read is audited)",
)
def cic_record_get(request: HttpRequest, record_id: int) -> Any:
    try:
        record = selectors.cic_record_get_for_view(
            actor=Actor.from_request(request), record_id=record_id
        )
    except ChildInCare.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc
    return _record_detail(_user(request), record)


@router.patch(
    "/virtual-school/records/{record_id}",
    response={200: CicRecordDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Change an in-care record (ceased_on ends the child's time in care)",
)
def cic_record_patch(request: HttpRequest, record_id: int, body: CicRecordPatch) -> Any:
    record = _writable_record(request, record_id)
    sent = body.dict(exclude_unset=True)

    def call() -> Any:
        changes: dict[str, Any] = {
            k: v for k, v in sent.items() if k not in {"upn", "lead_officer_id"}
        }
        if "responsible_authority" in changes:
            changes["responsible_authority"] = _authority(
                changes["responsible_authority"] or "", "responsible_authority"
            )
        if "lead_officer_id" in sent:
            changes["lead_officer"] = _lead(sent["lead_officer_id"])
        updated = services.cic_record_update(
            actor=Actor.from_request(request), record=record, upn=sent.get("upn") or "", **changes
        )
        return _record_detail(_user(request), updated)

    return run_write(call, success=200)


@router.post(
    "/virtual-school/records/{record_id}/placements",
    response={201: CicMoveOut, 422: Problem, 403: Problem, 404: Problem},
    summary="The child moves placement (a move without a school place raises an alert)",
)
def cic_placement_create(request: HttpRequest, record_id: int, body: CicPlacementIn) -> Any:
    record = _writable_record(request, record_id)

    def call() -> Any:
        move = services.placement_change(
            actor=Actor.from_request(request), record=record, **_placement_values(body)
        )
        return {
            "placement": _placement_out(_user(request), move.placement),
            "alert": move.alert.get_reason_display() if move.alert else None,
        }

    return run_write(call)


# --- personal education plans ----------------------------------------------------------------


@router.get(
    "/virtual-school/records/{record_id}/peps",
    response={200: list[PepOut], 404: Problem},
    summary="The personal education plans of a child in care",
)
def cic_peps_list(request: HttpRequest, record_id: int) -> Any:
    record = _readable_record(request, record_id)
    return [_pep_out(p) for p in selectors.peps_for_record(record)]


@router.post(
    "/virtual-school/records/{record_id}/peps",
    response={201: PepOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Write the personal education plan of a child in care on a CME case",
)
def cic_pep_create(request: HttpRequest, record_id: int, body: PepIn) -> Any:
    record = _readable_record(request, record_id)
    user = _user(request)
    if not selectors.may_work_vs(user):
        raise HttpError(403, services.NOT_ALLOWED_VS)
    case = selectors.open_cme_cases_for_record(user, record).filter(pk=body.case_id).first()
    if case is None:
        case = Case.objects.filter(pk=body.case_id, child_id=record.child_id).first()
    if case is None:
        invalid_field("case_id", "Choose a CME case of this child")
    found: Case = case

    def call() -> Any:
        data = body.dict(exclude={"case_id", "targets"}, exclude_none=True)
        pep = services.pep_create(
            actor=Actor.from_request(request),
            record=record,
            case=found,
            targets=_targets(body.targets),
            **data,
        )
        return _pep_out(selectors.pep_get(user=user, pep_id=pep.pk))

    return run_write(call)


@router.get(
    "/virtual-school/peps/{pep_id}",
    response={200: PepOut, 404: Problem},
    summary="One personal education plan (the read is audited)",
)
def cic_pep_get(request: HttpRequest, pep_id: int) -> Any:
    try:
        pep = selectors.pep_get_for_view(actor=Actor.from_request(request), pep_id=pep_id)
    except PersonalEducationPlan.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc
    return _pep_out(pep)


@router.patch(
    "/virtual-school/peps/{pep_id}",
    response={200: PepOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Change a plan and its targets",
)
def cic_pep_patch(request: HttpRequest, pep_id: int, body: PepPatch) -> Any:
    pep = _readable_pep(request, pep_id)
    user = _user(request)
    if not selectors.may_work_vs(user):
        raise HttpError(403, services.NOT_ALLOWED_VS)

    def call() -> Any:
        changes = body.dict(exclude_unset=True, exclude={"targets"})
        services.pep_update(
            actor=Actor.from_request(request), pep=pep, targets=_targets(body.targets), **changes
        )
        return _pep_out(selectors.pep_get(user=user, pep_id=pep.pk))

    return run_write(call, success=200)


@router.post(
    "/virtual-school/peps/{pep_id}/reviews",
    response={201: PepOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a review meeting of a plan (moves its next review date on)",
)
def cic_pep_review(request: HttpRequest, pep_id: int, body: PepReviewIn) -> Status[Any] | Any:
    pep = _readable_pep(request, pep_id)
    user = _user(request)
    if not selectors.may_work_vs(user):
        raise HttpError(403, services.NOT_ALLOWED_VS)

    def call() -> Any:
        services.pep_review_record(
            actor=Actor.from_request(request), pep=pep, **body.dict(exclude_none=True)
        )
        return _pep_out(selectors.pep_get(user=user, pep_id=pep.pk))

    return run_write(call)
