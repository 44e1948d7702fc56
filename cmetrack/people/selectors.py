"""Scoped, audited reads of children's records.

:func:`children_visible_to` is the scope; :func:`child_get_for_view` is the only way a
page or endpoint opens one child's record, and it writes the "viewed" audit row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.selectors import child_viewers
from cmetrack.audit.services import Actor, audit_record

from .models import Address, Child, RestrictedAddressAccess

#: What makes a child visible to someone who does not see the whole authority: the case
#: engine, above people, registers its scope (``cases/extensions.py``: the cases the user
#: may see), a queryset of rows with a ``child_id``. Until one is registered, only the
#: whole-authority roles see a child.
CHILD_SCOPES: list[Callable[[User], QuerySet[Any]]] = []


def child_scope_register(scope: Callable[[User], QuerySet[Any]]) -> None:
    if scope not in CHILD_SCOPES:
        CHILD_SCOPES.append(scope)


def children_visible_to(user: User) -> QuerySet[Child]:
    """Children with at least one case the user may see (CME officers and managers: all)."""
    if not user.is_authenticated or not user.is_active:
        return Child.objects.none()
    if user.has_role(*ALL_CASES_ROLES):
        return Child.objects.all()
    if not CHILD_SCOPES:
        return Child.objects.none()
    visible = Q()
    for scope in CHILD_SCOPES:
        visible |= Q(Exists(scope(user).filter(child_id=OuterRef("pk"))))
    return Child.objects.filter(visible)


def child_get_for_view(*, actor: Actor, child_id: int) -> Child:
    """One child's record for display; raises ``Child.DoesNotExist`` when out of scope.

    Out-of-scope and non-existent look the same to the caller (both 404)."""
    assert actor.user is not None, "a person reads a child's record"
    child = (
        children_visible_to(actor.user)
        .select_related("responsible_la")
        .prefetch_related("aliases", "former_upns", "vulnerabilities", "parents_carers")
        .get(pk=child_id)
    )
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=child,
        child_id=child.pk,
        summary="Viewed child record",
    )
    return child


def may_see_restricted_addresses(*, user: User, child: Child) -> bool:
    """Only a user a CME manager has named for this child (managers too need a grant)."""
    if not user.is_authenticated or not user.is_active:
        return False
    return RestrictedAddressAccess.objects.filter(child=child, user=user).exists()


def addresses_for_display(*, user: User, child: Child) -> list[tuple[Address, bool]]:
    """The child's addresses with whether each may be shown to ``user``."""
    allowed = may_see_restricted_addresses(user=user, child=child)
    return [(a, allowed or not a.is_restricted) for a in child.addresses.all()]


def address_for_sharing(address: Address) -> str | None:
    """The address as text for anything that leaves the system (an export, an enquiry to
    another authority, a transfer file): ``None`` for a restricted address, always."""
    return None if address.is_restricted else str(address)


def addresses_for_sharing(child: Child) -> list[Address]:
    """The child's addresses that may leave the system: never a restricted one."""
    return [a for a in child.addresses.all() if not a.is_restricted]


def current_address_for_sharing(child: Child) -> str:
    """The current address for an export or enquiry: "" if none or if it is restricted."""
    current = next((a for a in child.addresses.all() if a.is_current), None)
    return (address_for_sharing(current) or "") if current is not None else ""


def restricted_access_for(child: Child) -> QuerySet[RestrictedAddressAccess]:
    """Who may see this child's restricted addresses (for the manager's page)."""
    return RestrictedAddressAccess.objects.filter(child=child).select_related("user", "granted_by")


#: Roles that see a child's access log ("who has looked at this record").
ACCESS_LOG_ROLES = (Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL,
                    Role.SAFEGUARDING_ADVISER)  # fmt: skip
ACCESS_LOG_LIMIT = 25


def access_log_for(*, user: User, child: Child) -> list[AuditEvent] | None:
    """The latest views of the child's record, for case roles; None for anyone else."""
    if not user.has_role(*ACCESS_LOG_ROLES):
        return None
    return list(child_viewers(child.pk)[:ACCESS_LOG_LIMIT])
