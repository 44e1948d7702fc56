"""The case lifecycle: which moves are allowed, and what each move records."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import (
    CLOSING_OUTCOMES,
    TRANSITIONS,
    CaseState,
    Outcome,
    TransitionNotAllowed,
    check_transition,
)
from cmetrack.cases.models import Case, ChronologyKind, ReferralRoute
from cmetrack.cases.services import case_assign, case_open, case_transition
from cmetrack.people.tests.factories import ChildFactory

S = CaseState

ALLOWED = {
    (S.RECEIVED, S.SLO_INVESTIGATION), (S.RECEIVED, S.TRACKING), (S.RECEIVED, S.CLOSED),
    (S.SLO_INVESTIGATION, S.CLOSED), (S.SLO_INVESTIGATION, S.TRACKING),
    (S.TRACKING, S.LOCATED), (S.TRACKING, S.DORMANT),
    (S.LOCATED, S.CLOSED), (S.LOCATED, S.NEEDS_ASSESSMENT),
    (S.NEEDS_ASSESSMENT, S.AWAITING_PROVISION),
    (S.AWAITING_PROVISION, S.IN_PROVISION),
    (S.IN_PROVISION, S.CLOSED), (S.IN_PROVISION, S.AWAITING_PROVISION),
    (S.DORMANT, S.TRACKING), (S.DORMANT, S.LOCATED),
}  # fmt: skip


def test_transition_table_is_exactly_the_domain_lifecycle():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == ALLOWED


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_check_transition(current, target):
    outcome = next(iter(CLOSING_OUTCOMES.get(current, {Outcome.NOT_CME})))
    if (current, target) in ALLOWED:
        check_transition(current, target, outcome if target == S.CLOSED else None)
    else:
        refusal = "cannot move to|is closed: nothing more|not closed while the child is not found"
        with pytest.raises(TransitionNotAllowed, match=refusal):
            check_transition(current, target, outcome)


@pytest.mark.parametrize("current", [s for s in S if S.CLOSED in TRANSITIONS[s]])
def test_closing_needs_an_outcome(current):
    with pytest.raises(TransitionNotAllowed, match="Choose an outcome"):
        check_transition(current, S.CLOSED, None)


@pytest.mark.parametrize("current", [S.TRACKING, S.DORMANT])
@pytest.mark.parametrize("outcome", list(Outcome))
def test_a_tracked_or_dormant_case_never_closes_until_located(current, outcome):
    """Issue 17: every way to close from tracking goes through located, with its evidence."""
    with pytest.raises(TransitionNotAllowed, match="record where the child is first"):
        check_transition(current, S.CLOSED, outcome)


def test_only_not_cme_closes_straight_from_received_and_slo_investigation():
    assert CLOSING_OUTCOMES[S.RECEIVED] == {Outcome.NOT_CME}
    # After the SLO's investigation, an attendance matter (the child stays on roll).
    assert CLOSING_OUTCOMES[S.SLO_INVESTIGATION] == {Outcome.NOT_CME, Outcome.ATTENDANCE_MATTER}
    assert set(CLOSING_OUTCOMES) == {S.RECEIVED, S.SLO_INVESTIGATION, S.LOCATED, S.IN_PROVISION}


def test_a_closed_case_moves_nowhere():
    for target in S:
        with pytest.raises(TransitionNotAllowed, match="closed: nothing more is recorded"):
            check_transition(S.CLOSED, target, Outcome.NOT_CME)


def test_slo_investigation_can_close_as_attendance_matter():
    check_transition(S.SLO_INVESTIGATION, S.CLOSED, Outcome.ATTENDANCE_MATTER)
    with pytest.raises(TransitionNotAllowed):
        check_transition(S.TRACKING, S.CLOSED, Outcome.ATTENDANCE_MATTER)


@pytest.fixture
def officer(make_user):
    return make_user(Role.CME_OFFICER)


@pytest.fixture
def actor(officer):
    return Actor(user=officer, ip_address="192.0.2.1")


@pytest.fixture
def case(actor):
    return case_open(
        actor=actor, child=ChildFactory.create(), route=ReferralRoute.AGENCY,
        date_referred=dt.date(2026, 11, 2), reason="Health visitor referral",
    )  # fmt: skip


@pytest.mark.django_db
def test_open_records_state_chronology_and_audit(case, officer):
    assert case.state == S.RECEIVED
    assert list(case.state_changes.values_list("from_state", "to_state", "by")) == [
        ("", S.RECEIVED, officer.pk)
    ]
    assert case.chronology.get().kind == ChronologyKind.STATE
    event = AuditEvent.objects.get(object_type="cases.case", action=AuditAction.CREATE)
    assert event.child_id == case.child_id


@pytest.mark.django_db
def test_transition_records_who_when_why(case, actor, officer):
    case = case_transition(actor=actor, case=case, to_state=S.TRACKING, reason="Not on any roll")
    case = case_transition(actor=actor, case=case, to_state=S.LOCATED, reason="Found at aunt's")
    assert Case.objects.get(pk=case.pk).state == S.LOCATED
    changes = list(case.state_changes.values_list("from_state", "to_state", "reason"))
    assert changes[1:] == [
        (S.RECEIVED, S.TRACKING, "Not on any roll"),
        (S.TRACKING, S.LOCATED, "Found at aunt's"),
    ]
    audit = AuditEvent.objects.filter(action=AuditAction.TRANSITION).order_by("id")
    assert [e.changes["after"]["state"] for e in audit] == [S.TRACKING, S.LOCATED]
    assert all(e.actor == officer for e in audit)
    summaries = list(case.chronology.values_list("summary", flat=True))
    assert "Tracking → Located. Found at aunt's" in summaries


@pytest.mark.django_db
def test_refused_transition_changes_nothing(case, actor):
    before = (AuditEvent.objects.count(), case.state_changes.count(), case.chronology.count())
    with pytest.raises(TransitionNotAllowed):
        case_transition(actor=actor, case=case, to_state=S.IN_PROVISION, reason="skip ahead")
    case.refresh_from_db()
    assert case.state == S.RECEIVED
    after = (AuditEvent.objects.count(), case.state_changes.count(), case.chronology.count())
    assert after == before


@pytest.mark.django_db
def test_closing_sets_outcome_and_date(case, actor):
    case = case_transition(
        actor=actor, case=case, to_state=S.CLOSED, outcome=Outcome.NOT_CME,
        reason="Child is 17: not of compulsory school age",
    )  # fmt: skip
    case.refresh_from_db()
    assert (case.state, case.outcome) == (S.CLOSED, Outcome.NOT_CME)
    assert case.outcome_reason.startswith("Child is 17")
    assert case.closed_on is not None
    assert not case.is_open


@pytest.mark.django_db
def test_assign_is_audited_and_on_the_chronology(case, actor, make_user):
    other = make_user(Role.CME_OFFICER, full_name="Tom Wilder")
    case_assign(actor=actor, case=case, officer=other)
    case.refresh_from_db()
    assert case.assigned_officer == other
    assert case.chronology.filter(summary="Assigned to Tom Wilder.").exists()
    assert AuditEvent.objects.filter(
        object_type="cases.case",
        action=AuditAction.UPDATE,
        changes__after__assigned_officer=other.pk,
    ).exists()


@pytest.mark.django_db
def test_the_engine_refuses_dormant_without_an_authorised_risk_assessment(case, actor):
    """Whoever calls the generic engine, dormant needs the authorised assessment."""
    case = case_transition(actor=actor, case=case, to_state=S.TRACKING, reason="Not on a roll")
    with pytest.raises(TransitionNotAllowed, match="risk assessment authorised by a manager"):
        case_transition(actor=actor, case=case, to_state=S.DORMANT, reason="Not found")
    case.refresh_from_db()
    assert case.state == S.TRACKING
