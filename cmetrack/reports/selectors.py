"""Aggregate reads behind every figure: grouped counts in the database, never a loop over
cases in Python.

Who may see what is decided here too: an auditor (or senior manager) sees counts only;
CME officers and managers see the counts and, on opening a figure, the cases behind it
through :func:`cmetrack.cases.selectors.cases_visible_to`; nobody else sees reports.

"As at a date" is reconstructed from the append-only state history
(:class:`cmetrack.cases.models.CaseStateChange`) by the day each change took effect
(``effective_on``, not when it was keyed): the state of a case at the end of day D is the
``to_state`` of its latest change effective on or before D (ties broken by id). The facts a
breakdown uses (care, SEN, child in need or protection, vulnerable groups, the reason, new
to the area or country) are read as at D from their dated rows, as now known (corrections
replace the value they correct, for every day). For the current day the case's own
columns are the same thing, and are used.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection
from django.db.models import Case as When_
from django.db.models import (
    Count,
    DateField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import (
    Coalesce,
    Greatest,
    Length,
    StrIndex,
    Substr,
    Trim,
    Upper,
)
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import OPEN_STATES, CaseState, LocatedRoute, Outcome
from cmetrack.cases.models import (
    CME_REASON_CATEGORY,
    Case,
    CaseFact,
    CaseStateChange,
    CmeCategory,
    CmeReason,
    ProvisionEpisode,
    ReferralRoute,
    YesNoUnknown,
)
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.casework.models import ContactAttempt
from cmetrack.casework.selectors import no_contact_days
from cmetrack.detection.models import Alert, AlertRule, AlertState
from cmetrack.people.choices import Ethnicity, SenProvision, Sex, VulnerableGroup
from cmetrack.people.models import Child, ChildFact, ChildVulnerability
from cmetrack.referrals.models import Referral
from cmetrack.rules import academic_year_start_for, national_curriculum_year
from cmetrack.rules.reviews import next_dormant_review

from .periods import Period

# --- who may see reports -----------------------------------------------------------------

#: Roles that see the figures (counts).
REPORT_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.AUDITOR})
#: Roles that may open a figure to the cases behind it (through their case scope).
CASE_LIST_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER})
#: Roles that issue termly reports and rate the self-evaluation checklist.
MANAGE_ROLES = frozenset({Role.CME_MANAGER, Role.AUDITOR})


def may_see_reports(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_role(*REPORT_ROLES))


def may_see_cases(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_role(*CASE_LIST_ROLES))


def may_manage_reports(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active and user.has_role(*MANAGE_ROLES))


# --- the populations -------------------------------------------------------------------

#: "Missing education": an open case not yet in provision (in provision = the child has
#: started somewhere and attendance is being monitored).
CME_STATES = frozenset(OPEN_STATES - {CaseState.IN_PROVISION})
#: Living in the area and not in education: located here, being assessed, awaiting a place.
NOT_IN_EDUCATION_STATES = frozenset({CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION})
#: Whereabouts still unknown.
NOT_FOUND_STATES = frozenset(
    {CaseState.RECEIVED, CaseState.SLO_INVESTIGATION, CaseState.TRACKING, CaseState.DORMANT}
)


def end_of_day(day: dt.date) -> dt.datetime:
    """The first instant after ``day`` in the service's time zone (exclusive bound)."""
    midnight = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min)
    return timezone.make_aware(midnight)


#: Located routes after which a located case is not missing education: the child is on
#: a roll, home educated, or gone (the DfE's rule). A located case without a route yet
#: still counts.
LOCATED_ELSEWHERE = (
    LocatedRoute.ON_ROLL.value,
    LocatedRoute.HOME_EDUCATED.value,
    LocatedRoute.MOVED_LA.value,
    LocatedRoute.LEFT_COUNTRY.value,
)
_ELSEWHERE_SQL = ", ".join(f"'{r}'" for r in LOCATED_ELSEWHERE)
#: The pseudo-state of a case located on a roll, home educated or gone: in no figure.
LOCATED_ELSEWHERE_STATE = "located_elsewhere"
#: The state of case ``c`` at the end of the day, in the SQL of :func:`_cases_then_sql`:
#: the ``from_state`` of its first change effective after that day; with none, its current
#: state; "" (the case's first change is after the day, yet it was referred by then: keyed
#: late) is "received". A located case whose route is elsewhere counts as
#: :data:`LOCATED_ELSEWHERE_STATE`. Only constants are put into the SQL.
_RAW_STATE_THEN = (
    "(CASE WHEN n.from_state IS NULL THEN c.state WHEN n.from_state = '' THEN 'received' "
    "ELSE n.from_state END)"
)
#: The located route of case ``c`` at the end of the day, in the SQL of
#: :func:`_cases_then_sql` (joins ``rf``, ``rt`` of :func:`route_then_join`): the route row
#: in force then, as now known; "" before the first (located, route not yet known); for a
#: case with no dated route row (located before routes were dated), its column.
ROUTE_THEN = "(CASE WHEN rf.case_id IS NULL THEN c.located_route ELSE COALESCE(rt.value, '') END)"
STATE_THEN = (
    f"(CASE WHEN {_RAW_STATE_THEN} = 'located' AND {ROUTE_THEN} IN ({_ELSEWHERE_SQL}) "
    f"THEN '{LOCATED_ELSEWHERE_STATE}' ELSE {_RAW_STATE_THEN} END)"
)


def route_at_sql(case_id: str, day: str) -> str:
    """The located route of case ``case_id`` in force at the end of ``day`` (SQL column
    expressions of the caller's own tables, no parameters): the latest route row not
    superseded that took effect by then; with no route row at all, the case's column."""
    facts = CaseFact._meta.db_table
    return (
        f"(CASE WHEN EXISTS (SELECT 1 FROM {facts} r0 WHERE r0.case_id = {case_id} "  # noqa: S608
        "AND r0.kind = 'located_route') THEN COALESCE((SELECT r1.value FROM "
        f"{facts} r1 WHERE r1.case_id = {case_id} AND r1.kind = 'located_route' "
        f"AND r1.superseded_at IS NULL AND r1.effective_on <= {day} "
        "ORDER BY r1.effective_on DESC, r1.id DESC LIMIT 1), '') "
        f"ELSE (SELECT r2.located_route FROM {Case._meta.db_table} r2 WHERE r2.id = {case_id}) END)"
    )


def route_then_join(as_at: dt.date) -> tuple[str, list[Any]]:
    """The joins (onto cases ``c``) that make :data:`ROUTE_THEN` each case's located route
    at the end of ``as_at``. Route rows are few (located cases only), so both are small."""
    facts = CaseFact._meta.db_table
    day = connection.ops.adapt_datefield_value(as_at)
    sql = (
        f" LEFT JOIN (SELECT DISTINCT case_id FROM {facts} WHERE kind = 'located_route') rf "  # noqa: S608
        "ON rf.case_id = c.id LEFT JOIN (SELECT f.case_id, f.value FROM "
        f"{facts} f WHERE f.kind = 'located_route' AND f.superseded_at IS NULL "
        f"AND f.effective_on <= %s AND NOT EXISTS (SELECT 1 FROM {facts} g "
        "WHERE g.case_id = f.case_id AND g.kind = 'located_route' AND g.superseded_at IS NULL "
        "AND g.effective_on <= %s AND (g.effective_on > f.effective_on OR "
        "(g.effective_on = f.effective_on AND g.id > f.id)))) rt ON rt.case_id = c.id"
    )
    return sql, [day, day]


def in_states_q(states: Iterable[str]) -> Q:
    """Cases whose current state is one of ``states`` (a located case only when its route
    is not elsewhere): today's side of :data:`STATE_THEN`."""
    states = set(states)
    q = Q(state__in=sorted(states - {CaseState.LOCATED}))
    if CaseState.LOCATED in states:
        q |= Q(state=CaseState.LOCATED) & ~Q(located_route__in=LOCATED_ELSEWHERE)
    return q


def state_then_join(as_at: dt.date) -> tuple[str, list[Any]]:
    """The join (onto cases ``c``) that makes :data:`STATE_THEN` each case's state at the
    end of ``as_at``: the ``from_state`` of its first change effective after that day."""
    params = [connection.ops.adapt_datefield_value(as_at)]
    changes = CaseStateChange._meta.db_table
    if connection.vendor == "postgresql":
        # One probe of the (case, effective_on, id) index per case the outer query keeps:
        # far cheaper than numbering every change since when the date is months back.
        return (
            f"LEFT JOIN LATERAL (SELECT s.from_state FROM {changes} s "  # noqa: S608
            "WHERE s.case_id = c.id AND s.effective_on > %s "
            "ORDER BY s.effective_on, s.id LIMIT 1) n ON TRUE",
            params,
        )
    return (
        "LEFT JOIN (SELECT case_id, from_state, ROW_NUMBER() OVER "  # noqa: S608
        f"(PARTITION BY case_id ORDER BY effective_on, id) AS rn FROM {changes} "
        "WHERE effective_on > %s) n ON n.case_id = c.id AND n.rn = 1",
        params,
    )


def _cases_then_sql(
    as_at: dt.date,
    states: Iterable[str],
    *,
    join: str = "",
    join_params: list[Any] | None = None,
) -> tuple[str, list[Any]]:
    """A FROM clause (cases ``c``) for the cases referred by ``as_at``, where
    :data:`STATE_THEN` is each case's state at the end of that day.

    The history is read backwards from now: a case's state at the end of D is the
    ``from_state`` of its first change after D, or, with no change since, its current
    state (:func:`state_then_join`), so the cost falls the nearer D is to today. A case opened
    after D has "" there and counts in no state. Cases closed by D are left out when
    ``states`` has no "closed": closed is final, and ``closed_on`` is the day the closing
    change took effect. Only table names and placeholders are put into the SQL."""
    ops = connection.ops
    day = ops.adapt_datefield_value(as_at)
    params: list[Any] = [day]
    where = "c.date_referred <= %s"
    if CaseState.CLOSED not in set(states):
        where += " AND (c.closed_on IS NULL OR c.closed_on > %s)"
        params.append(day)
    state_join, state_params = state_then_join(as_at)
    route_join, route_params = route_then_join(as_at)
    sql = f"{Case._meta.db_table} c {state_join}{route_join}{join} WHERE {where}"
    return sql, [*state_params, *route_params, *(join_params or []), *params]


def _case_ids_in_states_at(as_at: dt.date, states: Iterable[str]) -> RawSQL:
    states = sorted(states)
    cases, params = _cases_then_sql(as_at, states)
    placeholders = ", ".join(["%s"] * len(states))
    sql = f"SELECT c.id FROM {cases} AND {STATE_THEN} IN ({placeholders})"  # noqa: S608
    return RawSQL(sql, [*params, *states])  # noqa: S611 (placeholders only)


def cases_in_states_at(
    as_at: dt.date, states: Iterable[str], *, today: dt.date | None = None
) -> QuerySet[Case]:
    """Cases referred by ``as_at`` whose state at the end of that day was one of
    ``states``: the state column for today, else the state history (set-based: the latest
    change per case by then, one window-function pass). Unscoped: callers count it, or
    intersect it with the viewer's scope."""
    today = today or timezone.localdate()
    states = list(states)
    if as_at >= today:
        return Case.objects.filter(in_states_q(states))
    return Case.objects.filter(
        date_referred__lte=as_at, pk__in=_case_ids_in_states_at(as_at, states)
    )


# --- figures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Params:
    as_at: dt.date
    period: Period
    today: dt.date


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    #: How the figure is computed, in words for the page.
    how: str
    #: "as_at" (a count on a date) or "period" (events in a period).
    kind: str
    #: "children" (distinct children) or "cases" (episodes).
    unit: str
    dimensions: tuple[str, ...]
    build: Callable[[Params], QuerySet[Case]]
    #: What the system cannot yet count for this figure, said on the page.
    caveat: str = ""
    #: For a figure on a date: the states it counts, and whether only children located
    #: as living in the area count.
    states: frozenset[str] = frozenset()
    living_here_only: bool = False


def _in_states(states: Iterable[str]) -> Callable[[Params], QuerySet[Case]]:
    def build(p: Params) -> QuerySet[Case]:
        return cases_in_states_at(p.as_at, states, today=p.today)

    return build


def _not_in_education(p: Params) -> QuerySet[Case]:
    """Located as living in the area (the route recorded when located), and at the date
    still located, in needs assessment or awaiting provision."""
    states = {*NOT_IN_EDUCATION_STATES, CaseState.LOCATED}
    living_here = LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION.value
    qs = cases_in_states_at(p.as_at, states, today=p.today)
    if p.as_at >= p.today:
        return qs.filter(located_route=living_here)
    return qs.filter(pk__in=_case_ids_with_route_at(p.as_at, living_here))


def _case_ids_with_route_at(as_at: dt.date, route: str) -> RawSQL:
    """The cases whose located route at the end of ``as_at`` was ``route`` (as now known)."""
    join, params = route_then_join(as_at)
    sql = f"SELECT c.id FROM {Case._meta.db_table} c{join} WHERE {ROUTE_THEN} = %s"  # noqa: S608
    return RawSQL(sql, [*params, route])  # noqa: S611 (placeholders only)


def _opened_q(p: Params) -> Q:
    return Q(date_referred__range=(p.period.start, p.period.end))


def _located_q(p: Params) -> Q:
    return Q(located_on__range=(p.period.start, p.period.end))


def _closed_q(p: Params) -> Q:
    return Q(closed_on__range=(p.period.start, p.period.end))


def _reopened_q(p: Params) -> Q:
    return _opened_q(p) & Q(previous_case__isnull=False)


def _no_contact_q(p: Params) -> Q:
    """casework's rule (``without_contact``: the last contact attempt, or the referral when
    there is none, ``CMETRACK_NO_CONTACT_DAYS`` or more days ago), written as an anti-join
    on the (case, date) index instead of a grouped MAX so that breakdowns stay one pass:
    referred by the cut-off, and no attempt after it."""

    cutoff = p.today - dt.timedelta(days=no_contact_days())
    attempts = ContactAttempt.objects.filter(case_id=OuterRef("pk"))
    # Equal to casework's rule whenever no contact attempt is dated before the referral.
    return Q(state__in=list(OPEN_STATES), date_referred__lte=cutoff) & ~Q(
        Exists(attempts.filter(date__gt=cutoff))
    )


def _opened(p: Params) -> QuerySet[Case]:
    return Case.objects.filter(_opened_q(p))


def _located(p: Params) -> QuerySet[Case]:
    return Case.objects.filter(_located_q(p))


def _closed(p: Params) -> QuerySet[Case]:
    return Case.objects.filter(_closed_q(p))


def _reopened(p: Params) -> QuerySet[Case]:
    return Case.objects.filter(_reopened_q(p))


def _no_contact(p: Params) -> QuerySet[Case]:
    return Case.objects.filter(_no_contact_q(p))


#: The condition on a case of each figure that is not counted on a date (one per case,
#: unit "cases"): their totals are one pass over the cases (:func:`totals_not_on_a_date`).
CASE_CONDITIONS: dict[str, Callable[[Params], Q]] = {
    "no_contact": _no_contact_q,
    "opened": _opened_q,
    "reopened": _reopened_q,
    "located": _located_q,
    "closed": _closed_q,
}


CHILD_DIMENSIONS = (
    "category",
    "reason",
    "new_to_area",
    "new_to_country",
    "age",
    "year_group",
    "sex",
    "ethnicity",
    "area",
    "vulnerable",
    "in_care",
    "sen",
)

FIGURES: dict[str, Figure] = {
    f.key: f
    for f in (
        Figure(
            key="cme",
            title="Children missing education",
            how=(
                "Children with a case open at the end of the day, not yet in provision: "
                "received, SLO investigation, tracking, located living in the area (or "
                "with no route yet), needs assessment, awaiting provision or dormant. A "
                "child located on a roll, home educated or gone is not missing education. "
                "The state on a past date is the state after the case's last change that "
                "took effect on or before that day, as now known (a change keyed late "
                "counts from the day it took effect). A child counts once even with two "
                "open cases."
            ),
            kind="as_at",
            unit="children",
            dimensions=("state", "route", "located_route", *CHILD_DIMENSIONS),
            build=_in_states(CME_STATES),
            states=frozenset(CME_STATES),
        ),
        Figure(
            key="not_found",
            title="Whereabouts not yet known",
            how=(
                "Children whose case was received, in SLO investigation, tracking or "
                "dormant at the end of the day: the child has not been located."
            ),
            kind="as_at",
            unit="children",
            dimensions=("state", "route", *CHILD_DIMENSIONS),
            build=_in_states(NOT_FOUND_STATES),
            states=frozenset(NOT_FOUND_STATES),
        ),
        Figure(
            key="not_in_education",
            title="Living in the area, not in education",
            how=(
                "Children located as living in the area and not in education (the route "
                "recorded when located) whose case was located, in needs assessment or "
                "awaiting provision at the end of the day."
            ),
            kind="as_at",
            unit="children",
            dimensions=("state", "route", *CHILD_DIMENSIONS),
            build=_not_in_education,
            states=frozenset({*NOT_IN_EDUCATION_STATES, CaseState.LOCATED}),
            living_here_only=True,
        ),
        Figure(
            key="in_provision",
            title="In provision, attendance monitored",
            how="Children whose case was in provision at the end of the day.",
            kind="as_at",
            unit="children",
            dimensions=("route", *CHILD_DIMENSIONS),
            build=_in_states({CaseState.IN_PROVISION}),
            states=frozenset({CaseState.IN_PROVISION}),
        ),
        Figure(
            key="dormant",
            title="Dormant cases",
            how=(
                "Cases dormant at the end of the day. A dormant case is reviewed monthly: "
                "the next review is due one calendar month after the last (rules.md §6); "
                "it is overdue from the day after; due means due within the next 7 days. "
                "The last review is the latest dormant review recorded in the case's "
                "current dormant period, or the day it went dormant if none."
            ),
            kind="as_at",
            unit="cases",
            dimensions=("review", "route", *CHILD_DIMENSIONS),
            build=_in_states({CaseState.DORMANT}),
            states=frozenset({CaseState.DORMANT}),
        ),
        Figure(
            key="no_contact",
            title="Cases without contact for over a month",
            how=(
                "Open cases whose last contact attempt (or, with none, the referral) was "
                "the configured number of days ago or more (CMETRACK_NO_CONTACT_DAYS, "
                "default 30). Counted as at today: contact history is not reconstructed "
                "for past dates."
            ),
            kind="today",
            unit="cases",
            dimensions=("state", "route", *CHILD_DIMENSIONS),
            build=_no_contact,
        ),
        Figure(
            key="opened",
            title="New cases (date referred in the period)",
            how=(
                "Cases whose date referred in falls in the period, both days included. A "
                "case reopened as a new episode counts again, on its new date referred."
            ),
            kind="period",
            unit="cases",
            dimensions=("route", "state", *CHILD_DIMENSIONS),
            build=_opened,
        ),
        Figure(
            key="reopened",
            title="Cases reopened as a new episode",
            how="New cases in the period that follow an earlier, closed episode of the child.",
            kind="period",
            unit="cases",
            dimensions=("route", "state"),
            build=_reopened,
        ),
        Figure(
            key="located",
            title="Children located",
            how="Cases whose date located falls in the period.",
            kind="period",
            unit="cases",
            dimensions=("located_route", "route", *CHILD_DIMENSIONS),
            build=_located,
        ),
        Figure(
            key="closed",
            title="Cases closed, by outcome",
            how="Cases whose closing date falls in the period, by the outcome recorded.",
            kind="period",
            unit="cases",
            dimensions=("outcome", "route", *CHILD_DIMENSIONS),
            build=_closed,
        ),
    )
}

NOT_YET_RECORDED: tuple[str, ...] = ()


# --- dimensions ------------------------------------------------------------------------

UNKNOWN = "unknown"
#: Dimensions that are attributes of the child, so each child is in exactly one bucket.
PARTITIONING_DIMENSIONS = frozenset({"sex", "ethnicity", "sen", "in_care", "age", "year_group"})


@dataclass(frozen=True)
class Bucket:
    key: str
    label: str
    count: int


def _labels(choices: Any) -> dict[str, str]:
    return {str(v): str(label) for v, label in choices.choices}


def _with_area(qs: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate ``area``: the outward code (postcode district) of the child's current
    address (one without an end date), through a LEFT JOIN on the current addresses (a
    child with two current addresses counts in both districts); "restricted" when that
    address is restricted (never shown); "unknown" when there is none."""
    qs = qs.annotate(
        current=FilteredRelation(
            "child__addresses", condition=Q(child__addresses__date_to__isnull=True)
        )
    ).annotate(pc=Upper(Trim(F("current__postcode"))))
    return qs.annotate(
        area=When_(
            When(current__is_restricted=True, then=Value("restricted")),
            When(Q(pc__isnull=True) | Q(pc=""), then=Value(UNKNOWN)),
            When(pc__contains=" ", then=Substr(F("pc"), 1, StrIndex(F("pc"), Value(" ")) - 1)),
            When(pc__regex=r"^.{5,}$", then=Substr(F("pc"), 1, Length("pc") - 3)),
            default=F("pc"),
        )
    )


@dataclass(frozen=True)
class Dimension:
    key: str
    title: str
    #: The field grouped on (after ``prepare``).
    field: str
    labels: Callable[[], dict[str, str]] = dict
    prepare: Callable[[QuerySet[Case]], QuerySet[Case]] = lambda qs: qs
    note: str = ""
    #: Keep the order of ``labels`` (else largest first).
    ordered: bool = True


DIMENSIONS: dict[str, Dimension] = {
    d.key: d
    for d in (
        Dimension("state", "State", "state", lambda: _labels(CaseState)),
        Dimension("route", "Route of referral", "route", lambda: _labels(ReferralRoute)),
        Dimension(
            "located_route",
            "Where located children went (located route)",
            "located_route",
            lambda: {"": "Not located", **_labels(LocatedRoute)},
        ),
        Dimension("outcome", "Outcome", "outcome", lambda: {"": "No outcome", **_labels(Outcome)}),
        Dimension(
            "category",
            "Category",
            "cme_category",
            lambda: {**_labels(CmeCategory), "": "Reason not recorded"},
            note="The category follows from the primary reason recorded on the case.",
        ),
        Dimension(
            "reason",
            "Primary reason for missing education",
            "cme_reason",
            lambda: {**_labels(CmeReason), "": "Not recorded"},
            ordered=False,
        ),
        Dimension(
            "new_to_area",
            "New to the area",
            "new_to_area",
            lambda: _labels(YesNoUnknown),
        ),
        Dimension(
            "new_to_country",
            "New to the country",
            "new_to_country",
            lambda: _labels(YesNoUnknown),
        ),
        Dimension("sex", "Sex", "child__sex", lambda: _labels(Sex)),
        Dimension(
            "ethnicity",
            "Ethnicity",
            "child__ethnicity",
            lambda: {"": "Not recorded", **_labels(Ethnicity)},
            ordered=False,
        ),
        Dimension("sen", "SEN provision", "child__sen_provision", lambda: _labels(SenProvision)),
        Dimension(
            "in_care",
            "Child in care",
            "child__in_care",
            lambda: {"True": "In care (looked after)", "False": "Not in care"},
        ),
        Dimension(
            "vulnerable",
            "Vulnerable group",
            "child__vulnerabilities__group",
            lambda: {"": "No group recorded", **_labels(VulnerableGroup)},
            note=(
                "A child in several groups counts in each, so the groups add up to more than "
                "the total. Children in care are counted under “Child in care”."
            ),
            ordered=False,
        ),
        Dimension(
            "area",
            "Area (postcode district of the current address)",
            "area",
            lambda: {"restricted": "Restricted address (not shown)", UNKNOWN: "No address"},
            prepare=_with_area,
            note=(
                "The outward part of the postcode of the child's current address. A "
                "restricted address is never used: those children count under “Restricted "
                "address”."
            ),
            ordered=False,
        ),
        Dimension(
            "age",
            "Age at the date",
            "child__dob",
            note="Age in whole years on the date (as at date, or the period's last day).",
        ),
        Dimension(
            "year_group",
            "National curriculum year group",
            "child__dob",
            note=(
                "The chronological year group in the academic year containing the date "
                "(rules: national_curriculum_year). Below Reception shows as “Below "
                "Reception”; above Year 11 as “Year 12 or above”."
            ),
        ),
        Dimension("review", "Dormant review", "review"),
    )
}


def _count_expr(unit: str) -> Count:
    return Count("child_id", distinct=True) if unit == "children" else Count("pk", distinct=True)


def figure_date(figure: Figure, p: Params) -> dt.date:
    """The day ages and year groups are worked out on."""
    if figure.kind == "period":
        return p.period.end
    if figure.kind == "today":
        return p.today
    return p.as_at


#: Breakdowns on a past date answered by one grouped SQL query (the column of cases ``c``
#: or children ``ch``), rather than through the ORM's semi-join.
PAST_COLUMNS = {
    "state": "",
    "route": "c.route",
    "located_route": ROUTE_THEN,
    "outcome": "c.outcome",
    "category": "c.cme_category",
    "reason": "c.cme_reason",
    "new_to_area": "c.new_to_area",
    "new_to_country": "c.new_to_country",
    "sex": "ch.sex",
    "ethnicity": "ch.ethnicity",
    "sen": "ch.sen_provision",
    "in_care": "ch.in_care",
    "age": "ch.dob",
    "year_group": "ch.dob",
}


# --- facts as at a date ------------------------------------------------------------------

#: The dated child facts (``people.ChildFact``): dimension → (kind, the child's column,
#: the value before the first dated row, whether a boolean).
CHILD_FACT_COLUMNS: dict[str, tuple[str, str, str, bool]] = {
    "sen": ("sen", "sen_provision", "N", False),
    "in_care": ("in_care", "in_care", "0", True),
    "cin": ("cin", "child_in_need", "0", True),
    "cp": ("cp", "child_protection_plan", "0", True),
}
#: The dated case facts (``cases.CaseFact``): dimension → (kind, the case's column, the
#: value before the first dated row).
CASE_FACT_COLUMNS: dict[str, tuple[str, str, str]] = {
    "reason": ("reason", "cme_reason", ""),
    "new_to_area": ("new_to_area", "new_to_area", "unknown"),
    "new_to_country": ("new_to_country", "new_to_country", "unknown"),
}


def _fact_sql(
    table: str, owner: str, owner_id: str, kind: str, current: str, default: str, as_at: dt.date
) -> tuple[str, list[Any]]:
    """The value of fact ``kind`` as at the end of ``as_at``, as now known: the latest row
    not superseded that took effect by then; before the first, ``default``; for a record
    with no dated row of this kind (kept before dates were), its column ``current``. Only
    table and column names from this module are put into the SQL."""
    sql = (
        f"(CASE WHEN EXISTS (SELECT 1 FROM {table} f0 WHERE f0.{owner} = {owner_id} "  # noqa: S608
        f"AND f0.kind = %s) THEN COALESCE((SELECT f.value FROM {table} f "
        f"WHERE f.{owner} = {owner_id} AND f.kind = %s AND f.superseded_at IS NULL "
        "AND f.effective_on <= %s ORDER BY f.effective_on DESC, f.id DESC LIMIT 1), %s) "
        f"ELSE {current} END)"
    )
    return sql, [kind, kind, connection.ops.adapt_datefield_value(as_at), default]


def fact_column(dimension: str, as_at: dt.date) -> tuple[str, list[Any]]:
    """The SQL (over cases ``c`` and children ``ch``) of a dated fact's value as at
    ``as_at``; booleans come back as "True" or "False", as the breakdown's keys."""
    if dimension in CHILD_FACT_COLUMNS:
        kind, column, default, boolean = CHILD_FACT_COLUMNS[dimension]
        current = f"(CASE WHEN ch.{column} THEN '1' ELSE '0' END)" if boolean else f"ch.{column}"
        sql, params = _fact_sql(
            ChildFact._meta.db_table, "child_id", "ch.id", kind, current, default, as_at
        )
        if boolean:
            sql = f"(CASE WHEN {sql} = '1' THEN 'True' ELSE 'False' END)"
        return sql, params
    if dimension == "category":
        reason, params = fact_column("reason", as_at)
        whens = " ".join(f"WHEN '{r}' THEN '{c}'" for r, c in sorted(CME_REASON_CATEGORY.items()))
        return f"(CASE {reason} {whens} ELSE '' END)", params
    kind, column, default = CASE_FACT_COLUMNS[dimension]
    return _fact_sql(
        CaseFact._meta.db_table, "case_id", "c.id", kind, f"c.{column}", default, as_at
    )


def vulnerable_groups_sql(as_at: dt.date) -> tuple[str, list[Any]]:
    """A table (``child_id``, ``grp``) of the vulnerable groups each child was in at the
    end of ``as_at``, as now known: the latest dated row of each group says in ("1") or
    out ("0"); a child with no dated rows (kept before dates were) has its current
    groups."""
    facts = ChildFact._meta.db_table
    vulnerabilities = ChildVulnerability._meta.db_table
    day = connection.ops.adapt_datefield_value(as_at)
    sql = (
        f"(SELECT f.child_id, f.{connection.ops.quote_name('key')} AS grp FROM {facts} f "  # noqa: S608
        "WHERE f.kind = 'vulnerable' AND f.superseded_at IS NULL AND f.effective_on <= %s "
        f"AND f.value = '1' AND NOT EXISTS (SELECT 1 FROM {facts} g WHERE "
        f"g.child_id = f.child_id AND g.kind = 'vulnerable' AND "
        f"g.{connection.ops.quote_name('key')} = f.{connection.ops.quote_name('key')} "
        "AND g.superseded_at IS NULL AND g.effective_on <= %s AND "
        "(g.effective_on > f.effective_on OR (g.effective_on = f.effective_on AND g.id > f.id))) "
        f"UNION ALL SELECT v.child_id, v.{connection.ops.quote_name('group')} AS grp "
        f"FROM {vulnerabilities} v WHERE NOT EXISTS (SELECT 1 FROM {facts} h "
        "WHERE h.child_id = v.child_id AND h.kind = 'vulnerable'))"
    )
    return sql, [day, day]


#: Breakdowns on a past date read from dated facts, not the record's current columns.
FACT_DIMENSIONS = frozenset({*CHILD_FACT_COLUMNS, *CASE_FACT_COLUMNS, "category"})


def grouped_in_states_at(
    as_at: dt.date,
    states: Iterable[str],
    columns: list[str],
    *,
    column_params: list[Any] | None = None,
    unit: str = "children",
    living_here_only: bool = False,
    join: str = "",
    join_params: list[Any] | None = None,
) -> list[tuple[Any, ...]]:
    """Cases (``c``, with the child as ``ch``) in ``states`` at the end of ``as_at``,
    counted by ``columns``: one grouped SQL pass. Dates of birth come back as dates on
    every database. Only table names, the callers' own column expressions and
    placeholders are put into the SQL."""
    states = sorted(states)
    join = f" JOIN {Child._meta.db_table} ch ON ch.id = c.child_id{join}"
    cases, params = _cases_then_sql(as_at, states, join=join, join_params=join_params)
    placeholders = ", ".join(["%s"] * len(states))
    where = f" AND {STATE_THEN} IN ({placeholders})"
    params += states
    if living_here_only:
        where += f" AND {ROUTE_THEN} = %s"
        params.append(LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION.value)
    count = "COUNT(DISTINCT c.child_id)" if unit == "children" else "COUNT(*)"
    positions = ", ".join(str(i + 1) for i in range(len(columns)))
    sql = (
        f"SELECT {', '.join(columns)}, {count} FROM {cases}{where} "  # noqa: S608
        f"GROUP BY {positions}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*(column_params or []), *params])
        rows = cursor.fetchall()
    dob_at = [i for i, col in enumerate(columns) if col == "ch.dob"]
    out = []
    for row in rows:
        values = list(row)
        for i in dob_at:
            if isinstance(values[i], str):
                values[i] = dt.date.fromisoformat(values[i])
        out.append(tuple(values))
    return out


def _figure_grouped_at(figure: Figure, as_at: dt.date, dimension: str) -> list[tuple[Any, int]]:
    """A figure on a past date grouped by one column, in the same single pass as its total.
    The dated facts are read as they were on that date (:func:`fact_column`)."""
    params: list[Any] = []
    join, join_params = "", list[Any]()
    if dimension in FACT_DIMENSIONS:
        column, params = fact_column(dimension, as_at)
    elif dimension == "vulnerable":
        table, join_params = vulnerable_groups_sql(as_at)
        join = f" LEFT JOIN {table} vg ON vg.child_id = c.child_id"
        column = "COALESCE(vg.grp, '')"
    else:
        column = PAST_COLUMNS[dimension] or STATE_THEN
    rows = grouped_in_states_at(
        as_at,
        figure.states,
        [column],
        column_params=params,
        unit=figure.unit,
        living_here_only=figure.living_here_only,
        join=join,
        join_params=join_params,
    )
    return [(v, int(n)) for v, n in rows]


def _case_ids_where_fact(dimension: str, as_at: dt.date, key: str) -> RawSQL:
    """The cases whose child (or case) had ``key`` as the value of a dated fact (or, for
    "vulnerable", was in group ``key``; "" for none) at the end of ``as_at``."""
    cases, child = Case._meta.db_table, Child._meta.db_table
    if dimension == "vulnerable":
        table, params = vulnerable_groups_sql(as_at)
        if key == "":
            sql = (
                f"SELECT c.id FROM {cases} c WHERE NOT EXISTS (SELECT 1 FROM {table} vg "  # noqa: S608
                "WHERE vg.child_id = c.child_id)"
            )
            return RawSQL(sql, params)  # noqa: S611 (placeholders only)
        sql = f"SELECT c.id FROM {cases} c JOIN {table} vg ON vg.child_id = c.child_id WHERE vg.grp = %s"  # noqa: S608, E501
        return RawSQL(sql, [*params, key])  # noqa: S611 (placeholders only)
    column, params = fact_column(dimension, as_at)
    sql = (
        f"SELECT c.id FROM {cases} c JOIN {child} ch ON ch.id = c.child_id "  # noqa: S608
        f"WHERE {column} = %s"
    )
    return RawSQL(sql, [*params, key])  # noqa: S611 (placeholders only)


def as_at_totals(p: Params) -> dict[str, int]:
    """Every figure on a date at once: one pass over the state history (or, for today, one
    pass over the cases) with a filtered distinct count per figure."""
    figures = [f for f in FIGURES.values() if f.kind == "as_at"]
    if p.as_at >= p.today:
        aggregates = {
            f.key: Count(
                "child_id" if f.unit == "children" else "pk",
                distinct=True,
                filter=in_states_q(f.states)
                & (
                    Q(located_route=LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION)
                    if f.living_here_only
                    else Q()
                ),
            )
            for f in figures
        }
        return {k: int(v or 0) for k, v in Case.objects.aggregate(**aggregates).items()}
    states = sorted(set().union(*(f.states for f in figures)))
    cases, params = _cases_then_sql(p.as_at, states)
    cols: list[str] = []
    col_params: list[Any] = []
    for f in figures:
        placeholders = ", ".join(["%s"] * len(f.states))
        cond = f"{STATE_THEN} IN ({placeholders})"
        col_params += sorted(f.states)
        if f.living_here_only:
            cond += f" AND {ROUTE_THEN} = %s"
            col_params.append(LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION.value)
        what = "c.child_id" if f.unit == "children" else "c.id"
        cols.append(f"COUNT(DISTINCT CASE WHEN {cond} THEN {what} END)")
    sql = f"SELECT {', '.join(cols)} FROM {cases}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [*col_params, *params])
        row = cursor.fetchone()
    return {f.key: int(v or 0) for f, v in zip(figures, row, strict=True)}


def totals_not_on_a_date(p: Params) -> dict[str, int]:
    """The totals of every figure of a period or of today at once: one pass over the cases
    with a filtered count each (the same conditions as the figures' own querysets)."""
    figures = [f for f in FIGURES.values() if f.kind != "as_at" and f.key in CASE_CONDITIONS]
    aggregates = {
        f.key: Count("pk", filter=CASE_CONDITIONS[f.key](p)) for f in figures if f.unit == "cases"
    }
    if not aggregates:
        return {}
    return {k: int(v or 0) for k, v in Case.objects.aggregate(**aggregates).items()}


def figure_total(figure: Figure, p: Params) -> int:
    return int(figure.build(p).aggregate(n=_count_expr(figure.unit))["n"] or 0)


def _age_on(dob: dt.date, on: dt.date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _year_label(nc: int) -> str:
    if nc < 0:
        return "Below Reception"
    if nc == 0:
        return "Reception"
    if nc > 11:
        return "Year 12 or above"
    return f"Year {nc}"


def _year_key(nc: int) -> str:
    return str(max(-1, min(nc, 12)))


def _dob_buckets(
    rows: Iterable[tuple[dt.date | None, int]], kind: str, on: dt.date
) -> list[Bucket]:
    """Fold a (date of birth → count) distribution into ages or year groups (pure rules)."""
    counts: dict[str, int] = {}
    labels: dict[str, str] = {}
    year = academic_year_start_for(on)
    for dob, n in rows:
        if dob is None:
            key, label = UNKNOWN, "Date of birth not known"
        elif kind == "age":
            age = _age_on(dob, on)
            key, label = str(age), f"{age}"
        else:
            nc = national_curriculum_year(dob, year)
            key, label = _year_key(nc), _year_label(nc)
        counts[key] = counts.get(key, 0) + n
        labels[key] = label
    order = sorted(counts, key=lambda k: (k == UNKNOWN, int(k) if k != UNKNOWN else 0))
    return [Bucket(k, labels[k], counts[k]) for k in order]


def _dob_range(kind: str, key: str, on: dt.date) -> Q:
    """The dates of birth in bucket ``key`` of ``kind`` (the inverse of _dob_buckets)."""
    if key == UNKNOWN:
        return Q(child__dob__isnull=True)
    n = int(key)
    if kind == "age":
        # age n on `on`: born after on - (n+1) years, on or before on - n years.
        latest = _years_before(on, n)
        earliest = _years_before(on, n + 1) + dt.timedelta(days=1)
        return Q(child__dob__range=(earliest, latest))
    birth_year = academic_year_start_for(on) - n - 5  # the birth academic year's start
    if n <= -1:
        return Q(child__dob__gte=dt.date(birth_year, 9, 1))
    if n >= 12:
        return Q(child__dob__lte=dt.date(birth_year + 1, 8, 31))
    return Q(child__dob__range=(dt.date(birth_year, 9, 1), dt.date(birth_year + 1, 8, 31)))


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


REVIEW_LABELS = {
    "overdue": "Review overdue",
    "due": "Review due within 7 days",
    "later": "Review due later",
}


def _review_bounds(on: dt.date) -> tuple[dt.date, dt.date]:
    """(L0, L7): a last review before L0 is overdue on ``on``; from L0 to the day before L7
    the next review is due within 7 days; from L7 it is due later. next_dormant_review
    grows with its argument, so each status is one range of last-review dates."""

    def first_with_next_at_least(target: dt.date) -> dt.date:
        day = on - dt.timedelta(days=40)
        while next_dormant_review(day) < target:
            day += dt.timedelta(days=1)
        return day

    return first_with_next_at_least(on), first_with_next_at_least(on + dt.timedelta(days=8))


def _review_q(key: str, on: dt.date) -> Q:
    l0, l7 = _review_bounds(on)
    if key == "overdue":
        return Q(last_review__lt=l0) | Q(last_review__isnull=True)
    if key == "due":
        return Q(last_review__gte=l0, last_review__lt=l7)
    return Q(last_review__gte=l7)


def _with_last_review(qs: QuerySet[Case], on: dt.date) -> QuerySet[Case]:
    """Annotate ``last_review``: the latest dormant review recorded on or before ``on`` in
    the case's current dormant period (safeguarding's DormantReview, when that app is
    installed), or else the day the case last went dormant."""
    went_dormant = (
        CaseStateChange.objects.filter(
            case_id=OuterRef("pk"), to_state=CaseState.DORMANT, effective_on__lte=on
        )
        .order_by("-effective_on", "-id")
        .values("effective_on")[:1]
    )
    qs = qs.annotate(dormant_on=Subquery(went_dormant, output_field=DateField()))
    try:
        review_model = apps.get_model("safeguarding", "DormantReview")
    except LookupError:
        return qs.annotate(last_review=F("dormant_on"))
    reviewed = (
        review_model.objects.filter(case_id=OuterRef("pk"), reviewed_on__lte=on)
        .order_by("-reviewed_on", "-id")
        .values("reviewed_on")[:1]
    )
    return qs.annotate(
        reviewed_on=Subquery(reviewed, output_field=DateField()),
        last_review=Greatest(
            F("dormant_on"), Coalesce(F("reviewed_on"), F("dormant_on")), output_field=DateField()
        ),
    )


def _review_buckets(qs: QuerySet[Case], on: dt.date) -> list[Bucket]:
    """Dormant cases by review status: one query grouped by the last-review date, each
    date then placed by the rule (a handful of dates, never the cases)."""
    l0, l7 = _review_bounds(on)
    counts = dict.fromkeys(REVIEW_LABELS, 0)
    rows = (
        _with_last_review(qs, on)
        .values_list(*["last_review"])
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    for last, n in rows:
        key = "overdue" if last is None or last < l0 else "due" if last < l7 else "later"
        counts[key] += n
    return [Bucket(k, label, counts[k]) for k, label in REVIEW_LABELS.items()]


def _past_as_at(figure: Figure, p: Params) -> bool:
    return figure.kind == "as_at" and p.as_at < p.today


def breakdown(figure: Figure, dimension_key: str, p: Params) -> list[Bucket]:
    """The figure's count by one dimension: one grouped query."""
    dim = DIMENSIONS[dimension_key]
    qs = dim.prepare(figure.build(p))
    on = figure_date(figure, p)
    if dimension_key == "review":
        return _review_buckets(qs, on)
    if (
        (dimension_key in PAST_COLUMNS or dimension_key == "vulnerable")
        and figure.states
        and _past_as_at(figure, p)
    ):
        rows: Iterable[tuple[Any, int]] = _figure_grouped_at(figure, p.as_at, dimension_key)
    else:
        rows = qs.values_list(dim.field).annotate(n=_count_expr(figure.unit)).order_by()
    if dimension_key in ("age", "year_group"):
        return _dob_buckets(rows, dimension_key, on)
    labels = dim.labels()
    counts: dict[str, int] = {}
    for value, n in rows:
        key = "" if value is None else str(value)
        counts[key] = counts.get(key, 0) + n
    buckets = [Bucket(k, labels.get(k, k or "Not recorded"), n) for k, n in counts.items()]
    if dim.ordered and labels:
        order = {k: i for i, k in enumerate(labels)}
        buckets.sort(key=lambda b: (order.get(b.key, len(order)), b.key))
    else:
        buckets.sort(key=lambda b: (-b.count, b.label))
    return buckets


def figure_cases(
    figure: Figure, p: Params, *, dimension: str = "", value: str | None = None
) -> QuerySet[Case]:
    """The cases behind a figure (or one bucket of a breakdown), unscoped."""
    qs = figure.build(p)
    if not dimension:
        return qs
    dim = DIMENSIONS[dimension]
    qs = dim.prepare(qs)
    key = value or ""
    if dimension in ("age", "year_group"):
        return qs.filter(_dob_range(dimension, key, figure_date(figure, p)))
    if dimension == "review":
        on = figure_date(figure, p)
        return _with_last_review(qs, on).filter(_review_q(key, on))
    if (dimension in FACT_DIMENSIONS or dimension == "vulnerable") and _past_as_at(figure, p):
        return qs.filter(pk__in=_case_ids_where_fact(dimension, p.as_at, key))
    if dimension == "in_care":
        return qs.filter(child__in_care=(key == "True"))
    if dimension == "state" and _past_as_at(figure, p):
        return qs.filter(pk__in=_case_ids_in_states_at(p.as_at, [key]))
    if dimension == "located_route" and _past_as_at(figure, p):
        return qs.filter(pk__in=_case_ids_with_route_at(p.as_at, key))
    if dimension == "vulnerable" and key == "":
        return qs.filter(child__vulnerabilities__isnull=True)
    if key == "" and dimension in ("located_route", "outcome", "ethnicity"):
        return qs.filter(**{dim.field: ""})
    return qs.filter(**{dim.field: key}).distinct()


def scoped_cases(user: User, qs: QuerySet[Case]) -> QuerySet[Case]:
    """``qs`` narrowed to the cases ``user`` may see; none for a counts-only role."""
    if not may_see_cases(user):
        return Case.objects.none()
    return cases_visible_to(user).filter(pk__in=qs.values("pk"))


# --- trends ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendRow:
    period: Period
    #: Children missing education at the end of the period (or on the as-at date).
    cme: int
    by_state: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    located: int = 0
    closed: int = 0


def trend(periods: list[Period], *, as_at: dt.date) -> list[TrendRow]:
    """Children missing education at the end of each period, by state, plus the cases
    opened, located and closed in each: three queries whatever the number of periods.

    The count at a period's end comes from the state history: each state change opens a
    span that lasts until the case's next change (a window function), and a case counts at
    a cut-off when the span covering it is a missing-education state. The last period ends
    on ``as_at`` if that is earlier than its last day."""
    ends = [min(p.end, as_at) for p in periods]
    by_state: list[dict[str, int]] = [{} for _ in periods]
    for row in _span_counts(ends, by_state=True):
        for i in range(len(periods)):
            if row[i + 1]:
                by_state[i][row[0]] = int(row[i + 1])
    # A case is in one state at any instant, so the total is the sum over states.
    totals = [sum(states.values()) for states in by_state]
    events = _trend_events(periods, as_at)
    return [
        TrendRow(period=p, cme=totals[i], by_state=by_state[i], **events[i])
        for i, p in enumerate(periods)
    ]


def _span_counts(ends: list[dt.date], *, by_state: bool) -> list[tuple[Any, ...]]:
    """One row (or one per state) of the cases in a missing-education state at the end of
    each day in ``ends`` (one span per case covers any instant, so a sum counts cases; a
    child has one open case at a time, as reopening refuses a second). Only table names
    and placeholders are put into the SQL."""
    ops = connection.ops
    states = sorted(CME_STATES)
    cols, params = [], []
    for i, end in enumerate(ends):
        # A span covers the end of day E when it took effect by E and its next change
        # took effect after E (spans of changes superseded the same day cover nothing).
        cols.append(
            "SUM(CASE WHEN s.start_on <= %s AND (s.end_on IS NULL OR s.end_on > %s) "
            f"AND c.date_referred <= %s THEN 1 ELSE 0 END) AS p{i}"
        )
        day = ops.adapt_datefield_value(end)
        params += [day, day, day]
    placeholders = ", ".join(["%s"] * len(states))
    head = "s.to_state, " if by_state else ""
    tail = " GROUP BY s.to_state" if by_state else ""
    # Only table names, constants and placeholders are interpolated.
    sql = (
        "WITH s AS (SELECT case_id, to_state, effective_on AS start_on, "  # noqa: S608
        "LEAD(effective_on) OVER (PARTITION BY case_id ORDER BY effective_on, id) AS end_on "
        f"FROM {CaseStateChange._meta.db_table}) "
        f"SELECT {head}{', '.join(cols)} FROM s "
        f"JOIN {Case._meta.db_table} c ON c.id = s.case_id "
        f"WHERE s.to_state IN ({placeholders}) AND s.start_on <= %s "
        f"AND NOT (s.to_state = 'located' AND {route_at_sql('c.id', 's.start_on')} "
        f"IN ({_ELSEWHERE_SQL})){tail}"
    )
    last_day = ops.adapt_datefield_value(max(ends))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *states, last_day])
        return [tuple(r) for r in cursor.fetchall()]


def _trend_events(periods: list[Period], as_at: dt.date) -> list[dict[str, int]]:
    aggregates: dict[str, Any] = {}
    for i, p in enumerate(periods):
        rng = (p.start, min(p.end, as_at))
        aggregates[f"o{i}"] = Count("pk", filter=Q(date_referred__range=rng))
        aggregates[f"l{i}"] = Count("pk", filter=Q(located_on__range=rng))
        aggregates[f"c{i}"] = Count("pk", filter=Q(closed_on__range=rng))
    lo = periods[0].start
    row = Case.objects.filter(
        Q(date_referred__gte=lo) | Q(located_on__gte=lo) | Q(closed_on__gte=lo)
    ).aggregate(**aggregates)
    return [
        {"opened": row[f"o{i}"], "located": row[f"l{i}"], "closed": row[f"c{i}"]}
        for i in range(len(periods))
    ]


# --- pace into provision ---------------------------------------------------------------


@dataclass(frozen=True)
class PaceMeasure:
    key: str
    title: str
    start: str
    end: str
    how: str


PACE_MEASURES: dict[str, PaceMeasure] = {
    m.key: m
    for m in (
        PaceMeasure(
            "referral_to_determined",
            "Referral to form of provision determined",
            "date_referred",
            "date_provision_determined",
            "Days from the date referred in to the date the form of provision was "
            "determined, for cases whose provision was determined in the period.",
        ),
        PaceMeasure(
            "referral_to_provision",
            "Referral to moved into provision",
            "date_referred",
            "date_moved_into_provision",
            "Days from the date referred in to the date the child moved into provision, "
            "for cases that moved into provision in the period.",
        ),
        PaceMeasure(
            "determined_to_provision",
            "Form of provision determined to moved into provision",
            "date_provision_determined",
            "date_moved_into_provision",
            "Days from the date the form of provision was determined to the date the "
            "child moved into provision, for cases that moved into provision in the period.",
        ),
    )
}


def _pace_date(field: str) -> Any:
    """A pace date of a case: the date moved into provision is the case's first provision
    episode's start (kept when a placement fails), else the case's own date."""
    if field != "date_moved_into_provision":
        return F(field)
    first = (
        ProvisionEpisode.objects.filter(case_id=OuterRef("pk"))
        .order_by("started_on", "id")
        .values("started_on")[:1]
    )
    return Coalesce(Subquery(first, output_field=DateField()), F(field))


def pace_annotate(qs: QuerySet[Case], measure: PaceMeasure) -> QuerySet[Case]:
    """``qs`` annotated ``pace_start``, ``pace_end`` and ``days`` (a duration)."""
    return qs.annotate(
        pace_start=_pace_date(measure.start), pace_end=_pace_date(measure.end)
    ).annotate(
        days=ExpressionWrapper(F("pace_end") - F("pace_start"), output_field=DurationField())
    )


def pace_cases(measure: PaceMeasure, period: Period) -> QuerySet[Case]:
    """Cases of ``measure`` in ``period`` with both dates, annotated ``days`` (a duration).
    A case's move into provision is its first (a later failed placement changes nothing)."""
    # (Keyword arguments by name: the django-stubs plugin does not see annotations.)
    return pace_annotate(Case.objects.all(), measure).filter(
        **{"pace_end__range": (period.start, period.end), "pace_start__isnull": False}
    )


def pace_histogram(measure: PaceMeasure, period: Period) -> tuple[dict[int, int], int]:
    """(days → cases) for the cases with dates in order, and how many had the end date
    before the start date (left out, listed in the validation report)."""
    rows = pace_cases(measure, period).values_list(*["days"]).annotate(n=Count("pk")).order_by()
    histogram: dict[int, int] = {}
    out_of_order = 0
    for days, n in rows:
        d = days.days if isinstance(days, dt.timedelta) else int(days)
        if d < 0:
            out_of_order += n
        else:
            histogram[d] = histogram.get(d, 0) + n
    return histogram, out_of_order


def pace_over(measure: PaceMeasure, period: Period, threshold: int) -> QuerySet[Case]:
    return pace_cases(measure, period).filter(**{"days__gt": dt.timedelta(days=threshold)})


# --- referrals and leavers (counts only) -------------------------------------------------


def referrals_by_route(period: Period) -> list[Bucket]:

    lo, hi = end_of_day(period.start - dt.timedelta(days=1)), end_of_day(period.end)
    rows = (
        Referral.objects.filter(received_at__gte=lo, received_at__lt=hi)
        .values_list("route")
        .annotate(n=Count("pk"))
        .order_by()
    )
    labels = _labels(ReferralRoute)
    counts = dict(rows)
    return [Bucket(k, v, int(counts.get(k, 0))) for k, v in labels.items()]


def leavers_without_destination(as_at: dt.date) -> dict[str, int]:
    """Children who left a roll with no known destination (detection alerts) found by
    ``as_at``, and how many are still not found (no case yet, or the case's child not yet
    located). Empty counts when detection has not run."""

    qs = Alert.objects.filter(rule=AlertRule.LEAVER_NO_DESTINATION, detected_on__lte=as_at)
    not_found = Q(case__isnull=True) | Q(case__state__in=list(NOT_FOUND_STATES))
    row = qs.exclude(state=AlertState.DISMISSED).aggregate(
        total=Count("pk"), not_found=Count("pk", filter=not_found)
    )
    return {"total": int(row["total"] or 0), "not_found": int(row["not_found"] or 0)}


# --- helpers used by tests and the benchmark ------------------------------------------


def count_cases(qs: QuerySet[Case]) -> int:
    return int(qs.aggregate(n=Count("pk"))["n"] or 0)


__all__ = [
    "CME_STATES",
    "DIMENSIONS",
    "FIGURES",
    "PACE_MEASURES",
    "Bucket",
    "Figure",
    "Params",
    "breakdown",
    "cases_in_states_at",
    "figure_cases",
    "figure_total",
    "may_see_cases",
    "may_see_reports",
    "pace_histogram",
    "pace_over",
    "trend",
]
