"""A case's move notice, its acknowledgement and the Home Office check over the API: the
same services, scope and audit as the case's enquiries page."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.enquiries.models import HomeOfficeCheck, MoveNotification
from cmetrack.kit.testing import assert_problem, errors_by_field

from .conftest import RESTRICTED_LINE, RESTRICTED_POSTCODE


def post(client: Any, url: str, body: Any, **extra: Any) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def api(client: Any, officer: Any) -> Any:
    client.force_login(officer)
    return client


@pytest.mark.django_db
def test_notice_then_acknowledgement(api, case, other_la, today):
    base = f"/api/v1/cases/{case.pk}/move-notices"
    r = post(api, base, {"local_authority_id": other_la.pk, "details": "Moved to Camden"})
    assert r.status_code == 201, r.content
    notice = r.json()
    assert notice["authority_code"] == "202"
    assert notice["contact_email"] == "cme@202.gov.uk"
    assert notice["acknowledged_on"] is None
    assert RESTRICTED_LINE not in r.content.decode()
    saved = MoveNotification.objects.get()
    assert AuditEvent.objects.filter(object_id=str(saved.pk), child_id=case.child_id).exists()
    assert case.chronology.filter(summary__startswith="Notified").exists()
    assert [n["id"] for n in api.get(base).json()] == [saved.pk]

    doc = api.get(f"{base}/{saved.pk}/document")
    assert doc.status_code == 200
    assert RESTRICTED_POSTCODE not in doc.content.decode()

    ack = f"{base}/{saved.pk}/acknowledged"
    early = post(api, ack, {"acknowledged_by": "J Smith", "acknowledged_on": "2000-01-01"})
    body = assert_problem(early, 422, "invalid", fields={"acknowledged_on"})
    assert "cannot be before the notification" in body["errors"][0]["message"]
    r = post(api, ack, {"acknowledged_by": "J Smith", "acknowledged_on": today.isoformat()})
    assert r.status_code == 200, r.content
    assert r.json()["acknowledged_by"] == "J Smith"
    again = post(api, ack, {"acknowledged_by": "J Smith", "acknowledged_on": today.isoformat()})
    assert "already been acknowledged" in errors_by_field(assert_problem(again, 422))[""][0]


@pytest.mark.django_db
def test_notice_errors_are_problems(api, case, other_la, home_la, today):
    base = f"/api/v1/cases/{case.pk}/move-notices"
    # Our own authority is not one the child can move to; an unknown field is refused.
    assert_problem(
        post(api, base, {"local_authority_id": home_la.pk}), 422, fields={"local_authority_id"}
    )
    assert_problem(
        post(api, base, {"local_authority_id": other_la.pk, "colour": "red"}),
        422,
        "invalid",
        fields={"colour"},
    )
    future = (today + dt.timedelta(days=2)).isoformat()
    r = post(api, base, {"local_authority_id": other_la.pk, "sent_on": future})
    assert_problem(r, 422, "invalid", fields={"sent_on"})
    assert_problem(api.get("/api/v1/cases/999999/move-notices"), 404, "not_found")
    assert_problem(api.get(f"{base}/999999/document"), 404, "not_found")
    assert not MoveNotification.objects.exists()


@pytest.mark.django_db
def test_home_office_check(api, case, today):
    base = f"/api/v1/cases/{case.pk}/home-office-checks"
    missing = post(api, base, {"requested_on": today.isoformat(), "result": "departure_confirmed"})
    assert_problem(missing, 422, "invalid", fields={"result_on"})
    body = {"requested_on": today.isoformat(), "result": "awaiting", "reference": "HO-1"}
    keyed = {"HTTP_IDEMPOTENCY_KEY": "ho-1"}
    r = post(api, base, body, **keyed)
    assert r.status_code == 201, r.content
    again = post(api, base, body, **keyed)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert HomeOfficeCheck.objects.count() == 1
    assert [c["reference"] for c in api.get(base).json()] == ["HO-1"]
    assert_problem(post(api, base, {**body, "result": "maybe"}), 422, "invalid", fields={"result"})


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "status"), [(Role.AUDITOR, 403), (Role.SCHOOL_USER, 403)])
def test_who_may_act(client, make_user, case, other_la, role, status, today):
    client.force_login(make_user(role))
    r = post(client, f"/api/v1/cases/{case.pk}/move-notices", {"local_authority_id": other_la.pk})
    assert_problem(r, status, "forbidden")
    r = post(
        client,
        f"/api/v1/cases/{case.pk}/home-office-checks",
        {"requested_on": today.isoformat(), "result": "awaiting"},
    )
    assert_problem(r, status, "forbidden")
    assert not MoveNotification.objects.exists()
    assert not HomeOfficeCheck.objects.exists()
