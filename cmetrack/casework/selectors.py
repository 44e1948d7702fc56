"""Scoped reads of tracking work, and who may record it.

Every read starts from :func:`cmetrack.cases.selectors.cases_visible_to`, so a case the
user may not see is never found (the views answer 404) and never counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import DateField, Exists, F, Max, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from cmetrack.accounts.models import User, UserRole
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to

from .models import (
    AddressSearchCheck,
    AddressSearchSource,
    CaseNote,
    Consultation,
    ContactAttempt,
    Task,
    TaskStatus,
)

#: Roles that record tracking work (on the cases their scope lets them see) and own tasks.
CASEWORK_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL})


def may_record_tracking(user: User, case: Case) -> bool:
    """Whether ``user`` may record tracking work on ``case``, which they can already see.

    CME officers and managers: any case. An SLO: the cases their scope shows them. A
    Virtual School officer: children in care. Nobody else (schools, agencies, auditors,
    administrators and safeguarding advisers do not record tracking work).
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if user.has_role(*ALL_CASES_ROLES, Role.SLO):
        return True
    return user.has_role(Role.VIRTUAL_SCHOOL) and case.child.in_care


def case_for_tracking(*, user: User, case_id: int) -> Case:
    """The case, if ``user`` may see it; else ``Case.DoesNotExist`` (the caller's 404)."""
    return cases_visible_to(user).select_related("child").get(pk=case_id)


def may_own_task(user: User, case: Case) -> bool:
    """A task's owner must be an active person who may record tracking work on the case."""
    return (
        user.is_active
        and not user.is_service_account
        and may_record_tracking(user, case)
        and (user.has_role(*ALL_CASES_ROLES) or cases_visible_to(user).filter(pk=case.pk).exists())
    )


def task_owner_choices(case: Case) -> list[User]:
    """Active people who may own a task on ``case``: every CME officer and manager, and
    the SLOs and Virtual School officers whose scope includes the case (checked one by one;
    they are a handful)."""
    people = (
        User.objects.filter(
            is_active=True, is_service_account=False, roles__role__in=CASEWORK_ROLES
        )
        .distinct()
        .order_by("full_name", "email")
    )
    users = list(people)
    roles: dict[int, set[str]] = {u.pk: set() for u in users}
    for user_id, role in UserRole.objects.filter(user__in=users).values_list("user", "role"):
        roles[user_id].add(role)
    for u in users:
        u._role_cache = frozenset(roles[u.pk])  # what User.role_set would read
    return [u for u in users if may_own_task(u, case)]


# --- the address-search checklist ---------------------------------------------------------


@dataclass(frozen=True)
class ChecklistItem:
    source: AddressSearchSource
    current: AddressSearchCheck | None
    history: list[AddressSearchCheck]


def checklist_for(case: Case) -> list[ChecklistItem]:
    """Every active source with the case's current check (the latest) and older ones.

    Sources no longer active stay on the list while the case has checks against them.
    Two queries, whatever the number of sources and checks.
    """
    by_source: dict[int, list[AddressSearchCheck]] = {}
    for check in AddressSearchCheck.objects.filter(case=case).select_related("by"):
        by_source.setdefault(check.source_id, []).append(check)  # newest first
    sources = AddressSearchSource.objects.filter(Q(active=True) | Q(pk__in=list(by_source)))
    return [
        ChecklistItem(
            source=s,
            current=by_source[s.pk][0] if s.pk in by_source else None,
            history=by_source.get(s.pk, [])[1:],
        )
        for s in sources
    ]


def contacts_for(case: Case) -> QuerySet[ContactAttempt]:
    return ContactAttempt.objects.filter(case=case).select_related("by")


def notes_for(case: Case) -> QuerySet[CaseNote]:
    return CaseNote.objects.filter(case=case).select_related("by")


def tasks_for_case(case: Case) -> QuerySet[Task]:
    return Task.objects.filter(case=case).select_related("case__child", "owner", "created_by")


# --- tasks ----------------------------------------------------------------------------------


def tasks_for(user: User, *, today: dt.date | None = None) -> QuerySet[Task]:
    """``user``'s open tasks on cases they can see, overdue first, then by due date."""
    if not user.is_authenticated or not user.is_active:
        return Task.objects.none()
    qs = Task.objects.filter(owner=user, status=TaskStatus.OPEN)
    if not user.has_role(*ALL_CASES_ROLES):
        qs = qs.filter(case__in=cases_visible_to(user).values("pk"))
    return qs.select_related("case__child", "owner").order_by("due", "id")


def overdue_tasks_for(user: User, *, today: dt.date | None = None) -> QuerySet[Task]:
    """Open tasks whose due date is before ``today``."""
    return tasks_for(user).filter(due__lt=today or timezone.localdate())


#: The cases app's work queue of open cases with an overdue task: (name, label).
OVERDUE_TASKS_QUEUE = ("overdue_tasks", "Open cases with overdue tasks")


def with_overdue_tasks(user: User, cases: QuerySet[Case]) -> QuerySet[Case]:
    """``cases`` (already scoped to ``user``) that have an open task due before today."""
    overdue = Task.objects.filter(
        case=OuterRef("pk"), status=TaskStatus.OPEN, due__lt=timezone.localdate()
    )
    return cases.filter(Exists(overdue))


# --- follow-up prompts ---------------------------------------------------------------------


def no_contact_days() -> int:
    return int(getattr(settings, "CMETRACK_NO_CONTACT_DAYS", 30))


def with_last_contact(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Annotate ``last_attempt`` (the date of the latest contact attempt, or None) and
    ``last_contact`` (that, or the date the case was referred). Grouped by case: keep the
    query narrow (ids, or a page of rows) so the grouping stays cheap; see
    :func:`no_contact_page` and bench/casework_no_contact.py."""
    return cases.annotate(
        last_attempt=Max("contact_attempts__date"),
        last_contact=Coalesce(F("last_attempt"), F("date_referred"), output_field=DateField()),
    )


def without_contact(
    cases: QuerySet[Case], *, days: int | None = None, today: dt.date | None = None
) -> QuerySet[Case]:
    """Open ``cases`` with no contact attempt for ``days`` days or more (default
    ``CMETRACK_NO_CONTACT_DAYS``): the last contact, or the referral if there was none, was
    on or before ``today - days``. Oldest gap first. One grouped query."""
    days = no_contact_days() if days is None else days
    cutoff = (today or timezone.localdate()) - dt.timedelta(days=days)
    return (
        with_last_contact(cases.filter(state__in=OPEN_STATES))
        .filter(last_contact__lte=cutoff)  # type: ignore[misc]  # an annotation
        .order_by("last_contact", "pk")
    )


def cases_without_contact_since(
    user: User, *, days: int | None = None, today: dt.date | None = None
) -> QuerySet[Case]:
    """The follow-up queue: the open cases ``user`` can see that have had no contact."""
    return without_contact(cases_visible_to(user), days=days, today=today)


def no_contact_page(
    user: User, number: str | int | None, *, per_page: int = 50, today: dt.date | None = None
) -> Page[Case]:
    """One page of the follow-up queue. The page's ids come from a narrow query (id and
    gap only); the cases, with child and officer, are then read for those ids alone."""
    ids = cases_without_contact_since(user, today=today).values_list("pk", flat=True)
    page = Paginator(ids, per_page).get_page(number)
    wanted = list(page.object_list)
    found = with_last_contact(Case.objects.filter(pk__in=wanted)).select_related(
        "child", "assigned_officer"
    )
    by_id = {c.pk: c for c in found}
    cases = [by_id[pk] for pk in wanted if pk in by_id]
    return Page(cases, page.number, page.paginator)  # type: ignore[arg-type]


# --- consultations ---------------------------------------------------------------------------


def consultations_for(case: Case) -> QuerySet[Consultation]:
    """The case's consultations, newest first, with the tasks they became."""
    return (
        Consultation.objects.filter(case=case).select_related("by").prefetch_related("tasks__owner")
    )
