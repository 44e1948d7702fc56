"""Aggregate reads behind every figure: grouped counts in the database, never a loop over
cases in Python.

Who may see what is decided here too: an auditor (or senior manager) sees counts only;
CME officers and managers see the counts and, on opening a figure, the cases behind it
through :func:`cmetrack.cases.selectors.cases_visible_to`; nobody else sees reports.

"As at a date" is reconstructed from the append-only state history
(:class:`cmetrack.cases.models.CaseStateChange`): the state of a case at the end of day D
is the ``to_state`` of its latest change at or before the end of D (ties broken by id). One
correlated subquery per query, answered from the index on the change's case. For the
current day the case's own ``state`` column is the same thing, and is used.
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
    TruncDate,
    Upper,
)
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import OPEN_STATES, CaseState, LocatedRoute, Outcome
from cmetrack.cases.models import (
    Case,
    CaseStateChange,
    CmeCategory,
    CmeReason,
    ReferralRoute,
    YesNoUnknown,
)
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.people.choices import Ethnicity, SenProvision, Sex, VulnerableGroup
from cmetrack.people.models import Child
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


#: The state of case ``c`` at the end of the day, in the SQL of :func:`_cases_then_sql`.
STATE_THEN = "COALESCE(n.from_state, c.state)"


def state_then_join(as_at: dt.date) -> tuple[str, list[Any]]:
    """The join (onto cases ``c``) that makes :data:`STATE_THEN` each case's state at the
    end of ``as_at``: the ``from_state`` of its first change after that day, if any."""
    params = [connection.ops.adapt_datetimefield_value(end_of_day(as_at))]
    changes = CaseStateChange._meta.db_table
    if connection.vendor == "postgresql":
        # One probe of the (case, at, id) index per case the outer query keeps: far
        # cheaper than numbering every change since when the date is months back.
        return (
            f"LEFT JOIN LATERAL (SELECT s.from_state FROM {changes} s "  # noqa: S608
            "WHERE s.case_id = c.id AND s.at >= %s ORDER BY s.at, s.id LIMIT 1) n ON TRUE",
            params,
        )
    return (
        "LEFT JOIN (SELECT case_id, from_state, ROW_NUMBER() OVER "  # noqa: S608
        f"(PARTITION BY case_id ORDER BY at, id) AS rn FROM {changes} WHERE at >= %s) n "
        "ON n.case_id = c.id AND n.rn = 1",
        params,
    )


def _cases_then_sql(
    as_at: dt.date, states: Iterable[str], *, join: str = ""
) -> tuple[str, list[Any]]:
    """A FROM clause (cases ``c``) for the cases referred by ``as_at``, where
    :data:`STATE_THEN` is each case's state at the end of that day.

    The history is read backwards from now: a case's state at the end of D is the
    ``from_state`` of its first change after D, or, with no change since, its current
    state (:func:`state_then_join`), so the cost falls the nearer D is to today. A case opened
    after D has "" there and counts in no state. Cases closed by D are left out when
    ``states`` has no "closed": closed is final, and ``closed_on`` is the day the closing
    change was made. Only table names and placeholders are put into the SQL."""
    ops = connection.ops
    day = ops.adapt_datefield_value(as_at)
    params: list[Any] = [day]
    where = "c.date_referred <= %s"
    if CaseState.CLOSED not in set(states):
        where += " AND (c.closed_on IS NULL OR c.closed_on > %s)"
        params.append(day)
    state_join, join_params = state_then_join(as_at)
    sql = f"{Case._meta.db_table} c {state_join}{join} WHERE {where}"
    return sql, [*join_params, *params]


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
        return Case.objects.filter(state__in=states)
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
    return cases_in_states_at(p.as_at, states, today=p.today).filter(
        located_route=LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION
    )


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
    from cmetrack.casework.models import ContactAttempt
    from cmetrack.casework.selectors import no_contact_days

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
                "received, SLO investigation, tracking, located, needs assessment, awaiting "
                "provision or dormant. The state on a past date is the state after the "
                "case's last recorded state change on or before that day. A child counts "
                "once even with two open cases."
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
    "located_route": "c.located_route",
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


def grouped_in_states_at(
    as_at: dt.date,
    states: Iterable[str],
    columns: list[str],
    *,
    column_params: list[Any] | None = None,
    unit: str = "children",
    living_here_only: bool = False,
) -> list[tuple[Any, ...]]:
    """Cases (``c``, with the child as ``ch``) in ``states`` at the end of ``as_at``,
    counted by ``columns``: one grouped SQL pass. Dates of birth come back as dates on
    every database. Only table names, the callers' own column expressions and
    placeholders are put into the SQL."""
    states = sorted(states)
    join = f" JOIN {Child._meta.db_table} ch ON ch.id = c.child_id"
    cases, params = _cases_then_sql(as_at, states, join=join)
    placeholders = ", ".join(["%s"] * len(states))
    where = f" AND {STATE_THEN} IN ({placeholders})"
    params += states
    if living_here_only:
        where += " AND c.located_route = %s"
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
    """A figure on a past date grouped by one column, in the same single pass as its total."""
    rows = grouped_in_states_at(
        as_at,
        figure.states,
        [PAST_COLUMNS[dimension] or STATE_THEN],
        unit=figure.unit,
        living_here_only=figure.living_here_only,
    )
    if dimension == "in_care":
        return [(bool(v), int(n)) for v, n in rows]
    return [(v, int(n)) for v, n in rows]


def as_at_totals(p: Params) -> dict[str, int]:
    """Every figure on a date at once: one pass over the state history (or, for today, one
    pass over the cases) with a filtered distinct count per figure."""
    figures = [f for f in FIGURES.values() if f.kind == "as_at"]
    if p.as_at >= p.today:
        aggregates = {
            f.key: Count(
                "child_id" if f.unit == "children" else "pk",
                distinct=True,
                filter=Q(state__in=sorted(f.states))
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
            cond += " AND c.located_route = %s"
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
            case_id=OuterRef("pk"), to_state=CaseState.DORMANT, at__lt=end_of_day(on)
        )
        .order_by("-at", "-id")
        .annotate(day=TruncDate("at"))
        .values("day")[:1]
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
    if dimension_key in PAST_COLUMNS and figure.states and _past_as_at(figure, p):
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
    if dimension == "in_care":
        return qs.filter(child__in_care=(key == "True"))
    if dimension == "state" and _past_as_at(figure, p):
        return qs.filter(pk__in=_case_ids_in_states_at(p.as_at, [key]))
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
        cols.append(
            "SUM(CASE WHEN s.start_at < %s AND (s.end_at IS NULL OR s.end_at >= %s) "
            f"AND c.date_referred <= %s THEN 1 ELSE 0 END) AS p{i}"
        )
        cut = ops.adapt_datetimefield_value(end_of_day(end))
        params += [cut, cut, ops.adapt_datefield_value(end)]
    placeholders = ", ".join(["%s"] * len(states))
    head = "s.to_state, " if by_state else ""
    tail = " GROUP BY s.to_state" if by_state else ""
    # Only table names and placeholders are interpolated.
    sql = (
        "WITH s AS (SELECT case_id, to_state, at AS start_at, "  # noqa: S608
        "LEAD(at) OVER (PARTITION BY case_id ORDER BY at, id) AS end_at "
        f"FROM {CaseStateChange._meta.db_table}) "
        f"SELECT {head}{', '.join(cols)} FROM s "
        f"JOIN {Case._meta.db_table} c ON c.id = s.case_id "
        f"WHERE s.to_state IN ({placeholders}) AND s.start_at < %s{tail}"
    )
    last_cut = ops.adapt_datetimefield_value(end_of_day(max(ends)))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *states, last_cut])
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


def pace_cases(measure: PaceMeasure, period: Period) -> QuerySet[Case]:
    """Cases of ``measure`` in ``period`` with both dates, annotated ``days`` (a duration)."""
    return Case.objects.filter(
        **{
            f"{measure.end}__range": (period.start, period.end),
            f"{measure.start}__isnull": False,
        }
    ).annotate(
        days=ExpressionWrapper(F(measure.end) - F(measure.start), output_field=DurationField())
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
    from cmetrack.referrals.models import Referral

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
    from cmetrack.detection.models import Alert, AlertRule, AlertState

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
