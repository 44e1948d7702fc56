"""Scoped reads of cases: the only way views, the API and exports get cases."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.reads import children_listed
from cmetrack.people.models import Child, ChildAlias, FormerUpn
from cmetrack.rules import normalise_upn

from .lifecycle import OPEN_STATES, CaseState
from .models import (
    Case,
    CaseStateChange,
    ChronologyEvent,
    HomeVisit,
    MissingFromCareReport,
    SloVisitRequest,
)


def cases_visible_to(user: User) -> QuerySet[Case]:
    """Every case ``user`` may see; an empty queryset for roles that see no case content."""
    qs = Case.objects.select_related("child", "assigned_officer")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.has_role(*ALL_CASES_ROLES):
        return qs
    scope = Q(pk__in=[])
    if user.has_role(Role.SLO):
        scope |= Q(
            state=CaseState.SLO_INVESTIGATION, last_education_school__in=user.linked_schools.all()
        )
        moved = CaseStateChange.objects.filter(case_id=OuterRef("pk"), by=user)
        # A home visit the CME team asked of them (county procedure 5.3).
        asked = SloVisitRequest.objects.filter(case_id=OuterRef("pk"), slo=user)
        scope |= Q(assigned_officer=user) | Q(Exists(moved)) | Q(Exists(asked))
    if user.has_role(Role.VIRTUAL_SCHOOL):
        scope |= Q(child__in_care=True)
    if user.has_role(Role.SAFEGUARDING_ADVISER):
        scope |= Q(assigned_officer=user)
    return qs.filter(scope)


def open_cases_for(user: User) -> QuerySet[Case]:
    return cases_visible_to(user).filter(state__in=OPEN_STATES)


def work_queue(user: User) -> QuerySet[Case]:
    """The cases on the user's own desk: assigned to them, or for an SLO their schools'."""
    qs = open_cases_for(user)
    if user.has_role(Role.CME_MANAGER):
        return qs.filter(Q(assigned_officer=user) | Q(assigned_officer__isnull=True))
    if user.has_role(Role.SLO) and not user.has_role(Role.CME_OFFICER):
        asked = SloVisitRequest.objects.filter(
            case_id=OuterRef("pk"), slo=user, answered_at__isnull=True
        )
        return qs.filter(Q(state=CaseState.SLO_INVESTIGATION) | Q(Exists(asked)))
    if user.has_role(Role.VIRTUAL_SCHOOL) and not user.has_role(Role.CME_OFFICER):
        return qs
    return qs.filter(assigned_officer=user)


# --- Work queues ------------------------------------------------------------------------

#: The queues, by name: what each holds (before filters).
QUEUES: dict[str, str] = {
    "all": "All cases",
    "open": "Open cases",
    "unassigned": "Open cases waiting to be assigned",
    "mine": "Your open cases",
    "visits": "Home visits asked of you",
}
#: Queues that other apps provide (casework: overdue tasks). Filled by them at import.
QUEUE_HOOKS: dict[str, tuple[str, object]] = {}


@dataclass(frozen=True)
class QueueColumn:
    """A column another area adds to the work queues (last contact, next task, risk).

    ``values(case_ids)`` answers, for one page of cases, each case's text (a case left out
    shows "None"): one query a page, never one a row."""

    key: str
    header: str
    values: Callable[[list[int]], dict[int, str]]


#: The queue's extra columns, in registration order (``queue_column_register``).
QUEUE_COLUMNS: dict[str, QueueColumn] = {}


def queue_column_register(
    key: str, header: str, values: Callable[[list[int]], dict[int, str]]
) -> None:
    """Add a column to the work queues (from an area's ``home`` module)."""
    QUEUE_COLUMNS[key] = QueueColumn(key=key, header=header, values=values)


def queue_column_values(cases: list[Case]) -> dict[str, dict[int, str]]:
    """Every registered column's text for one page of cases."""
    ids = [c.pk for c in cases]
    if not ids:
        return {}
    return {key: column.values(ids) for key, column in QUEUE_COLUMNS.items()}


PAGE_SIZE = 50
_REFERENCE = re.compile(r"^\s*(?:CME-?)?0*(\d{1,9})\s*$", re.IGNORECASE)
#: Up to this many children matching a name search are looked up first, by id.
_NAME_MATCH_LIMIT = 10_000
_UPN = re.compile(r"^[A-Za-z]\d{11}[A-Za-z0-9]$")
#: A search finding at most this many cases is counted and paged in Python.
_SMALL_RESULT = 5000


class UnknownQueue(LookupError):
    pass


@dataclass(frozen=True)
class QueueFilters:
    state: str = ""
    route: str = ""
    #: An officer's id, or "none" for unassigned.
    officer: str = ""
    q: str = ""


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    #: The cursor for the next page, or "" on the last page.
    next_cursor: str
    total: int


def queue_cases(user: User, name: str) -> QuerySet[Case]:
    """The cases of queue ``name`` that ``user`` may see."""
    if name == "all":
        return cases_visible_to(user)
    if name == "open":
        return open_cases_for(user)
    if name == "unassigned":
        return open_cases_for(user).filter(assigned_officer__isnull=True)
    if name == "mine":
        return open_cases_for(user).filter(assigned_officer=user)
    if name == "visits":
        asked = SloVisitRequest.objects.filter(
            case_id=OuterRef("pk"), slo=user, answered_at__isnull=True
        )
        return open_cases_for(user).filter(Exists(asked))
    if name in QUEUE_HOOKS:
        hook = QUEUE_HOOKS[name][1]
        assert callable(hook)
        qs: QuerySet[Case] = hook(user, open_cases_for(user))
        return qs
    raise UnknownQueue(name)


def search_cases(qs: QuerySet[Case], q: str) -> QuerySet[Case]:
    """Narrow by a case reference (CME-000123), a UPN, or words of the child's name."""
    q = q.strip()
    if not q:
        return qs
    ref = _REFERENCE.match(q)
    if ref:
        return qs.filter(pk=int(ref.group(1)))
    if _UPN.match(q.replace(" ", "")):
        upn = normalise_upn(q)
        # Two indexed lookups, then the cases of those children.
        ids = set(Child.objects.filter(upn=upn).values_list("pk", flat=True))
        ids |= set(FormerUpn.objects.filter(upn=upn).values_list("child_id", flat=True))
        return qs.filter(child_id__in=ids)
    # Every word starts one of the child's names (legal or alias). Each name is looked up
    # on its own, so that each is one index read on PostgreSQL (cases migration 0007), and
    # the children found are combined here: usually a handful, then their cases by index.
    words = q.split()[:5]
    matches: set[int] | None = None
    for word in words:
        found = set(_child_ids(legal_family_name__istartswith=word))
        found |= set(_child_ids(legal_given_names__istartswith=word))
        found |= set(
            ChildAlias.objects.filter(
                Q(family_name__istartswith=word) | Q(given_names__istartswith=word)
            ).values_list("child_id", flat=True)
        )
        matches = found if matches is None else matches & found
        if not matches:
            return qs.none()
    assert matches is not None
    if len(matches) <= _NAME_MATCH_LIMIT:
        return qs.filter(child_id__in=sorted(matches))
    children = Child.objects.order_by()
    for word in words:
        aliases = ChildAlias.objects.filter(
            Q(family_name__istartswith=word) | Q(given_names__istartswith=word)
        ).values("child_id")
        children = children.filter(
            Q(legal_family_name__istartswith=word)
            | Q(legal_given_names__istartswith=word)
            | Q(pk__in=aliases)
        )
    return qs.filter(child_id__in=children.values("pk"))


def _child_ids(**condition: str) -> QuerySet[Child, int]:
    return Child.objects.order_by().filter(**condition).values_list("pk", flat=True)


def filter_cases(qs: QuerySet[Case], filters: QueueFilters) -> QuerySet[Case]:
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.route:
        qs = qs.filter(route=filters.route)
    if filters.officer == "none":
        qs = qs.filter(assigned_officer__isnull=True)
    elif filters.officer.isdigit():
        qs = qs.filter(assigned_officer_id=int(filters.officer))
    return search_cases(qs, filters.q)


def encode_cursor(case: Case) -> str:
    return f"{case.date_referred.isoformat()}.{case.pk}"


def _decode_cursor(cursor: str) -> tuple[dt.date, int] | None:
    try:
        day, pk = cursor.split(".", 1)
        return dt.date.fromisoformat(day), int(pk)
    except ValueError:
        return None


def queue_page(
    user: User,
    name: str,
    filters: QueueFilters | None = None,
    *,
    after: str = "",
    page_size: int = PAGE_SIZE,
    with_total: bool = True,
    newest_first: bool = False,
) -> QueuePage:
    """One page of a queue, oldest referral first (or newest first), by keyset on
    (date_referred, id).

    The cost of a page does not grow with how far into the queue it is."""
    filters = filters or QueueFilters()
    qs = filter_cases(queue_cases(user, name), filters)
    position = _decode_cursor(after) if after else None
    if filters.q.strip():
        # A search usually finds a handful of cases: read all their keys at once (by the
        # child's index) and count and page them here, rather than asking the database to
        # walk the whole queue in order looking for them.
        found = list(qs.order_by().values_list("date_referred", "pk")[: _SMALL_RESULT + 1])
        if len(found) <= _SMALL_RESULT:
            found.sort(reverse=newest_first)
            total = len(found) if with_total else -1
            if position is not None:
                found = [k for k in found if (k < position if newest_first else k > position)]
            keys = [pk for _, pk in found[: page_size + 1]]
            return _page_of(keys, page_size, total, shown_in=f"search results ({name} queue)")
    total = qs.count() if with_total else -1
    if position is not None:
        day, pk = position
        # A range the (date_referred, id) index can seek to, minus the rows already shown.
        if newest_first:
            qs = qs.filter(date_referred__lte=day).exclude(date_referred=day, pk__gte=pk)
        else:
            qs = qs.filter(date_referred__gte=day).exclude(date_referred=day, pk__lte=pk)
    # Keys first (an index walk on the case table alone), then the rows with their joins:
    # the database never joins or sorts more than one page of rows.
    order = ("-date_referred", "-pk") if newest_first else ("date_referred", "pk")
    keys = list(qs.order_by(*order).values_list("pk", flat=True)[: page_size + 1])
    return _page_of(keys, page_size, total, shown_in=f"a work queue ({name})")


def _page_of(keys: list[int], page_size: int, total: int, *, shown_in: str) -> QueuePage:
    """The page of cases ``keys`` (in order; one more than a page if there is a next)."""
    # Only the page's rows are loaded: each row loaded is audited as shown (audit.reads).
    by_pk = Case.objects.select_related("child", "assigned_officer").in_bulk(keys[:page_size])
    rows = [by_pk[pk] for pk in keys[:page_size]]
    next_cursor = encode_cursor(rows[-1]) if len(keys) > page_size else ""
    children_listed((case.child_id for case in rows), shown_in)
    return QueuePage(cases=rows, next_cursor=next_cursor, total=total)


# --- Chronology -----------------------------------------------------------------------


def chronology_for_case(user: User, case_id: int) -> QuerySet[ChronologyEvent]:
    """The case's chronology in time order; empty when the case is out of ``user``'s scope."""
    visible = cases_visible_to(user).filter(pk=case_id).values("pk")
    return (
        ChronologyEvent.objects.filter(case_id__in=visible)
        .select_related("by", "case")
        .order_by("at", "id")
    )


def chronology_for_child(user: User, child: Child) -> QuerySet[ChronologyEvent]:
    """Everything on the chronologies of the child's cases ``user`` may see, in time order.

    For the child's page (people): each entry carries its case (``event.case.reference``).
    """
    visible = cases_visible_to(user).filter(child=child).values("pk")
    return (
        ChronologyEvent.objects.filter(case_id__in=visible)
        .select_related("by", "case")
        .order_by("at", "id")
    )


def home_visits_for_case(case: Case) -> QuerySet[HomeVisit]:
    """The visits of a case the caller has already scoped."""
    return case.home_visits.select_related("recorded_by").order_by("visited_on", "id")


def slo_visit_requests_for_case(case: Case) -> QuerySet[SloVisitRequest]:
    """The home visits asked of SLOs on ``case``, oldest first (shown on the case page)."""
    return SloVisitRequest.objects.filter(case=case).select_related("slo", "visit")


def missing_from_care_for_case(case: Case) -> QuerySet[MissingFromCareReport]:
    """The missing-from-care reports on ``case``, oldest first."""
    return MissingFromCareReport.objects.filter(case=case)
