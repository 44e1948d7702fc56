"""Each role's home page is its work for today: a registry of sections the areas fill in.

The case engine owns the registry; the areas above it (referrals, casework, detection,
safeguarding, enquiries, provision, ...) register their sections from their ``home``
module, which ``CoreConfig.ready()`` loads for every installed app
(``autodiscover_modules``), so neither the engine nor the home page imports them. The home
view (``core``) asks :func:`sections_for` and renders what comes back.

A section is built by a function of ``(user, today)`` that reads through the area's scoped
selectors only (what the user may see) and returns a :class:`HomeSection`, or None when it
has nothing to say (a section that only matters when something is due). Sections come
most urgent first: anything overdue, then what is due today, then the rest, each group in
the order of ``urgency`` (lower first) and then of registration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from django.db.models import QuerySet
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.kit.dates import govuk_date

from .lifecycle import CaseState
from .models import Case
from .presenters import state_tag_class
from .selectors import open_cases_for, work_queue

#: Rows each home-page section shows (the totals count them all; the full lists are on
#: their own pages). Rendering is most of a home page's cost: 20 rows a section keeps it
#: quick for an officer with a county's caseload.
QUEUE_LIMIT = 20


@dataclass(frozen=True)
class QueueRow:
    cells: tuple[str, ...]
    href: str = ""
    #: A GOV.UK tag shown in the last column: (text, colour class), e.g. the case's state.
    tag: tuple[str, str] | None = None


@dataclass(frozen=True)
class QueueSection:
    title: str
    empty_text: str
    headers: tuple[str, ...]
    rows: list[QueueRow] = field(default_factory=list)
    total: int = 0
    #: Where the whole list is, when the section shows only part of it.
    more_href: str = ""
    #: How many of ``total`` are overdue (shown in red and sorted to the top).
    overdue: int = 0
    #: How many of ``total`` are due today.
    due_today: int = 0
    #: The registry key (set by :func:`sections_for`).
    key: str = ""


#: ``build(user, today) -> QueueSection or None``.
SectionBuilder = Callable[[User, dt.date], "QueueSection | None"]


@dataclass(frozen=True)
class SectionSpec:
    key: str
    roles: frozenset[str]
    build: SectionBuilder
    #: Lower comes first among sections equally due.
    urgency: int
    #: The order it was registered in (ties).
    order: int


_sections: dict[str, SectionSpec] = {}

#: Urgency bands, for registrations to read as words.
URGENT = 10
TODAY = 20
ROUTINE = 50
REFERENCE = 90


def register_section(
    key: str, *, roles: Iterable[str], build: SectionBuilder, urgency: int = ROUTINE
) -> None:
    """Add a home-page section for users with any of ``roles``. Registering a key again
    replaces it (a module imported twice registers the same thing)."""
    previous = _sections.get(key)
    _sections[key] = SectionSpec(
        key=key,
        roles=frozenset(roles),
        build=build,
        urgency=urgency,
        order=previous.order if previous else len(_sections),
    )


def registered_sections() -> list[SectionSpec]:
    """Every registered section in registration order (for the docs and the tests)."""
    return sorted(_sections.values(), key=lambda s: s.order)


def sections_for(user: User, today: dt.date) -> list[QueueSection]:
    """The sections ``user``'s roles see today, most urgent first."""
    built: list[tuple[tuple[int, int, int, int], QueueSection]] = []
    for spec in registered_sections():
        if not user.has_role(*spec.roles):
            continue
        section = spec.build(user, today)
        if section is None:
            continue
        band = 0 if section.overdue else 1 if section.due_today else 2
        built.append(
            (
                (band, spec.urgency, 0 if section.total else 1, spec.order),
                _with_key(section, spec.key),
            )
        )
    return [s for _, s in sorted(built, key=lambda pair: pair[0])]


def _with_key(section: QueueSection, key: str) -> QueueSection:
    return replace(section, key=key)


def days_between(start: dt.date | None, today: dt.date) -> str:
    """ "12 days" (or "Today", "1 day"), for how long something has waited."""
    if start is None:
        return ""
    days = (today - start).days
    return "Today" if days <= 0 else "1 day" if days == 1 else f"{days} days"


CASE_HEADERS = ("Case", "Child", "Referred", "Open for", "State")


def case_section(
    *, title: str, empty_text: str, cases: QuerySet[Case], today: dt.date, queue: str = ""
) -> QueueSection:
    """A section of cases, the longest open first: the case, the child, when referred,
    how long open and the state as a tag; a link to the whole queue when there are more."""
    total = cases.count()
    rows = [
        QueueRow(
            cells=(
                c.reference,
                c.child.full_name,
                govuk_date(c.date_referred),
                days_between(c.date_referred, today),
            ),
            href=reverse("cases:case-detail", args=[c.pk]),
            tag=(c.get_state_display(), state_tag_class(c.state)),
        )
        for c in cases.order_by("date_referred", "pk")[:QUEUE_LIMIT]
    ]
    return QueueSection(
        title=title,
        empty_text=empty_text,
        headers=CASE_HEADERS,
        rows=rows,
        total=total,
        more_href=f"{reverse('cases:queue')}?queue={queue}" if queue else "",
    )


# --- the case engine's own sections -----------------------------------------------------


def _unassigned(user: User, today: dt.date) -> QueueSection:
    section = case_section(
        title="Cases waiting to be assigned",
        empty_text="No case is waiting to be assigned.",
        cases=open_cases_for(user).filter(assigned_officer__isnull=True),
        today=today,
        queue="unassigned",
    )
    # Every case waiting for an officer is today's work for the manager.
    return replace(section, due_today=section.total)


def _mine(user: User, today: dt.date) -> QueueSection:
    return case_section(
        title="Your open cases",
        empty_text="You have no open cases.",
        cases=open_cases_for(user).filter(assigned_officer=user),
        today=today,
        queue="mine",
    )


def _slo(user: User, today: dt.date) -> QueueSection:
    section = case_section(
        title="SLO investigations",
        empty_text="There are no SLO investigations for your schools.",
        cases=work_queue(user).filter(state=CaseState.SLO_INVESTIGATION),
        today=today,
    )
    return replace(section, due_today=section.total)


def _in_care(user: User, today: dt.date) -> QueueSection:
    return case_section(
        title="Children in care missing education",
        empty_text="No child in care has an open case.",
        cases=open_cases_for(user).filter(child__in_care=True),
        today=today,
    )


register_section("cases.unassigned", roles=[Role.CME_MANAGER], build=_unassigned, urgency=TODAY)
register_section("cases.slo", roles=[Role.SLO], build=_slo, urgency=TODAY)
register_section("cases.in_care", roles=[Role.VIRTUAL_SCHOOL], build=_in_care, urgency=TODAY)
register_section(
    "cases.mine",
    roles=[Role.CME_OFFICER, Role.CME_MANAGER, Role.SAFEGUARDING_ADVISER],
    build=_mine,
    urgency=REFERENCE,
)
