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
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import LimitOffsetPagination, paginate

from cmetrack.accounts.api import api_user as _user
from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.idempotency.services import Receipt, api_submit_once
from cmetrack.kit.problems import (
    InputSchema,
    Problem,
    forbidden,
    invalid_field,
    not_found,
    problems,
)
from cmetrack.kit.problems import run_write as _write
from cmetrack.organisations.models import LocalAuthority
from cmetrack.organisations.selectors import authority_directory, contact_is_stale

from . import selectors, services
from .dataset import ALL_ITEMS, MINIMUM_ITEMS, EnquiryDetails
from .models import (
    EnquiryStatus,
    HomeOfficeCheck,
    HomeOfficeResult,
    IncomingEnquiry,
    MoveNotification,
    OutgoingEnquiry,
    ReplyOutcome,
    RiskLevel,
)

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


class EnquiryIn(InputSchema):
    case_id: int
    authority_code: str = Field(description="The DfE code of the one authority to ask.")
    reason_linked: str = Field(description="Why the child is believed linked to it (required).")
    share: list[str] = Field(
        default_factory=lambda: list(MINIMUM_ITEMS),
        description=(
            "Items to share: "
            + ", ".join(ALL_ITEMS)
            + ". Left out, the minimum another authority needs to find the child: "
            + ", ".join(MINIMUM_ITEMS)
            + " (data minimisation); name a vulnerability only when this enquiry needs it."
        ),
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


class BatchItem(InputSchema):
    authority_code: str
    reason_linked: str


class BatchIn(InputSchema):
    case_id: int
    requests: list[BatchItem]
    share: list[str] = Field(
        default_factory=lambda: list(MINIMUM_ITEMS),
        description="As for one enquiry: the minimum unless items are named.",
    )


class ReplyIn(InputSchema):
    received_on: dt.date
    outcome: ReplyOutcome
    responder_name: str
    responder_role: str = ""
    details: str = ""
    school: str = ""
    address: str = ""


class AcknowledgeIn(InputSchema):
    acknowledged_on: dt.date
    acknowledged_by: str


class ChaseIn(InputSchema):
    chased_on: dt.date | None = None
    note: str = ""


class CloseIn(InputSchema):
    reason: str


class IncomingOut(Schema):
    """Another authority's enquiry to us (logged as a referral)."""

    id: int
    referral_reference: str
    case_reference: str | None
    from_authority_code: str
    from_authority_name: str
    their_reference: str
    contact_name: str
    contact_email: str
    received_on: dt.date
    reply_due_on: dt.date
    reply_overdue: bool
    reason_linked: str
    address_given: str
    vulnerabilities: str
    searched_at: dt.datetime | None
    possible_matches: int
    match_decided_at: dt.datetime | None
    match_none: bool
    match_label: str
    child_id: int | None
    assessed_on: dt.date | None
    risk_level: str
    visit_task_id: int | None
    replied_on: dt.date | None
    reply_outcome: str
    reply_details: str

    @staticmethod
    def resolve_referral_reference(obj: IncomingEnquiry) -> str:
        return obj.referral.reference

    @staticmethod
    def resolve_case_reference(obj: IncomingEnquiry) -> str | None:
        case = obj.referral.case
        return case.reference if case is not None else None

    @staticmethod
    def resolve_from_authority_code(obj: IncomingEnquiry) -> str:
        return obj.from_la.code

    @staticmethod
    def resolve_from_authority_name(obj: IncomingEnquiry) -> str:
        return obj.from_la.name

    @staticmethod
    def resolve_reply_overdue(obj: IncomingEnquiry) -> bool:
        from django.utils import timezone

        return obj.replied_on is None and obj.reply_due_on < timezone.localdate()

    @staticmethod
    def resolve_possible_matches(obj: IncomingEnquiry) -> int:
        return len(obj.search_results or [])

    @staticmethod
    def resolve_child_id(obj: IncomingEnquiry) -> int | None:
        child = services.enquiry_child(obj)
        return child.pk if child else None


class PossibleMatchOut(Schema):
    key: str = Field("", description="Give it as `choice` to say this is the child.")
    found_in: str = Field(validation_alias="register", description="The register.")
    name: str
    dob: str
    where: str
    probability: str
    explanation: str = ""


class IncomingDetailOut(IncomingOut):
    search_results: list[PossibleMatchOut]
    document: dict[str, Any] | None = Field(None, description="Their JSON enquiry, if sent.")


class IncomingReplyIn(InputSchema):
    outcome: ReplyOutcome
    details: str = ""
    replied_on: dt.date | None = None
    school: str = ""
    address: str = ""


class MatchIn(InputSchema):
    choice: str = Field(
        description="The `key` of one of the possible matches, or `none` (none of them "
        "is the child)."
    )


class AssessIn(InputSchema):
    assessed_on: dt.date
    risk_level: RiskLevel
    assessment: str


class VisitIn(InputSchema):
    owner_id: int = Field(description="Who visits (someone who works the case).")
    due: dt.date


class AuthorityOut(Schema):
    id: int = Field(description="Give it where an endpoint takes a local authority by id.")
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
        raise HttpError(
            403,
            "Only the CME team sees inter-authority enquiries: they hold children's details "
            "(auditors see the register without them, on the enquiries page).",
        )


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


def _incoming(request: HttpRequest, pk: int) -> IncomingEnquiry:
    _require_see(request)
    try:
        return selectors.incoming_get_for_view(
            actor=Actor.from_request(request), user=_user(request), pk=pk
        )
    except IncomingEnquiry.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


def _incoming_reload(enquiry: IncomingEnquiry) -> IncomingEnquiry:
    return IncomingEnquiry.objects.select_related("from_la", "referral__case", "matched_child").get(
        pk=enquiry.pk
    )


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
    response={200: list[EnquiryOut], 403: Problem},
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
            invalid_field("status", "Choose one of: " + ", ".join(EnquiryStatus.values))
        qs = qs.filter(status=status)
    if case_id is not None:
        qs = qs.filter(case_id=case_id)
    return qs


IDEMPOTENCY = (
    " Send an `Idempotency-Key` header (1 to 128 visible characters, new for each request) "
    "to make a retry safe: the same key and body again answer with what the first call "
    "made (header `Idempotent-Replayed: true`) and send nothing twice; the same key with "
    "another body is a 422, a malformed key a 400."
)


def _send_once(
    request: HttpRequest, response: HttpResponse, scope: str, call: Any, many: bool
) -> Any:
    """Run ``call`` through :func:`_write`, once per ``Idempotency-Key``."""

    def receipt(made: Any) -> Receipt:
        enquiries = made if many else [made]
        return Receipt(
            url=reverse("enquiries:outgoing-detail", args=[enquiries[0].pk]),
            reference=", ".join(e.reference for e in enquiries),
            object_ids=tuple(e.pk for e in enquiries),
        )

    def once() -> Any:
        outcome = api_submit_once(request, scope=scope, create=call, receipt=receipt)
        if outcome.previous is None:
            return outcome.result
        response["Idempotent-Replayed"] = "true"
        ids = outcome.previous.object_ids
        found = {e.pk: e for e in OutgoingEnquiry.objects.filter(pk__in=ids)}
        first = [found[pk] for pk in ids]
        return first if many else first[0]

    return _write(once)


@router.post(
    "/enquiries",
    response={201: EnquiryDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Make an enquiry to one named authority",
    description=IDEMPOTENCY.strip(),
    operation_id="enquiry_create",
)
def enquiry_create(request: HttpRequest, response: HttpResponse, payload: EnquiryIn) -> Any:
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

    return _send_once(request, response, "enquiries.outgoing", call, many=False)


@router.post(
    "/enquiries/batch",
    response={201: list[EnquiryDetailOut], 422: Problem, 403: Problem, 404: Problem},
    summary="Several enquiries at once: one per authority, each with its own reason",
    description="Refused as a whole (nothing sent) unless every authority has its own, "
    "distinct reason: a blanket enquiry is not allowed." + IDEMPOTENCY,
    operation_id="enquiry_batch_create",
)
def enquiry_batch(request: HttpRequest, response: HttpResponse, payload: BatchIn) -> Any:
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

    return _send_once(request, response, "enquiries.outgoing-batch", call, many=True)


# --- incoming enquiries (another authority asks us) ------------------------------------------


@router.get(
    "/enquiries/incoming",
    response={200: list[IncomingOut], 403: Problem},
    summary="Other authorities' enquiries to us, the reply deadline first",
    operation_id="incoming_enquiry_list",
)
@paginate(LimitOffsetPagination)
def incoming_list(
    request: HttpRequest, answered: bool | None = None, overdue: bool = False
) -> QuerySet[IncomingEnquiry]:
    from django.utils import timezone

    _require_see(request)
    qs = selectors.incoming_visible_to(_user(request)).select_related("referral__case")
    if answered is not None:
        qs = qs.filter(replied_on__isnull=not answered)
    if overdue:
        qs = qs.filter(replied_on__isnull=True, reply_due_on__lt=timezone.localdate())
    return qs.order_by("reply_due_on", "id")


@router.post(
    "/enquiries/incoming",
    response={201: IncomingDetailOut, 422: Problem, 403: Problem},
    summary="Log another authority's enquiry from its JSON file (the published schema)",
    description="The body is the enquiry document itself (docs/enquiry-schema.json), as the "
    "import page takes it; it is logged as a referral from another authority. Every problem "
    "of the file is listed under `file`; nothing is written unless the whole file is right.",
    operation_id="incoming_enquiry_create",
    openapi_extra={
        "requestBody": {
            "content": {"application/json": {"schema": {"type": "object"}}},
            "required": True,
        }
    },
)
def incoming_create(request: HttpRequest) -> Any:
    _require_act(request)
    return _write(
        lambda: _incoming_reload(
            services.incoming_enquiry_import(actor=Actor.from_request(request), raw=request.body)
        )
    )


@router.get(
    "/enquiries/incoming/{enquiry_id}",
    response={200: IncomingDetailOut, 403: Problem, 404: Problem},
    summary="One incoming enquiry, with the possible matches found",
    operation_id="incoming_enquiry_get",
)
def incoming_get(request: HttpRequest, enquiry_id: int) -> IncomingEnquiry:
    return _incoming(request, enquiry_id)


def _incoming_write(request: HttpRequest, enquiry_id: int, call: Any, success: int = 200) -> Any:
    _require_act(request)
    enquiry = _incoming(request, enquiry_id)
    actor = Actor.from_request(request)
    return _write(lambda: _incoming_reload(call(actor, enquiry)), success=success)


@router.post(
    "/enquiries/incoming/{enquiry_id}/search",
    response={200: IncomingDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Search every register for the child (matching engine, scoped and audited)",
    operation_id="incoming_enquiry_search",
)
def incoming_search(request: HttpRequest, enquiry_id: int) -> Any:
    # While the search index is prepared the API answers 503 (config.api's handler).
    return _incoming_write(
        request,
        enquiry_id,
        lambda actor, e: services.incoming_enquiry_search(actor=actor, enquiry=e),
    )


@router.post(
    "/enquiries/incoming/{enquiry_id}/match",
    response={200: IncomingDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Say which possible match is the child, or that none of them is",
    operation_id="incoming_enquiry_match",
)
def incoming_match(request: HttpRequest, enquiry_id: int, payload: MatchIn) -> Any:
    return _incoming_write(
        request,
        enquiry_id,
        lambda actor, e: services.incoming_enquiry_choose_match(
            actor=actor, enquiry=e, choice=payload.choice
        ),
    )


@router.post(
    "/enquiries/incoming/{enquiry_id}/assessment",
    response={200: IncomingDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record the vulnerability assessment (before any visit)",
    operation_id="incoming_enquiry_assess",
)
def incoming_assess(request: HttpRequest, enquiry_id: int, payload: AssessIn) -> Any:
    return _incoming_write(
        request,
        enquiry_id,
        lambda actor, e: services.incoming_enquiry_assess(actor=actor, enquiry=e, **payload.dict()),
    )


@router.post(
    "/enquiries/incoming/{enquiry_id}/visit",
    response={201: IncomingDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Set a visit to the address given, as a task on the child's case",
    operation_id="incoming_enquiry_visit",
)
def incoming_visit(request: HttpRequest, enquiry_id: int, payload: VisitIn) -> Any:
    def call(actor: Actor, e: IncomingEnquiry) -> IncomingEnquiry:
        owners = {pk for pk, _name in selectors.visit_owner_choices(e)}
        if str(payload.owner_id) not in owners:
            raise ValidationError({"owner_id": ["Choose someone who works on the case"]})

        owner = User.objects.get(pk=payload.owner_id)
        return services.incoming_enquiry_visit_task(
            actor=actor, enquiry=e, owner=owner, due=payload.due
        )

    return _incoming_write(request, enquiry_id, call, success=201)


@router.post(
    "/enquiries/incoming/{enquiry_id}/reply",
    response={201: IncomingDetailOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record our reply to the authority (whatever the result, after the search)",
    operation_id="incoming_enquiry_reply",
)
def incoming_reply(request: HttpRequest, enquiry_id: int, payload: IncomingReplyIn) -> Any:
    return _incoming_write(
        request,
        enquiry_id,
        lambda actor, e: services.incoming_enquiry_reply(actor=actor, enquiry=e, **payload.dict()),
        success=201,
    )


@router.get(
    "/enquiries/incoming/{enquiry_id}/reply-document",
    response={200: dict[str, Any], 403: Problem, 404: Problem},
    summary="Our reply as the structured file (docs/enquiry-schema.json), audited as an export",
    operation_id="incoming_enquiry_reply_document",
)
def incoming_reply_document(request: HttpRequest, enquiry_id: int) -> HttpResponse:
    enquiry = _incoming(request, enquiry_id)
    try:
        text = services.incoming_reply_document(actor=Actor.from_request(request), enquiry=enquiry)
    except ValidationError as exc:
        raise HttpError(404, "Not answered yet") from exc
    return HttpResponse(text, content_type="application/json")


@router.get(
    "/enquiries/{enquiry_id}",
    response={200: EnquiryDetailOut, 403: Problem, 404: Problem},
    summary="One enquiry, with what was shared and the replies",
    operation_id="enquiry_get",
)
def enquiry_get(request: HttpRequest, enquiry_id: int) -> OutgoingEnquiry:
    return _enquiry(request, enquiry_id)


@router.get(
    "/enquiries/{enquiry_id}/document",
    response={200: dict[str, Any], 403: Problem, 404: Problem},
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
    response={201: EnquiryDetailOut, 422: Problem, 403: Problem, 404: Problem},
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
    response={201: EnquiryDetailOut, 422: Problem, 403: Problem, 404: Problem},
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
    response={200: EnquiryDetailOut, 422: Problem, 403: Problem, 404: Problem},
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
    response={200: EnquiryDetailOut, 422: Problem, 403: Problem, 404: Problem},
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
    response={200: EnquiryDetailOut, 422: Problem, 403: Problem, 404: Problem},
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
    response={200: list[AuthorityOut], 403: Problem},
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


# --- a case's move notices and Home Office checks (the case's "departure" on the pages) -----


class MoveNoticeIn(InputSchema):
    local_authority_id: int = Field(
        description="The authority the child moved to (an id from /local-authorities)."
    )
    sent_on: dt.date | None = Field(None, description="Default today; today or earlier.")
    details: str = Field("", max_length=2000)


class MoveNoticeAcknowledgeIn(InputSchema):
    acknowledged_by: str = Field(max_length=150)
    acknowledged_on: dt.date


class MoveNoticeOut(Schema):
    id: int
    reference: str
    case_id: int
    local_authority_id: int
    authority_code: str
    authority_name: str
    contact_name: str
    contact_email: str
    sent_on: dt.date
    details: str
    acknowledged_on: dt.date | None
    acknowledged_by: str

    @staticmethod
    def resolve_authority_code(obj: MoveNotification) -> str:
        return obj.local_authority.code

    @staticmethod
    def resolve_authority_name(obj: MoveNotification) -> str:
        return obj.local_authority.name


class HomeOfficeCheckIn(InputSchema):
    requested_on: dt.date
    result: HomeOfficeResult
    result_on: dt.date | None = Field(None, description="Required unless still awaiting.")
    reference: str = Field("", max_length=60)
    details: str = Field("", max_length=2000)


class HomeOfficeCheckOut(Schema):
    id: int
    case_id: int
    requested_on: dt.date
    result: str
    result_on: dt.date | None
    reference: str
    details: str


def _notice(request: HttpRequest, case_id: int, notice_id: int) -> MoveNotification:
    """A move notice of a case in the caller's scope (404 otherwise), as the pages find it."""
    _require_see(request)
    try:
        return selectors.move_notices_visible_to(_user(request)).get(pk=notice_id, case_id=case_id)
    except MoveNotification.DoesNotExist:
        not_found("No such move notice.")


def _once(request: HttpRequest, response: HttpResponse, scope: str, case: Case, call: Any) -> Any:
    """Run ``call`` once per ``Idempotency-Key`` (a repeat answers with the first result)."""
    page = reverse("enquiries:case", args=[case.pk]) + "#departure"
    outcome = api_submit_once(
        request,
        scope=scope,
        create=call,
        receipt=lambda made: Receipt(url=page, reference=case.reference, object_ids=(made.pk,)),
    )
    if outcome.previous is None:
        return outcome.result
    response["Idempotent-Replayed"] = "true"
    return outcome.previous.object_ids[0]


@router.get(
    "/cases/{case_id}/move-notices",
    response={200: list[MoveNoticeOut], **problems(403, 404)},
    summary="A case's notices to the authorities the child moved to, newest first",
    operation_id="case_move_notices_list",
)
def move_notices_list(request: HttpRequest, case_id: int) -> Any:
    _require_see(request)
    case = _case(request, case_id)
    return list(selectors.move_notices_visible_to(_user(request)).filter(case=case))


@router.post(
    "/cases/{case_id}/move-notices",
    response={201: MoveNoticeOut, **problems(403, 404, 422)},
    summary="Record the notice to the authority the child moved to (its named CME contact)",
    description="As the case's enquiries page does: the notice (letter and JSON) is made from "
    "the case, recorded on the chronology and audited. A restricted address never leaves "
    "(422)." + IDEMPOTENCY,
    operation_id="case_move_notice_send",
)
def move_notice_send(
    request: HttpRequest, response: HttpResponse, case_id: int, payload: MoveNoticeIn
) -> Any:
    _require_act(request)
    case = _case(request, case_id)
    authority = selectors.authorities_to_ask().filter(pk=payload.local_authority_id).first()
    if authority is None:
        invalid_field("local_authority_id", "Choose the authority the child moved to")
    found: LocalAuthority = authority

    def call() -> MoveNotification:
        return services.move_notification_send(
            actor=Actor.from_request(request),
            case=case,
            local_authority=found,
            sent_on=payload.sent_on,
            details=payload.details,
        )

    made = _once(request, response, "enquiries.case.notice", case, call)
    pk = made if isinstance(made, int) else made.pk
    return Status(201, selectors.move_notices_visible_to(_user(request)).get(pk=pk))


@router.post(
    "/cases/{case_id}/move-notices/{notice_id}/acknowledged",
    response={200: MoveNoticeOut, **problems(403, 404, 422)},
    summary="Record that the authority acknowledged the move notice",
    description="Closing a case as moved to another authority needs an acknowledged notice.",
    operation_id="case_move_notice_acknowledge",
)
def move_notice_acknowledge(
    request: HttpRequest, case_id: int, notice_id: int, payload: MoveNoticeAcknowledgeIn
) -> Any:
    _require_act(request)
    _case(request, case_id)
    notice = _notice(request, case_id, notice_id)
    services.move_notification_acknowledge(
        actor=Actor.from_request(request),
        notification=notice,
        acknowledged_by=payload.acknowledged_by,
        acknowledged_on=payload.acknowledged_on,
    )
    return selectors.move_notices_visible_to(_user(request)).get(pk=notice.pk)


@router.get(
    "/cases/{case_id}/move-notices/{notice_id}/document",
    response={200: dict[str, Any], **problems(403, 404)},
    summary="The move notice as the structured file (docs/enquiry-schema.json), audited",
    operation_id="case_move_notice_document",
)
def move_notice_document(request: HttpRequest, case_id: int, notice_id: int) -> HttpResponse:
    notice = _notice(request, case_id, notice_id)
    try:
        text = services.move_notice_export(
            actor=Actor.from_request(request), notice=notice, kind="JSON file (API)"
        )
    except ValidationError as exc:  # a restricted address would leave: nothing is produced
        forbidden(" ".join(exc.messages))
    return HttpResponse(text, content_type="application/json")


@router.get(
    "/cases/{case_id}/home-office-checks",
    response={200: list[HomeOfficeCheckOut], **problems(403, 404)},
    summary="A case's checks with the Home Office that the child left the country",
    operation_id="case_home_office_checks_list",
)
def home_office_checks_list(request: HttpRequest, case_id: int) -> Any:
    _require_see(request)
    case = _case(request, case_id)
    return list(HomeOfficeCheck.objects.filter(case=case).order_by("-requested_on", "-id"))


@router.post(
    "/cases/{case_id}/home-office-checks",
    response={201: HomeOfficeCheckOut, **problems(403, 404, 422)},
    summary="Record a check with the Home Office that the child left the country",
    description="Closing a case as gone abroad relies on it. Audited and on the chronology, "
    "as on the page." + IDEMPOTENCY,
    operation_id="case_home_office_check_record",
)
def home_office_check_record(
    request: HttpRequest, response: HttpResponse, case_id: int, payload: HomeOfficeCheckIn
) -> Any:
    _require_act(request)
    case = _case(request, case_id)

    def call() -> HomeOfficeCheck:
        return services.home_office_check_record(
            actor=Actor.from_request(request), case=case, **payload.dict()
        )

    made = _once(request, response, "enquiries.case.home_office", case, call)
    pk = made if isinstance(made, int) else made.pk
    return Status(201, HomeOfficeCheck.objects.get(pk=pk))
