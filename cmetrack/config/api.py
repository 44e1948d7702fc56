"""The HTTP API, version 1, at /api/v1/ (OpenAPI at /api/v1/openapi.json, docs at /api/v1/docs).

Every error is a problem document (RFC 9457, ``application/problem+json``): ``ProblemAPI``
installs the exception handlers that turn every exception (the services' ValidationError and
PermissionDenied, ninja's validation, authentication and throttling errors, ``ApiProblem``)
into one, and ``/api/v1/problems`` describes each kind."""

from django.http import HttpRequest, HttpResponse
from ninja import Router

from cmetrack.accounts.api import ApiTokenAuth, SessionAuth
from cmetrack.accounts.api import router as accounts_router
from cmetrack.cases.api import router as cases_router
from cmetrack.cases.lifecycle import PreconditionFailed, TransitionNotAllowed
from cmetrack.cases.services import CaseVersionConflict
from cmetrack.casework.api import router as casework_router
from cmetrack.cnis.api import router as cnis_router
from cmetrack.detection.api import router as detection_router
from cmetrack.detection.feeds_api import router as feeds_router
from cmetrack.enquiries.api import router as enquiries_router
from cmetrack.idempotency.services import InvalidKey, KeyReused
from cmetrack.kit.problems import (
    KINDS,
    TYPE_BASE,
    KindOut,
    Problem,
    ProblemAPI,
    field_error,
    not_found,
    problem_response,
)
from cmetrack.matching.api import router as matching_router
from cmetrack.matching.services import SearchNotReady
from cmetrack.notifications.api import router as notifications_router
from cmetrack.organisations.api import router as organisations_router
from cmetrack.provision.api import router as provision_router
from cmetrack.referrals.api import router as referrals_router
from cmetrack.registers.api import router as registers_router
from cmetrack.reports.api import router as reports_router
from cmetrack.safeguarding.api import router as safeguarding_router
from cmetrack.transfers.api import router as transfers_router
from cmetrack.virtualschool.api import router as virtualschool_router

api = ProblemAPI(
    title="Children missing education API",
    version="1",
    description="Case management and tracking for children missing education. "
    "Service accounts send `Authorization: Bearer <token>`; signed-in people use their session.",
    auth=[ApiTokenAuth(), SessionAuth()],
    urls_namespace="api",
)


# Errors of the lower layers every endpoint may meet, each as its problem.
@api.exception_handler(InvalidKey)
def _invalid_idempotency_key(request: HttpRequest, exc: InvalidKey) -> HttpResponse:
    return problem_response(request, "invalid_idempotency_key", str(exc))


@api.exception_handler(KeyReused)
def _idempotency_key_reused(request: HttpRequest, exc: KeyReused) -> HttpResponse:
    return problem_response(request, "idempotency_key_reused", str(exc))


@api.exception_handler(CaseVersionConflict)
def _case_version_conflict(request: HttpRequest, exc: CaseVersionConflict) -> HttpResponse:
    return problem_response(
        request, "version_conflict", exc.message, current_version=exc.current_version
    )


@api.exception_handler(TransitionNotAllowed)
def _transition_not_allowed(request: HttpRequest, exc: TransitionNotAllowed) -> HttpResponse:
    code = (
        "precondition_failed" if isinstance(exc, PreconditionFailed) else "transition_not_allowed"
    )
    errors = [field_error(exc.field, exc.message)] if exc.field else []
    return problem_response(request, code, exc.message, errors=errors)


@api.exception_handler(SearchNotReady)
def _search_not_ready(request: HttpRequest, exc: SearchNotReady) -> HttpResponse:
    return problem_response(
        request, "service_unavailable", SearchNotReady.message, headers={"Retry-After": "30"}
    )


api.add_router("/", accounts_router)
api.add_router("/", organisations_router)
api.add_router("/", detection_router)
api.add_router("/", feeds_router)
api.add_router("/", matching_router)
api.add_router("/", referrals_router)
api.add_router("/", cases_router)
api.add_router("/", casework_router)
api.add_router("/", registers_router)
api.add_router("/", safeguarding_router)
api.add_router("/", reports_router)
api.add_router("/", enquiries_router)
api.add_router("/", transfers_router)
api.add_router("/", provision_router)
api.add_router("/", virtualschool_router)
api.add_router("/", cnis_router)
api.add_router("/", notifications_router)

problems_router = Router(tags=["Problems"])


def _kind_out(code: str) -> dict[str, object]:
    kind = KINDS[code]
    return {
        "code": kind.code,
        "type": TYPE_BASE + kind.code,
        "status": kind.status,
        "title": kind.title,
        "description": kind.description,
    }


@problems_router.get(
    "/problems",
    response=list[KindOut],
    auth=None,
    summary="Every kind of problem the API answers with",
    operation_id="problem_kinds",
)
def problem_kinds(request: HttpRequest) -> list[dict[str, object]]:
    return [_kind_out(code) for code in KINDS]


@problems_router.get(
    "/problems/{code}",
    response={200: KindOut, 404: Problem},
    auth=None,
    summary="One kind of problem (the `type` of a problem document)",
    operation_id="problem_kind",
)
def problem_kind(request: HttpRequest, code: str) -> dict[str, object]:
    if code not in KINDS:
        not_found(f"No kind of problem called {code!r}.")
    return _kind_out(code)


api.add_router("/", problems_router)
