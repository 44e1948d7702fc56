"""Acting on an alert over the API: the alert page's refer, acknowledge, dismiss and add to a
case, through the same services and scope; errors are problem documents."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.detection.models import Alert, AlertState
from cmetrack.kit.testing import assert_problem
from cmetrack.referrals.models import Referral

from .factories import AlertFactory, school

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts() -> dict[str, Any]:
    ours, other = school(estab="2001"), school(estab="2002")
    mine = AlertFactory.create(school=ours, family_name="Ours", dob=date(2016, 1, 1))
    theirs = AlertFactory.create(school=other, family_name="Theirs", dob=date(2012, 1, 1))
    return {"ours": ours, "mine": mine, "theirs": theirs}


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, json.dumps(body or {}), content_type="application/json")


def test_acknowledge_dismiss_and_attach(alerts, make_user):
    client = client_for(make_user(Role.CME_OFFICER))
    mine, theirs = alerts["mine"], alerts["theirs"]
    r = post(client, f"/api/v1/alerts/{mine.pk}/acknowledge")
    assert r.status_code == 200, r.content
    assert r.json()["state"] == AlertState.ACKNOWLEDGED
    again = post(client, f"/api/v1/alerts/{mine.pk}/acknowledge")
    assert_problem(again, 422, "invalid")
    assert_problem(post(client, f"/api/v1/alerts/{mine.pk}/dismiss", {"reason": ""}), 422)
    r = post(client, f"/api/v1/alerts/{mine.pk}/dismiss", {"reason": "Moved abroad"})
    assert r.json()["dismissed_reason"] == "Moved abroad"
    nowhere = post(client, f"/api/v1/alerts/{theirs.pk}/attach", {"case_id": 999999})
    assert_problem(nowhere, 422, "invalid", fields={"case_id"})
    case = CaseFactory.create()
    r = post(client, f"/api/v1/alerts/{theirs.pk}/attach", {"case_id": case.pk})
    assert r.status_code == 200, r.content
    assert Alert.objects.get(pk=theirs.pk).case == case
    assert_problem(post(client, "/api/v1/alerts/999999/acknowledge"), 404, "not_found")


def test_a_school_refers_its_own_pupil_and_may_not_dismiss(alerts, make_user):
    user = make_user(Role.SCHOOL_USER, organisation=alerts["ours"])
    client = client_for(user)
    mine, theirs = alerts["mine"], alerts["theirs"]
    dismiss = post(client, f"/api/v1/alerts/{mine.pk}/dismiss", {"reason": "Gone"})
    assert_problem(dismiss, 403, "forbidden")
    assert_problem(post(client, f"/api/v1/alerts/{theirs.pk}/refer"), 404, "not_found")
    r = post(client, f"/api/v1/alerts/{mine.pk}/refer")
    assert r.status_code == 200, r.content
    referral = Referral.objects.get()
    assert r.json()["referral"] == referral.reference
    assert (referral.route, referral.school) == ("detection", alerts["ours"])
    assert_problem(post(client, f"/api/v1/alerts/{mine.pk}/refer"), 422, "invalid")
