"""Test helpers for the API's problem documents (``cmetrack.kit.problems``)."""

from __future__ import annotations

import json
from typing import Any

from .problems import KINDS, PROBLEM_MEDIA_TYPE, TYPE_BASE

PROBLEM_KEYS = {
    "type",
    "title",
    "status",
    "detail",
    "instance",
    "code",
    "errors",
    "current_version",
}


def assert_problem(
    response: Any,
    status: int,
    code: str | None = None,
    *,
    fields: set[str] | None = None,
) -> dict[str, Any]:
    """Assert ``response`` is a problem document (RFC 9457) with ``status`` (and ``code``;
    ``fields``: the fields named in ``errors``). Returns the body."""
    assert response.status_code == status, (response.status_code, response.content[:500])
    assert response["Content-Type"] == PROBLEM_MEDIA_TYPE, response["Content-Type"]
    body: dict[str, Any] = json.loads(response.content)
    assert set(body) == PROBLEM_KEYS, set(body) ^ PROBLEM_KEYS
    assert body["status"] == status
    kind = KINDS[body["code"]]
    assert kind.status == status, f"{body['code']} is a {kind.status}, not a {status}"
    assert body["type"] == TYPE_BASE + body["code"]
    assert body["title"] == kind.title
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert body["instance"] == response.wsgi_request.path
    if code is not None:
        assert body["code"] == code, body
    for error in body["errors"]:
        assert set(error) == {"field", "pointer", "message", "line"}, error
        assert error["message"]
    if fields is not None:
        assert {e["field"] for e in body["errors"]} == fields, body["errors"]
    return body


def errors_by_field(body: dict[str, Any]) -> dict[str, list[str]]:
    """A problem's ``errors`` as {field: [messages]} ("" for the request as a whole)."""
    out: dict[str, list[str]] = {}
    for error in body["errors"]:
        out.setdefault(error["field"], []).append(error["message"])
    return out
