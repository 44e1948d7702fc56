"""Issue 17: the close checks live in the one path. ``case_transition`` (the engine) runs
them on every move to closed, so neither a caller of the engine nor ``case_close`` closes a
located case without where the child is and the route's evidence."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.cases import services
from cmetrack.cases.lifecycle import (
    CaseState,
    HomeEducationEvidence,
    LocatedRoute,
    Outcome,
    PreconditionFailed,
)
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.registers.models import HomeEducationRecord

pytestmark = pytest.mark.django_db
S = CaseState


def _located_through_the_engine(**located: Any) -> Case:
    """A tracked case moved to located by the bare engine, with only ``located``."""
    case = case_in_state(S.TRACKING)
    return services.case_transition(
        actor=Actor.system("test"),
        case=case,
        to_state=S.LOCATED,
        reason="Found.",
        changes=located,
    )


def _engine_close(case: Case, outcome: Outcome, **kwargs: Any) -> Case:
    return services.case_transition(
        actor=Actor.system("test"),
        case=case,
        to_state=S.CLOSED,
        outcome=outcome,
        reason="Closing.",
        **kwargs,
    )


@pytest.mark.parametrize("outcome", [Outcome.ON_ROLL, Outcome.HOME_EDUCATED, Outcome.MOVED_LA,
                                     Outcome.LEFT_COUNTRY])  # fmt: skip
def test_the_engine_refuses_to_close_a_case_located_with_nothing_recorded(outcome):
    case = _located_through_the_engine()
    with pytest.raises(PreconditionFailed, match="Record where the child is"):
        _engine_close(case, outcome)
    case.refresh_from_db()
    assert case.state == S.LOCATED
    assert case.outcome == ""


def test_the_engine_refuses_home_educated_without_the_evidence(today):
    case = _located_through_the_engine(
        located_where="At home", located_route=LocatedRoute.HOME_EDUCATED, located_on=today
    )
    with pytest.raises(PreconditionFailed, match="only with evidence") as refused:
        _engine_close(case, Outcome.HOME_EDUCATED)
    assert refused.value.field == "home_education_evidence"
    assert not HomeEducationRecord.objects.filter(child=case.child).exists()
    case.refresh_from_db()
    assert case.state == S.LOCATED


def test_the_engine_refuses_on_roll_without_the_school(today):
    case = _located_through_the_engine(
        located_where="Oakfield", located_route=LocatedRoute.ON_ROLL, located_on=today
    )
    with pytest.raises(PreconditionFailed, match="record which school"):
        _engine_close(case, Outcome.ON_ROLL)


def test_the_engine_refuses_moved_and_left_without_acknowledgement_or_confirmation(other_la, today):
    moved = _located_through_the_engine(
        located_where="Elsewhere", located_route=LocatedRoute.MOVED_LA, destination_la=other_la,
        located_on=today,
    )  # fmt: skip
    with pytest.raises(PreconditionFailed, match="acknowledgement"):
        _engine_close(moved, Outcome.MOVED_LA)
    gone = _located_through_the_engine(
        located_where="Abroad", located_route=LocatedRoute.LEFT_COUNTRY, located_on=today
    )
    with pytest.raises(PreconditionFailed, match="record the confirmation"):
        _engine_close(gone, Outcome.LEFT_COUNTRY)


def test_the_engine_refuses_an_outcome_other_than_the_route():
    case = case_in_state(S.LOCATED, route=LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION)
    with pytest.raises(PreconditionFailed, match="needs assessment"):
        _engine_close(case, Outcome.ON_ROLL)


def test_case_close_refuses_each_outcome_without_its_evidence(school, today):
    for route, outcome, match in (
        (LocatedRoute.ON_ROLL, Outcome.ON_ROLL, "record which school"),
        (LocatedRoute.MOVED_LA, Outcome.MOVED_LA, "acknowledgement"),
        (LocatedRoute.LEFT_COUNTRY, Outcome.LEFT_COUNTRY, "record the confirmation"),
    ):
        case = _located_through_the_engine(
            located_where="Somewhere", located_route=route, located_on=today
        )
        with pytest.raises(PreconditionFailed, match=match):
            services.case_close(
                actor=Actor.system("test"), case=case, outcome=outcome, reason="Closing."
            )
        case.refresh_from_db()
        assert case.state == S.LOCATED


def test_a_close_with_its_evidence_through_the_engine_lists_the_child(make_user, today):
    """What closing records elsewhere runs from the engine too: home educated → the list."""
    case = _located_through_the_engine(
        located_where="At home",
        located_route=LocatedRoute.HOME_EDUCATED,
        located_on=today,
        home_education_evidence=HomeEducationEvidence.PARENT_NOTICE,
        home_education_evidence_on=today - dt.timedelta(days=1),
    )
    closed = _engine_close(case, Outcome.HOME_EDUCATED)
    assert closed.state == S.CLOSED
    assert HomeEducationRecord.objects.filter(child=case.child).exists()
    assert "parent's written notice" in closed.chronology.last().summary  # type: ignore[union-attr]
    assert make_user(Role.CME_OFFICER)  # (a signed-in close is tested in test_closing...)
