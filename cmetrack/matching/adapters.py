"""One adapter per register the search looks in.

An adapter says how to read its register as :class:`PersonRecord` rows (for the index),
how cheaply to tell that the register has changed (``signature``), which of a handful of
candidate rows a user may see (``permitted``, one query, before anything is scored) and
how to show a result. The children with a case are here; the registers above matching
(the rolls and the home-education list in ``registers``, the lost-pupil area in
``transfers``) add their adapters from their ``extensions`` modules with
:func:`adapter_register`; nothing else changes. An adapter that offers
``training_records()`` gives the rows the model is trained on.

An adapter may also let its index grow by appending (:class:`AppendableAdapter`): the
worker then adds the rows whose primary key is above the saved index's instead of
rebuilding, as long as the rows at or below it are as they were (``unchanged``), and a
web process finds rows added since the index was saved by reading just those
(``top_pk``, ``records(after=...)``). Without it a changed register is rebuilt whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db.models import Count, Max, Prefetch
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.kit.dates import govuk_date
from cmetrack.people.models import Address, Child, ChildAlias, FormerUpn, ParentCarer
from cmetrack.people.selectors import children_visible_to

from .features import PersonRecord


@dataclass(frozen=True)
class RegisterRef:
    """A row of a register: which register, its primary key and, for rolls, the school
    (used to scope the search without a query)."""

    register: str
    pk: int
    school_id: int | None = None


@dataclass(frozen=True)
class ResultDetails:
    """What a results page shows about one row (nothing the user may not see)."""

    name: str
    dob: str
    where: str  # school, or "Child with a case"
    postcode: str
    upn: str
    href: str = ""


class RegisterAdapter(Protocol):
    name: str
    label: str

    def signature(self) -> tuple[object, ...]: ...

    def records(self) -> Iterator[tuple[RegisterRef, PersonRecord]]: ...

    def permitted(self, user: User, refs: Sequence[RegisterRef]) -> set[RegisterRef]: ...

    def details(self, refs: Sequence[RegisterRef]) -> dict[RegisterRef, ResultDetails]: ...


class AppendableAdapter(RegisterAdapter, Protocol):
    """A register whose new rows have higher primary keys than every row indexed."""

    def watermark(self) -> dict[str, object]:
        """What the rows up to the largest primary key are now (JSON; ``max_pk`` is the
        key): read before the records a build indexes, kept with the index."""
        ...

    def unchanged(self, watermark: dict[str, object]) -> bool:
        """The rows with a primary key up to ``watermark["max_pk"]`` are exactly those
        indexed under ``watermark``: none deleted, changed or left out."""
        ...

    def top_pk(self) -> int | None:
        """The largest primary key of the register's table (one index read)."""
        ...

    def records_between(
        self, after: int | None, upto: int | None
    ) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        """The rows with ``after < pk <= upto`` (either bound may be None)."""
        ...


def appendable(adapter: RegisterAdapter) -> AppendableAdapter | None:
    return adapter if hasattr(adapter, "watermark") else None  # type: ignore[return-value]


def pk_range(after: int | None, upto: int | None, field: str = "pk") -> dict[str, int]:
    """Filter arguments for the rows an index append reads: ``field`` after ``after``, up to
    ``upto`` (the adapters of every register share them)."""
    bounds = {}
    if after is not None:
        bounds[f"{field}__gt"] = after
    if upto is not None:
        bounds[f"{field}__lte"] = upto
    return bounds


def stamp(value: object) -> object:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _split_names(value: str) -> tuple[str, ...]:
    return (value,) if value else ()


def _child_record(
    given: str,
    middle: str,
    family: str,
    dob: Any,
    sex: str,
    upn: str | None,
    aliases: Iterable[tuple[Any, ...]],
    former_upns: Iterable[str],
    parents: Iterable[tuple[Any, ...]],
    address: tuple[str, str, str, str] | None,  # line 1, line 2, town, postcode
) -> PersonRecord:
    """A child with a case as the engine reads it (both of ChildAdapter's reads)."""
    return PersonRecord(
        given_names=given,
        middle_names=middle,
        family_name=family,
        aliases=tuple((a_given, a_family) for a_given, a_family in aliases),
        dob=dob,
        sex=sex,
        postcode=address[3] if address else "",
        address=" ".join(filter(None, address[:3])) if address else "",
        parent_names=tuple(f"{p_given} {p_family}" for p_given, p_family in parents),
        upns=tuple(u for u in (upn, *former_upns) if u),
    )


class ChildAdapter:
    """Children the authority works with (each has at least one case), with their aliases,
    former UPNs, parents and carers, and current unrestricted address. Restricted
    addresses are never indexed, so a search by postcode cannot reveal where a child in
    hiding lives. Scoped by :func:`people.selectors.children_visible_to`."""

    name = "children"
    label = "Child with a case"

    def signature(self) -> tuple[object, ...]:
        child = Child.objects.aggregate(n=Count("pk"), top=Max("pk"), changed=Max("updated_at"))
        parts: list[object] = [child["n"], child["top"], child["changed"]]
        for model in (ChildAlias, FormerUpn, Address, ParentCarer):
            agg = model.objects.aggregate(n=Count("pk"), top=Max("pk"))
            parts += [agg["n"], agg["top"]]
        return tuple(parts)

    _RELATED = (ChildAlias, FormerUpn, Address, ParentCarer)

    def watermark(self) -> dict[str, object]:
        top = self.top_pk()
        return {"max_pk": top, **self._state_upto(top or 0)}

    @classmethod
    def _state_upto(cls, top: int) -> dict[str, object]:
        child = Child.objects.filter(pk__lte=top).aggregate(
            n=Count("pk"), changed=Max("updated_at")
        )
        state: dict[str, object] = {"count": child["n"], "changed": stamp(child["changed"])}
        for model in cls._RELATED:
            agg = model.objects.filter(child_id__lte=top).aggregate(n=Count("pk"), top=Max("pk"))
            state[model.__name__] = [agg["n"], agg["top"]]
        return state

    def unchanged(self, watermark: dict[str, object]) -> bool:
        """No child up to ``max_pk`` deleted or saved since, and their aliases, former
        UPNs, addresses and parents neither added to nor removed (an address edited in
        place is caught by the schedule's rebuild when its child is saved with it)."""
        top = watermark.get("max_pk")
        if top is None:
            return False
        expected = {k: v for k, v in watermark.items() if k != "max_pk"}
        now = json.loads(json.dumps(self._state_upto(int(top))))  # type: ignore[call-overload]
        return bool(now == expected)

    def top_pk(self) -> int | None:
        top: int | None = Child.objects.aggregate(top=Max("pk"))["top"]
        return top

    def records_between(
        self, after: int | None, upto: int | None
    ) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        return self.records(bounds=pk_range(after, upto))

    #: Children read at a time by :meth:`records`.
    CHUNK = 5000

    def training_records(self) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        """Every child with a case: the model learns from them as well as the rolls."""
        return self.records()

    def records(
        self, *, bounds: dict[str, int] | None = None
    ) -> Iterator[tuple[RegisterRef, PersonRecord]]:
        """Every child (within ``bounds``), as :meth:`record_of` reads one, read as plain
        values in chunks of :data:`CHUNK` by primary key: the children, then the chunk's
        aliases, former UPNs, parents and unrestricted addresses, one query each (no
        model objects: at 100,000 children this is most of a full build)."""
        children = (
            Child.objects.filter(**(bounds or {}))
            .order_by("pk")
            .values_list(
                "pk",
                "legal_given_names",
                "legal_middle_names",
                "legal_family_name",
                "dob",
                "sex",
                "upn",
            )
        )
        last: int | None = None
        while True:
            page = children if last is None else children.filter(pk__gt=last)
            rows = list(page[: self.CHUNK])
            if not rows:
                return
            ids = {"child_id__gte": rows[0][0], "child_id__lte": rows[-1][0]}

            def grouped(qs: Any) -> dict[int, list[tuple[Any, ...]]]:
                out: dict[int, list[tuple[Any, ...]]] = {}
                for child_id, *values in qs.iterator(chunk_size=self.CHUNK):
                    out.setdefault(child_id, []).append(tuple(values))
                return out

            aliases = grouped(
                ChildAlias.objects.filter(**ids)
                .order_by("child_id", "pk")
                .values_list("child_id", "given_names", "family_name")
            )
            former = grouped(
                FormerUpn.objects.filter(**ids)
                .order_by("child_id", "pk")
                .values_list("child_id", "upn")
            )
            parents = grouped(
                ParentCarer.objects.filter(**ids)
                .order_by("child_id", "pk")
                .values_list("child_id", "given_names", "family_name")
            )
            # The current address is the first in Address's own order (as record_of reads
            # it), so the order is the model's, after the child.
            addresses = grouped(
                Address.objects.filter(is_restricted=False, **ids)
                .order_by("child_id", *(Address._meta.ordering or ()))
                .values_list("child_id", "line1", "line2", "town", "postcode")
            )
            for pk, given, middle, family, dob, sex, upn in rows:
                current = addresses.get(pk)
                yield (
                    RegisterRef(self.name, pk),
                    _child_record(
                        given,
                        middle,
                        family,
                        dob,
                        sex,
                        upn,
                        aliases.get(pk, ()),
                        [u for (u,) in former.get(pk, ())],
                        parents.get(pk, ()),
                        current[0] if current else None,
                    ),
                )
            last = rows[-1][0]

    @staticmethod
    def record_of(child: Child) -> PersonRecord:
        """The child as the engine reads it (aliases, former UPNs, parents and carers, the
        current unrestricted address). Prefetch ``open_addresses`` for many children."""
        addresses: list[Address] | None = getattr(child, "open_addresses", None)
        if addresses is None:
            addresses = list(child.addresses.filter(is_restricted=False))
        current = addresses[0] if addresses else None
        return _child_record(
            child.legal_given_names,
            child.legal_middle_names,
            child.legal_family_name,
            child.dob,
            child.sex,
            child.upn,
            [(a.given_names, a.family_name) for a in child.aliases.all()],
            [f.upn for f in child.former_upns.all()],
            [(p.given_names, p.family_name) for p in child.parents_carers.all()],
            (current.line1, current.line2, current.town, current.postcode) if current else None,
        )

    def permitted(self, user: User, refs: Sequence[RegisterRef]) -> set[RegisterRef]:
        if not refs:
            return set()
        visible = set(
            children_visible_to(user)
            .filter(pk__in=[r.pk for r in refs])
            .values_list("pk", flat=True)
        )
        return {r for r in refs if r.pk in visible}

    def details(self, refs: Sequence[RegisterRef]) -> dict[RegisterRef, ResultDetails]:
        children = Child.objects.filter(pk__in=[r.pk for r in refs]).prefetch_related(
            Prefetch(
                "addresses",
                queryset=Address.objects.filter(is_restricted=False),
                to_attr="open_addresses",
            )
        )
        by_pk = {c.pk: c for c in children}
        out = {}
        for ref in refs:
            c = by_pk.get(ref.pk)
            if c is None:
                continue
            addresses: list[Address] = getattr(c, "open_addresses", [])
            out[ref] = ResultDetails(
                name=c.full_name,
                dob=govuk_date(c.dob) if c.dob else "Not known",
                where=self.label,
                postcode=addresses[0].postcode if addresses else "",
                upn=c.upn or "",
                href=reverse("people:child-detail", args=[c.pk]),
            )
        return out


#: Every register the search looks in: the children with a case here; the areas above
#: add theirs from their ``extensions`` modules (:func:`adapter_register`): the rolls and
#: the home-education list (registers), the lost-pupil area (transfers).
ADAPTERS: list[RegisterAdapter] = [ChildAdapter()]


def adapter_register(adapter: RegisterAdapter, *, first: bool = False) -> None:
    """Add ``adapter``'s register to those searched (once per name); ``first`` puts it
    before the others (the rolls: training reads the registers in this order)."""
    if any(a.name == adapter.name for a in ADAPTERS):
        return
    if first:
        ADAPTERS.insert(0, adapter)
    else:
        ADAPTERS.append(adapter)


def adapter_for(name: str) -> RegisterAdapter:
    for adapter in ADAPTERS:
        if adapter.name == name:
            return adapter
    raise KeyError(name)
