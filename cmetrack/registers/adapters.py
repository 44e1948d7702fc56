"""The registers as the matching engine reads them: the schools' rolls and the
home-education list ("Find a child", the referral duplicate check, detection's "found on a
roll"). Registered in ``registers/extensions.py``; the matching engine needs nothing else
(see ``matching/adapters.py``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from django.db.models import Count, Max, Prefetch
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.kit.dates import govuk_date
from cmetrack.matching.adapters import (
    ChildAdapter,
    RegisterRef,
    ResultDetails,
    pk_range,
    stamp,
)
from cmetrack.matching.features import PersonRecord
from cmetrack.people.models import Address, Child

from .models import HomeEducationRecord, RollEntry, RollSnapshot
from .selectors import home_education_visible_to, latest_snapshots


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


#: Snapshots per school used for training: the same pupils on two dated rolls are the
#: matching pairs EM learns from.
TRAINING_SNAPSHOTS_PER_SCHOOL = 2


class RollAdapter:
    """The latest roll snapshot of every school (dual registrations appear once per
    school). CME officers and managers search every roll, an SLO the rolls of their linked
    schools, a school user their own school's roll; other roles none."""

    name = "roll"
    label = "School roll"

    def signature(self) -> tuple[object, ...]:
        # A roll re-imported for the same date keeps its snapshot row and replaces its
        # entries: the newest import time and entry id tell that apart (both cheap: a
        # small table, and the maximum of a primary key).
        agg = RollSnapshot.objects.aggregate(
            n=Count("pk"), top=Max("pk"), imported=Max("imported_at")
        )
        entries = RollEntry.objects.aggregate(top=Max("pk"))
        return (agg["n"], agg["top"], agg["imported"], entries["top"])

    def watermark(self) -> dict[str, object]:
        top = self.top_pk()
        latest = sorted(latest_snapshots().values_list("pk", flat=True))
        agg = RollEntry.objects.filter(snapshot__in=latest, pk__lte=top or 0).aggregate(
            n=Count("pk")
        )
        imported = RollSnapshot.objects.filter(pk__in=latest).aggregate(at=Max("imported_at"))
        return {
            "max_pk": top,
            "snapshots": latest,
            "count": agg["n"],
            "imported": stamp(imported["at"]),
        }

    def unchanged(self, watermark: dict[str, object]) -> bool:
        """Every snapshot indexed is still the latest of its school and was not
        re-imported, and the latest snapshots hold no other entry up to ``max_pk`` (a new
        school's first roll, with higher ids, is appended; a school's newer roll replaces
        its older one, which is a rebuild)."""
        top = watermark.get("max_pk")
        if top is None:
            return False
        before = set(watermark.get("snapshots") or [])  # type: ignore[call-overload]
        latest = set(latest_snapshots().values_list("pk", flat=True))
        if not before <= latest:
            return False
        imported = RollSnapshot.objects.filter(pk__in=before).aggregate(at=Max("imported_at"))
        count = RollEntry.objects.filter(snapshot__in=latest, pk__lte=top).count()
        return stamp(imported["at"]) == watermark.get("imported") and count == watermark.get(
            "count"
        )

    def top_pk(self) -> int | None:
        top: int | None = RollEntry.objects.aggregate(top=Max("pk"))["top"]
        return top

    def records_between(
        self, after: int | None, upto: int | None
    ) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        return self.records(bounds=pk_range(after, upto))

    def records(
        self,
        snapshot_ids: Sequence[int] | None = None,
        *,
        bounds: dict[str, int] | None = None,
    ) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        snapshots = latest_snapshots() if snapshot_ids is None else snapshot_ids
        rows = (
            RollEntry.objects.filter(snapshot__in=snapshots, **(bounds or {}))
            .values_list(
                "pk",
                "snapshot__school_id",
                "upn",
                "former_upn",
                "legal_given_name",
                "legal_family_name",
                "preferred_given_name",
                "preferred_family_name",
                "dob",
                "sex",
                "address",
                "postcode",
            )
            .order_by()
            .iterator(chunk_size=5000)
        )
        for pk, school, upn, former, given, family, p_given, p_family, dob, sex, addr, pc in rows:
            aliases = ((p_given, p_family),) if (p_given or p_family) else ()
            yield (
                RegisterRef(self.name, pk, school),
                PersonRecord(
                    given_names=given,
                    family_name=family,
                    aliases=aliases,
                    dob=dob,
                    sex=sex,
                    postcode=pc,
                    address=addr,
                    upns=tuple(u for u in (upn, former) if u),
                ),
            )

    def training_records(self) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        """The newest rolls of each school (the same pupils on two dated rolls are the
        matching pairs the model learns from)."""
        kept: dict[int, list[int]] = {}
        for pk, school in RollSnapshot.objects.order_by("school_id", "-taken_on").values_list(
            "pk", "school_id"
        ):
            if len(kept.setdefault(school, [])) < TRAINING_SNAPSHOTS_PER_SCHOOL:
                kept[school].append(pk)
        return self.records(snapshot_ids=[pk for pks in kept.values() for pk in pks])

    @staticmethod
    def schools_for(user: User) -> set[int] | None:
        """None: every school; otherwise the schools whose rolls ``user`` may search."""
        if not user.is_authenticated or not user.is_active:
            return set()
        if user.has_role(*ALL_CASES_ROLES):
            return None
        schools: set[int] = set()
        if user.has_role(Role.SLO):
            schools |= set(user.linked_schools.values_list("pk", flat=True))
        if user.has_role(Role.SCHOOL_USER) and user.organisation_id:
            schools.add(user.organisation_id)
        return schools

    def permitted(self, user: User, refs: Sequence[RegisterRef]) -> set[RegisterRef]:
        schools = self.schools_for(user)
        if schools is None:
            return set(refs)
        return {r for r in refs if r.school_id in schools}

    def details(self, refs: Sequence[RegisterRef]) -> dict[RegisterRef, ResultDetails]:
        entries = RollEntry.objects.filter(pk__in=[r.pk for r in refs]).select_related(
            "snapshot__school"
        )
        by_pk = {e.pk: e for e in entries}
        out = {}
        for ref in refs:
            e = by_pk.get(ref.pk)
            if e is None:
                continue
            out[ref] = ResultDetails(
                name=f"{e.legal_given_name} {e.legal_family_name}",
                dob=govuk_date(e.dob),
                where=f"{e.snapshot.school.name} (roll of {govuk_date(e.snapshot.taken_on)})",
                postcode=e.postcode,
                upn=e.upn,
            )
        return out


@dataclass(frozen=True)
class RollMatch:
    """A roll entry that is probably the child (for detection's "found on a roll")."""

    entry: RollEntry
    probability: float
    explanation: str


def find_on_rolls(
    child: Child,
    *,
    since: dt.date | None = None,
    min_probability: float = 0.9,
    limit: int = 5,
) -> list[RollMatch]:
    """Entries of the latest roll of each school (taken after ``since``, when given) that
    are probably ``child``, most likely first: the engine's search with everything known
    about the child (aliases, former UPNs, parents, address), every stage run. For
    detection looking for a child with an open case on a later roll, where the UPN may
    have changed or a name been retyped. Not scoped or audited here: the caller is the
    system and records what it does with a finding. Raises ``SearchNotReady`` when
    there is no roll index (a job calls ``matching.services.refresh_index`` first)."""
    # In the function: matching.services loads the search index's libraries (NumPy,
    # PyArrow), which every command would otherwise pay for at start-up (this module
    # is loaded by registers/extensions.py in CoreConfig.ready()).
    from cmetrack.matching.services import find_in_register

    found = find_in_register(child, RollAdapter.name, min_probability=min_probability, limit=limit)
    entries = RollEntry.objects.select_related("snapshot").in_bulk([m.pk for m in found])
    out = []
    for m in found:
        entry = entries.get(m.pk)
        if entry is None:
            continue
        if since is not None and entry.snapshot.taken_on <= since:
            continue
        out.append(RollMatch(entry, m.probability, m.explanation))
    return out


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
