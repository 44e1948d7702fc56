"""Consultations on a case: named or anonymous, whether the family was told (if not,
why), and outcomes that become tasks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.casework import services
from cmetrack.casework.models import Consultation, Task, TaskKind
from cmetrack.kit.testing import assert_problem

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _date(prefix: str, d: dt.date) -> dict[str, str]:
    return {
        f"{prefix}-day": str(d.day),
        f"{prefix}-month": str(d.month),
        f"{prefix}-year": str(d.year),
    }


def test_anonymous_consultation_with_outcomes_as_tasks(make_user, today):
    officer = make_user(Role.CME_OFFICER)
    manager = make_user(Role.CME_MANAGER)
    case = case_in_state(CaseState.TRACKING)
    consultation = services.consultation_record(
        actor=Actor(user=officer),
        case=case,
        consulted_on=today,
        consulted_with="cru",
        named=False,
        family_told=False,
        not_told_reason="Telling the family could put the child at risk",
        advice="Refer to children's social care if not found in a week",
        outcomes=[
            services.ConsultationOutcome(title="Ring social care", owner=officer, due=today),
            services.ConsultationOutcome(
                title="Review with manager", owner=manager, due=today + dt.timedelta(days=7)
            ),
        ],
    )
    tasks = Task.objects.filter(consultation=consultation).order_by("due")
    assert [t.title for t in tasks] == ["Ring social care", "Review with manager"]
    assert {t.kind for t in tasks} == {TaskKind.CONSULTATION}
    assert tasks[1].owner == manager
    assert case.chronology.filter(summary__startswith="Anonymous consultation").exists()
    assert AuditEvent.objects.filter(
        object_type="casework.consultation", child_id=case.child_id
    ).exists()


def test_family_not_told_needs_a_reason(make_user, today):
    case = case_in_state(CaseState.TRACKING)
    with pytest.raises(ValidationError) as err:
        services.consultation_record(
            actor=Actor(user=make_user(Role.CME_OFFICER)),
            case=case,
            consulted_on=today,
            consulted_with="cru",
            named=True,
            family_told=False,
            advice="x",
        )
    assert "not_told_reason" in err.value.message_dict
    assert not Consultation.objects.exists()


def test_bad_outcome_records_nothing(make_user, today):
    officer = make_user(Role.CME_OFFICER)
    case = case_in_state(CaseState.TRACKING)
    with pytest.raises(ValidationError) as err:
        services.consultation_record(
            actor=Actor(user=officer),
            case=case,
            consulted_on=today,
            consulted_with="cru",
            named=True,
            family_told=True,
            advice="Advice",
            outcomes=[
                services.ConsultationOutcome(
                    title="Late", owner=officer, due=today - dt.timedelta(days=1)
                )
            ],
        )
    assert "outcome_0_due" in err.value.message_dict
    assert not Consultation.objects.exists()
    assert not Task.objects.exists()


def test_who_may_record(make_user, today):
    case = case_in_state(CaseState.TRACKING)
    adviser = make_user(Role.SAFEGUARDING_ADVISER)
    with pytest.raises(PermissionDenied):
        services.consultation_record(
            actor=Actor(user=adviser),
            case=case,
            consulted_on=today,
            consulted_with="cru",
            named=True,
            family_told=True,
            advice="Advice",
        )


def test_consultation_page(make_user, today):
    officer = make_user(Role.CME_OFFICER)
    case = case_in_state(CaseState.TRACKING)
    url = reverse("casework:consultations", args=[case.pk])
    client = _client(officer)
    assert "Record a consultation" in client.get(url).content.decode()
    bad = client.post(url, {"consultation-family_told": "no"})
    body = bad.content.decode()
    assert "There is a problem" in body
    assert "Enter why the family was not told" in body
    ok = client.post(
        url,
        {
            **_date("consultation-consulted_on", today),
            "consultation-consulted_with": "cru",
            "consultation-named": "yes",
            "consultation-family_told": "yes",
            "consultation-advice": "Make a home visit",
            "consultation-outcome_0_title": "Home visit",
            "consultation-outcome_0_owner": str(officer.pk),
            **_date("consultation-outcome_0_due", today + dt.timedelta(days=2)),
        },
    )
    assert ok.status_code == 302
    task = Task.objects.get()
    assert task.title == "Home visit"
    assert task.consultation is not None
    assert "Home visit" in client.get(url).content.decode()


def test_out_of_scope_is_404(make_user):
    case = case_in_state(CaseState.TRACKING)
    school = make_user(Role.SCHOOL_USER)
    assert _client(school).get(reverse("casework:consultations", args=[case.pk])).status_code == 404


def test_consultation_api(make_user, today):
    officer = make_user(Role.CME_OFFICER)
    case = case_in_state(CaseState.TRACKING)
    client = _client(officer)
    url = f"/api/v1/cases/{case.pk}/consultations"
    body = {
        "consulted_on": today.isoformat(),
        "consulted_with": "cru",
        "named": False,
        "family_told": False,
        "not_told_reason": "Risk to the child",
        "advice": "Strategy discussion",
        "outcomes": [{"title": "Ask police", "owner_id": officer.pk, "due": today.isoformat()}],
    }
    created = client.post(url, body, content_type="application/json")
    assert created.status_code == 201, created.content
    assert len(created.json()["task_ids"]) == 1
    assert client.get(url).json()[0]["named"] is False
    missing = client.post(url, {**body, "not_told_reason": ""}, content_type="application/json")
    assert_problem(missing, 422, "invalid")
    assert _client(make_user(Role.SCHOOL_USER)).get(url).status_code == 404
