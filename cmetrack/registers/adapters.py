"""The home-education list as a register the matching engine searches ("Find a child",
the referral duplicate check). Registered in :class:`RegistersConfig.ready`; the matching
engine needs nothing else (see ``matching/adapters.py``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import Count, Max, Prefetch
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.core.jinja import govuk_date
from cmetrack.matching.adapters import ChildAdapter, RegisterRef, ResultDetails
from cmetrack.matching.features import PersonRecord
from cmetrack.people.models import Address

from .models import HomeEducationRecord
from .selectors import home_education_visible_to


def _open_records() -> object:
    return (
        HomeEducationRecord.objects.filter(ended_on__isnull=True)
        .select_related("child")
        .prefetch_related(
            "child__aliases",
            "child__former_upns",
            "child__parents_carers",
            Prefetch(
                "child__addresses",
                queryset=Address.objects.filter(is_restricted=False),
                to_attr="open_addresses",
            ),
        )
        .order_by("pk")
    )


class HomeEducationAdapter:
    """Children on the home-education list now (open records). A restricted address is
    never indexed. Scoped by :func:`registers.selectors.home_education_visible_to`."""

    name = "home_education"
    label = "Home-education list"

    def signature(self) -> tuple[object, ...]:
        agg = HomeEducationRecord.objects.aggregate(
            n=Count("pk"), top=Max("pk"), ended=Count("ended_on")
        )
        return (agg["n"], agg["top"], agg["ended"])

    def records(self) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        for record in _open_records().iterator(chunk_size=2000):  # type: ignore[attr-defined]
            # The child as every register of children reads it (open_addresses prefetched).
            yield RegisterRef(self.name, record.pk), ChildAdapter.record_of(record.child)

    def permitted(self, user: User, refs: Sequence[RegisterRef]) -> set[RegisterRef]:
        if not refs:
            return set()
        visible = set(
            home_education_visible_to(user)
            .filter(pk__in=[r.pk for r in refs])
            .values_list("pk", flat=True)
        )
        return {r for r in refs if r.pk in visible}

    def details(self, refs: Sequence[RegisterRef]) -> dict[RegisterRef, ResultDetails]:
        records = (
            HomeEducationRecord.objects.filter(pk__in=[r.pk for r in refs])
            .select_related("child")
            .prefetch_related(
                Prefetch(
                    "child__addresses",
                    queryset=Address.objects.filter(is_restricted=False),
                    to_attr="open_addresses",
                )
            )
        )
        by_pk = {r.pk: r for r in records}
        out = {}
        for ref in refs:
            r = by_pk.get(ref.pk)
            if r is None:
                continue
            addresses: list[Address] = getattr(r.child, "open_addresses", [])
            out[ref] = ResultDetails(
                name=r.child.full_name,
                dob=govuk_date(r.child.dob) if r.child.dob else "Not known",
                where=f"{self.label} (from {govuk_date(r.started_on)})",
                postcode=addresses[0].postcode if addresses else "",
                upn=r.child.upn or "",
                href=reverse("casework:registers:detail", args=[r.pk]),
            )
        return out
