"""Reads of the registers. Roll data is personal data: only case roles and the school
itself (for its own roll) may read it; callers pass the scoped school list. The
home-education list is scoped by :func:`home_education_visible_to`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.db import models
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.organisations.models import Organisation, SchoolType
from cmetrack.people.models import Child, FormerUpn

from .consent import ConsentAnswer, consent_grounds, withdrawal_for_home_education
from .models import (
    ConsentStatus,
    EheEnd,
    HomeEducationConcern,
    HomeEducationConsentRequest,
    HomeEducationNotice,
    HomeEducationRecord,
    LearntFrom,
    RollEntry,
    RollSnapshot,
    SenStatus,
)


def latest_snapshots() -> QuerySet[RollSnapshot]:
    """The most recent snapshot of every school."""
    newest = RollSnapshot.objects.filter(school=OuterRef("school")).order_by("-taken_on")
    return RollSnapshot.objects.filter(taken_on=Subquery(newest.values("taken_on")[:1]))


def roll_for_school(school: Organisation) -> QuerySet[RollEntry]:
    snapshot = RollSnapshot.objects.filter(school=school).order_by("-taken_on").first()
    if snapshot is None:
        return RollEntry.objects.none()
    return snapshot.entries.order_by("legal_family_name", "legal_given_name")


def previous_snapshot(snapshot: RollSnapshot) -> RollSnapshot | None:
    """The school's snapshot just before ``snapshot``, if any."""
    return (
        RollSnapshot.objects.filter(school_id=snapshot.school_id, taken_on__lt=snapshot.taken_on)
        .order_by("-taken_on")
        .first()
    )


def joiners_and_leavers(
    earlier: RollSnapshot, later: RollSnapshot
) -> tuple[QuerySet[RollEntry], QuerySet[RollEntry]]:
    """Joiners (in ``later`` only) and leavers (in ``earlier`` only), matched by UPN.

    Both snapshots must be of the same school. Two set-based queries, each an anti-join.
    """
    if earlier.school_id != later.school_id:
        raise ValueError("Joiners and leavers compare two snapshots of the same school.")
    earlier_upns = RollEntry.objects.filter(snapshot=earlier).values("upn")
    later_upns = RollEntry.objects.filter(snapshot=later).values("upn")
    joiners = later.entries.exclude(upn__in=earlier_upns).order_by("legal_family_name", "upn")
    leavers = earlier.entries.exclude(upn__in=later_upns).order_by("legal_family_name", "upn")
    return joiners, leavers


# --- the home-education list ------------------------------------------------------------


#: Roles that keep the home-education list (add, raise concerns, record consent requests).
HOME_EDUCATION_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER})
#: Roles that decide on consent to withdraw a child for home education.
CONSENT_DECIDERS = frozenset({Role.CME_MANAGER})


def home_education_visible_to(user: User) -> QuerySet[HomeEducationRecord]:
    """The list as ``user`` may see it: CME officers and managers see every record; a
    Virtual School officer the records of children in care; nobody else sees names
    (auditors and senior managers see the figures, :func:`home_education_counts`)."""
    if not user.is_authenticated or not user.is_active:
        return HomeEducationRecord.objects.none()
    qs = HomeEducationRecord.objects.select_related("child", "previous_school", "case")
    if user.has_role(*HOME_EDUCATION_ROLES):
        return qs
    if user.has_role(Role.VIRTUAL_SCHOOL):
        return qs.filter(child__in_care=True)
    return HomeEducationRecord.objects.none()


def may_keep_home_education_list(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.has_role(*HOME_EDUCATION_ROLES)


def may_read_home_education_list(user: User) -> bool:
    """CME officers and managers, and Virtual School officers (children in care only)."""
    return (
        user.is_authenticated
        and user.is_active
        and user.has_role(*HOME_EDUCATION_ROLES, Role.VIRTUAL_SCHOOL)
    )


def may_decide_consent(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.has_role(*CONSENT_DECIDERS)


class ListStatus(models.TextChoices):
    OPEN = "open", "On the list now"
    ENDED = "ended", "No longer home educated"
    ALL = "all", "All"


def home_education_search(
    user: User,
    *,
    q: str = "",
    status: str = ListStatus.OPEN,
    learnt_from: str = "",
    concern: bool | None = None,
    needs_consent: bool | None = None,
) -> QuerySet[HomeEducationRecord]:
    """Filter the visible list: name or UPN (``q``), open/ended, how the authority learnt
    of it, whether a concern has been raised. Newest first."""
    qs = home_education_visible_to(user)
    if status == ListStatus.OPEN:
        qs = qs.filter(ended_on__isnull=True)
    elif status == ListStatus.ENDED:
        qs = qs.filter(ended_on__isnull=False)
    if learnt_from:
        qs = qs.filter(learnt_from=learnt_from)
    for term in q.split():
        qs = qs.filter(
            Q(child__legal_given_names__icontains=term)
            | Q(child__legal_family_name__icontains=term)
            | Q(child__upn__iexact=term)
        )
    has_concern = Exists(HomeEducationConcern.objects.filter(record=OuterRef("pk")))
    qs = qs.annotate(concern_raised=has_concern)
    if concern is not None:
        qs = qs.filter(concern_raised=concern)
    return qs.order_by("-started_on", "-id")


def home_education_get(*, actor: Actor, record_id: int) -> HomeEducationRecord:
    """One record for display, audited as a read of the child's record; raises
    ``HomeEducationRecord.DoesNotExist`` when out of scope (the view's 404)."""
    assert actor.user is not None, "a person reads a child's record"
    record = home_education_visible_to(actor.user).get(pk=record_id)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=record,
        child_id=record.child_id,
        summary="Viewed home-education record",
    )
    return record


def concerns_for(record: HomeEducationRecord) -> QuerySet[HomeEducationConcern]:
    return record.concerns.select_related("case", "recorded_by")


def consent_requests_visible_to(user: User) -> QuerySet[HomeEducationConsentRequest]:
    if not may_keep_home_education_list(user):
        return HomeEducationConsentRequest.objects.none()
    return HomeEducationConsentRequest.objects.select_related("child", "school", "decided_by")


def consent_requests_for(child: Child) -> QuerySet[HomeEducationConsentRequest]:
    return HomeEducationConsentRequest.objects.filter(child=child).select_related(
        "school", "decided_by"
    )


def _child_for_upn(upn: str) -> Child | None:
    if not upn:
        return None
    child = Child.objects.filter(upn=upn).first()
    if child is None:
        former = FormerUpn.objects.filter(upn=upn).select_related("child").first()
        child = former.child if former else None
    return child


#: Registers above this one that may record child protection enquiries about a child
#: (``cnis/extensions.py``: the children-not-in-school register's details), asked by
#: :func:`consent_answer` when no consent request recorded them.
CHILD_PROTECTION_ENQUIRY_SOURCES: list[Callable[[Child], bool]] = []


def child_protection_enquiry_source_register(source: Callable[[Child], bool]) -> None:
    if source not in CHILD_PROTECTION_ENQUIRY_SOURCES:
        CHILD_PROTECTION_ENQUIRY_SOURCES.append(source)


def consent_answer(*, child: Child | None, school: Organisation) -> ConsentAnswer:
    """Whether ``child`` may be withdrawn from ``school`` for home education now.

    The grounds come from what the authority knows: the school is a special school; the
    child's record shows a child protection plan; a consent request for the child (or the
    children-not-in-school register) recorded child protection enquiries. The decision is
    the latest request for this child at this school."""
    enquiries = plan = False
    decision: str | None = None
    if child is not None:
        plan = child.child_protection_plan
        requests = HomeEducationConsentRequest.objects.filter(child=child)
        enquiries = requests.filter(child_protection_enquiries=True).exists()
        if not enquiries:  # or another register says so (the children-not-in-school one)
            enquiries = any(source(child) for source in CHILD_PROTECTION_ENQUIRY_SOURCES)
        latest = requests.filter(school=school).order_by("-requested_on", "-id").first()
        decision = latest.status if latest else None
    grounds = consent_grounds(
        child_protection_enquiries=enquiries,
        child_protection_plan=plan,
        special_school=school.school_type == SchoolType.SPECIAL,
    )
    return withdrawal_for_home_education(grounds=grounds, decision=decision)


def ground_f_deletion_problem(*, upn: str, school: Organisation) -> str | None:
    """What stops ``school`` deleting the pupil with ``upn`` on ground (f), or None.

    The deletion path (the deletion-return form and import) asks this for every ground (f)
    return."""
    answer = consent_answer(child=_child_for_upn(upn), school=school)
    return None if answer.allowed else answer.reason


# --- figures ----------------------------------------------------------------------------


@dataclass(frozen=True)
class HomeEducationCounts:
    """The home-education list in figures: on the list on ``as_at``, and what happened in
    the period (both dates inclusive)."""

    as_at: dt.date
    period_start: dt.date
    period_end: dt.date
    on_list: int
    on_list_with_ehc_plan: int
    on_list_with_sen_support: int
    added_in_period: int
    added_by_route: dict[str, int]
    ended_in_period: int
    concerns_in_period: int
    cases_opened_in_period: int
    consent_requests_in_period: int
    consents_granted_in_period: int
    consents_refused_in_period: int


def on_list_at(as_at: dt.date) -> QuerySet[HomeEducationRecord]:
    """Records open on ``as_at``: started on or before it, not ended by it."""
    return HomeEducationRecord.objects.filter(started_on__lte=as_at).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gt=as_at)
    )


def home_education_counts(
    as_at: dt.date, period: tuple[dt.date, dt.date] | None = None
) -> HomeEducationCounts:
    """Figures for reports and the DfE return. ``period`` (start, end) defaults to the
    academic year containing ``as_at`` up to ``as_at``. Records count by the date home
    education started; concerns by the date raised; consent by request and decision
    dates. Not scoped to a user: counts name nobody (the reports app decides who sees
    figures)."""
    if period is None:
        start_year = as_at.year if as_at.month >= 9 else as_at.year - 1
        period = (dt.date(start_year, 9, 1), as_at)
    start, end = period
    current = on_list_at(as_at).aggregate(
        n=Count("pk"),
        ehc=Count("pk", filter=Q(sen_status=SenStatus.EHC_PLAN)),
        support=Count("pk", filter=Q(sen_status=SenStatus.SEN_SUPPORT)),
    )
    added = HomeEducationRecord.objects.filter(started_on__range=(start, end))
    by_route = dict.fromkeys(LearntFrom.values, 0)
    for route, n in added.values_list("learnt_from").annotate(n=Count("pk")).order_by():
        by_route[route] = n
    concerns = HomeEducationConcern.objects.filter(raised_on__range=(start, end))
    consents = HomeEducationConsentRequest.objects
    decided = consents.filter(decided_on__range=(start, end))
    return HomeEducationCounts(
        as_at=as_at,
        period_start=start,
        period_end=end,
        on_list=current["n"],
        on_list_with_ehc_plan=current["ehc"],
        on_list_with_sen_support=current["support"],
        added_in_period=sum(by_route.values()),
        added_by_route=by_route,
        ended_in_period=HomeEducationRecord.objects.filter(ended_on__range=(start, end)).count(),
        concerns_in_period=concerns.count(),
        cases_opened_in_period=concerns.filter(case_opened=True).count(),
        consent_requests_in_period=consents.filter(requested_on__range=(start, end)).count(),
        consents_granted_in_period=decided.filter(status=ConsentStatus.GRANTED).count(),
        consents_refused_in_period=decided.filter(status=ConsentStatus.REFUSED).count(),
    )


def home_education_year_rows(start: dt.date, end: dt.date) -> list[tuple[int, dt.date | None, str]]:
    """(child id, date of birth, event) for the DfE return's EHE over the year from
    ``start`` to ``end``: "any" for each record on the list on any day of it, "start" for
    each that started in it, "returned" for each that ended in it because the child
    returned to school (or registered under an order), "s437_1" and "sao" for each notice
    served in it. Three queries; the caller folds the rows (each child once per event)."""
    rows: list[tuple[int, dt.date | None, str]] = []
    records = HomeEducationRecord.objects.filter(started_on__lte=end).filter(
        Q(ended_on__isnull=True) | Q(ended_on__gte=start)
    )
    for child, dob, started, ended, because in records.values_list(
        "child_id", "child__dob", "started_on", "ended_on", "ended_because"
    ).order_by("pk"):
        rows.append((int(child), dob, "any"))
        if started >= start:
            rows.append((int(child), dob, "start"))
        if (
            ended is not None
            and start <= ended <= end
            and because in (EheEnd.RETURNED_TO_SCHOOL, EheEnd.SCHOOL_ATTENDANCE_ORDER)
        ):
            rows.append((int(child), dob, "returned"))
    for child, dob, kind in (
        HomeEducationNotice.objects.filter(served_on__range=(start, end))
        .values_list("record__child_id", "record__child__dob", "kind")
        .order_by("pk")
    ):
        rows.append((int(child), dob, str(kind)))
    return rows


def home_education_rows_at(census: dt.date) -> list[tuple[int, int, dt.date | None, str]]:
    """(record id, child id, date of birth, sex) of every child on the home-education list
    on ``census``: the population of the DfE return's EHE tables (the reports app folds
    these rows as it folds case rows: compulsory school age, sex, year group). One query."""
    return [
        (int(pk), int(child), dob, str(sex))
        for pk, child, dob, sex in on_list_at(census)
        .values_list("pk", "child_id", "child__dob", "child__sex")
        .order_by("pk")
    ]
