"""Scoped reads of the Virtual School's records: the only way pages and the API get them.

Who sees what:

* Virtual School officers, CME officers and CME managers see every in-care record, its
  placements and plans (the Virtual School leads for children in care; the CME team is
  kept informed).
* Everyone else (schools, agencies, SLOs, safeguarding advisers, auditors,
  administrators) sees none: an in-care record out of scope is a 404, exactly as one that
  does not exist. A school or agency learns only what their own referral shows.
* A restricted placement address is shown only to a user a CME manager has named for the
  child (``people.selectors.may_see_restricted_addresses``), as for the child's addresses.

Opening a record (page, printable plan, API) is audited as a read of the child's record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Max, Prefetch, Q, QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.detection.models import AdditionReturn, Alert, AlertRule, AlertState, DeletionReturn
from cmetrack.people.models import Child
from cmetrack.people.selectors import may_see_restricted_addresses
from cmetrack.registers.models import RollEntry, RollSnapshot

from .models import (
    ChildInCare,
    PersonalEducationPlan,
    Placement,
    PlacementAlert,
)
from .rules import PepStatus, pep_status

#: Roles that read in-care records.
CIC_READ_ROLES = frozenset({Role.VIRTUAL_SCHOOL, Role.CME_OFFICER, Role.CME_MANAGER})
#: Roles that create and change in-care records and placements (the CME team often learns
#: first that a child is in care).
CIC_WRITE_ROLES = CIC_READ_ROLES
#: Roles that write education plans and work the Virtual School's alerts.
VS_WORK_ROLES = frozenset({Role.VIRTUAL_SCHOOL})

RESTRICTED = "Restricted"


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def may_read_cic(user: User) -> bool:
    return _active(user) and user.has_role(*CIC_READ_ROLES)


def may_write_cic(user: User | None) -> bool:
    return user is None or (_active(user) and user.has_role(*CIC_WRITE_ROLES))


def may_work_vs(user: User | None) -> bool:
    """Write plans, resolve placement alerts, acknowledge attendance alerts."""
    return user is None or (_active(user) and user.has_role(*VS_WORK_ROLES))


def cic_records_visible_to(user: User) -> QuerySet[ChildInCare]:
    qs = ChildInCare.objects.select_related("child", "responsible_authority", "lead_officer")
    if not may_read_cic(user):
        return qs.none()
    return qs


def cic_record_get_for_view(*, actor: Actor, record_id: int) -> ChildInCare:
    """One in-care record for display (``ChildInCare.DoesNotExist`` when out of scope);
    the read is audited against the child."""
    assert actor.user is not None, "a person reads an in-care record"
    record = cic_records_visible_to(actor.user).get(pk=record_id)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=record,
        child_id=record.child_id,
        summary="Viewed the child's in-care record",
    )
    return record


def cic_record_for_child(user: User, child: Child) -> ChildInCare | None:
    return cic_records_visible_to(user).filter(child=child).first()


def placements_for(record: ChildInCare) -> QuerySet[Placement]:
    """A record's placements, newest first (the caller has already scoped the record)."""
    return record.placements.select_related(
        "school", "placing_authority", "recorded_by"
    ).prefetch_related("alerts")


def current_placement(record: ChildInCare) -> Placement | None:
    return record.placements.filter(ended_on__isnull=True).select_related("school").first()


def placement_address_for(user: User, placement: Placement) -> str:
    """The placement's address, or "Restricted" for a viewer not named for the child."""
    if placement.is_restricted and not may_see_restricted_addresses(
        user=user, child=placement.record.child
    ):
        return RESTRICTED
    return placement.address or "Not recorded"


def placement_address_for_sharing(placement: Placement) -> str:
    """For anything that leaves the system: never a restricted address."""
    return "" if placement.is_restricted else placement.address


def child_on_roll(*, upn: str | None, school_id: int | None) -> bool:
    """Whether the UPN is on the school's roll now, by the registers: on the school's latest
    roll snapshot, or added since it (an addition return), and not deleted since (a
    deletion return). A child who stays at the same school when they move placement keeps
    their place."""
    if not upn or school_id is None:
        return False

    latest = RollSnapshot.objects.filter(school_id=school_id).aggregate(d=Max("taken_on"))["d"]
    seen = RollEntry.objects.filter(upn=upn, snapshot__school_id=school_id).aggregate(
        d=Max("snapshot__taken_on")
    )["d"]
    joined = AdditionReturn.objects.filter(upn=upn, school_id=school_id).aggregate(
        d=Max("joined_on")
    )["d"]
    evidence = [d for d in (seen, joined) if d is not None and (latest is None or d >= latest)]
    if not evidence:
        return False
    return not DeletionReturn.objects.filter(
        upn=upn, school_id=school_id, deleted_on__gte=max(evidence)
    ).exists()


def peps_for_record(record: ChildInCare) -> QuerySet[PersonalEducationPlan]:
    return record.peps.select_related("case", "created_by").prefetch_related(
        "targets", Prefetch("reviews")
    )


def pep_get(*, user: User, pep_id: int) -> PersonalEducationPlan:
    """A plan the user may read (``PersonalEducationPlan.DoesNotExist`` otherwise)."""
    if not may_read_cic(user):
        raise PersonalEducationPlan.DoesNotExist
    return (
        PersonalEducationPlan.objects.select_related(
            "record__child", "record__responsible_authority", "case", "created_by"
        )
        .prefetch_related("targets", "reviews")
        .get(pk=pep_id)
    )


def pep_get_for_view(*, actor: Actor, pep_id: int, what: str = "Viewed") -> PersonalEducationPlan:
    assert actor.user is not None
    pep = pep_get(user=actor.user, pep_id=pep_id)
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT if what.startswith("Exported") else AuditAction.VIEW,
        obj=pep,
        child_id=pep.record.child_id,
        summary=f"{what} the personal education plan of {pep.case.reference}",
    )
    return pep


def open_cme_cases_for_record(user: User, record: ChildInCare) -> QuerySet[Case]:
    return cases_visible_to(user).filter(child_id=record.child_id, state__in=OPEN_STATES)


# --- The dashboard -----------------------------------------------------------------------


@dataclass(frozen=True)
class InCareCase:
    """A child in care with an open CME case, and where their plan stands."""

    case: Case
    record: ChildInCare | None
    latest_pep: PersonalEducationPlan | None
    status: PepStatus


def in_care_cme_cases(user: User, *, today: date) -> list[InCareCase]:
    """Children in care with open CME cases the user may see, with their plan's status,
    most urgent first (overdue, needed, due, booked)."""
    if not may_read_cic(user):
        return []
    cases = list(
        cases_visible_to(user)
        .filter(state__in=OPEN_STATES)
        .filter(child__in_care=True)
        .select_related("child", "child__care_record")
        .order_by("date_referred", "pk")
    )
    latest: dict[int, PersonalEducationPlan] = {}
    pep: PersonalEducationPlan | None
    for pep in PersonalEducationPlan.objects.filter(case__in=[c.pk for c in cases]).order_by(
        "case_id", "-meeting_on", "-id"
    ):
        latest.setdefault(pep.case_id, pep)
    rows = []
    for case in cases:
        pep = latest.get(case.pk)
        record = getattr(case.child, "care_record", None)
        rows.append(
            InCareCase(
                case=case,
                record=record,
                latest_pep=pep,
                status=pep_status(
                    case_referred=case.date_referred,
                    review_on=pep.review_on if pep else None,
                    today=today,
                ),
            )
        )
    order = {
        PepStatus.OVERDUE: 0,
        PepStatus.NEEDED_OVERDUE: 1,
        PepStatus.NEEDED: 2,
        PepStatus.DUE: 3,
        PepStatus.SCHEDULED: 4,
    }
    return sorted(rows, key=lambda r: order[r.status])


def open_placement_alerts(user: User) -> QuerySet[PlacementAlert]:
    if not may_read_cic(user):
        return PlacementAlert.objects.none()
    return PlacementAlert.objects.filter(resolved_on__isnull=True).select_related(
        "placement__record__child", "placement__school"
    )


def in_care_attendance_alerts(user: User) -> QuerySet[Alert]:
    """Detection's "child in care: attendance 95 % or below" alerts still to be worked, for
    children with an in-care record (matched by the UPN detection used, or the child)."""
    if not may_read_cic(user):
        return Alert.objects.none()
    current = ChildInCare.objects.filter(ceased_on__isnull=True)
    upns = current.exclude(child__upn__isnull=True).values("child__upn")
    return (
        Alert.objects.filter(
            rule=AlertRule.IN_CARE_ATTENDANCE,
            state__in=[AlertState.NEW, AlertState.ACKNOWLEDGED],
        )
        .filter(Q(upn__in=upns) | Q(child__care_record__in=current))
        .select_related("school", "child__care_record")
        .order_by("-detected_on", "-id")
    )


def in_care_attendance_alert_get(user: User, alert_id: int) -> Alert:
    """One in-care attendance alert the user may work (``Alert.DoesNotExist`` otherwise)."""
    return in_care_attendance_alerts(user).get(pk=alert_id)


def records_without_upn(user: User) -> QuerySet[ChildInCare]:
    """Current in-care records whose child has no UPN: their attendance cannot be checked."""
    return cic_records_visible_to(user).filter(ceased_on__isnull=True, child__upn__isnull=True)


def current_records(user: User) -> QuerySet[ChildInCare]:
    return cic_records_visible_to(user).filter(ceased_on__isnull=True)


def children_without_record(user: User) -> QuerySet[Child]:
    """Children flagged in care on an open case the user sees, with no in-care record yet."""
    if not may_read_cic(user):
        return Child.objects.none()
    open_case_children = cases_visible_to(user).filter(state__in=OPEN_STATES).values("child_id")
    return Child.objects.filter(pk__in=open_case_children, in_care=True, care_record__isnull=True)
