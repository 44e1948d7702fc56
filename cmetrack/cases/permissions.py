"""Who may act on a case (as opposed to who may see it, which is cases_visible_to).

- CME officers and managers act on every case.
- A School Liaison Officer acts on SLO investigations of the schools linked to them, and on
  cases assigned to them.
- A Virtual School officer acts on the cases of children in care: the Virtual School leads
  for a child in care who is missing education (the CME team is kept informed).
- Everyone else reads what their scope shows them and acts on nothing.
- Assigning, correcting statutory dates and reopening closed cases: officers and managers.

``user`` None is a system job (demo data, imports), which the services trust.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role

from .lifecycle import CaseState
from .models import Case

#: Roles whose holders may have cases assigned to them.
ASSIGNABLE_ROLES = frozenset(
    {
        Role.CME_OFFICER,
        Role.CME_MANAGER,
        Role.SLO,
        Role.VIRTUAL_SCHOOL,
        Role.SAFEGUARDING_ADVISER,
    }
)


class CaseActionForbidden(PermissionDenied):
    """The user may see the case but may not do this to it (HTTP 403)."""


def may_act(user: User | None, case: Case) -> bool:
    if user is None:
        return True
    if not user.is_active:
        return False
    if user.has_role(*ALL_CASES_ROLES):
        return True
    if user.has_role(Role.VIRTUAL_SCHOOL) and case.child.in_care:
        return True
    if user.has_role(Role.SLO):
        if case.assigned_officer_id == user.pk:
            return True
        if case.state == CaseState.SLO_INVESTIGATION and case.last_education_school_id:
            return user.linked_schools.filter(pk=case.last_education_school_id).exists()
    return False


def may_manage(user: User | None) -> bool:
    """Assign, correct statutory dates, reopen: CME officers and managers."""
    return user is None or (user.is_active and user.has_role(*ALL_CASES_ROLES))


def require_may_act(user: User | None, case: Case) -> None:
    if not may_act(user, case):
        raise CaseActionForbidden(
            "You can read this case but not change it: only CME officers and managers, "
            "the School Liaison Officer for the school or the case, and the Virtual School "
            "for a child in care, can."
        )


def require_may_manage(user: User | None) -> None:
    if not may_manage(user):
        raise CaseActionForbidden("Only CME officers and managers can do this.")
