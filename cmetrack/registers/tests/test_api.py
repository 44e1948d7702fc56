"""The home-education list's API: same scoping, rules and audit as the pages."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.kit.testing import assert_problem
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers import services
from cmetrack.registers.models import HomeEducationRecord

pytestmark = pytest.mark.django_db
BASE = "/api/v1/home-education"


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _body(**over: Any) -> dict[str, Any]:
    today = timezone.localdate()
    body = {
        "child": {"given_names": "Nia", "family_name": "Rees", "dob": "2014-06-01"},
        "learnt_from": "parent",
        "learnt_on": today.isoformat(),
        "started_on": today.isoformat(),
        "sen_status": "sen_support",
    }
    body.update(over)
    return body


def test_add_list_get_and_concern(make_user, today):
    officer = _client(make_user(Role.CME_OFFICER))
    created = officer.post(BASE, _body(), content_type="application/json")
    assert created.status_code == 201, created.content
    record_id = created.json()["id"]
    assert created.json()["outcome"] == "No further action"
    listing = officer.get(BASE, {"q": "rees"}).json()
    assert [i["id"] for i in listing["items"]] == [record_id]
    assert officer.get(f"{BASE}/{record_id}").json()["sen_status"] == "sen_support"
    concern = officer.post(
        f"{BASE}/{record_id}/concerns",
        {
            "raised_on": today.isoformat(),
            "raised_by_whom": "School nurse",
            "details": "Thin, withdrawn",
        },
        content_type="application/json",
    )
    assert concern.status_code == 201
    assert concern.json()["case_opened"] is True
    assert Case.objects.filter(pk=concern.json()["case_id"]).exists()
    assert officer.get(BASE, {"concern": "true"}).json()["count"] == 1


def test_consent_rule_over_the_api(make_user, today):
    officer = _client(make_user(Role.CME_OFFICER))
    manager = _client(make_user(Role.CME_MANAGER))
    special = SchoolFactory.create(school_type="special")
    refused = officer.post(
        BASE, _body(previous_school_id=special.pk), content_type="application/json"
    )
    assert "special school" in str(assert_problem(refused, 422, "invalid")["errors"])
    assert not HomeEducationRecord.objects.exists()
    req = officer.post(
        f"{BASE}/consent-requests",
        {
            "child": {"given_names": "Nia", "family_name": "Rees", "dob": "2014-06-01"},
            "school_id": special.pk,
            "requested_on": today.isoformat(),
            "requested_by": "Mother",
        },
        content_type="application/json",
    )
    assert req.status_code == 201
    decision = {
        "decision": "granted",
        "decided_on": today.isoformat(),
        "reason": "Plan is suitable",
    }
    url = f"{BASE}/consent-requests/{req.json()['id']}/decision"
    assert officer.post(url, decision, content_type="application/json").status_code == 403
    assert manager.post(url, decision, content_type="application/json").status_code == 200
    ok = officer.post(BASE, _body(previous_school_id=special.pk), content_type="application/json")
    assert ok.status_code == 201


@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.SLO, Role.AUDITOR, Role.AGENCY_USER])
def test_others_see_nothing_and_cannot_add(make_user, role, today):
    services.home_education_record_add(
        actor=Actor.system("t"), child=ChildFactory.create(), started_on=today
    )
    client = _client(make_user(role))
    assert client.get(BASE).json()["count"] == 0
    assert client.post(BASE, _body(), content_type="application/json").status_code == 403
    record = HomeEducationRecord.objects.get()
    assert client.get(f"{BASE}/{record.pk}").status_code == 404


def test_figures_for_auditors_not_schools(make_user, today):
    services.home_education_record_add(
        actor=Actor.system("t"),
        child=ChildFactory.create(),
        started_on=today - dt.timedelta(days=1),
    )
    figures = _client(make_user(Role.AUDITOR)).get(f"{BASE}/figures")
    assert figures.status_code == 200
    assert figures.json()["on_list"] == 1
    assert _client(make_user(Role.SCHOOL_USER)).get(f"{BASE}/figures").status_code == 403
