"""ProblemAPI: whatever a carelessly written endpoint raises or answers, the caller gets a
problem document (RFC 9457) of the right status, and the OpenAPI document says so."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    ValidationError,
)
from django.http import Http404, HttpRequest
from django.test import Client
from django.urls import path
from ninja import NinjaAPI, Status
from ninja.errors import HttpError
from ninja.throttling import BaseThrottle

from cmetrack.kit.problems import (
    ApiProblem,
    InputSchema,
    ProblemAPI,
    field_error,
    ninja_field_errors,
)
from cmetrack.kit.testing import assert_problem, errors_by_field

careless = ProblemAPI(urls_namespace="careless-test", docs_url=None)


class NameIn(InputSchema):
    name: str
    age: int | None = None


class Never(BaseThrottle):
    def allow_request(self, request: HttpRequest) -> bool:
        return False

    def wait(self) -> float:
        return 7.2


@careless.post("/fields")
def fields(request: HttpRequest, payload: NameIn) -> dict[str, str]:
    return {"name": payload.name}


@careless.get("/raise/{what}")
def raises(request: HttpRequest, what: str) -> Any:
    if what == "validation":
        raise ValidationError({"date": ["Enter a real date"], "__all__": ["Not both"]})
    if what == "permission":
        raise PermissionDenied("Only managers may")
    if what == "missing":
        raise ObjectDoesNotExist
    if what == "http404":
        raise Http404("gone")
    if what == "http400":
        raise HttpError(400, "Bad thing")
    if what == "too-big":
        raise RequestDataTooBig
    if what == "conflict":
        raise ApiProblem("version_conflict", "Changed", current_version=5)
    return {}


@careless.get("/status", response={200: dict, 404: dict})
def status(request: HttpRequest) -> Any:
    return Status(404, {"detail": "Old style answer"})


@careless.get("/throttled", throttle=[Never()])
def throttled(request: HttpRequest) -> dict[str, str]:
    return {}


urlpatterns = [path("careless/", careless.urls)]


@pytest.fixture
def client(settings: Any) -> Client:
    settings.ROOT_URLCONF = __name__
    return Client()


def test_ninja_validation_names_each_field_in_words(client):
    r = client.post("/careless/fields", json.dumps({"age": "x", "nmae": "Jo"}), "application/json")
    body = assert_problem(r, 422, "invalid", fields={"name", "age", "nmae"})
    by_field = errors_by_field(body)
    assert by_field["name"] == ["Give name: it is required"]
    assert by_field["age"] == ["Enter age as a whole number"]
    assert by_field["nmae"][0].startswith("nmae is not a field of this request")
    assert {e["pointer"] for e in body["errors"]} == {"/name", "/age", "/nmae"}


@pytest.mark.parametrize(
    ("what", "status", "code"),
    [
        ("validation", 422, "invalid"),
        ("permission", 403, "forbidden"),
        ("missing", 404, "not_found"),
        ("http404", 404, "not_found"),
        ("http400", 400, "bad_request"),
        ("too-big", 413, "payload_too_large"),
        ("conflict", 409, "version_conflict"),
    ],
)
def test_whatever_an_endpoint_raises_is_a_problem(client, what, status, code):
    body = assert_problem(client.get(f"/careless/raise/{what}"), status, code)
    if what == "validation":
        assert errors_by_field(body) == {"date": ["Enter a real date"], "": ["Not both"]}
    if what == "permission":
        assert body["detail"] == "Only managers may"
    if what == "conflict":
        assert body["current_version"] == 5


def test_an_old_style_answer_becomes_a_problem(client):
    body = assert_problem(client.get("/careless/status"), 404, "not_found")
    assert body["detail"] == "Old style answer"


def test_throttling_is_429_with_retry_after(client):
    r = client.get("/careless/throttled")
    assert_problem(r, 429, "too_many_requests")
    assert r["Retry-After"] == "8"


def test_wrong_method_is_405(client):
    r = client.put("/careless/fields")
    assert_problem(r, 405, "method_not_allowed")
    assert r["Allow"] == "POST"


def test_openapi_declares_problems_for_every_operation():
    doc = careless.get_openapi_schema(path_prefix="/careless/")
    post = doc["paths"]["/careless/fields"]["post"]
    assert post["responses"][422]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    }
    assert "Problem" in doc["components"]["schemas"]
    assert doc["components"]["schemas"]["NameIn"]["additionalProperties"] is False


def test_openapi_document_is_made_once_per_process(monkeypatch):
    """Making it takes seconds at the project's size (issue 20): the second request for
    /openapi.json is answered from the first one's document."""
    made = []
    original = NinjaAPI.get_openapi_schema

    def counting(self, **kwargs):
        made.append(kwargs)
        return original(self, **kwargs)

    monkeypatch.setattr(NinjaAPI, "get_openapi_schema", counting)
    monkeypatch.setattr(careless, "_openapi_made", {})
    first = careless.get_openapi_schema(path_prefix="/careless/")
    assert careless.get_openapi_schema(path_prefix="/careless/") is first
    assert len(made) == 1
    other = careless.get_openapi_schema(path_prefix="/elsewhere/")
    assert len(made) == 2
    assert "/elsewhere/fields" in other["paths"]


def test_field_names_and_pointers():
    assert field_error("checks.0.done_on", "m")["pointer"] == "/checks/0/done_on"
    assert field_error("__all__", "m") == {"field": "", "pointer": "", "message": "m", "line": None}
    query = ninja_field_errors([{"type": "missing", "loc": ("query", "on"), "msg": "x"}])
    assert query == [
        {"field": "on", "pointer": "", "message": "Give on: it is required", "line": None}
    ]
    no_body = ninja_field_errors([{"type": "missing", "loc": ("body", "payload"), "msg": "x"}])
    assert no_body[0]["field"] == ""
