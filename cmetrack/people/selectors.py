"""Scoped, audited reads of children's records.

:func:`children_visible_to` is the scope; :func:`child_get_for_view` is the only way a
page or endpoint opens one child's record, and it writes the "viewed" audit row.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record

from .models import Address, Child


def children_visible_to(user: User) -> QuerySet[Child]:
    """Children with at least one case the user may see (CME officers and managers: all)."""
    if not user.is_authenticated or not user.is_active:
        return Child.objects.none()
    if user.has_role(*ALL_CASES_ROLES):
        return Child.objects.all()
    from cmetrack.cases.selectors import cases_visible_to

    return Child.objects.filter(Exists(cases_visible_to(user).filter(child_id=OuterRef("pk"))))


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


def addresses_for_display(*, user: User, child: Child) -> list[tuple[Address, bool]]:
    """The child's addresses with whether each may be shown to ``user``.

    A restricted address is shown only to users allowed on that case (issue 5 refines who);
    for now: CME managers only."""
    from cmetrack.accounts.roles import Role

    may_see_restricted = user.has_role(Role.CME_MANAGER)
    return [(a, may_see_restricted or not a.is_restricted) for a in child.addresses.all()]
