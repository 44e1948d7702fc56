"""Scoped reads of safeguarding records, who may do what, and the dormant review queues.

Every read starts from :func:`cmetrack.cases.selectors.cases_visible_to`, and only the
roles that work on cases see safeguarding at all: a school, an agency, an auditor or an
administrator never sees a screening or a risk assessment (404, as if the case did not
exist).
"""

from __future__ import annotations

import datetime as dt

from django.db.models import DateField, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, Greatest, TruncDate
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.cases.lifecycle import OPEN_STATES, CaseState
from cmetrack.cases.models import Case, CaseStateChange
from cmetrack.cases.selectors import cases_visible_to

from .models import DormantReview, RiskAssessment, VirtualSchoolNotice, VulnerabilityScreening
from .rules import earliest_base_due_from, latest_base_due_by, week_end

#: Roles that see a case's safeguarding records (within their case scope).
SAFEGUARDING_ROLES = frozenset(
    {
        Role.CME_OFFICER,
        Role.CME_MANAGER,
        Role.SLO,
        Role.VIRTUAL_SCHOOL,
        Role.SAFEGUARDING_ADVISER,
    }
)
#: Roles that record screenings (intake is often the SLO's or the Virtual School's).
SCREENING_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL})
#: Roles with a dormant review queue (an officer: their cases; a manager: the team's).
REVIEW_QUEUE_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER})


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def may_view_safeguarding(user: User) -> bool:
    return _active(user) and user.has_role(*SAFEGUARDING_ROLES)


def case_for_safeguarding(*, user: User, case_id: int) -> Case:
    """The case if ``user`` may see its safeguarding records; else ``Case.DoesNotExist``."""
    if not may_view_safeguarding(user):
        raise Case.DoesNotExist
    return cases_visible_to(user).select_related("child", "assigned_officer").get(pk=case_id)


def may_screen(user: User, case: Case) -> bool:
    if not _active(user) or not case.is_open:
        return False
    if user.has_role(*ALL_CASES_ROLES, Role.SLO):
        return True
    return user.has_role(Role.VIRTUAL_SCHOOL) and case.child.in_care


def may_assess(user: User, case: Case) -> bool:
    """Record a risk assessment or a dormant review, or make the case dormant."""
    return _active(user) and case.is_open and user.has_role(*ALL_CASES_ROLES)


def may_authorise(user: User, assessment: RiskAssessment) -> bool:
    """A CME manager who did not complete the assessment, while it waits."""
    return (
        _active(user)
        and user.has_role(Role.CME_MANAGER)
        and assessment.officer_id != user.pk
        and not assessment.is_authorised
    )


# --- screenings and assessments -----------------------------------------------------------


def risk_assessments_to_authorise(user: User) -> QuerySet[RiskAssessment]:
    """Risk assessments waiting for a manager's authorisation that ``user`` may authorise
    (a manager; never the ones they completed), on open cases they may see, the oldest
    first (the longest wait at the top)."""
    if not _active(user) or not user.has_role(Role.CME_MANAGER):
        return RiskAssessment.objects.none()
    return (
        RiskAssessment.objects.filter(
            authorised_at__isnull=True,
            case__in=cases_visible_to(user).filter(state__in=OPEN_STATES).values("pk"),
        )
        .exclude(officer=user)
        .select_related("case__child", "officer")
        .order_by("recorded_at", "id")
    )


def screenings_for(case: Case) -> QuerySet[VulnerabilityScreening]:
    """The case's screenings, newest first (the first is current), answers prefetched."""
    return (
        VulnerabilityScreening.objects.filter(case=case)
        .select_related("recorded_by")
        .prefetch_related("answers")
    )


def latest_screening(case: Case) -> VulnerabilityScreening | None:
    return screenings_for(case).first()


def risk_assessments_for(case: Case) -> QuerySet[RiskAssessment]:
    return (
        RiskAssessment.objects.filter(case=case)
        .select_related("officer", "authorised_by")
        .prefetch_related("factors")
    )


def risk_assessment_for(*, user: User, case_id: int, assessment_id: int) -> RiskAssessment:
    """One assessment of a case ``user`` may see; else ``RiskAssessment.DoesNotExist``."""
    try:
        case = case_for_safeguarding(user=user, case_id=case_id)
    except Case.DoesNotExist as exc:
        raise RiskAssessment.DoesNotExist from exc
    return risk_assessments_for(case).get(pk=assessment_id)


def authorised_risk_assessment_for(case: Case) -> RiskAssessment | None:
    """The latest authorised risk assessment of ``case`` (the dormant rule), or None."""
    if case.pk is None:
        return None
    return (
        RiskAssessment.objects.filter(case_id=case.pk, authorised_at__isnull=False)
        .order_by("-authorised_at", "-id")
        .first()
    )


def reviews_for(case: Case) -> QuerySet[DormantReview]:
    return DormantReview.objects.filter(case=case).select_related("by")


def virtual_school_notice_for(case: Case) -> VirtualSchoolNotice | None:
    return VirtualSchoolNotice.objects.filter(case=case).select_related("lead").first()


# --- dormant reviews: when the next one is due ---------------------------------------------


def dormant_since(case: Case) -> dt.date | None:
    """The date the case last went dormant (from its state history)."""
    change = (
        CaseStateChange.objects.filter(case=case, to_state=CaseState.DORMANT)
        .order_by("-at", "-id")
        .first()
    )
    if change is None:
        return None
    return timezone.localdate(change.at)


def review_base(case: Case) -> dt.date | None:
    """The date the next review counts from: the last review in this dormant period, or the
    date the case went dormant (rules.md §6)."""
    since = dormant_since(case)
    if since is None:
        return None
    last = (
        DormantReview.objects.filter(case=case, reviewed_on__gte=since)
        .order_by("-reviewed_on")
        .values_list("reviewed_on", flat=True)
        .first()
    )
    return max(since, last) if last else since


def with_review_base(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Dormant cases annotated with ``review_base``: the last review of this dormant period
    or, before the first review, the date the case went dormant. Two correlated subqueries
    per dormant case (both on indexed columns), whatever the number of reviews."""
    went_dormant = (
        CaseStateChange.objects.filter(case_id=OuterRef("pk"), to_state=CaseState.DORMANT)
        .order_by("-at", "-id")
        .annotate(day=TruncDate("at"))
        .values("day")[:1]
    )
    last_review = (
        DormantReview.objects.filter(case_id=OuterRef("pk"))
        .order_by("-reviewed_on", "-id")
        .values("reviewed_on")[:1]
    )
    return (
        cases.filter(state=CaseState.DORMANT)
        .annotate(
            dormant_on=Subquery(went_dormant, output_field=DateField()),
            last_review_on=Subquery(last_review, output_field=DateField()),
        )
        .annotate(
            review_base=Greatest(
                F("dormant_on"),
                Coalesce(F("last_review_on"), F("dormant_on")),
                output_field=DateField(),
            )
        )
    )


def _review_scope(user: User) -> QuerySet[Case]:
    """A manager: every dormant case of the team. An officer: their own."""
    if not _active(user):
        return Case.objects.none()
    visible = cases_visible_to(user)
    if user.has_role(Role.CME_MANAGER):
        return visible
    if user.has_role(Role.CME_OFFICER):
        return visible.filter(assigned_officer=user)
    return Case.objects.none()


def _start_of(day: dt.date) -> dt.datetime:
    """The first moment of ``day`` in the service's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _dormant_changes() -> QuerySet[CaseStateChange]:
    return CaseStateChange.objects.filter(case_id=OuterRef("pk"), to_state=CaseState.DORMANT)


def base_on_or_before(cases: QuerySet[Case], day: dt.date) -> QuerySet[Case]:
    """Dormant cases whose review base (the later of the dormant date and the last review)
    is on or before ``day``: no dormant change and no review after it. Anti-joins on
    indexed columns, so the database never works out the base of every case."""
    after = _start_of(day + dt.timedelta(days=1))
    return cases.filter(
        Q(state=CaseState.DORMANT)
        & Exists(_dormant_changes())
        & ~Exists(_dormant_changes().filter(at__gte=after))
        & ~Exists(DormantReview.objects.filter(case_id=OuterRef("pk"), reviewed_on__gt=day))
    )


def base_on_or_after(cases: QuerySet[Case], day: dt.date) -> QuerySet[Case]:
    """Cases whose review base is on or after ``day`` (a dormant change or a review then
    or later; reviews of an earlier dormant period are all before its dormant date)."""
    return cases.filter(
        Exists(_dormant_changes().filter(at__gte=_start_of(day)))
        | Exists(DormantReview.objects.filter(case_id=OuterRef("pk"), reviewed_on__gte=day))
    )


def overdue_reviews(user: User, *, today: dt.date) -> QuerySet[Case]:
    """Dormant cases whose review is overdue on ``today`` (due before it), oldest referral
    first, each with ``review_base`` (worked out only for the rows fetched)."""
    cutoff = latest_base_due_by(today - dt.timedelta(days=1))
    return with_review_base(base_on_or_before(_review_scope(user), cutoff)).order_by(
        "date_referred", "pk"
    )


def reviews_due_this_week(user: User, *, today: dt.date) -> QuerySet[Case]:
    """Dormant cases whose review is due from ``today`` to the end of this week (Sunday)."""
    lo, hi = earliest_base_due_from(today), latest_base_due_by(week_end(today))
    scoped = base_on_or_after(base_on_or_before(_review_scope(user), hi), lo)
    return with_review_base(scoped).order_by("date_referred", "pk")
