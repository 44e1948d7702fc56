"""Writes of what the children-not-in-school register records beyond the child's record
and the home-education list. Each validates, saves and audits in one transaction; only the
CME team writes (a system job may)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.audit.services import Actor, audited_create, audited_update
from cmetrack.organisations.models import Organisation
from cmetrack.people.models import Child

from .models import OtherProvider, PartTimeArrangement, PartTimeKind, RegisterDetails
from .selectors import may_see_register

DETAIL_FIELDS = frozenset(
    {
        "parent_hours_per_week",
        "no_other_providers",
        "child_protection_enquiries",
        "child_in_need",
        "protected_characteristics",
    }
)


def _require_writer(actor: Actor) -> None:
    if actor.user is not None and not may_see_register(actor.user):
        raise PermissionDenied("Only the CME team keeps the children-not-in-school register.")


@transaction.atomic
def register_details_update(*, actor: Actor, child: Child, **changes: Any) -> RegisterDetails:
    """Record the parents' estimated hours, that nobody else educates the child, and the
    optional items. Only the fields given change."""
    _require_writer(actor)
    unknown = set(changes) - DETAIL_FIELDS
    if unknown:
        raise ValueError(f"Not a register detail: {', '.join(sorted(unknown))}")
    details = RegisterDetails.objects.select_for_update().filter(child=child).first()
    if details is None:
        return audited_create(
            actor=actor,
            instance=RegisterDetails(child=child, updated_by=actor.user, **changes),
            child_id=child.pk,
            summary="Recorded the child's children-not-in-school register details",
        )
    if (
        changes.get("no_other_providers")
        and OtherProvider.objects.filter(child=child, ended_on__isnull=True).exists()
    ):
        raise ValidationError(
            {"no_other_providers": "End the other providers first: the child has some"}
        )
    return audited_update(
        actor=actor,
        instance=details,
        changes={**changes, "updated_by": actor.user, "updated_at": timezone.now()},
        child_id=child.pk,
        summary="Changed the child's children-not-in-school register details",
    )


@transaction.atomic
def provider_add(
    *,
    actor: Actor,
    child: Child,
    name: str,
    provider_type: str,
    hours_per_week: Decimal | None = None,
    address: str = "",
    where: str = "",
    online: bool = False,
    started_on: dt.date | None = None,
) -> OtherProvider:
    """Someone other than the parents educates the child: who, where and for how long."""
    _require_writer(actor)
    if not name.strip():
        raise ValidationError({"name": "Enter the provider's name"})
    provider = audited_create(
        actor=actor,
        instance=OtherProvider(
            child=child,
            name=name.strip(),
            provider_type=provider_type,
            hours_per_week=hours_per_week,
            address=address.strip(),
            where=where.strip(),
            online=online,
            started_on=started_on,
            recorded_by=actor.user,
        ),
        child_id=child.pk,
        summary=f"Recorded {name.strip()} as educating the child",
    )
    details = RegisterDetails.objects.filter(child=child, no_other_providers=True).first()
    if details is not None:
        audited_update(
            actor=actor,
            instance=details,
            changes={"no_other_providers": False},
            child_id=child.pk,
            summary="The child has another provider",
        )
    return provider


@transaction.atomic
def provider_end(*, actor: Actor, provider: OtherProvider, ended_on: dt.date) -> OtherProvider:
    _require_writer(actor)
    if provider.ended_on is not None:
        raise ValidationError("This provider has already stopped.")
    return audited_update(
        actor=actor,
        instance=provider,
        changes={"ended_on": ended_on},
        child_id=provider.child_id,
        summary=f"{provider.name} no longer educates the child",
    )


@transaction.atomic
def part_time_arrangement_add(
    *,
    actor: Actor,
    child: Child,
    kind: PartTimeKind | str,
    started_on: dt.date,
    school: Organisation | None = None,
    details: str = "",
) -> PartTimeArrangement:
    """The child is registered at a school but educated elsewhere for part of the day,
    or is a part-time student: on the register while it lasts."""
    _require_writer(actor)
    return audited_create(
        actor=actor,
        instance=PartTimeArrangement(
            child=child,
            kind=kind,
            school=school,
            started_on=started_on,
            details=details.strip(),
            recorded_by=actor.user,
        ),
        child_id=child.pk,
        summary="Recorded a part-time arrangement for the children-not-in-school register",
    )


@transaction.atomic
def part_time_arrangement_end(
    *, actor: Actor, arrangement: PartTimeArrangement, ended_on: dt.date
) -> PartTimeArrangement:
    _require_writer(actor)
    if arrangement.ended_on is not None:
        raise ValidationError("This arrangement has already ended.")
    return audited_update(
        actor=actor,
        instance=arrangement,
        changes={"ended_on": ended_on},
        child_id=arrangement.child_id,
        summary="Ended a part-time arrangement",
    )
