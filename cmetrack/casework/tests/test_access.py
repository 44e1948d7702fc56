"""Who may see and record tracking work: every role tries every page and API endpoint on a
case in their scope and on one outside it.

Out of scope is 404 (as if the case did not exist); in scope but not allowed to record is
403; a refused request writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.casework.models import AddressSearchSource, Task

from .factories import open_case

pytestmark = pytest.mark.django_db

OK, FORBIDDEN, NOT_FOUND = "ok", 403, 404

#: role: (read own case, write own case, read other case, write other case).
#: "Own" is a case of a child in care assigned to the user; "other" is a case of a child
#: not in care, assigned to nobody.
ACCESS: dict[Role, tuple[Any, Any, Any, Any]] = {
    Role.CME_OFFICER: (OK, OK, OK, OK),
    Role.CME_MANAGER: (OK, OK, OK, OK),
    Role.SLO: (OK, OK, NOT_FOUND, NOT_FOUND),
    Role.VIRTUAL_SCHOOL: (OK, OK, NOT_FOUND, NOT_FOUND),
    Role.SAFEGUARDING_ADVISER: (OK, FORBIDDEN, NOT_FOUND, NOT_FOUND),
    Role.SCHOOL_USER: (NOT_FOUND,) * 4,
    Role.AGENCY_USER: (NOT_FOUND,) * 4,
    Role.AUDITOR: (NOT_FOUND,) * 4,
    Role.ADMINISTRATOR: (NOT_FOUND,) * 4,
    Role.ADMISSIONS: (NOT_FOUND,) * 4,
}

#: Roles that have the queues ("Your tasks", "Cases with no recent contact").
QUEUE_ROLES = {Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL}


def test_table_lists_every_role():
    assert set(ACCESS) == set(Role)


def _user(role: Role, make_user: Any) -> Any:
    if role == Role.SCHOOL_USER:
        return make_user(role, organisation=SchoolFactory())
    if role == Role.AGENCY_USER:
        return make_user(role, organisation=AgencyFactory())
    return make_user(role)


def _today() -> dict[str, str]:
    t = timezone.localdate()
    return {"day": str(t.day), "month": str(t.month), "year": str(t.year)}


def page_writes(case: Any, source: Any, task: Any, owner: Any) -> list[tuple[str, dict[str, str]]]:
    t = _today()
    return [
        (
            reverse("casework:check-record", args=[case.pk, source.pk]),
            {
                f"check-{source.pk}-status": "checked",
                **{f"check-{source.pk}-date-{k}": v for k, v in t.items()},
                f"check-{source.pk}-result": "not_found",
            },
        ),
        (
            reverse("casework:contact-record", args=[case.pk]),
            {
                "contact-method": "phone",
                **{f"contact-date-{k}": v for k, v in t.items()},
                "contact-with_whom": "Mother",
                "contact-outcome": "no_answer",
            },
        ),
        (reverse("casework:note-add", args=[case.pk]), {"note-text": "A note"}),
        (
            reverse("casework:task-add", args=[case.pk]),
            {
                "task-title": "Ring the GP",
                "task-owner": str(owner.pk),
                **{f"task-due-{k}": v for k, v in t.items()},
            },
        ),
        (reverse("casework:task-complete", args=[case.pk, task.pk]), {}),
    ]


def api_writes(case: Any, source: Any, owner: Any) -> list[tuple[str, dict[str, Any]]]:
    today = timezone.localdate().isoformat()
    base = f"/api/v1/cases/{case.pk}"
    return [
        (f"{base}/checks", {"source_id": source.pk, "status": "not_available"}),
        (
            f"{base}/contacts",
            {"method": "email", "date": today, "with_whom": "School", "outcome": "no_answer"},
        ),
        (f"{base}/notes", {"text": "A note"}),
        (f"{base}/tasks", {"title": "x", "owner_id": owner.pk, "due": today}),
    ]


def _casework_rows() -> int:
    return AuditEvent.objects.filter(object_type__startswith="casework.").count()


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_pages_and_api_per_role(role: Role, make_user: Any, client: Client) -> None:
    user = _user(role, make_user)
    # Own case: a child in care, assigned to the user where the role can hold a case.
    own = open_case(
        in_care=True, officer=user if role in {Role.SLO, Role.SAFEGUARDING_ADVISER} else None
    )
    other = open_case()
    source = AddressSearchSource.objects.first()
    owner = make_user(Role.CME_MANAGER)  # may own a task on any case
    client.force_login(user)

    for case, (read, write) in ((own, ACCESS[role][:2]), (other, ACCESS[role][2:])):
        task = Task.objects.create(case=case, title="T", owner=owner, due=timezone.localdate())
        # The owner of a new task: the user where they may own one, else the manager.
        task_owner = user if role in {Role.SLO, Role.VIRTUAL_SCHOOL} and case == own else owner

        # Pages.
        response = client.get(reverse("casework:case-tracking", args=[case.pk]))
        assert response.status_code == (200 if read == OK else read), (role, case, "page")
        if read == OK:
            assert case.reference.encode() in response.content
            assert (b"Add note" in response.content) is (write == OK)
        for url, data in page_writes(case, source, task, task_owner):
            before = _casework_rows()
            response = client.post(url, data)
            if write == OK:
                assert response.status_code == 302, (role, url, response.content[:2000])
                assert _casework_rows() == before + 1
            else:
                assert response.status_code == write, (role, url)
                assert _casework_rows() == before

        # API.
        base = f"/api/v1/cases/{case.pk}"
        for what in ("checks", "contacts", "notes", "tasks"):
            response = client.get(f"{base}/{what}")
            assert response.status_code == (200 if read == OK else read), (role, what)
        for url, body in api_writes(case, source, task_owner):
            before = _casework_rows()
            response = client.post(url, body, content_type="application/json")
            assert response.status_code == (201 if write == OK else write), (
                role,
                url,
                response.content,
            )
            assert _casework_rows() == before + (1 if write == OK else 0)

    # Queues: only for people who record tracking work.
    for name in ("casework:my-tasks", "casework:no-recent-contact"):
        response = client.get(reverse(name))
        assert response.status_code == (200 if role in QUEUE_ROLES else 403), (role, name)
    assert client.get("/api/v1/tasks").status_code == 200


def test_a_case_that_does_not_exist_is_404(make_user, client):
    client.force_login(make_user(Role.CME_OFFICER))
    assert client.get(reverse("casework:case-tracking", args=[999999])).status_code == 404
    assert client.get("/api/v1/cases/999999/notes").status_code == 404
    assert client.post(reverse("casework:note-add", args=[999999]), {}).status_code == 404


def test_out_of_scope_404_says_nothing_about_the_case(make_user, client):
    case = open_case()
    client.force_login(make_user(Role.SLO))
    response = client.get(reverse("casework:case-tracking", args=[case.pk]))
    assert response.status_code == 404
    assert case.child.legal_family_name.encode() not in response.content
    assert case.reference.encode() not in response.content


def test_signed_out_people_are_sent_to_sign_in_and_the_api_says_401(client):
    case = open_case()
    for url in (
        reverse("casework:case-tracking", args=[case.pk]),
        reverse("casework:my-tasks"),
        reverse("casework:no-recent-contact"),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert client.get(f"/api/v1/cases/{case.pk}/notes").status_code == 401
    assert client.get("/api/v1/tasks").status_code == 401


def test_task_complete_on_another_cases_url_is_404(make_user, client):
    officer = make_user(Role.CME_OFFICER)
    a, b = open_case(), open_case()
    task = Task.objects.create(case=a, title="T", owner=officer, due=dt.date.today())
    client.force_login(officer)
    response = client.post(reverse("casework:task-complete", args=[b.pk, task.pk]))
    assert response.status_code == 404
