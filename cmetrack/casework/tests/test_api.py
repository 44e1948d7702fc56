"""The tracking-work API: shapes, errors with what to fix, tasks, bearer tokens, OpenAPI."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import api_token_create
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ChronologyKind
from cmetrack.casework.models import AddressSearchSource, Task, TaskStatus
from cmetrack.kit.testing import assert_problem, errors_by_field

from .factories import open_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    return make_user(Role.CME_OFFICER, full_name="Olive Officer")


@pytest.fixture
def api(client, officer):
    client.force_login(officer)

    def call(method: str, url: str, body: Any = None) -> Any:
        fn = getattr(client, method)
        if body is None:
            return fn(f"/api/v1{url}")
        return fn(f"/api/v1{url}", body, content_type="application/json")

    return call


def test_checklist_round_trip(api, officer):
    case = open_case()
    source = AddressSearchSource.objects.get(name="Health")
    today = timezone.localdate().isoformat()
    response = api(
        "post",
        f"/cases/{case.pk}/checks",
        {"source_id": source.pk, "status": "checked", "date": today, "result": "found",
         "details": "Registered with a GP in Leeds"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["source"] == "Health"
    assert body["by"] == "Olive Officer"
    items = api("get", f"/cases/{case.pk}/checks").json()
    assert len(items) == 10
    health = next(i for i in items if i["source"]["name"] == "Health")
    assert health["current"]["result"] == "found"
    assert health["history"] == []
    assert all(i["current"] is None for i in items if i["source"]["name"] != "Health")


def test_validation_errors_say_what_to_fix_and_write_nothing(api):
    case = open_case()
    source = AddressSearchSource.objects.first()
    assert source is not None
    before = AuditEvent.objects.count()
    response = api(
        "post", f"/cases/{case.pk}/checks", {"source_id": source.pk, "status": "checked"}
    )
    body = assert_problem(response, 422, "invalid")
    assert body["detail"] == "Nothing was saved: correct the fields listed."
    assert errors_by_field(body) == {
        "date": ["Enter the date you checked this source"],
        "result": ["Select whether the child was found"],
    }
    response = api("post", f"/cases/{case.pk}/checks", {"source_id": 0, "status": "checked"})
    assert_problem(response, 422, "invalid", fields={"source_id"})
    # Wrong types are refused by the schema (422, the same shape).
    response = api("post", f"/cases/{case.pk}/contacts", {"method": "pigeon"})
    assert "method" in errors_by_field(assert_problem(response, 422, "invalid"))
    response = api("post", f"/cases/{case.pk}/notes", {"text": "A note", "txet": "typo"})
    assert_problem(response, 422, "invalid", fields={"txet"})
    assert AuditEvent.objects.count() == before


def test_contacts_and_notes(api):
    case = open_case()
    today = timezone.localdate().isoformat()
    response = api(
        "post", f"/cases/{case.pk}/contacts",
        {"method": "home_visit", "date": today, "time": "09:15", "with_whom": "Father",
         "outcome": "moved_away", "notes": "Neighbour: left in October"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    assert response.json()["time"] == "09:15:00"
    assert api("post", f"/cases/{case.pk}/notes", {"text": "First"}).status_code == 201
    assert api("post", f"/cases/{case.pk}/notes", {"text": "Second"}).status_code == 201
    assert [n["text"] for n in api("get", f"/cases/{case.pk}/notes").json()] == [
        "Second",
        "First",
    ]
    [contact] = api("get", f"/cases/{case.pk}/contacts").json()
    assert contact["outcome"] == "moved_away"
    kinds = list(case.chronology.values_list("kind", flat=True))
    assert kinds.count(ChronologyKind.CONTACT) == 1
    assert kinds.count(ChronologyKind.NOTE) == 2


def test_tasks_create_list_complete_reassign(api, officer, make_user):
    case = open_case()
    manager = make_user(Role.CME_MANAGER)
    school_user = make_user(Role.SCHOOL_USER)
    due = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    response = api(
        "post", f"/cases/{case.pk}/tasks", {"title": "Ring GP", "owner_id": officer.pk, "due": due}
    )
    assert response.status_code == 201
    task_id = response.json()["id"]
    assert response.json()["overdue"] is False

    bad = api(
        "post", f"/cases/{case.pk}/tasks", {"title": "x", "owner_id": school_user.pk, "due": due}
    )
    body = assert_problem(bad, 422, "invalid")
    assert errors_by_field(body) == {"owner": ["Choose someone who works on this case"]}

    mine = api("get", "/tasks").json()
    assert mine["count"] == 1
    assert mine["items"][0]["case_reference"] == case.reference

    reassigned = api("post", f"/tasks/{task_id}/reassign", {"owner_id": manager.pk})
    assert reassigned.status_code == 200
    assert reassigned.json()["owner_id"] == manager.pk
    assert api("get", "/tasks").json()["count"] == 0

    done = api("post", f"/tasks/{task_id}/complete")
    assert done.status_code == 200
    assert done.json()["status"] == TaskStatus.DONE
    again = api("post", f"/tasks/{task_id}/complete")
    body = assert_problem(again, 422, "invalid")
    assert errors_by_field(body) == {"": ["This task is already done."]}


def test_task_endpoints_are_scoped(make_user, client):
    slo = make_user(Role.SLO)
    hidden = open_case()
    task = Task.objects.create(
        case=hidden, title="T", owner=make_user(Role.CME_OFFICER), due=timezone.localdate()
    )
    client.force_login(slo)
    assert_problem(client.post(f"/api/v1/tasks/{task.pk}/complete"), 404, "not_found")
    adviser = make_user(Role.SAFEGUARDING_ADVISER)
    visible = open_case(officer=adviser)
    task2 = Task.objects.create(
        case=visible, title="T", owner=make_user(Role.CME_OFFICER), due=timezone.localdate()
    )
    client.force_login(adviser)
    assert_problem(client.post(f"/api/v1/tasks/{task2.pk}/complete"), 403, "forbidden")


def test_bearer_token(client, make_user):
    service = make_user(Role.CME_OFFICER, is_service_account=True)
    _, raw = api_token_create(actor=Actor.system("test"), user=service, name="tracker")
    case = open_case()
    response = client.post(
        f"/api/v1/cases/{case.pk}/notes",
        {"text": "From the case system"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(object_type="casework.casenote")
    assert event.actor == service


def test_openapi_documents_every_endpoint_with_examples(client, make_user):
    client.force_login(make_user(Role.CME_OFFICER))
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]
    for what in ("checks", "contacts", "notes", "tasks"):
        ops = paths[f"/api/v1/cases/{{case_id}}/{what}"]
        assert set(ops) >= {"get", "post"}
        assert {"403", "404", "422"} <= set(ops["post"]["responses"])
    assert "get" in paths["/api/v1/tasks"]
    assert "post" in paths["/api/v1/tasks/{task_id}/complete"]
    components = schema["components"]["schemas"]
    for name in ("CheckIn", "ContactIn", "NoteIn", "TaskIn", "ReassignIn"):
        assert components[name]["examples"], name
    assert "ValidationErrorOut" not in components
    assert components["FieldError"]["properties"]["message"]["examples"]
