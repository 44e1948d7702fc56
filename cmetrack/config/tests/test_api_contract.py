"""The API's one error contract, checked against the whole API: the OpenAPI document has
one error schema, every 4xx is a problem document (RFC 9457), and every request body
refuses fields it does not declare."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.audit.services import Actor
from cmetrack.kit.problems import KINDS, PROBLEM_MEDIA_TYPE, TYPE_BASE
from cmetrack.kit.testing import assert_problem

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
#: Error shapes the API had before the one contract: none may come back.
OLD_ERROR_SCHEMAS = {
    "Error",
    "ErrorOut",
    "ErrorItem",
    "ValidationErrorOut",
    "ReferralErrorOut",
    "ReferralFieldErrorOut",
    "ReferralValidationErrorOut",
    "RejectedOut",
    "ProblemOut",
}
#: Bodies that are not a declared schema, and why unknown fields are still refused.
OPEN_BODIES = {
    # The action's own fields are those of its form: any other is refused by name (422).
    ("post", "/api/v1/cases/{case_id}/transitions"),
    # The body is a document checked against the published JSON schema (unknown keys refused).
    ("post", "/api/v1/enquiries/incoming"),
    ("post", "/api/v1/enquiries/{enquiry_id}/reply/import"),
}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    """The document as served at /api/v1/openapi.json."""
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)  # type: ignore[no-any-return]


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if isinstance(op, dict) and "responses" in op
    ]


def test_every_4xx_of_every_operation_is_the_one_problem_schema(schema):
    operations = _operations(schema)
    assert len(operations) > 80
    wrong = []
    for method, path, op in operations:
        for status, answer in op["responses"].items():
            if not 400 <= int(status) < 600 or int(status) == 500:
                continue
            content = answer.get("content", {})
            if list(content) != [PROBLEM_MEDIA_TYPE] or (
                content[PROBLEM_MEDIA_TYPE]["schema"] != PROBLEM_REF
            ):
                wrong.append(f"{method.upper()} {path} {status}: {content}")
        # Every operation can answer a field problem, and one with a path a 404.
        assert "422" in op["responses"], (method, path)
        if "{" in path:
            assert "404" in op["responses"], (method, path)
        if op.get("security"):
            assert "401" in op["responses"], (method, path)
    assert wrong == []


def test_one_error_schema_in_the_document(schema):
    components = schema["components"]["schemas"]
    assert not OLD_ERROR_SCHEMAS & set(components)
    error_like = {
        name
        for name, body in components.items()
        if {"detail", "status"} <= set(body.get("properties", {}))
        or {"detail", "errors"} <= set(body.get("properties", {}))
    }
    assert error_like == {"Problem"}
    assert set(components["Problem"]["required"]) >= {"type", "title", "status", "detail", "code"}


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _objects(schema: dict[str, Any], node: dict[str, Any], seen: set[str]) -> list[tuple[str, Any]]:
    """Every object schema reachable from ``node`` (a request body), with its name."""
    out = []
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        body = _resolve(schema, node)
        if body.get("type") == "object" or "properties" in body:
            out.append((name, body))
        node = body
    for key in ("properties",):
        for sub in node.get(key, {}).values():
            out += _objects(schema, sub, seen)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            out += _objects(schema, node[key], seen)
    for key in ("anyOf", "allOf", "oneOf"):
        for sub in node.get(key, []):
            out += _objects(schema, sub, seen)
    return out


def test_every_request_body_refuses_unknown_fields(schema):
    open_bodies, checked = [], set()
    for method, path, op in _operations(schema):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content or (method, path) in OPEN_BODIES:
            continue
        for name, body in _objects(schema, content["application/json"]["schema"], set()):
            checked.add(name)
            if body.get("additionalProperties") is not False:
                open_bodies.append(f"{method.upper()} {path}: {name}")
    assert open_bodies == []
    assert {"SchoolReferralIn", "ParentCarerIn", "NoteIn", "TriageIn", "MoveNoticeIn"} <= checked


@pytest.fixture
def officer_client(make_user: Any) -> tuple[Client, dict[str, str]]:
    user = make_user(Role.CME_OFFICER)
    _, raw = api_token_create(actor=Actor.system("test"), user=user, name="contract")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


@pytest.mark.django_db
def test_unknown_paths_and_methods_are_problems(officer_client):
    client, headers = officer_client
    for path in ("/api/v1/nonsense", "/api/v1/cases/1/nonsense", "/api/v2/cases", "/api/"):
        body = assert_problem(client.get(path, **headers), 404, "not_found")
        assert path in body["detail"]
    wrong = client.delete("/api/v1/cases", **headers)
    body = assert_problem(wrong, 405, "method_not_allowed")
    assert wrong["Allow"] == "GET"
    assert "DELETE is not allowed" in body["detail"]


@pytest.mark.django_db
def test_unauthenticated_malformed_and_unknown_fields(officer_client):
    client, headers = officer_client
    anonymous = client.get("/api/v1/cases")
    assert_problem(anonymous, 401, "unauthenticated")
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    bad_token = client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer nonsense")
    assert_problem(bad_token, 401, "unauthenticated")
    not_json = client.post(
        "/api/v1/tasks/1/reassign", "{not json", content_type="application/json", **headers
    )
    assert_problem(not_json, 400, "bad_request")
    wrong_type = client.get("/api/v1/cases?limit=many", **headers)
    body = assert_problem(wrong_type, 422, "invalid", fields={"limit"})
    assert body["errors"][0]["message"] == "Enter limit as a whole number"
    assert body["errors"][0]["pointer"] == ""
    preferences = client.post(
        "/api/v1/notification-preferences",
        json.dumps({"choices": {}, "also": 1}),
        content_type="application/json",
        **headers,
    )
    body = assert_problem(preferences, 422, "invalid", fields={"also"})
    assert body["errors"][0]["pointer"] == "/also"
    assert "also is not a field of this request" in body["errors"][0]["message"]


def test_every_kind_is_described_at_its_type(client):
    kinds = client.get("/api/v1/problems").json()
    assert {k["code"] for k in kinds} == set(KINDS)
    one = client.get(f"{TYPE_BASE}version_conflict").json()
    assert (one["status"], one["type"]) == (409, f"{TYPE_BASE}version_conflict")
    assert_problem(client.get(f"{TYPE_BASE}nonsense"), 404, "not_found")
    statuses: dict[str, int] = {}
    for kind in KINDS.values():  # one status per kind
        assert statuses.setdefault(kind.code, kind.status) == kind.status
    assert {k.status for k in KINDS.values() if k.code in {"invalid", "refused"}} == {422}


@pytest.mark.django_db
def test_a_query_parameter_an_endpoint_does_not_take_is_refused_by_name(officer_client):
    """A misspelt filter must not answer with everything: ``?stat=open`` is a 422 naming it,
    while the endpoint's own parameters (a filter schema's, pagination's) still work."""
    client, headers = officer_client
    assert client.get("/api/v1/cases?state=tracking&limit=5", **headers).status_code == 200
    assert client.get("/api/v1/organisations?kind=school&limit=5", **headers).status_code == 200
    misspelt = client.get("/api/v1/cases?stat=tracking&limit=5", **headers)
    body = assert_problem(misspelt, 422, "invalid", fields={"stat"})
    assert body["errors"][0]["pointer"] == ""
    message = body["errors"][0]["message"]
    assert message.startswith("“stat” is not a query parameter of this endpoint")
    assert "state" in message
    assert "limit" in message
    two = client.get("/api/v1/me?a=1&b=2", **headers)
    body = assert_problem(two, 422, "invalid", fields={"a", "b"})
    assert "takes no query parameters" in body["errors"][0]["message"]
    # Authentication comes first: a caller not signed in learns nothing about parameters.
    assert_problem(client.get("/api/v1/cases?stat=tracking"), 401, "unauthenticated")


def test_every_operation_takes_exactly_the_query_parameters_it_documents(schema):
    from cmetrack.config.api import api
    from cmetrack.kit.problems import query_names

    documented = {
        (method.upper(), path): {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        for method, path, op in _operations(schema)
    }
    checked = 0
    for router in api._get_bound_routers():
        for route, path_view in router.path_operations.items():
            path = "/api/v1" + (router.prefix.rstrip("/") + route).replace("//", "/")
            for operation in path_view.operations:
                for method in operation.methods:
                    if (method, path) in documented:
                        checked += 1
                        assert query_names(operation) == documented[(method, path)], path
    assert checked > 60
