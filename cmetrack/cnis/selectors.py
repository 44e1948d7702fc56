"""The children-not-in-school register, built on demand, and its completeness report.

Who is on it on a date (``on``), each for one or more reasons:

* **Home educated**: an open record on the home-education list on that date.
* **Missing education, living in the area**: a CME case, as it stands now, whose child's
  whereabouts are known and who is not in school (located, needs assessment, awaiting
  provision). Children not found (tracking, dormant) are not known to live in the area.
* **Part-time elsewhere / part-time student**: a part-time arrangement in force that day.

and of compulsory school age that day (``rules.is_of_compulsory_school_age``; a child
with no date of birth stays on, with the date of birth reported missing).

Required items (s38): the child's name, date of birth and home address; each parent's
name and address; the estimated time educated by the parents and by others; for each
other provider above the prescribed hours (``CMETRACK_CNIS_PROVIDER_HOURS_THRESHOLD``,
hours a week, default 0 until regulations prescribe it): name, address, type, where (or
online address) and the time spent. Optional items are shown where known.
"""

from __future__ import annotations

import datetime as dt
import os
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch, Q
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.people.models import Address, Child, ParentCarer
from cmetrack.registers.models import HomeEducationRecord
from cmetrack.registers.selectors import on_list_at
from cmetrack.rules import is_of_compulsory_school_age

from .models import OtherProvider, PartTimeArrangement, PartTimeKind, RegisterDetails

#: CME case states in which the child lives in the area, is known, and is not in school.
CME_STATES_ON_REGISTER = frozenset(
    {CaseState.LOCATED, CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION}
)


class Basis:
    HOME_EDUCATED = "Home educated"
    CME = "Missing education, living in the area"
    ELSEWHERE = "Registered at a school, educated elsewhere for part of the day"
    PART_TIME_STUDENT = "Part-time student"


def cnis_enabled() -> bool:
    """Whether s38 has commenced here: ``CMETRACK_CNIS_ENABLED`` in settings (or, if the
    settings do not name it, the environment variable of that name). Default off."""
    value = getattr(settings, "CMETRACK_CNIS_ENABLED", None)
    if value is None:
        value = os.environ.get("CMETRACK_CNIS_ENABLED", "").strip().lower() in {"1", "true", "yes"}
    return bool(value)


def provider_hours_threshold() -> Decimal:
    return Decimal(str(getattr(settings, "CMETRACK_CNIS_PROVIDER_HOURS_THRESHOLD", "0")))


def may_see_register(user: User) -> bool:
    return user.is_authenticated and user.is_active and user.has_role(*ALL_CASES_ROLES)


@dataclass
class RegisterEntry:
    child: Child
    bases: list[str]
    home_address: Address | None
    parents: list[ParentCarer]
    details: RegisterDetails | None
    providers: list[OtherProvider]
    home_education: HomeEducationRecord | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def parent_hours(self) -> Decimal | None:
        return self.details.parent_hours_per_week if self.details else None

    @property
    def other_hours(self) -> Decimal | None:
        """The total time with other providers; None if any provider's time is unknown."""
        if any(p.hours_per_week is None for p in self.providers):
            return None
        return sum((p.hours_per_week or Decimal(0) for p in self.providers), Decimal(0))

    @property
    def complete(self) -> bool:
        return not self.missing


def _active_on(on: dt.date) -> Q:
    return (Q(started_on__isnull=True) | Q(started_on__lte=on)) & (
        Q(ended_on__isnull=True) | Q(ended_on__gte=on)
    )


def _parent_address_known(parent: ParentCarer, home: Address | None) -> bool:
    return bool(parent.address.strip()) or (parent.lives_with_child and home is not None)


def missing_items(entry: RegisterEntry, threshold: Decimal) -> list[str]:
    """The required items the register lacks for this child, in the user's words."""
    missing: list[str] = []
    child = entry.child
    if child.dob is None:
        missing.append("Date of birth")
    if entry.home_address is None:
        missing.append("Home address")
    if not entry.parents:
        missing.append("Parent's name and address")
    for parent in entry.parents:
        if not _parent_address_known(parent, entry.home_address):
            missing.append(f"Address of {parent.given_names} {parent.family_name}".strip())
    if entry.parent_hours is None:
        missing.append("Time educated by the parents")
    if not entry.providers and not (entry.details and entry.details.no_other_providers):
        missing.append("Time educated by others (or confirm nobody else educates the child)")
    for provider in entry.providers:
        if provider.hours_per_week is None:
            missing.append(f"Time spent with {provider.name}")
        if provider.hours_per_week is not None and provider.hours_per_week <= threshold:
            continue  # below the prescribed hours: only the time is required
        if not provider.address.strip():
            missing.append(f"Address of {provider.name}")
        if not provider.where.strip():
            missing.append(f"Where {provider.name} educates the child (address or online address)")
    return missing


def register_entries(
    *, on: dt.date | None = None, child_id: int | None = None
) -> list[RegisterEntry]:
    """Everyone on the register on ``on`` (default today), by family name; or, with
    ``child_id``, only that child if on it. A handful of queries whatever the size: ids
    from the three sources, then the children with their addresses, parents, details and
    providers prefetched."""
    on = on or timezone.localdate()
    bases: dict[int, list[str]] = {}
    one = {"child_id": child_id} if child_id is not None else {}
    he_records = {r.child_id: r for r in on_list_at(on).filter(**one)}
    for child_id in he_records:
        bases.setdefault(child_id, []).append(Basis.HOME_EDUCATED)
    for child_id in (
        Case.objects.filter(state__in=CME_STATES_ON_REGISTER, **one)
        .values_list("child_id", flat=True)
        .distinct()
    ):
        if Basis.CME not in bases.get(child_id, []):
            bases.setdefault(child_id, []).append(Basis.CME)
    for child_id, kind in PartTimeArrangement.objects.filter(_active_on(on), **one).values_list(
        "child_id", "kind"
    ):
        basis = Basis.ELSEWHERE if kind == PartTimeKind.ELSEWHERE else Basis.PART_TIME_STUDENT
        if basis not in bases.get(child_id, []):
            bases.setdefault(child_id, []).append(basis)
    children = (
        Child.objects.filter(pk__in=list(bases))
        .select_related("cnis_details")
        .prefetch_related(
            Prefetch(
                "addresses",
                queryset=Address.objects.filter(
                    Q(date_to__isnull=True) | Q(date_to__gte=on)
                ).filter(Q(date_from__isnull=True) | Q(date_from__lte=on)),
                to_attr="current_addresses",
            ),
            "parents_carers",
            Prefetch(
                "cnis_providers",
                queryset=OtherProvider.objects.filter(_active_on(on)),
                to_attr="active_providers",
            ),
        )
        .order_by("legal_family_name", "legal_given_names", "pk")
    )
    threshold = provider_hours_threshold()
    entries = []
    for child in children:
        if child.dob is not None and not is_of_compulsory_school_age(child.dob, on):
            continue
        addresses: list[Address] = getattr(child, "current_addresses", [])
        try:
            details: RegisterDetails | None = child.cnis_details
        except RegisterDetails.DoesNotExist:
            details = None
        entry = RegisterEntry(
            child=child,
            bases=bases[child.pk],
            home_address=addresses[0] if addresses else None,
            parents=list(child.parents_carers.all()),
            details=details,
            providers=list(getattr(child, "active_providers", [])),
            home_education=he_records.get(child.pk),
        )
        entry.missing = missing_items(entry, threshold)
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class CompletenessReport:
    on: dt.date
    total: int
    complete: int
    incomplete: list[RegisterEntry]
    #: How many children lack each item (items per parent or provider are grouped).
    by_item: list[tuple[str, int]]


def _item_group(item: str) -> str:
    for prefix, group in (
        ("Address of ", "Address of a parent or provider"),
        ("Time spent with ", "Time spent with a provider"),
        ("Where ", "Where a provider educates the child"),
    ):
        if item.startswith(prefix):
            return group
    return item


def completeness_report(*, on: dt.date | None = None) -> CompletenessReport:
    """What is missing for whom: the incomplete entries and a count per missing item."""
    entries = register_entries(on=on)
    incomplete = [e for e in entries if e.missing]
    counts: Counter[str] = Counter()
    for e in incomplete:
        counts.update({_item_group(item) for item in e.missing})
    return CompletenessReport(
        on=on or timezone.localdate(),
        total=len(entries),
        complete=len(entries) - len(incomplete),
        incomplete=incomplete,
        by_item=sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])),
    )
