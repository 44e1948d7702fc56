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
from dataclasses import dataclass
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor, audit_record, audited_create, audited_update, snapshot
from cmetrack.kit.dates import govuk_date
from cmetrack.notifications.services import cme_team, notification_send, school_users
from cmetrack.organisations.models import LocalAuthority, Organisation
from cmetrack.people.models import Child

from .lifecycle import (
    CLOSED_CASE_FROZEN,
    OPEN_STATES,
    ROUTE_OUTCOME,
    CaseState,
    HomeEducationEvidence,
    LocatedRoute,
    Outcome,
    PreconditionFailed,
    TransitionNotAllowed,
    check_transition,
    dormant_precondition,
)
from .models import (
    CASE_FACT_FIELDS,
    CME_REASON_CATEGORY,
    OPENED_FROM,
    Case,
    CaseFact,
    CaseFactKind,
    CaseStateChange,
    ChronologyEvent,
    ChronologyKind,
    CmeReason,
    FormOfProvision,
    HomeVisit,
    HomeVisitOutcome,
    MissingFromCareReport,
    ProvisionEpisode,
    ReferralRoute,
    SloVisitRequest,
    StateChangeCorrection,
    YesNoUnknown,
)
from .permissions import (
    ASSIGNABLE_ROLES,
    may_act,
    require_may_act,
    require_may_manage,
)
from .registries import after_close_run, after_transition_run, close_defaults, close_problem

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


class CaseClosed(TransitionNotAllowed):
    """A change to a closed case: a closed episode is frozen except for reopening."""

    def __init__(self, message: str = CLOSED_CASE_FROZEN) -> None:
        super().__init__(message)


def require_open(case: Case) -> None:
    """Refuse any change to a closed case (the one exception is reopening it)."""
    if case.state == CaseState.CLOSED:
        raise CaseClosed()


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
    closing: bool = False,
) -> ChronologyEvent:
    """Add an entry to the case's chronology (``at`` defaults to now).

    A closed episode's chronology does not grow: refused unless ``closing`` (the entries
    written by closing or reopening the case itself). The stored state is read, so a stale
    instance cannot slip past."""
    if not closing and (
        case.state == CaseState.CLOSED
        or Case.objects.filter(pk=case.pk, state=CaseState.CLOSED).exists()
    ):
        raise CaseClosed()
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
    # The case is received from the day it was referred, whenever it is keyed: a
    # referral keyed on 6 October and dated 29 September counts in the 1 October census.
    CaseStateChange.objects.create(
        case=case,
        to_state=CaseState.RECEIVED,
        by=actor.user,
        reason=reason,
        effective_on=date_referred,
        at=timezone.now(),
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.STATE,
        summary=f"Case opened from {OPENED_FROM.get(case.route, 'a referral')}.",
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


BACKDATE_NEEDS_REASON = "Give the reason this is recorded with an earlier date than today."


def _effective_day(
    case: Case, effective_on: dt.date | None, reason: str, *, own_date: bool = False
) -> dt.date:
    """The day a move takes effect: today by default; not in the future; not before the
    referral nor the case's previous move (the history stays in order); an earlier day
    than today only with a reason. A move that records its own dated fact (``own_date``:
    the date located, assessed, determined, moved into provision) takes effect on that
    day, or on the previous move's day if that is later."""
    today = timezone.localdate()
    day = effective_on or today
    if day > today:
        raise PreconditionFailed(
            "The date this took effect cannot be in the future.", "effective_on"
        )
    if day < case.date_referred:
        raise PreconditionFailed(
            "The date this took effect cannot be before the date referred in "
            f"({govuk_date(case.date_referred)}).",
            "effective_on",
        )
    previous = (
        CaseStateChange.objects.filter(case=case)
        .order_by("-effective_on", "-id")
        .values_list("effective_on", flat=True)
        .first()
    )
    if previous is not None and day < previous and own_date:
        day = previous
    if previous is not None and day < previous:
        raise PreconditionFailed(
            "The date this took effect cannot be before the case's last change "
            f"({govuk_date(previous)}).",
            "effective_on",
        )
    if day < today and not own_date and not reason.strip():
        raise PreconditionFailed(BACKDATE_NEEDS_REASON, "reason")
    return day


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
    effective_on: dt.date | None = None,
    own_date: bool = False,
    close: CloseDetails | None = None,
) -> Case:
    """Move ``case`` to ``to_state`` if the lifecycle allows it (see lifecycle.py).

    A move to closed always passes :func:`close_checks` (the outcome's evidence, given in
    ``close``), runs what closing records elsewhere (the home-education list) and, for an
    attendance matter, the advice to the school: the one path for every close.

    ``effective_on`` is the day the move took effect (default today): the figures on a
    date read it (docs/reporting.md). An earlier day is "backdating": it needs ``reason``
    (unless ``own_date``: the move records its own dated fact, such as the date located),
    and is never before the case's previous move nor the referral.

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
    notes: list[str] = []
    close_changes: dict[str, Any] = {}
    if to_state == CaseState.CLOSED:
        assert outcome is not None  # check_transition refuses a close without one
        close_changes, notes = close_checks(case, Outcome(outcome), reason, close or CloseDetails())
    day = _effective_day(case, effective_on, reason, own_date=own_date)
    all_changes: dict[str, Any] = {"state": to_state, **(changes or {}), **close_changes}
    if to_state == CaseState.CLOSED:
        assert outcome is not None
        all_changes.update(outcome=outcome, outcome_reason=reason[:300], closed_on=day)
        if not chronology:
            chronology = (
                f"Closed: {Outcome(outcome).label}. {reason.strip()} {' '.join(notes)}".strip()
            )
    late = day < timezone.localdate()
    _save(
        actor=actor,
        case=case,
        changes=all_changes,
        action=AuditAction.TRANSITION,
        summary=f"{current.label} → {to_state.label}"
        + (f" ({action})" if action else "")
        + (f", took effect on {day.isoformat()} (backdated)" if late else ""),
    )
    CaseStateChange.objects.create(
        case=case,
        from_state=current,
        to_state=to_state,
        by=actor.user,
        reason=reason,
        effective_on=day,
        at=timezone.now(),
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.STATE,
        summary=(chronology(case) if callable(chronology) else chronology)
        or f"{current.label} → {to_state.label}. {reason}".strip(),
        closing=to_state == CaseState.CLOSED,
    )
    after_transition_run(actor, case, current)
    if to_state == CaseState.CLOSED:
        if outcome == Outcome.ATTENDANCE_MATTER:
            chronology_add(
                actor=actor,
                case=case,
                kind=ChronologyKind.ADVICE,
                summary=ATTENDANCE_MATTER_SCHOOL_TOLD,
                closing=True,
            )
        # What the outcome records in other areas (home educated: the home-education list).
        after_close_run(actor, case)
    return case


# --- Received ---------------------------------------------------------------------------


def case_start_slo_investigation(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    school: Organisation | None = None,
    expected_version: int | None = None,
    effective_on: dt.date | None = None,
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
        effective_on=effective_on,
    )


def case_start_tracking(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    expected_version: int | None = None,
    effective_on: dt.date | None = None,
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
        effective_on=effective_on,
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
    effective_on: dt.date | None = None,
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
            effective_on=effective_on,
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
        effective_on=effective_on,
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
    require_open(case)
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
    asked = open_visit_request_for(actor.user, case)
    if asked is None:
        require_may_act(actor.user, case)
    require_open(case)
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
    if asked is not None:
        audited_update(
            actor=actor,
            instance=asked,
            child_id=case.child_id,
            changes={"visit": visit, "answered_at": timezone.now()},
            summary=f"Home visit asked of the SLO on {case.reference} done",
        )
    return visit


def open_visit_request_for(user: User | None, case: Case) -> SloVisitRequest | None:
    """The home visit the CME team asked of ``user`` (an SLO) on ``case``, still open."""
    if user is None:
        return None
    return (
        SloVisitRequest.objects.filter(case=case, slo=user, answered_at__isnull=True)
        .order_by("requested_at", "pk")
        .first()
    )


def may_record_visit(user: User | None, case: Case) -> bool:
    """Those who may act on the case, and an SLO asked for a home visit on it."""
    return may_act(user, case) or open_visit_request_for(user, case) is not None


@transaction.atomic
def case_request_slo_visit(
    *,
    actor: Actor,
    case: Case,
    slo: User | None,
    reason: str,
    expected_version: int | None = None,
) -> SloVisitRequest:
    """Ask a School Liaison Officer for a home visit (county procedure 5.3): tracking and
    contacts had no response. The case keeps its officer; the SLO sees the case, is told,
    and the visit they record answers the request."""
    case = _lock(case, expected_version)
    require_may_manage(actor.user)
    require_open(case)
    if case.state not in (CaseState.TRACKING, CaseState.DORMANT):
        raise PreconditionFailed(
            "A home visit is asked of the SLO while the child is being tracked (tracking or "
            f"dormant); this case is {case.get_state_display().lower()}."
        )
    if slo is None or not (slo.is_active and slo.has_role("slo")):
        raise PreconditionFailed("Choose an active School Liaison Officer.", field="slo")
    _required(
        reason,
        "Say what tracking and contacts found (why a home visit is needed).",
        "reason",
    )
    if open_visit_request_for(slo, case) is not None:
        raise PreconditionFailed(
            f"{slo.get_full_name()} has already been asked for a home visit on this case and "
            "has not recorded it yet.",
            field="slo",
        )
    request = audited_create(
        actor=actor,
        instance=SloVisitRequest(
            case=case, slo=slo, reason=reason.strip(), requested_by=actor.user
        ),
        child_id=case.child_id,
        summary=f"Home visit asked of {slo.get_full_name()} on {case.reference}",
    )
    _save(
        actor=actor,
        case=case,
        changes={},
        summary=f"Home visit asked of the SLO {slo.get_full_name()}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.TASK,
        summary=f"Home visit asked of the School Liaison Officer {slo.get_full_name()}: "
        f"tracking and contacts had no response. {reason.strip()}",
    )
    notification_send(
        key="slo_visit_request",
        recipients=[slo],
        reference=case.reference,
        personalisation={"reason": reason.strip()},
        obj=case,
        child_id=case.child_id,
        child_name=case.child.full_name,
        link=f"/cases/{case.pk}/actions/record_home_visit/",
        actor=actor,
    )
    return request


@transaction.atomic
def case_record_missing_from_care(
    *,
    actor: Actor,
    case: Case,
    missing_since: dt.date | None,
    social_worker: str,
    social_worker_contact: str = "",
    reported_to_police: str = YesNoUnknown.UNKNOWN,
    notes: str = "",
    expected_version: int | None = None,
) -> MissingFromCareReport:
    """A child in care is missing from care (county procedure 5.4): the social worker
    follows the missing-from-home-or-care protocol and the CME team is told (the assigned
    officer, or every CME officer and manager when nobody is assigned). The Virtual School
    keeps the lead."""
    case = _lock(case, expected_version)
    require_may_act(actor.user, case)
    require_open(case)
    if not case.child.in_care:
        raise PreconditionFailed(
            "The missing-from-care route is for a child in care; this child is not recorded "
            "as in care."
        )
    _required(social_worker, "Enter the social worker following the protocol.", "social_worker")
    if missing_since is None:
        raise PreconditionFailed("Enter the date the child went missing.", field="missing_since")
    if missing_since > timezone.localdate():
        raise PreconditionFailed(
            "The date the child went missing cannot be in the future.", field="missing_since"
        )
    if reported_to_police not in YesNoUnknown.values:
        raise PreconditionFailed(
            "Say whether the child was reported missing to the police: yes, no or not known.",
            field="reported_to_police",
        )
    report = audited_create(
        actor=actor,
        instance=MissingFromCareReport(
            case=case,
            missing_since=missing_since,
            social_worker=social_worker.strip(),
            social_worker_contact=social_worker_contact.strip(),
            reported_to_police=reported_to_police,
            notes=notes.strip(),
            recorded_by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Missing from care recorded on {case.reference}",
    )
    _save(actor=actor, case=case, changes={}, summary="Missing from care recorded")
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.MISSING_CARE,
        summary=f"Missing from care since {govuk_date(missing_since)}. The social worker, "
        f"{report.social_worker}, follows the missing from home or care protocol; the CME "
        f"team is told. Reported to the police: "
        f"{YesNoUnknown(reported_to_police).label.lower()}. {report.notes}".strip(),
    )
    officer = case.assigned_officer
    told = [officer] if officer is not None and officer.is_active else cme_team()
    notification_send(
        key="missing_from_care",
        recipients=[u for u in told if actor.user is None or u.pk != actor.user.pk] or told,
        reference=case.reference,
        personalisation={
            "since": govuk_date(missing_since),
            "social_worker": report.social_worker,
        },
        obj=case,
        child_id=case.child_id,
        child_name=case.child.full_name,
        link=f"/cases/{case.pk}/",
        actor=actor,
    )
    return report


# --- Tracking and located -------------------------------------------------------------


@transaction.atomic
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
    home_education_evidence: HomeEducationEvidence | str = "",
    home_education_evidence_on: dt.date | None = None,
    expected_version: int | None = None,
) -> Case:
    """Tracking or dormant → located: where the child is, and the route the case takes.

    Located as home educated needs its evidence: the parent's written notice, the
    school's deletion on ground (f), or a recorded visit at which the child or family was
    seen (:func:`home_education_evidence_problem`)."""
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
        if route == LocatedRoute.HOME_EDUCATED:
            problem = home_education_evidence_problem(
                locked, home_education_evidence, home_education_evidence_on
            )
            if problem is not None:
                raise PreconditionFailed(*problem)

    located_route = LocatedRoute(route) if route else None
    home_educated = located_route == LocatedRoute.HOME_EDUCATED
    changes = {
        "home_education_evidence": home_education_evidence if home_educated else "",
        "home_education_evidence_on": home_education_evidence_on if home_educated else None,
        "located_on": located_on,
        "located_where": where.strip(),
        "located_route": located_route or "",
        "destination_school": school if located_route == LocatedRoute.ON_ROLL else None,
        "destination_la": local_authority if located_route == LocatedRoute.MOVED_LA else None,
    }
    label = located_route.label.lower() if located_route else ""
    located = case_transition(
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
        effective_on=located_on,
        own_date=True,
    )
    # The route is a dated fact of its own, from the day the case was located (the day
    # the move took effect): figures on a past date read the route in force then.
    assert located_route is not None
    CaseFact.objects.create(
        case=located,
        kind=CaseFactKind.LOCATED_ROUTE,
        value=located_route.value,
        effective_on=_located_change(located).effective_on,
        recorded_by=actor.user,
        reason=reason.strip()[:300],
    )
    return located


def _located_change(case: Case) -> CaseStateChange:
    """The move that located ``case`` (its latest move into located)."""
    change = CaseStateChange.objects.filter(case=case, to_state=S.LOCATED).order_by("-id").first()
    if change is None:
        raise PreconditionFailed("This case has not been located.")
    return change


#: Home visits that show where a child is (the child or the family was seen).
VISIT_SEEN = frozenset({HomeVisitOutcome.CHILD_SEEN, HomeVisitOutcome.FAMILY_SEEN})


def home_education_evidence_problem(
    case: Case, evidence: HomeEducationEvidence | str, evidence_on: dt.date | None
) -> tuple[str, str] | None:
    """Why ``evidence`` does not show that the child is home educated, or None.

    (message, field). A visit must be recorded on the case (the child or the family seen,
    on or before the evidence date)."""
    if evidence not in HomeEducationEvidence.values:
        return (
            "A child is recorded as home educated only with evidence: choose the parent's "
            "written notice, the school's deletion on ground (f) or a visit.",
            "home_education_evidence",
        )
    if evidence_on is None:
        return ("Enter the date of the evidence of home education.", "home_education_evidence_on")
    if evidence_on > timezone.localdate():
        return (
            "The date of the evidence of home education cannot be in the future.",
            "home_education_evidence_on",
        )
    if evidence == HomeEducationEvidence.VISIT:
        seen = HomeVisit.objects.filter(
            case=case, outcome__in=VISIT_SEEN, visited_on__lte=evidence_on
        ).exists()
        if not seen:
            return (
                "Record the visit first (“Record a home visit”): a visit at which the child "
                "or the family was seen, on or before the date of the evidence.",
                "home_education_evidence",
            )
    return None


def case_make_dormant(
    *,
    actor: Actor,
    case: Case,
    reason: str = "",
    expected_version: int | None = None,
    effective_on: dt.date | None = None,
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
        effective_on=effective_on,
    )


def case_reopen_tracking(
    *,
    actor: Actor,
    case: Case,
    new_information: str,
    expected_version: int | None = None,
    effective_on: dt.date | None = None,
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
        effective_on=effective_on,
    )


# --- Living here, not in education: needs, provision ------------------------------------


def case_begin_needs_assessment(
    *,
    actor: Actor,
    case: Case,
    date_of_assessment: dt.date | None = None,
    early_help_assessment: YesNoUnknown | str = YesNoUnknown.UNKNOWN,
    lead_professional: str = "",
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """Located → needs assessment, for a child living here and not in education.

    Records whether an early help (Common Assessment Framework) assessment is in place and
    the lead professional (national guidance 3.6.3-3.6.4): an assessment in place names
    its lead professional."""

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
        if early_help_assessment not in YesNoUnknown.values:
            raise PreconditionFailed(
                "Say whether an early help (CAF) assessment is in place: yes, no or not known.",
                field="early_help_assessment",
            )
        if early_help_assessment == YesNoUnknown.YES and not lead_professional.strip():
            raise PreconditionFailed(
                "An early help assessment in place has a lead professional: enter their name "
                "and service.",
                field="lead_professional",
            )

    help_label = (
        YesNoUnknown(early_help_assessment).label.lower()
        if early_help_assessment in YesNoUnknown.values
        else ""
    )
    lead = lead_professional.strip()
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.NEEDS_ASSESSMENT,
        reason=reason,
        expected_version=expected_version,
        changes={
            "date_of_assessment": date_of_assessment,
            "early_help_assessment": early_help_assessment,
            "lead_professional": lead,
        },
        precondition=precondition,
        action="Begin the needs assessment",
        effective_on=date_of_assessment,
        own_date=True,
        chronology=(
            f"Needs assessment began on {govuk_date(date_of_assessment)}. Early help (CAF) "
            f"assessment in place: {help_label}. Lead professional: {lead or 'none named'}. "
            f"{reason}"
        ).strip(),
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
        effective_on=date_provision_determined,
        own_date=True,
        from_states=frozenset({S.NEEDS_ASSESSMENT}),
        chronology=(
            f"Form of provision determined on {govuk_date(date_provision_determined)}: "
            f"{form.label if form else ''}. {reason}"
        ).strip(),
        check_actor=True,
    )


@transaction.atomic
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
    moved = case_transition(
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
        effective_on=date_moved_into_provision,
        own_date=True,
        chronology=(
            f"Moved into provision on {govuk_date(date_moved_into_provision)}: "
            f"{provider}{f' ({form.label.lower()})' if form else ''}. {reason}"
        ).strip(),
        check_actor=True,
    )
    # Each placement is kept as an episode: pace into provision reads them.
    assert date_moved_into_provision is not None  # (checked by the precondition)
    ProvisionEpisode.objects.create(
        case=moved,
        provider=provider,
        provision_accessed=form or "",
        started_on=date_moved_into_provision,
    )
    return moved


@transaction.atomic
def case_placement_failed(
    *,
    actor: Actor,
    case: Case,
    reason: str,
    expected_version: int | None = None,
    effective_on: dt.date | None = None,
) -> Case:
    """In provision → awaiting provision: the placement broke down; find another.

    The placement is kept: its episode ends on the day the placement failed, and the date
    moved into provision stays (last year's pace keeps the case). The provider and the
    form accessed are cleared until the next placement."""
    _required(reason, "Say why the placement failed.", "reason")
    failed = case_transition(
        actor=actor,
        case=case,
        to_state=S.AWAITING_PROVISION,
        reason=reason,
        expected_version=expected_version,
        changes={"provider": None, "provision_accessed": ""},
        action="Record that the placement failed",
        from_states=frozenset({S.IN_PROVISION}),
        chronology=f"Placement failed: {reason.strip()}",
        check_actor=True,
        effective_on=effective_on,
    )
    ended = (
        CaseStateChange.objects.filter(case=failed)
        .order_by("-effective_on", "-id")
        .values_list("effective_on", flat=True)
        .first()
    )
    ProvisionEpisode.objects.filter(case=failed, ended_on__isnull=True).update(
        ended_on=ended, end_reason=reason.strip()[:300]
    )
    return failed


# --- Closing and reopening --------------------------------------------------------------


@dataclass(frozen=True)
class CloseDetails:
    """What a close records besides its outcome and reason (each outcome needs its own:
    see :func:`close_checks`). The engine checks them on every close, whoever calls it."""

    evidence: str = ""
    school: Organisation | None = None
    local_authority: LocalAuthority | None = None
    acknowledged_by: str = ""
    acknowledged_on: dt.date | None = None
    confirmation_source: str = ""
    confirmed_on: dt.date | None = None
    home_education_evidence: HomeEducationEvidence | str = ""
    home_education_evidence_on: dt.date | None = None


def close_checks(
    locked: Case, code: Outcome, reason: str, details: CloseDetails
) -> tuple[dict[str, Any], list[str]]:
    """The rules of closing ``locked`` with ``code``: raise :class:`PreconditionFailed`
    with the first thing missing, else return the case's changes and the chronology's
    notes. Called by :func:`case_transition` on every move to closed (issue 17: neither a
    caller of the engine nor the demo can close a case without what its outcome needs).

    - a located case closes with the outcome of its route; the route's evidence is on the
      case (where the child is, and for home educated the notice, deletion or visit);
    - on a roll: the school;
    - moved to another authority: the authority, the notice to its named CME contact and
      that notice's acknowledgement (enquiries.MoveNotification; who and when default to it);
    - left the country: the Home Office check with its answer (enquiries.HomeOfficeCheck)
      and the confirmation (who confirmed, when);
    - home educated: the evidence (the child goes on the home-education list);
    - attending provision: only from in provision, with the provider;
    - attendance matter: the school is told the child stays on roll."""
    acknowledged_by, acknowledged_on = details.acknowledged_by, details.acknowledged_on
    confirmation_source, confirmed_on = details.confirmation_source, details.confirmed_on
    changes: dict[str, Any] = {"closure_evidence": details.evidence.strip()}
    notes: list[str] = []
    _required(reason, "Give the reason for closing the case.", "reason")
    if locked.state == CaseState.LOCATED:
        route = LocatedRoute(locked.located_route) if locked.located_route else None
        expected = ROUTE_OUTCOME.get(route) if route else None
        if route is None or not locked.located_where.strip():
            raise PreconditionFailed(
                "Record where the child is and the route (“Record where the child is”) "
                "before closing the case.",
                "outcome",
            )
        if expected is None:
            raise PreconditionFailed(
                "This child was located living in the area and not in education: begin "
                "the needs assessment and secure provision; the case closes when the "
                "child attends.",
                "outcome",
            )
        if code != expected:
            raise PreconditionFailed(
                f"This child was located as {route.label.lower()}: the case closes as "
                f"“{expected.label}”. If that was wrong, correct where the child is "
                "(“Correct the route”) before closing.",
                "outcome",
            )
    if code == Outcome.ON_ROLL:
        found_at = details.school or locked.destination_school
        if found_at is None:
            raise PreconditionFailed(
                "To close a case as found on a school roll, record which school.", "school"
            )
        changes["destination_school"] = found_at
        notes.append(f"On the roll of {found_at}.")
    elif code == Outcome.MOVED_LA:
        la = details.local_authority or locked.destination_la
        if la is None:
            raise PreconditionFailed(
                "To close a case as moved to another authority, record the authority "
                "and its acknowledgement.",
                "local_authority",
            )
        # The notice to the authority's named contact, acknowledged (enquiries registers
        # it): who acknowledged it and when default to the notice's.
        known = close_defaults(locked, code, la)
        if "acknowledged_by" in known and not acknowledged_by.strip() and not acknowledged_on:
            acknowledged_by = str(known["acknowledged_by"])
            acknowledged_on = known.get("acknowledged_on")  # type: ignore[assignment]
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
        if (problem := close_problem(locked, code, la)) is not None:
            raise PreconditionFailed(*problem)
        changes.update(
            destination_la=la,
            la_acknowledged_by=acknowledged_by.strip(),
            la_acknowledged_on=acknowledged_on,
        )
        notes.append(
            f"{la.name} acknowledged on {govuk_date(acknowledged_on)} ({acknowledged_by.strip()})."
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
        # The Home Office check, with its answer, comes first (enquiries registers it).
        if (problem := close_problem(locked, code, None)) is not None:
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
        evidence_kind = locked.home_education_evidence or details.home_education_evidence
        evidence_on = locked.home_education_evidence_on or details.home_education_evidence_on
        problem = home_education_evidence_problem(locked, evidence_kind, evidence_on)
        if problem is not None:
            raise PreconditionFailed(*problem)
        if not locked.home_education_evidence:
            changes.update(
                home_education_evidence=evidence_kind,
                home_education_evidence_on=evidence_on,
            )
        assert evidence_on is not None
        notes.append(
            f"Evidence: {HomeEducationEvidence(evidence_kind).label.lower()} "
            f"({govuk_date(evidence_on)})."
        )
        notes.append(
            "Added to the home-education list; no further action unless there is a concern."
        )
    elif code == Outcome.ATTENDING_PROVISION:
        if locked.provider_id is None:
            raise PreconditionFailed(
                "To close a case as attending provision, record the move into provision first."
            )
        # Attendance monitored in the new provision for the configured period first
        # (provision registers it).
        if (problem := close_problem(locked, code, None)) is not None:
            raise PreconditionFailed(*problem)
        notes.append(f"Attending {locked.provider}.")
    elif code == Outcome.ATTENDANCE_MATTER:
        notes.append(ATTENDANCE_MATTER_SCHOOL_TOLD)
    return changes, notes


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
    effective_on: dt.date | None = None,
    home_education_evidence: HomeEducationEvidence | str = "",
    home_education_evidence_on: dt.date | None = None,
    expected_version: int | None = None,
) -> Case:
    """Close the case with an outcome; each outcome has what it needs recorded first
    (:func:`close_checks`, which the engine applies to every close).

    A located case closes with the outcome of the route it was located on (on a roll, home
    educated, moved, left the country); tracking and dormant cases are located first.
    Received and SLO investigation cases close only as not CME (or, after the SLO's
    investigation, an attendance matter), with the reason."""
    code = Outcome(outcome) if outcome else None
    if code is None:
        raise PreconditionFailed("Choose an outcome to close the case.", field="outcome")
    return case_transition(
        actor=actor,
        case=case,
        to_state=S.CLOSED,
        reason=reason,
        outcome=code,
        expected_version=expected_version,
        close=CloseDetails(
            evidence=evidence,
            school=school,
            local_authority=local_authority,
            acknowledged_by=acknowledged_by,
            acknowledged_on=acknowledged_on,
            confirmation_source=confirmation_source,
            confirmed_on=confirmed_on,
            home_education_evidence=home_education_evidence,
            home_education_evidence_on=home_education_evidence_on,
        ),
        action="Close the case",
        check_actor=True,
        # A closing date can be backdated, with the reason (the figures follow it).
        effective_on=effective_on,
    )


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
        closing=True,
    )
    return new


# --- Assignment and corrections -------------------------------------------------------


def _case_fact_at(case: Case, kind: str, on: dt.date) -> CaseFact | None:
    return (
        CaseFact.objects.filter(
            case=case, kind=kind, superseded_at__isnull=True, effective_on__lte=on
        )
        .order_by("-effective_on", "-id")
        .first()
    )


def _record_case_facts(
    *,
    actor: Actor,
    case: Case,
    values: Mapping[str, str],
    effective_on: dt.date | None,
    reason: str,
) -> list[CaseFact]:
    """Write the dated facts of ``values`` that differ from the value on their day."""
    today = timezone.localdate()
    if effective_on is not None:
        if effective_on > today:
            raise PreconditionFailed(
                "The date this took effect cannot be in the future.", "effective_on"
            )
        if effective_on < case.date_referred:
            raise PreconditionFailed(
                "The date this took effect cannot be before the date referred in "
                f"({govuk_date(case.date_referred)}).",
                "effective_on",
            )
        if effective_on < today and not reason.strip():
            raise PreconditionFailed(BACKDATE_NEEDS_REASON, "backdate_reason")
    written: list[CaseFact] = []
    for kind, value in values.items():
        first = not CaseFact.objects.filter(case=case, kind=kind).exists()
        if first:
            # Recorded before dates were kept, or never: the first value holds from the
            # referral unless a day is given.
            on = effective_on or case.date_referred
            held = getattr(case, CASE_FACT_FIELDS[kind])
            if held not in ("", YesNoUnknown.UNKNOWN, value) and on > case.date_referred:
                written.append(
                    CaseFact.objects.create(
                        case=case,
                        kind=kind,
                        value=held,
                        effective_on=case.date_referred,
                        recorded_by=actor.user,
                        reason="Held before dated records were kept.",
                    )
                )
        else:
            on = effective_on or today
            current = _case_fact_at(case, kind, on)
            if current is not None and current.value == value:
                continue
        written.append(
            CaseFact.objects.create(
                case=case,
                kind=kind,
                value=value,
                effective_on=on,
                recorded_by=actor.user,
                reason=reason.strip()[:300],
            )
        )
    if written:
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=case,
            child_id=case.child_id,
            summary="Recorded the circumstances from "
            + ", ".join(sorted({f.effective_on.isoformat() for f in written}))
            + (f": {reason.strip()}" if reason.strip() else ""),
            changes={
                "after": {
                    f.kind: {"value": f.value, "effective_on": f.effective_on} for f in written
                },
                "backdated": any(f.effective_on < today for f in written),
            },
        )
    return written


def _current_case_facts(case: Case) -> dict[str, Any]:
    """The case's columns as at today, from its facts."""
    today = timezone.localdate()
    out: dict[str, Any] = {}
    for kind, field in CASE_FACT_FIELDS.items():
        fact = _case_fact_at(case, kind, today)
        if fact is not None:
            out[field] = fact.value
    if "cme_reason" in out:
        out["cme_category"] = CME_REASON_CATEGORY.get(out["cme_reason"], "")
    return out


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
    require_open(case)
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
    require_open(case)
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
    effective_on: dt.date | None = None,
    backdate_reason: str = "",
) -> Case:
    """Record why the child is missing education (its category follows from the reason)
    and whether the child is new to the area or the country: what the figures and the DfE
    return break down by. Officers, SLOs and the other case workers who may act record it.

    Each value is a dated fact (:class:`CaseFact`). The first value of each takes effect
    from the date referred in (it describes the episode from its start); a later change
    takes effect today, or on ``effective_on`` with ``backdate_reason``; the values of
    earlier days are kept, so last term's breakdown does not change."""
    case = _lock(case, expected_version)
    require_may_act(actor.user, case)
    require_open(case)
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
    if all(getattr(case, k) == v for k, v in changes.items()) and effective_on is None:
        return case
    recorded = _record_case_facts(
        actor=actor,
        case=case,
        values={
            CaseFactKind.REASON: cme_reason,
            CaseFactKind.NEW_TO_AREA: new_to_area,
            CaseFactKind.NEW_TO_COUNTRY: new_to_country,
        },
        effective_on=effective_on,
        reason=backdate_reason,
    )
    if not recorded:
        return case
    changes = _current_case_facts(case)
    reason_label = CmeReason(cme_reason).label
    summary = (
        f"Reason for missing education: {reason_label}. New to the area: "
        f"{YesNoUnknown(new_to_area).label.lower()}; new to the country: "
        f"{YesNoUnknown(new_to_country).label.lower()}."
    )
    case = _save(actor=actor, case=case, changes=changes, summary="Recorded the circumstances")
    chronology_add(actor=actor, case=case, kind=ChronologyKind.NOTE, summary=summary)
    return case


# --- Correcting the past: a move's effective date, the located route ---------------------


ROUTE_CORRECTION_STATES = frozenset({S.LOCATED})


def _move_label(change: CaseStateChange) -> str:
    before = CaseState(change.from_state).label if change.from_state else "new"
    return f"{before} → {CaseState(change.to_state).label}"


@transaction.atomic
def case_correct_state_date(
    *,
    actor: Actor,
    case: Case,
    change: CaseStateChange | int | str | None,
    effective_on: dt.date | None,
    reason: str,
    expected_version: int | None = None,
) -> Case:
    """Correct the day a move took effect (it was recorded with the wrong day).

    A CME officer's or manager's correction, with the reason: the move's
    ``effective_on`` becomes the corrected day and a :class:`StateChangeCorrection`
    keeps the day before; the audit row and the chronology say both. The figures by
    effective date follow the correction. The history stays in order: not in the future,
    not before the date referred in, not before the case's previous move nor after its
    next one. The case's own date of the move follows it (the closing date, the date
    located, and the located route's start). The case's opening (received, from the date
    referred in) is corrected by correcting the date referred in. Allowed on a closed
    case too: correcting the record is not new work on the episode."""
    case = _lock(case, expected_version)
    require_may_manage(actor.user)
    change_id = change.pk if isinstance(change, CaseStateChange) else change
    try:
        move = CaseStateChange.objects.get(case=case, pk=int(str(change_id)))
    except (CaseStateChange.DoesNotExist, ValueError, TypeError):
        raise PreconditionFailed("Choose the move to correct.", field="change") from None
    if not move.from_state:
        raise PreconditionFailed(
            "The case is received from the date referred in: correct that date instead "
            "(“Correct a statutory date”).",
            field="change",
        )
    _required(reason, "Give the reason for the correction.", "reason")
    if effective_on is None:
        raise PreconditionFailed("Enter the corrected date the move took effect.", "effective_on")
    if effective_on > timezone.localdate():
        raise PreconditionFailed(
            "The date the move took effect cannot be in the future.", "effective_on"
        )
    if effective_on < case.date_referred:
        raise PreconditionFailed(
            "The date the move took effect cannot be before the date referred in "
            f"({govuk_date(case.date_referred)}).",
            "effective_on",
        )
    moves = list(CaseStateChange.objects.filter(case=case).order_by("at", "id"))
    at = next(i for i, m in enumerate(moves) if m.pk == move.pk)
    previous = moves[at - 1] if at > 0 else None
    following = moves[at + 1] if at + 1 < len(moves) else None
    if previous is not None and effective_on < previous.effective_on:
        raise PreconditionFailed(
            "The date the move took effect cannot be before the case's previous move "
            f"({_move_label(previous)}, {govuk_date(previous.effective_on)}).",
            "effective_on",
        )
    if following is not None and effective_on > following.effective_on:
        raise PreconditionFailed(
            "The date the move took effect cannot be after the case's next move "
            f"({_move_label(following)}, {govuk_date(following.effective_on)}).",
            "effective_on",
        )
    before = move.effective_on
    if before == effective_on:
        raise PreconditionFailed(
            f"This move already took effect on {govuk_date(effective_on)}.", "effective_on"
        )
    StateChangeCorrection.objects.create(
        change=move,
        case=case,
        effective_on_before=before,
        effective_on_after=effective_on,
        reason=reason.strip(),
        by=actor.user,
    )
    CaseStateChange.objects.filter(pk=move.pk).update(effective_on=effective_on)
    follows: dict[str, Any] = {}
    if move.to_state == S.CLOSED and case.closed_on == before and following is None:
        follows["closed_on"] = effective_on
    if move.to_state == S.LOCATED and case.located_on == before:
        follows["located_on"] = effective_on
        _move_route_start(actor, case, before, effective_on, reason)
    for name, value in follows.items():
        setattr(case, name, value)
    case.version += 1
    case.full_clean()
    case.save(update_fields=[*follows, "version", "updated_at"])
    label = _move_label(move)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=case,
        child_id=case.child_id,
        summary=f"Corrected the date {label} took effect: {reason.strip()}",
        changes={
            "state_change": move.pk,
            "before": {"effective_on": before, **dict.fromkeys(follows, before)},
            "after": {"effective_on": effective_on, **follows},
            "reason": reason.strip(),
        },
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CORRECTION,
        summary=f"Corrected the date {label} took effect from {govuk_date(before)} to "
        f"{govuk_date(effective_on)}. Reason: {reason.strip()}",
        closing=True,
    )
    return case


def state_changes_to_correct(case: Case) -> list[tuple[str, str]]:
    """(id, label) of the moves whose date a manager may correct, oldest first."""
    return [
        (
            str(m.pk),
            f"{_move_label(m)}, took effect on {govuk_date(m.effective_on)}",
        )
        for m in CaseStateChange.objects.filter(case=case)
        .exclude(from_state="")
        .order_by("at", "id")
    ]


def _route_facts(case: Case) -> models.QuerySet[CaseFact]:
    return CaseFact.objects.filter(
        case=case, kind=CaseFactKind.LOCATED_ROUTE, superseded_at__isnull=True
    )


def _supersede(fact: CaseFact, by: CaseFact) -> None:
    CaseFact.objects.filter(pk=fact.pk).update(superseded_at=timezone.now(), superseded_by=by)


def _move_route_start(
    actor: Actor, case: Case, before: dt.date, after: dt.date, reason: str
) -> None:
    """The located route held from the day located: when that day is corrected, so is the
    route's start (the row from the old day is kept, superseded)."""
    for fact in _route_facts(case).filter(effective_on=before):
        moved = CaseFact.objects.create(
            case=case,
            kind=fact.kind,
            value=fact.value,
            effective_on=after,
            recorded_by=actor.user,
            reason=f"The date located was corrected: {reason.strip()}"[:300],
        )
        _supersede(fact, moved)


@transaction.atomic
def case_correct_located_route(
    *,
    actor: Actor,
    case: Case,
    route: LocatedRoute | str | None,
    reason: str,
    where: str = "",
    school: Organisation | None = None,
    local_authority: LocalAuthority | None = None,
    home_education_evidence: HomeEducationEvidence | str = "",
    home_education_evidence_on: dt.date | None = None,
    effective_on: dt.date | None = None,
    expected_version: int | None = None,
) -> Case:
    """Correct where a located child's education is (the route), with the reason.

    The route is a dated fact (:class:`CaseFact`, kind ``located_route``). With no
    ``effective_on`` (or the day located) the route was wrong from the start: its row is
    superseded, kept, and the corrected row holds from the day located. With a later day
    the route changed that day: the earlier route still holds for the days before it. The
    figures and the DfE return on a past date read the route in force then, as now known.
    The route's own evidence is needed as when locating (the school, the authority, the
    evidence of home education)."""
    case = _lock(case, expected_version)
    require_may_act(actor.user, case)
    if case.state not in ROUTE_CORRECTION_STATES:
        raise PreconditionFailed(
            "The route is corrected while the case is located (before it goes on to the "
            "needs assessment or closes).",
            "route",
        )
    _required(reason, "Give the reason for the correction.", "reason")
    if not route or route not in LocatedRoute.values:
        raise PreconditionFailed("Choose the route: where the child's education is.", "route")
    new_route = LocatedRoute(route)
    located_day = _located_change(case).effective_on
    day = effective_on or located_day
    if day > timezone.localdate():
        raise PreconditionFailed("The date of the route cannot be in the future.", "effective_on")
    if day < located_day:
        raise PreconditionFailed(
            f"The route cannot start before the child was located ({govuk_date(located_day)}).",
            "effective_on",
        )
    if new_route == LocatedRoute.ON_ROLL and school is None:
        raise PreconditionFailed(
            "A child located on a school roll needs the school: choose the school.", "school"
        )
    if new_route == LocatedRoute.MOVED_LA and local_authority is None:
        raise PreconditionFailed(
            "A child who moved to another authority needs that authority: choose it.",
            "local_authority",
        )
    if new_route == LocatedRoute.HOME_EDUCATED:
        problem = home_education_evidence_problem(
            case, home_education_evidence, home_education_evidence_on
        )
        if problem is not None:
            raise PreconditionFailed(*problem)
    facts = _route_facts(case)
    if not facts.exists() and case.located_route:
        # Located before the route was dated: what was held counts from the day located.
        CaseFact.objects.create(
            case=case,
            kind=CaseFactKind.LOCATED_ROUTE,
            value=case.located_route,
            effective_on=located_day,
            recorded_by=actor.user,
            reason="Held before dated records were kept.",
        )
    held = facts.filter(effective_on__lte=day).order_by("-effective_on", "-id").first()
    if held is not None and held.value == new_route.value and held.effective_on == day:
        raise PreconditionFailed(
            f"The route from {govuk_date(day)} is already “{new_route.label}”.", "route"
        )
    corrected = CaseFact.objects.create(
        case=case,
        kind=CaseFactKind.LOCATED_ROUTE,
        value=new_route.value,
        effective_on=day,
        recorded_by=actor.user,
        reason=reason.strip()[:300],
    )
    replaced = [f for f in facts.filter(effective_on=day) if f.pk != corrected.pk]
    for fact in replaced:
        _supersede(fact, corrected)
    current = _route_facts(case).order_by("-effective_on", "-id").first()
    assert current is not None
    route_now = LocatedRoute(current.value)
    changes: dict[str, Any] = {"located_route": route_now.value}
    if current.pk == corrected.pk:
        home_educated = route_now == LocatedRoute.HOME_EDUCATED
        changes.update(
            destination_school=school if route_now == LocatedRoute.ON_ROLL else None,
            destination_la=local_authority if route_now == LocatedRoute.MOVED_LA else None,
            home_education_evidence=home_education_evidence if home_educated else "",
            home_education_evidence_on=home_education_evidence_on if home_educated else None,
        )
        if where.strip():
            changes["located_where"] = where.strip()
    before_route = held.value if held is not None else case.located_route
    was = LocatedRoute(before_route).label.lower() if before_route else "not recorded"
    kind = "Corrected" if replaced else "Changed"
    case = _save(
        actor=actor,
        case=case,
        changes=changes,
        summary=f"{kind} the located route from {govuk_date(day)}: {reason.strip()}",
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=corrected,
        child_id=case.child_id,
        summary=f"{kind} the located route from {govuk_date(day)}: {was} → "
        f"{new_route.label.lower()}",
        changes={
            "before": {"value": before_route, "superseded": [f.pk for f in replaced]},
            "after": {"value": new_route.value, "effective_on": day},
            "reason": reason.strip(),
        },
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CORRECTION,
        summary=f"{kind} the route from {govuk_date(day)}: {was} → "
        f"{new_route.label.lower()}. Reason: {reason.strip()}",
    )
    return case
