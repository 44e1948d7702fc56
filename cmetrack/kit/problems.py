"""The API's one error contract: problem details (RFC 9457), ``application/problem+json``.

Every 4xx (and 503) answer of the API is a :class:`Problem`::

    {"type": "/api/v1/problems/invalid", "title": "Some fields are missing or invalid",
     "status": 422, "detail": "Correct the fields listed.", "instance": "/api/v1/cases/7/notes",
     "code": "invalid", "errors": [{"field": "text", "pointer": "/text",
                                    "message": "Enter the note"}]}

One status per kind (:data:`KINDS`): 422 a field or a rule refused, 409 a conflict (with the
current version), 428 a version missing, 403 refused, 404 not found, 401 not signed in.

How an endpoint uses it:

* declare ``response={200: Out, 404: Problem, 422: Problem}`` (or :func:`problems`), and
* raise :class:`ApiProblem` (or :func:`not_found`, :func:`forbidden`, ...), or let a service's
  Django ``ValidationError`` / ``PermissionDenied`` through: :class:`ProblemAPI` answers every
  exception, ninja's own (validation 422, authentication 401, throttling 429), unknown paths
  (404) and wrong methods (405) with a problem, so a carelessly written endpoint still gets
  the right shape.
* input schemas derive from :class:`InputSchema`, which refuses unknown fields (422 naming
  each one); a query parameter the endpoint does not read is refused the same way.

Generic: imports only Django, ninja and pydantic, no cmetrack app.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    TooManyFieldsSent,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError
from ninja.responses import Status
from pydantic import ConfigDict

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: Where each kind of problem is described (``GET /api/v1/problems/<code>``); the ``type`` of
#: a problem is this followed by its code.
TYPE_BASE = "/api/v1/problems/"


@dataclass(frozen=True)
class Kind:
    code: str
    status: int
    title: str
    description: str


#: The catalogue: every kind of problem the API answers with, one status each.
KINDS: dict[str, Kind] = {
    k.code: k
    for k in (
        Kind(
            "bad_request",
            400,
            "The request could not be read",
            "The body is not JSON, or a header (such as Idempotency-Key) is malformed.",
        ),
        Kind(
            "invalid_idempotency_key",
            400,
            "Malformed Idempotency-Key",
            "The Idempotency-Key header must be 1 to 128 visible ASCII characters.",
        ),
        Kind(
            "unauthenticated",
            401,
            "Sign in or send an API token",
            "No valid bearer token and no signed-in session (or two-factor sign-in not done).",
        ),
        Kind(
            "forbidden",
            403,
            "You may not do this",
            "You can see this but your role may not do it (or the CSRF token is missing).",
        ),
        Kind(
            "not_found",
            404,
            "Not found",
            "No such record, or one outside what you may see (the two are never told apart).",
        ),
        Kind(
            "method_not_allowed",
            405,
            "Method not allowed",
            "The path exists but not with this method: the Allow header lists the methods.",
        ),
        Kind(
            "version_conflict",
            409,
            "Changed by someone else",
            "The record changed since the version you sent: `current_version` is its version "
            "now. Read it again and decide.",
        ),
        Kind(
            "payload_too_large",
            413,
            "Too large",
            "The request body or file is larger than the service accepts.",
        ),
        Kind(
            "unsupported_media_type",
            415,
            "Unsupported media type",
            "Send the body as the endpoint documents it (application/json, or a multipart file).",
        ),
        Kind(
            "invalid",
            422,
            "Some fields are missing or invalid",
            "Nothing was saved: `errors` lists each field (name and JSON pointer) with what to "
            "fix; a field or query parameter the endpoint does not take is refused by name.",
        ),
        Kind(
            "refused",
            422,
            "Refused by a rule",
            "The request is well formed but a rule of the service refuses it; `detail` names "
            "the rule and `errors` the field, where there is one.",
        ),
        Kind(
            "transition_not_allowed",
            422,
            "Not allowed from the case's state",
            "The lifecycle does not allow this action from the case's current state.",
        ),
        Kind(
            "precondition_failed",
            422,
            "Something is needed first",
            "The action needs something recorded first (the detail says what).",
        ),
        Kind(
            "idempotency_key_reused",
            422,
            "Idempotency key used for another request",
            "The Idempotency-Key was already used with a different body.",
        ),
        Kind(
            "version_required",
            428,
            "Send the version you acted on",
            "This change needs the version of the record you saw: `expected_version` in the "
            "body or an If-Match header.",
        ),
        Kind(
            "too_many_requests",
            429,
            "Too many requests",
            "Slow down: Retry-After says how many seconds to wait.",
        ),
        Kind(
            "service_unavailable",
            503,
            "Service unavailable",
            "The service (or the search index, or the file store) cannot be used at the "
            "moment: try again later (Retry-After).",
        ),
    )
}
#: The kind used for a status when nothing more specific is known.
BY_STATUS: dict[int, str] = {}
for _kind in KINDS.values():
    BY_STATUS.setdefault(_kind.status, _kind.code)


# --- schemas -----------------------------------------------------------------------------


class InputSchema(Schema):
    """Base of every request body schema: a field not declared is refused (422, by name)."""

    model_config = ConfigDict(extra="forbid")


class FieldError(Schema):
    field: str = Field(
        description="The field, dotted for nested ones (`checks.0.done_on`); empty for the "
        "request as a whole.",
        examples=["date"],
    )
    pointer: str = Field(
        default="",
        description="JSON Pointer (RFC 6901) to the field in the request body; empty for a "
        "query or path parameter or the whole request.",
        examples=["/date"],
    )
    message: str = Field(examples=["Enter the date you checked this source"])
    line: int | None = Field(default=None, description="For a file: the line of the problem.")


class Problem(Schema):
    """Problem details (RFC 9457): the one shape of every error the API answers with."""

    type: str = Field(
        description="Identifies the kind of problem; GET it for its description.",
        examples=["/api/v1/problems/invalid"],
    )
    title: str = Field(description="The kind of problem, in words.", examples=["Not found"])
    status: int = Field(description="The HTTP status.", examples=[404])
    detail: str = Field(
        description="What went wrong this time, in words to show a person.",
        examples=["No such case."],
    )
    instance: str | None = Field(
        default=None, description="The path the problem happened on.", examples=["/api/v1/cases/7"]
    )
    code: str = Field(description="The kind's code (the last part of `type`).")
    errors: list[FieldError] = Field(
        default_factory=list, description="Field by field, what to fix (422)."
    )
    current_version: int | None = Field(
        default=None, description="On a version conflict (409): the record's version now."
    )


class KindOut(Schema):
    code: str
    type: str
    status: int
    title: str
    description: str


def problems(*statuses: int) -> dict[int, type[Problem]]:
    """``response={200: Out, **problems(403, 404, 422)}``: the statuses declared as Problem."""
    return dict.fromkeys(statuses, Problem)


# --- raising problems ----------------------------------------------------------------------


class ApiProblem(Exception):
    """Raise to answer with a problem of the kind ``code`` (see :data:`KINDS`)."""

    def __init__(
        self,
        code: str,
        detail: str = "",
        *,
        errors: Iterable[Mapping[str, Any]] = (),
        current_version: int | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if code not in KINDS:
            raise ValueError(f"No kind of problem called {code!r}")
        self.kind = KINDS[code]
        self.detail = detail or self.kind.title
        self.errors = [dict(e) for e in errors]
        self.current_version = current_version
        self.headers = dict(headers or {})
        super().__init__(self.detail)

    @property
    def status(self) -> int:
        return self.kind.status

    def body(self, instance: str | None = None) -> dict[str, Any]:
        return problem_body(
            self.kind.code,
            self.detail,
            instance=instance,
            errors=self.errors,
            current_version=self.current_version,
        )


def field_error(field: str, message: str, *, line: int | None = None) -> dict[str, Any]:
    """One entry of ``errors``: dotted ``field``; its pointer is worked out from it."""
    pointer = "/" + "/".join(field.split(".")) if field and field != "__all__" else ""
    return {
        "field": "" if field == "__all__" else field,
        "pointer": pointer,
        "message": message,
        "line": line,
    }


def parameter_error(name: str, message: str) -> dict[str, Any]:
    """An entry of ``errors`` for a query, path or header parameter: no JSON pointer (it is
    not in the body)."""
    return {**field_error(name, message), "pointer": ""}


def not_found(detail: str = "Not found.") -> NoReturn:
    raise ApiProblem("not_found", detail)


def forbidden(detail: str = "You may not do this.") -> NoReturn:
    raise ApiProblem("forbidden", detail)


def invalid(
    detail: str = "Nothing was saved: correct the fields listed.",
    *,
    errors: Iterable[Mapping[str, Any]] = (),
    current_version: int | None = None,
) -> NoReturn:
    raise ApiProblem("invalid", detail, errors=errors, current_version=current_version)


def invalid_field(field: str, message: str) -> NoReturn:
    """422 for one field: ``invalid_field("source_id", "Choose a source on the checklist")``."""
    raise ApiProblem("invalid", message, errors=[field_error(field, message)])


def refused(detail: str, *, field: str = "", current_version: int | None = None) -> NoReturn:
    """422: a rule refuses the request (``field`` names the field the rule is about)."""
    errors = [field_error(field, detail)] if field else []
    raise ApiProblem("refused", detail, errors=errors, current_version=current_version)


def validation_errors(exc: ValidationError) -> list[dict[str, Any]]:
    """A Django ``ValidationError`` as ``errors`` entries (``__all__`` → the whole request)."""
    if hasattr(exc, "error_dict"):
        return [
            field_error(name, str(message))
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return [field_error("", str(m)) for m in exc.messages]


def from_validation_error(exc: ValidationError) -> ApiProblem:
    errors = validation_errors(exc)
    if len(errors) == 1:
        detail = errors[0]["message"]
    else:
        detail = "Nothing was saved: correct the fields listed."
    return ApiProblem("invalid", detail, errors=errors)


def run_write(call: Callable[[], Any], success: int = 201) -> Status[Any]:
    """Run a service call and answer ``success`` with its result. Its ``ValidationError``
    becomes a 422 with what to fix and ``PermissionDenied`` a 403 (by the API's handlers)."""
    return Status(success, call())


# --- answering with problems ---------------------------------------------------------------


def problem_body(
    code: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: Sequence[Mapping[str, Any]] = (),
    current_version: int | None = None,
    status: int | None = None,
) -> dict[str, Any]:
    kind = KINDS[code]
    return {
        "type": TYPE_BASE + kind.code,
        "title": kind.title,
        "status": status or kind.status,
        "detail": detail or kind.title,
        "instance": instance,
        "code": kind.code,
        "errors": [{"field": "", "pointer": "", "line": None, **dict(e)} for e in errors],
        "current_version": current_version,
    }


def problem_response(
    request: HttpRequest | None,
    code: str,
    detail: str = "",
    *,
    status: int | None = None,
    errors: Sequence[Mapping[str, Any]] = (),
    current_version: int | None = None,
    headers: Mapping[str, str] | None = None,
) -> HttpResponse:
    body = problem_body(
        code,
        detail,
        instance=request.path if request is not None else None,
        errors=errors,
        current_version=current_version,
        status=status,
    )
    response = HttpResponse(
        json.dumps(body), status=body["status"], content_type=PROBLEM_MEDIA_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def is_problem(data: Any) -> bool:
    return isinstance(data, dict) and {"type", "title", "status", "code"} <= data.keys()


def as_problem(data: Any, status: int, instance: str | None) -> dict[str, Any]:
    """Whatever a careless endpoint answered a 4xx with, as a problem of that status."""
    if is_problem(data):
        return {**data, "instance": data.get("instance") or instance}
    detail = ""
    errors: list[dict[str, Any]] = []
    if isinstance(data, dict):
        given = data.get("detail")
        detail = given if isinstance(given, str) else ""
        raw = data.get("errors")
        if isinstance(raw, dict):
            errors = [field_error(k, str(m)) for k, ms in raw.items() for m in ms]
        elif isinstance(raw, list):
            errors = [
                field_error(str(e.get("field", "")), str(e.get("message", "")))
                for e in raw
                if isinstance(e, dict)
            ]
    elif isinstance(data, str):
        detail = data
    code = BY_STATUS.get(status, "bad_request" if status < 500 else "service_unavailable")
    return problem_body(code, detail, instance=instance, errors=errors, status=status)


# --- ninja's validation errors, in the user's words --------------------------------------------

_SOURCES = {"body", "query", "path", "header", "cookie", "form", "file"}


def _message(error: Mapping[str, Any], name: str) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    label = name or "the request"
    if kind == "missing":
        return f"Give {label}: it is required"
    if kind == "extra_forbidden":
        return f"{label} is not a field of this request: remove it or check its spelling"
    if kind.startswith("date") or kind.startswith("datetime"):
        return f"Enter {label} as a real date, YYYY-MM-DD"
    if kind.startswith("time"):
        return f"Enter {label} as a time, HH:MM"
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"Enter {label} as a whole number"
    if kind in {"float_parsing", "float_type", "decimal_parsing"}:
        return f"Enter {label} as a number"
    if kind in {"bool_parsing", "bool_type"}:
        return f"Enter {label} as true or false"
    if kind in {"string_type"}:
        return f"Enter {label} as text"
    if kind in {"list_type"}:
        return f"Give {label} as a list"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        return f"Give {label} as an object"
    if kind in {"enum", "literal_error"}:
        expected = ctx.get("expected")
        return f"Choose {label} from: {expected}" if expected else f"Choose a valid {label}"
    if kind == "string_too_long":
        return f"{label} must be {ctx.get('max_length')} characters or fewer"
    if kind == "string_too_short":
        return f"Enter {label}" if ctx.get("min_length") == 1 else f"{label} is too short"
    if kind in {"greater_than_equal", "greater_than"}:
        bound = ctx.get("ge", ctx.get("gt"))
        word = "or more" if kind == "greater_than_equal" else "or more than that"
        return f"{label} must be {bound} {word}"
    if kind in {"less_than_equal", "less_than"}:
        bound = ctx.get("le", ctx.get("lt"))
        word = "or less" if kind == "less_than_equal" else "or less than that"
        return f"{label} must be {bound} {word}"
    if kind == "string_pattern_mismatch":
        return f"{label} is not in the expected form"
    if kind == "json_invalid":
        return "The body is not valid JSON"
    message = str(error.get("msg", "Invalid value"))
    return f"{label}: {message}" if name else message


def ninja_field_errors(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """ninja's validation errors (pydantic's, with where the value came from) as entries."""
    out = []
    for error in errors:
        loc = [str(p) for p in error.get("loc", ())]
        source = loc[0] if loc and loc[0] in _SOURCES else ""
        rest = loc[1:] if source else loc
        if source == "body" and len(rest) > 1:
            rest = rest[1:]  # the view's parameter name (``payload``), not a field
        elif source == "body" and len(rest) == 1 and error.get("type") == "missing":
            rest = []  # no body at all
        name = ".".join(rest)
        in_body = not source or source in {"body", "form", "file"}
        message = _message(error, name)
        out.append(field_error(name, message) if in_body else parameter_error(name, message))
    return out


# --- the NinjaAPI that answers every problem in one shape ------------------------------------


def _on_api_problem(request: HttpRequest, exc: ApiProblem) -> HttpResponse:
    return problem_response(
        request,
        exc.kind.code,
        exc.detail,
        errors=exc.errors,
        current_version=exc.current_version,
        headers=exc.headers,
    )


def _on_ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = ninja_field_errors(exc.errors)
    detail = (
        errors[0]["message"]
        if len(errors) == 1
        else "Nothing was saved: correct the fields listed."
    )
    return problem_response(request, "invalid", detail, errors=errors)


def _on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return problem_response(
        request,
        "unauthenticated",
        "Send a valid API token (Authorization: Bearer <token>) or sign in.",
        headers={"WWW-Authenticate": 'Bearer realm="api"'},
    )


def _on_authorization(request: HttpRequest, exc: AuthorizationError) -> HttpResponse:
    message = str(exc)
    return problem_response(request, "forbidden", "" if message == "Forbidden" else message)


def _on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else {}
    return problem_response(
        request, "too_many_requests", "Too many requests: wait and try again.", headers=headers
    )


def _on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    status = exc.status_code
    code = BY_STATUS.get(status, "bad_request" if status < 500 else "service_unavailable")
    headers = {"Retry-After": "30"} if status == 503 else {}
    return problem_response(request, code, str(exc), status=status, headers=headers)


def _on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(request, "not_found", "Not found.")


def _on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return problem_response(request, "forbidden", str(exc) or "You may not do this.")


def _on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return _on_api_problem(request, from_validation_error(exc))


def _on_too_big(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem_response(request, "payload_too_large", "The request is too large.")


HANDLERS: dict[type[Exception], Callable[[HttpRequest, Any], HttpResponse]] = {
    ApiProblem: _on_api_problem,
    NinjaValidationError: _on_ninja_validation,
    AuthenticationError: _on_authentication,
    AuthorizationError: _on_authorization,
    Throttled: _on_throttled,
    HttpError: _on_http_error,
    Http404: _on_not_found,
    ObjectDoesNotExist: _on_not_found,
    PermissionDenied: _on_permission_denied,
    ValidationError: _on_validation_error,
    RequestDataTooBig: _on_too_big,
    TooManyFieldsSent: _on_too_big,
}


def query_names(operation: Any) -> frozenset[str]:
    """The query parameters ``operation`` reads (ninja's flattened names: a filter schema's
    fields and pagination's ``limit``/``offset`` included)."""
    names: set[str] = set()
    for model in operation.models:
        if getattr(model, "__ninja_param_source__", None) != "query":
            continue
        flat = getattr(model, "__ninja_flatten_map__", None)
        if flat:
            names.update(flat)
        else:
            names.update(f.alias or n for n, f in model.model_fields.items())
    return frozenset(names)


def _refuse_unknown_query(operation: Any) -> None:
    """Make ``operation`` refuse a query parameter it does not read (422 naming each, as a
    body field not in the schema is): a misspelt filter (``?stat=open``) must not quietly
    answer with everything. Checked after authentication, so a caller not signed in still
    gets 401. Done once per operation (the URLs may be built more than once)."""
    if getattr(operation, "_cmetrack_query_checked", False) or operation.is_async:
        return  # (no endpoint of ours is async; an async one would need an async check)
    allowed = query_names(operation)
    checks = operation._run_checks

    def run_checks(request: HttpRequest) -> HttpResponse | None:
        error: HttpResponse | None = checks(request)
        if error is not None:
            return error
        unknown = [name for name in request.GET if name not in allowed]
        if not unknown:
            return None
        takes = ", ".join(sorted(allowed)) if allowed else "no query parameters"
        messages = [
            f"“{name}” is not a query parameter of this endpoint (it takes {takes})."
            for name in unknown
        ]
        errors = [
            parameter_error(name, message) for name, message in zip(unknown, messages, strict=True)
        ]
        detail = messages[0] if len(messages) == 1 else "Remove the query parameters listed."
        return problem_response(request, "invalid", detail, errors=errors)

    operation._run_checks = run_checks
    operation._cmetrack_query_checked = True


def _problem_view(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Any 4xx a view answers outside ninja's responses (405 for a wrong method) as a problem."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if 400 <= response.status_code < 500 and not response.get("Content-Type", "").startswith(
            PROBLEM_MEDIA_TYPE
        ):
            if response.status_code == 405:
                allowed = response.get("Allow", "")
                fixed = problem_response(
                    request,
                    "method_not_allowed",
                    f"{request.method} is not allowed here; use {allowed}.",
                    headers={"Allow": allowed},
                )
            else:
                fixed = problem_response(
                    request,
                    BY_STATUS.get(response.status_code, "bad_request"),
                    status=response.status_code,
                )
            return fixed
        return response

    return wrapper


def unknown_path(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """A path under /api/ that is no endpoint: 404 as a problem (not the HTML page)."""
    return problem_response(request, "not_found", f"No endpoint at {request.path}.")


class _HasFullName(Protocol):
    def get_full_name(self) -> str: ...


def person_name(user: _HasFullName | None) -> str | None:
    return user.get_full_name() if user is not None else None


class ProblemAPI(NinjaAPI):
    """A NinjaAPI whose every error answer is a :class:`Problem` (``application/problem+json``),
    and whose OpenAPI document says so for every operation."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._openapi_made: dict[str, Any] = {}
        for exc_class, handler in HANDLERS.items():
            self.add_exception_handler(exc_class, handler)

    def create_response(
        self,
        request: HttpRequest,
        data: Any,
        *,
        status: int | None = None,
        temporal_response: HttpResponse | None = None,
    ) -> HttpResponse:
        final = temporal_response.status_code if temporal_response else status
        if final is not None and 400 <= final < 600 and final != 500:
            data = as_problem(data, final, request.path)
        response = super().create_response(
            request, data, status=status, temporal_response=temporal_response
        )
        if final is not None and 400 <= final < 600 and final != 500:
            response["Content-Type"] = PROBLEM_MEDIA_TYPE
        return response

    def _get_urls(self) -> list[URLResolver | URLPattern]:
        # The operations that answer (ninja binds a copy of each router's to the API).
        for router in self._get_bound_routers():
            for path_view in router.path_operations.values():
                for operation in path_view.operations:
                    _refuse_unknown_query(operation)
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = _problem_view(pattern.callback)
        return urls

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        """The OpenAPI document, made once in each process: it follows from the code alone,
        and making it (pydantic's JSON schemas of every operation) takes seconds."""
        key = json.dumps(kwargs, sort_keys=True, default=str)
        made = self._openapi_made.get(key)
        if made is None:
            made = super().get_openapi_schema(**kwargs)
            document_problems(made)
            self._openapi_made[key] = made
        return made


_REF = "#/components/schemas/Problem"
_STANDARD = {
    401: "Not signed in: no valid token or session",
    404: "Not found (or outside what you may see)",
    405: "Method not allowed",
    422: "A field is missing, invalid or unknown, or a rule refuses the request",
}


def document_problems(schema: dict[str, Any]) -> None:
    """Every operation's 4xx answers, in the OpenAPI document, as the one Problem schema with
    ``application/problem+json``; the ones every operation can give are added."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    if "Problem" not in components:
        components["Problem"] = Problem.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for name, sub in components["Problem"].pop("$defs", {}).items():
            components.setdefault(name, sub)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            standard = {422}
            if operation.get("security"):
                standard.add(401)
            if "{" in path:
                standard.add(404)
            for status in standard:
                responses.setdefault(status, {"description": _STANDARD[status]})
            for status, answer in list(responses.items()):
                code = int(status)
                if not 400 <= code < 600 or code == 500:
                    continue
                content = answer.setdefault("content", {})
                examples = {}
                for media in list(content):
                    found = content[media]
                    ref = found.get("schema", {}).get("$ref")
                    if media == "application/json" and ref in (None, _REF):
                        examples.update({k: v for k, v in found.items() if k != "schema"})
                        del content[media]
                problem = content.setdefault(PROBLEM_MEDIA_TYPE, {})
                problem.setdefault("schema", {"$ref": _REF})
                for key, value in examples.items():
                    problem.setdefault(key, value)
