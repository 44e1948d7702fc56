"""The case lifecycle (../shared/domain/README.md): states and the moves between them.

Pure data and functions; :mod:`cmetrack.cases.services` applies them to stored cases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from .models import Case


class CaseState(models.TextChoices):
    RECEIVED = "received", "Received"
    SLO_INVESTIGATION = "slo_investigation", "SLO investigation"
    TRACKING = "tracking", "Tracking"
    LOCATED = "located", "Located"
    NEEDS_ASSESSMENT = "needs_assessment", "Needs assessment"
    AWAITING_PROVISION = "awaiting_provision", "Awaiting provision"
    IN_PROVISION = "in_provision", "In provision"
    DORMANT = "dormant", "Dormant"
    CLOSED = "closed", "Closed"


class Outcome(models.TextChoices):
    """Why a case closed. Never "not found": a child not found goes dormant."""

    NOT_CME = "not_cme", "Not children missing education (with reason)"
    ATTENDANCE_MATTER = "attendance_matter", "Attendance matter; stays on roll"
    ON_ROLL = "on_roll", "Found on a school roll"
    HOME_EDUCATED = "home_educated", "Home educated (elective home education)"
    MOVED_LA = "moved_la", "Moved to another authority, acknowledged"
    LEFT_COUNTRY = "left_country", "Left the country, confirmed"
    ATTENDING_PROVISION = "attending_provision", "Attending new provision"


#: Where a case may go from each state.
TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.RECEIVED: frozenset(
        {CaseState.SLO_INVESTIGATION, CaseState.TRACKING, CaseState.CLOSED}
    ),
    CaseState.SLO_INVESTIGATION: frozenset({CaseState.TRACKING, CaseState.CLOSED}),
    CaseState.TRACKING: frozenset({CaseState.LOCATED, CaseState.DORMANT, CaseState.CLOSED}),
    CaseState.LOCATED: frozenset({CaseState.NEEDS_ASSESSMENT, CaseState.CLOSED}),
    CaseState.NEEDS_ASSESSMENT: frozenset({CaseState.AWAITING_PROVISION}),
    CaseState.AWAITING_PROVISION: frozenset({CaseState.IN_PROVISION}),
    CaseState.IN_PROVISION: frozenset({CaseState.CLOSED, CaseState.AWAITING_PROVISION}),
    CaseState.DORMANT: frozenset({CaseState.TRACKING, CaseState.LOCATED, CaseState.CLOSED}),
    CaseState.CLOSED: frozenset(),
}

#: The outcomes allowed when closing from each state.
CLOSING_OUTCOMES: dict[CaseState, frozenset[Outcome]] = {
    CaseState.RECEIVED: frozenset({Outcome.NOT_CME}),
    CaseState.SLO_INVESTIGATION: frozenset({Outcome.ATTENDANCE_MATTER, Outcome.NOT_CME}),
    CaseState.TRACKING: frozenset(
        {Outcome.ON_ROLL, Outcome.HOME_EDUCATED, Outcome.MOVED_LA, Outcome.LEFT_COUNTRY}
    ),
    CaseState.LOCATED: frozenset(
        {Outcome.ON_ROLL, Outcome.HOME_EDUCATED, Outcome.MOVED_LA, Outcome.LEFT_COUNTRY}
    ),
    CaseState.IN_PROVISION: frozenset({Outcome.ATTENDING_PROVISION}),
    # A dormant case closes only once the whereabouts are confirmed by evidence (the school,
    # the other authority's acknowledgement, the departure confirmation). A child found to be
    # home educated goes dormant → located first, so where they are is recorded.
    CaseState.DORMANT: frozenset({Outcome.ON_ROLL, Outcome.MOVED_LA, Outcome.LEFT_COUNTRY}),
}

OPEN_STATES = frozenset(set(CaseState) - {CaseState.CLOSED})


class LocatedRoute(models.TextChoices):
    """Where a located child's case goes next (README "Located routes and outcomes")."""

    ON_ROLL = "on_roll", "On a school roll"
    HOME_EDUCATED = "home_educated", "Home educated"
    MOVED_LA = "moved_la", "Moved to another local authority"
    LEFT_COUNTRY = "left_country", "Left the country"
    LIVING_HERE_NOT_IN_EDUCATION = (
        "living_here",
        "Living in the area and not in education",
    )


#: The closing outcome each located route leads to (living here goes on to provision).
ROUTE_OUTCOME: dict[LocatedRoute, Outcome] = {
    LocatedRoute.ON_ROLL: Outcome.ON_ROLL,
    LocatedRoute.HOME_EDUCATED: Outcome.HOME_EDUCATED,
    LocatedRoute.MOVED_LA: Outcome.MOVED_LA,
    LocatedRoute.LEFT_COUNTRY: Outcome.LEFT_COUNTRY,
}


class TransitionNotAllowed(Exception):
    """A move the lifecycle does not allow; the message says why in the user's terms."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        #: The form field the message is about, if any (for the error summary's link).
        self.field = field


class PreconditionFailed(TransitionNotAllowed):
    """The move is in the lifecycle, but something it needs is missing or wrong."""


DORMANT_NEEDS_RISK_ASSESSMENT = (
    "A case can only go dormant with a risk assessment authorised by a manager: "
    "record and authorise a risk assessment first."
)


def dormant_precondition(case: Case) -> str | None:
    """Why ``case`` may not go dormant yet, or None when it may.

    The rule: only with a risk assessment authorised by a manager (forms.md §3). Risk
    assessments arrive with the safeguarding work; until then nothing satisfies the rule.
    When they do, this becomes one line such as
    ``return None if risk_assessment_authorised_for(case) else DORMANT_NEEDS_RISK_ASSESSMENT``.
    """
    from cmetrack.safeguarding.selectors import authorised_risk_assessment_for

    if authorised_risk_assessment_for(case) is not None:
        return None
    return DORMANT_NEEDS_RISK_ASSESSMENT


def check_transition(current: CaseState, target: CaseState, outcome: Outcome | None) -> None:
    """Raise :class:`TransitionNotAllowed` unless ``current`` → ``target`` is allowed."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.label.lower() for s in TRANSITIONS[current])) or "nowhere"
        raise TransitionNotAllowed(
            f"A case that is {current.label.lower()} cannot move to {target.label.lower()}; "
            f"it can move to: {allowed}."
        )
    if target == CaseState.CLOSED:
        if outcome is None:
            raise TransitionNotAllowed("Choose an outcome to close the case.")
        if outcome not in CLOSING_OUTCOMES.get(current, frozenset()):
            raise TransitionNotAllowed(
                f"A case that is {current.label.lower()} cannot close as “{outcome.label}”."
            )
