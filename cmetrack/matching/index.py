"""The candidate index: a search gathers candidates through blocking keys and scores only
those, so one query never reads the whole register.

**Columns, not objects.** A register is held as columns of small integers, one row per
name a record is known by (the legal name, then each alias): the record it belongs to and,
for each field, an id into a vocabulary of the field's distinct values. Names and dates
of birth keep their :mod:`features` objects in the vocabulary (a register has a few
thousand distinct names); postcodes, addresses, parents and UPNs, which are distinct per
household or per child, keep only 32-bit hashes of their normalised parts (their levels
only ever ask "equal?" or "shared?", which hashes answer the same), UPNs 64-bit ones
(:func:`upn_hash`: an agreeing UPN links a pair on its own, and a UPN's key finds every
UPN of the same 32-bit hash). Ten million pupils cost about 45 bytes a row plus about
130 bytes of keys.

**Keys.** Every row is filed under a few packed 64-bit keys (type, a 32-bit hash, a
27-bit value; ``KEY_*``), held in one sorted array; a lookup is two binary searches. The
keys pair a phonetic surname or given-name key, a postcode or a UPN with a date of birth,
a birth year or the other name. The query side does the expanding: it looks itself up
under every date its date of birth may have been mistyped from, every nickname and other
spelling of its given name, and with given and family names swapped.

**Building** reads each distinct value once in Python and does the per-row work in
Arrow and DuckDB: dictionary-encoding the columns, joining the rows to their names' keys
and sorting the keys (:meth:`CandidateIndex.from_table`; the ``PersonRecord`` iterator
is turned into such a table in batches). **Saving** writes the columns and keys as Arrow
IPC files that :meth:`CandidateIndex.load` memory-maps: a web process opens a built index
in well under a second and processes share its pages.

**Searching** scores candidates against the columns with one cache per comparison keyed
by vocabulary id, so a candidate costs a few dictionary look-ups; blocks of a stage are
read smallest first and a stage scores at most its budget of rows
(:data:`SEARCH_STAGE_BUDGETS` for a search, :data:`STAGE_BUDGETS` in bulk linkage), those
filed under the most of the query's keys first (a common name with thousands of postings
says little the smaller blocks did not).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import tempfile
import threading
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cmetrack.kit import lazy

from .compare import (
    ADDRESS,
    COMPARISONS,
    FAMILY,
    GIVEN,
    GIVEN_NOT_SAME,
    HOUSEHOLD_CAP,
    PARENTS,
    POSTCODE,
    SEX,
    SWAP_PENALTY,
    UPN,
)
from .features import (
    AddressText,
    FamilyName,
    Features,
    GivenName,
    ParentNames,
    PersonRecord,
    Postcode,
    family_name,
    features_of,
    given_name,
    normalise_upn,
    parse_aliases,
    swapped,
)
from .model import MatchModel
from .normalise import (
    NO_DOB,
    DobParts,
    address_parts,
    dob_parts,
    dob_typing_variants,
    name_parts,
    name_variants,
    phonetic_key,
    postcode_parts,
    split_list,
    stable_hash,
    within_one_edit,
)
from .scorer import Score, Scorer, probability

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]
else:  # imported when first used: start-up does not pay for them (see kit/lazy.py)
    np = lazy.module("numpy")
    pa = lazy.module("pyarrow")
    pc = lazy.module("pyarrow.compute")

T = TypeVar("T")

KEY_UPN = 1
KEY_FAMILY_DOB = 2
KEY_GIVEN_DOB = 3
KEY_FAMILY_GIVEN = 4
KEY_POSTCODE_GIVEN = 5
KEY_POSTCODE_DOB = 6
KEY_FAMILY_YEAR = 7
KEY_GIVEN_YEAR = 8
KEY_POSTCODE_FAMILY = 9
KEY_POSTCODE_INITIALS = 10

#: Largest block taken from each kind of key: a key shared by more records than this says
#: too little to be worth scoring (the other keys still find the child).
BLOCK_CAPS = {
    KEY_UPN: 50,
    KEY_FAMILY_DOB: 2000,
    KEY_GIVEN_DOB: 2000,
    KEY_FAMILY_GIVEN: 500,
    KEY_POSTCODE_GIVEN: 500,
    KEY_POSTCODE_DOB: 500,
    KEY_FAMILY_YEAR: 150,
    KEY_GIVEN_YEAR: 150,
    KEY_POSTCODE_FAMILY: 300,
    KEY_POSTCODE_INITIALS: 300,
}
#: Rows scored in one stage at most (see :meth:`CandidateIndex.candidate_rows`): a query
#: whose keys are all common is not allowed to score thousands of strangers.
STAGE_BUDGET = 100
#: The budget of each stage in bulk linkage (``cmetrack link``, both engines): the
#: birth-year keys of the last stage are the broadest (a name with a year), so it scores
#: fewer.
STAGE_BUDGETS = (STAGE_BUDGET, STAGE_BUDGET, STAGE_BUDGET // 2)
#: An interactive search's budgets (:func:`search_budgets`; an officer is waiting) at
#: a million records or fewer: the rows filed under the most of the query's keys come
#: first, and on the independent evaluation population (bench/bench_matching_eval.py,
#: 4,000 searches of every error kind) the child was found as often at 1 million with
#: these as with the bulk budgets, while the slowest searches scored far fewer rows.
SEARCH_STAGE_BUDGETS = (40, 40, 20)


def search_budgets(records: int) -> tuple[int, ...]:
    """The stage budgets of a search of a register of ``records``: blocks grow denser as
    a register grows, so the budgets grow with it, from :data:`SEARCH_STAGE_BUDGETS` at a
    million records to the bulk :data:`STAGE_BUDGETS` at ten million (at 10 million the
    smaller budgets lost children of moved families with a changed surname: 0.76 found
    against 0.90)."""
    scale = max(1.0, records / 1_000_000) ** 0.4
    return tuple(
        min(bulk, round(small * scale))
        for small, bulk in zip(SEARCH_STAGE_BUDGETS, STAGE_BUDGETS, strict=True)
    )


#: Name and date comparisons remembered across searches (query value, vocabulary id):
#: about 100 bytes each.
PAIR_CACHE_SIZE = 1_000_000
#: Term frequencies are smoothed with this many pseudo-records at the model's u.
TF_PSEUDO_COUNT = 100
#: A best match at least this probable ends the search after the stage that found it.
CONFIDENT = 0.99
COMPARISON_COUNT = len(COMPARISONS)
#: 3: UPNs are kept as 64-bit hashes (:func:`upn_hash`), not 32-bit ones.
FORMAT_VERSION = 3
#: DuckDB's memory while sorting the keys; beyond it the sort spills to a temporary file.
DUCKDB_MEMORY = "2GB"
_B_MASK = (1 << 27) - 1
_SEP = "\x1f"
#: Between the aliases of a record built from ``PersonRecord``s (each "given\x1ffamily"):
#: an alias is a pair, and its surname may have several words ("De Souza").
_ALIAS_SEP = "\x1e"
_SEXES = ("", "F", "M")
_SOURCES = ("", "alias")
#: Columns of a register table (:meth:`CandidateIndex.from_table`); all strings except
#: ``dob``, which may also be a date. ``aliases``, ``parent_names`` and ``upns`` hold
#: several values separated by ";" (aliases as "Given Family" or a family name alone).
TABLE_COLUMNS = (
    "given_names",
    "middle_names",
    "family_name",
    "aliases",
    "dob",
    "sex",
    "postcode",
    "address",
    "parent_names",
    "upns",
)
_ROW_COLUMNS = (
    "record",
    "source",
    "given",
    "family",
    "dob",
    "sex",
    "postcode",
    "address",
    "upns",
    "parents",
)


def pack(kind: int, a: int, b: int) -> int:
    return (kind << 59) | ((a & 0xFFFFFFFF) << 27) | (b & _B_MASK)


def _dob_int(y: int, m: int, d: int) -> int:
    return y * 10000 + m * 100 + d


def _given_keys(g: GivenName | None) -> set[int]:
    if g is None:
        return set()
    return {stable_hash(g.phonetic)} | {stable_hash(phonetic_key(o)) for o in g.others}


def _family_keys(f: FamilyName | None) -> set[int]:
    if f is None:
        return set()
    return {stable_hash(f.phonetic)} | {stable_hash(p) for p in f.part_phonetics}


def _without_others(g: GivenName) -> GivenName:
    """The given name without its other given and middle names: every given-name level
    but "other given name" reads only what is left."""
    return dataclasses.replace(g, others=frozenset())


def _initial(name: str) -> int:
    return ord(name[0]) if name else 0


def _initials(f: Features) -> int:
    """First letters of the given and family names (typing errors rarely hit them)."""
    if f.given is None or f.family is None or not f.given.first or not f.family.full:
        return 0
    return _initial(f.given.first) * 256 + _initial(f.family.full)


def _h(value: str) -> int:
    return stable_hash(value) if value else 0


def upn_hash(upn: str) -> int:
    """A normalised UPN as the index keeps it: 64 bits, its :func:`stable_hash` (the
    32 bits its key is filed under) with 32 bits of another hash above. An agreeing
    valid UPN links a pair whatever else differs, and a query's UPN is looked up by its
    32-bit hash, which the UPN of about one pupil in four billion shares: with 32 bits
    only, a search of ten million pupils by UPN found a stranger "identified by the UPN"
    about once in 430 searches."""
    data = upn.encode()
    high = int.from_bytes(hashlib.blake2b(data, digest_size=4).digest(), "big")
    return (high << 32) | stable_hash(upn)


@functools.lru_cache(maxsize=20_000)
def _typed_dates(dob: DobParts) -> Any:
    """The dates ``dob`` may have been mistyped from (``dob_typing_variants``: about a
    hundred), as the low bits of a key (numpy ``uint64``). Remembered: a register's
    children share a few thousand dates of birth."""
    return np.array([_dob_int(*v) & _B_MASK for v in dob_typing_variants(dob)], dtype=np.uint64)


def _prefix(kind: int, a: int) -> int:
    """The bits of ``pack(kind, a, b)`` that do not depend on ``b``."""
    return (kind << 59) | ((a & 0xFFFFFFFF) << 27)


def query_keys(orientations: Sequence[Features]) -> list[Any]:
    """The keys a query looks itself up under (packed as :func:`pack`, their kind in the
    top bits), in three stages: exact date of birth or UPN; then mistyped dates, names
    without the date and postcodes; then the broad birth-year keys. A stage runs only
    when the ones before found no confident match, so an ordinary query reads a handful
    of entries. Each stage is a sorted array of distinct keys (numpy ``uint64``), looked
    up all at once (:meth:`CandidateIndex.candidate_rows`); a mistyped date of birth
    brings a hundred or more."""
    stages: list[set[int]] = [set(), set(), set()]
    first, second, third = stages
    # The mistyped dates' keys (most of the second stage) as numpy arrays, one a prefix.
    typed_keys: list[Any] = []
    no_dates = np.zeros(0, dtype=np.uint64)
    mask = _B_MASK
    for f in orientations:
        first.update(pack(KEY_UPN, stable_hash(u), 0) for u in f.upns)
        own_given = _given_keys(f.given)
        all_given = set(own_given)
        if f.given is not None:
            all_given |= {stable_hash(phonetic_key(v)) for v in name_variants(f.given.first)}
        family = _family_keys(f.family)
        y, m, d = f.dob
        exact = [_dob_int(y, m, d) & mask] if (y and m and d) else []
        # A swapped reading with a mistyped date as well is two errors: exact dates only.
        typed = no_dates if f.swapped else _typed_dates(f.dob)
        years = [(y - 1) & mask, y & mask, (y + 1) & mask] if y else []
        given_b = [gk & mask for gk in all_given]
        pcode = _h(f.postcode.full) if f.postcode else 0
        prefixes = []
        for fk in family:
            base = _prefix(KEY_FAMILY_DOB, fk)
            first.update([base | v for v in exact])
            prefixes.append(base)
            base = _prefix(KEY_FAMILY_GIVEN, fk)
            second.update([base | g for g in given_b])
            base = _prefix(KEY_FAMILY_YEAR, fk)
            third.update([base | v for v in years])
        for gk in all_given:
            base = _prefix(KEY_GIVEN_DOB, gk)
            first.update([base | v for v in exact])
            base = _prefix(KEY_GIVEN_YEAR, gk)
            third.update([base | v for v in years])
            if pcode:
                second.add(pack(KEY_POSTCODE_GIVEN, pcode, gk))
        prefixes += [_prefix(KEY_GIVEN_DOB, gk) for gk in own_given]
        if pcode:
            base = _prefix(KEY_POSTCODE_DOB, pcode)
            first.update([base | v for v in exact])
            prefixes.append(base)
            second.update(pack(KEY_POSTCODE_FAMILY, pcode, fk) for fk in family)
            if _initials(f):
                third.add(pack(KEY_POSTCODE_INITIALS, pcode, _initials(f)))
        if len(typed) and prefixes:
            typed_keys.append(
                (np.array(prefixes, dtype=np.uint64)[:, None] | typed[None, :]).ravel()
            )
    out = [np.fromiter(stage, dtype=np.uint64, count=len(stage)) for stage in stages]
    out[1] = np.concatenate([out[1], *typed_keys])
    return [np.unique(keys) for keys in out]


@functools.lru_cache(maxsize=64)
def prepared_query(
    query: PersonRecord,
) -> tuple[list[Features], list[Features], list[Any]]:
    """The query's readings, their hashed forms and its keys by stage, worked out once
    for every register one search looks in (a search reads four or five indexes)."""
    plain = query_orientations(query)
    return plain, [hashed_query(q) for q in plain], query_keys(plain)


def query_orientations(query: PersonRecord) -> list[Features]:
    """The query as written, with each alias, and with given and family names swapped."""
    base = features_of(query)
    out = list(base)
    for f in base:
        s = swapped(f)
        if s is not None:
            out.append(s)
    return out


class Candidate(Generic[T]):
    """A record found, its match weight and probability, and (worked out when first read:
    ranking and the exclusive probabilities need the weight only, so only the results
    shown are explained) its per-field explanation, ``score``, whose weight is ``weight``
    (tests/test_index.py checks the fast path and the explanation agree)."""

    __slots__ = ("_explain", "_score", "equally_good", "item", "probability", "weight")

    def __init__(
        self, item: T, probability: float, explain: Callable[[], Score], weight: float
    ) -> None:
        self.item = item
        self.probability = probability
        self.weight = weight
        self._explain = explain
        self._score: Score | None = None
        #: Set by a caller that compares candidates (services._make_exclusive).
        self.equally_good = False

    @property
    def score(self) -> Score:
        if self._score is None:
            self._score = self._explain()
        return self._score

    def __repr__(self) -> str:
        return f"Candidate({self.item!r}, {self.probability:.4f})"


# --- hashed stand-ins -------------------------------------------------------------------
# Postcodes, addresses, parents and UPNs are stored as hashes. The comparison levels of
# compare.py run unchanged on stand-in objects whose strings are those hashes, for the
# query and the row alike: "equal" and "shares a part" give the same answers.


#: A normalised postcode (``[A-Z0-9]*``, at most seven characters in the UK) kept as its
#: ASCII bytes in one 64-bit integer, so the index holds the text of millions of postcodes
#: as one integer array and the "one typing error apart" level can still read it. Longer
#: values (no postcode is) pack to 0 and are compared by their hash only.
_PC_MAX = 8
_PC_CHARS = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def pack_postcode(text: str) -> int:
    if not text or len(text) > _PC_MAX or not _PC_CHARS.issuperset(text):
        return 0
    return int.from_bytes(text.encode("ascii"), "big")


def unpack_postcode(code: int) -> str:
    return code.to_bytes(_PC_MAX, "big").lstrip(b"\0").decode("ascii")


def _postcode_standin(full: int, sector: int, district: int, code: int) -> Postcode | None:
    """The postcode's text when it packs (so "one typing error apart" can be read), else
    its hash marked with "#" (equal to itself only)."""
    if not full:
        return None
    return Postcode(
        unpack_postcode(code) if code else f"#{full}",
        str(sector) if sector else "",
        str(district) if district else "",
    )


def _hashes(values: Iterable[int]) -> frozenset[str]:
    return frozenset(str(v) for v in values)


def hashed_query(q: Features) -> Features:
    """``q`` with its postcode, address, parents and UPNs as the index stores them."""
    pcode = None
    if q.postcode is not None:
        pcode = _postcode_standin(
            _h(q.postcode.full),
            _h(q.postcode.sector),
            _h(q.postcode.district),
            pack_postcode(q.postcode.full),
        )
    addr = None
    if q.address is not None:
        addr = AddressText(str(_h(q.address.text)), _hashes(_h(p) for p in q.address.parts))
    parents = None
    if q.parents is not None:
        parents = ParentNames(
            _hashes(_h(n) for n in q.parents.full), _hashes(_h(p) for p in q.parents.parts)
        )
    return Features(
        given=q.given,
        family=q.family,
        dob=q.dob,
        sex=q.sex,
        postcode=pcode,
        address=addr,
        upns=_hashes(upn_hash(u) for u in q.upns),
        parents=parents,
        name_source=q.name_source,
        swapped=q.swapped,
        upn_valid=q.upn_valid,
    )


_EMPTY = Features(None, None, NO_DOB, "", None, None, frozenset(), None)


# --- reading columns ----------------------------------------------------------------------


def _one_array(arr: Any) -> Any:
    """``arr`` as one Arrow array: a chunked array's only chunk as it is (in a loaded
    index, the memory-mapped file's pages; ``combine_chunks`` copies even one chunk)."""
    if isinstance(arr, pa.ChunkedArray):
        return arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def _view(arr: Any, fmt: str) -> memoryview:
    """A zero-copy view of a primitive Arrow array (no nulls) as a memoryview."""
    arr = _one_array(arr)
    width = {"i": 4, "I": 4, "Q": 8, "q": 8}[fmt]
    buf = arr.buffers()[1]
    mv = memoryview(buf).cast("B")[arr.offset * width : (arr.offset + len(arr)) * width]
    return mv.cast(fmt)  # type: ignore[call-overload,no-any-return]


class _Lists:
    """A list<uint32> or list<uint64> Arrow array read as ``lists[i] -> tuple of ints``."""

    def __init__(self, arr: Any) -> None:
        arr = _one_array(arr)
        self.array = arr
        self.offsets = _view(arr.offsets, "i")
        fmt = "Q" if arr.type.value_type == pa.uint64() else "I"
        self.values = _view(arr.values, fmt) if len(arr.values) else memoryview(array(fmt))

    def __getitem__(self, i: int) -> tuple[int, ...]:
        return tuple(self.values[self.offsets[i] : self.offsets[i + 1]])


def _string_column(table: pa.Table, name: str) -> Any:
    n = table.num_rows
    if name not in table.column_names:
        return pa.array([""] * n, pa.string())
    col = table.column(name)
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_date(col.type) or pa.types.is_timestamp(col.type):
        col = pc.strftime(col, format="%Y-%m-%d")
    elif not pa.types.is_string(col.type):
        # large_string too: the alias rows and the given-name key join columns that
        # must all be of one type.
        col = pc.cast(col, pa.string())
    return pc.fill_null(col, "")


def _encode(col: Any) -> tuple[Any, list[str]]:
    """Dictionary-encode a string column: (int32 indices, the distinct values)."""
    encoded = pc.dictionary_encode(col)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    return pc.cast(encoded.indices, pa.int32()), encoded.dictionary.to_pylist()


# --- the vocabularies ---------------------------------------------------------------------


@dataclass
class _Vocab:
    """Distinct values of each field, and what the rows point at."""

    given_text: list[str]  # "given\x1fmiddle"
    family_text: list[str]
    dob_codes: list[int]  # y*10000 + m*100 + d, zeros for unknown parts
    pc_full: Any  # uint32 arrays of hashes, one entry per distinct postcode
    pc_sector: Any
    pc_district: Any
    pc_code: Any  # uint64: the postcode's text packed (pack_postcode)
    addr_text: Any  # uint32
    addr_parts: Any  # list<uint32>
    upns: Any  # list<uint64> (upn_hash)
    parents_full: Any  # list<uint32>
    parents_parts: Any  # list<uint32>

    def table(self, name: str) -> pa.Table:
        if name == "postcodes":
            return pa.table(
                {
                    "full": self.pc_full,
                    "sector": self.pc_sector,
                    "district": self.pc_district,
                    "code": self.pc_code,
                }
            )
        if name == "addresses":
            return pa.table({"text": self.addr_text, "parts": self.addr_parts})
        if name == "upns":
            return pa.table({"upns": self.upns})
        return pa.table({"full": self.parents_full, "parts": self.parents_parts})


def _uint32(values: list[int]) -> Any:
    return pa.array(values, pa.uint32())


def _lists(values: list[list[int]]) -> Any:
    return pa.array(values, pa.list_(pa.uint32()))


def _postcode_vocab(values: list[str]) -> tuple[Any, Any, Any, Any]:
    parts = [postcode_parts.__wrapped__(v) for v in values]  # distinct: skip the cache
    return (
        _uint32([_h(p[0]) for p in parts]),
        _uint32([_h(p[1]) for p in parts]),
        _uint32([_h(p[2]) for p in parts]),
        pa.array([pack_postcode(p[0]) for p in parts], pa.uint64()),
    )


def _address_vocab(values: list[str]) -> tuple[Any, Any]:
    texts, parts = [], []
    for v in values:
        words = address_parts.__wrapped__(v)
        texts.append(_h(" ".join(words)) if words else 0)
        parts.append(sorted({_h(w) for w in words}) if words else [])
    return _uint32(texts), _lists(parts)


def _parents_vocab(values: list[str]) -> tuple[Any, Any]:
    fulls, parts = [], []
    for v in values:
        names = {" ".join(name_parts(n)) for n in split_list(v) if name_parts(n)}
        fulls.append(sorted({_h(n) for n in names}))
        parts.append(sorted({_h(p) for n in names for p in n.split()}))
    return _lists(fulls), _lists(parts)


def _upn_vocab(values: list[str]) -> Any:
    return pa.array(
        [sorted({upn_hash(normalise_upn(u)) for u in split_list(v) if u.strip()}) for v in values],
        pa.list_(pa.uint64()),
    )


def _dob_code(value: str) -> int:
    """The date of birth as ``y*10000 + m*100 + d``; 0 (unknown) for a date these codes
    cannot hold: a month or day of three digits would be read back as another date
    ("2014-03-123" as 2014-04-23) and a year of over four digits may not fit the 32-bit
    code column (no child is born in such a year)."""
    y, m, d = dob_parts(value)
    if y > 9999 or m > 99 or d > 99:
        return 0
    return _dob_int(y, m, d)


def _dob_from_code(code: int) -> DobParts:
    if not code:
        return NO_DOB
    return (code // 10000, (code // 100) % 100, code % 100)


class _Lazy(Sequence[T]):
    """``make(source[i])`` for each ``i``, made when first read and kept."""

    _UNSET: Any = object()

    def __init__(self, source: Sequence[Any], make: Callable[[Any], T]) -> None:
        self.source, self.make = source, make
        self.made: list[Any] = [self._UNSET] * len(source)

    def __len__(self) -> int:
        return len(self.made)

    def __getitem__(self, i: int) -> T:  # type: ignore[override]
        value = self.made[i]
        if value is self._UNSET:
            value = self.made[i] = self.make(self.source[i])
        return value  # type: ignore[no-any-return]


class _FirstOf:
    """Given-name id -> id of its first name alone in :attr:`vocab` (-1: no name), worked
    out when first asked. A web process searches on several threads: a new first name
    gets its id and its place in :attr:`vocab` under a lock (two threads adding names at
    once would otherwise both take the same id)."""

    def __init__(self, given: Sequence[GivenName | None]) -> None:
        self.given = given
        self.ids: list[int | None] = [None] * len(given)
        self.firsts: dict[GivenName, int] = {}
        self.vocab: list[GivenName] = []
        self._lock = threading.Lock()

    def __getitem__(self, value: int) -> int:
        first = self.ids[value]
        if first is None:
            g = self.given[value]
            if g is None:
                first = -1
            else:
                alone = _without_others(g)
                first = self.firsts.get(alone)
                if first is None:
                    with self._lock:
                        first = self.firsts.get(alone)
                        if first is None:
                            self.vocab.append(alone)
                            first = self.firsts[alone] = len(self.vocab) - 1
            self.ids[value] = first
        return first


# --- the index ----------------------------------------------------------------------------


class CandidateIndex(Generic[T]):
    """The records of one or more registers, filed for search. ``items[i]`` is whatever
    the caller wants back for record ``i`` (a register row reference).

    Build it from ``(item, PersonRecord)`` pairs (``CandidateIndex(records, model)``), or
    from an Arrow table of :data:`TABLE_COLUMNS` (:meth:`from_table`, the fast path for
    millions of rows); :meth:`save` and :meth:`load` keep it on disk."""

    items: Sequence[T]
    record_count: int

    def __init__(
        self,
        records: Iterable[tuple[T, PersonRecord]] | None,
        model: MatchModel,
        *,
        family_rules: bool = True,
        batch_size: int = 200_000,
    ) -> None:
        self.model = model
        self.family_rules = family_rules
        if records is None:  # from_table / load fill it in
            return
        items: list[T] = []
        batches = []
        columns: dict[str, list[Any]] = {c: [] for c in TABLE_COLUMNS}
        for item, record in records:
            items.append(item)
            columns["given_names"].append(record.given_names or "")
            columns["middle_names"].append(record.middle_names or "")
            columns["family_name"].append(record.family_name or "")
            columns["aliases"].append(
                _ALIAS_SEP.join(f"{g or ''}{_SEP}{f or ''}" for g, f in record.aliases if g or f)
            )
            dob = record.dob
            columns["dob"].append(
                dob
                if isinstance(dob, str)
                # The date alone: a datetime's ISO form carries the time, which dob_parts
                # would not read as a date (features_of reads a datetime's date).
                else (f"{dob.year:04d}-{dob.month:02d}-{dob.day:02d}" if dob is not None else "")
            )
            columns["sex"].append(record.sex or "")
            columns["postcode"].append(record.postcode or "")
            columns["address"].append(record.address or "")
            columns["parent_names"].append(";".join(record.parent_names))
            columns["upns"].append(";".join(u for u in record.upns if u))
            if len(items) % batch_size == 0:
                batches.append(pa.table(columns))
                columns = {c: [] for c in TABLE_COLUMNS}
        if columns["given_names"] or not batches:
            batches.append(pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()}))
        table = pa.concat_tables(batches)
        self._build(table, aliases_parsed=True)
        self.items = items

    # --- building ---------------------------------------------------------------------

    @classmethod
    def from_table(
        cls,
        table: pa.Table,
        model: MatchModel,
        *,
        items: Sequence[T] | None = None,
        family_rules: bool = True,
    ) -> CandidateIndex[T]:
        """Index an Arrow table with the :data:`TABLE_COLUMNS` (missing columns are blank).
        ``items`` (default: the row numbers) is what a search returns for each row."""
        index: CandidateIndex[T] = cls(None, model, family_rules=family_rules)
        index._build(table, aliases_parsed=False)
        index.items = items if items is not None else range(table.num_rows)  # type: ignore[assignment]
        return index

    def _build(self, table: pa.Table, *, aliases_parsed: bool) -> None:
        """``aliases_parsed``: the aliases column holds (given, family) pairs as
        ``__init__`` writes them (:data:`_ALIAS_SEP`), not "Given Family" text."""
        n = table.num_rows
        cols = {name: _string_column(table, name) for name in TABLE_COLUMNS}
        record = pa.array(range(n), pa.int32())
        source = pa.array([0] * n, pa.int32()) if n else pa.array([], pa.int32())
        # Aliases become rows of their own (given falls back to the record's own).
        with_alias = pc.indices_nonzero(pc.not_equal(cols["aliases"], "")).to_pylist()
        if with_alias:
            extra: dict[str, list[Any]] = {name: [] for name in TABLE_COLUMNS}
            extra_record = []
            given_col = cols["given_names"]
            family_col = cols["family_name"]

            for i in with_alias:
                own_given = given_col[i].as_py()
                own_family = family_col[i].as_py()
                text = cols["aliases"][i].as_py()
                pairs = (
                    [tuple(a.split(_SEP, 1)) for a in text.split(_ALIAS_SEP)]
                    if aliases_parsed
                    else parse_aliases(text)
                )
                for alias_given, alias_family in pairs:
                    extra_record.append(i)
                    for name in TABLE_COLUMNS:
                        extra[name].append(cols[name][i].as_py())
                    extra["given_names"][-1] = alias_given or own_given
                    extra["family_name"][-1] = alias_family or own_family
            for name in TABLE_COLUMNS:
                cols[name] = pa.concat_arrays([cols[name], pa.array(extra[name], pa.string())])
            record = pa.concat_arrays([record, pa.array(extra_record, pa.int32())])
            source = pa.concat_arrays([source, pa.array([1] * len(extra_record), pa.int32())])
        self.record_count = n
        given_key = pc.binary_join_element_wise(cols["given_names"], cols["middle_names"], _SEP)
        given_idx, given_text = _encode(given_key)
        family_idx, family_text = _encode(cols["family_name"])
        dob_idx, dob_text = _encode(cols["dob"])
        dob_codes = [_dob_code(v) for v in dob_text]
        sex_codes = pc.cast(
            pc.fill_null(
                pc.index_in(
                    pc.utf8_upper(
                        pc.utf8_slice_codeunits(pc.utf8_trim_whitespace(cols["sex"]), 0, 1)
                    ),
                    value_set=pa.array(["F", "M"]),
                ),
                -1,
            ),
            pa.int32(),
        )
        sex_codes = pc.cast(pc.add(sex_codes, 1), pa.int32())  # 0 unknown, 1 F, 2 M
        pc_idx, pc_text = _encode(cols["postcode"])
        addr_idx, addr_text = _encode(cols["address"])
        upn_idx, upn_text = _encode(cols["upns"])
        par_idx, par_text = _encode(cols["parent_names"])
        pc_full, pc_sector, pc_district, pc_code = _postcode_vocab(pc_text)
        addr_hash, addr_parts = _address_vocab(addr_text)
        parents_full, parents_parts = _parents_vocab(par_text)
        vocab = _Vocab(
            given_text=given_text,
            family_text=family_text,
            dob_codes=dob_codes,
            pc_full=pc_full,
            pc_sector=pc_sector,
            pc_district=pc_district,
            pc_code=pc_code,
            addr_text=addr_hash,
            addr_parts=addr_parts,
            upns=_upn_vocab(upn_text),
            parents_full=parents_full,
            parents_parts=parents_parts,
        )
        rows = pa.table(
            {
                "record": record,
                "source": source,
                "given": given_idx,
                "family": family_idx,
                "dob": dob_idx,
                "sex": sex_codes,
                "postcode": pc_idx,
                "address": addr_idx,
                "upns": upn_idx,
                "parents": par_idx,
            }
        )
        # The distinct postcodes, addresses, parents and UPNs (millions of Python strings
        # at 10 million pupils) are not needed once hashed.
        del cols, given_key, pc_text, addr_text, upn_text, par_text
        self._set_vocab(vocab)
        keys = self._sorted_keys(rows)
        self._set_data(rows, keys, self._term_frequencies(rows))

    def _set_vocab(self, vocab: _Vocab) -> None:
        self.vocab = vocab
        # Names are parsed when first read, not when the index is loaded: a web process
        # that maps a county's index reads a few hundred of its tens of thousands.
        self.given_vocab: Sequence[GivenName | None] = _Lazy(
            vocab.given_text, lambda t: given_name(*t.split(_SEP, 1))
        )
        self.family_vocab: Sequence[FamilyName | None] = _Lazy(vocab.family_text, family_name)
        # Each given name's first name on its own (levels up to "typing error" look at
        # the first names only, so they are worked out once per first name).
        self.first_of = _FirstOf(self.given_vocab)
        self.first_vocab: list[GivenName] = self.first_of.vocab
        self.dob_vocab: list[DobParts] = [_dob_from_code(c) for c in vocab.dob_codes]
        self._pc = (
            _view(vocab.pc_full, "I"),
            _view(vocab.pc_sector, "I"),
            _view(vocab.pc_district, "I"),
            _view(vocab.pc_code, "Q"),
        )
        self._addr_text = _view(vocab.addr_text, "I")
        self._addr_parts = _Lists(vocab.addr_parts)
        self._upns = _Lists(vocab.upns)
        self._par_full = _Lists(vocab.parents_full)
        self._par_parts = _Lists(vocab.parents_parts)

    def _term_frequencies(self, rows: pa.Table) -> dict[str, dict[str, int]]:
        # The legal names are the first rows (aliases follow): a slice, not a copy.
        legal = rows.slice(0, self.record_count)
        given: dict[str, int] = {}
        family: dict[str, int] = {}
        for table, vocab, out, attr in (
            (legal.column("given"), self.given_vocab, given, "first"),
            (legal.column("family"), self.family_vocab, family, "full"),
        ):
            counts = pc.value_counts(table)
            for entry in counts.to_pylist():
                value = vocab[entry["values"]]
                if value is not None:
                    key = getattr(value, attr)
                    out[key] = out.get(key, 0) + entry["counts"]
        return {"given": given, "family": family}

    def _sorted_keys(self, rows: pa.Table) -> pa.Table:
        """Every (key, row) of the register, sorted by key, built in DuckDB."""
        import duckdb

        fam_keys: list[tuple[int, int]] = [
            (i, k) for i, f in enumerate(self.family_vocab) for k in _family_keys(f)
        ]
        giv_keys: list[tuple[int, int]] = [
            (i, k) for i, g in enumerate(self.given_vocab) for k in _given_keys(g)
        ]
        upn_lists = self.vocab.upns
        giv_initial = [_initial(g.first) if g is not None else 0 for g in self.given_vocab]
        fam_initial = [_initial(f.full) if f is not None else 0 for f in self.family_vocab]

        def pairs(values: list[tuple[int, int]], name: str) -> pa.Table:
            return pa.table(
                {
                    "id": pa.array([v[0] for v in values], pa.int32()),
                    name: pa.array([v[1] for v in values], pa.uint32()),
                }
            )

        dob_code = pc.take(pa.array(self.vocab.dob_codes, pa.int32()), rows.column("dob"))
        per_row = pa.table(
            {
                "row": pa.array(range(rows.num_rows), pa.int32()),
                "giv": rows.column("given"),
                "fam": rows.column("family"),
                "upn": rows.column("upns"),
                "dob": dob_code,
                "pc": pc.take(self.vocab.pc_full, rows.column("postcode")),
                "gi": pc.take(pa.array(giv_initial, pa.int32()), rows.column("given")),
                "fi": pc.take(pa.array(fam_initial, pa.int32()), rows.column("family")),
            }
        )
        con = duckdb.connect()
        try:
            con.execute("SET threads = 2")
            con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
            con.execute("SET preserve_insertion_order = false")
            con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/cmetrack-duckdb'")
            con.register("r", per_row)
            con.register("fk", pairs(fam_keys, "k"))
            con.register("gk", pairs(giv_keys, "k"))
            con.register(
                "uk",
                pa.table(
                    {
                        "id": pc.cast(pc.list_parent_indices(upn_lists), pa.int32()),
                        "k": pc.list_flatten(upn_lists),
                    }
                ),
            )
            # Only this module's constants are formatted into the SQL.
            sql = f"""
            CREATE MACRO pk(kind, a, b) AS
                (kind::UBIGINT << 59) | ((a::UBIGINT & 4294967295) << 27)
                | (b::UBIGINT & {_B_MASK});
            WITH rr AS (
                SELECT row, giv, fam, upn, pc, gi, fi,
                    CASE WHEN dob % 100 > 0 AND (dob // 100) % 100 > 0 THEN dob ELSE 0 END AS dob,
                    dob // 10000 AS y
                FROM r
            ),
            f AS (SELECT rr.*, fk.k AS fk FROM rr JOIN fk ON fk.id = rr.fam),
            g AS (SELECT rr.*, gk.k AS gk FROM rr JOIN gk ON gk.id = rr.giv)
            SELECT key, row FROM (
                SELECT pk({KEY_FAMILY_DOB}, fk, dob) AS key, row FROM f WHERE dob > 0
                UNION ALL SELECT pk({KEY_FAMILY_YEAR}, fk, y), row FROM f WHERE y > 0
                UNION ALL SELECT pk({KEY_FAMILY_GIVEN}, f.fk, gk.k), row
                    FROM f JOIN gk ON gk.id = f.giv
                UNION ALL SELECT pk({KEY_POSTCODE_FAMILY}, pc, fk), row FROM f WHERE pc > 0
                UNION ALL SELECT pk({KEY_GIVEN_DOB}, gk, dob), row FROM g WHERE dob > 0
                UNION ALL SELECT pk({KEY_GIVEN_YEAR}, gk, y), row FROM g WHERE y > 0
                UNION ALL SELECT pk({KEY_POSTCODE_GIVEN}, pc, gk), row FROM g WHERE pc > 0
                UNION ALL SELECT pk({KEY_POSTCODE_DOB}, pc, dob), row FROM rr
                    WHERE pc > 0 AND dob > 0
                UNION ALL SELECT pk({KEY_POSTCODE_INITIALS}, pc, gi * 256 + fi), row FROM rr
                    WHERE pc > 0 AND gi > 0 AND fi > 0
                UNION ALL SELECT pk({KEY_UPN}, uk.k, 0), row FROM rr JOIN uk ON uk.id = rr.upn
            ) ORDER BY key, row
            """  # noqa: S608
            *setup, query = [s for s in sql.split(";") if s.strip()]
            for statement in setup:
                con.execute(statement)
            # Batch by batch into two growing buffers: the sorted keys are the biggest
            # thing built (1.3 GB for 10 million pupils) and are held once, not twice.
            keys, key_rows = array("Q"), array("i")
            for batch in con.sql(query).to_arrow_reader(1 << 20):
                keys.frombytes(_view(batch.column(0), "Q").cast("B"))
                key_rows.frombytes(_view(batch.column(1), "i").cast("B"))
        finally:
            con.close()
        n = len(keys)
        return pa.table(
            {
                "key": pa.Array.from_buffers(pa.uint64(), n, [None, pa.py_buffer(keys)]),
                "row": pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(key_rows)]),
            }
        )

    def _remember(self, key: tuple[int, object, int], found: tuple[int, float]) -> None:
        if len(self._pairs) >= PAIR_CACHE_SIZE:
            self._pairs.clear()
        self._pairs[key] = found

    def _set_data(self, rows: pa.Table, keys: pa.Table, tf: dict[str, dict[str, int]]) -> None:
        self._pairs: dict[tuple[int, object, int], tuple[int, float]] = {}
        self._standins: dict[tuple[int, int], Features] = {}
        self._rows_table = rows.combine_chunks()
        for name in _ROW_COLUMNS:
            if self._rows_table.column(name).type != pa.int32():
                raise ValueError(f"index column {name} is not int32")
        self._keys_table = keys
        self._tf = tf
        self.row_record = _view(self._rows_table.column("record"), "i")
        self._columns = [_view(self._rows_table.column(c), "i") for c in _ROW_COLUMNS]
        self._keys = _view(keys.column("key"), "Q")
        self._keys_np = np.frombuffer(self._keys, dtype=np.uint64)
        self._key_rows = _view(keys.column("row"), "i")
        self._key_rows_np = np.frombuffer(self._key_rows, dtype=np.int32)
        self.scorer = Scorer(
            self.model,
            self._smoothed(tf["given"], "given_name"),
            self._smoothed(tf["family"], "family_name"),
            family_rules=self.family_rules,
        )

    def _smoothed(self, counts: dict[str, int], comparison: str) -> dict[str, float]:
        """Each name's share of the register, drawn towards the model's chance that two
        records agree on the name (its u) as if :data:`TF_PSEUDO_COUNT` more records had
        been seen: in a register of a few children every name is "common", which would
        make an agreeing name count for nothing; in a large one this changes little."""
        n = sum(counts.values())
        u = self.model.level(comparison, "exact").u
        k = TF_PSEUDO_COUNT
        return {name: (c + k * u) / (n + k) for name, c in counts.items()}

    # --- appending ------------------------------------------------------------------------

    @property
    def term_frequencies(self) -> dict[str, dict[str, int]]:
        """How many records have each given and family name (the legal names)."""
        return self._tf

    def use_term_frequencies(self, tf: dict[str, dict[str, int]]) -> None:
        """Score with ``tf`` instead of this index's own counts: a small index of the rows
        added since a register's saved index scores as that index would (a name's share
        of the whole register, not of a handful of new rows)."""
        self._set_data(self._rows_table, self._keys_table, tf)

    def appended(self, delta: CandidateIndex[Any]) -> CandidateIndex[Any]:
        """A new index holding this index's records and then ``delta``'s (built alone
        from the records added since): the same rows, keys and term frequencies a build
        of both together gives, without reading or re-keying this index's records.

        Rows stay in the order a build makes (every record's legal name, then the
        aliases), so record ``i`` is row ``i``; the keys of both are merged and sorted by
        (key, row) as a build sorts them. Names and dates of birth share one vocabulary;
        the hashed fields (postcodes, addresses, UPNs, parents) are appended as they are.
        ``items`` is left to the caller."""
        old_n, add_n = self.record_count, delta.record_count
        old_rows, add_rows = self._rows_table, delta._rows_table
        old_alias = old_rows.num_rows - old_n
        v, dv = self.vocab, delta.vocab

        def merge_text(mine: list[str], theirs: list[str]) -> tuple[list[str], Any]:
            where = {value: i for i, value in enumerate(mine)}
            merged = list(mine)
            mapping = []
            for value in theirs:
                i = where.get(value)
                if i is None:
                    i = where[value] = len(merged)
                    merged.append(value)
                mapping.append(i)
            return merged, pa.array(mapping, pa.int32())

        given_text, given_map = merge_text(v.given_text, dv.given_text)
        family_text, family_map = merge_text(v.family_text, dv.family_text)
        dob_where = {code: i for i, code in enumerate(v.dob_codes)}
        dob_codes = list(v.dob_codes)
        dob_mapping = []
        for code in dv.dob_codes:
            if code not in dob_where:
                dob_where[code] = len(dob_codes)
                dob_codes.append(code)
            dob_mapping.append(dob_where[code])
        dob_map = pa.array(dob_mapping, pa.int32())

        def concat(a: Any, b: Any) -> Any:
            return pa.concat_arrays([a, b]) if len(b) else a

        def shifted(column: str, by: int) -> Any:
            return pc.cast(pc.add(add_rows.column(column), by), pa.int32())

        vocab = _Vocab(
            given_text=given_text,
            family_text=family_text,
            dob_codes=dob_codes,
            pc_full=concat(v.pc_full, dv.pc_full),
            pc_sector=concat(v.pc_sector, dv.pc_sector),
            pc_district=concat(v.pc_district, dv.pc_district),
            pc_code=concat(v.pc_code, dv.pc_code),
            addr_text=concat(v.addr_text, dv.addr_text),
            addr_parts=concat(v.addr_parts, dv.addr_parts),
            upns=concat(v.upns, dv.upns),
            parents_full=concat(v.parents_full, dv.parents_full),
            parents_parts=concat(v.parents_parts, dv.parents_parts),
        )
        added = pa.table(
            {
                "record": shifted("record", old_n),
                "source": add_rows.column("source"),
                "given": pc.take(given_map, add_rows.column("given")),
                "family": pc.take(family_map, add_rows.column("family")),
                "dob": pc.take(dob_map, add_rows.column("dob")),
                "sex": add_rows.column("sex"),
                "postcode": shifted("postcode", len(v.pc_full)),
                "address": shifted("address", len(v.addr_text)),
                "upns": shifted("upns", len(v.upns)),
                "parents": shifted("parents", len(v.parents_full)),
            }
        ).cast(old_rows.schema)
        rows = pa.concat_tables(
            [
                old_rows.slice(0, old_n),
                added.slice(0, add_n),
                old_rows.slice(old_n),
                added.slice(add_n),
            ]
        ).combine_chunks()
        # Row numbers in the merged order: an old alias row moves down by the new records;
        # a new legal row follows the old legal rows, a new alias row the old aliases.
        old_key_rows = self._keys_table.column("row")
        add_key_rows = delta._keys_table.column("row")
        keys = pa.concat_tables(
            [
                pa.table(
                    {
                        "key": self._keys_table.column("key"),
                        "row": pc.cast(
                            pc.if_else(
                                pc.less(old_key_rows, old_n),
                                old_key_rows,
                                pc.add(old_key_rows, add_n),
                            ),
                            pa.int32(),
                        ),
                    }
                ),
                pa.table(
                    {
                        "key": delta._keys_table.column("key"),
                        "row": pc.cast(
                            pc.if_else(
                                pc.less(add_key_rows, add_n),
                                pc.add(add_key_rows, old_n),
                                pc.add(add_key_rows, old_n + old_alias),
                            ),
                            pa.int32(),
                        ),
                    }
                ),
            ]
        )
        order = pc.sort_indices(keys, sort_keys=[("key", "ascending"), ("row", "ascending")])
        keys = keys.take(order).combine_chunks()
        tf = {
            name: dict(Counter(self._tf[name]) + Counter(delta._tf[name]))
            for name in ("given", "family")
        }
        merged: CandidateIndex[Any] = CandidateIndex(
            None, self.model, family_rules=self.family_rules
        )
        merged.record_count = old_n + add_n
        merged._set_vocab(vocab)
        merged._set_data(rows, keys, tf)
        return merged

    # --- saving and loading ---------------------------------------------------------------

    def save(self, path: Path) -> None:
        """Write the index to the directory ``path`` (columns, vocabularies and keys as
        Arrow IPC files; names and term frequencies as JSON). Not the items."""
        import pyarrow.ipc as ipc  # type: ignore[import-untyped]

        path.mkdir(parents=True, exist_ok=True)
        tables = {
            "rows": self._rows_table,
            "keys": self._keys_table,
            "postcodes": self.vocab.table("postcodes"),
            "addresses": self.vocab.table("addresses"),
            "upns": self.vocab.table("upns"),
            "parents": self.vocab.table("parents"),
        }
        for name, table in tables.items():
            with (
                pa.OSFile(str(path / f"{name}.arrow"), "wb") as sink,
                ipc.new_file(sink, table.schema) as writer,
            ):
                writer.write_table(table)
        meta = {
            "format": FORMAT_VERSION,
            "records": self.record_count,
            "given": self.vocab.given_text,
            "family": self.vocab.family_text,
            "dob": self.vocab.dob_codes,
            "tf": self._tf,
        }
        (path / "meta.json").write_text(json.dumps(meta))

    @classmethod
    def load(
        cls,
        path: Path,
        model: MatchModel,
        *,
        items: Sequence[T] | None = None,
        family_rules: bool = True,
    ) -> CandidateIndex[T]:
        """An index saved by :meth:`save`, memory-mapped. Raises ``FileNotFoundError`` or
        ``ValueError`` when there is none or it is of another format."""
        import pyarrow.ipc as ipc

        meta = json.loads((path / "meta.json").read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{path}: index format {meta.get('format')}, not {FORMAT_VERSION}")

        def read(name: str) -> pa.Table:
            source = pa.memory_map(str(path / f"{name}.arrow"), "r")
            return ipc.open_file(source).read_all()

        index: CandidateIndex[T] = cls(None, model, family_rules=family_rules)
        index.record_count = int(meta["records"])
        pcs, addrs, upns, parents = (read(n) for n in ("postcodes", "addresses", "upns", "parents"))
        index._set_vocab(
            _Vocab(
                given_text=meta["given"],
                family_text=meta["family"],
                dob_codes=meta["dob"],
                pc_full=_one_array(pcs.column("full")),
                pc_sector=_one_array(pcs.column("sector")),
                pc_district=_one_array(pcs.column("district")),
                pc_code=_one_array(pcs.column("code")),
                addr_text=_one_array(addrs.column("text")),
                addr_parts=_one_array(addrs.column("parts")),
                upns=_one_array(upns.column("upns")),
                parents_full=_one_array(parents.column("full")),
                parents_parts=_one_array(parents.column("parts")),
            )
        )
        index._set_data(read("rows"), read("keys"), meta["tf"])
        index.items = items if items is not None else range(index.record_count)  # type: ignore[assignment]
        return index

    # --- reading --------------------------------------------------------------------------

    def __len__(self) -> int:
        return self.record_count

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def candidate_rows(self, keys: Any, budget: int = STAGE_BUDGET) -> set[int]:
        """Rows filed under any of ``keys`` (packed keys, :func:`query_keys`; any
        sequence of them), at most ``budget`` of them.

        Blocks over their kind's cap are skipped. When the rest hold more than ``budget``
        rows, the rows filed under the most of the query's keys are kept (the child a
        query describes agrees with it on several keys: names with the date, the
        postcode with a name; a stranger who shares one common name, on one), and among
        rows filed under as many, those from the smallest blocks."""
        keys = np.asarray(keys, dtype=np.uint64)
        if not len(keys):
            return set()
        # Every key's block by two binary searches of the sorted keys, all keys at once.
        los = np.searchsorted(self._keys_np, keys, "left")
        sizes = np.searchsorted(self._keys_np, keys, "right") - los
        hit = np.flatnonzero(sizes)
        blocks = [
            (size, lo, lo + size)
            for size, lo, kind in zip(
                sizes[hit].tolist(),
                los[hit].tolist(),
                (keys[hit] >> np.uint64(59)).tolist(),
                strict=True,
            )
            if size <= BLOCK_CAPS[kind]
        ]
        blocks.sort()
        key_rows = self._key_rows
        if sum(size for size, _lo, _hi in blocks) <= budget:
            rows: set[int] = set()
            for _size, lo, hi in blocks:
                rows.update(key_rows[lo:hi])
            return rows
        # Each row with how many of the blocks hold it, in the order first seen (smallest
        # block first). Rows under two keys or more are few: they are ranked (a stable
        # sort, ties in that order) and the rest filled from the rows under one key in
        # that order.
        found = np.concatenate([self._key_rows_np[lo:hi] for _size, lo, hi in blocks])
        distinct, first, counts = np.unique(found, return_index=True, return_counts=True)
        if len(distinct) <= budget:
            return set(distinct.tolist())
        order = np.argsort(first, kind="stable")
        distinct, counts = distinct[order], counts[order]
        several = np.flatnonzero(counts > 1)
        several = several[np.argsort(-counts[several], kind="stable")][:budget]
        out = set(distinct[several].tolist())
        if len(out) < budget:
            out.update(distinct[counts == 1][: budget - len(out)].tolist())
        return out

    def features(self, row: int) -> Features:
        """Row ``row`` as :class:`Features`, with postcode, address, parents and UPNs as
        hashed stand-ins (compare with :func:`hashed_query`)."""
        _rec, source, g, f, d, s, p, a, u, par = (c[row] for c in self._columns)
        return Features(
            given=self.given_vocab[g],
            family=self.family_vocab[f],
            dob=self.dob_vocab[d],
            sex=_SEXES[s],
            postcode=self._postcode(p),
            address=self._address(a),
            upns=_hashes(self._upns[u]),
            parents=self._parents(par),
            name_source=_SOURCES[source],
        )

    def _postcode(self, p: int) -> Postcode | None:
        full, sector, district, code = self._pc
        return _postcode_standin(full[p], sector[p], district[p], code[p])

    def _address(self, a: int) -> AddressText | None:
        text = self._addr_text[a]
        return AddressText(str(text), _hashes(self._addr_parts[a])) if text else None

    def _parents(self, p: int) -> ParentNames | None:
        full = self._par_full[p]
        return ParentNames(_hashes(full), _hashes(self._par_parts[p])) if full else None

    def _standin_of(self, i: int, value: int) -> Features:
        """:meth:`_standin`, kept for the next query (a register's surnames and dates of
        birth recur: at most one stand-in for each of them)."""
        standin = self._standins.get((i, value))
        if standin is None:
            standin = self._standins[(i, value)] = self._standin(i, value)
        return standin

    def _standin(self, i: int, value: int) -> Features:
        """A row with only comparison ``i``'s field set, to work out that field's level."""
        name = COMPARISONS[i].name
        e = _EMPTY
        return Features(
            given=self.given_vocab[value] if name == "given_name" else None,
            family=self.family_vocab[value] if name == "family_name" else None,
            dob=self.dob_vocab[value] if name == "dob" else e.dob,
            sex=_SEXES[value] if name == "sex" else "",
            postcode=self._postcode(value) if name == "postcode" else None,
            address=self._address(value) if name == "address" else None,
            upns=_hashes(self._upns[value]) if name == "upn" else frozenset(),
            parents=self._parents(value) if name == "parents" else None,
        )

    # --- searching ------------------------------------------------------------------------

    def _explain(self, query: Features, row: int) -> Score:
        return self.scorer.explain(query, self.features(row))

    def _best(
        self,
        rows: Iterable[int],
        states: Sequence[_QueryState],
        permit: Callable[[list[T]], set[T]] | None,
        best: dict[int, tuple[float, int, int]],
        exclude: int | None,
        min_weight: float | None = None,
    ) -> None:
        """Score ``rows`` for every reading of the query, keeping each record's best.
        With ``min_weight``, a row whose names and date of birth already rule out reaching
        it (:meth:`_QueryState.bound`: the most the other fields could add) is left out
        without scoring the rest of it."""
        row_record = self.row_record
        if permit is not None:
            items = {n: self.items[n] for n in {row_record[row] for row in rows}}
            allowed_items = permit(list(items.values()))
            allowed = {n for n, item in items.items() if item in allowed_items}
            rows = [row for row in rows if row_record[row] in allowed]
        _r, _s, c_given, c_family, c_dob, c_sex, c_pc, c_addr, c_upn, c_par = self._columns
        for row in rows:
            record_no = row_record[row]
            if record_no == exclude:
                continue
            g, f, d = c_given[row], c_family[row], c_dob[row]
            values = None
            for o, state in enumerate(states):
                names = state.names(self, g, f, d)
                if names is None:
                    continue
                if min_weight is not None and state.bound(names) < min_weight:
                    continue
                if values is None:
                    values = (c_sex[row], c_pc[row], c_addr[row], c_upn[row], c_par[row])
                w = state.weight(self, names, values)
                current = best.get(record_no)
                if current is None or w > current[0]:
                    best[record_no] = (w, row, o)

    def search(
        self,
        query: PersonRecord,
        *,
        limit: int = 10,
        permit: Callable[[list[T]], set[T]] | None = None,
        prior: float | None = None,
        exclude: int | None = None,
        all_stages: bool = False,
        min_weight: float | None = None,
        budgets: Sequence[int] | None = None,
    ) -> list[Candidate[T]]:
        """The best ``limit`` records for ``query``, best first. ``permit`` is given the
        candidates' items and returns those the caller may see; it runs before anything is
        scored, so what is out of scope never affects the results. ``exclude`` is a record
        number left out (the record itself, when deduplicating). Keys are tried in stages
        (see :func:`query_keys`) until one finds a confident match, or all of them with
        ``all_stages`` (a duplicate check wants the second record of a child too).
        ``min_weight``: records that cannot reach this weight are not wanted (a caller
        that shows nothing below a floor of probability): they are not fully scored and
        not returned. ``budgets``: rows scored in each stage at most (default
        :func:`search_budgets` of this register's size; bulk linkage passes
        :data:`STAGE_BUDGETS`)."""
        if not self.record_count:
            return []  # an empty register (most of a new installation's): nothing to set up
        plain, orientations, stages = prepared_query(query)
        if not plain:
            return []
        dob_caches: dict[DobParts, dict[int, tuple[int, float]]] = {}
        states = [
            _QueryState(q, self.scorer, dob_caches.setdefault(q.dob, {})) for q in orientations
        ]
        prior = prior if prior is not None else 1.0 / max(len(self), 1)
        best: dict[int, tuple[float, int, int]] = {}
        seen: set[int] = set()
        if budgets is None:
            budgets = search_budgets(self.record_count)
        for stage, budget in zip(stages, budgets, strict=True):
            rows = self.candidate_rows(stage, budget) - seen
            seen |= rows
            self._best(rows, states, permit, best, exclude, min_weight)
            top = max((w for w, _r, _o in best.values()), default=-math.inf)
            if not all_stages and probability(top, prior) >= CONFIDENT:
                break
        kept = best.items()
        if min_weight is not None:
            kept = [kv for kv in kept if kv[1][0] >= min_weight]  # type: ignore[assignment]
        ranked = sorted(kept, key=lambda kv: (-kv[1][0], kv[0]))[:limit]
        out = []
        for record_no, (w, row, o) in ranked:
            explain = functools.partial(self._explain, orientations[o], row)
            out.append(Candidate(self.items[record_no], probability(w, prior), explain, w))
        return out


def _level_index(comparison: Any, key: str) -> int:
    return [level.key for level in comparison.levels].index(key)


_G_NULL, _G_ELSE = 0, len(GIVEN.levels) - 1
_G_OTHER = _level_index(GIVEN, "other_given")
_F_NULL, _F_ELSE = 0, len(FAMILY.levels) - 1
_SEX = {k: _level_index(SEX, k) for k in ("null", "exact", "else")}
_PC = {k: _level_index(POSTCODE, k) for k in (lv.key for lv in POSTCODE.levels)}
_ADDR = {k: _level_index(ADDRESS, k) for k in (lv.key for lv in ADDRESS.levels)}
_UPN = {k: _level_index(UPN, k) for k in ("null", "exact", "else")}
_PAR = {k: _level_index(PARENTS, k) for k in ("null", "full", "part", "else")}
_G_NOT_SAME = frozenset(i for i, level in enumerate(GIVEN.levels) if level.key in GIVEN_NOT_SAME)


def sex_level(q: int, r: int) -> int:
    if not q or not r:
        return _SEX["null"]
    return _SEX["exact"] if q == r else _SEX["else"]


def postcode_level(
    q: tuple[int, int, int, str] | None, full: int, sector: int, district: int, code: int
) -> int:
    """``q`` is the query's (hash, sector hash, district hash, text when it packs)."""
    if q is None or not full:
        return _PC["null"]
    if q[0] == full:
        return _PC["exact"]
    if q[3] and code and within_one_edit(q[3], unpack_postcode(code)):
        return _PC["one_edit"]
    if q[1] and q[1] == sector:
        return _PC["sector"]
    if q[2] and q[2] == district:
        return _PC["district"]
    return _PC["else"]


def address_level(q: tuple[int, frozenset[int]] | None, text: int, parts: Sequence[int]) -> int:
    if q is None or not text:
        return _ADDR["null"]
    if q[0] == text:
        return _ADDR["exact"]
    shared = len(q[1].intersection(parts))
    if shared >= 2 and len(q[1]) - shared <= 1 and len(parts) - shared <= 1:
        return _ADDR["one_word"]
    return _ADDR["partial"] if shared >= 2 else _ADDR["else"]


def upn_level(q: frozenset[int], upns: Sequence[int]) -> int:
    if not q or not upns:
        return _UPN["null"]
    return _UPN["exact"] if not q.isdisjoint(upns) else _UPN["else"]


def parents_level(
    q: tuple[frozenset[int], frozenset[int]] | None, full: Sequence[int], parts: Sequence[int]
) -> int:
    if q is None or not full:
        return _PAR["null"]
    if not q[0].isdisjoint(full):
        return _PAR["full"]
    return _PAR["part"] if not q[1].isdisjoint(parts) else _PAR["else"]


class _QueryState:
    """One reading of the query, ready to score rows of the columns: its hashed fields and
    caches of each field's result by vocabulary id (rows of one household share their
    postcode, address and parents; a register shares its names and dates)."""

    def __init__(
        self, q: Features, scorer: Scorer, dob_cache: dict[int, tuple[int, float]]
    ) -> None:
        self.q = q
        self.scorer = scorer
        self.swapped = q.swapped
        # The date-of-birth result depends on the dates only: one cache for every reading.
        self.caches: list[dict[int, tuple[int, float]]] = [{}, {}, dob_cache]
        self.w_given = scorer.level_weights("given_name")
        # The given name with its first name only (other given names are checked apart),
        # and what identifies each field of the query in the index's cache of pairs.
        self.q_first = q.given
        self.q_first_only = Features(
            _without_others(q.given) if q.given is not None else None,
            None,
            NO_DOB,
            "",
            None,
            None,
            frozenset(),
            None,
        )
        self.q_alone = self.q_first_only.given
        # What identifies it in the index's cache of pairs: its fields as a tuple (hashed
        # in C; the dataclass's own hash is a Python call on every look-up).
        self.q_alone_key = (
            tuple(getattr(self.q_alone, f.name) for f in dataclasses.fields(self.q_alone))
            if self.q_alone is not None
            else None
        )
        self.pair_keys: list[object] = [
            None,
            (q.family.full, q.family.parts) if q.family is not None else None,
            q.dob,
        ]
        self.sex = _SEXES.index(q.sex) if q.sex in _SEXES else 0
        self.pc: tuple[int, int, int, str] | None = None
        if q.postcode is not None:  # a stand-in: the text, or "#" and the hash
            text = q.postcode.full
            packed = not text.startswith("#")
            self.pc = (
                _h(text) if packed else int(text[1:]),
                int(q.postcode.sector or 0),
                int(q.postcode.district or 0),
                text if packed else "",
            )
        self.addr = (
            (int(q.address.text), frozenset(int(p) for p in q.address.parts))
            if q.address is not None
            else None
        )
        self.upns = frozenset(int(u) for u in q.upns)
        self.parents = (
            (frozenset(int(p) for p in q.parents.full), frozenset(int(p) for p in q.parents.parts))
            if q.parents is not None
            else None
        )
        w = scorer.level_weights
        self.w_sex, self.w_pc, self.w_addr = w("sex"), w("postcode"), w("address")
        self.w_upn, self.w_par = w("upn"), w("parents")
        self.sex_levels = [sex_level(self.sex, code) for code in range(len(_SEXES))]
        self.sex_weights = [self.w_sex[level] for level in self.sex_levels]
        self.upn_valid = q.upn_valid
        self.pc_cache: dict[int, float] = {}
        self.addr_cache: dict[int, float] = {}
        self.par_cache: dict[int, float] = {}
        self.family_rules = scorer.family_rules
        self.penalty = SWAP_PENALTY if q.swapped else 0.0
        # The most the fields other than the names and date could add (bound()): each
        # field's best level when the query has the field (a row without it adds 0).
        best_of = {
            "pc": max(0.0, *self.w_pc) if self.pc is not None else 0.0,
            "addr": max(0.0, *self.w_addr) if self.addr is not None else 0.0,
            "par": max(0.0, *self.w_par) if self.parents is not None else 0.0,
        }
        self.household_most = best_of["pc"] + best_of["addr"] + best_of["par"]
        self.others_most = max(0.0, *self.sex_weights) + (
            max(0.0, *self.w_upn) if self.upns else 0.0
        )
        # A valid UPN that agrees lifts the weight to UPN_LINK_WEIGHT: no bound then.
        self.bounded = not (self.upn_valid and self.upns)

    def _cached(self, index: CandidateIndex[Any], i: int, value: int) -> tuple[int, float]:
        """Surname (i = 1) or date of birth (i = 2) result, through the index's cache of
        pairs seen by earlier queries (a register's names and dates recur)."""
        found = index._pairs.get((i, self.pair_keys[i], value))
        if found is None:
            found = self.scorer._field(i, COMPARISONS[i], self.q, index._standin_of(i, value))
            index._remember((i, self.pair_keys[i], value), found)
        self.caches[i][value] = found
        return found

    def _given(self, index: CandidateIndex[Any], value: int) -> tuple[int, float]:
        """The given-name result: the first names compared (cached for the index by
        pair), then the other given names when the first names plainly differ."""
        first = index.first_of[value]
        q = self.q_first
        if first < 0 or q is None:
            found = self.scorer._field(0, GIVEN, self.q, _EMPTY)
        else:
            remembered = index._pairs.get((0, self.q_alone_key, first))
            if remembered is not None:
                found = remembered
            else:
                stand = Features(
                    index.first_vocab[first], None, NO_DOB, "", None, None, frozenset(), None
                )
                found = self.scorer._field(0, GIVEN, self.q_first_only, stand)
                index._remember((0, self.q_alone_key, first), found)
            if found[0] == _G_ELSE:
                row_given = index.given_vocab[value]
                assert row_given is not None
                if q.first in row_given.others or row_given.first in q.others:
                    found = (_G_OTHER, self.w_given[_G_OTHER])
        self.caches[0][value] = found
        return found

    def names(
        self, index: CandidateIndex[Any], g: int, f: int, d: int
    ) -> tuple[tuple[int, float], tuple[int, float], tuple[int, float]] | None:
        """The given-name, surname and date-of-birth results of a row (None: a swapped
        reading that does not apply, because the swapped names do not both agree)."""
        # The surname first: a swapped reading whose surname disagrees (most rows) is
        # done without comparing given names, the dearer comparison.
        family: tuple[int, float] = self.caches[1].get(f) or self._cached(index, 1, f)
        if self.swapped and family[0] in (_F_NULL, _F_ELSE):
            return None
        given: tuple[int, float] = self.caches[0].get(g) or self._given(index, g)
        if self.swapped and given[0] in (_G_NULL, _G_ELSE):
            return None
        dob: tuple[int, float] = self.caches[2].get(d) or self._cached(index, 2, d)
        return given, family, dob

    def bound(self, names: tuple[tuple[int, float], tuple[int, float], tuple[int, float]]) -> float:
        """The most :meth:`weight` can be for a row with these name and date results,
        whatever its sex, postcode, address, parents and UPN (the sibling and twin rules
        only take away; the household cap is kept)."""
        if not self.bounded:
            return math.inf
        (_gi, gw), (_fi, fw), (_di, dw) = names
        household = fw + self.household_most
        if self.family_rules:
            household = min(household, HOUSEHOLD_CAP)
        return gw + dw + self.others_most + household - self.penalty

    def weight(
        self,
        index: CandidateIndex[Any],
        names: tuple[tuple[int, float], tuple[int, float], tuple[int, float]],
        values: tuple[int, int, int, int, int],
    ) -> float:
        """The row's full weight, as :meth:`Scorer.total` computes it from the same
        levels (tests/test_index.py checks they agree)."""
        (gi, gw), (fi, fw), (di, dw) = names
        s, p, a, u, par = values
        pc_w = self.pc_cache.get(p)
        if pc_w is None:
            full, sector, district, code = index._pc
            pc_w = self.w_pc[postcode_level(self.pc, full[p], sector[p], district[p], code[p])]
            self.pc_cache[p] = pc_w
        # The address's and parents' words are read only when the whole values differ
        # (address_level and parents_level need them only then).
        addr_w = self.addr_cache.get(a)
        if addr_w is None:
            text, q_addr = index._addr_text[a], self.addr
            if q_addr is None or not text:
                level = _ADDR["null"]
            elif q_addr[0] == text:
                level = _ADDR["exact"]
            else:
                level = address_level(q_addr, text, index._addr_parts[a])
            addr_w = self.addr_cache[a] = self.w_addr[level]
        par_w = self.par_cache.get(par)
        if par_w is None:
            q_par = self.parents
            par_full = index._par_full[par] if q_par is not None else ()
            if q_par is None or not par_full:
                level = _PAR["null"]
            elif not q_par[0].isdisjoint(par_full):
                level = _PAR["full"]
            else:
                level = parents_level(q_par, par_full, index._par_parts[par])
            par_w = self.par_cache[par] = self.w_par[level]
        ui = upn_level(self.upns, index._upns[u]) if self.upns else _UPN["null"]
        upn_w = self.w_upn[ui] if self.upns else 0.0
        si = self.sex_levels[s]
        total = gw + dw + self.sex_weights[s] + upn_w
        if self.family_rules:
            if gi == _G_ELSE or (si == _SEX["else"] and gi in _G_NOT_SAME):
                total += self.scorer.family_adjustment(gi, fi, di, gw, si, ui, self.upn_valid)
            total += min(fw + pc_w + addr_w + par_w, HOUSEHOLD_CAP)
        else:
            total += fw + pc_w + addr_w + par_w
        total -= self.penalty
        if self.upn_valid and ui == _UPN["exact"]:
            total = self.scorer.upn_override(total, di, si, ui, True)
        return total


def iter_rows(index: CandidateIndex[Any]) -> Iterator[Features]:
    """Every row of ``index`` as :class:`Features` (hashed stand-ins; for tests)."""
    for row in range(len(index.row_record)):
        yield index.features(row)


def log2_prior(n: int) -> float:
    return math.log2(1.0 / max(n, 1))
