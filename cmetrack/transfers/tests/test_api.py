"""The transfers API: upload and search, scoped and logged like the pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from cmetrack.accounts.services import api_token_create
from cmetrack.audit.services import Actor
from cmetrack.kit.testing import assert_problem
from cmetrack.transfers.models import CtfFile, EventKind, TransferEvent

from .conftest import XXX_FILE, sample

pytestmark = pytest.mark.django_db


def token_client(user: Any) -> tuple[Client, dict[str, Any]]:
    raw = api_token_create(actor=Actor.system("test"), user=user, name="test")
    token = raw[1] if isinstance(raw, tuple) else raw
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def _post_file(user: Any, data: bytes, name: str = XXX_FILE) -> Any:
    client, headers = token_client(user)
    return client.post(
        "/api/v1/transfers/ctf",
        {"file": SimpleUploadedFile(name, data, "application/xml")},
        **headers,
    )


def test_upload_then_search(schools: dict[str, Any], officer: Any) -> None:
    response = _post_file(officer, sample(XXX_FILE))
    assert response.status_code == 201
    body = response.json()
    assert body["destination"] == "unknown"
    assert body["lost_pupils"] == 1
    assert _post_file(officer, sample(XXX_FILE)).json()["created"] is False

    client, headers = token_client(officer)
    found = client.post(
        "/api/v1/transfers/lost-pupils/search",
        data={"family_name": "Okonkwo-Hart", "dob": "2016-03-27"},
        content_type="application/json",
        **headers,
    )
    assert found.status_code == 200
    assert found.json()[0]["upn"] == "K999200124001"
    assert TransferEvent.objects.filter(kind=EventKind.SEARCH).count() == 1


def test_hostile_upload_is_422_with_problems(schools: dict[str, Any], officer: Any) -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>'
    )
    response = _post_file(officer, data, "evil.xml")
    (problem,) = assert_problem(response, 422, "invalid")["errors"]
    assert problem["line"] == 2
    assert "document type declaration" in problem["message"]
    assert CtfFile.objects.count() == 0


def test_school_cannot_search_or_upload_another_schools_file(
    schools: dict[str, Any], school_user: Callable[[str], Any]
) -> None:
    user = school_user("st_brigids")
    assert_problem(_post_file(user, sample(XXX_FILE)), 422, "invalid")
    client, headers = token_client(user)
    response = client.post(
        "/api/v1/transfers/lost-pupils/search",
        data={"family_name": "Hart"},
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 403
