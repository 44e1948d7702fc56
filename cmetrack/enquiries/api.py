"""HTTP API of the enquiries app (mounted under /api/v1/).

Scoped like the pages: only CME officers, managers and auditors see enquiries (403 for
every other role); auditors read only (403 on writes); an enquiry outside the caller's
scope is 404. Writes go through the same services, so they are audited and refused for
the same reasons (a blanket batch, a restricted address, a move the status table forbids).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.core.api_support import Error, ValidationErrorOut
from cmetrack.core.api_support import api_user as _user
from cmetrack.core.api_support import run_write as _write
from cmetrack.organisations.models import LocalAuthority
from cmetrack.organisations.selectors import authority_directory, contact_is_stale

from . import selectors, services
from .dataset import ALL_ITEMS, EnquiryDetails
from .models import EnquiryStatus, OutgoingEnquiry, ReplyOutcome

router = Router(tags=["Inter-authority enquiries"])


# --- schemas -------------------------------------------------------------------------------


class EnquiryOut(Schema):
    id: int
    reference: str
    case_id: int
    case_reference: str
    authority_code: str
    authority_name: str
    contact_name: str
    contact_email: str
    reason_linked: str
    status: EnquiryStatus
    sent_on: dt.date
    reply_due_on: dt.date
    overdue: bool
    acknowledged_on: dt.date | None
    chased_on: dt.date | None
    times_chased: int
    answered_on: dt.date | None
    closed_on: dt.date | None

    @staticmethod
    def resolve_case_reference(obj: OutgoingEnquiry) -> str:
        return obj.case.reference

    @staticmethod
    def resolve_authority_code(obj: OutgoingEnquiry) -> str:
        return obj.local_authority.code

    @staticmethod
    def resolve_authority_name(obj: OutgoingEnquiry) -> str:
        return obj.local_authority.name

    @staticmethod
    def resolve_overdue(obj: OutgoingEnquiry) -> bool:
        from django.utils import timezone

        return (
            obj.status in ("sent", "acknowledged", "chased")
            and obj.remind_on < timezone.localdate()
        )


class ReplyOut(Schema):
    id: int
    received_on: dt.date
    outcome: ReplyOutcome
    details: str
    school: str
    address: str
    responder_name: str
    responder_role: str
    source: str


class EnquiryDetailOut(EnquiryOut):
    shared: dict[str, Any] = Field(description="Exactly what was sent (the JSON document).")
    replies: list[ReplyOut]

    @staticmethod
    def resolve_replies(obj: OutgoingEnquiry) -> list[Any]:
        return list(obj.replies.all())


class EnquiryIn(Schema):
    case_id: int
    authority_code: str = Field(description="The DfE code of the one authority to ask.")
    reason_linked: str = Field(description="Why the child is believed linked to it (required).")
    share: list[str] = Field(
        default_factory=lambda: list(ALL_ITEMS),
        description="Items to share: " + ", ".join(ALL_ITEMS),
    )
    date_left_area: dt.date | None = None
    possible_new_address: str = ""
    possible_new_school: str = ""
    country_of_origin: str = ""
    reason_for_leaving: str = ""
    attendance_interventions: str = ""
    other_vulnerability: str = ""

    def details(self) -> EnquiryDetails:
        return EnquiryDetails(
            date_left_area=self.date_left_area,
            possible_new_address=self.possible_new_address,
            possible_new_school=self.possible_new_school,
            country_of_origin=self.country_of_origin,
            reason_for_leaving=self.reason_for_leaving,
            attendance_interventions=self.attendance_interventions,
            other_vulnerability=self.other_vulnerability,
            share=frozenset(self.share),
        )


class BatchItem(Schema):
    authority_code: str
    reason_linked: str


class BatchIn(Schema):
    case_id: int
    requests: list[BatchItem]
    share: list[str] = Field(default_factory=lambda: list(ALL_ITEMS))


class ReplyIn(Schema):
    received_on: dt.date
    outcome: ReplyOutcome
    responder_name: str
    responder_role: str = ""
    details: str = ""
    school: str = ""
    address: str = ""


class AcknowledgeIn(Schema):
    acknowledged_on: dt.date
    acknowledged_by: str


class ChaseIn(Schema):
    chased_on: dt.date | None = None
    note: str = ""


class CloseIn(Schema):
    reason: str


class AuthorityOut(Schema):
    code: str
    name: str
    country: str
    region: str
    cme_contact_name: str
    cme_contact_role: str
    cme_contact_email: str
    cme_contact_phone: str
    contact_confirmed_on: dt.date | None
    contact_stale: bool

    @staticmethod
    def resolve_contact_stale(obj: LocalAuthority) -> bool:
        return contact_is_stale(obj)


# --- helpers -------------------------------------------------------------------------------


def _require_see(request: HttpRequest) -> None:
    if not selectors.may_see_enquiries(_user(request)):
        raise HttpError(403, "Only the CME team and auditors see inter-authority enquiries.")


def _require_act(request: HttpRequest) -> None:
    _require_see(request)
    if not selectors.may_act_on_enquiries(_user(request)):
        raise HttpError(403, "Only CME officers and managers make and answer enquiries.")


def _enquiry(request: HttpRequest, pk: int) -> OutgoingEnquiry:
    _require_see(request)
    try:
        return selectors.outgoing_get_for_view(
            actor=Actor.from_request(request), user=_user(request), pk=pk
        )
    except OutgoingEnquiry.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return cases_visible_to(_user(request)).get(pk=case_id)
    except Case.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


def _authority(code: str, field: str = "authority_code") -> LocalAuthority:
    la = LocalAuthority.objects.filter(code=code.strip()).first()
    if la is None:
        raise ValidationError({field: [f"{code} is not the code of an authority"]})
    return la


# --- endpoints -----------------------------------------------------------------------------


@router.get(
    "/enquiries",
    response={200: list[EnquiryOut], 403: Error},
    summary="Outgoing enquiries the caller may see",
    operation_id="enquiry_list",
)
@paginate(LimitOffsetPagination)
def enquiry_list(
    request: HttpRequest,
    status: str = "",
    overdue: bool = False,
    case_id: int | None = None,
) -> QuerySet[OutgoingEnquiry]:
    _require_see(request)
    user = _user(request)
    qs = selectors.reply_overdue(user) if overdue else selectors.outgoing_visible_to(user)
    if status:
        if status not in EnquiryStatus.values:
            raise HttpError(400, "status must be one of " + ", ".join(EnquiryStatus.values))
        qs = qs.filter(status=status)
    if case_id is not None:
        qs = qs.filter(case_id=case_id)
    return qs


@router.post(
    "/enquiries",
    response={201: EnquiryDetailOut, 400: ValidationErrorOut, 403: Error, 404: Error},
    summary="Make an enquiry to one named authority",
    operation_id="enquiry_create",
)
def enquiry_create(request: HttpRequest, payload: EnquiryIn) -> Any:
    _require_act(request)
    case = _case(request, payload.case_id)

    def call() -> OutgoingEnquiry:
        return services.enquiry_send(
            actor=Actor.from_request(request),
            case=case,
            local_authority=_authority(payload.authority_code),
            reason_linked=payload.reason_linked,
            details=payload.details(),
        )

    return _write(call)


@router.post(
    "/enquiries/batch",
    response={201: list[EnquiryDetailOut], 400: ValidationErrorOut, 403: Error, 404: Error},
    summary="Several enquiries at once: one per authority, each with its own reason",
    description="Refused as a whole (nothing sent) unless every authority has its own, "
    "distinct reason: a blanket enquiry is not allowed.",
    operation_id="enquiry_batch_create",
)
def enquiry_batch(request: HttpRequest, payload: BatchIn) -> Any:
    _require_act(request)
    case = _case(request, payload.case_id)

    def call() -> list[OutgoingEnquiry]:
        requests = [
            services.EnquiryRequest(_authority(r.authority_code, "requests"), r.reason_linked)
            for r in payload.requests
        ]
        return services.enquiries_send_batch(
            actor=Actor.from_request(request),
            case=case,
            requests=requests,
            details=EnquiryDetails(share=frozenset(payload.share)),
        )

    return _write(call)


@router.get(
    "/enquiries/{enquiry_id}",
    response={200: EnquiryDetailOut, 403: Error, 404: Error},
    summary="One enquiry, with what was shared and the replies",
    operation_id="enquiry_get",
)
def enquiry_get(request: HttpRequest, enquiry_id: int) -> OutgoingEnquiry:
    return _enquiry(request, enquiry_id)


@router.get(
    "/enquiries/{enquiry_id}/document",
    response={200: dict[str, Any], 403: Error, 404: Error},
    summary="The enquiry as the structured file (docs/enquiry-schema.json)",
    operation_id="enquiry_document",
)
def enquiry_document(request: HttpRequest, enquiry_id: int) -> HttpResponse:
    enquiry = _enquiry(request, enquiry_id)
    text = services.enquiry_export(
        actor=Actor.from_request(request), enquiry=enquiry, kind="JSON file (API)"
    )
    return HttpResponse(text, content_type="application/json")


def _reload(enquiry: OutgoingEnquiry) -> OutgoingEnquiry:
    return OutgoingEnquiry.objects.select_related("case__child", "local_authority").get(
        pk=enquiry.pk
    )


@router.post(
    "/enquiries/{enquiry_id}/reply",
    response={201: EnquiryDetailOut, 400: ValidationErrorOut, 403: Error, 404: Error},
    summary="Record the other authority's reply",
    operation_id="enquiry_reply_record",
)
def enquiry_reply(request: HttpRequest, enquiry_id: int, payload: ReplyIn) -> Any:
    _require_act(request)
    enquiry = _enquiry(request, enquiry_id)

    def call() -> OutgoingEnquiry:
        services.enquiry_reply_record(
            actor=Actor.from_request(request), enquiry=enquiry, **payload.dict()
        )
        return _reload(enquiry)

    return _write(call)


@router.post(
    "/enquiries/{enquiry_id}/reply/import",
    response={201: EnquiryDetailOut, 400: ValidationErrorOut, 403: Error, 404: Error},
    summary="Import the other authority's JSON reply (validated against the schema)",
    description="The body is the reply document itself (document_type cme_enquiry_reply).",
    operation_id="enquiry_reply_import",
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "required": True,
        }
    },
)
def enquiry_reply_import(request: HttpRequest, enquiry_id: int) -> Any:
    _require_act(request)
    enquiry = _enquiry(request, enquiry_id)

    def call() -> OutgoingEnquiry:
        services.enquiry_reply_import(
            actor=Actor.from_request(request), enquiry=enquiry, raw=request.body
        )
        return _reload(enquiry)

    return _write(call)


@router.post(
    "/enquiries/{enquiry_id}/acknowledged",
    response={200: EnquiryDetailOut, 400: ValidationErrorOut, 403: Error, 404: Error},
    summary="Record that the authority acknowledged the enquiry",
    operation_id="enquiry_acknowledge",
)
def enquiry_acknowledge(request: HttpRequest, enquiry_id: int, payload: AcknowledgeIn) -> Any:
    _require_act(request)
    enquiry = _enquiry(request, enquiry_id)
    return _write(
        lambda: services.enquiry_acknowledge(
            actor=Actor.from_request(request), enquiry=enquiry, **payload.dict()
        ),
        success=200,
    )


@router.post(
    "/enquiries/{enquiry_id}/chased",
    response={200: EnquiryDetailOut, 400: ValidationErrorOut, 403: Error, 404: Error},
    summary="Record a reminder sent to the authority",
    operation_id="enquiry_chase",
)
def enquiry_chase(request: HttpRequest, enquiry_id: int, payload: ChaseIn) -> Any:
    _require_act(request)
    enquiry = _enquiry(request, enquiry_id)
    return _write(
        lambda: services.enquiry_chase(
            actor=Actor.from_request(request), enquiry=enquiry, **payload.dict()
        ),
        success=200,
    )


@router.post(
    "/enquiries/{enquiry_id}/close",
    response={200: EnquiryDetailOut, 400: ValidationErrorOut, 403: Error, 404: Error},
    summary="Close the enquiry, with the reason",
    operation_id="enquiry_close",
)
def enquiry_close(request: HttpRequest, enquiry_id: int, payload: CloseIn) -> Any:
    _require_act(request)
    enquiry = _enquiry(request, enquiry_id)
    return _write(
        lambda: services.enquiry_close(
            actor=Actor.from_request(request), enquiry=enquiry, reason=payload.reason
        ),
        success=200,
    )


@router.get(
    "/local-authorities",
    response={200: list[AuthorityOut], 403: Error},
    summary="The directory of authorities and their named CME contacts",
    operation_id="local_authority_directory",
)
@paginate(LimitOffsetPagination)
def local_authorities(
    request: HttpRequest, q: str = "", country: str = "", stale: bool = False
) -> QuerySet[LocalAuthority]:
    if not selectors.may_see_directory(_user(request)):
        raise HttpError(403, "The directory of authorities is for local authority staff.")
    return authority_directory(query=q[:100], country=country, stale_only=stale)
