# ruff: noqa: E501  (the tables of cases read best one row per line)
"""The named moves of the lifecycle through the services: every legal and illegal one, each
precondition's refusal, statutory dates, corrections, versions and the chronology."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor, audited_update
from cmetrack.cases import services
from cmetrack.cases.actions import ACTIONS
from cmetrack.cases.lifecycle import (
    DORMANT_NEEDS_RISK_ASSESSMENT,
    CaseState,
    LocatedRoute,
    Outcome,
    PreconditionFailed,
    TransitionNotAllowed,
    dormant_precondition,
)
from cmetrack.cases.models import Case, ChronologyKind, FormOfProvision, HomeVisit
from cmetrack.cases.presenters import DO_NOT_REMOVE, school_status
from cmetrack.cases.selectors import chronology_for_child
from cmetrack.cases.services import CaseVersionConflict
from cmetrack.cases.tests.factories import case_in_state

S = CaseState
TRANSITION_ACTIONS = [a for a in ACTIONS.values() if a.is_transition]

CLOSE_OUTCOME = {
    S.RECEIVED: Outcome.NOT_CME,
    S.SLO_INVESTIGATION: Outcome.ATTENDANCE_MATTER,
    S.IN_PROVISION: Outcome.ATTENDING_PROVISION,
    S.LOCATED: Outcome.ON_ROLL,  # located on a roll (the test locates it so)
}


def valid_kwargs(action: str, state: CaseState, school: Any) -> dict[str, Any]:
    """Fields that satisfy the action's own preconditions."""
    today = timezone.localdate()
    table: dict[str, dict[str, Any]] = {
        "start_slo_investigation": {},
        "start_tracking": {"reason": "Not on any roll"},
        "record_slo_outcome": {"outcome": "cme", "reason": "Not at the address"},
        "locate": {
            "where": "Staying with an aunt",
            "route": LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
            "located_on": today,
        },
        "begin_needs_assessment": {"date_of_assessment": today},
        "determine_provision": {
            "provision_recommended": FormOfProvision.MAINSTREAM,
            "date_provision_determined": today,
        },
        "move_into_provision": {
            "provider": school,
            "date_moved_into_provision": today,
            "provision_accessed": FormOfProvision.MAINSTREAM,
        },
        "placement_failed": {"reason": "Excluded in the first week"},
        "close": {
            "outcome": CLOSE_OUTCOME.get(state, Outcome.HOME_EDUCATED),
            "reason": "Confirmed",
            **({"school": school} if state == S.LOCATED else {}),
        },
        "make_dormant": {"reason": "Every avenue tried"},
        "reopen_tracking": {"new_information": "Seen at the GP surgery"},
        "reopen": {"reason": "Missing again"},
    }
    return table[action]


EXPECTED_STATE = {
    "start_slo_investigation": S.SLO_INVESTIGATION,
    "start_tracking": S.TRACKING,
    "record_slo_outcome": S.TRACKING,
    "locate": S.LOCATED,
    "begin_needs_assessment": S.NEEDS_ASSESSMENT,
    "determine_provision": S.AWAITING_PROVISION,
    "move_into_provision": S.IN_PROVISION,
    "placement_failed": S.AWAITING_PROVISION,
    "close": S.CLOSED,
    "reopen_tracking": S.TRACKING,
    "reopen": S.RECEIVED,  # the new episode
}


def _counts(case: Case) -> tuple[int, int, int]:
    return (
        AuditEvent.objects.exclude(action=AuditAction.VIEW).count(),
        case.state_changes.count(),
        case.chronology.count(),
    )


def test_every_transition_action_is_covered():
    assert {a.name for a in TRANSITION_ACTIONS} == set(EXPECTED_STATE) | {"make_dormant"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "state"),
    [(a.name, s) for a, s in itertools.product(TRANSITION_ACTIONS, S)],
    ids=lambda v: str(v),
)
def test_each_named_move_from_each_state(action, state, school, actor, settings):
    """Legal moves land in the right state with their records; all others are refused
    with a message naming the rule, and nothing is written."""
    # Closing in provision on the day of the move (the monitoring period is the provision
    # app's rule, tested there).
    settings.CMETRACK_PROVISION_MONITOR_SCHOOL_DAYS = 0
    spec = ACTIONS[action]
    located_on_roll = (action, state) == ("close", S.LOCATED)
    case = case_in_state(
        state,
        school=school,
        route=LocatedRoute.ON_ROLL
        if located_on_roll
        else LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
    )
    before = _counts(case)
    state_entries = case.chronology.filter(kind=ChronologyKind.STATE).count()
    legal = state in spec.states and action != "make_dormant"
    kwargs = valid_kwargs(action, state, school)
    if legal:
        result = spec.service(actor=actor, case=case, expected_version=case.version, **kwargs)
        if action == "reopen":
            assert result.pk != case.pk
            assert result.previous_case_id == case.pk
            case.refresh_from_db()
            assert case.state == S.CLOSED
        else:
            assert result.state == EXPECTED_STATE[action]
            assert result.version == case.version + 1
            change = result.state_changes.last()
            assert (change.from_state, change.to_state) == (state, result.state)
            assert change.by == actor.user
            assert result.chronology.filter(kind=ChronologyKind.STATE).count() == state_entries + 1
            assert AuditEvent.objects.filter(
                action=AuditAction.TRANSITION, object_id=str(case.pk), actor=actor.user
            ).exists()
        return
    with pytest.raises(TransitionNotAllowed) as refused:
        spec.service(actor=actor, case=case, **kwargs)
    message = refused.value.message
    if action == "make_dormant" and state == S.TRACKING:
        assert message == DORMANT_NEEDS_RISK_ASSESSMENT
    else:
        assert state.label.lower() in message, message
        assert any(
            rule in message
            for rule in (
                "cannot move to",
                "applies only to",
                "cannot close",
                "Only a closed",
                "is closed: nothing more",
                "not closed while the child is not found",
            )
        ), message
    case.refresh_from_db()
    assert case.state == state
    assert _counts(case) == before


# --- each precondition's refusal --------------------------------------------------------


def _other_school() -> Any:
    return SchoolFactory.create(name="Riverside Academy")


PRECONDITIONS: list[tuple[str, CaseState, dict[str, Any], str, str]] = [
    # (action, state, kwargs (school filled by the test when "SCHOOL"), message, field). A date
    # is given as its offset from today (a dt.timedelta), added when the test runs: a date worked
    # out when pytest collects the module is yesterday in a run that crosses midnight.
    ("locate", S.TRACKING, {"where": " ", "route": "living_here"}, "Enter where the child is", "where"),
    ("locate", S.TRACKING, {"where": "Aunt's", "route": ""}, "Choose the route", "route"),
    ("locate", S.TRACKING, {"where": "Aunt's", "route": "on_roll"}, "needs the school", "school"),
    ("locate", S.TRACKING, {"where": "Aunt's", "route": "moved_la"}, "needs that authority", "local_authority"),
    ("locate", S.TRACKING, {"where": "Aunt's", "route": "living_here", "located_on": dt.timedelta(days=1)}, "cannot be in the future", "located_on"),
    ("locate", S.TRACKING, {"where": "Aunt's", "route": "living_here", "located_on": dt.timedelta(days=-61)}, "cannot be before the date referred in", "located_on"),
    ("begin_needs_assessment", S.LOCATED, {"date_of_assessment": None}, "Enter the date of assessment", "date_of_assessment"),
    ("begin_needs_assessment", S.LOCATED, {"date_of_assessment": dt.timedelta(days=2)}, "cannot be in the future", "date_of_assessment"),
    ("begin_needs_assessment", S.LOCATED, {"date_of_assessment": dt.timedelta(days=-50)}, "cannot be before the date the child was located", "date_of_assessment"),
    ("determine_provision", S.NEEDS_ASSESSMENT, {"provision_recommended": "", "date_provision_determined": dt.timedelta(0)}, "Choose the form of provision recommended", "provision_recommended"),
    ("determine_provision", S.NEEDS_ASSESSMENT, {"provision_recommended": "mainstream", "date_provision_determined": dt.timedelta(days=-35)}, "cannot be before the date of assessment", "date_provision_determined"),
    ("move_into_provision", S.AWAITING_PROVISION, {"provider": None, "date_moved_into_provision": dt.timedelta(0), "provision_accessed": "mainstream"}, "Choose the provider", "provider"),
    ("move_into_provision", S.AWAITING_PROVISION, {"provider": "SCHOOL", "date_moved_into_provision": dt.timedelta(0), "provision_accessed": ""}, "Choose the form of provision accessed", "provision_accessed"),
    ("move_into_provision", S.AWAITING_PROVISION, {"provider": "SCHOOL", "date_moved_into_provision": None, "provision_accessed": "mainstream"}, "Enter the date moved into provision", "date_moved_into_provision"),
    ("move_into_provision", S.AWAITING_PROVISION, {"provider": "SCHOOL", "date_moved_into_provision": dt.timedelta(days=-25), "provision_accessed": "mainstream"}, "cannot be before the date form of provision determined", "date_moved_into_provision"),
    ("placement_failed", S.IN_PROVISION, {"reason": ""}, "Say why the placement failed", "reason"),
    ("record_slo_outcome", S.SLO_INVESTIGATION, {"outcome": "cme", "reason": ""}, "Give the reason for the SLO's decision", "reason"),
    ("close", S.RECEIVED, {"outcome": None, "reason": "x"}, "Choose an outcome", "outcome"),
    ("close", S.LOCATED, {"outcome": "home_educated", "reason": ""}, "Give the reason for closing", "reason"),
    ("close", S.LOCATED, {"outcome": "on_roll", "reason": "Found"}, "record which school", "school"),
    ("close", S.LOCATED, {"outcome": "moved_la", "reason": "Moved"}, "record the authority and its acknowledgement", "local_authority"),
    ("close", S.LOCATED, {"outcome": "moved_la", "reason": "Moved", "local_authority": "LA", "acknowledged_on": dt.timedelta(0)}, "acknowledgement: who acknowledged it and the date", "acknowledged_by"),
    ("close", S.LOCATED, {"outcome": "moved_la", "reason": "Moved", "local_authority": "LA", "acknowledged_by": "J Smith"}, "acknowledgement: who acknowledged it and the date", "acknowledged_on"),
    ("close", S.LOCATED, {"outcome": "left_country", "reason": "Gone", "confirmed_on": dt.timedelta(0)}, "record the confirmation: who confirmed it and the date", "confirmation_source"),
    ("close", S.LOCATED, {"outcome": "left_country", "reason": "Gone", "confirmation_source": "Border Force", "confirmed_on": dt.timedelta(days=1)}, "confirmation cannot be in the future", "confirmed_on"),
    ("close", S.LOCATED, {"outcome": "attendance_matter", "reason": "x"}, "cannot close as", ""),
    # Issue 17: a tracked or dormant child is located first; a located case closes with its
    # own route; home educated only with its evidence.
    ("close", S.TRACKING, {"outcome": "home_educated", "reason": "Parent says so"}, "record where the child is first", "outcome"),
    ("close", S.TRACKING, {"outcome": "on_roll", "reason": "Found", "school": "SCHOOL"}, "record where the child is first", "outcome"),
    ("close", S.DORMANT, {"outcome": "not_cme", "reason": "x"}, "not closed while the child is not found", "outcome"),
    ("close", S.LOCATED, {"outcome": "on_roll", "reason": "Found", "school": "SCHOOL", "_route": "living_here"}, "located living in the area and not in education", "outcome"),
    ("close", S.LOCATED, {"outcome": "home_educated", "reason": "EHE", "_route": "on_roll"}, "located as on a school roll: the case closes as", "outcome"),
    ("close", S.LOCATED, {"outcome": "home_educated", "reason": "EHE"}, "only with evidence", "home_education_evidence"),
    ("close", S.LOCATED, {"outcome": "home_educated", "reason": "EHE", "home_education_evidence": "parent_notice"}, "Enter the date of the evidence", "home_education_evidence_on"),
    ("locate", S.TRACKING, {"where": "At home", "route": "home_educated"}, "only with evidence", "home_education_evidence"),
    ("locate", S.TRACKING, {"where": "At home", "route": "home_educated", "home_education_evidence": "visit", "home_education_evidence_on": dt.timedelta(0)}, "Record the visit first", "home_education_evidence"),
    ("locate", S.TRACKING, {"where": "At home", "route": "home_educated", "home_education_evidence": "parent_notice", "home_education_evidence_on": dt.timedelta(days=1)}, "cannot be in the future", "home_education_evidence_on"),
    ("make_dormant", S.TRACKING, {}, DORMANT_NEEDS_RISK_ASSESSMENT, ""),
    ("reopen_tracking", S.DORMANT, {"new_information": ""}, "only with new information", "new_information"),
    ("reopen", S.CLOSED, {"reason": ""}, "Give the reason for reopening", "reason"),
]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("action", "state", "kwargs", "message", "field"),
    PRECONDITIONS,
    ids=[f"{a}-{m[:30]}" for a, _, _, m, _ in PRECONDITIONS],
)
def test_precondition_refusals(
    action, state, kwargs, message, field, school, other_la, actor, today
):
    case = case_in_state(state, school=school)
    kwargs = {k: today + v if isinstance(v, dt.timedelta) else v for k, v in kwargs.items()}
    kwargs = {
        k: school if v == "SCHOOL" else other_la if v == "LA" else v for k, v in kwargs.items()
    }
    route = kwargs.pop("_route", kwargs.get("outcome"))
    if action == "close" and state == S.LOCATED and route in LocatedRoute.values:
        # Located on the route under test, with nothing else recorded (a system write).
        case = audited_update(
            actor=Actor.system("test"),
            instance=case,
            child_id=case.child_id,
            changes={"located_route": route, "destination_school": None},
        )
    before = (_counts(case), case.version)
    with pytest.raises(TransitionNotAllowed) as refused:
        ACTIONS[action].service(actor=actor, case=case, **kwargs)
    assert message in refused.value.message
    assert refused.value.field == field
    case.refresh_from_db()
    assert (case.state, case.version) == (state, before[1])
    assert _counts(case) == before[0]


@pytest.mark.django_db
def test_slo_investigation_needs_the_school(actor):
    case = case_in_state(S.RECEIVED, school=None)
    with pytest.raises(PreconditionFailed, match="for a child on a school roll") as refused:
        services.case_start_slo_investigation(actor=actor, case=case)
    assert refused.value.field == "school"
    school = _other_school()
    case = services.case_start_slo_investigation(actor=actor, case=case, school=school)
    assert (case.state, case.last_education_school) == (S.SLO_INVESTIGATION, school)


@pytest.mark.django_db
def test_needs_assessment_only_for_a_child_living_here_not_in_education(school, actor, today):
    case = case_in_state(S.LOCATED, school=school, route=LocatedRoute.ON_ROLL)
    with pytest.raises(PreconditionFailed, match="located as on a school roll: close the case"):
        services.case_begin_needs_assessment(actor=actor, case=case, date_of_assessment=today)


def test_dormant_precondition_is_the_risk_assessment_rule():
    assert dormant_precondition(Case()) == DORMANT_NEEDS_RISK_ASSESSMENT


# --- SLO investigation ------------------------------------------------------------------


@pytest.mark.django_db
def test_attendance_matter_closes_and_tells_the_school(school, make_user):
    slo = make_user(Role.SLO, full_name="Sam Liaison")
    slo.linked_schools.add(school)
    case = case_in_state(S.SLO_INVESTIGATION, school=school)
    assert school_status(case) == (
        "Being investigated by the School Liaison Officer",
        DO_NOT_REMOVE,
    )
    case = services.case_record_slo_outcome(
        actor=Actor(user=slo), case=case, outcome="attendance_matter", reason="Ill, GP letter"
    )
    assert (case.state, case.outcome) == (S.CLOSED, Outcome.ATTENDANCE_MATTER)
    assert case.chronology.filter(
        kind=ChronologyKind.ADVICE, summary=services.ATTENDANCE_MATTER_SCHOOL_TOLD
    ).exists()
    assert school_status(case) == (
        "Attendance matter: the child stays on your roll",
        "Keep the child on roll",
    )


@pytest.mark.django_db
def test_advised_off_roll_date_is_shown_to_the_school(school, actor, today):
    case = case_in_state(S.SLO_INVESTIGATION, school=school)
    advised = today + dt.timedelta(days=5)
    case = services.case_advise_off_roll(
        actor=actor, case=case, advised_date=advised, expected_version=case.version
    )
    assert case.advised_off_roll_date == advised
    assert school_status(case)[1].startswith("You may remove the child from roll from ")
    entry = case.chronology.get(kind=ChronologyKind.ADVICE)
    assert "may take the child off roll" in entry.summary
    event = AuditEvent.objects.filter(object_id=str(case.pk)).first()
    assert event is not None
    assert event.changes["after"]["advised_off_roll_date"] == advised.isoformat()


@pytest.mark.django_db
def test_off_roll_date_needs_a_school(actor, today):
    case = case_in_state(S.TRACKING, school=None)
    with pytest.raises(PreconditionFailed, match="Only a child on a school roll"):
        services.case_advise_off_roll(actor=actor, case=case, advised_date=today)


@pytest.mark.django_db
def test_home_visits_are_rows_on_the_chronology_and_audited(school, actor, today):
    case = case_in_state(S.SLO_INVESTIGATION, school=school)
    visit = services.case_record_home_visit(
        actor=actor,
        case=case,
        visited_on=today,
        visited_by="Sam Liaison and PCSO Jones",
        outcome="no_answer",
        notes="Curtains drawn; card left.",
    )
    assert HomeVisit.objects.get() == visit
    assert case.chronology.get(kind=ChronologyKind.VISIT).summary.startswith(
        f"Home visit on {today.day} "
    )
    assert AuditEvent.objects.filter(object_type="cases.homevisit", child_id=case.child_id).exists()
    with pytest.raises(PreconditionFailed, match="cannot be in the future"):
        services.case_record_home_visit(
            actor=actor,
            case=case,
            visited_on=today + dt.timedelta(days=1),
            visited_by="x",
            outcome="no_answer",
        )


# --- located routes and statutory dates ------------------------------------------------


@pytest.mark.django_db
def test_statutory_dates_are_set_by_the_moves_that_imply_them(school, today):
    case = case_in_state(S.IN_PROVISION, school=school)
    assert case.date_referred == today - dt.timedelta(days=60)
    assert case.date_of_assessment == today - dt.timedelta(days=30)
    assert case.date_provision_determined == today - dt.timedelta(days=20)
    assert case.date_moved_into_provision == today - dt.timedelta(days=10)
    assert case.provision_recommended == case.provision_accessed == FormOfProvision.MAINSTREAM
    assert case.provider == school
    assert case.located_route == LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION


@pytest.mark.django_db
def test_placement_failed_clears_the_placement_and_keeps_its_episode(school, actor, today):
    case = case_in_state(S.IN_PROVISION, school=school)
    moved = case.date_moved_into_provision
    case = services.case_placement_failed(actor=actor, case=case, reason="Refused to attend")
    assert (case.state, case.provider) == (S.AWAITING_PROVISION, None)
    # The date moved into provision stays (pace keeps the case), and the placement is kept
    # as an episode that ended today.
    assert case.date_moved_into_provision == moved
    episode = case.provision_episodes.get()
    assert (episode.started_on, episode.ended_on, episode.provider) == (moved, today, school)
    assert case.date_provision_determined is not None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("outcome", "kwargs", "field", "expected"),
    # A date is given as its offset from today, added when the test runs.
    [
        ("on_roll", {"school": "SCHOOL"}, "destination_school", "SCHOOL"),
        (
            "moved_la",
            {
                "local_authority": "LA",
                "acknowledged_by": "J Smith",
                "acknowledged_on": dt.timedelta(0),
            },
            "la_acknowledged_by",
            "J Smith",
        ),
        (
            "left_country",
            {"confirmation_source": "Family's solicitor", "confirmed_on": dt.timedelta(0)},
            "left_country_source",
            "Family's solicitor",
        ),
        (
            "home_educated",
            {
                "home_education_evidence": "parent_notice",
                "home_education_evidence_on": dt.timedelta(0),
            },
            "home_education_evidence",
            "parent_notice",
        ),
    ],
)
def test_located_outcomes_close_with_their_record(
    outcome, kwargs, field, expected, school, other_la, actor, today
):
    subs = {"SCHOOL": school, "LA": other_la}
    kwargs = {k: today + v if isinstance(v, dt.timedelta) else v for k, v in kwargs.items()}
    kwargs = {k: subs.get(v, v) if isinstance(v, str) else v for k, v in kwargs.items()}
    case = case_in_state(S.TRACKING, school=school)
    case = services.case_locate(
        actor=actor, case=case, where="Found", route=LocatedRoute(outcome), **{
            k: v for k, v in kwargs.items() if k in (
                "school", "local_authority", "home_education_evidence", "home_education_evidence_on"
            )
        }
    )  # fmt: skip
    _record_departure_evidence(case, outcome, other_la, actor)
    case = services.case_close(
        actor=actor, case=case, outcome=outcome, reason="Confirmed", evidence="Letter", **kwargs
    )
    assert case.state == S.CLOSED
    assert getattr(case, field) == subs.get(expected, expected)
    assert case.closure_evidence == "Letter"
    last = case.chronology.last()
    assert last is not None
    assert last.summary.startswith(f"Closed: {Outcome(outcome).label}.")


def _record_departure_evidence(case: Any, outcome: str, la: Any, actor: Actor) -> None:
    """What the enquiries app requires first: the acknowledged notice to the other
    authority's named contact, or the answered Home Office check."""
    today = timezone.localdate()
    from cmetrack.enquiries import services as enquiries

    if outcome == "moved_la":
        la.cme_contact_name, la.cme_contact_email = "J Smith", "cme@other.gov.uk"
        la.save()
        notice = enquiries.move_notification_send(actor=actor, case=case, local_authority=la)
        enquiries.move_notification_acknowledge(
            actor=actor, notification=notice, acknowledged_by="J Smith", acknowledged_on=today
        )
    elif outcome == "left_country":
        enquiries.home_office_check_record(
            actor=actor,
            case=case,
            requested_on=today,
            result="departure_confirmed",
            result_on=today,
        )


@pytest.mark.django_db
def test_close_on_roll_uses_the_school_found_when_locating(school, actor):
    case = case_in_state(S.LOCATED, school=school, route=LocatedRoute.ON_ROLL)
    case = services.case_close(actor=actor, case=case, outcome="on_roll", reason="On roll")
    assert case.destination_school == school


@pytest.mark.django_db
def test_correcting_a_statutory_date_is_audited_with_the_reason(school, manager, today):
    case = case_in_state(S.IN_PROVISION, school=school)
    new = today - dt.timedelta(days=28)
    case = services.case_correct_statutory_date(
        actor=Actor(user=manager),
        case=case,
        field="date_of_assessment",
        value=new,
        reason="Assessment meeting was on the 28th; typed wrongly",
        expected_version=case.version,
    )
    case.refresh_from_db()
    assert case.date_of_assessment == new
    event = AuditEvent.objects.filter(object_id=str(case.pk), actor=manager).get()
    assert event.changes["reason"] == "Assessment meeting was on the 28th; typed wrongly"
    assert event.changes["after"]["date_of_assessment"] == new.isoformat()
    assert (
        event.changes["before"]["date_of_assessment"] == (today - dt.timedelta(days=30)).isoformat()
    )
    assert case.chronology.get(kind=ChronologyKind.CORRECTION).summary.endswith(
        "Reason: Assessment meeting was on the 28th; typed wrongly"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "reason", "message"),
    # A date is given as its offset from today, added when the test runs.
    [
        ("date_of_assessment", dt.timedelta(days=1), "r", "cannot be in the future"),
        ("date_of_assessment", dt.timedelta(days=-61), "r", "cannot be before the date referred"),
        ("date_referred", dt.timedelta(days=-29), "r", "cannot be after the date of assessment"),
        ("date_referred", dt.timedelta(days=1), "r", "cannot be in the future"),
        ("date_of_assessment", dt.timedelta(0), "", "Give the reason for the correction"),
        ("outcome", dt.timedelta(0), "r", "Choose which statutory date"),
        ("date_of_assessment", None, "r", "Enter the corrected date of assessment"),
        ("date_of_assessment", dt.timedelta(days=-30), "r", "is already"),
    ],
)  # fmt: skip
def test_corrections_refused(field, value, reason, message, school, manager, today):
    if isinstance(value, dt.timedelta):
        value = today + value
    case = case_in_state(S.IN_PROVISION, school=school)
    before = _counts(case)
    with pytest.raises(PreconditionFailed, match=message):
        services.case_correct_statutory_date(
            actor=Actor(user=manager), case=case, field=field, value=value, reason=reason
        )
    assert _counts(case) == before


# --- reopening, assignment -------------------------------------------------------------


@pytest.mark.django_db
def test_reopen_makes_a_linked_new_episode_once(school, actor):
    closed = case_in_state(S.CLOSED, school=school)
    new = services.case_reopen(actor=actor, case=closed, reason="Missing again")
    assert (new.child_id, new.previous_case_id, new.state) == (
        closed.child_id,
        closed.pk,
        S.RECEIVED,
    )
    assert new.last_education_school == school
    assert closed.chronology.filter(summary__contains=new.reference).exists()
    with pytest.raises(PreconditionFailed, match=f"already has an open case, {new.reference}"):
        services.case_reopen(actor=actor, case=closed, reason="Again")


@pytest.mark.django_db
def test_assign_needs_an_assignable_person(school, actor, make_user):
    case = case_in_state(S.TRACKING, school=school)
    teacher = make_user(Role.SCHOOL_USER, full_name="Terry Teacher")
    with pytest.raises(PreconditionFailed, match="Terry Teacher cannot be given cases"):
        services.case_assign(actor=actor, case=case, officer=teacher)
    officer = make_user(Role.CME_OFFICER)
    case = services.case_assign(
        actor=actor, case=case, officer=officer, expected_version=case.version
    )
    assert case.assigned_officer == officer


# --- versions -------------------------------------------------------------------------


@pytest.mark.django_db
def test_every_change_adds_one_to_the_version(school, actor, make_user, today):
    case = case_in_state(S.RECEIVED, school=school)
    versions = [case.version]
    case = services.case_start_tracking(actor=actor, case=case)
    versions.append(case.version)
    case = services.case_assign(actor=actor, case=case, officer=make_user(Role.CME_OFFICER))
    versions.append(case.version)
    case = services.case_advise_off_roll(actor=actor, case=case, advised_date=today)
    versions.append(case.version)
    assert versions == list(range(versions[0], versions[0] + 4))


@pytest.mark.django_db
def test_the_second_of_two_officers_acting_on_one_version_loses(school, make_user):
    first = Actor(user=make_user(Role.CME_OFFICER, full_name="Fay First"))
    second = Actor(user=make_user(Role.CME_OFFICER, full_name="Sid Second"))
    case = case_in_state(S.TRACKING, school=school)
    seen = case.version
    services.case_locate(
        actor=first, case=case, where="Aunt's", route="living_here", expected_version=seen
    )
    before = _counts(case)
    with pytest.raises(CaseVersionConflict) as conflict:
        services.case_close(
            actor=second,
            case=case,
            outcome="home_educated",
            reason="EHE",
            expected_version=seen,
        )
    message = conflict.value.message
    assert message.startswith("This case was changed by Fay First at ")
    assert message.endswith(
        "while you were working on it. Nothing you entered has been lost: "
        "check the case and try again."
    )
    assert conflict.value.current_version == seen + 1
    case.refresh_from_db()
    assert case.state == S.LOCATED
    assert _counts(case) == before


# --- chronology -----------------------------------------------------------------------


@pytest.mark.django_db
def test_chronology_for_child_spans_episodes_in_time_order_within_scope(school, make_user):
    closed = case_in_state(S.CLOSED, school=school)
    officer = make_user(Role.CME_OFFICER)
    new = services.case_reopen(actor=Actor(user=officer), case=closed, reason="Again")
    events = list(chronology_for_child(officer, closed.child))
    assert {e.case_id for e in events} == {closed.pk, new.pk}
    assert [(e.at, e.pk) for e in events] == sorted((e.at, e.pk) for e in events)
    outsider = make_user(Role.SLO)
    assert list(chronology_for_child(outsider, closed.child)) == []
