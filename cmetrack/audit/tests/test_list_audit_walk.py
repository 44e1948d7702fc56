"""Lists and searches are audited per child shown (issue 17, item 7 for lists).

Walks every URL of the access matrix (``test_access_matrix.REGISTRY``) that answers GET and
is not about one child (work queues, searches, registers, report drill-downs, exports), as
every role, plainly and with a search for the child's name. Whenever a successful response
shows the walked child (its distinctive family name), a ``view`` row naming that child and
that user must have been written by that request (``audit.reads.children_listed``; the
middleware writes a list's rows in one insert). A child the role may not see appears in no
list and no row names it for that user.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.core.tests.test_access_matrix import (
    FIXED_PARAMS,
    REGISTRY,
    body_of,
    guessed,
    route_params,
    url_routes,
)
from cmetrack.core.tests.test_read_audit_walk import FAMILY, _world
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import HomeEducationRecord

pytestmark = pytest.mark.django_db

HIDDEN = "Qzxhiddenchild"
#: Roles that see only some children: a child outside their scope stays invisible.
NARROW_ROLES = (Role.SCHOOL_USER, Role.AGENCY_USER, Role.AUDITOR, Role.VIRTUAL_SCHOOL,
                Role.ADMISSIONS, Role.ADMINISTRATOR)  # fmt: skip


def _list_urls(world: dict[str, Any]) -> list[tuple[str, str]]:
    """(name, url) of every GET URL of the matrix that is not about one child."""
    routes = url_routes()
    out = []
    for name, entry in sorted(REGISTRY.items()):
        if name == "logout" or name not in routes or "GET" not in entry.methods:
            continue
        if entry.audit_trail or entry.subject_access:
            continue  # the audit trail itself, and a manager's subject access export
        params = route_params(routes[name])
        if any(param in world for _, param in params):
            continue  # a page about one child: test_read_audit_walk
        fixed = {**FIXED_PARAMS, **dict(entry.fixed)}
        kwargs = {p: fixed.get(p) or guessed(conv, p) for conv, p in params}
        out.append((name, reverse(name, kwargs=kwargs or None)))
    return out


def _user_for(role: Role, make_user: Any) -> Any:
    if role == Role.SCHOOL_USER:
        return make_user(role, organisation=SchoolFactory.create())
    return make_user(role)


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_list_that_shows_a_child_audits_it_for_that_user(role, client, make_user):
    user = _user_for(role, make_user)
    world = _world(role, user)
    child = world["_child"]
    hidden = case_in_state(
        CaseState.TRACKING, child=ChildFactory.create(legal_family_name=HIDDEN)
    ).child
    client.force_login(user)
    rows = AuditEvent.objects.filter(action=AuditAction.VIEW, actor=user)
    shown, missing, leaked = 0, [], []
    for name, url in _list_urls(world):
        for query in ({}, {"q": FAMILY[:9]}):
            before = rows.filter(child_id=child.pk).count()
            response = client.get(url, query)
            if not 200 <= response.status_code < 300:
                break
            body = body_of(response)
            if role in NARROW_ROLES and HIDDEN in body:
                leaked.append(f"{role.value} GET {url} {query} shows a child out of scope")
            if FAMILY not in body:
                continue
            shown += 1
            if rows.filter(child_id=child.pk).count() == before:
                missing.append(f"{role.value} GET {url} {query} ({name}) lists the child: no row")
    assert not missing, "\n".join(missing)
    assert not leaked, "\n".join(leaked)
    if role in NARROW_ROLES:
        assert not rows.filter(child_id=hidden.pk).exists()
    if role in (Role.CME_OFFICER, Role.CME_MANAGER):
        assert shown >= 5, f"the walk found the child on only {shown} lists"
        assert rows.filter(child_id=hidden.pk).exists()  # they see every case


def test_the_work_queue_writes_one_row_per_child_in_one_insert(client, make_user):
    officer = make_user(Role.CME_OFFICER)
    cases = [case_in_state(CaseState.TRACKING) for _ in range(3)]
    client.force_login(officer)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("cases:queue"), {"queue": "all"})
    assert response.status_code == 200
    inserts = [q["sql"] for q in queries if q["sql"].upper().startswith("INSERT INTO")
               and AuditEvent._meta.db_table in q["sql"]]  # fmt: skip
    assert len(inserts) == 1, inserts
    listed = AuditEvent.objects.filter(actor=officer, action=AuditAction.VIEW)
    assert set(listed.values_list("child_id", flat=True)) >= {c.child_id for c in cases}
    row = listed.get(child_id=cases[0].child_id)
    assert row.summary.startswith("Listed in ")
    assert row.changes["children_shown"] >= 3


def test_a_list_writes_no_row_for_a_child_it_does_not_show(client, make_user):
    """A school user's queue is scoped to its own children: another child's case is not
    shown, and no row names that child for the school user."""
    school_user = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    other = case_in_state(CaseState.TRACKING)
    client.force_login(school_user)
    response = client.get(reverse("cases:queue"), {"queue": "all"})
    assert response.status_code == 200
    assert other.child.legal_family_name not in body_of(response)
    assert not AuditEvent.objects.filter(actor=school_user, child_id=other.child_id).exists()


def test_a_list_is_not_audited_outside_a_request():
    """Jobs and commands load children without a person looking: no view rows."""
    case_in_state(CaseState.TRACKING)
    views = AuditEvent.objects.filter(action=AuditAction.VIEW)
    before = views.count()
    assert [c.child.pk for c in Case.objects.select_related("child")]
    assert views.count() == before


def test_the_home_education_list_audits_the_children_it_shows(client, make_user):
    """A register's list (the home-education list) writes a row per child it shows."""
    officer = make_user(Role.CME_OFFICER)
    child = ChildFactory.create(legal_family_name="Qzxregisterchild")
    HomeEducationRecord.objects.create(child=child, started_on=dt.date(2026, 9, 1))
    client.force_login(officer)
    response = client.get(reverse("casework:registers:list"))
    assert response.status_code == 200
    assert "Qzxregisterchild" in body_of(response)
    row = AuditEvent.objects.get(actor=officer, action=AuditAction.VIEW, child_id=child.pk)
    assert row.summary.startswith("Listed in casework:registers:list")
