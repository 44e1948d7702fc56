"""Closing a case as home educated puts the child on the home-education list, once."""

from __future__ import annotations

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState, LocatedRoute, Outcome
from cmetrack.cases.services import case_close, case_reopen
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.registers.models import HomeEducationRecord

pytestmark = pytest.mark.django_db


def test_closing_as_home_educated_records_the_child_on_the_list(make_user):
    actor = Actor(user=make_user(Role.CME_OFFICER))
    case = case_in_state(CaseState.LOCATED, route=LocatedRoute.HOME_EDUCATED)
    closed = case_close(actor=actor, case=case, outcome=Outcome.HOME_EDUCATED, reason="EHE")
    record = HomeEducationRecord.objects.get(child=case.child)
    assert record.case_id == closed.pk
    assert record.ended_on is None
    assert record.started_on == closed.closed_on
    assert AuditEvent.objects.filter(
        object_type="registers.homeeducationrecord", child_id=case.child_id
    ).exists()
    assert closed.chronology.filter(summary__contains="home-education list").exists()

    # A second episode closed the same way does not put the child on the list twice.
    again = case_reopen(actor=actor, case=closed, reason="Concern raised")
    again = case_in_state_from(again, actor)
    case_close(actor=actor, case=again, outcome=Outcome.HOME_EDUCATED, reason="EHE again")
    assert HomeEducationRecord.objects.filter(child=case.child).count() == 1


def case_in_state_from(case, actor):
    from cmetrack.cases.services import case_locate, case_start_tracking

    case = case_start_tracking(actor=actor, case=case)
    return case_locate(
        actor=actor, case=case, where="At home", route="home_educated",
        home_education_evidence="deletion_ground_f", home_education_evidence_on=case.date_referred,
    )  # fmt: skip


def test_other_outcomes_do_not_touch_the_list(make_user):
    actor = Actor(user=make_user(Role.CME_OFFICER))
    case = case_in_state(CaseState.RECEIVED)
    case_close(actor=actor, case=case, outcome=Outcome.NOT_CME, reason="Aged 17")
    assert not HomeEducationRecord.objects.exists()
