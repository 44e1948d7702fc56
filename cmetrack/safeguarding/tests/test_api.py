"""The safeguarding API: shapes, refusals with what to fix, scoping per role, the review
queues on a given date, bearer tokens and the OpenAPI documentation."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import CaseStateChange
from cmetrack.casework.models import Task
from cmetrack.kit.testing import assert_problem, errors_by_field
from cmetrack.safeguarding.rules import SCREENING_QUESTIONS, RiskFactor

from .factories import authorised_assessment, dormant_case, open_case, record_assessment, user

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


def _screening(**yes: str) -> dict[str, Any]:
    answers: dict[str, Any] = {q.key: {"answer": "no"} for q in SCREENING_QUESTIONS}
    answers.update({k: {"answer": "yes", "details": v} for k, v in yes.items()})
    return {"answers": answers}


def _assessment(level: str = "high", **yes: str) -> dict[str, Any]:
    factors: dict[str, Any] = {str(f.value): {"answer": "unknown"} for f in RiskFactor}
    factors.update({k[1:]: {"answer": "yes", "details": v} for k, v in yes.items()})
    return {
        "date_of_assessment": timezone.localdate().isoformat(),
        "factors": factors,
        "summary": "No trace since October.",
        "risk_level": level,
        "sent_to": ["police_mpc"],
    }


def test_screening_round_trip() -> None:
    officer = user(Role.CME_OFFICER, full_name="Olive Officer")
    case = open_case(officer=officer)
    api = api_for(officer)
    response = api("post", f"/cases/{case.pk}/screenings", _screening(cp_plan=""))
    assert errors_by_field(assert_problem(response, 422, "invalid")) == {
        "cp_plan_details": ["Enter the details for “Subject of a child protection plan?”"]
    }
    response = api("post", f"/cases/{case.pk}/screenings", _screening(cp_plan="Since May"))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["stage"] == "intake"
    assert body["recorded_by"] == "Olive Officer"
    assert body["recommendations"] == ["Inform children's social care immediately"]
    assert len(api("get", f"/cases/{case.pk}/screenings").json()) == 1


def test_risk_assessment_record_and_authorise() -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER, full_name="Mia Manager")
    case = open_case(officer=officer)
    response = api_for(officer)("post", f"/cases/{case.pk}/risk-assessments", _assessment(f3=""))
    assert list(errors_by_field(assert_problem(response, 422))) == ["factor_3_details"]
    response = api_for(officer)(
        "post", f"/cases/{case.pk}/risk-assessments", _assessment(f3="Reported 2025")
    )
    assert response.status_code == 201, response.content
    ra = response.json()
    assert (ra["risk_level"], ra["authorised_by"], len(ra["factors"])) == ("high", None, 15)
    url = f"/cases/{case.pk}/risk-assessments/{ra['id']}/authorise"
    # Officers cannot authorise; the manager can.
    assert_problem(api_for(officer)("post", url), 403, "forbidden")
    response = api_for(manager)("post", url)
    assert response.status_code == 200
    assert response.json()["authorised_by"] == "Mia Manager"
    titles = list(
        Task.objects.filter(case=case).order_by("due", "id").values_list("title", flat=True)
    )
    assert titles[0].startswith("Seek advice from the education safeguarding team")
    assert len(titles) == 5


def test_a_sixteenth_factor_is_refused_not_dropped() -> None:
    """Issue 17: an unknown factor is an error naming it; nothing is recorded."""
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer)
    body = _assessment()
    body["factors"]["16"] = {"answer": "yes", "details": "Made up"}
    response = api_for(officer)("post", f"/cases/{case.pk}/risk-assessments", body)
    errors = errors_by_field(assert_problem(response, 422))
    assert "there is no factor 16" in " ".join(m for ms in errors.values() for m in ms)
    assert not case.risk_assessments.exists()


def test_self_authorisation_through_the_api_is_refused() -> None:
    manager = user(Role.CME_MANAGER)
    case = open_case()
    ra = record_assessment(case, manager)
    response = api_for(manager)("post", f"/cases/{case.pk}/risk-assessments/{ra.pk}/authorise")
    assert "you cannot authorise it" in errors_by_field(assert_problem(response, 422))[""][0]


def test_dormant_reviews_and_queues_on_a_given_date() -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    case = dormant_case(officer)
    CaseStateChange.objects.filter(case=case, to_state=CaseState.DORMANT).update(
        at=timezone.make_aware(dt.datetime(2026, 1, 31, 9))
    )
    api = api_for(officer)
    on = api("get", "/dormant-reviews?on=2026-02-28").json()
    assert (on["overdue_total"], on["due_this_week_total"]) == (0, 1)
    assert on["due_this_week"][0]["due"] == "2026-02-28"
    on = api_for(manager)("get", "/dormant-reviews?on=2026-03-01").json()
    assert on["overdue_total"] == 1
    assert on["overdue"][0]["reference"] == case.reference
    body = {"reviewed_on": "2026-02-27", "checked": "GP", "result": "No trace",
            "risk_level_holds": True}  # fmt: skip
    response = api("post", f"/cases/{case.pk}/dormant-reviews", body)
    assert response.status_code == 201, response.content
    assert api("get", f"/cases/{case.pk}/dormant-reviews").json()[0]["result"] == "No trace"
    on = api("get", "/dormant-reviews?on=2026-03-01").json()
    assert on["overdue_total"] == 0  # next due 27 March
    bad = api("post", f"/cases/{case.pk}/dormant-reviews", {**body, "reviewed_on": "2026-01-01"})
    assert "reviewed_on" in errors_by_field(assert_problem(bad, 422, "invalid"))


@pytest.mark.parametrize(
    "role",
    [Role.SCHOOL_USER, Role.AGENCY_USER, Role.AUDITOR, Role.ADMINISTRATOR, Role.SLO,
     Role.SAFEGUARDING_ADVISER],
)  # fmt: skip
def test_out_of_scope_is_404_and_queues_are_empty(role: Role) -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER)
    case = dormant_case(officer)
    ra = authorised_assessment(case, officer=officer, manager=manager)
    api = api_for(user(role))
    for url in ("screenings", "risk-assessments", "dormant-reviews"):
        assert api("get", f"/cases/{case.pk}/{url}").status_code == 404
    assert_problem(api("post", f"/cases/{case.pk}/screenings", _screening()), 404, "not_found")
    assert api("post", f"/cases/{case.pk}/risk-assessments/{ra.pk}/authorise").status_code == 404
    queues = api("get", "/dormant-reviews?on=2030-01-01").json()
    assert (queues["overdue_total"], queues["due_this_week_total"]) == (0, 0)


def test_bearer_token_and_openapi() -> None:
    service = user(Role.CME_OFFICER, is_service_account=True)
    _, raw = api_token_create(actor=Actor.system("test"), user=service, name="safeguarding")
    case = open_case()
    response = Client().get(
        f"/api/v1/cases/{case.pk}/screenings", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200
    schema = api_for(user(Role.CME_OFFICER))("get", "/openapi.json").json()
    ops = {
        op["operationId"]: op
        for path in schema["paths"].values()
        for op in path.values()
        if "Safeguarding" in op.get("tags", [])
    }
    assert set(ops) == {
        "case_screenings_list", "case_screenings_record", "case_risk_assessments_list",
        "case_risk_assessments_record", "case_risk_assessments_authorise",
        "case_dormant_reviews_list", "case_dormant_reviews_record", "dormant_review_queues",
        "case_virtual_school_tell",
    }  # fmt: skip
    assert all(op["summary"] for op in ops.values())


def test_telling_the_virtual_school() -> None:
    officer = user(Role.CME_OFFICER)
    vs = user(Role.VIRTUAL_SCHOOL, full_name="Vera School")
    api = api_for(officer)
    not_in_care = open_case(officer=officer)
    refused = api("post", f"/cases/{not_in_care.pk}/virtual-school-notice")
    assert "only for a child in care" in assert_problem(refused, 422, "invalid")["detail"]
    case = open_case(officer=officer, in_care=True)
    told = api("post", f"/cases/{case.pk}/virtual-school-notice")
    assert told.status_code == 200, told.content
    assert (told.json()["lead_id"], told.json()["lead"]) == (vs.pk, "Vera School")
    again = api("post", f"/cases/{case.pk}/virtual-school-notice")
    assert again.json()["told_at"] == told.json()["told_at"]
    assert Task.objects.filter(case=case, owner=vs).count() == 1
    school = user(Role.SCHOOL_USER)
    assert_problem(api_for(school)("post", f"/cases/{case.pk}/virtual-school-notice"), 404)
