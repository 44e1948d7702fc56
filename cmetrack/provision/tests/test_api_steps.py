"""Securing provision over the API: the case's provision page's steps, same services,
scope, permissions and audit; every error a problem document."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState
from cmetrack.kit.testing import assert_problem
from cmetrack.provision.models import AdmissionApplication, PanelReferral, Placement

from .factories import awaiting_provision, figure, provider, today

pytestmark = pytest.mark.django_db


@pytest.fixture
def school() -> Any:
    org = provider("Northgate Academy", estab="4001", postcode="AB1 2CD")
    figure(org, 7, 3)
    return org


def api(make_user: Any, role: Role = Role.CME_OFFICER) -> Client:
    client = Client()
    client.force_login(make_user(role))
    return client


def post(client: Client, url: str, body: dict[str, Any], **extra: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


def test_start_needs_the_version_and_moves_the_case(make_user, school):
    client = api(make_user)
    case = awaiting_provision()
    url = f"/api/v1/cases/{case.pk}/provision/start"
    body = {"provider_id": school.pk, "started_on": today().isoformat()}
    body.update(provision_accessed="mainstream", upn="X999200025007")
    assert_problem(post(client, url, body), 428, "version_required")
    stale = post(client, url, {**body, "expected_version": case.version - 1})
    problem = assert_problem(stale, 409, "version_conflict")
    assert problem["current_version"] == case.version
    unknown = post(client, url, {**body, "expected_version": case.version, "school": 1})
    assert_problem(unknown, 422, "invalid", fields={"school"})
    nowhere = post(client, url, {**body, "provider_id": 999999, "expected_version": case.version})
    assert_problem(nowhere, 422, "invalid", fields={"provider_id"})
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_PROVISION
    ok = post(client, url, body, HTTP_IF_MATCH=f'"{case.version}"')
    assert ok.status_code == 200, ok.content
    case.refresh_from_db()
    assert ok.json() == {"case_id": case.pk, "state": "in_provision", "version": case.version}
    assert case.date_moved_into_provision == today()
    assert Placement.objects.filter(case=case).exists()


def test_applications_and_the_panel(make_user, school):
    client = api(make_user, Role.ADMISSIONS)
    case = awaiting_provision()
    day = (today() - dt.timedelta(days=1)).isoformat()
    base = f"/api/v1/cases/{case.pk}"
    r = post(client, f"{base}/admission-applications", {"school_id": school.pk, "applied_on": day})
    assert r.status_code == 201, r.content
    app = AdmissionApplication.objects.get(case=case)
    outcome = f"{base}/admission-applications/{app.pk}/outcome"
    r = post(client, outcome, {"outcome": "refused", "outcome_on": day, "notes": "Full"})
    assert r.status_code == 200, r.content
    assert r.json()["outcome"] == "refused"
    again = post(client, outcome, {"outcome": "offered", "outcome_on": day})
    assert "already recorded" in assert_problem(again, 422, "invalid")["detail"]
    assert [a["id"] for a in client.get(f"{base}/admission-applications").json()] == [app.pk]

    r = post(client, f"{base}/panel-referrals", {"referred_on": day, "reason": " "})
    assert_problem(r, 422, "invalid", fields={"reason"})
    r = post(client, f"{base}/panel-referrals", {"referred_on": day, "reason": "Refused twice"})
    assert r.status_code == 201, r.content
    referral = PanelReferral.objects.get(case=case)
    decide = f"{base}/panel-referrals/{referral.pk}/decision"
    r = post(
        client,
        decide,
        {
            "decision": "school_named",
            "decision_on": today().isoformat(),
            "named_school_id": school.pk,
        },
    )
    assert r.status_code == 200, r.content
    assert r.json()["named_school_id"] == school.pk
    assert_problem(post(client, f"{base}/panel-referrals/999999/decision", {
        "decision": "school_named", "decision_on": day}), 404, "not_found")  # fmt: skip


@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.AUDITOR])
def test_other_roles(make_user, school, role):
    client = api(make_user, role)
    case = awaiting_provision()
    r = post(
        client,
        f"/api/v1/cases/{case.pk}/admission-applications",
        {"school_id": school.pk, "applied_on": today().isoformat()},
    )
    assert r.status_code in (403, 404)
    assert_problem(r, r.status_code)
    assert not AdmissionApplication.objects.exists()


def test_the_recommendation_needs_the_version(make_user):
    client = api(make_user)
    case = awaiting_provision()
    url = f"/api/v1/cases/{case.pk}/provision/recommendation"
    body = {"provision_recommended": "mainstream", "date_provision_determined": "2026-01-05"}
    assert_problem(post(client, url, body), 428, "version_required")
    assert_problem(post(client, url, {**body, "form": "x", "expected_version": 1}), 422)
    refused = post(api(make_user, Role.AUDITOR), url, body)
    assert_problem(refused, refused.status_code)
    assert refused.status_code in (403, 404)
