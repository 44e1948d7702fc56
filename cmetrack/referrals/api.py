"""The front door over HTTP: create school and agency referrals, read your own.

Scoped exactly as the pages are: a school refers only pupils on its own latest roll and
an agency refers as itself; both read only what their organisation referred (CME officers
and managers read every referral, an SLO the school referrals of linked schools). A
referral out of scope is a 404, like one that does not exist.

A rule the referral breaks is a 422 with one message per field::

    {"detail": "The referral was not saved: correct the fields listed.",
     "errors": [{"field": "absence_school_days", "message": "..."}]}

School checks' fields are named ``checks.<kind>.<field>``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate
from pydantic import ConfigDict

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.services import Actor
from cmetrack.idempotency.services import InvalidKey, KeyReused, Receipt, api_submit_once
from cmetrack.rules import normalise_upn

from .models import AgencySituation, CheckKind, CheckStatus, Concern, Referral
from .presenters import off_roll_advice, referrer_status
from .selectors import own_latest_roll, referral_get, referrals_visible_to
from .services import CheckInput, referral_agency_create, referral_school_create

router = Router(tags=["Referrals"])

NOT_SAVED = "The referral was not saved: correct the fields listed."


class ParentCarerIn(Schema):
    name: str = Field(max_length=200, examples=["Maria Kowalska"])
    relationship: str = Field(
        examples=["mother"],
        description="mother, father, step_parent, grandparent, other_relative, "
        "foster_carer, corporate_parent or other",
    )
    phone: str = Field("", max_length=40, examples=["07700 900123"])
    email: str = Field("", max_length=254, examples=["maria@example.org"])


class SchoolCheckIn(Schema):
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


class SchoolReferralIn(Schema):
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


class AgencyReferralIn(Schema):
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


class ReferralFieldErrorOut(Schema):
    field: str
    message: str


class ReferralValidationErrorOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": NOT_SAVED,
                    "errors": [
                        {
                            "field": "all_checks_complete",
                            "message": "The child has been absent for fewer than 10 school "
                            "days: confirm that every check is complete, or refer when the "
                            "absence reaches 10 school days",
                        }
                    ],
                }
            ]
        }
    )

    detail: str
    errors: list[ReferralFieldErrorOut]


class ReferralErrorOut(Schema):
    detail: str


def _errors(exc: ValidationError) -> dict[str, Any]:
    return {
        "detail": NOT_SAVED,
        "errors": [
            {"field": field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ],
    }


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
    """Run ``create`` once per ``Idempotency-Key``; a repeat answers with the first referral."""
    try:
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
    except InvalidKey as exc:
        raise HttpError(400, str(exc)) from exc
    except KeyReused as exc:
        raise HttpError(422, str(exc)) from exc
    if outcome.previous is not None:
        response["Idempotent-Replayed"] = "true"
        return Referral.objects.get(pk=outcome.previous.object_ids[0])
    assert outcome.result is not None
    return outcome.result


@router.post(
    "/referrals/school",
    response={201: ReferralOut, 403: ReferralErrorOut, 422: ReferralValidationErrorOut},
    summary="Refer a pupil on your school's roll",
    description=IDEMPOTENCY.strip(),
    operation_id="referral_school_create",
)
def create_school_referral(
    request: HttpRequest, response: HttpResponse, payload: SchoolReferralIn
) -> Status[Any]:
    user = _user(request)
    if not user.has_role(Role.SCHOOL_USER):
        raise HttpError(403, "Only a school user makes a school referral.")
    upn = normalise_upn(payload.upn)
    entry = own_latest_roll(user).filter(upn=upn).first()
    if entry is None:
        return Status(
            422,
            {
                "detail": NOT_SAVED,
                "errors": [
                    {
                        "field": "upn",
                        "message": f"No pupil with UPN {upn} is on your school's latest roll",
                    }
                ],
            },
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
        return Status(422, _errors(exc))
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
    return Status(201, referral)


@router.post(
    "/referrals/agency",
    response={201: ReferralOut, 403: ReferralErrorOut, 422: ReferralValidationErrorOut},
    summary="Refer a child as an agency",
    description=IDEMPOTENCY.strip(),
    operation_id="referral_agency_create",
)
def create_agency_referral(
    request: HttpRequest, response: HttpResponse, payload: AgencyReferralIn
) -> Status[Any]:
    user = _user(request)
    if not user.has_role(Role.AGENCY_USER):
        raise HttpError(403, "Only an agency user makes an agency referral.")
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
        return Status(422, _errors(exc))
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
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
    "/referrals/{reference}",
    response={200: ReferralOut, 404: ReferralErrorOut},
    summary="One referral you may see",
    operation_id="referral_get",
)
def get_referral(request: HttpRequest, reference: str) -> Status[Any]:
    try:
        return Status(200, referral_get(_user(request), reference))
    except Referral.DoesNotExist:
        return Status(404, {"detail": "No such referral."})
