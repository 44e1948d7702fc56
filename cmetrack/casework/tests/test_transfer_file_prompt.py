"""Issue 17: a child found on another school's roll prompts a task to send the Common
Transfer File (national guidance 3.8.2.2), through the case engine's after-move hook."""

from __future__ import annotations

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases import services
from cmetrack.cases.lifecycle import CaseState, LocatedRoute
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.casework.models import Task

pytestmark = pytest.mark.django_db
S = CaseState


@pytest.fixture
def school():
    return SchoolFactory.create(name="Oakfield Primary School")


# --- 2. the prompt to send the transfer file (national 3.8.2.2) ----------------------------


def test_found_on_another_schools_roll_prompts_the_transfer_file(make_user, school, today):
    officer = make_user(Role.CME_OFFICER)
    new_school = SchoolFactory.create(name="Hillside Primary")
    case = case_in_state(S.TRACKING, school=school, assigned_officer=officer)
    services.case_locate(
        actor=Actor(user=officer), case=case, where="Hillside Primary's roll",
        route=LocatedRoute.ON_ROLL, school=new_school, located_on=today,
    )  # fmt: skip
    task = Task.objects.get(case=case)
    assert task.title == "Send the Common Transfer File to Hillside Primary"
    assert task.owner == officer
    assert task.due >= today


def test_no_prompt_when_found_on_the_same_schools_roll_or_elsewhere(make_user, school, today):
    officer = make_user(Role.CME_OFFICER)
    same = case_in_state(S.TRACKING, school=school, assigned_officer=officer)
    services.case_locate(
        actor=Actor(user=officer), case=same, where="Back at school",
        route=LocatedRoute.ON_ROLL, school=school, located_on=today,
    )  # fmt: skip
    other = case_in_state(S.TRACKING, school=school, assigned_officer=officer)
    services.case_locate(
        actor=Actor(user=officer), case=other, where="Aunt's", route="living_here",
        located_on=today,
    )  # fmt: skip
    assert not Task.objects.filter(case__in=[same, other]).exists()
