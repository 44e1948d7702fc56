"""Permission to act, per role: every role tries every action on the case page and the API.

Officers and managers act on every case; an SLO acts on SLO investigations of its linked
schools (and cases assigned to it) but does not assign, correct dates or reopen; roles that
can see a case but not act get 403; roles that cannot see it get 404, and nothing changes.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from markupsafe import escape

from cmetrack.accounts.roles import Role
from cmetrack.cases.actions import ACTIONS
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.kit.testing import assert_problem
from cmetrack.people.tests.factories import ChildFactory

S = CaseState
STATE_PREFERENCE = [S.SLO_INVESTIGATION, S.TRACKING, S.RECEIVED, S.LOCATED, S.NEEDS_ASSESSMENT,
                    S.AWAITING_PROVISION, S.IN_PROVISION, S.DORMANT, S.CLOSED]  # fmt: skip


def state_for(action: str) -> CaseState:
    return next(s for s in STATE_PREFERENCE if s in ACTIONS[action].states)


def expected_status(role: Role, action: str, state: CaseState) -> int:
    if role in (Role.CME_OFFICER, Role.CME_MANAGER):
        return 200
    if role == Role.SLO:
        if state != S.SLO_INVESTIGATION:
            return 404
        return 200 if ACTIONS[action].permission in ("act", "visit") else 403
    if role == Role.VIRTUAL_SCHOOL:
        # The Virtual School leads for a child in care: it acts, but does not manage.
        return 200 if ACTIONS[action].permission in ("act", "visit") else 403
    if role == Role.SAFEGUARDING_ADVISER:
        return 403  # they see the case (assigned to them) but do not act
    return 404


CASES = list(itertools.product(Role, ACTIONS))


@pytest.fixture
def case_for(school, make_user):
    def make(role: Role, action: str) -> Any:
        user = make_user(role)
        if role == Role.SLO:
            user.linked_schools.add(school)
        state = state_for(action)
        case = case_in_state(
            state,
            school=school,
            child=ChildFactory.create(in_care=True),
            assigned_officer=user if role == Role.SAFEGUARDING_ADVISER else None,
        )
        return user, case, state

    return make


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "action"), CASES, ids=[f"{r}-{a}" for r, a in CASES])
def test_each_role_each_action_on_the_pages(role, action, case_for):
    user, case, state = case_for(role, action)
    client = Client()
    client.force_login(user)
    url = reverse("cases:case-action", args=[case.pk, action])
    expected = expected_status(role, action, state)
    assert client.get(url).status_code == expected
    if expected != 200:
        response = client.post(url, {"expected_version": case.version, "reason": "x"})
        assert response.status_code == expected
        case.refresh_from_db()
        assert case.state == state
    detail = client.get(reverse("cases:case-detail", args=[case.pk]))
    if expected == 404:
        assert detail.status_code == 404
    else:
        offered = str(escape(ACTIONS[action].title)) in detail.content.decode()
        assert offered == (expected == 200)


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "action"), CASES, ids=[f"{r}-{a}" for r, a in CASES])
def test_each_role_each_action_through_the_api(role, action, case_for):
    user, case, state = case_for(role, action)
    client = Client()
    client.force_login(user)
    response = client.post(
        f"/api/v1/cases/{case.pk}/transitions",
        data=json.dumps({"action": action, "expected_version": case.version}),
        content_type="application/json",
    )
    expected = expected_status(role, action, state)
    if expected == 200:
        # Allowed to act: what comes back is about the fields (or the rule), not access.
        assert response.status_code in (200, 422), response.content
    else:
        assert_problem(response, expected, {403: "forbidden", 404: "not_found"}[expected])
    if response.status_code != 200:
        case.refresh_from_db()
        assert case.state == state


@pytest.mark.django_db
def test_an_slo_acts_on_a_case_assigned_to_them_in_any_state(school, make_user):
    slo = make_user(Role.SLO)
    case = case_in_state(S.TRACKING, school=school, assigned_officer=slo)
    client = Client()
    client.force_login(slo)
    assert client.get(reverse("cases:case-action", args=[case.pk, "locate"])).status_code == 200
    assert client.get(reverse("cases:case-action", args=[case.pk, "assign"])).status_code == 403


@pytest.mark.django_db
def test_an_slo_does_not_act_on_another_schools_investigation(make_user, school):
    from cmetrack.accounts.tests.factories import SchoolFactory

    slo = make_user(Role.SLO)
    slo.linked_schools.add(SchoolFactory.create())
    case = case_in_state(S.SLO_INVESTIGATION, school=school)
    client = Client()
    client.force_login(slo)
    url = reverse("cases:case-action", args=[case.pk, "record_slo_outcome"])
    assert client.get(url).status_code == 404
