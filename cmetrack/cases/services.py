"""Writes of cases: every change is one function, one transaction, with its audit row
and its place on the case's chronology."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record, audited_update, snapshot
from cmetrack.people.models import Child

from .lifecycle import CaseState, Outcome, check_transition
from .models import Case, CaseStateChange, ChronologyEvent, ChronologyKind, ReferralRoute


def chronology_add(
    *, actor: Actor, case: Case, kind: ChronologyKind, summary: str
) -> ChronologyEvent:
    return ChronologyEvent.objects.create(case=case, kind=kind, summary=summary, by=actor.user)


@transaction.atomic
def case_open(
    *,
    actor: Actor,
    child: Child,
    route: ReferralRoute,
    date_referred: dt.date,
    assigned_officer: User | None = None,
    reason: str = "",
) -> Case:
    """Open a new CME episode for ``child`` in the received state."""
    case = Case(
        child=child, route=route, date_referred=date_referred, assigned_officer=assigned_officer
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


@transaction.atomic
def case_transition(
    *,
    actor: Actor,
    case: Case,
    to_state: CaseState,
    reason: str,
    outcome: Outcome | None = None,
) -> Case:
    """Move ``case`` to ``to_state`` if the lifecycle allows it (see lifecycle.py)."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    current = CaseState(case.state)
    check_transition(current, to_state, outcome)
    changes: dict[str, object] = {"state": to_state}
    if to_state == CaseState.CLOSED:
        changes.update(outcome=outcome, outcome_reason=reason, closed_on=timezone.localdate())
    audited_update(
        actor=actor,
        instance=case,
        changes=changes,
        child_id=case.child_id,
        action=AuditAction.TRANSITION,
        summary=f"{current.label} → {to_state.label}",
    )
    CaseStateChange.objects.create(
        case=case, from_state=current, to_state=to_state, by=actor.user, reason=reason
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.STATE,
        summary=f"{current.label} → {to_state.label}. {reason}".strip(),
    )
    return case


@transaction.atomic
def case_assign(*, actor: Actor, case: Case, officer: User | None) -> Case:
    audited_update(
        actor=actor,
        instance=case,
        changes={"assigned_officer": officer},
        child_id=case.child_id,
        summary=f"Assigned to {officer.get_full_name() if officer else 'nobody'}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.ASSIGNMENT,
        summary=f"Assigned to {officer.get_full_name() if officer else 'nobody'}.",
    )
    return case
