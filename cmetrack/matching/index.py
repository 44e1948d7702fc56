"""The candidate index: a search gathers candidates through blocking keys and scores only
those, so one query never reads the whole register.

Every name of every record is filed under a few packed 64-bit keys (type, a 32-bit hash,
a 27-bit value), held in one sorted array; a lookup is two binary searches. The keys
(``KEY_*``) pair a phonetic surname or given-name key, a postcode or a UPN with a date of
birth, a birth year or the other name. The query side, not the index, does the expanding:
it looks itself up under every date its date of birth may have been mistyped from, every
nickname and other spelling of its given name, and with given and family names swapped.
That keeps the index small (about eight keys a record) and a lookup a few hundred binary
searches.
"""

from __future__ import annotations

import bisect
import math
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from .compare import COMPARISONS, FAMILY, GIVEN
from .features import Features, PersonRecord, features_of, swapped
from .model import MatchModel
from .normalise import dob_typing_variants, name_variants, phonetic_key, stable_hash
from .scorer import Score, Scorer, probability

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
#: A best match at least this probable ends the search after the stage that found it.
CONFIDENT = 0.99
COMPARISON_COUNT = len(COMPARISONS)
_B_MASK = (1 << 27) - 1


def pack(kind: int, a: int, b: int) -> int:
    return (kind << 59) | ((a & 0xFFFFFFFF) << 27) | (b & _B_MASK)


def _dob_int(y: int, m: int, d: int) -> int:
    return y * 10000 + m * 100 + d


def _given_keys(f: Features) -> set[int]:
    if f.given is None:
        return set()
    return {stable_hash(f.given.phonetic)} | {stable_hash(phonetic_key(o)) for o in f.given.others}


def _family_keys(f: Features) -> set[int]:
    if f.family is None:
        return set()
    return {stable_hash(f.family.phonetic)} | {stable_hash(p) for p in f.family.part_phonetics}


def _initials(f: Features) -> int:
    """First letters of the given and family names (typing errors rarely hit them)."""
    if f.given is None or f.family is None:
        return 0
    return stable_hash(f.given.first[:1] + f.family.full[:1])


def record_keys(f: Features) -> set[int]:
    """The keys one name of a record is filed under."""
    keys: set[int] = {pack(KEY_UPN, stable_hash(u), 0) for u in f.upns}
    given, family = _given_keys(f), _family_keys(f)
    y, m, d = f.dob
    dob = _dob_int(y, m, d) if (y and m and d) else 0
    pc = stable_hash(f.postcode.full) if f.postcode else 0
    for fk in family:
        if dob:
            keys.add(pack(KEY_FAMILY_DOB, fk, dob))
        if y:
            keys.add(pack(KEY_FAMILY_YEAR, fk, y))
        for gk in given:
            keys.add(pack(KEY_FAMILY_GIVEN, fk, gk))
    for gk in given:
        if dob:
            keys.add(pack(KEY_GIVEN_DOB, gk, dob))
        if y:
            keys.add(pack(KEY_GIVEN_YEAR, gk, y))
        if pc:
            keys.add(pack(KEY_POSTCODE_GIVEN, pc, gk))
    if pc and dob:
        keys.add(pack(KEY_POSTCODE_DOB, pc, dob))
    if pc:
        keys |= {pack(KEY_POSTCODE_FAMILY, pc, fk) for fk in family}
        if _initials(f):
            keys.add(pack(KEY_POSTCODE_INITIALS, pc, _initials(f)))
    return keys


def query_keys(orientations: Sequence[Features]) -> list[list[tuple[int, int]]]:
    """The (kind, key) pairs a query looks itself up under, in three stages: exact date of
    birth or UPN; then mistyped dates, names without the date and postcodes; then the
    broad birth-year keys. A stage runs only when the ones before found no confident
    match, so an ordinary query reads a handful of entries."""
    stages: list[set[tuple[int, int]]] = [set(), set(), set()]
    first, second, third = stages
    for f in orientations:
        first.update((KEY_UPN, pack(KEY_UPN, stable_hash(u), 0)) for u in f.upns)
        own_given = _given_keys(f)
        all_given = set(own_given)
        if f.given is not None:
            all_given |= {stable_hash(phonetic_key(v)) for v in name_variants(f.given.first)}
        family = _family_keys(f)
        y, m, d = f.dob
        exact = [_dob_int(y, m, d)] if (y and m and d) else []
        # A swapped reading with a mistyped date as well is two errors: exact dates only.
        typed = [] if f.swapped else [_dob_int(*v) for v in dob_typing_variants(f.dob)]
        years = [y - 1, y, y + 1] if y else []
        pc = stable_hash(f.postcode.full) if f.postcode else 0
        for fk in family:
            first.update((KEY_FAMILY_DOB, pack(KEY_FAMILY_DOB, fk, v)) for v in exact)
            second.update((KEY_FAMILY_DOB, pack(KEY_FAMILY_DOB, fk, v)) for v in typed)
            second.update((KEY_FAMILY_GIVEN, pack(KEY_FAMILY_GIVEN, fk, gk)) for gk in all_given)
            third.update((KEY_FAMILY_YEAR, pack(KEY_FAMILY_YEAR, fk, v)) for v in years)
        for gk in all_given:
            first.update((KEY_GIVEN_DOB, pack(KEY_GIVEN_DOB, gk, v)) for v in exact)
            third.update((KEY_GIVEN_YEAR, pack(KEY_GIVEN_YEAR, gk, v)) for v in years)
            if pc:
                second.add((KEY_POSTCODE_GIVEN, pack(KEY_POSTCODE_GIVEN, pc, gk)))
        for gk in own_given:
            second.update((KEY_GIVEN_DOB, pack(KEY_GIVEN_DOB, gk, v)) for v in typed)
        if pc:
            first.update((KEY_POSTCODE_DOB, pack(KEY_POSTCODE_DOB, pc, v)) for v in exact)
            second.update((KEY_POSTCODE_DOB, pack(KEY_POSTCODE_DOB, pc, v)) for v in typed)
            second.update((KEY_POSTCODE_FAMILY, pack(KEY_POSTCODE_FAMILY, pc, fk)) for fk in family)
            if _initials(f):
                third.add((KEY_POSTCODE_INITIALS, pack(KEY_POSTCODE_INITIALS, pc, _initials(f))))
    return [sorted(stage) for stage in stages]


def query_orientations(query: PersonRecord) -> list[Features]:
    """The query as written, with each alias, and with given and family names swapped."""
    base = features_of(query)
    out = list(base)
    for f in base:
        s = swapped(f)
        if s is not None:
            out.append(s)
    return out


@dataclass(frozen=True)
class Candidate(Generic[T]):
    item: T
    score: Score
    probability: float


class CandidateIndex(Generic[T]):
    """The records of one or more registers, filed for search. ``items[i]`` is whatever
    the caller wants back for record ``i`` (a register row reference)."""

    def __init__(
        self,
        records: Iterable[tuple[T, PersonRecord]],
        model: MatchModel,
        *,
        family_rules: bool = True,
    ) -> None:
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.compute as pc  # type: ignore[import-untyped]

        self.items: list[T] = []
        self.rows: list[Features] = []
        row_record = array("i")
        keys = array("Q")
        key_rows = array("i")
        given_count: dict[str, int] = {}
        family_count: dict[str, int] = {}
        for item, record in records:
            record_no = len(self.items)
            self.items.append(item)
            for f in features_of(record):
                row = len(self.rows)
                self.rows.append(f)
                row_record.append(record_no)
                for key in record_keys(f):
                    keys.append(key)
                    key_rows.append(row)
                if f.name_source:
                    continue
                if f.given is not None:
                    given_count[f.given.first] = given_count.get(f.given.first, 0) + 1
                if f.family is not None:
                    family_count[f.family.full] = family_count.get(f.family.full, 0) + 1
        self.row_record = row_record
        n = len(keys)
        key_array = pa.Array.from_buffers(pa.uint64(), n, [None, pa.py_buffer(keys)])
        rows_array = pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(key_rows)])
        order = pc.sort_indices(key_array)
        self._keys = array("Q")
        self._keys.frombytes(memoryview(pc.take(key_array, order).buffers()[1])[: 8 * n])
        self._key_rows = array("i")
        self._key_rows.frombytes(memoryview(pc.take(rows_array, order).buffers()[1])[: 4 * n])
        n_given = sum(given_count.values()) or 1
        n_family = sum(family_count.values()) or 1
        self.scorer = Scorer(
            model,
            {k: v / n_given for k, v in given_count.items()},
            {k: v / n_family for k, v in family_count.items()},
            family_rules=family_rules,
        )

    def __len__(self) -> int:
        return len(self.items)

    @property
    def key_count(self) -> int:
        return len(self._keys)

    def _block(self, key: int) -> tuple[int, int]:
        keys = self._keys
        lo = bisect.bisect_left(keys, key)
        if lo == len(keys) or keys[lo] != key:
            return lo, lo
        return lo, bisect.bisect_right(keys, key, lo)

    def candidate_rows(self, keys: Iterable[tuple[int, int]]) -> set[int]:
        """Rows filed under any of ``keys`` (kind, key), skipping blocks over their cap."""
        rows: set[int] = set()
        key_rows = self._key_rows
        for kind, key in keys:
            lo, hi = self._block(key)
            if hi - lo <= BLOCK_CAPS[kind]:
                rows.update(key_rows[lo:hi])
        return rows

    def _best(
        self,
        rows: Iterable[int],
        orientations: Sequence[Features],
        caches: list[list[dict[int, Any]]],
        permit: Callable[[list[T]], set[T]] | None,
        best: dict[int, tuple[float, int, int]],
    ) -> None:
        row_record, records, weight = self.row_record, self.rows, self.scorer.weight
        if permit is not None:
            numbers = {row_record[row] for row in rows}
            allowed_items = permit([self.items[n] for n in numbers])
            allowed = {n for n in numbers if self.items[n] in allowed_items}
            rows = [row for row in rows if row_record[row] in allowed]
        for row in rows:
            record_no = row_record[row]
            record = records[row]
            for o, (q, cache) in enumerate(zip(orientations, caches, strict=True)):
                if q.swapped and not _plausibly_swapped(q, record):
                    continue
                w = weight(q, record, cache)
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
    ) -> list[Candidate[T]]:
        """The best ``limit`` records for ``query``, best first. ``permit`` is given the
        candidates' items and returns those the caller may see; it runs before anything is
        scored, so what is out of scope never affects the results. ``exclude`` is a record
        number left out (the record itself, when deduplicating). Keys are tried in stages
        (see :func:`query_keys`)."""
        orientations = query_orientations(query)
        if not orientations:
            return []
        caches: list[list[dict[int, Any]]] = [
            [{} for _ in range(COMPARISON_COUNT)] for _ in orientations
        ]
        prior = prior if prior is not None else 1.0 / max(len(self.items), 1)
        best: dict[int, tuple[float, int, int]] = {}
        seen: set[int] = set()
        for stage in query_keys(orientations):
            rows = self.candidate_rows(stage) - seen
            seen |= rows
            self._best(rows, orientations, caches, permit, best)
            if exclude is not None:
                best.pop(exclude, None)
            top = max((w for w, _r, _o in best.values()), default=-math.inf)
            if probability(top, prior) >= CONFIDENT:
                break
        ranked = sorted(best.items(), key=lambda kv: -kv[1][0])[:limit]
        out = []
        for record_no, (_w, row, o) in ranked:
            score = self.scorer.explain(orientations[o], self.rows[row])
            out.append(Candidate(self.items[record_no], score, score.probability(prior)))
        return out


def _plausibly_swapped(query: Features, record: Features) -> bool:
    """A swapped reading is worth scoring only when both swapped names agree at all."""
    if query.given is None or record.given is None or query.family is None or record.family is None:
        return False
    return (
        GIVEN.level_of(query, record) < len(GIVEN.levels) - 1
        and FAMILY.level_of(query, record) < len(FAMILY.levels) - 1
    )


def log2_prior(n: int) -> float:
    return math.log2(1.0 / max(n, 1))
