"""Scoped reads of cases: the only way views, the API and exports get cases."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role

from .lifecycle import OPEN_STATES, CaseState
from .models import Case


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
        scope |= Q(assigned_officer=user) | Q(state_changes__by=user)
    if user.has_role(Role.VIRTUAL_SCHOOL):
        scope |= Q(child__in_care=True)
    if user.has_role(Role.SAFEGUARDING_ADVISER):
        scope |= Q(assigned_officer=user)
    return qs.filter(scope).distinct()


def open_cases_for(user: User) -> QuerySet[Case]:
    return cases_visible_to(user).filter(state__in=OPEN_STATES)


def work_queue(user: User) -> QuerySet[Case]:
    """The cases on the user's own desk: assigned to them, or for an SLO their schools'."""
    qs = open_cases_for(user)
    if user.has_role(Role.CME_MANAGER):
        return qs.filter(Q(assigned_officer=user) | Q(assigned_officer__isnull=True))
    if user.has_role(Role.SLO) and not user.has_role(Role.CME_OFFICER):
        return qs.filter(state=CaseState.SLO_INVESTIGATION)
    if user.has_role(Role.VIRTUAL_SCHOOL) and not user.has_role(Role.CME_OFFICER):
        return qs
    return qs.filter(assigned_officer=user)
