"""The Virtual School API: round trips, refusals with what to fix, scoping per role,
restricted addresses masked, reads audited."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.kit.testing import assert_problem, errors_by_field
from cmetrack.people.models import RestrictedAddressAccess
from cmetrack.people.tests.factories import ChildFactory

from .factories import authority, cme_case, days_ago, pep, placement_values, record, school, user

pytestmark = pytest.mark.django_db


def api_for(u: Any) -> Any:
    client = Client()
    client.force_login(u)

    def call(method: str, url: str, body: Any = None) -> Any:
        fn = getattr(client, method)
        if body is None:
            return fn(f"/api/v1{url}")
        return fn(f"/api/v1{url}", body, content_type="application/json")

    return call


def test_record_round_trip_with_a_placement_move() -> None:
    officer = user(Role.CME_OFFICER)
    child = ChildFactory.create()
    cme_case(child)
    la = authority()
    api = api_for(officer)
    bad = api("post", "/virtual-school/records", {
        "child_id": child.pk, "responsible_authority": "000", "legal_status": "C2",
        "came_into_care_on": days_ago(30).isoformat(), "social_worker_name": "Dee",
    })  # fmt: skip
    body = assert_problem(bad, 422, "invalid")
    assert "not the DfE code" in errors_by_field(body)["responsible_authority"][0]
    created = api("post", "/virtual-school/records", {
        "child_id": child.pk, "responsible_authority": la.code, "legal_status": "C2",
        "came_into_care_on": days_ago(30).isoformat(), "social_worker_name": "Dee",
        "upn": "", "placement": {"started_on": days_ago(30).isoformat(), "placement_type": "U4",
                                 "placing_authority": la.code, "line1": "1 Hidden Row",
                                 "is_restricted": True},
    })  # fmt: skip
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["placements"][0]["address"] == "Restricted"
    rid = body["id"]
    new_school = school()
    moved = api("post", f"/virtual-school/records/{rid}/placements", {
        "started_on": days_ago(2).isoformat(), "placement_type": "K2", "placing_authority": la.code,
        "school_laestab": new_school.laestab,
    })  # fmt: skip
    assert moved.status_code == 201, moved.json()
    assert moved.json()["alert"] == "Moved placement: not yet on the new school's roll"
    got = api("get", f"/virtual-school/records/{rid}")
    assert [p["placement_type"] for p in got.json()["placements"]] == ["K2", "U4"]
    assert AuditEvent.objects.filter(actor=officer, action="view", child_id=child.pk).exists()
    patched = api("patch", f"/virtual-school/records/{rid}", {"legal_status": "E1"})
    assert patched.status_code == 200
    assert patched.json()["legal_status"] == "E1"
    assert api("get", "/virtual-school/records").json()[0]["id"] == rid


def test_pep_round_trip_and_who_may_write() -> None:
    vs = user(Role.VIRTUAL_SCHOOL)
    rec = record()
    case = cme_case(rec.child)
    api = api_for(vs)
    bad = api("post", f"/virtual-school/records/{rec.pk}/peps", {
        "case_id": case.pk, "meeting_on": days_ago(1).isoformat(), "attendees": "VS",
        "summary": "x", "suitable_education": "not_known",
    })  # fmt: skip
    assert "suitable_education_reasons" in errors_by_field(assert_problem(bad, 422, "invalid"))
    made = api("post", f"/virtual-school/records/{rec.pk}/peps", {
        "case_id": case.pk, "meeting_on": days_ago(1).isoformat(), "attendees": "VS",
        "summary": "x", "suitable_education": "no", "suitable_education_reasons": "No place",
        "targets": {"academic": {"responsible": "Tutor service"}},
    })  # fmt: skip
    assert made.status_code == 201, made.json()
    plan = made.json()
    assert [t["area"] for t in plan["targets"]] == ["attendance", "academic"]
    assert plan["targets"][1]["responsible"] == "Tutor service"
    reviewed = api("post", f"/virtual-school/peps/{plan['id']}/reviews", {
        "reviewed_on": days_ago(0).isoformat(), "attendees": "VS", "summary": "Better",
        "suitable_education": "yes",
    })  # fmt: skip
    assert reviewed.status_code == 201
    assert len(reviewed.json()["reviews"]) == 1
    officer = api_for(user(Role.CME_OFFICER))
    assert officer("get", f"/virtual-school/peps/{plan['id']}").status_code == 200
    assert (
        officer("patch", f"/virtual-school/peps/{plan['id']}", {"summary": "y"}).status_code == 403
    )


@pytest.mark.parametrize(
    "role",
    [Role.SCHOOL_USER, Role.AGENCY_USER, Role.SLO, Role.SAFEGUARDING_ADVISER, Role.AUDITOR,
     Role.ADMINISTRATOR],
)  # fmt: skip
def test_other_roles_get_nothing_from_the_api(role: Role) -> None:
    vs = user(Role.VIRTUAL_SCHOOL)
    rec = record(placement=placement_values(line1="1 Hidden Row", is_restricted=True))
    plan = pep(rec, cme_case(rec.child), vs)
    api = api_for(user(role))
    assert_problem(api("get", "/virtual-school/records"), 404, "not_found")
    assert api("get", f"/virtual-school/records/{rec.pk}").status_code == 404
    assert api("get", f"/virtual-school/records/{rec.pk}/peps").status_code == 404
    assert api("get", f"/virtual-school/peps/{plan.pk}").status_code == 404
    assert (
        api("patch", f"/virtual-school/records/{rec.pk}", {"legal_status": "V2"}).status_code == 404
    )
    assert api("post", f"/virtual-school/peps/{plan.pk}/reviews", {
        "reviewed_on": days_ago(0).isoformat(), "attendees": "x", "summary": "y",
        "suitable_education": "yes",
    }).status_code == 404  # fmt: skip
    rec.refresh_from_db()
    assert rec.legal_status == "C2"


def test_a_named_user_sees_the_restricted_address() -> None:
    vs = user(Role.VIRTUAL_SCHOOL)
    rec = record(placement=placement_values(line1="1 Hidden Row", is_restricted=True))
    api = api_for(vs)
    assert (
        api("get", f"/virtual-school/records/{rec.pk}").json()["placements"][0]["address"]
        == "Restricted"
    )
    RestrictedAddressAccess.objects.create(
        child=rec.child, user=vs, granted_by=user(Role.CME_MANAGER), reason="Lead officer"
    )
    address = api("get", f"/virtual-school/records/{rec.pk}").json()["placements"][0]["address"]
    assert address.startswith("1 Hidden Row")
