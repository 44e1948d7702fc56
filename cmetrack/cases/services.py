"""Writes of cases: every change is one function, one transaction, with its audit row
and its place on the case's chronology.

:func:`case_transition` is the engine: it locks the case row, checks the version the
caller saw, checks the lifecycle table and the move's own preconditions, then writes the
change, a ``CaseStateChange``, a chronology entry and a ``transition`` audit row together.
Each named move (``case_locate``, ``case_close`` ...) states its preconditions and calls it.

Concurrency: every change adds one to ``Case.version``. A caller that shows the case to a
person (a form, the API) passes the version that person saw as ``expected_version``; if
someone else changed the case in the meantime, :class:`CaseVersionConflict` is raised and
nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor, audit_record, audited_create, audited_update, snapshot
from cmetrack.core.jinja import govuk_date
from cmetrack.notifications.services import notification_send, school_users
from cmetrack.organisations.models import LocalAuthority, Organisation
from cmetrack.people.models import Child

from .lifecycle import (
    OPEN_STATES,
    CaseState,
    LocatedRoute,
    Outcome,
    PreconditionFailed,
    TransitionNotAllowed,
    check_transition,
    dormant_precondition,
)
from .models import (
    CME_REASON_CATEGORY,
    Case,
    CaseStateChange,
    ChronologyEvent,
    ChronologyKind,
    CmeReason,
    FormOfProvision,
    HomeVisit,
    HomeVisitOutcome,
    ReferralRoute,
    YesNoUnknown,
)
from .permissions import ASSIGNABLE_ROLES, require_may_act, require_may_manage

S = CaseState

#: The statutory dates (README "Statutory dates on every case") that can be corrected.
STATUTORY_DATE_FIELDS: dict[str, str] = {
    "date_referred": "date referred in",
    "date_of_assessment": "date of assessment",
    "date_provision_determined": "date form of provision determined",
    "date_moved_into_provision": "date moved into provision",
}


class CaseVersionConflict(Exception):
    """Someone else changed the case after the caller last saw it (HTTP 409)."""

    def __init__(self, case: Case) -> None:
        self.current_version = case.version
        name, when = _last_change(case)
        self.message = (
            f"This case was changed by {name} at {when} while you were working on it. "
            "Nothing you entered has been lost: check the case and try again."
        )
        super().__init__(self.message)


def _last_change(case: Case) -> tuple[str, str]:
    event = (
        AuditEvent.objects.filter(object_type="cases.case", object_id=str(case.pk))
        .exclude(action=AuditAction.VIEW)
        .select_related("actor")
        .order_by("-at", "-id")
        .first()
    )
    if event is None:
        return "someone else", "an unknown time"
    name = event.actor.get_full_name() if event.actor else (event.actor_label or "the system")
    at = timezone.localtime(event.at)
    return name, f"{at:%H:%M} on {govuk_date(at)}"


def _lock(case: Case, expected_version: int | None) -> Case:
    """The case row, locked for this transaction, at the version the caller expects."""
    locked = Case.objects.select_for_update().get(pk=case.pk)
    if expected_version is not None and locked.version != expected_version:
        raise CaseVersionConflict(locked)
    return locked


def _save(
    *,
    actor: Actor,
    case: Case,
    changes: Mapping[str, Any],
    summary: str,
    action: AuditAction = AuditAction.UPDATE,
) -> Case:
    """Apply ``changes`` through the audited path, adding one to the version."""
    return audited_update(
        actor=actor,
        instance=case,
        changes={**changes, "version": case.version + 1},
        child_id=case.child_id,
        action=action,
        summary=summary,
    )


def _required(value: object, message: str, field: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise PreconditionFailed(message, field=field)


def _check_date(
    case: Case,
    value: dt.date | None,
    *,
    label: str,
    field: str,
    not_before: tuple[tuple[dt.date | None, str], ...] = (),
    future_ok: bool = False,
) -> dt.date:
    """A date of the case's history: given, not in the future, not before the referral."""
    if value is None:
        raise PreconditionFailed(f"Enter the {label}.", field=field)
    if not future_ok and value > timezone.localdate():
        raise PreconditionFailed(f"The {label} cannot be in the future.", field=field)
    for earliest, earliest_label in ((case.date_referred, "date referred in"), *not_before):
        if earliest is not None and value < earliest:
            raise PreconditionFailed(
                f"The {label} cannot be before the {earliest_label} ({govuk_date(earliest)}).",
                field=field,
            )
    return value


def chronology_add(
    *,
    actor: Actor,
    case: Case,
    kind: ChronologyKind,
    summary: str,
    at: dt.datetime | None = None,
) -> ChronologyEvent:
    """Add an entry to the case's chronology (``at`` defaults to now)."""
    return ChronologyEvent.objects.create(
        case=case, kind=kind, summary=summary, by=actor.user, at=at or timezone.now()
    )


@transaction.atomic
def case_open(
    *,
    actor: Actor,
    child: Child,
    route: ReferralRoute,
    date_referred: dt.date,
    assigned_officer: User | None = None,
    reason: str = "",
    previous_case: Case | None = None,
) -> Case:
    """Open a new CME episode for ``child`` in the received state."""
    case = Case(
        child=child,
        route=route,
        date_referred=date_referred,
        assigned_officer=assigned_officer,
        previous_case=previous_case,
    )
    case.full_clean()
    case.save()
    CaseStateChange.objects.create(
        case=case, to_state=CaseState.RECEIVED, by=actor.user, reason=reason
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.STATE,
        summary=f"Case opened from a {case.get_route_display().lower()} referral.",
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=case,
        child_id=child.pk,
        summary=f"Opened case {case.reference}",
        changes={"after": snapshot(case)},
    )
    return case


def _states_text(states: frozenset[CaseState]) -> str:
    labels = sorted(s.label.lower() for s in states)
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " or " + labels[-1]


@transaction.atomic
def case_transition(
    *,
    actor: Actor,
    case: Case,
    to_state: CaseState,
    reason: str,
    outcome: Outcome | None = None,
    expected_version: int | None = None,
    changes: Mapping[str, Any] | None = None,
    precondition: Callable[[Case], None] | None = None,
    action: str = "",
    from_states: frozenset[CaseState] | None = None,
    chronology: str | Callable[[Case], str] = "",
    check_actor: bool = False,
) -> Case:
    """Move ``case`` to ``to_state`` if the lifecycle allows it (see lifecycle.py).

    The generic engine every named move calls. Checks, in order: the caller may act
    (``check_actor``), the version, that ``action`` applies from the current state
    (``from_states``), the lifecycle table, then ``precondition(locked_case)``. Writes
    ``changes`` with the new state, a state change, a chronology entry and the audit row.
    Returns the stored case (a fresh instance).
    """
    case = _lock(case, expected_version)
    if check_actor:
        require_may_act(actor.user, case)
    current = CaseState(case.state)
    if from_states is not None and current not in from_states:
        raise TransitionNotAllowed(
            f"“{action}” applies only to a case that is {_states_text(from_states)}; "
            f"this case is {current.label.lower()}."
        )
    check_transition(current, to_state, outcome)
    if to_state == S.DORMANT:
        # The engine itself holds this rule, whoever calls it: never dormant without an
        # authorised risk assessment.
        refusal = dormant_precondition(case)
        if refusal is not None:
            raise PreconditionFailed(refusal)
    if precondition is not None:
        precondition(case)
    all_changes: dict[str, Any] = {"state": to_state, **(changes or {})}
    if to_state == CaseState.CLOSED:
        all_changes.update(
            outcome=outcome, outcome_reason=reason[:300], closed_on=timezone.localdate()
        )
    _save(
        actor=actor,
        case=case,
        changes=all_changes,
        action=AuditAction.TRANSITION,
        summary=f"{current.label} → {to_state.label}" + (f" ({action})" if action else ""),
    )
    CaseStateChange.objects.create(
        case=case, from_state=current, to_state=to_state, by=actor.user, reason=reason
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.STATE,
        summary=(chronology(case) if callable(chronology) else chronology)
        or f"{current.label} → {to_state.label}. {reason}".strip(),
    )
    return case


# --- Received ---------------------------------------------------------------------------


def case_start_slo_investigation(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    school: Organisation | None = None,
    expected_version: int | None = None,
) -> Case:
    """Received → SLO investigation: the child is on a school roll, so the SLO decides."""

    def precondition(locked: Case) -> None:
        if school is None and locked.last_education_school_id is None:
            raise PreconditionFailed(
                "An SLO investigation is for a child on a school roll: "
                "record the child's school first.",
                field="school",
            )

    changes = {"last_education_school": school} if school is not None else {}
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.SLO_INVESTIGATION,
        reason=reason,
        expected_version=expected_version,
        changes=changes,
        precondition=precondition,
        action="Start SLO investigation",
        from_states=frozenset({S.RECEIVED}),
        check_actor=True,
    )


def case_start_tracking(
    *, actor: Actor, case: Case, reason: str = "", expected_version: int | None = None
) -> Case:
    """Received → tracking (agency and public referrals; school ones go to the SLO first).

    An SLO investigation reaches tracking through :func:`case_record_slo_outcome`, a
    dormant case through :func:`case_reopen_tracking`."""
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.TRACKING,
        reason=reason,
        expected_version=expected_version,
        action="Start tracking",
        from_states=frozenset({S.RECEIVED}),
        check_actor=True,
    )


# --- SLO investigation ----------------------------------------------------------------


class SloOutcome(models.TextChoices):
    ATTENDANCE_MATTER = "attendance_matter", "Attendance matter: the child stays on roll"
    CME = "cme", "Children missing education: the CME team tracks the child"


ATTENDANCE_MATTER_SCHOOL_TOLD = (
    "School told: this is an attendance matter and the child stays on the school's roll."
)


def case_record_slo_outcome(
    *,
    actor: Actor,
    case: Case,
    outcome: SloOutcome | str,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """The SLO's decision: attendance matter (closed, stays on roll) or CME (tracking)."""
    _required(reason, "Give the reason for the SLO's decision.", "reason")
    slo_outcome = SloOutcome(outcome)
    if slo_outcome == SloOutcome.ATTENDANCE_MATTER:
        return case_close(
            actor=actor,
            case=case,
            outcome=Outcome.ATTENDANCE_MATTER,
            reason=reason,
            expected_version=expected_version,
        )
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.TRACKING,
        reason=reason,
        expected_version=expected_version,
        action="Record the SLO's outcome",
        from_states=frozenset({S.SLO_INVESTIGATION}),
        chronology=f"SLO investigation → Tracking: the SLO confirmed CME. {reason}".strip(),
        check_actor=True,
    )


@transaction.atomic
def case_advise_off_roll(
    *,
    actor: Actor,
    case: Case,
    advised_date: dt.date | None,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """The SLO advises the school of the date it may take the child off roll.

    Until this is given the school sees "do not remove from roll"."""
    case = _lock(case, expected_version)
    require_may_act(actor.user, case)
    if not case.is_open:
        raise PreconditionFailed("An off-roll date is advised only on an open case.")
    if case.last_education_school_id is None:
        raise PreconditionFailed(
            "Only a child on a school roll has an off-roll date: record the child's school first."
        )
    advised = _check_date(
        case, advised_date, label="advised off-roll date", field="advised_date", future_ok=True
    )
    case = _save(
        actor=actor,
        case=case,
        changes={"advised_off_roll_date": advised},
        summary=f"Advised off-roll date {advised.isoformat()}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.ADVICE,
        summary=f"The school was advised it may take the child off roll from "
        f"{govuk_date(advised)}. {reason}".strip(),
    )
    school = case.last_education_school
    assert school is not None  # (checked above)
    notification_send(
        key="off_roll_advice",
        recipients=school_users(school.pk),
        reference=case.reference,
        personalisation={"school": school.name, "date": govuk_date(advised)},
        obj=case,
        child_id=case.child_id,
        child_name=case.child.full_name,
        actor=actor,
    )
    return case


@transaction.atomic
def case_record_home_visit(
    *,
    actor: Actor,
    case: Case,
    visited_on: dt.date | None,
    visited_by: str,
    outcome: HomeVisitOutcome | str,
    notes: str = "",
) -> HomeVisit:
    """A visit to the child's home, on the visits list and the chronology."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    require_may_act(actor.user, case)
    if not case.is_open:
        raise PreconditionFailed("Home visits are recorded only on an open case.")
    _required(visited_by, "Enter who visited.", "visited_by")
    if visited_on is None:
        raise PreconditionFailed("Enter the date of the visit.", field="visited_on")
    if visited_on > timezone.localdate():
        raise PreconditionFailed("The date of the visit cannot be in the future.", "visited_on")
    visit = audited_create(
        actor=actor,
        instance=HomeVisit(
            case=case,
            visited_on=visited_on,
            visited_by=visited_by.strip(),
            outcome=outcome,
            notes=notes.strip(),
            recorded_by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Home visit recorded on {case.reference}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.VISIT,
        summary=f"Home visit on {govuk_date(visited_on)} by {visit.visited_by}: "
        f"{visit.get_outcome_display()}. {visit.notes}".strip(),
    )
    return visit


# --- Tracking and located -------------------------------------------------------------


def case_locate(
    *,
    actor: Actor,
    case: Case,
    where: str,
    route: LocatedRoute | str | None,
    school: Organisation | None = None,
    local_authority: LocalAuthority | None = None,
    located_on: dt.date | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """Tracking or dormant → located: where the child is, and the route the case takes."""
    located_on = located_on or timezone.localdate()

    def precondition(locked: Case) -> None:
        _required(
            where,
            "Enter where the child is: an address or a description of where they are.",
            "where",
        )
        if not route:
            raise PreconditionFailed("Choose the route: where the child's education is.", "route")
        if route == LocatedRoute.ON_ROLL and school is None:
            raise PreconditionFailed(
                "A child located on a school roll needs the school: choose the school.",
                field="school",
            )
        if route == LocatedRoute.MOVED_LA and local_authority is None:
            raise PreconditionFailed(
                "A child who moved to another authority needs that authority: choose it.",
                field="local_authority",
            )
        _check_date(locked, located_on, label="date the child was located", field="located_on")

    located_route = LocatedRoute(route) if route else None
    changes = {
        "located_on": located_on,
        "located_where": where.strip(),
        "located_route": located_route or "",
        "destination_school": school if located_route == LocatedRoute.ON_ROLL else None,
        "destination_la": local_authority if located_route == LocatedRoute.MOVED_LA else None,
    }
    label = located_route.label.lower() if located_route else ""
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.LOCATED,
        reason=reason,
        expected_version=expected_version,
        changes=changes,
        precondition=precondition,
        action="Record where the child is",
        chronology=f"Located: {where.strip()} ({label}). {reason}".strip(),
        check_actor=True,
    )


def case_make_dormant(
    *, actor: Actor, case: Case, reason: str = "", expected_version: int | None = None
) -> Case:
    """Tracking → dormant: not found after every avenue, risk-assessed, reviewed monthly."""

    return case_transition(  # the engine checks the authorised risk assessment
        actor=actor,
        case=case,
        to_state=S.DORMANT,
        reason=reason,
        expected_version=expected_version,
        action="Make the case dormant",
        check_actor=True,
    )


def case_reopen_tracking(
    *, actor: Actor, case: Case, new_information: str, expected_version: int | None = None
) -> Case:
    """Dormant → tracking, because there is new information about the child."""
    _required(
        new_information,
        "A dormant case goes back to tracking only with new information: enter it.",
        "new_information",
    )
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.TRACKING,
        reason=new_information,
        expected_version=expected_version,
        action="Resume tracking",
        from_states=frozenset({S.DORMANT}),
        chronology=f"Dormant → Tracking: new information. {new_information.strip()}",
        check_actor=True,
    )


# --- Living here, not in education: needs, provision ------------------------------------


def case_begin_needs_assessment(
    *,
    actor: Actor,
    case: Case,
    date_of_assessment: dt.date | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """Located → needs assessment, for a child living here and not in education."""

    def precondition(locked: Case) -> None:
        if locked.located_route != LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION:
            route = (
                LocatedRoute(locked.located_route).label.lower()
                if locked.located_route
                else "no route"
            )
            raise PreconditionFailed(
                "Only a child living in the area and not in education has a needs "
                f"assessment; this child was located as {route}: close the case instead."
            )
        _check_date(
            locked,
            date_of_assessment,
            label="date of assessment",
            field="date_of_assessment",
            not_before=((locked.located_on, "date the child was located"),),
        )

    return case_transition(
        actor=actor,
        case=case,
        to_state=S.NEEDS_ASSESSMENT,
        reason=reason,
        expected_version=expected_version,
        changes={"date_of_assessment": date_of_assessment},
        precondition=precondition,
        action="Begin the needs assessment",
        chronology=f"Needs assessment began on {govuk_date(date_of_assessment)}. {reason}".strip(),
        check_actor=True,
    )


def case_determine_provision(
    *,
    actor: Actor,
    case: Case,
    provision_recommended: FormOfProvision | str,
    date_provision_determined: dt.date | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """Needs assessment → awaiting provision: the form of provision is decided."""

    def precondition(locked: Case) -> None:
        if not provision_recommended:
            raise PreconditionFailed(
                "Choose the form of provision recommended.", field="provision_recommended"
            )
        _check_date(
            locked,
            date_provision_determined,
            label="date form of provision determined",
            field="date_provision_determined",
            not_before=((locked.date_of_assessment, "date of assessment"),),
        )

    form = FormOfProvision(provision_recommended) if provision_recommended else None
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.AWAITING_PROVISION,
        reason=reason,
        expected_version=expected_version,
        changes={
            "provision_recommended": form or "",
            "date_provision_determined": date_provision_determined,
        },
        precondition=precondition,
        action="Record the provision determined",
        from_states=frozenset({S.NEEDS_ASSESSMENT}),
        chronology=(
            f"Form of provision determined on {govuk_date(date_provision_determined)}: "
            f"{form.label if form else ''}. {reason}"
        ).strip(),
        check_actor=True,
    )


def case_move_into_provision(
    *,
    actor: Actor,
    case: Case,
    provider: Organisation | None,
    date_moved_into_provision: dt.date | None,
    provision_accessed: FormOfProvision | str,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """Awaiting provision → in provision: the child has started; attendance is monitored."""

    def precondition(locked: Case) -> None:
        if provider is None:
            raise PreconditionFailed("Choose the provider the child moved into.", field="provider")
        if not provision_accessed:
            raise PreconditionFailed(
                "Choose the form of provision accessed.", field="provision_accessed"
            )
        _check_date(
            locked,
            date_moved_into_provision,
            label="date moved into provision",
            field="date_moved_into_provision",
            not_before=((locked.date_provision_determined, "date form of provision determined"),),
        )

    form = FormOfProvision(provision_accessed) if provision_accessed else None
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.IN_PROVISION,
        reason=reason,
        expected_version=expected_version,
        changes={
            "provider": provider,
            "date_moved_into_provision": date_moved_into_provision,
            "provision_accessed": form or "",
        },
        precondition=precondition,
        action="Record the move into provision",
        chronology=(
            f"Moved into provision on {govuk_date(date_moved_into_provision)}: "
            f"{provider}{f' ({form.label.lower()})' if form else ''}. {reason}"
        ).strip(),
        check_actor=True,
    )


def case_placement_failed(
    *, actor: Actor, case: Case, reason: str, expected_version: int | None = None
) -> Case:
    """In provision → awaiting provision: the placement broke down; find another."""
    _required(reason, "Say why the placement failed.", "reason")
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.AWAITING_PROVISION,
        reason=reason,
        expected_version=expected_version,
        changes={"provider": None, "date_moved_into_provision": None, "provision_accessed": ""},
        action="Record that the placement failed",
        from_states=frozenset({S.IN_PROVISION}),
        chronology=f"Placement failed: {reason.strip()}",
        check_actor=True,
    )


# --- Closing and reopening --------------------------------------------------------------


@transaction.atomic
def case_close(
    *,
    actor: Actor,
    case: Case,
    outcome: Outcome | str | None,
    reason: str,
    evidence: str = "",
    school: Organisation | None = None,
    local_authority: LocalAuthority | None = None,
    acknowledged_by: str = "",
    acknowledged_on: dt.date | None = None,
    confirmation_source: str = "",
    confirmed_on: dt.date | None = None,
    expected_version: int | None = None,
) -> Case:
    """Close the case with an outcome; each outcome has what it needs recorded first.

    - on a roll: the school;
    - moved to another authority: the authority, the notice to its named CME contact and
      that notice's acknowledgement (enquiries.MoveNotification; who and when default to it);
    - left the country: the Home Office check with its answer (enquiries.HomeOfficeCheck)
      and the confirmation (who confirmed, when);
    - home educated: the child goes on the home-education list (same transaction);
    - attending provision: only from in provision, with the provider;
    - attendance matter: the school is told the child stays on roll.
    """
    code = Outcome(outcome) if outcome else None
    changes: dict[str, Any] = {"closure_evidence": evidence.strip()}
    notes: list[str] = []

    def precondition(locked: Case) -> None:
        nonlocal acknowledged_by, acknowledged_on
        _required(reason, "Give the reason for closing the case.", "reason")
        if code == Outcome.ON_ROLL:
            found_at = school or locked.destination_school
            if found_at is None:
                raise PreconditionFailed(
                    "To close a case as found on a school roll, record which school.", "school"
                )
            changes["destination_school"] = found_at
            notes.append(f"On the roll of {found_at}.")
        elif code == Outcome.MOVED_LA:
            la = local_authority or locked.destination_la
            if la is None:
                raise PreconditionFailed(
                    "To close a case as moved to another authority, record the authority "
                    "and its acknowledgement.",
                    "local_authority",
                )
            # The notice to the authority's named contact, acknowledged (enquiries app):
            # who acknowledged it and when default to the notice's.
            from cmetrack.enquiries.selectors import (
                acknowledged_move_notification,
                close_evidence_problem,
            )

            notice = acknowledged_move_notification(locked, la)
            if notice is not None and not acknowledged_by.strip() and acknowledged_on is None:
                acknowledged_by, acknowledged_on = notice.acknowledged_by, notice.acknowledged_on
            if not acknowledged_by.strip() or acknowledged_on is None:
                raise PreconditionFailed(
                    f"To close a case as moved to another authority, record {la.name}'s "
                    "acknowledgement: who acknowledged it and the date.",
                    "acknowledged_by" if not acknowledged_by.strip() else "acknowledged_on",
                )
            if acknowledged_on > timezone.localdate():
                raise PreconditionFailed(
                    "The date of the acknowledgement cannot be in the future.", "acknowledged_on"
                )
            if (problem := close_evidence_problem(locked, code, la)) is not None:
                raise PreconditionFailed(*problem)
            changes.update(
                destination_la=la,
                la_acknowledged_by=acknowledged_by.strip(),
                la_acknowledged_on=acknowledged_on,
            )
            notes.append(
                f"{la.name} acknowledged on {govuk_date(acknowledged_on)} "
                f"({acknowledged_by.strip()})."
            )
        elif code == Outcome.LEFT_COUNTRY:
            if not confirmation_source.strip() or confirmed_on is None:
                raise PreconditionFailed(
                    "To close a case as left the country, record the confirmation: "
                    "who confirmed it and the date.",
                    "confirmation_source" if not confirmation_source.strip() else "confirmed_on",
                )
            if confirmed_on > timezone.localdate():
                raise PreconditionFailed(
                    "The date of the confirmation cannot be in the future.", "confirmed_on"
                )
            # The Home Office check, with its answer, comes first (enquiries app).
            from cmetrack.enquiries.selectors import close_evidence_problem

            if (problem := close_evidence_problem(locked, code, None)) is not None:
                raise PreconditionFailed(*problem)
            changes.update(
                left_country_source=confirmation_source.strip(),
                left_country_confirmed_on=confirmed_on,
            )
            notes.append(
                f"Leaving the country confirmed by {confirmation_source.strip()} "
                f"on {govuk_date(confirmed_on)}."
            )
        elif code == Outcome.HOME_EDUCATED:
            notes.append(
                "Added to the home-education list; no further action unless there is a concern."
            )
        elif code == Outcome.ATTENDING_PROVISION:
            if locked.provider_id is None:
                raise PreconditionFailed(
                    "To close a case as attending provision, record the move into provision first."
                )
            # Attendance monitored in the new provision for the configured period first.
            from cmetrack.provision.monitoring import attending_close_refusal

            refusal = attending_close_refusal(locked)
            if refusal is not None:
                raise PreconditionFailed(refusal, "outcome")
            notes.append(f"Attending {locked.provider}.")
        elif code == Outcome.ATTENDANCE_MATTER:
            notes.append(ATTENDANCE_MATTER_SCHOOL_TOLD)

    if code is None:
        raise PreconditionFailed("Choose an outcome to close the case.", field="outcome")
    locked = case_transition(
        actor=actor,
        case=case,
        to_state=S.CLOSED,
        reason=reason,
        outcome=code,
        expected_version=expected_version,
        changes=changes,
        precondition=precondition,
        action="Close the case",
        chronology=lambda _: f"Closed: {code.label}. {reason.strip()} {' '.join(notes)}".strip(),
        check_actor=True,
    )
    if code == Outcome.ATTENDANCE_MATTER:
        chronology_add(
            actor=actor,
            case=locked,
            kind=ChronologyKind.ADVICE,
            summary=ATTENDANCE_MATTER_SCHOOL_TOLD,
        )
    elif code == Outcome.HOME_EDUCATED:
        from cmetrack.registers.services import home_education_record_add

        home_education_record_add(
            actor=actor,
            child=locked.child,
            started_on=locked.closed_on or timezone.localdate(),
            source=f"CME case {locked.reference} closed as home educated",
            case=locked,
        )
    return locked


@transaction.atomic
def case_reopen(
    *,
    actor: Actor,
    case: Case,
    reason: str,
    route: ReferralRoute | str | None = None,
    date_referred: dt.date | None = None,
    expected_version: int | None = None,
) -> Case:
    """A closed case comes back as a new episode: a new case for the same child, linked.

    Refused while the child has another open case (work on that one instead)."""
    previous = _lock(case, expected_version)
    require_may_manage(actor.user)
    if previous.is_open:
        raise TransitionNotAllowed(
            f"Only a closed case can be reopened; {previous.reference} is "
            f"{previous.get_state_display().lower()}."
        )
    _required(reason, "Give the reason for reopening: what is new.", "reason")
    open_case = (
        Case.objects.filter(child_id=previous.child_id, state__in=OPEN_STATES)
        .order_by("pk")
        .first()
    )
    if open_case is not None:
        raise PreconditionFailed(
            f"This child already has an open case, {open_case.reference}: "
            "work on that case instead."
        )
    referred = date_referred or timezone.localdate()
    if referred > timezone.localdate():
        raise PreconditionFailed("The date referred in cannot be in the future.", "date_referred")
    new = case_open(
        actor=actor,
        child=previous.child,
        route=ReferralRoute(route) if route else ReferralRoute(previous.route),
        date_referred=referred,
        reason=reason,
        previous_case=previous,
    )
    audited_update(
        actor=actor,
        instance=new,
        child_id=new.child_id,
        changes={
            "last_education_place": previous.last_education_place,
            "last_education_school": previous.last_education_school,
            "last_education_date": previous.last_education_date,
        },
        summary="Last known education carried over from the previous episode",
    )
    chronology_add(
        actor=actor,
        case=new,
        kind=ChronologyKind.STATE,
        summary=f"New episode after {previous.reference}. {reason.strip()}",
    )
    chronology_add(
        actor=actor,
        case=previous,
        kind=ChronologyKind.STATE,
        summary=f"Reopened as a new episode, {new.reference}. {reason.strip()}",
    )
    return new


# --- Assignment and corrections -------------------------------------------------------


@transaction.atomic
def case_assign(
    *,
    actor: Actor,
    case: Case,
    officer: User | None,
    expected_version: int | None = None,
) -> Case:
    """Give the case to an officer (or to nobody). CME officers and managers assign."""
    case = _lock(case, expected_version)
    require_may_manage(actor.user)
    if officer is not None and not (officer.is_active and officer.has_role(*ASSIGNABLE_ROLES)):
        raise PreconditionFailed(
            f"{officer.get_full_name()} cannot be given cases: only active CME officers and "
            "managers, SLOs, Virtual School officers and safeguarding advisers can.",
            field="officer",
        )
    name = officer.get_full_name() if officer else "nobody"
    if case.assigned_officer_id == (officer.pk if officer else None):
        return case
    case = _save(
        actor=actor, case=case, changes={"assigned_officer": officer}, summary=f"Assigned to {name}"
    )
    chronology_add(
        actor=actor, case=case, kind=ChronologyKind.ASSIGNMENT, summary=f"Assigned to {name}."
    )
    return case


@transaction.atomic
def case_correct_statutory_date(
    *,
    actor: Actor,
    case: Case,
    field: str,
    value: dt.date | None,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Correct one statutory date, with the reason on the audit row and the chronology.

    Refused for a date in the future or before the referral, and without a reason."""
    case = _lock(case, expected_version)
    require_may_manage(actor.user)
    if field not in STATUTORY_DATE_FIELDS:
        raise PreconditionFailed("Choose which statutory date to correct.", field="field")
    label = STATUTORY_DATE_FIELDS[field]
    _required(reason, "Give the reason for the correction.", "reason")
    if value is None:
        raise PreconditionFailed(f"Enter the corrected {label}.", field="value")
    if value > timezone.localdate():
        raise PreconditionFailed(f"The {label} cannot be in the future.", field="value")
    if field == "date_referred":
        for other in list(STATUTORY_DATE_FIELDS)[1:]:
            later: dt.date | None = getattr(case, other)
            if later is not None and value > later:
                raise PreconditionFailed(
                    f"The date referred in cannot be after the {STATUTORY_DATE_FIELDS[other]} "
                    f"({govuk_date(later)}).",
                    field="value",
                )
    elif value < case.date_referred:
        raise PreconditionFailed(
            f"The {label} cannot be before the date referred in "
            f"({govuk_date(case.date_referred)}).",
            field="value",
        )
    before: dt.date | None = getattr(case, field)
    if before == value:
        raise PreconditionFailed(f"The {label} is already {govuk_date(value)}.", field="value")
    setattr(case, field, value)
    case.version += 1
    case.full_clean()
    case.save(update_fields=[field, "version", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=case,
        child_id=case.child_id,
        summary=f"Corrected the {label}: {reason.strip()}",
        changes={
            "before": {field: before, "version": case.version - 1},
            "after": {field: value, "version": case.version},
            "reason": reason.strip(),
        },
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CORRECTION,
        summary=f"Corrected the {label} from {govuk_date(before, 'not set')} to "
        f"{govuk_date(value)}. Reason: {reason.strip()}",
    )
    return case


@transaction.atomic
def case_record_circumstances(
    *,
    actor: Actor,
    case: Case,
    cme_reason: str,
    new_to_area: str = YesNoUnknown.UNKNOWN,
    new_to_country: str = YesNoUnknown.UNKNOWN,
    expected_version: int | None = None,
) -> Case:
    """Record why the child is missing education (its category follows from the reason)
    and whether the child is new to the area or the country: what the figures and the DfE
    return break down by. Officers, SLOs and the other case workers who may act record it."""
    case = _lock(case, expected_version)
    require_may_act(actor.user, case)
    if cme_reason not in CmeReason.values:
        raise PreconditionFailed(
            "Choose the primary reason the child is missing education.", field="cme_reason"
        )
    for value, field, label in (
        (new_to_area, "new_to_area", "new to the area"),
        (new_to_country, "new_to_country", "new to the country"),
    ):
        if value not in YesNoUnknown.values:
            raise PreconditionFailed(
                f"Say whether the child is {label}: yes, no or not known.", field=field
            )
    if new_to_country == YesNoUnknown.YES and new_to_area == YesNoUnknown.NO:
        raise PreconditionFailed(
            "A child new to the country is also new to the area: answer yes to new to the area.",
            field="new_to_area",
        )
    changes = {
        "cme_reason": cme_reason,
        "cme_category": CME_REASON_CATEGORY[cme_reason],
        "new_to_area": new_to_area,
        "new_to_country": new_to_country,
    }
    if all(getattr(case, k) == v for k, v in changes.items()):
        return case
    reason_label = CmeReason(cme_reason).label
    summary = (
        f"Reason for missing education: {reason_label}. New to the area: "
        f"{YesNoUnknown(new_to_area).label.lower()}; new to the country: "
        f"{YesNoUnknown(new_to_country).label.lower()}."
    )
    case = _save(actor=actor, case=case, changes=changes, summary="Recorded the circumstances")
    chronology_add(actor=actor, case=case, kind=ChronologyKind.NOTE, summary=summary)
    return case
