"""What a record or a query is compared on, computed once: :class:`Features`.

A :class:`PersonRecord` is the common shape of every register's rows (a roll entry, a
child with a case, a line of a linkage file) and of a search query. :func:`features_of`
turns it into one :class:`Features` per name it is known by (the legal name and each
alias), with the parts shared between records cached, so a million rows with a few
thousand distinct names cost a few thousand normalisations.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache

from cmetrack.rules.upn import is_valid_upn

from .normalise import (
    NO_DOB,
    DobParts,
    address_parts,
    dob_parts,
    name_groups,
    name_parts,
    phonetic_key,
    postcode_parts,
    split_list,
)


@dataclass(frozen=True)
class PersonRecord:
    """A person as a register (or a query) describes them. Every field may be blank.

    ``aliases`` are other names, each "given family" or "family" alone written as
    "Given Family"; ``parent_names`` are full names of parents or carers; ``upns`` holds
    the UPN and any former UPNs. ``dob`` may be partial (see :func:`normalise.dob_parts`).
    """

    given_names: str = ""
    middle_names: str = ""
    family_name: str = ""
    aliases: tuple[tuple[str, str], ...] = ()
    dob: dt.date | str | None = None
    sex: str = ""
    postcode: str = ""
    address: str = ""
    parent_names: tuple[str, ...] = ()
    upns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GivenName:
    first: str  # the first given name, normalised and run together
    phonetic: str
    groups: frozenset[int]  # nickname and transliteration groups of the first name
    others: frozenset[str]  # the other given and middle names
    #: all given names run together ("har risn" → "harrisn"), so a space typed inside a
    #: name does not hide it (compare.py's exact and typo levels read it as well)
    squashed: str = ""


@dataclass(frozen=True, slots=True)
class FamilyName:
    full: str  # all parts run together: "smith-jones" → "smithjones"
    parts: frozenset[str]
    phonetic: str
    part_phonetics: frozenset[str]


@dataclass(frozen=True, slots=True)
class Postcode:
    full: str
    sector: str
    district: str


@dataclass(frozen=True, slots=True)
class AddressText:
    text: str
    parts: frozenset[str]


@dataclass(frozen=True, slots=True)
class ParentNames:
    full: frozenset[str]  # "given family" of each parent
    parts: frozenset[str]


@dataclass(frozen=True, slots=True)
class Features:
    """One name of one record, ready to compare. ``name_source`` says which name this is
    ("" for the legal name, otherwise e.g. "alias")."""

    given: GivenName | None
    family: FamilyName | None
    dob: DobParts
    sex: str
    postcode: Postcode | None
    address: AddressText | None
    upns: frozenset[str]
    parents: ParentNames | None
    name_source: str = ""
    swapped: bool = field(default=False, compare=False)
    #: Whether one of ``upns`` is a valid UPN (check letter right): only a valid UPN that
    #: agrees links a pair whatever else differs (compare.UPN_LINK_WEIGHT).
    upn_valid: bool = field(default=False, compare=False)


@lru_cache(maxsize=200_000)
def given_name(given: str, middle: str = "") -> GivenName | None:
    parts = name_parts(given)
    if not parts:
        return None
    first = parts[0]
    others = frozenset(parts[1:]) | frozenset(name_parts(middle))
    return GivenName(
        first, phonetic_key(first), name_groups(first), others - {first}, "".join(parts)
    )


@lru_cache(maxsize=200_000)
def family_name(family: str) -> FamilyName | None:
    parts = name_parts(family)
    if not parts:
        return None
    full = "".join(parts)
    return FamilyName(
        full,
        frozenset(parts),
        phonetic_key(full),
        frozenset(phonetic_key(p) for p in parts),
    )


@lru_cache(maxsize=200_000)
def postcode(value: str) -> Postcode | None:
    full, sector, district = postcode_parts(value)
    return Postcode(full, sector, district) if full else None


@lru_cache(maxsize=200_000)
def address(value: str) -> AddressText | None:
    parts = address_parts(value)
    return AddressText(" ".join(parts), frozenset(parts)) if parts else None


@lru_cache(maxsize=100_000)
def parent_names(names: tuple[str, ...]) -> ParentNames | None:
    full = frozenset(" ".join(name_parts(n)) for n in names if name_parts(n))
    if not full:
        return None
    return ParentNames(full, frozenset(p for n in full for p in n.split()))


def normalise_sex(value: str | None) -> str:
    v = (value or "").strip().upper()[:1]
    return v if v in ("F", "M") else ""


def normalise_upn(value: str) -> str:
    return "".join(value.split()).upper()


def any_valid_upn(upns: frozenset[str] | set[str]) -> bool:
    """Whether any of the (normalised) UPNs is a valid UPN."""
    return any(is_valid_upn(u) for u in upns)


@lru_cache(maxsize=100_000)
def _dob(value: dt.date | str) -> DobParts:
    """Shared tuples, so the scorer's per-query cache (by object) works for dates too."""
    return dob_parts(value)


def features_of(record: PersonRecord) -> list[Features]:
    """The record's legal name first, then one entry per alias (other fields shared)."""
    dob = _dob(record.dob) if record.dob else NO_DOB
    upns = frozenset(normalise_upn(u) for u in record.upns if u and u.strip())
    shared = {
        "dob": dob,
        "sex": normalise_sex(record.sex),
        "postcode": postcode(record.postcode or ""),
        "address": address(record.address or ""),
        "upns": upns,
        "parents": parent_names(tuple(record.parent_names)),
        "upn_valid": any_valid_upn(upns),
    }
    rows = [
        Features(
            given=given_name(record.given_names or "", record.middle_names or ""),
            family=family_name(record.family_name or ""),
            **shared,  # type: ignore[arg-type]
        )
    ]
    for alias_given, alias_family in record.aliases:
        rows.append(
            Features(
                given=given_name(alias_given or record.given_names or "", record.middle_names),
                family=family_name(alias_family or record.family_name or ""),
                name_source="alias",
                **shared,  # type: ignore[arg-type]
            )
        )
    return rows


def swapped(features: Features) -> Features | None:
    """The same record read with given and family names the other way round."""
    if features.given is None or features.family is None:
        return None
    return Features(
        given=given_name(features.family.full),
        family=family_name(features.given.first),
        dob=features.dob,
        sex=features.sex,
        postcode=features.postcode,
        address=features.address,
        upns=features.upns,
        parents=features.parents,
        name_source=features.name_source,
        swapped=True,
        upn_valid=features.upn_valid,
    )


def parse_aliases(value: str | tuple[str, ...] | None) -> tuple[tuple[str, str], ...]:
    """'Given Family;Other Name' → (("Given", "Family"), ("Other", "Name")). A single word
    is read as a family name (the commonest alias is a previous surname)."""
    out = []
    for item in split_list(value):
        words = item.split()
        if len(words) == 1:
            out.append(("", words[0]))
        else:
            out.append((" ".join(words[:-1]), words[-1]))
    return tuple(out)
