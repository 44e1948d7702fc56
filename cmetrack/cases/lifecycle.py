"""The case lifecycle (../shared/domain/README.md): states and the moves between them.

Pure data and functions; :mod:`cmetrack.cases.services` applies them to stored cases.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from .registries import FAIL_SAFE, move_refusal

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
    # A child being tracked is never closed straight away: the case goes through located,
    # with where the child is and the evidence for the route (issue 17).
    CaseState.TRACKING: frozenset({CaseState.LOCATED, CaseState.DORMANT}),
    CaseState.LOCATED: frozenset({CaseState.NEEDS_ASSESSMENT, CaseState.CLOSED}),
    CaseState.NEEDS_ASSESSMENT: frozenset({CaseState.AWAITING_PROVISION}),
    CaseState.AWAITING_PROVISION: frozenset({CaseState.IN_PROVISION}),
    CaseState.IN_PROVISION: frozenset({CaseState.CLOSED, CaseState.AWAITING_PROVISION}),
    CaseState.DORMANT: frozenset({CaseState.TRACKING, CaseState.LOCATED}),
    CaseState.CLOSED: frozenset(),
}

#: The outcomes allowed when closing from each state.
CLOSING_OUTCOMES: dict[CaseState, frozenset[Outcome]] = {
    CaseState.RECEIVED: frozenset({Outcome.NOT_CME}),
    CaseState.SLO_INVESTIGATION: frozenset({Outcome.ATTENDANCE_MATTER, Outcome.NOT_CME}),
    CaseState.LOCATED: frozenset(
        {Outcome.ON_ROLL, Outcome.HOME_EDUCATED, Outcome.MOVED_LA, Outcome.LEFT_COUNTRY}
    ),
    CaseState.IN_PROVISION: frozenset({Outcome.ATTENDING_PROVISION}),
    # Tracking and dormant cases close only through located: the whereabouts are recorded
    # first, with the evidence for the route (home educated: the parent's notice, the
    # school's ground (f) deletion or a visit), then the case closes with that route.
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


class HomeEducationEvidence(models.TextChoices):
    """What shows a located child is home educated (deletion ground (f), rules.md §5)."""

    PARENT_NOTICE = "parent_notice", "The parent's written notice of home education"
    DELETION_GROUND_F = (
        "deletion_ground_f",
        "The school's deletion from roll on ground (f) (parent's notice to the school)",
    )
    VISIT = "visit", "A visit: the child or family seen, home education confirmed"


CLOSED_CASE_FROZEN = (
    "This case is closed: nothing more is recorded on it. If there is new information, "
    "a CME officer or manager reopens it as a new episode."
)


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


FAIL_SAFE[CaseState.DORMANT] = DORMANT_NEEDS_RISK_ASSESSMENT


def dormant_precondition(case: Case) -> str | None:
    """Why ``case`` may not go dormant yet, or None when it may.

    The rule: only with a risk assessment authorised by a manager (forms.md §3). Risk
    assessments are safeguarding's: it registers the check (``registries``); without it
    nothing satisfies the rule (``FAIL_SAFE``).
    """
    return move_refusal(case, CaseState.DORMANT)


def check_transition(current: CaseState, target: CaseState, outcome: Outcome | None) -> None:
    """Raise :class:`TransitionNotAllowed` unless ``current`` → ``target`` is allowed."""
    if current == CaseState.CLOSED:
        raise TransitionNotAllowed(CLOSED_CASE_FROZEN)
    if target == CaseState.CLOSED and current in (CaseState.TRACKING, CaseState.DORMANT):
        raise TransitionNotAllowed(
            f"A case that is {current.label.lower()} is not closed while the child is not "
            "found: record where the child is first (“Record where the child is”), with "
            "the evidence for the route, then close the case.",
            field="outcome",
        )
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
