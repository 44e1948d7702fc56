"""Writes of a child's record. Each function validates, saves and audits in one
transaction; there is no other way to change a child's record."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor, audit_record, audited_create, audited_update
from cmetrack.rules.names import name_problem, normalise_name, phone_problem

from .choices import AliasType, VulnerableGroup
from .models import (
    CHILD_FACT_FIELDS,
    Address,
    Child,
    ChildAlias,
    ChildFact,
    ChildFactKind,
    ChildVulnerability,
    FormerUpn,
    ParentCarer,
    RestrictedAddressAccess,
)
from .selectors import children_visible_to

# --- facts by effective date (docs/reporting.md: "Facts by effective date") -----------


def _fact_value(kind: str, value: Any) -> str:
    if kind == ChildFactKind.SEN:
        return str(value)
    return "1" if value else "0"


def effective_date(effective_on: dt.date | None, reason: str, what: str) -> dt.date:
    """The day a change takes effect: today by default; never in the future; an earlier
    day (backdating) only with the reason it is recorded late."""
    today = timezone.localdate()
    day = effective_on or today
    if day > today:
        raise ValidationError(
            {"effective_on": f"The date {what} took effect cannot be in the future."}
        )
    if day < today and not reason.strip():
        raise ValidationError(
            {"reason": f"Give the reason {what} is recorded with an earlier date than today."}
        )
    return day


def _current_fact(child: Child, kind: str, key: str, on: dt.date) -> ChildFact | None:
    return (
        ChildFact.objects.filter(
            child=child, kind=kind, key=key, superseded_at__isnull=True, effective_on__lte=on
        )
        .order_by("-effective_on", "-id")
        .first()
    )


def _write_fact(
    *, actor: Actor, child: Child, kind: str, key: str, value: str, on: dt.date, reason: str
) -> ChildFact:
    fact = ChildFact.objects.create(
        child=child,
        kind=kind,
        key=key,
        value=value,
        effective_on=on,
        recorded_by=actor.user,
        reason=reason.strip()[:300],
    )
    audit_record(
        actor=actor,
        action="create",
        obj=fact,
        child_id=child.pk,
        summary=f"Recorded {ChildFactKind(kind).label.lower()}"
        + (f" ({key})" if key else "")
        + f" from {on.isoformat()}"
        + (f": {reason.strip()}" if reason.strip() else ""),
        changes={
            "after": {"kind": kind, "key": key, "value": value, "effective_on": on.isoformat()},
            "backdated": on < timezone.localdate(),
        },
    )
    return fact


def _held_since(child: Child, on: dt.date) -> dt.date:
    """The day a value kept before dated records (a column with no dated row) is taken to
    hold from, when it first changes on ``on``: as far as the record knows it held before
    that change, so from the child's birth (or the record's creation), and never later
    than the day before ``on``."""
    known = child.dob or timezone.localdate(child.created_at)
    return min(known, timezone.localdate(child.created_at), on - dt.timedelta(days=1))


def _sync_current(child: Child) -> None:
    """Make the child's columns (the values today) agree with the facts as at today."""
    today = timezone.localdate()
    updates: dict[str, Any] = {}
    for kind, field in CHILD_FACT_FIELDS.items():
        fact = _current_fact(child, kind, "", today)
        if fact is None:
            continue
        value: Any = fact.value if kind == ChildFactKind.SEN else fact.value == "1"
        if getattr(child, field) != value:
            updates[field] = value
    if updates:
        Child.objects.filter(pk=child.pk).update(**updates)
        for field, value in updates.items():
            setattr(child, field, value)
    held = {
        f.key
        for f in ChildFact.objects.filter(
            child=child, kind=ChildFactKind.VULNERABLE, superseded_at__isnull=True
        )
        if (current := _current_fact(child, ChildFactKind.VULNERABLE, f.key, today)) is not None
        and current.value == "1"
    }
    if ChildFact.objects.filter(child=child, kind=ChildFactKind.VULNERABLE).exists():
        child.vulnerabilities.exclude(group__in=held).delete()
        existing = set(child.vulnerabilities.values_list("group", flat=True))
        ChildVulnerability.objects.bulk_create(
            [ChildVulnerability(child=child, group=g) for g in sorted(held - existing)]
        )


@transaction.atomic
def child_fact_record(
    *,
    actor: Actor,
    child: Child,
    kind: ChildFactKind | str,
    value: Any,
    key: str = "",
    effective_on: dt.date | None = None,
    reason: str = "",
    replace_later: bool = False,
) -> ChildFact | None:
    """Record that a fact about ``child`` holds ``value`` from ``effective_on`` (default
    today; an earlier day needs ``reason``). Earlier values are kept: the figures of
    earlier days still read them. The child's own column follows the value as at today.
    ``replace_later``: the value holds from that day on, so values recorded from later
    days are superseded (kept, marked replaced): a source record corrected (an in-care
    record whose end is taken back). Returns None when nothing changes."""
    kind = ChildFactKind(kind)
    if kind == ChildFactKind.VULNERABLE and not key:
        raise ValidationError({"key": "Choose the vulnerable group."})
    on = effective_date(effective_on, reason, kind.label.lower())
    stored = _fact_value(kind, value)
    replaced = 0
    if replace_later:
        later = ChildFact.objects.filter(
            child=child, kind=kind, key=key, superseded_at__isnull=True, effective_on__gt=on
        ).exclude(value=stored)
        for old in later:
            audit_record(
                actor=actor,
                action="update",
                obj=old,
                child_id=child.pk,
                summary=f"Replaced {ChildFactKind(kind).label.lower()} from "
                f"{old.effective_on.isoformat()}: {reason.strip() or 'source record corrected'}",
                changes={"before": {"value": old.value}, "superseded": True},
            )
        replaced = later.update(superseded_at=timezone.now())
    current = _current_fact(child, kind, key, on)
    if current is not None and current.value == stored:
        if replaced:
            _sync_current(child)
        return None
    if (
        current is None
        and kind in CHILD_FACT_FIELDS
        and not ChildFact.objects.filter(child=child, kind=kind).exists()
    ):
        # The first dated value of a fact kept before dates were: the value held until
        # now stands before this day (as far as the record knows).
        before = _fact_value(kind, getattr(child, CHILD_FACT_FIELDS[kind]))
        if before == stored:
            return None
        _write_fact(
            actor=actor,
            child=child,
            kind=kind,
            key="",
            value=before,
            on=_held_since(child, on),
            reason="Held before dated records were kept.",
        )
    fact = _write_fact(
        actor=actor, child=child, kind=kind, key=key, value=stored, on=on, reason=reason
    )
    _sync_current(child)
    return fact


@transaction.atomic
def child_fact_correct(
    *, actor: Actor, fact: ChildFact, value: Any, reason: str, effective_on: dt.date | None = None
) -> ChildFact:
    """Correct a recorded fact: the row is kept, marked superseded, and the corrected
    value (from the same day, or ``effective_on``) is added. Needs a reason; audited."""
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for the correction."})
    locked = ChildFact.objects.select_for_update().get(pk=fact.pk)
    if locked.superseded_at is not None:
        raise ValidationError("This value has already been corrected: correct the newer one.")
    on = effective_on or locked.effective_on
    if on > timezone.localdate():
        raise ValidationError({"effective_on": "The corrected date cannot be in the future."})
    child = locked.child
    new = _write_fact(
        actor=actor,
        child=child,
        kind=locked.kind,
        key=locked.key,
        value=_fact_value(locked.kind, value),
        on=on,
        reason=reason,
    )
    locked.superseded_at = timezone.now()
    locked.superseded_by = new
    locked.save(update_fields=["superseded_at", "superseded_by"])
    audit_record(
        actor=actor,
        action="update",
        obj=locked,
        child_id=child.pk,
        summary=f"Corrected {ChildFactKind(locked.kind).label.lower()}: {reason.strip()}",
        changes={
            "before": {"value": locked.value, "effective_on": locked.effective_on.isoformat()},
            "after": {"value": new.value, "effective_on": on.isoformat()},
            "reason": reason.strip(),
        },
    )
    _sync_current(child)
    return new


#: The value of each fact before anything is recorded (a new child's default).
_FACT_DEFAULTS: dict[str, str] = {
    ChildFactKind.IN_CARE: "0",
    ChildFactKind.SEN: "N",
    ChildFactKind.CHILD_IN_NEED: "0",
    ChildFactKind.CHILD_PROTECTION: "0",
}


def _record_initial_facts(*, actor: Actor, child: Child, on: dt.date, reason: str) -> None:
    """A new child's values other than the defaults, from ``on``: before it, the default
    holds (a child recorded in care today is not in care in last term's figures). A
    default needs no row: with none, the child's column is read for every day."""
    for kind, field in CHILD_FACT_FIELDS.items():
        if _fact_value(kind, getattr(child, field)) == _FACT_DEFAULTS[kind]:
            continue
        _write_fact(
            actor=actor,
            child=child,
            kind=kind,
            key="",
            value=_fact_value(kind, getattr(child, field)),
            on=on,
            reason=reason,
        )


def child_create(
    *, actor: Actor, effective_on: dt.date | None = None, reason: str = "", **fields: Any
) -> Child:
    """A new child record; its care, SEN, child in need and child protection values are
    recorded as facts from ``effective_on`` (default today; earlier needs ``reason``)."""
    with transaction.atomic():
        on = effective_date(effective_on, reason, "the child's record")
        child = Child(**fields)
        audited_create(
            actor=actor, instance=child, summary="Created child record", is_child_record=True
        )
        _record_initial_facts(actor=actor, child=child, on=on, reason=reason)
    return child


def child_update(
    *,
    actor: Actor,
    child: Child,
    effective_on: dt.date | None = None,
    reason: str = "",
    replace_later: bool = False,
    **changes: Any,
) -> Child:
    """Change fields of the child; a replaced UPN is kept as a former UPN. A change of
    care, SEN, child in need or child protection status is a fact from ``effective_on``
    (default today; earlier needs ``reason``), so earlier days keep their value."""
    with transaction.atomic():
        old_upn = child.upn
        facts = {
            kind: changes.pop(field)
            for kind, field in CHILD_FACT_FIELDS.items()
            if field in changes and changes[field] != getattr(child, field)
        }
        for field in CHILD_FACT_FIELDS.values():
            changes.pop(field, None)
        for kind, value in facts.items():
            child_fact_record(
                actor=actor,
                child=child,
                kind=kind,
                value=value,
                effective_on=effective_on,
                reason=reason,
                replace_later=replace_later,
            )
        if changes:
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
    *,
    actor: Actor,
    child: Child,
    groups: Iterable[VulnerableGroup | str],
    effective_on: dt.date | None = None,
    reason: str = "",
) -> None:
    """The child's vulnerable groups from ``effective_on`` (default today; earlier needs
    ``reason``): each group joined or left is a dated fact, so earlier days keep theirs."""
    wanted = {str(VulnerableGroup(g)) for g in groups}
    before = set(child.vulnerabilities.values_list("group", flat=True))
    if wanted == before:
        return
    on = effective_date(effective_on, reason, "the change of vulnerable groups")
    if not ChildFact.objects.filter(child=child, kind=ChildFactKind.VULNERABLE).exists():
        # Groups held before dates were kept: held, as far as the record knows, before
        # this change.
        start = _held_since(child, on)
        for group in sorted(before):
            _write_fact(
                actor=actor,
                child=child,
                kind=ChildFactKind.VULNERABLE,
                key=group,
                value="1",
                on=start,
                reason="Held before dated records were kept.",
            )
    for group in sorted(wanted ^ before):
        _write_fact(
            actor=actor,
            child=child,
            kind=ChildFactKind.VULNERABLE,
            key=group,
            value="1" if group in wanted else "0",
            on=on,
            reason=reason,
        )
    _sync_current(child)
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


# --- corrections from the case (a child's details, addresses, parents and carers) ------


#: The child's own details a case officer may correct, and the words for each.
CORRECTABLE_DETAILS = {
    "legal_given_names": "the child's first name",
    "legal_middle_names": "the child's middle names",
    "legal_family_name": "the child's last name",
    "dob": "the date of birth",
    "dob_certainty": "how certain the date of birth is",
    "sex": "the child's sex",
    "upn": "the UPN",
}


def _check_names(fields: dict[str, Any], words: dict[str, str]) -> dict[str, str]:
    problems = {}
    for name, what in words.items():
        value = fields.get(name)
        if isinstance(value, str):
            fields[name] = normalise_name(value)
            if problem := name_problem(fields[name], what):
                problems[name] = problem
    return problems


@transaction.atomic
def child_details_correct(*, actor: Actor, child: Child, reason: str, **changes: Any) -> Child:
    """Correct the child's name, date of birth, sex or UPN, with the reason. The audit row
    keeps the values before and after; a changed legal name is kept as a previous name
    (an alias, so searches still find the child by it) and a replaced UPN as a former UPN."""
    unknown = set(changes) - set(CORRECTABLE_DETAILS)
    if unknown:
        raise ValueError(f"Not a correctable detail: {sorted(unknown)}")
    problems = _check_names(
        changes,
        {
            k: CORRECTABLE_DETAILS[k]
            for k in ("legal_given_names", "legal_middle_names", "legal_family_name")
        },
    )
    if not reason.strip():
        problems["reason"] = "Give the reason for the correction"
    for required in ("legal_given_names", "legal_family_name"):
        if required in changes and not changes[required]:
            problems.setdefault(required, f"Enter {CORRECTABLE_DETAILS[required]}")
    if "upn" in changes:
        changes["upn"] = (changes["upn"] or "").strip().upper().replace(" ", "") or None
    if problems:
        raise ValidationError(problems)
    old_given, old_family, old_upn = (
        child.legal_given_names,
        child.legal_family_name,
        child.upn,
    )
    audited_update(
        actor=actor,
        instance=child,
        changes=changes,
        child_id=child.pk,
        summary=f"Corrected the child's details: {reason.strip()}",
    )
    if (child.legal_given_names, child.legal_family_name) != (old_given, old_family):
        ChildAlias.objects.get_or_create(
            child=child,
            alias_type=AliasType.PREVIOUS_NAME,
            given_names=old_given,
            family_name=old_family,
        )
    if old_upn and old_upn != child.upn:
        FormerUpn.objects.get_or_create(child=child, upn=old_upn)
    return child


ADDRESS_WORDS = {"line1": "the first line of the address", "town": "the town or city"}
PARENT_WORDS = {"given_names": "their first name", "family_name": "their last name"}


def _check_parent(fields: dict[str, Any]) -> dict[str, str]:
    problems = _check_names(fields, PARENT_WORDS)
    phone = str(fields.get("phone") or "").strip()
    if phone and (problem := phone_problem(phone, "their phone number")):
        problems["phone"] = problem
    return problems


@transaction.atomic
def child_address_record(*, actor: Actor, child: Child, **fields: Any) -> Address:
    """A new address for the child. The address the child lived at until then keeps its
    row and gets its end date (the day before the new one's start), so the history is kept."""
    if not str(fields.get("line1") or "").strip():
        raise ValidationError({"line1": "Enter the first line of the address"})
    start = fields.get("date_from") or timezone.localdate()
    fields["date_from"] = start
    for current in child.addresses.filter(date_to__isnull=True).exclude(date_from__gt=start):
        audited_update(
            actor=actor,
            instance=current,
            changes={"date_to": max(start - dt.timedelta(days=1), current.date_from or start)},
            child_id=child.pk,
            summary="Address ended: the child moved",
        )
    return child_add_address(actor=actor, child=child, **fields)


@transaction.atomic
def child_address_correct(
    *, actor: Actor, address: Address, reason: str, **changes: Any
) -> Address:
    """Correct an address as recorded (a typing error); the audit row keeps the values."""
    if not reason.strip():
        raise ValidationError({"reason": "Give the reason for the correction"})
    if "line1" in changes and not str(changes["line1"]).strip():
        raise ValidationError({"line1": "Enter the first line of the address"})
    return audited_update(
        actor=actor,
        instance=address,
        changes=changes,
        child_id=address.child_id,
        summary=f"Corrected an address: {reason.strip()}",
    )


@transaction.atomic
def child_parent_carer_record(*, actor: Actor, child: Child, **fields: Any) -> ParentCarer:
    """Add a parent or carer, their names and phone number checked as people write them."""
    if problems := _check_parent(fields):
        raise ValidationError(problems)
    return child_add_parent_carer(actor=actor, child=child, **fields)


@transaction.atomic
def child_parent_carer_correct(
    *, actor: Actor, parent: ParentCarer, reason: str, **changes: Any
) -> ParentCarer:
    """Correct a parent's or carer's details; the audit row keeps the values before."""
    problems = _check_parent(changes)
    if not reason.strip():
        problems["reason"] = "Give the reason for the correction"
    if problems:
        raise ValidationError(problems)
    return audited_update(
        actor=actor,
        instance=parent,
        changes=changes,
        child_id=parent.child_id,
        summary=f"Corrected a parent's or carer's details: {reason.strip()}",
    )
