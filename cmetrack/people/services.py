"""Writes of a child's record. Each function validates, saves and audits in one
transaction; there is no other way to change a child's record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor, audit_record, audited_create, audited_update

from .choices import VulnerableGroup
from .models import (
    Address,
    Child,
    ChildAlias,
    ChildVulnerability,
    FormerUpn,
    ParentCarer,
    RestrictedAddressAccess,
)


def child_create(*, actor: Actor, **fields: Any) -> Child:
    child = Child(**fields)
    audited_create(
        actor=actor, instance=child, summary="Created child record", is_child_record=True
    )
    return child


def child_update(*, actor: Actor, child: Child, **changes: Any) -> Child:
    """Change fields of the child; a replaced UPN is kept as a former UPN."""
    with transaction.atomic():
        old_upn = child.upn
        audited_update(actor=actor, instance=child, changes=changes, child_id=child.pk)
        if "upn" in changes and old_upn and old_upn != child.upn:
            FormerUpn.objects.get_or_create(child=child, upn=old_upn)
    return child


def child_add_alias(
    *, actor: Actor, child: Child, alias_type: str, given_names: str = "", family_name: str = ""
) -> ChildAlias:
    alias = ChildAlias(
        child=child, alias_type=alias_type, given_names=given_names, family_name=family_name
    )
    return audited_create(
        actor=actor, instance=alias, child_id=child.pk, summary=f"Added alias {alias}"
    )


def child_add_address(*, actor: Actor, child: Child, **fields: Any) -> Address:
    address = Address(child=child, **fields)
    summary = "Added restricted address" if address.is_restricted else "Added address"
    return audited_create(actor=actor, instance=address, child_id=child.pk, summary=summary)


def child_add_parent_carer(*, actor: Actor, child: Child, **fields: Any) -> ParentCarer:
    parent = ParentCarer(child=child, **fields)
    return audited_create(
        actor=actor, instance=parent, child_id=child.pk, summary="Added parent or carer"
    )


@transaction.atomic
def child_set_vulnerabilities(
    *, actor: Actor, child: Child, groups: Iterable[VulnerableGroup | str]
) -> None:
    wanted = {str(VulnerableGroup(g)) for g in groups}
    before = set(child.vulnerabilities.values_list("group", flat=True))
    if wanted == before:
        return
    child.vulnerabilities.exclude(group__in=wanted).delete()
    ChildVulnerability.objects.bulk_create(
        [ChildVulnerability(child=child, group=g) for g in sorted(wanted - before)]
    )
    audit_record(
        actor=actor,
        action="update",
        obj=child,
        child_id=child.pk,
        summary="Changed vulnerable groups",
        changes={
            "before": {"vulnerable_groups": sorted(before)},
            "after": {"vulnerable_groups": sorted(wanted)},
        },
    )


#: Roles that may be allowed to see a restricted address: people who work the case.
RESTRICTED_ACCESS_ROLES = (Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL,
                           Role.SAFEGUARDING_ADVISER)  # fmt: skip


@transaction.atomic
def restricted_address_access_grant(
    *, actor: Actor, child: Child, user: User, reason: str
) -> RestrictedAddressAccess:
    """Allow ``user`` to see ``child``'s restricted addresses. Only a CME manager grants,
    only to someone who works cases and can already see the child; a reason is required."""
    from .selectors import children_visible_to

    granter = actor.user
    if granter is None or not granter.is_active or not granter.has_role(Role.CME_MANAGER):
        raise PermissionDenied("Only a CME manager can allow access to a restricted address.")
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Enter why this person needs the restricted address"})
    if (
        not user.is_active
        or not user.has_role(*RESTRICTED_ACCESS_ROLES)
        or not children_visible_to(user).filter(pk=child.pk).exists()
    ):
        raise ValidationError({"user": "Choose someone who works on this child's case"})
    access, created = RestrictedAddressAccess.objects.get_or_create(
        child=child, user=user, defaults={"granted_by": granter, "reason": reason[:300]}
    )
    if created:
        audit_record(
            actor=actor,
            action="create",
            obj=access,
            child_id=child.pk,
            summary=f"Allowed {user.email} to see the restricted address",
            changes={"after": {"user": user.pk, "reason": access.reason}},
        )
    return access


@transaction.atomic
def restricted_address_access_revoke(*, actor: Actor, access: RestrictedAddressAccess) -> None:
    granter = actor.user
    if granter is None or not granter.is_active or not granter.has_role(Role.CME_MANAGER):
        raise PermissionDenied("Only a CME manager can remove access to a restricted address.")
    audit_record(
        actor=actor,
        action="delete",
        obj=access,
        child_id=access.child_id,
        summary=f"Removed {access.user.email}'s access to the restricted address",
        changes={"before": {"user": access.user_id, "reason": access.reason}, "after": {}},
    )
    access.delete()
