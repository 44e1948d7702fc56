"""The HTTP API at /api/v1/: bearer tokens, sessions, /me, organisations and the schema."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from cmetrack.accounts.models import ApiToken, hash_token
from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.accounts.tests.factories import AgencyFactory, OrganisationFactory, SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.organisations.models import Organisation

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"
ORGANISATIONS = "/api/v1/organisations"


def issue(user, name="integration"):
    return api_token_create(actor=Actor.system("test"), user=user, name=name)


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


@pytest.fixture
def service_user(make_user):
    school = SchoolFactory.create(name="Oakfield Primary School")
    return make_user(
        Role.SCHOOL_USER,
        Role.AGENCY_USER,
        email="mis-sync@example.org",
        full_name="MIS sync",
        organisation=school,
        is_service_account=True,
    )


# /me --------------------------------------------------------------------------------------


def test_me_with_a_bearer_token(client, service_user):
    _, raw = issue(service_user)
    response = client.get(ME, headers=bearer(raw))
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "mis-sync@example.org"
    assert body["full_name"] == "MIS sync"
    assert body["roles"] == sorted([Role.AGENCY_USER.value, Role.SCHOOL_USER.value])
    assert body["organisation"] == {
        "id": service_user.organisation.pk,
        "name": "Oakfield Primary School",
        "kind": "school",
    }
    assert body["is_service_account"] is True


def test_api_responses_to_a_token_are_not_cached(client, service_user):
    _, raw = issue(service_user)
    response = client.get(ME, headers=bearer(raw))
    assert response["Cache-Control"] == "no-store"


def test_me_with_a_signed_in_session(client, make_user):
    user = make_user(Role.CME_OFFICER, email="officer@example.org")
    client.force_login(user)
    response = client.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == "officer@example.org"
    assert body["roles"] == ["cme_officer"]
    assert body["organisation"]["id"] == user.organisation.pk
    assert body["organisation"]["kind"] == "la_team"
    assert body["is_service_account"] is False


def test_me_for_a_user_without_an_organisation(client, make_user):
    user = make_user(Role.AUDITOR, organisation=None)
    _, raw = issue(user)
    response = client.get(ME, headers=bearer(raw))
    assert response.status_code == 200
    assert response.json()["organisation"] is None


def test_me_without_authentication_is_401(client, db):
    response = client.get(ME)
    assert response.status_code == 401


def test_session_of_an_inactive_user_is_401(client, make_user):
    user = make_user(Role.CME_OFFICER)
    client.force_login(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get(ME).status_code == 401


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cme_not-a-real-token",
        "Bearer ",
        "Token {raw}",  # wrong scheme
        "Bearer {raw}x",  # one character too many
        "Bearer {hash}",  # the stored hash is not a token
    ],
)
def test_wrong_tokens_are_401(client, service_user, header):
    token, raw = issue(service_user)
    value = header.format(raw=raw, hash=token.token_hash)
    response = client.get(ME, headers={"Authorization": value})
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("revoked_delta", "expires_delta", "status"),
    [
        (None, None, 200),  # no expiry
        (None, dt.timedelta(days=1), 200),  # expires tomorrow
        (None, -dt.timedelta(seconds=1), 401),  # expired a second ago
        (None, -dt.timedelta(days=30), 401),
        (-dt.timedelta(minutes=5), None, 401),  # revoked
        (-dt.timedelta(minutes=5), dt.timedelta(days=1), 401),  # revoked before its expiry
    ],
)
def test_revoked_and_expired_tokens(client, service_user, revoked_delta, expires_delta, status):
    token, raw = issue(service_user)
    now = timezone.now()
    ApiToken.objects.filter(pk=token.pk).update(
        revoked_at=None if revoked_delta is None else now + revoked_delta,
        expires_at=None if expires_delta is None else now + expires_delta,
    )
    assert client.get(ME, headers=bearer(raw)).status_code == status


def test_token_of_an_inactive_user_is_401(client, service_user):
    _, raw = issue(service_user)
    assert client.get(ME, headers=bearer(raw)).status_code == 200
    service_user.is_active = False
    service_user.save(update_fields=["is_active"])
    assert client.get(ME, headers=bearer(raw)).status_code == 401


def test_a_valid_token_wins_over_a_session_and_a_wrong_one_falls_back(
    client, make_user, service_user
):
    """A bad token with a valid session falls through to the session (both are allowed)."""
    person = make_user(Role.CME_MANAGER, email="manager@example.org")
    client.force_login(person)
    _, raw = issue(service_user)
    assert client.get(ME, headers=bearer(raw)).json()["email"] == "mis-sync@example.org"
    assert client.get(ME, headers=bearer("nonsense")).json()["email"] == "manager@example.org"


def test_only_the_sha256_hash_of_a_token_is_stored(service_user):
    token, raw = issue(service_user, name="nightly export")
    assert raw.startswith("cme_")
    assert len(raw) > 40
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.token_hash == hash_token(raw)
    assert len(stored.token_hash) == 64
    assert stored.prefix == raw[:8]
    assert stored.name == "nightly export"
    # The raw value is in no column of the row.
    values = ApiToken.objects.filter(pk=token.pk).values().get()
    assert all(raw not in str(value) for value in values.values())
    assert not ApiToken.objects.filter(token_hash=raw).exists()


def test_every_token_is_different(service_user):
    raws = {issue(service_user)[1] for _ in range(5)}
    assert len(raws) == 5
    assert ApiToken.objects.filter(user=service_user).count() == 5


def test_last_used_at_is_recorded(client, service_user):
    token, raw = issue(service_user)
    assert token.last_used_at is None
    before = timezone.now()
    client.get(ME, headers=bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert before <= token.last_used_at <= timezone.now()


def test_last_used_at_is_not_touched_by_a_refused_token(client, service_user):
    token, raw = issue(service_user)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    client.get(ME, headers=bearer(raw))
    token.refresh_from_db()
    assert token.last_used_at is None


# /organisations ---------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, make_user):
    client.force_login(make_user(Role.CME_OFFICER, organisation=None))
    return client


def test_organisations_need_authentication(client, db):
    assert client.get(ORGANISATIONS).status_code == 401


def test_organisations_are_paginated(signed_in):
    for i in range(7):
        OrganisationFactory.create(name=f"Org {i:02d}")
    Organisation.objects.create(kind="agency", name="Org 99 closed", is_active=False)

    first = signed_in.get(ORGANISATIONS, {"limit": 3, "offset": 0}).json()
    assert first["count"] == 7  # inactive ones are left out
    assert [o["name"] for o in first["items"]] == ["Org 00", "Org 01", "Org 02"]

    last = signed_in.get(ORGANISATIONS, {"limit": 3, "offset": 6}).json()
    assert last["count"] == 7
    assert [o["name"] for o in last["items"]] == ["Org 06"]

    everything = signed_in.get(ORGANISATIONS).json()
    assert len(everything["items"]) == 7


def test_organisation_fields(signed_in):
    school = SchoolFactory.create(name="Brookside Academy", urn="123456", estab_number="4001")
    response = signed_in.get(ORGANISATIONS, {"kind": "school"})
    assert response.status_code == 200
    assert response.json()["items"] == [
        {
            "id": school.pk,
            "name": "Brookside Academy",
            "kind": "school",
            "urn": "123456",
            "laestab": "9994001",
            "phase": "primary",
            "school_type": "community",
            "sector": "",
            "local_authority_code": "999",
        }
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("school", {"School A", "School B"}),
        ("agency", {"Agency A"}),
        ("la_team", {"Team A"}),
        ("other_la", set()),
    ],
)
def test_organisations_filtered_by_kind(signed_in, kind, expected):
    SchoolFactory.create(name="School A")
    SchoolFactory.create(name="School B")
    AgencyFactory.create(name="Agency A")
    OrganisationFactory.create(name="Team A")
    body = signed_in.get(ORGANISATIONS, {"kind": kind}).json()
    assert {o["name"] for o in body["items"]} == expected
    assert body["count"] == len(expected)
    assert {o["kind"] for o in body["items"]} <= {kind}


@pytest.mark.parametrize("query", [{"kind": "hospital"}, {"kind": "SCHOOL"}, {"limit": "lots"}])
def test_invalid_query_is_422(signed_in, query):
    assert signed_in.get(ORGANISATIONS, query).status_code == 422


def test_organisations_with_a_bearer_token(client, service_user):
    _, raw = issue(service_user)
    response = client.get(ORGANISATIONS, {"kind": "school"}, headers=bearer(raw))
    assert response.status_code == 200
    assert [o["name"] for o in response.json()["items"]] == ["Oakfield Primary School"]


# The schema and its documentation -------------------------------------------------------


def test_openapi_schema(signed_in):
    response = signed_in.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Children missing education API"
    assert schema["info"]["version"] == "1"
    assert {"/api/v1/me", "/api/v1/organisations"} <= set(schema["paths"])
    assert "get" in schema["paths"]["/api/v1/me"]
    organisations = schema["paths"]["/api/v1/organisations"]["get"]
    assert {p["name"] for p in organisations["parameters"]} >= {"kind", "limit", "offset"}
    schemes = schema["components"]["securitySchemes"]
    bearer_schemes = [
        name
        for name, scheme in schemes.items()
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer"
    ]
    assert bearer_schemes
    # Every operation accepts the bearer token.
    for path in ("/api/v1/me", "/api/v1/organisations"):
        security = schema["paths"][path]["get"]["security"]
        assert any(bearer_schemes[0] in requirement for requirement in security)


def test_api_docs_page_for_a_signed_in_user(signed_in):
    response = signed_in.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"openapi.json" in response.content


# The issue_api_token command ----------------------------------------------------------------


def test_issue_api_token_prints_a_working_token(client, service_user):
    out = StringIO()
    call_command("issue_api_token", "MIS-Sync@Example.org", "--name", "MIS", stdout=out)
    raw = out.getvalue().strip()
    assert raw.startswith("cme_")
    token = ApiToken.objects.get(user=service_user)
    assert token.name == "MIS"
    assert token.token_hash == hash_token(raw)
    response = client.get(ME, headers=bearer(raw))
    assert response.status_code == 200
    assert response.json()["email"] == "mis-sync@example.org"


def test_issue_api_token_for_an_unknown_email(db):
    with pytest.raises(CommandError, match=r"No user with email nobody@example\.org"):
        call_command("issue_api_token", "nobody@example.org", stdout=StringIO())
    assert not ApiToken.objects.exists()


def test_session_auth_refuses_an_unsafe_request_without_csrf(make_user):
    from django.test import RequestFactory
    from ninja.errors import HttpError

    from cmetrack.accounts.api import SessionAuth

    request = RequestFactory().post("/api/v1/anything", data={})
    request.user = make_user(Role.CME_OFFICER)
    with pytest.raises(HttpError) as excinfo:
        SessionAuth()(request)
    assert excinfo.value.status_code == 403
