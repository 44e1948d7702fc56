"""The actions a person can take on a case: one entry per service, for the pages and the API.

Each action names its form, the service it calls, the states it applies to and who may
take it. :func:`actions_for` lists what the case page offers; :func:`perform` runs one.
The services still check everything themselves: this table only decides what to offer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor

from . import forms, lifecycle, services
from .lifecycle import OPEN_STATES, CaseState
from .models import Case
from .permissions import may_act, may_manage
from .services import may_record_visit

S = CaseState


@dataclass(frozen=True)
class CaseAction:
    name: str
    #: The link text on the case page and the heading of the form page.
    title: str
    form_class: type[forms.CaseActionForm]
    service: Callable[..., Any]
    #: The states the action applies to (the services refuse the others).
    states: frozenset[CaseState]
    #: "act" (may_act), "manage" (officers and managers only) or "visit" (those who may
    #: act, and an SLO asked for a home visit on the case).
    permission: str = "act"
    #: The button on the form page.
    button: str = "Save"
    #: Whether the action moves the case to another state.
    is_transition: bool = True
    #: An extra condition for offering the action (the service checks it too).
    offered_if: Callable[[Case], bool] | None = None
    #: What the action still needs on this case, in the user's words, or None when it may
    #: be taken. An action that needs something is shown with that, not offered.
    needs: Callable[[Case], str | None] | None = None

    def allowed_for(self, user: User | None, case: Case) -> bool:
        if self.permission == "manage":
            return may_manage(user)
        if self.permission == "visit":
            return may_record_visit(user, case)
        return may_act(user, case)


ACTIONS: dict[str, CaseAction] = {
    a.name: a
    for a in [
        CaseAction(
            "start_slo_investigation",
            "Send to the School Liaison Officer",
            forms.StartSloInvestigationForm,
            services.case_start_slo_investigation,
            frozenset({S.RECEIVED}),
        ),
        CaseAction(
            "start_tracking",
            "Start tracking",
            forms.StartTrackingForm,
            services.case_start_tracking,
            frozenset({S.RECEIVED}),
        ),
        CaseAction(
            "record_slo_outcome",
            "Record the SLO's decision",
            forms.SloOutcomeForm,
            services.case_record_slo_outcome,
            frozenset({S.SLO_INVESTIGATION}),
        ),
        CaseAction(
            "record_home_visit",
            "Record a home visit",
            forms.HomeVisitForm,
            services.case_record_home_visit,
            frozenset(OPEN_STATES),
            permission="visit",
            is_transition=False,
        ),
        CaseAction(
            "request_slo_visit",
            "Ask the School Liaison Officer for a home visit",
            forms.RequestSloVisitForm,
            services.case_request_slo_visit,
            frozenset({S.TRACKING, S.DORMANT}),
            permission="manage",
            button="Ask for the visit",
            is_transition=False,
        ),
        CaseAction(
            "record_missing_from_care",
            "Record that the child is missing from care",
            forms.MissingFromCareForm,
            services.case_record_missing_from_care,
            frozenset(OPEN_STATES),
            is_transition=False,
            offered_if=lambda case: case.child.in_care,
        ),
        CaseAction(
            "advise_off_roll",
            "Advise the off-roll date",
            forms.AdviseOffRollForm,
            services.case_advise_off_roll,
            frozenset(OPEN_STATES),
            is_transition=False,
            offered_if=lambda case: case.last_education_school_id is not None,
        ),
        CaseAction(
            "locate",
            "Record where the child is",
            forms.LocateForm,
            services.case_locate,
            frozenset({S.TRACKING, S.DORMANT}),
        ),
        CaseAction(
            "begin_needs_assessment",
            "Begin the needs assessment",
            forms.NeedsAssessmentForm,
            services.case_begin_needs_assessment,
            frozenset({S.LOCATED}),
        ),
        CaseAction(
            "determine_provision",
            "Record the provision determined",
            forms.DetermineProvisionForm,
            services.case_determine_provision,
            frozenset({S.NEEDS_ASSESSMENT}),
        ),
        CaseAction(
            "move_into_provision",
            "Record the move into provision",
            forms.MoveIntoProvisionForm,
            services.case_move_into_provision,
            frozenset({S.AWAITING_PROVISION}),
        ),
        CaseAction(
            "placement_failed",
            "Record that the placement failed",
            forms.PlacementFailedForm,
            services.case_placement_failed,
            frozenset({S.IN_PROVISION}),
        ),
        CaseAction(
            "close",
            "Close the case",
            forms.CloseForm,
            services.case_close,
            # Tracking and dormant cases are located first (issue 17).
            frozenset({S.RECEIVED, S.SLO_INVESTIGATION, S.LOCATED, S.IN_PROVISION}),
            button="Close the case",
        ),
        CaseAction(
            "make_dormant",
            "Make the case dormant",
            forms.MakeDormantForm,
            services.case_make_dormant,
            frozenset({S.TRACKING}),
            needs=lambda case: lifecycle.dormant_precondition(case),
        ),
        CaseAction(
            "reopen_tracking",
            "Resume tracking with new information",
            forms.ReopenTrackingForm,
            services.case_reopen_tracking,
            frozenset({S.DORMANT}),
        ),
        CaseAction(
            "reopen",
            "Reopen as a new episode",
            forms.ReopenForm,
            services.case_reopen,
            frozenset({S.CLOSED}),
            permission="manage",
        ),
        CaseAction(
            "assign",
            "Assign the case",
            forms.AssignForm,
            services.case_assign,
            frozenset(OPEN_STATES),
            permission="manage",
            is_transition=False,
        ),
        CaseAction(
            "record_circumstances",
            "Record the reason and circumstances",
            forms.CircumstancesForm,
            services.case_record_circumstances,
            frozenset(OPEN_STATES),
            is_transition=False,
        ),
        CaseAction(
            "correct_route",
            "Correct the route",
            forms.CorrectRouteForm,
            services.case_correct_located_route,
            services.ROUTE_CORRECTION_STATES,
            is_transition=False,
        ),
        CaseAction(
            "correct_state_date",
            "Correct the date a move took effect",
            forms.CorrectStateDateForm,
            services.case_correct_state_date,
            frozenset(CaseState),
            permission="manage",
            is_transition=False,
            offered_if=lambda case: bool(services.state_changes_to_correct(case)),
        ),
        CaseAction(
            "correct_statutory_date",
            "Correct a statutory date",
            forms.CorrectDateForm,
            services.case_correct_statutory_date,
            frozenset(CaseState),
            permission="manage",
            is_transition=False,
        ),
    ]
}


def actions_for(user: User | None, case: Case) -> list[CaseAction]:
    """What ``user`` may do to ``case`` now, in the order the case page lists them."""
    return [
        a
        for a in ACTIONS.values()
        if case.state in a.states
        and a.allowed_for(user, case)
        and (a.offered_if is None or a.offered_if(case))
        and (a.needs is None or a.needs(case) is None)
    ]


def actions_not_yet_possible(user: User | None, case: Case) -> list[tuple[CaseAction, str]]:
    """The moves ``user`` could take in this state but not yet, each with what it needs."""
    blocked = []
    for a in ACTIONS.values():
        if a.needs is None or case.state not in a.states or not a.allowed_for(user, case):
            continue
        if a.offered_if is not None and not a.offered_if(case):
            continue
        if (missing := a.needs(case)) is not None:
            blocked.append((a, missing))
    return blocked


def not_possible_now(action: CaseAction, case: Case) -> str:
    """Why ``action`` cannot be taken on ``case`` in its state, in the user's words."""
    state = CaseState(case.state)
    if state == CaseState.CLOSED:
        return (
            "This case is closed. Nothing more can be recorded on it unless it is reopened "
            "(“Reopen as a new episode”)."
        )
    if action.name == "close" and state in (CaseState.TRACKING, CaseState.DORMANT):
        return (
            f"A case that is {state.label.lower()} closes only once the child is found. "
            "First record where the child is (“Record where the child is”), with the "
            "evidence for it; then close the case."
        )
    return f"This cannot be done while the case is {state.label.lower()}."


def perform(*, actor: Actor, case: Case, action: CaseAction, form: forms.CaseActionForm) -> Any:
    """Run ``action`` with a valid ``form``: its service, at the version the form carried.

    The services refuse what the state does not allow (a closed case takes nothing but
    reopening), after checking the version the person saw."""
    kwargs = form.service_kwargs()
    if action.name != "record_home_visit":
        kwargs["expected_version"] = form.cleaned_data["expected_version"]
    return action.service(actor=actor, case=case, **kwargs)
