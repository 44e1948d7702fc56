"""The front door over HTTP: create school and agency referrals, read your own.

Scoped exactly as the pages are: a school refers only pupils on its own latest roll and
an agency refers as itself; both read only what their organisation referred (CME officers
and managers read every referral, an SLO the school referrals of linked schools). A
referral out of scope is a 404, like one that does not exist.

A rule the referral breaks is a 422 problem (RFC 9457) with one message per field::

    {"type": "/api/v1/problems/invalid", "status": 422, "code": "invalid",
     "detail": "The referral was not saved: correct the fields listed.",
     "errors": [{"field": "absence_school_days", "pointer": "/absence_school_days",
                 "message": "..."}], ...}

School checks' fields are named ``checks.<kind>.<field>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import ConfigDict

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.idempotency.services import Receipt, api_submit_once
from cmetrack.kit.problems import (
    ApiProblem,
    InputSchema,
    Problem,
    field_error,
    forbidden,
    invalid_field,
    not_found,
    problems,
    refused,
    validation_errors,
)
from cmetrack.people.models import Child
from cmetrack.people.selectors import children_visible_to
from cmetrack.rules import normalise_upn

from .models import AgencySituation, CheckKind, CheckStatus, Concern, Referral
from .presenters import off_roll_advice, referrer_status
from .selectors import (
    TRIAGE_ROLES,
    may_triage,
    own_latest_roll,
    referral_get,
    referrals_visible_to,
    triage_duplicates,
    triage_queue,
)
from .services import (
    CheckInput,
    TriageNotAllowed,
    referral_agency_create,
    referral_link_to_child,
    referral_school_create,
    referral_triage,
)

router = Router(tags=["Referrals"])

NOT_SAVED = "The referral was not saved: correct the fields listed."


class ParentCarerIn(InputSchema):
    name: str = Field(max_length=200, examples=["Maria Kowalska"])
    relationship: str = Field(
        examples=["mother"],
        description="mother, father, step_parent, grandparent, other_relative, "
        "foster_carer, corporate_parent or other",
    )
    phone: str = Field("", max_length=40, examples=["07700 900123"])
    email: str = Field("", max_length=254, examples=["maria@example.org"])


class SchoolCheckIn(InputSchema):
    kind: CheckKind
    status: CheckStatus
    done_on: dt.date | None = Field(None, description="Required when the check was done.")
    result: str = ""
    reason: str = Field("", description="Required when the check was not possible.")


SCHOOL_EXAMPLE: dict[str, Any] = {
    "upn": "H801200001001",
    "parents_carers": [
        {"name": "Maria Kowalska", "relationship": "mother", "phone": "07700 900123"}
    ],
    "date_last_attendance": "2026-10-30",
    "absence_school_days": 12,
    "safeguarding_concern": "no",
    "reason": "Not attended since 30 October; the family are not at home.",
    "all_checks_complete": True,
    "checks": [
        {"kind": "telephoned", "status": "done", "done_on": "2026-11-02",
         "result": "No answer on either number"},
        {"kind": "siblings_same_school", "status": "not_applicable"},
        {"kind": "friends", "status": "done", "done_on": "2026-11-03",
         "result": "Friends have not heard from her"},
        {"kind": "siblings_other_schools", "status": "not_applicable"},
        {"kind": "home_visits", "status": "done", "done_on": "2026-11-04",
         "result": "Morning and evening visits; curtains closed, no answer"},
        {"kind": "slo_discussed", "status": "done", "done_on": "2026-11-05",
         "result": "SLO agreed to a referral"},
    ],
}  # fmt: skip


class SchoolReferralIn(InputSchema):
    """A school's referral of a pupil on its own latest roll, found by UPN. Identity fields
    left out are taken from the roll."""

    model_config = ConfigDict(json_schema_extra={"examples": [SCHOOL_EXAMPLE]})

    upn: str = Field(description="The pupil's UPN on your school's latest roll.")
    given_names: str | None = None
    family_name: str | None = None
    aliases: str = ""
    dob: dt.date | None = None
    sex: str | None = Field(None, description="F, M or U")
    gender: str = ""
    address: str | None = None
    postcode: str | None = None
    parents_carers: list[ParentCarerIn]
    siblings: str = ""
    reason: str
    date_last_attendance: dt.date | None
    absence_school_days: int | None = Field(ge=0, le=400)
    safeguarding_concern: Concern
    safeguarding_details: str = ""
    all_checks_complete: bool = False
    checks: list[SchoolCheckIn]


AGENCY_EXAMPLE: dict[str, Any] = {
    "given_names": "Jakub",
    "family_name": "Nowak",
    "approximate_age": 11,
    "sex": "M",
    "situation": "not_on_roll",
    "address": "Flat 3, 12 Station Road, Exampleton",
    "postcode": "EX1 4QT",
    "how_met": "Housing officer visit about temporary accommodation",
    "reason": "Family arrived in September; the child has no school place.",
    "safeguarding_concern": "unknown",
}


class AgencyReferralIn(InputSchema):
    model_config = ConfigDict(json_schema_extra={"examples": [AGENCY_EXAMPLE]})

    given_names: str
    family_name: str = ""
    aliases: str = ""
    dob: dt.date | None = None
    approximate_age: int | None = Field(None, ge=0, le=19)
    sex: str = Field("U", description="F, M or U")
    gender: str = ""
    upn: str = ""
    situation: AgencySituation
    address: str = ""
    postcode: str = ""
    how_met: str
    reason: str
    safeguarding_concern: Concern
    safeguarding_details: str = ""
    siblings: str = ""
    parents_carers: list[ParentCarerIn] = []


class ReferralOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reference": "R-7KQ3MX9P",
                    "route": "school",
                    "status": "linked",
                    "received_at": "2026-11-05T10:12:00Z",
                    "child_name": "Ola Kowalska",
                    "progress": "School Liaison Officer investigating",
                    "off_roll_advice": "Do not remove the child from roll",
                    "case_reference": None,
                }
            ]
        }
    )

    reference: str
    route: str
    status: str
    received_at: dt.datetime
    child_name: str
    progress: str = Field(description="The referral's progress as the referrer may know it.")
    off_roll_advice: str = Field(description="School referrals: the SLO's advice on the roll.")
    case_reference: str | None = Field(description="Only for the CME team.")
    case_id: int | None = Field(None, description="Only for the CME team (the case's id).")

    @staticmethod
    def resolve_child_name(obj: Referral) -> str:
        return obj.child_name

    @staticmethod
    def resolve_progress(obj: Referral) -> str:
        return referrer_status(obj)

    @staticmethod
    def resolve_off_roll_advice(obj: Referral) -> str:
        return off_roll_advice(obj)

    @staticmethod
    def resolve_case_reference(obj: Referral, context: dict[str, Any]) -> str | None:
        user = context["request"].auth
        if obj.case is not None and user.has_role(*ALL_CASES_ROLES, Role.SLO):
            return obj.case.reference
        return None

    @staticmethod
    def resolve_case_id(obj: Referral, context: dict[str, Any]) -> int | None:
        user = context["request"].auth
        if obj.case_id is not None and user.has_role(*ALL_CASES_ROLES, Role.SLO):
            return obj.case_id
        return None


def _errors(exc: ValidationError) -> ApiProblem:
    return ApiProblem("invalid", NOT_SAVED, errors=validation_errors(exc))


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


IDEMPOTENCY = (
    " Send an `Idempotency-Key` header (1 to 128 visible characters, new for each referral) "
    "to make a retry safe: the same key again answers with the referral the first call "
    "made (header `Idempotent-Replayed: true`) and makes no second one."
)


def _create_once(
    request: HttpRequest, response: HttpResponse, scope: str, create: Callable[[], Referral]
) -> Referral:
    """Run ``create`` once per ``Idempotency-Key``; a repeat answers with the first referral.
    (A malformed key is a 400, a key used for another body a 422: the API's handlers.)"""
    outcome = api_submit_once(
        request,
        scope=scope,
        create=create,
        receipt=lambda r: Receipt(
            url=reverse("referrals:submitted", kwargs={"reference": r.reference}),
            reference=r.reference,
            object_ids=(r.pk,),
        ),
    )
    if outcome.previous is not None:
        response["Idempotent-Replayed"] = "true"
        return Referral.objects.get(pk=outcome.previous.object_ids[0])
    assert outcome.result is not None
    return outcome.result


@router.post(
    "/referrals/school",
    response={201: ReferralOut, 403: Problem, 422: Problem},
    summary="Refer a pupil on your school's roll",
    description=IDEMPOTENCY.strip(),
    operation_id="referral_school_create",
)
def create_school_referral(
    request: HttpRequest, response: HttpResponse, payload: SchoolReferralIn
) -> Status[Any]:
    user = _user(request)
    if not user.has_role(Role.SCHOOL_USER):
        forbidden("Only a school user makes a school referral.")
    upn = normalise_upn(payload.upn)
    entry = own_latest_roll(user).filter(upn=upn).first()
    if entry is None:
        raise ApiProblem(
            "invalid",
            NOT_SAVED,
            errors=[field_error("upn", f"No pupil with UPN {upn} is on your school's latest roll")],
        )
    data = payload.dict()
    fields = {
        "given_names": data["given_names"] or entry.legal_given_name,
        "family_name": data["family_name"] or entry.legal_family_name,
        "aliases": data["aliases"],
        "dob": data["dob"] or entry.dob,
        "sex": data["sex"] or entry.sex,
        "gender": data["gender"],
        "upn": upn,
        "address": data["address"] if data["address"] is not None else entry.address,
        "postcode": data["postcode"] if data["postcode"] is not None else entry.postcode,
        "parents_carers": data["parents_carers"],
        "siblings": data["siblings"],
        "reason": data["reason"],
        "date_last_attendance": data["date_last_attendance"],
        "absence_school_days": data["absence_school_days"],
        "safeguarding_concern": data["safeguarding_concern"],
        "safeguarding_details": data["safeguarding_details"],
    }
    checks = [
        CheckInput(
            kind=str(c["kind"]),
            status=str(c["status"]),
            done_on=c["done_on"],
            result=c["result"],
            reason=c["reason"],
        )
        for c in data["checks"]
    ]
    try:
        referral = _create_once(
            request,
            response,
            "referrals.school",
            lambda: referral_school_create(
                actor=Actor.from_request(request),
                roll_entry=entry,
                checks=checks,
                all_checks_complete=data["all_checks_complete"],
                **fields,
            ),
        )
    except ValidationError as exc:
        raise _errors(exc) from exc
    return Status(201, referral)


@router.post(
    "/referrals/agency",
    response={201: ReferralOut, 403: Problem, 422: Problem},
    summary="Refer a child as an agency",
    description=IDEMPOTENCY.strip(),
    operation_id="referral_agency_create",
)
def create_agency_referral(
    request: HttpRequest, response: HttpResponse, payload: AgencyReferralIn
) -> Status[Any]:
    user = _user(request)
    if not user.has_role(Role.AGENCY_USER):
        forbidden("Only an agency user makes an agency referral.")
    data = payload.dict()
    data["situation"] = str(data["situation"])
    data["safeguarding_concern"] = str(data["safeguarding_concern"])
    try:
        referral = _create_once(
            request,
            response,
            "referrals.agency",
            lambda: referral_agency_create(actor=Actor.from_request(request), **data),
        )
    except ValidationError as exc:
        raise _errors(exc) from exc
    return Status(201, referral)


@router.get(
    "/referrals",
    response=list[ReferralOut],
    summary="List the referrals you may see, newest first",
    operation_id="referral_list",
)
@paginate(LimitOffsetPagination)
def list_referrals(request: HttpRequest, route: str | None = None) -> QuerySet[Referral]:
    qs = referrals_visible_to(_user(request)).order_by("-received_at", "-id")
    if route:
        qs = qs.filter(route=route)
    return qs


@router.get(
    "/referrals/triage",
    response={200: list[ReferralOut], **problems(403, 422)},
    summary="Referrals waiting for triage that you may triage, newest first",
    operation_id="referral_triage_queue",
)
@paginate(LimitOffsetPagination)
def triage_list(request: HttpRequest, route: str = "") -> QuerySet[Referral]:
    user = _user(request)
    if not user.has_role(*TRIAGE_ROLES):
        forbidden("Only the CME team and School Liaison Officers triage referrals.")
    if route and route not in ReferralRoute.values:
        invalid_field("route", "Choose one of: " + ", ".join(ReferralRoute.values))
    return triage_queue(user, route=route)


@router.get(
    "/referrals/{reference}",
    response={200: ReferralOut, 404: Problem},
    summary="One referral you may see",
    operation_id="referral_get",
)
def get_referral(request: HttpRequest, reference: str) -> Referral:
    try:
        return referral_get(_user(request), reference)
    except Referral.DoesNotExist:
        not_found("No such referral.")


# --- triage: what happens to a referral (the triage page) ------------------------------------


class OpenCaseOut(Schema):
    id: int
    reference: str
    state: str


class PossibleDuplicateOut(Schema):
    child_id: int
    name: str
    dob: dt.date | None
    probability: float = Field(description="The engine's probability that it is the same child")
    band: str
    equally_good: bool = Field(description="Another child matches as well (twins?)")
    reasons: list[str]
    open_cases: list[OpenCaseOut]


class PossibleDuplicatesOut(Schema):
    items: list[PossibleDuplicateOut]
    others_hidden: bool = Field(
        description="There were possible duplicates outside what you may see."
    )


class TriageIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "open", "new_child": True, "assign_to_id": 12},
                {"decision": "open", "child_id": 345},
                {"decision": "same_child", "child_id": 345},
                {"decision": "duplicate", "duplicate_of_case_id": 678, "reason": "Same family"},
                {"decision": "not_school_age", "new_child": True, "reason": "Aged 17"},
            ]
        }
    )

    decision: Literal["open", "not_school_age", "duplicate", "same_child"] = Field(
        description="open: open a case (a school referral goes to the SLO, any other to "
        "tracking); not_school_age: open and close it as not CME, with the reason; "
        "duplicate: link it to an open case it repeats; same_child: the referral is about "
        "child_id, a possible duplicate, in one step (linked to the child's newest open "
        "case, or a case opened for the child if there is none)."
    )
    child_id: int | None = Field(
        None, description="The child's record (open, not_school_age): one you may see."
    )
    new_child: bool = Field(
        False, description="Create a new child record from the referral instead of child_id."
    )
    family_name: str = Field(
        "", max_length=100, description="For a new record, if the referral had no last name."
    )
    duplicate_of_case_id: int | None = Field(None, description="duplicate: the open case.")
    reason: str = Field("", max_length=300)
    assign_to_id: int | None = Field(
        None, description="Assign the new case (an SLO may assign only themselves)."
    )


def _triageable(request: HttpRequest, reference: str) -> Referral:
    user = _user(request)
    try:
        referral = referral_get(user, reference)
    except Referral.DoesNotExist:
        not_found("No such referral.")
    if not user.has_role(*TRIAGE_ROLES) or not may_triage(user, referral):
        forbidden("You may not triage this referral.")
    return referral


@router.get(
    "/referrals/{reference}/possible-duplicates",
    response={200: PossibleDuplicatesOut, **problems(403, 404, 503)},
    summary="Children the referral may be about, with their open cases (for triage)",
    description="As the triage page shows them: only children you may see, each one "
    "shown audited as a read of that child's record. 503 while the search is prepared "
    "(never read that as no duplicate).",
    operation_id="referral_possible_duplicates",
)
def possible_duplicates(request: HttpRequest, reference: str) -> dict[str, Any]:
    referral = _triageable(request, reference)
    shown, hidden = triage_duplicates(actor=Actor.from_request(request), referral=referral)
    return {
        "items": [
            {
                "child_id": d.child.pk,
                "name": d.child.full_name,
                "dob": d.child.dob,
                "probability": round(d.score, 6),
                "band": d.band_label,
                "equally_good": d.equally_good,
                "reasons": d.reasons,
                "open_cases": [
                    {"id": c.pk, "reference": c.reference, "state": c.state} for c in d.open_cases
                ],
            }
            for d in shown
        ],
        "others_hidden": hidden,
    }


@router.post(
    "/referrals/{reference}/triage",
    response={200: ReferralOut, **problems(403, 404, 422)},
    summary="Triage a received referral: open a case, close it as not CME, or link it",
    description="The same service as the triage page, in one transaction and audited. A "
    "referral already triaged, or a choice the rules refuse, is a 422 saying why.",
    operation_id="referral_triage",
)
def triage(request: HttpRequest, reference: str, payload: TriageIn) -> Referral:
    referral = _triageable(request, reference)
    user = _user(request)
    child: Child | None = None
    if payload.decision in ("open", "not_school_age", "same_child"):
        if payload.child_id is None and not payload.new_child:
            invalid_field("child_id", "Give the child's record, or new_child: true for a new one")
        if payload.child_id is not None:
            child = children_visible_to(user).filter(pk=payload.child_id).first()
            if child is None:
                invalid_field("child_id", "Choose a child record you can see")
    duplicate_of: Case | None = None
    if payload.decision == "duplicate":
        if payload.duplicate_of_case_id is None:
            invalid_field("duplicate_of_case_id", "Choose the open case this referral repeats")
        duplicate_of = cases_visible_to(user).filter(pk=payload.duplicate_of_case_id).first()
        if duplicate_of is None:
            invalid_field("duplicate_of_case_id", "Choose an open case you can see")
    assign_to: User | None = None
    if payload.assign_to_id is not None:
        assign_to = User.objects.filter(pk=payload.assign_to_id).first()
        if assign_to is None:
            invalid_field("assign_to_id", "Choose someone who works on cases")
    if payload.decision == "same_child" and child is None:
        invalid_field("child_id", "Give the child's record the referral is about")
    try:
        if payload.decision == "same_child":
            assert child is not None
            referral_link_to_child(
                actor=Actor.from_request(request),
                referral=referral,
                child=child,
                assign_to=assign_to,
            )
            return referral_get(user, referral.reference)
        referral_triage(
            actor=Actor.from_request(request),
            referral=referral,
            decision=payload.decision,
            child=child,
            duplicate_of=duplicate_of,
            reason=payload.reason,
            assign_to=assign_to,
            family_name=payload.family_name,
        )
    except ValidationError as exc:
        raise ApiProblem(
            "invalid",
            "The referral was not triaged: correct the fields listed.",
            errors=[
                field_error(_TRIAGE_FIELDS.get(e["field"], e["field"]), e["message"])
                for e in validation_errors(exc)
            ],
        ) from exc
    except TriageNotAllowed as exc:
        refused(str(exc))
    return referral_get(user, referral.reference)


_TRIAGE_FIELDS = {
    "child": "child_id",
    "duplicate_of": "duplicate_of_case_id",
    "assign_to": "assign_to_id",
}
