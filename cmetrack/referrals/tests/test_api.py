"""The referrals API: scoped creation by schools and agencies, 422s with field messages,
scoped reads, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.kit.testing import assert_problem
from cmetrack.referrals.api import AGENCY_EXAMPLE, SCHOOL_EXAMPLE
from cmetrack.referrals.models import Referral
from cmetrack.referrals.services import referral_record
from cmetrack.referrals.tests.factories import RollEntryFactory, RollSnapshotFactory

pytestmark = pytest.mark.django_db
API = "/api/v1/referrals"


def token_for(user: Any) -> dict[str, str]:
    _, raw = api_token_create(actor=Actor.system("test"), user=user, name="test")
    return {"Authorization": f"Bearer {raw}"}


def post(client: Client, path: str, body: dict[str, Any], user: Any) -> Any:
    return client.post(path, body, content_type="application/json", headers=token_for(user))


@pytest.fixture
def school_user(make_user: Any) -> Any:
    user = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    RollEntryFactory.create(snapshot=RollSnapshotFactory.create(school=user.organisation))
    return user


def test_a_school_refers_with_the_documented_example(client: Client, school_user: Any) -> None:
    response = post(client, f"{API}/school", SCHOOL_EXAMPLE, school_user)
    assert response.status_code == 201, response.json()
    body = response.json()
    referral = Referral.objects.get()
    assert body["reference"] == referral.reference
    assert body["off_roll_advice"] == "Do not remove the child from roll"
    assert body["case_reference"] is None
    assert referral.given_names == "Ola"  # from the roll
    assert referral.checks.count() == 6


def test_a_school_cannot_refer_a_pupil_not_on_its_roll(
    client: Client, school_user: Any, make_user: Any
) -> None:
    RollEntryFactory.create(upn="B801200005001")  # on another school's roll
    response = post(
        client, f"{API}/school", {**SCHOOL_EXAMPLE, "upn": "B801200005001"}, school_user
    )
    body = assert_problem(response, 422, "invalid", fields={"upn"})
    assert body["errors"] == [
        {
            "field": "upn",
            "pointer": "/upn",
            "line": None,
            "message": "No pupil with UPN B801200005001 is on your school's latest roll",
        }
    ]
    assert not Referral.objects.exists()


def test_rule_errors_are_422_with_field_messages(client: Client, school_user: Any) -> None:
    body = {
        **SCHOOL_EXAMPLE,
        "absence_school_days": 4,
        "all_checks_complete": False,
        "checks": SCHOOL_EXAMPLE["checks"][:5],
    }
    response = post(client, f"{API}/school", body, school_user)
    problem = assert_problem(
        response, 422, "invalid", fields={"all_checks_complete", "checks.slo_discussed.status"}
    )
    assert problem["detail"].startswith("The referral was not saved")


def test_schema_errors_are_422(client: Client, school_user: Any) -> None:
    response = post(client, f"{API}/school", {"upn": "x"}, school_user)
    problem = assert_problem(response, 422, "invalid")
    assert "reason" in {e["field"] for e in problem["errors"]}
    assert "Give reason: it is required" in {e["message"] for e in problem["errors"]}


def test_an_unknown_field_is_refused_by_name(client: Client, school_user: Any) -> None:
    body = {**SCHOOL_EXAMPLE, "favourite_colour": "blue"}
    response = post(client, f"{API}/school", body, school_user)
    problem = assert_problem(response, 422, "invalid", fields={"favourite_colour"})
    assert problem["errors"][0]["pointer"] == "/favourite_colour"
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("role", "path", "body"),
    [
        (Role.AGENCY_USER, "/school", SCHOOL_EXAMPLE),
        (Role.CME_OFFICER, "/school", SCHOOL_EXAMPLE),
        (Role.SCHOOL_USER, "/agency", AGENCY_EXAMPLE),
        (Role.SLO, "/agency", AGENCY_EXAMPLE),
    ],
)
def test_wrong_role_is_403(
    client: Client, make_user: Any, role: Role, path: str, body: Any
) -> None:
    response = post(client, f"{API}{path}", body, make_user(role))
    assert_problem(response, 403, "forbidden")
    assert not Referral.objects.exists()


def test_an_agency_refers(client: Client, make_user: Any) -> None:
    user = make_user(Role.AGENCY_USER, organisation=AgencyFactory.create())
    response = post(client, f"{API}/agency", AGENCY_EXAMPLE, user)
    assert response.status_code == 201
    assert Referral.objects.get().referring_organisation == user.organisation
    response = post(client, f"{API}/agency", {**AGENCY_EXAMPLE, "how_met": ""}, user)
    problem = assert_problem(response, 422, "invalid", fields={"how_met"})
    assert problem["errors"][0]["message"] == "Say how your agency met the child"


def test_reads_are_scoped(client: Client, make_user: Any) -> None:
    ours, theirs = SchoolFactory.create(), SchoolFactory.create()
    mine = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.SCHOOL,
        given_names="A",
        family_name="B",
        reason="r",
        referring_organisation=ours,
        school=ours,
    )
    other = referral_record(
        actor=Actor.system("t"),
        route=ReferralRoute.SCHOOL,
        given_names="C",
        family_name="D",
        reason="r",
        referring_organisation=theirs,
    )
    user = make_user(Role.SCHOOL_USER, organisation=ours)
    headers = token_for(user)
    listed = client.get(API, headers=headers).json()
    assert [r["reference"] for r in listed["items"]] == [mine.reference]
    assert listed["count"] == 1
    assert client.get(f"{API}/{mine.reference}", headers=headers).status_code == 200
    assert client.get(f"{API}/{other.reference}", headers=headers).status_code == 404
    assert_problem(client.get(f"{API}/R-NOSUCH00", headers=headers), 404, "not_found")
    officer = token_for(make_user(Role.CME_OFFICER))
    assert client.get(API, headers=officer).json()["count"] == 2
    assert client.get(f"{API}?route=agency", headers=officer).json()["count"] == 0


def test_anonymous_is_401(client: Client) -> None:
    assert_problem(client.get(API), 401, "unauthenticated")
    assert (
        client.post(f"{API}/agency", AGENCY_EXAMPLE, content_type="application/json").status_code
        == 401
    )


def test_openapi_documents_examples_and_errors(client: Client, make_user: Any) -> None:
    client.force_login(make_user(Role.CME_OFFICER))
    schema = client.get("/api/v1/openapi.json").json()
    post_school = schema["paths"]["/api/v1/referrals/school"]["post"]
    assert set(post_school["responses"]) >= {"201", "403", "422"}
    components = schema["components"]["schemas"]
    assert components["SchoolReferralIn"]["examples"][0]["upn"] == "H801200001001"
    assert "ReferralValidationErrorOut" not in components
    problem = post_school["responses"]["422"]["content"]["application/problem+json"]
    assert problem["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert "/api/v1/referrals/{reference}" in schema["paths"]
    assert dt.date.fromisoformat(
        components["SchoolReferralIn"]["examples"][0]["date_last_attendance"]
    )
