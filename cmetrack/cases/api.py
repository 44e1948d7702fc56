"""Cases over HTTP: read cases and their chronology in the caller's scope, perform
transitions, list work queues. The same selectors, forms and services as the pages."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, NoReturn

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.idempotency.services import Receipt, api_submit_once
from cmetrack.kit.problems import (
    KINDS,
    PROBLEM_MEDIA_TYPE,
    ApiProblem,
    Problem,
    field_error,
    problem_body,
    problems,
)

from .actions import ACTIONS, actions_for, perform
from .lifecycle import PreconditionFailed, TransitionNotAllowed
from .models import Case, ChronologyEvent
from .permissions import CaseActionForbidden
from .selectors import (
    PAGE_SIZE,
    QUEUES,
    QueueFilters,
    cases_visible_to,
    chronology_for_case,
    queue_page,
)
from .services import CaseVersionConflict

router = Router(tags=["Cases"])


ERROR_EXAMPLES: dict[int, dict[str, Any]] = {
    403: problem_body(
        "forbidden",
        "You can read this case but not change it: only CME officers and managers, "
        "and the School Liaison Officer for the school or the case, can.",
        instance="/api/v1/cases/7/transitions",
    ),
    404: problem_body("not_found", "No such case.", instance="/api/v1/cases/7"),
    409: problem_body(
        "version_conflict",
        "This case was changed by Priya Shah at 14:05 on 25 November 2026 while you "
        "were working on it. Nothing you entered has been lost: check the case and try again.",
        instance="/api/v1/cases/7/transitions",
        current_version=4,
    ),
    422: problem_body(
        "precondition_failed",
        "A case can only go dormant with a risk assessment authorised by a manager: "
        "record and authorise a risk assessment first.",
        instance="/api/v1/cases/7/transitions",
        current_version=3,
    ),
    428: problem_body(
        "version_required",
        "Send the version of the case you are acting on, as expected_version in the "
        "body or an If-Match header.",
        instance="/api/v1/cases/7/transitions",
    ),
}


def _openapi_errors(*codes: int) -> dict[str, Any]:
    """OpenAPI examples for each error status (int keys, so they merge with ninja's own)."""
    return {
        "responses": {
            code: {
                "description": KINDS[ERROR_EXAMPLES[code]["code"]].title,
                "content": {PROBLEM_MEDIA_TYPE: {"example": ERROR_EXAMPLES[code]}},
            }
            for code in codes
        }
    }


class CaseSummaryOut(Schema):
    id: int
    reference: str
    state: str
    route: str
    child_id: int
    child_name: str
    upn: str | None
    assigned_officer_id: int | None
    assigned_officer_name: str | None
    date_referred: dt.date
    version: int

    @staticmethod
    def resolve_child_name(obj: Case) -> str:
        return obj.child.full_name

    @staticmethod
    def resolve_upn(obj: Case) -> str | None:
        return obj.child.upn

    @staticmethod
    def resolve_assigned_officer_name(obj: Case) -> str | None:
        return obj.assigned_officer.get_full_name() if obj.assigned_officer else None


class CaseOut(CaseSummaryOut):
    date_of_assessment: dt.date | None
    date_provision_determined: dt.date | None
    date_moved_into_provision: dt.date | None
    provision_recommended: str
    provision_accessed: str
    provider_id: int | None
    last_education_place: str
    last_education_school_id: int | None
    last_education_date: dt.date | None
    advised_off_roll_date: dt.date | None
    located_on: dt.date | None
    located_where: str
    located_route: str
    destination_school_id: int | None
    destination_la_code: str | None
    la_acknowledged_by: str
    la_acknowledged_on: dt.date | None
    left_country_source: str
    left_country_confirmed_on: dt.date | None
    home_education_evidence: str = Field(
        description="Located as home educated: parent_notice, deletion_ground_f or visit."
    )
    home_education_evidence_on: dt.date | None
    early_help_assessment: str = Field(
        description="At needs assessment: is an early help (CAF) assessment in place "
        "(yes, no, unknown; empty before the needs assessment)."
    )
    lead_professional: str
    outcome: str
    outcome_reason: str
    closure_evidence: str
    closed_on: dt.date | None
    previous_case_id: int | None
    actions: list[str] = Field(description="What the caller may do now (transition actions).")

    @staticmethod
    def resolve_destination_la_code(obj: Case) -> str | None:
        return obj.destination_la.code if obj.destination_la else None


class CasePageOut(Schema):
    items: list[CaseSummaryOut]
    count: int = Field(description="How many cases match the filters.")
    next_cursor: str = Field(description="Pass as `after` for the next page; empty at the end.")


class ChronologyOut(Schema):
    at: dt.datetime
    kind: str
    summary: str
    by: str | None

    @staticmethod
    def resolve_by(obj: ChronologyEvent) -> str | None:
        return obj.by.get_full_name() if obj.by else None


class TransitionIn(Schema):
    """An action name, its fields (as on the form; dates as YYYY-MM-DD, organisations and
    officers by id, local authorities by id) and the version of the case you saw."""

    model_config = ConfigDict(extra="allow")

    action: str = Field(description="One of: " + ", ".join(ACTIONS))
    expected_version: int | None = Field(
        default=None, description="The case's version you acted on (or send If-Match)."
    )


TRANSITION_EXAMPLES = {
    "locate": {
        "summary": "Located, living here and not in education",
        "value": {
            "action": "locate",
            "expected_version": 3,
            "where": "14 Mill Lane, Exampleton (staying with an aunt)",
            "route": "living_here",
            "located_on": "2026-11-20",
        },
    },
    "close_moved_la": {
        "summary": "Close: moved to another authority, acknowledged",
        "value": {
            "action": "close",
            "expected_version": 4,
            "outcome": "moved_la",
            "reason": "Family moved; the other authority has the case.",
            "local_authority": 12,
            "acknowledged_by": "J. Smith, CME officer",
            "acknowledged_on": "2026-11-24",
        },
    },
    "move_into_provision": {
        "summary": "Moved into provision",
        "value": {
            "action": "move_into_provision",
            "expected_version": 6,
            "provider": 31,
            "date_moved_into_provision": "2026-11-23",
            "provision_accessed": "mainstream",
        },
    },
    "correct_state_date": {
        "summary": "Correct the date a move took effect (CME officers and managers)",
        "value": {
            "action": "correct_state_date",
            "expected_version": 7,
            "change": "412",
            "effective_on": "2026-10-10",
            "reason": "The school confirmed the child started on 10 October.",
        },
    },
    "correct_route": {
        "summary": "Correct the located route: on a school roll from a later day",
        "value": {
            "action": "correct_route",
            "expected_version": 5,
            "route": "on_roll",
            "school": 31,
            "effective_on": "2026-10-20",
            "reason": "Admitted to the school on 20 October.",
        },
    },
}


class CaseFilters(Schema):
    state: str = ""
    route: str = ""
    officer: str = Field(default="", description="An officer's id, or `none` for unassigned.")
    q: str = Field(default="", description="Child's name, UPN or case reference (CME-000123).")
    after: str = Field(default="", description="The `next_cursor` of the previous page.")
    limit: int = Field(default=PAGE_SIZE, ge=1, le=200)


def _fail(code: str, detail: str, **extra: Any) -> NoReturn:
    raise ApiProblem(code, detail, **extra)


def _user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _get_case(request: HttpRequest, case_id: int) -> Case:
    try:
        return cases_visible_to(_user(request)).select_related("destination_la").get(pk=case_id)
    except Case.DoesNotExist:
        _fail("not_found", "No such case.")


def _page(request: HttpRequest, name: str, filters: CaseFilters) -> dict[str, Any]:
    page = queue_page(
        _user(request),
        name,
        QueueFilters(
            state=filters.state, route=filters.route, officer=filters.officer, q=filters.q
        ),
        after=filters.after,
        page_size=filters.limit,
    )
    return {"items": page.cases, "count": page.total, "next_cursor": page.next_cursor}


@router.get(
    "/cases",
    response={200: CasePageOut},
    summary="List cases",
    operation_id="case_list",
    description="Cases the caller may see, oldest referral first, a page at a time "
    "(keyset pagination: pass `next_cursor` back as `after`).",
)
def case_list(request: HttpRequest, filters: Query[CaseFilters]) -> dict[str, Any]:
    return _page(request, "all", filters)


@router.get(
    "/queues/{name}",
    response={200: CasePageOut, 404: Problem},
    summary="A work queue",
    operation_id="queue_get",
    description="Queues: " + ", ".join(f"`{k}` ({v.lower()})" for k, v in QUEUES.items()) + ".",
    openapi_extra=_openapi_errors(404),
)
def queue_get(request: HttpRequest, name: str, filters: Query[CaseFilters]) -> Any:
    if name not in QUEUES:
        _fail("not_found", f"No queue called {name!r}; the queues are: {', '.join(QUEUES)}.")
    return _page(request, name, filters)


def _case_out(request: HttpRequest, case: Case, response: HttpResponse | None = None) -> Case:
    case.actions = [a.name for a in actions_for(_user(request), case)]  # type: ignore[attr-defined]
    if response is not None:
        response["ETag"] = f'"{case.version}"'
    return case


@router.get(
    "/cases/{case_id}",
    response={200: CaseOut, 404: Problem},
    summary="Read a case",
    operation_id="case_get",
    description="The case with its statutory dates and the actions the caller may take. "
    "The `ETag` header is the case's version (send it back as `If-Match`). Reading a case "
    "is recorded in the audit trail as a view of the child's record.",
    openapi_extra=_openapi_errors(404),
)
def case_get(request: HttpRequest, response: HttpResponse, case_id: int) -> Any:
    case = _get_case(request, case_id)
    audit_record(
        actor=Actor.from_request(request),
        action=AuditAction.VIEW,
        obj=case.child,
        child_id=case.child_id,
        summary=f"Viewed {case.reference} through the API",
    )
    return _case_out(request, case, response)


@router.get(
    "/cases/{case_id}/chronology",
    response={200: list[ChronologyOut], 404: Problem},
    summary="A case's chronology",
    operation_id="case_chronology",
    description="Everything on the case, oldest first.",
    openapi_extra=_openapi_errors(404),
)
def case_chronology(request: HttpRequest, case_id: int) -> Any:
    case = _get_case(request, case_id)
    audit_record(
        actor=Actor.from_request(request),
        action=AuditAction.VIEW,
        obj=case.child,
        child_id=case.child_id,
        summary=f"Viewed the chronology of {case.reference} through the API",
    )
    return list(chronology_for_case(_user(request), case.pk))


def _receipt(case: Case) -> Receipt:
    return Receipt(
        url=reverse("cases:case-detail", kwargs={"case_id": case.pk}),
        reference=case.reference,
        object_ids=(case.pk,),
    )


_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


@router.post(
    "/cases/{case_id}/transitions",
    response={200: CaseOut, **problems(400, 403, 404, 409, 422, 428)},
    summary="Act on a case",
    operation_id="case_transition",
    description="Perform one action (a transition, an assignment, a home visit, an "
    "off-roll date, a correction) with its fields. 409 when the case changed since "
    "`expected_version`; 422 when the lifecycle or the action's rule refuses it (the "
    "message names the rule), or a field is invalid (`errors`). `reopen` returns the new "
    "case. With an `Idempotency-Key` header (1 to 128 visible characters, new for each "
    "action) a retry is safe: the same key and body again answers with the case as it is "
    "now (header `Idempotent-Replayed: true`) and does nothing a second time; the same key "
    "with another body is a 422 (`idempotency_key_reused`), a malformed key a 400. Every "
    "error is a problem document (`application/problem+json`); a field the action does not "
    "take is refused (422, named in `errors`).",
    openapi_extra={
        **_openapi_errors(403, 404, 409, 422, 428),
        "requestBody": {
            "content": {"application/json": {"examples": TRANSITION_EXAMPLES}},
        },
    },
)
def case_transition(
    request: HttpRequest, response: HttpResponse, case_id: int, body: TransitionIn
) -> Any:
    case = _get_case(request, case_id)
    user = _user(request)
    spec = ACTIONS.get(body.action)
    if spec is None:
        _fail(
            "invalid",
            f"No action called {body.action!r}; the actions are: {', '.join(ACTIONS)}.",
            errors=[field_error("action", "Choose one of: " + ", ".join(ACTIONS))],
        )
    assert spec is not None
    if not spec.allowed_for(user, case):
        _fail("forbidden", str(ERROR_EXAMPLES[403]["detail"]))
    version = body.expected_version
    if version is None:
        match = _IF_MATCH.match(request.headers.get("If-Match", ""))
        version = int(match.group(1)) if match else None
    if version is None:
        _fail("version_required", str(ERROR_EXAMPLES[428]["detail"]))
    # The action's own fields are not declared on TransitionIn: read them from the body.
    raw = json.loads(request.body or b"{}")
    fields = {k: v for k, v in raw.items() if k not in ("action", "expected_version")}
    data = {**fields, "expected_version": version}
    form = spec.form_class(data, case=case, actor_user=user)
    unknown = sorted(set(fields) - set(form.fields))
    if unknown:
        _fail(
            "invalid",
            f"The action {spec.name} does not take: {', '.join(unknown)}.",
            errors=[
                field_error(
                    name,
                    f"{name} is not a field of the action {spec.name}: remove it or check "
                    "its spelling",
                )
                for name in unknown
            ],
            current_version=case.version,
        )
    if not form.is_valid():
        _fail(
            "invalid",
            "Some fields are missing or invalid.",
            errors=[
                field_error(name, str(m))
                for name, messages in form.errors.items()
                for m in messages
            ],
            current_version=case.version,
        )
    try:
        outcome = api_submit_once(
            request,
            scope=f"cases.action.{spec.name}",
            create=lambda: perform(
                actor=Actor.from_request(request), case=case, action=spec, form=form
            ),
            receipt=lambda done: _receipt(done if isinstance(done, Case) else case),
        )
    except CaseVersionConflict as conflict:
        _fail("version_conflict", conflict.message, current_version=conflict.current_version)
    except CaseActionForbidden as denied:
        _fail("forbidden", str(denied))
    except TransitionNotAllowed as refusal:
        code = (
            "precondition_failed"
            if isinstance(refusal, PreconditionFailed)
            else "transition_not_allowed"
        )
        raise ApiProblem(
            code,
            refusal.message,
            errors=[field_error(refusal.field, refusal.message)] if refusal.field else [],
            current_version=Case.objects.get(pk=case.pk).version,
        ) from refusal
    if outcome.previous is not None:
        response["Idempotent-Replayed"] = "true"
        target = Case.objects.get(pk=outcome.previous.object_ids[0])
    else:
        target = outcome.result if isinstance(outcome.result, Case) else case
    fresh = cases_visible_to(user).select_related("destination_la").get(pk=target.pk)
    return _case_out(request, fresh, response)
