"""Triage over the API: the triage page's service, scope, permissions and audit."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.kit.testing import assert_problem
from cmetrack.people.models import Child
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.models import Referral, ReferralStatus
from cmetrack.referrals.services import referral_record

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def make_referral(route: str = ReferralRoute.AGENCY, **kw: Any) -> Referral:
    fields: dict[str, Any] = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "dob": dt.date(2015, 3, 14),
        "reason": "Not seen at school",
        "postcode": "EX1 4QT",
    }
    fields.update(kw)
    return referral_record(actor=SYSTEM, route=route, **fields)  # type: ignore[arg-type]


def api(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def triage(client: Client, referral: Referral, body: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/referrals/{referral.reference}/triage",
        json.dumps(body),
        content_type="application/json",
    )


def test_open_a_case_for_a_new_child_and_assign_it(make_user: Any) -> None:
    officer, other = make_user(Role.CME_OFFICER), make_user(Role.CME_OFFICER)
    referral = make_referral()
    client = api(officer)
    queue = client.get("/api/v1/referrals/triage").json()
    assert [r["reference"] for r in queue["items"]] == [referral.reference]
    r = triage(client, referral, {"decision": "open", "new_child": True, "assign_to_id": other.pk})
    assert r.status_code == 200, r.content
    body = r.json()
    case = Case.objects.get()
    assert (body["status"], body["case_id"], body["case_reference"]) == (
        "linked",
        case.pk,
        case.reference,
    )
    assert (case.state, case.assigned_officer) == (CaseState.TRACKING, other)
    assert AuditEvent.objects.filter(object_id=str(referral.pk), actor=officer).exists()
    assert client.get("/api/v1/referrals/triage").json()["items"] == []
    again = triage(client, referral, {"decision": "open", "new_child": True})
    assert "already been triaged" in assert_problem(again, 422, "refused")["detail"]
    assert Case.objects.count() == 1


def test_link_a_duplicate_and_an_existing_child(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    child = ChildFactory.create(legal_given_names="Ola", legal_family_name="Kowalska")
    case = case_open(
        actor=SYSTEM, child=child, route=ReferralRoute.AGENCY, date_referred=dt.date(2026, 10, 1)
    )
    client = api(officer)
    first = make_referral()
    r = triage(client, first, {"decision": "duplicate", "duplicate_of_case_id": case.pk})
    assert r.status_code == 200, r.content
    assert r.json()["case_id"] == case.pk
    second = make_referral()
    r = triage(client, second, {"decision": "open", "child_id": child.pk})
    assert r.status_code == 200, r.content
    assert Child.objects.count() == 1


def test_possible_duplicates_are_audited_reads(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    child = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2015, 3, 14)
    )
    case = case_open(
        actor=SYSTEM, child=child, route=ReferralRoute.AGENCY, date_referred=dt.date(2026, 10, 1)
    )
    referral = make_referral()
    r = api(officer).get(f"/api/v1/referrals/{referral.reference}/possible-duplicates")
    assert r.status_code == 200, r.content
    items = r.json()["items"]
    assert items[0]["child_id"] == child.pk
    assert items[0]["open_cases"] == [
        {"id": case.pk, "reference": case.reference, "state": case.state}
    ]
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, child_id=child.pk, actor=officer
    ).exists()


def test_problems_field_by_field(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    referral = make_referral()
    client = api(officer)
    assert_problem(triage(client, referral, {"decision": "open"}), 422, fields={"child_id"})
    r = triage(client, referral, {"decision": "not_school_age", "new_child": True})
    assert_problem(r, 422, "invalid", fields={"reason"})
    r = triage(client, referral, {"decision": "duplicate", "duplicate_of_case_id": 999999})
    assert_problem(r, 422, "invalid", fields={"duplicate_of_case_id"})
    r = triage(client, referral, {"decision": "close"})
    assert_problem(r, 422, "invalid", fields={"decision"})
    r = triage(client, referral, {"decision": "open", "new_child": True, "urgent": True})
    assert_problem(r, 422, "invalid", fields={"urgent"})
    missing = client.post(
        "/api/v1/referrals/R-NOSUCH00/triage",
        json.dumps({"decision": "open", "new_child": True}),
        content_type="application/json",
    )
    assert_problem(missing, 404, "not_found")
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.RECEIVED
    assert not Case.objects.exists()


def test_an_slo_triages_only_linked_schools_referrals(make_user: Any) -> None:
    linked, other = SchoolFactory.create(), SchoolFactory.create()
    slo = make_user(Role.SLO)
    slo.linked_schools.set([linked])
    mine = make_referral(ReferralRoute.SCHOOL, school=linked, referring_organisation=linked)
    theirs = make_referral(ReferralRoute.SCHOOL, school=other, referring_organisation=other)
    client = api(slo)
    assert [r["reference"] for r in client.get("/api/v1/referrals/triage").json()["items"]] == [
        mine.reference
    ]
    r = triage(client, mine, {"decision": "open", "new_child": True})
    assert r.status_code == 200, r.content
    assert Case.objects.get().state == CaseState.SLO_INVESTIGATION
    # Out of the SLO's scope: not found, exactly as one that does not exist.
    assert_problem(triage(client, theirs, {"decision": "open", "new_child": True}), 404)


@pytest.mark.parametrize("role", [Role.AGENCY_USER, Role.AUDITOR, Role.VIRTUAL_SCHOOL])
def test_other_roles_may_not_triage(make_user: Any, role: Role) -> None:
    agency = AgencyFactory.create()
    referral = make_referral(referring_organisation=agency)
    user = make_user(role, organisation=agency) if role == Role.AGENCY_USER else make_user(role)
    client = api(user)
    assert_problem(client.get("/api/v1/referrals/triage"), 403, "forbidden")
    r = triage(client, referral, {"decision": "open", "new_child": True})
    assert r.status_code in (403, 404)
    assert_problem(r, r.status_code)
    assert not Case.objects.exists()
