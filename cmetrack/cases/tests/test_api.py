# ruff: noqa: E501  (the table of refusals reads best one row per line)
"""The cases API: scoped reads, queues, chronology, transitions and their error shapes."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import DORMANT_NEEDS_RISK_ASSESSMENT, CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.kit.testing import assert_problem

S = CaseState


def token_client(user: Any) -> tuple[Client, dict[str, Any]]:
    raw = api_token_create(actor=Actor.system("test"), user=user, name="test")
    token = raw[1] if isinstance(raw, tuple) else raw
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {token}"}


@pytest.fixture
def api(officer):
    client, headers = token_client(officer)

    def call(method: str, path: str, body: dict[str, Any] | None = None, **extra: str) -> Any:
        kwargs: dict[str, Any] = {**headers, **extra}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(f"/api/v1{path}", **kwargs)

    return call


def transition(api: Any, case: Case, **body: Any) -> Any:
    return api("post", f"/cases/{case.pk}/transitions", body)


@pytest.mark.django_db
def test_list_is_scoped_filtered_and_paged(api, school, make_user):
    cases = [case_in_state(S.TRACKING, school=school) for _ in range(3)]
    received = case_in_state(S.RECEIVED, school=school)
    page = api("get", "/cases?limit=2").json()
    assert page["count"] == 4
    assert len(page["items"]) == 2
    rest = api("get", f"/cases?limit=2&after={page['next_cursor']}").json()
    ids = [c["id"] for c in page["items"] + rest["items"]]
    assert sorted(ids) == sorted([c.pk for c in cases] + [received.pk])
    assert rest["next_cursor"] == ""
    tracking = api("get", "/cases?state=tracking").json()
    assert {c["id"] for c in tracking["items"]} == {c.pk for c in cases}
    by_ref = api("get", f"/cases?q={received.reference}").json()
    assert [c["id"] for c in by_ref["items"]] == [received.pk]
    outsider, headers = token_client(make_user(Role.SCHOOL_USER))
    assert outsider.get("/api/v1/cases", **headers).json() == {
        "items": [],
        "count": 0,
        "next_cursor": "",
    }


@pytest.mark.django_db
def test_queues(api, officer, school):
    mine = case_in_state(S.TRACKING, school=school, assigned_officer=officer)
    other = case_in_state(S.RECEIVED, school=school)
    assert [c["id"] for c in api("get", "/queues/mine").json()["items"]] == [mine.pk]
    assert [c["id"] for c in api("get", "/queues/unassigned").json()["items"]] == [other.pk]
    assert_problem(api("get", "/queues/nonsense"), 404, "not_found")


@pytest.mark.django_db
def test_read_a_case_with_etag_actions_and_a_view_audit(api, officer, school):
    case = case_in_state(S.TRACKING, school=school)
    response = api("get", f"/cases/{case.pk}")
    assert response.status_code == 200
    body = response.json()
    assert response["ETag"] == f'"{case.version}"'
    assert body["reference"] == case.reference
    assert body["version"] == case.version
    assert body["date_referred"] == case.date_referred.isoformat()
    assert {"locate", "assign", "request_slo_visit"} <= set(body["actions"])
    assert "close" not in body["actions"]  # a tracked child is located first (issue 17)
    # Not offered until it may be taken (an authorised risk assessment first).
    assert "make_dormant" not in body["actions"]
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, child_id=case.child_id, actor=officer
    ).exists()


@pytest.mark.django_db
def test_out_of_scope_is_a_404_with_no_trace(make_user, school):
    case = case_in_state(S.TRACKING, school=school)
    client, headers = token_client(make_user(Role.AGENCY_USER))
    for path in (f"/cases/{case.pk}", f"/cases/{case.pk}/chronology", "/cases/999999"):
        response = client.get(f"/api/v1{path}", **headers)
        body = assert_problem(response, 404, "not_found")
        assert body["detail"] == "No such case."
        assert (body["errors"], body["current_version"]) == ([], None)
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW, child_id=case.child_id).exists()


@pytest.mark.django_db
def test_chronology_in_time_order(api, school):
    case = case_in_state(S.AWAITING_PROVISION, school=school)
    events = api("get", f"/cases/{case.pk}/chronology").json()
    assert [e["summary"] for e in events] == list(
        case.chronology.order_by("at", "id").values_list("summary", flat=True)
    )
    assert events[0]["kind"] == "state"


@pytest.mark.django_db
def test_transition_success_returns_the_case(api, school, today):
    case = case_in_state(S.TRACKING, school=school)
    response = transition(
        api, case, action="locate", expected_version=case.version,
        where="Staying with her aunt", route="living_here", located_on=today.isoformat(),
    )  # fmt: skip
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["version"]) == ("located", case.version + 1)
    assert body["located_where"] == "Staying with her aunt"
    assert response["ETag"] == f'"{case.version + 1}"'


@pytest.mark.django_db
def test_if_match_carries_the_version(api, school):
    case = case_in_state(S.RECEIVED, school=school)
    response = api(
        "post",
        f"/cases/{case.pk}/transitions",
        {"action": "start_tracking"},
        HTTP_IF_MATCH=f'"{case.version}"',
    )
    assert response.status_code == 200
    assert response.json()["state"] == "tracking"


@pytest.mark.django_db
def test_without_a_version_428(api, school):
    case = case_in_state(S.RECEIVED, school=school)
    response = transition(api, case, action="start_tracking")
    assert_problem(response, 428, "version_required")


@pytest.mark.django_db
def test_version_conflict_409_and_nothing_changes(api, school, make_user, today):
    case = case_in_state(S.TRACKING, school=school)
    seen = case.version
    other, headers = token_client(make_user(Role.CME_MANAGER, full_name="Mo Manager"))
    first = other.post(
        f"/api/v1/cases/{case.pk}/transitions",
        data=json.dumps({"action": "assign", "expected_version": seen, "officer": ""}),
        content_type="application/json",
        **headers,
    )
    assert first.status_code == 200  # already unassigned: nothing to change
    first = other.post(
        f"/api/v1/cases/{case.pk}/transitions",
        data=json.dumps({"action": "advise_off_roll", "expected_version": seen,
                         "advised_date": today.isoformat()}),
        content_type="application/json",
        **headers,
    )  # fmt: skip
    assert first.status_code == 200
    response = transition(
        api, case, action="locate", expected_version=seen, where="At an aunt's",
        route="living_here", located_on=today.isoformat(),
    )  # fmt: skip
    body = assert_problem(response, 409, "version_conflict")
    assert body["current_version"] == seen + 1
    assert body["detail"].startswith("This case was changed by Mo Manager at ")
    case.refresh_from_db()
    assert case.state == S.TRACKING


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("state", "body", "code", "detail", "field"),
    # A date is given as its offset from today, added when the test runs.
    [
        (S.TRACKING, {"action": "make_dormant"}, "precondition_failed", DORMANT_NEEDS_RISK_ASSESSMENT, ""),
        (S.TRACKING, {"action": "determine_provision", "provision_recommended": "mainstream",
                      "date_provision_determined": dt.timedelta(0)},
         "transition_not_allowed", "applies only to a case that is needs assessment; this case is tracking", ""),
        (S.TRACKING, {"action": "locate", "where": "x", "route": "moved_la", "located_on": dt.timedelta(0)},
         "precondition_failed", "needs that authority", "local_authority"),
        (S.TRACKING, {"action": "locate", "route": "living_here", "located_on": "31-02-2026"},
         "invalid", "Some fields are missing or invalid.", "where"),
        (S.TRACKING, {"action": "fly"}, "invalid", "No action called 'fly'", ""),
    ],
)  # fmt: skip
def test_refusals_422_with_the_rule(api, school, state, body, code, detail, field, today):
    body = {
        k: (today + v).isoformat() if isinstance(v, dt.timedelta) else v for k, v in body.items()
    }
    case = case_in_state(state, school=school)
    response = transition(api, case, expected_version=case.version, **body)
    answer = assert_problem(response, 422, code)
    assert detail in answer["detail"]
    if field:
        assert field in {e["field"] for e in answer["errors"]}
    case.refresh_from_db()
    assert case.state == state


@pytest.mark.django_db
def test_invalid_fields_are_listed_each_with_its_message(api, school):
    case = case_in_state(S.TRACKING, school=school)
    response = transition(
        api, case, action="locate", expected_version=case.version, located_on="2026-02-31"
    )
    body = assert_problem(response, 422, "invalid")
    assert body["current_version"] == case.version
    errors = {e["field"]: e["message"] for e in body["errors"]}
    assert errors == {
        "where": "Enter where the child is",
        "route": "Choose where the child's education is",
        "located_on": "The date the child was located must be a real date, like 2026-11-25",
    }


@pytest.mark.django_db
def test_reopen_returns_the_new_episode(api, school):
    case = case_in_state(S.CLOSED, school=school)
    response = transition(api, case, action="reopen", expected_version=case.version, reason="Again")
    body = response.json()
    assert body["previous_case_id"] == case.pk
    assert body["state"] == "received"


def test_openapi_documents_the_endpoints_errors_and_examples(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/chronology",
        "/api/v1/cases/{case_id}/transitions",
        "/api/v1/queues/{name}",
    ):
        assert path in paths
    post = paths["/api/v1/cases/{case_id}/transitions"]["post"]
    for status in ("403", "404", "409", "422", "428"):
        content = post["responses"][status]["content"]
        assert list(content) == ["application/problem+json"]
        assert content["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
        assert content["application/problem+json"]["example"]["status"] == int(status)
    examples = post["requestBody"]["content"]["application/json"]["examples"]
    assert examples["locate"]["value"]["action"] == "locate"
    assert "ErrorOut" not in schema["components"]["schemas"]


@pytest.mark.django_db
def test_a_field_the_action_does_not_take_is_refused_by_name(api, school):
    case = case_in_state(S.RECEIVED, school=school)
    response = transition(
        api, case, action="start_tracking", expected_version=case.version, colour="blue"
    )
    body = assert_problem(response, 422, "invalid", fields={"colour"})
    assert body["errors"][0]["pointer"] == "/colour"
    assert "colour is not a field of the action start_tracking" in body["errors"][0]["message"]
    case.refresh_from_db()
    assert case.state == S.RECEIVED
