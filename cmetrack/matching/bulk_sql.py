# ruff: noqa: S608  (every statement is built from this module's constants and column names, never from data)
"""Bulk linkage as set-based SQL, on DuckDB (one machine) or Spark (national scale).

The same model and the same semantics as the interactive scorer (ADR 0010), without a
Python loop over pairs:

1. **Features.** Each file's columns are normalised by the functions of ``features.py``
   and ``normalise.py`` themselves, applied once per *distinct* value of a column over
   Arrow arrays (dictionary-encoded: a file of 250,000 pupils has a few thousand distinct
   given names), so the values are those the Python path computes, not a re-implementation.
   Aliases add a row each; on the query (left) side every row is also read with given and
   family names swapped, as the index's queries are.
2. **Blocking.** Every row is filed under hashed keys of the same kinds as the candidate
   index (``index.KEY_*``): UPN; phonetic surname or given name with the date of birth;
   surname with given name; postcode with given name, surname, date of birth or initials;
   surname or given name with the birth year (only where a date is partial). Where the
   index's queries expand the *query* to every date it may have been mistyped from, a join
   needs a symmetric form: each complete date is filed under its eight one-digit-masked
   forms (two dates one digit apart share one), its day and month in order (day and month
   swapped) and its day and month without the year (year one out). The left side files
   its given name under every listed nickname and transliteration as well. Keys shared by
   more right-side rows than the index's ``BLOCK_CAPS`` are dropped, as the index skips
   such blocks. Bulk linkage adds keys of its own: the address whole, the date of birth
   alone, and the postcode with one character left out, with the surname or the given
   name (a postcode and a name both mistyped). The candidate pairs are the union over
   all keys. Linking two files, a record stops at the first stage that finds it a
   confident match; deduplicating one, every record goes through every stage, so each
   record of a group of three or more finds all the others.
3. **Scoring.** The comparison levels are ``compare.py``'s SQL, and the weights the
   trained model's, with the scorer's term-frequency adjustment (frequencies from the
   right file), partial dates, the household cap and the sibling and twin floors (when
   the model's profile is "children") and the penalty for a swapped reading. A record pair
   keeps its best row pair; each left record keeps its ``LINK_TOP`` best candidates.

The statements are written once, for DuckDB, with the few functions whose names differ
on Spark translated by :class:`Dialect`. DuckDB is given a memory limit and the machine's
cores; Spark runs in local mode in tests (``detection/spark.py`` is the pattern) and on a
cluster with a session from ``spark-submit``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .compare import (
    ADDRESS_SHARED,
    COMPARISONS,
    GIVEN_NOT_SAME,
    HOUSEHOLD,
    HOUSEHOLD_CAP,
    SIBLING_GIVEN_WEIGHT,
    SWAP_PENALTY,
    TWIN_FAMILY_LEVELS,
    TWIN_GIVEN_WEIGHT,
    UPN_LINK_WEIGHT,
    Comparison,
)
from .features import (
    FamilyName,
    GivenName,
    address,
    any_valid_upn,
    family_name,
    given_name,
    normalise_sex,
    normalise_upn,
    parent_names,
    parse_aliases,
    postcode,
)
from .index import (
    BLOCK_CAPS,
    CONFIDENT,
    KEY_FAMILY_DOB,
    KEY_FAMILY_GIVEN,
    KEY_FAMILY_YEAR,
    KEY_GIVEN_DOB,
    KEY_GIVEN_YEAR,
    KEY_POSTCODE_DOB,
    KEY_POSTCODE_FAMILY,
    KEY_POSTCODE_GIVEN,
    KEY_POSTCODE_INITIALS,
    KEY_UPN,
    STAGE_BUDGETS,
)
from .model import MIN_PROBABILITY, MatchModel
from .normalise import dob_parts, jaro_winkler, name_variants, phonetic_key, split_list

#: Candidates kept per left record (as the Python path's LINK_TOP).
LINK_TOP = 10
#: DuckDB's own memory (the features held in Python come on top; beyond it DuckDB
#: spills to disk): with it a link of two files of 250,000 stays under 2 GB in all.
MEMORY_LIMIT = "500MB"
#: Columns of a linkage file (any may be missing except ``id``).
COLUMNS = (
    "id",
    "given_name",
    "middle_names",
    "family_name",
    "aliases",
    "dob",
    "sex",
    "postcode",
    "address",
    "parent_names",
    "upn",
)


class FileError(ValueError):
    """A file that cannot be read as people: says which and why."""


# --- features, per distinct value --------------------------------------------------------


def _pa() -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    return pa


def _pc() -> Any:
    import pyarrow.compute as pc  # type: ignore[import-untyped]

    return pc


_SEP = "\x1f"


def _given_cols(g: GivenName | None) -> dict[str, Any]:
    if g is None:
        return dict.fromkeys(
            ("given", "given_ph", "given_groups", "given_others", "given_sq", "gkeys", "gall")
        )
    own = {g.phonetic} | {phonetic_key(o) for o in g.others}
    every = own | {phonetic_key(v) for v in name_variants(g.first)}
    return {
        "given": g.first,
        "given_ph": g.phonetic,
        "given_groups": sorted(g.groups),
        "given_others": sorted(g.others),
        "given_sq": g.squashed or g.first,
        "gkeys": sorted(k for k in own if k),
        "gall": sorted(k for k in every if k),
    }


def _family_cols(f: FamilyName | None) -> dict[str, Any]:
    if f is None:
        return dict.fromkeys(("family", "family_parts", "family_ph", "family_part_ph", "fkeys"))
    return {
        "family": f.full,
        "family_parts": sorted(f.parts),
        "family_ph": f.phonetic,
        "family_part_ph": sorted(f.part_phonetics),
        "fkeys": sorted(k for k in {f.phonetic} | set(f.part_phonetics) if k),
    }


def _uncached(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function behind an ``lru_cache``: a file has more distinct addresses, postcodes
    and parents than those caches hold, so going through them would only churn them (the
    run keeps its own memo of every distinct value instead)."""
    return getattr(fn, "__wrapped__", fn)


def _dob_cols(value: str) -> dict[str, Any]:
    """The date's parts and the date keys it is filed and looked up under:

    - ``dk_r`` (filed, right side): ``e`` + the date; each one-digit-masked form (two dates
      one digit apart share one); ``s`` + year and the day and month in order (day and
      month swapped); ``y`` + the date (year one out: the query side looks itself up under
      the year either side).
    - ``dk_e`` (looked up in stage 1): the exact date; ``dk_t`` (stage 2): the masked forms,
      the day-and-month form and the dates a year either side: every date the index's
      query tries as a mistyping (``normalise.dob_typing_variants``), as joins.
    - ``yr`` / ``yq``: the birth year, and the years either side (stage 3), looked up only
      for a partial date: a complete one has been tried under every mistyping by then,
      and the names without the date (stage 2) find the rest. (The index's query tries
      birth years for every child it has not found; in bulk that is a few hundred
      candidates for every child who left, for almost nothing.)

    The masked forms leave the millennium and century digits alone: a date mistyped there
    is found by the names without the date.
    """
    y, m, d = dob_parts(value.strip() or None)
    complete = bool(y and m and d)
    s = f"{y:04d}{m:02d}{d:02d}" if complete else None
    filed = exact = typed = None
    if s is not None:
        masked = [f"m{i}{s[:i]}{s[i + 1 :]}" for i in range(2, 8)]
        swap = f"s{y}{min(m, d):02d}{max(m, d):02d}"
        filed = [f"e{s}", *masked, swap, f"y{s}"]
        exact = [f"e{s}"]
        typed = [*masked, swap, f"y{y - 1:04d}{s[4:]}", f"y{y + 1:04d}{s[4:]}"]
    return {
        "dob_y": y or None,
        "dob_m": m or None,
        "dob_d": d or None,
        "dob_s": s,
        "dk_r": filed,
        "dk_e": exact,
        "dk_t": typed,
        "yr": [str(y)] if y else None,
        "yq": [str(y - 1), str(y), str(y + 1)] if (y and not complete) else None,
    }


def _pc_cols(value: str) -> dict[str, Any]:
    p = _uncached(postcode)(value.strip())
    return {
        "pc": p.full if p else None,
        "pc_sector": (p.sector or None) if p else None,
        "pc_district": (p.district or None) if p else None,
    }


def _addr_cols(value: str) -> dict[str, Any]:
    a = _uncached(address)(value.strip())
    return {"addr": a.text if a else None, "addr_parts": sorted(a.parts) if a else None}


def _parent_cols(value: str) -> dict[str, Any]:
    p = _uncached(parent_names)(split_list(value.strip()))
    return {
        "parent_full": sorted(p.full) if p else None,
        "parent_parts": sorted(p.parts) if p else None,
    }


def _upn_cols(value: str) -> dict[str, Any]:
    upns = {normalise_upn(u) for u in split_list(value.strip()) if u and u.strip()}
    return {"upns": sorted(upns) or None, "upn_valid": any_valid_upn(upns)}


def _sex_cols(value: str) -> dict[str, Any]:
    return {"sex": normalise_sex(value.strip()) or None}


_STR, _INT, _BOOL = "string", "int32", "bool"
#: Every column of the features table and its Arrow type ("[]" marks a list).
FEATURE_TYPES: dict[str, str] = {
    "given": _STR,
    "given_ph": _STR,
    "given_groups": _INT + "[]",
    "given_others": _STR + "[]",
    "given_sq": _STR,
    "gkeys": _STR + "[]",
    "gall": _STR + "[]",
    "family": _STR,
    "family_parts": _STR + "[]",
    "family_ph": _STR,
    "family_part_ph": _STR + "[]",
    "fkeys": _STR + "[]",
    "dob_y": _INT,
    "dob_m": _INT,
    "dob_d": _INT,
    "dob_s": _STR,
    "dk_r": _STR + "[]",
    "dk_e": _STR + "[]",
    "dk_t": _STR + "[]",
    "yr": _STR + "[]",
    "yq": _STR + "[]",
    "sex": _STR,
    "pc": _STR,
    "pc_sector": _STR,
    "pc_district": _STR,
    "addr": _STR,
    "addr_parts": _STR + "[]",
    "upns": _STR + "[]",
    "upn_valid": _BOOL,
    "parent_full": _STR + "[]",
    "parent_parts": _STR + "[]",
}
GIVEN_COLS = ("given", "given_ph", "given_groups", "given_others", "given_sq", "gkeys", "gall")
FAMILY_COLS = ("family", "family_parts", "family_ph", "family_part_ph", "fkeys")


def _arrow_type(name: str) -> Any:
    pa = _pa()
    kind = FEATURE_TYPES[name]
    base = {"string": pa.string(), "int32": pa.int32(), "bool": pa.bool_()}[kind.rstrip("[]")]
    return pa.list_(base) if kind.endswith("[]") else base


#: Feature columns already worked out, by kind of value and value: shared between the
#: two files of a linkage (two snapshots of one roll share most of their values).
Memo = dict[str, dict[str, dict[str, Any]]]


def _mapped(
    values: Any, kind: str, fn: Callable[[str], dict[str, Any]], memo: Memo
) -> dict[str, Any]:
    """``fn`` applied once per distinct value of a string array; its columns taken back
    to the array's length (blank and missing values are both "")."""
    pa, pc = _pa(), _pc()
    values = pc.fill_null(values.cast(pa.string()), "")
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    known = memo.setdefault(kind, {})
    results = []
    for v in encoded.dictionary.to_pylist():
        found = known.get(v)
        if found is None:
            found = known[v] = fn(v)
        results.append(found)
    names = list(results[0]) if results else list(fn(""))
    out = {}
    for name in names:
        column = pa.array([r[name] for r in results], type=_arrow_type(name))
        out[name] = pc.take(column, encoded.indices)
    return out


def _column(table: Any, name: str) -> Any:
    pa = _pa()
    if name in table.column_names:
        return table.column(name)
    return pa.nulls(table.num_rows, pa.string())


def _given_key(value: str) -> dict[str, Any]:
    given, _sep, middle = value.partition(_SEP)
    return _given_cols(given_name(given.strip(), middle.strip()))


def _family_key(value: str) -> dict[str, Any]:
    return _family_cols(family_name(value.strip()))


def features_table(raw: Any, *, query_side: bool, memo: Memo | None = None) -> Any:
    """The feature rows of a file read as strings (columns :data:`COLUMNS` plus ``rec``, the
    record's number): the legal name, one row per alias and, on the query side, each of
    those read with given and family names swapped. Columns ``row`` (number),
    ``rec``, ``swapped`` and :data:`FEATURE_TYPES`."""
    pa, pc = _pa(), _pc()
    given_middle = pc.binary_join_element_wise(
        pc.fill_null(_column(raw, "given_name").cast(pa.string()), ""),
        pc.fill_null(_column(raw, "middle_names").cast(pa.string()), ""),
        _SEP,
    )
    memo = {} if memo is None else memo
    cols: dict[str, Any] = {"rec": raw.column("rec")}
    cols |= _mapped(given_middle, "given", _given_key, memo)
    cols |= _mapped(_column(raw, "family_name"), "family", _family_key, memo)
    for source, fn in (
        ("dob", _dob_cols),
        ("sex", _sex_cols),
        ("postcode", _pc_cols),
        ("address", _addr_cols),
        ("parent_names", _parent_cols),
        ("upn", _upn_cols),
    ):
        cols |= _mapped(_column(raw, source), source, fn, memo)
    legal = pa.table({name: cols[name] for name in ("rec", *FEATURE_TYPES)})
    tables = [legal, _alias_rows(raw, legal)]
    if query_side:
        tables += [_swapped_rows(t, memo) for t in list(tables)]
    parts = []
    for number, table in enumerate(tables):
        swapped = pa.array([query_side and number >= 2] * table.num_rows, type=pa.bool_())
        parts.append(table.append_column("swapped", swapped))
    table = pa.concat_tables(parts)
    return table.append_column("row", pa.array(range(table.num_rows), type=pa.int32()))


def _alias_rows(raw: Any, legal: Any) -> Any:
    """One row per alias: "Given Family" or a family name alone, the missing half taken
    from the legal name (as ``features.features_of``)."""
    pa, pc = _pa(), _pc()
    aliases = pc.fill_null(_column(raw, "aliases").cast(pa.string()), "")
    has = pc.not_equal(pc.utf8_trim_whitespace(aliases), "")
    positions = pc.indices_nonzero(has).to_pylist()
    take: list[int] = []
    given: list[dict[str, Any]] = []
    family: list[dict[str, Any]] = []
    texts = aliases.to_pylist() if positions else []
    names = {
        c: _column(raw, c).to_pylist() if positions else []
        for c in ("given_name", "middle_names", "family_name")
    }

    def text(column: str, i: int) -> str:
        value = names[column][i]
        return "" if value is None else str(value).strip()

    for i in positions:
        for alias_given, alias_family in parse_aliases(texts[i].strip()):
            take.append(i)
            given.append(
                _given_cols(
                    given_name(alias_given or text("given_name", i), text("middle_names", i))
                )
            )
            family.append(_family_cols(family_name(alias_family or text("family_name", i))))
    rows = legal.take(pa.array(take, type=pa.int64()))
    for name in GIVEN_COLS:
        rows = rows.set_column(
            rows.column_names.index(name),
            name,
            pa.array([g[name] for g in given], type=_arrow_type(name)),
        )
    for name in FAMILY_COLS:
        rows = rows.set_column(
            rows.column_names.index(name),
            name,
            pa.array([f[name] for f in family], type=_arrow_type(name)),
        )
    return rows


def _swapped_rows(table: Any, memo: Memo) -> Any:
    """Rows read with given and family names the other way round (``features.swapped``):
    the given name is the family name run together, the family name the first given name.
    A swapped reading with a mistyped date is two errors, so it looks itself up under its
    exact date only (as the index's query does)."""
    pa, pc = _pa(), _pc()
    both = pc.and_(pc.is_valid(table.column("given")), pc.is_valid(table.column("family")))
    table = table.filter(both)
    new_given = _mapped(
        table.column("family"), "swap_given", lambda v: _given_cols(given_name(v)), memo
    )
    new_family = _mapped(
        table.column("given"), "swap_family", lambda v: _family_cols(family_name(v)), memo
    )
    for name in GIVEN_COLS:
        table = table.set_column(table.column_names.index(name), name, new_given[name])
    for name in FAMILY_COLS:
        table = table.set_column(table.column_names.index(name), name, new_family[name])
    no_dates = pa.nulls(table.num_rows, pa.list_(pa.string()))
    return table.set_column(table.column_names.index("dk_t"), "dk_t", no_dates)


# --- SQL --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """The few names that differ between DuckDB and Spark SQL."""

    name: str
    unnest: str
    hash: str
    replacements: tuple[tuple[str, str], ...] = ()

    def __call__(self, sql: str) -> str:
        for old, new in self.replacements:
            sql = re.sub(old, new, sql)
        return sql


DUCKDB = Dialect("duckdb", "unnest", "hash")
SPARK = Dialect(
    "spark",
    "explode",
    "xxhash64",
    (
        (r"\blen\(list_intersect\(", "size(array_intersect("),
        (r"\blen\(", "size("),
        (r"\blist_has_any\(", "arrays_overlap("),
        (r"\blist_contains\(", "array_contains("),
        (r"\bpow\(", "power("),
        # Our UDFs under names of their own: a Spark build with a built-in function of
        # the same name (some have ``jaro_winkler_similarity``, with another rounding of
        # the transpositions) would otherwise be called instead.
        (r"\bjaro_winkler_similarity\(", "cmetrack_jaro_winkler("),
        (r"\bhamming\(", "cmetrack_hamming("),
        (r"\bdamerau_levenshtein\(", "cmetrack_damerau_levenshtein("),
    ),
)


def _key_sql(d: Dialect, table: str, stage: int, kind: int, a: str, b: str | None) -> str:
    """Rows (row, rec, stage, kind, key) for every element of list ``a`` crossed with every
    element of list ``b`` (or of ``a`` alone)."""
    head = f"SELECT row, rec, {stage} AS stage, {kind} AS kind"
    if b is None:
        return (
            f"{head}, {d.hash}({kind}, x) AS key FROM "
            f"(SELECT row, rec, {d.unnest}({a}) AS x FROM {table}) t"
        )
    return (
        f"{head}, {d.hash}({kind}, x, y) AS key FROM "
        f"(SELECT row, rec, x, {d.unnest}({b}) AS y FROM "
        f"(SELECT row, rec, {d.unnest}({a}) AS x, {b} FROM {table}) t) u"
    )


#: Keys of bulk linkage only (the interactive index has no use for them): the address as a
#: whole, and the date of birth alone. Both are looked up in stage 2 and only where the
#: block is small: at 250,000 pupils a date of birth is shared by forty and says nothing
#: on its own (the cap drops it), in a file of adults spread over a century it nearly
#: identifies a person, and finds one whose names and postcode were all mistyped.
KEY_ADDRESS = 11
KEY_DOB = 12
#: A postcode with one character left out, with the surname or the given name: finds a
#: child whose postcode was mistyped (or moved next door) and one of whose names was too.
KEY_PCDEL_FAMILY = 13
KEY_PCDEL_GIVEN = 14
CAPS = {
    **BLOCK_CAPS,
    KEY_ADDRESS: 50,
    KEY_DOB: 10,
    KEY_PCDEL_FAMILY: BLOCK_CAPS[KEY_POSTCODE_FAMILY],
    KEY_PCDEL_GIVEN: BLOCK_CAPS[KEY_POSTCODE_GIVEN],
}
#: Feature columns that only build keys.
KEY_LIST_COLUMNS = frozenset({"gkeys", "gall", "fkeys", "dk_r", "dk_e", "dk_t", "yr", "yq"})
#: The keys a record is filed under (``index.record_keys``): kind, first list, second list.
FILED_KEYS: tuple[tuple[int, str, str | None], ...] = (
    (KEY_UPN, "upns", None),
    (KEY_FAMILY_DOB, "fkeys", "dk_r"),
    (KEY_GIVEN_DOB, "gkeys", "dk_r"),
    (KEY_FAMILY_GIVEN, "fkeys", "gkeys"),
    (KEY_POSTCODE_GIVEN, "pcs", "gkeys"),
    (KEY_POSTCODE_DOB, "pcs", "dk_r"),
    (KEY_POSTCODE_FAMILY, "pcs", "fkeys"),
    (KEY_POSTCODE_INITIALS, "pcs", "initials"),
    (KEY_FAMILY_YEAR, "fkeys", "yr"),
    (KEY_GIVEN_YEAR, "gkeys", "yr"),
    (KEY_ADDRESS, "addrs", None),
    (KEY_DOB, "dk_e", None),
)
#: Filed apart: every right row has a dozen of these, of which stage 2 looks up those of a
#: few left records, so their blocks are counted for the keys looked up only
#: (:func:`pcd_blocks_sql`).
FILED_PCD_KEYS: tuple[tuple[int, str, str | None], ...] = (
    (KEY_PCDEL_FAMILY, "pcd", "fkeys"),
    (KEY_PCDEL_GIVEN, "pcd", "gkeys"),
)
#: The keys a query looks itself up under, by stage (``index.query_keys``): the exact date
#: or UPN; then mistyped dates, names without the date and postcodes; then birth years.
#: ``gall`` holds the given name's nicknames and transliterations as well.
QUERY_KEYS: tuple[tuple[int, int, str, str | None], ...] = (
    (1, KEY_UPN, "upns", None),
    (1, KEY_FAMILY_DOB, "fkeys", "dk_e"),
    (1, KEY_GIVEN_DOB, "gall", "dk_e"),
    (1, KEY_POSTCODE_DOB, "pcs", "dk_e"),
    (2, KEY_FAMILY_DOB, "fkeys", "dk_t"),
    (2, KEY_FAMILY_GIVEN, "fkeys", "gall"),
    (2, KEY_POSTCODE_GIVEN, "pcs", "gall"),
    (2, KEY_GIVEN_DOB, "gkeys", "dk_t"),
    (2, KEY_POSTCODE_DOB, "pcs", "dk_t"),
    (2, KEY_POSTCODE_FAMILY, "pcs", "fkeys"),
    (2, KEY_ADDRESS, "addrs", None),
    (2, KEY_DOB, "dk_e", None),
    (2, KEY_PCDEL_FAMILY, "pcd", "fkeys"),
    (2, KEY_PCDEL_GIVEN, "pcd", "gall"),
    (3, KEY_FAMILY_YEAR, "fkeys", "yq"),
    (3, KEY_GIVEN_YEAR, "gall", "yq"),
    (3, KEY_POSTCODE_INITIALS, "pcs", "initials"),
)
STAGES = (1, 2, 3)
PCD_KINDS = frozenset(kind for kind, _a, _b in FILED_PCD_KEYS)
PCD_STAGES = frozenset(stage for stage, kind, _a, _b in QUERY_KEYS if kind in PCD_KINDS)


def filed_keys_sql(
    d: Dialect, table: str, keys: Sequence[tuple[int, str, str | None]] = FILED_KEYS
) -> str:
    """Every key of ``keys`` every row of the right side is filed under (each once: the
    lists are sets and the kind is part of the hash)."""
    parts = [_key_sql(d, table, 0, kind, a, b) for kind, a, b in keys]
    return "\nUNION ALL\n".join(parts)


def query_keys_sql(d: Dialect, table: str) -> str:
    """Every key every row of the left side looks itself up under, with its stage."""
    parts = [_key_sql(d, table, stage, kind, a, b) for stage, kind, a, b in QUERY_KEYS]
    return "\nUNION ALL\n".join(parts)


def key_lists_sql(d: Dialect, table: str) -> str:
    """The features table with the one-element lists the keys are built from, and ``pcd``:
    the postcode with each one character left out (two postcodes one typing error apart
    share one of these: a character changed, added, dropped or two swapped)."""
    arr = "array" if d.name == "spark" else "list_value"
    dropped = "concat(substr(pc, 1, i - 1), substr(pc, i + 1))"
    if d.name == "spark":
        pcd = f"array_distinct(transform(sequence(1, length(pc)), i -> {dropped}))"
    else:
        pcd = f"list_distinct(list_transform(range(1, length(pc) + 1), lambda i: {dropped}))"
    return f"""
SELECT *,
    CASE WHEN pc IS NULL THEN NULL ELSE {arr}(pc) END AS pcs,
    CASE WHEN pc IS NULL THEN NULL ELSE {pcd} END AS pcd,
    CASE WHEN addr IS NULL THEN NULL ELSE {arr}(addr) END AS addrs,
    CASE WHEN given IS NULL OR family IS NULL THEN NULL
        ELSE {arr}(concat(substr(given, 1, 1), substr(family, 1, 1))) END AS initials
FROM {table}"""


def blocks_sql(filed: str) -> str:
    """The keys the right side is filed under (``filed``, a query) that hold no more rows
    than the index's cap for their kind (a larger block says too little to be worth
    scoring)."""
    caps = " ".join(f"WHEN {kind} THEN {cap}" for kind, cap in sorted(CAPS.items()))
    return f"""
WITH rkeys AS ({filed})
SELECT rk.key, rk.row, rk.rec, ok.size FROM rkeys rk JOIN (
    SELECT key, count(*) AS size FROM rkeys GROUP BY key, kind
    HAVING count(*) <= CASE kind {caps} ELSE 0 END
) ok ON ok.key = rk.key"""


def pcd_blocks_sql(stage: int, open_table: str | None) -> str:
    """The blocks of the postcode-with-a-character-left-out keys (``rpcd``, filed rows)
    that the left records still open look up in ``stage``, within the caps."""
    kinds = ", ".join(str(kind) for kind, _a, _b in FILED_PCD_KEYS)
    join_open = f"JOIN {open_table} o ON o.lrec = lk.rec" if open_table else ""
    caps = " ".join(f"WHEN {kind} THEN {CAPS[kind]}" for kind, _a, _b in FILED_PCD_KEYS)
    return f"""
WITH wanted AS (
    SELECT DISTINCT lk.key FROM lkeys lk {join_open}
    WHERE lk.stage = {stage} AND lk.kind IN ({kinds})
),
hit AS (SELECT rk.key, rk.kind, rk.row, rk.rec FROM rpcd rk JOIN wanted w ON w.key = rk.key)
SELECT h.key, h.row, h.rec, ok.size FROM hit h JOIN (
    SELECT key, count(*) AS size FROM hit GROUP BY key, kind
    HAVING count(*) <= CASE kind {caps} ELSE 0 END
) ok ON ok.key = h.key"""


def candidates_sql(
    stage: int, dedupe: bool, open_table: str | None, blocks: str = "rblocks"
) -> str:
    """(left record, right row) pairs sharing a key of ``stage``, for the left records
    still open (no confident match in an earlier stage). As in the index, a candidate is
    a right row, scored against every reading of the left record (its name, its aliases,
    names swapped), whichever of them found it; and as the index's
    ``candidate_rows``, a record scores at most the stage's budget of rows, those filed
    under the most of its keys first, then those from the smallest blocks."""
    conditions = [f"lk.stage = {stage}"]
    if dedupe:
        conditions.append("lk.rec <> rb.rec")
    join_open = f"JOIN {open_table} o ON o.lrec = lk.rec" if open_table else ""
    budget = STAGE_BUDGETS[STAGES.index(stage)]
    return f"""
SELECT lrec, rrow FROM (
    SELECT lrec, rrow, row_number() OVER (
        PARTITION BY lrec ORDER BY hits DESC, smallest, rrow
    ) AS rank
    FROM (
        SELECT lk.rec AS lrec, rb.row AS rrow, count(*) AS hits, min(rb.size) AS smallest
        FROM lkeys lk
        {join_open}
        JOIN {blocks} rb ON rb.key = lk.key
        WHERE {" AND ".join(conditions)}
        GROUP BY lk.rec, rb.row
    ) c
) ranked
WHERE rank <= {budget}"""


_PAIR_SHARED = ADDRESS_SHARED.replace("addr_parts_l", "l.addr_parts").replace(
    "addr_parts_r", "r.addr_parts"
)


def _case(comparison: Comparison) -> str:
    """The level of a pair as a CASE (the shared-words count read from ``addr_shared``,
    worked out once in :func:`scores_sql`)."""
    whens = []
    for i, level in enumerate(comparison.levels):
        sql = level.sql.replace(ADDRESS_SHARED, "addr_shared")
        whens.append(f"ELSE {i}" if sql == "ELSE" else f"WHEN {sql} THEN {i}")
    return f"CASE {' '.join(whens)} END AS g_{comparison.name}"


def _num(x: float) -> str:
    """A double literal (exponent form: both DuckDB and Spark read a plain ``1.5`` as a
    DECIMAL, whose arithmetic would round the weights differently from Python's)."""
    return format(float(x), ".17e")


def _weight_sql(comparison: Comparison, model: MatchModel) -> str:
    """The weight of the level a pair falls in, as the scorer's ``_field`` gives it."""
    whens = []
    name = comparison.name
    m_dob_exact = model.level("dob", "exact").m
    for i, level in enumerate(comparison.levels):
        if level.is_null:
            whens.append(f"WHEN {i} THEN 0e0")
            continue
        base = model.weight(name, level.key)
        expr = _num(base)
        if level.tf_column:
            m = max(model.level(name, level.key).m, MIN_PROBABILITY)
            tf = f"tf_{level.tf_column}_r"
            expr = (
                f"CASE WHEN {tf} IS NULL THEN {_num(base)} "
                f"ELSE log2({_num(m)} / greatest({tf}, 1e-9)) END"
            )
        if name == "dob" and level.key in ("year_month", "year"):
            u = max(model.level("dob", level.key).u, MIN_PROBABILITY)
            partial = _num(math.log2(m_dob_exact / u))
            condition = (
                "dob_d_l IS NULL"
                if level.key == "year_month"
                else "dob_d_l IS NULL AND dob_m_l IS NULL"
            )
            expr = f"CASE WHEN {condition} THEN {partial} ELSE {_num(base)} END"
        whens.append(f"WHEN {i} THEN {expr}")
    return f"CASE g_{name} {' '.join(whens)} END AS w_{name}"


PAIR_COLUMNS = (
    "given",
    "given_ph",
    "given_groups",
    "given_others",
    "given_sq",
    "family",
    "family_parts",
    "family_ph",
    "family_part_ph",
    "dob_y",
    "dob_m",
    "dob_d",
    "dob_s",
    "sex",
    "pc",
    "pc_sector",
    "pc_district",
    "addr",
    "addr_parts",
    "upns",
    "upn_valid",
    "parent_full",
    "parent_parts",
)


def scores_sql(model: MatchModel, *, family_rules: bool, candidates: str) -> str:
    """Record pairs (lrec, rrec, weight) of the row pairs in ``candidates``: each pair's
    levels and weights, corrected as the scorer corrects them, the best row pair kept."""
    columns = ",\n    ".join(f"l.{c} AS {c}_l, r.{c} AS {c}_r" for c in PAIR_COLUMNS)
    levels = ",\n    ".join(_case(c) for c in COMPARISONS)
    weights = ",\n    ".join(_weight_sql(c, model) for c in COMPARISONS)
    idx = {c.name: {lv.key: i for i, lv in enumerate(c.levels)} for c in COMPARISONS}
    given_else = idx["given_name"]["else"]
    family_agree = ", ".join(str(idx["family_name"][k]) for k in sorted(TWIN_FAMILY_LEVELS))
    dob_far = f"{idx['dob']['else']}, {idx['dob']['null']}"
    household = " + ".join(f"w_{n}" for n in HOUSEHOLD)
    others = " + ".join(f"w_{c.name}" for c in COMPARISONS if c.name not in HOUSEHOLD)
    not_same = ", ".join(str(idx["given_name"][k]) for k in sorted(GIVEN_NOT_SAME))
    sex_else, upn_exact = idx["sex"]["else"], idx["upn"]["exact"]
    upn_agrees = f"(upn_valid_l AND g_upn = {upn_exact})"
    if family_rules:
        floor = (
            f"CASE WHEN (g_given_name = {given_else} OR (g_sex = {sex_else} "
            f"AND g_given_name IN ({not_same}))) AND g_family_name IN ({family_agree}) "
            f"AND g_dob NOT IN ({dob_far}) AND NOT {upn_agrees} THEN least(0e0, "
            f"CASE WHEN g_dob = {idx['dob']['exact']} THEN {_num(TWIN_GIVEN_WEIGHT)} "
            f"ELSE {_num(SIBLING_GIVEN_WEIGHT)} END - w_given_name) ELSE 0e0 END"
        )
        total = f"{others} + {floor} + least({household}, {_num(HOUSEHOLD_CAP)})"
    else:
        total = f"{others} + {household}"
    last_given = len(idx["given_name"]) - 1
    last_family = len(idx["family_name"]) - 1
    swap = f"CASE WHEN swapped_l THEN {_num(SWAP_PENALTY)} ELSE 0e0 END"
    linked = (
        f"CASE WHEN {upn_agrees} AND NOT (g_dob = {idx['dob']['else']} AND g_sex = {sex_else}) "
        f"THEN greatest({total} - {swap}, {_num(UPN_LINK_WEIGHT)}) ELSE {total} - {swap} END"
    )
    return f"""
WITH pairs AS (
    SELECT l.rec AS lrec, r.rec AS rrec, l.swapped AS swapped_l,
        r.tf_given AS tf_given_r, r.tf_family AS tf_family_r,
        CASE WHEN l.addr = r.addr THEN NULL
            ELSE {_PAIR_SHARED} END AS addr_shared,
    {columns}
    FROM {candidates} c
    JOIN lfeat l ON l.rec = c.lrec
    JOIN rfeat r ON r.row = c.rrow
),
levels AS (
    SELECT lrec, rrec, swapped_l, upn_valid_l, tf_given_r, tf_family_r, dob_d_l, dob_m_l,
    {levels}
    FROM pairs
),
weighted AS (
    SELECT lrec, rrec, swapped_l, upn_valid_l, g_given_name, g_family_name, g_dob, g_sex,
        g_upn,
    {weights}
    FROM levels
    WHERE NOT swapped_l OR (g_given_name BETWEEN 1 AND {last_given - 1}
        AND g_family_name BETWEEN 1 AND {last_family - 1})
)
SELECT lrec, rrec,
    max({linked}) AS weight
FROM weighted
GROUP BY lrec, rrec"""


def log_prior(prior: float) -> float:
    prior = min(max(prior, 1e-12), 1 - 1e-12)
    return math.log2(prior / (1 - prior))


def open_sql(scored: str, prior: float, previous_open: str | None) -> str:
    """Left records (of those still open) whose best candidate so far is less than
    ``index.CONFIDENT`` probable: the next stage looks them up."""
    cutoff = math.log2(CONFIDENT / (1 - CONFIDENT)) - log_prior(prior)
    source = previous_open or "lrecs"
    return f"""
SELECT o.lrec FROM {source} o
LEFT JOIN (SELECT lrec, max(weight) AS top FROM {scored} GROUP BY lrec) s ON s.lrec = o.lrec
WHERE s.top IS NULL OR s.top < {_num(cutoff)}"""


def final_sql(scored: str, prior: float, threshold: float) -> str:
    """The ``LINK_TOP`` best candidates of each left record, as probabilities, at or above
    ``threshold``."""
    return f"""
WITH best AS (
    SELECT lrec, rrec, max(weight) AS weight FROM {scored} GROUP BY lrec, rrec
),
ranked AS (
    SELECT lrec, rrec, weight + {_num(log_prior(prior))} AS log_odds,
        row_number() OVER (PARTITION BY lrec ORDER BY weight DESC, rrec) AS rank_l
    FROM best
),
probabilities AS (
    SELECT lrec, rrec,
        CASE WHEN log_odds > 60 THEN 1e0 WHEN log_odds < -60 THEN 0e0
            ELSE pow(2e0, log_odds) / (1e0 + pow(2e0, log_odds)) END AS probability
    FROM ranked WHERE rank_l <= {LINK_TOP}
)
SELECT lrec, rrec, probability FROM probabilities WHERE probability >= {_num(threshold)}"""


TF_SQL = """
SELECT f.*, tg.tf AS tf_given, tfam.tf AS tf_family
FROM {features} f
LEFT JOIN (
    SELECT given AS v, count(*) / (SELECT CAST(count(given) AS DOUBLE) FROM {legal}) AS tf
    FROM {legal} WHERE given IS NOT NULL GROUP BY given
) tg ON tg.v = f.given
LEFT JOIN (
    SELECT family AS v, count(*) / (SELECT CAST(count(family) AS DOUBLE) FROM {legal}) AS tf
    FROM {legal} WHERE family IS NOT NULL GROUP BY family
) tfam ON tfam.v = f.family"""


def tf_sql(features: str, legal: str) -> str:
    """The right side's features with the term frequencies of their exact names among the
    legal names of the right file (as the index counts them)."""
    return TF_SQL.format(features=features, legal=legal)


# --- reading files ----------------------------------------------------------------------


def read_raw(con: Any, path: Path) -> Any:
    """A linkage file as an Arrow table of strings (``COLUMNS`` present in the file, ``rec``
    numbering the rows), read by DuckDB; blank or repeated ids are refused with the line."""
    if not path.exists():
        raise FileError(f"{path}: no such file")
    text = str(path).replace("'", "''")
    if path.suffix.lower() == ".parquet":
        source = f"read_parquet('{text}')"
    else:
        source = f"read_csv('{text}', all_varchar = true, header = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    except Exception as exc:  # DuckDB's own message says what is wrong with the file
        raise FileError(f"{path}: {exc}") from exc
    types = {row[0]: str(row[1]).upper() for row in described}
    if "id" not in types:
        raise FileError(f"{path}: there is no id column (columns: {', '.join(types)})")
    selects = []
    for column in COLUMNS:
        if column not in types:
            continue
        quoted = f'"{column}"'
        if types[column].startswith(("DATE", "TIMESTAMP")):
            selects.append(f"CAST(CAST({quoted} AS DATE) AS STRING) AS {quoted}")
        else:
            selects.append(f"CAST({quoted} AS STRING) AS {quoted}")
    table = con.sql(f"SELECT {', '.join(selects)} FROM {source}").to_arrow_table()
    pa, pc = _pa(), _pc()
    ids = pc.utf8_trim_whitespace(pc.fill_null(table.column("id"), ""))
    blank = pc.indices_nonzero(pc.equal(ids, "")).to_pylist()
    if blank:
        raise FileError(f"{path}: line {blank[0] + 2}: the id is blank")
    if pc.count_distinct(ids).as_py() != table.num_rows:
        seen: set[str] = set()
        for line, ident in enumerate(ids.to_pylist(), start=2):
            if ident in seen:
                raise FileError(f"{path}: line {line}: the id {ident} appears twice")
            seen.add(ident)
    table = table.set_column(table.column_names.index("id"), "id", ids)
    return table.append_column("rec", pa.array(range(table.num_rows), type=pa.int32()))


# --- the engines ------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    pairs: list[tuple[str, str, float]]
    candidates: int


def _sorted_pairs(
    rows: Sequence[tuple[str, str, float]], dedupe: bool
) -> list[tuple[str, str, float]]:
    best: dict[tuple[str, str], float] = {}
    for a, b, p in rows:
        key = (a, b) if not dedupe or a < b else (b, a)
        if p > best.get(key, -1.0):
            best[key] = p
    return sorted(((a, b, p) for (a, b), p in best.items()), key=lambda t: (-t[2], t[0], t[1]))


class _Engine:
    """What the staged run needs of an engine: make a table from a query, count it, drop
    it, fetch rows."""

    dialect: Dialect

    def table(self, name: str, sql: str) -> None:
        raise NotImplementedError

    def arrow(self, name: str, table: Any) -> None:
        raise NotImplementedError

    def view(self, name: str, sql: str) -> None:
        raise NotImplementedError

    def unregister(self, name: str) -> None:
        raise NotImplementedError

    def count(self, name: str) -> int:
        raise NotImplementedError

    def drop(self, name: str) -> None:
        raise NotImplementedError

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError


class _DuckDB(_Engine):
    dialect = DUCKDB

    def __init__(self, con: Any) -> None:
        self.con = con

    def table(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")

    def arrow(self, name: str, table: Any) -> None:
        self.con.register(name, table)

    def view(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {sql}")

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def count(self, name: str) -> int:
        return int(self.con.execute(f"SELECT count(*) FROM {name}").fetchone()[0])

    def drop(self, name: str) -> None:
        self.con.execute(f"DROP TABLE IF EXISTS {name}")

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.con.execute(sql).fetchall()]


def run_staged(
    engine: _Engine,
    raw_l: Any,
    raw_r: Any,
    *,
    dedupe: bool,
    model: MatchModel,
    threshold: float,
    family_rules: bool,
    progress: Callable[[str], None] | None = None,
) -> BulkResult:
    """Features, keys, then the three stages of blocking and scoring, then the best
    candidates of each left record: the same statements on every engine."""
    d = engine.dialect
    memo: Memo = {}
    lfeat = features_table(raw_l, query_side=True, memo=memo)
    if dedupe:  # the right side is the left's own rows, without the swapped readings
        rfeat = lfeat.filter(_pc().invert(lfeat.column("swapped")))
    else:
        rfeat = features_table(raw_r, query_side=False, memo=memo)
    del memo
    engine.arrow("lfeat_raw", lfeat)
    engine.arrow("rfeat_raw", rfeat)
    engine.arrow("l_ids", raw_l.select(["rec", "id"]))
    engine.arrow("r_ids", raw_r.select(["rec", "id"]))
    engine.view("lrecs", "SELECT rec AS lrec FROM l_ids")
    engine.view("lfeat_k", key_lists_sql(d, "lfeat_raw"))
    engine.view("rfeat_k", key_lists_sql(d, "rfeat_raw"))
    engine.table("lkeys", query_keys_sql(d, "lfeat_k"))
    engine.table("rblocks", blocks_sql(filed_keys_sql(d, "rfeat_k")))
    engine.table("rpcd", filed_keys_sql(d, "rfeat_k", FILED_PCD_KEYS))
    # The key lists are not needed any more: score from the features alone.
    keep = [c for c in lfeat.column_names if c not in KEY_LIST_COLUMNS]
    engine.unregister("lfeat_raw")
    engine.arrow("lfeat", lfeat.select(keep))
    del lfeat
    engine.unregister("rfeat_raw")
    engine.arrow("rfeat_raw", rfeat.select(keep))
    del rfeat
    engine.view("rlegal", f"SELECT given, family FROM rfeat_raw WHERE row < {raw_r.num_rows}")
    engine.view("rfeat", tf_sql("rfeat_raw", "rlegal"))
    prior = 1.0 / max(raw_r.num_rows, 1)
    candidates = 0
    open_table: str | None = None
    scored: list[str] = []
    for stage in STAGES:
        if open_table is not None and engine.count(open_table) == 0:
            break
        blocks = "rblocks"
        if stage in PCD_STAGES:
            engine.table(f"rpcd{stage}", pcd_blocks_sql(stage, open_table))
            blocks = f"(SELECT * FROM rblocks UNION ALL SELECT * FROM rpcd{stage})"
        engine.table(f"cand{stage}", candidates_sql(stage, dedupe, open_table, blocks))
        pairs = engine.count(f"cand{stage}")
        candidates += pairs
        if progress is not None:
            still = raw_l.num_rows if open_table is None else engine.count(open_table)
            progress(f"stage {stage}: {still:,} records looked up, {pairs:,} row pairs scored")
        engine.table(
            f"scored{stage}",
            scores_sql(model, family_rules=family_rules, candidates=f"cand{stage}"),
        )
        engine.drop(f"cand{stage}")
        scored.append(f"scored{stage}")
        # Linking two files, a record with a confident match is done; finding the
        # duplicates within one, it goes on to every stage (a child can be in a file
        # three times, and each record is to find both others).
        if stage != STAGES[-1] and not dedupe:
            union = " UNION ALL ".join(f"SELECT * FROM {t}" for t in scored)
            engine.table(f"open{stage}", open_sql(f"({union}) u", prior, open_table))
            open_table = f"open{stage}"
    union = " UNION ALL ".join(f"SELECT * FROM {t}" for t in scored)
    final = final_sql(f"({union}) u", prior, threshold)
    rows = engine.rows(
        f"SELECT li.id, ri.id, s.probability FROM ({final}) s "
        "JOIN l_ids li ON li.rec = s.lrec JOIN r_ids ri ON ri.rec = s.rrec"
    )
    return BulkResult(_sorted_pairs(rows, dedupe), candidates)


def link_duckdb(
    left: Path,
    right: Path | None,
    *,
    model: MatchModel,
    threshold: float,
    family_rules: bool,
    threads: int = 2,
    memory_limit: str = MEMORY_LIMIT,
    progress: Callable[[str], None] | None = None,
) -> BulkResult:
    """Link ``left`` with ``right`` (or find the duplicates within ``left``) on DuckDB, with
    ``threads`` threads and at most ``memory_limit`` of memory (beyond it DuckDB spills to
    a temporary directory, removed afterwards)."""
    import tempfile

    import duckdb

    spill = tempfile.TemporaryDirectory(prefix="cmetrack-link-")
    con = duckdb.connect(
        config={
            "threads": threads,
            "memory_limit": memory_limit,
            "temp_directory": spill.name,
        }
    )
    try:
        con.execute("SET preserve_insertion_order = false")
        raw_l = read_raw(con, left)
        raw_r = raw_l if right is None else read_raw(con, right)
        return run_staged(
            _DuckDB(con),
            raw_l,
            raw_r,
            dedupe=right is None,
            model=model,
            threshold=threshold,
            family_rules=family_rules,
            progress=progress,
        )
    finally:
        con.close()
        spill.cleanup()


# --- Spark ------------------------------------------------------------------------------


def _hamming(a: str | None, b: str | None) -> int | None:
    """DuckDB's ``hamming`` for Spark (which has none): differing positions of two strings
    of equal length."""
    if a is None or b is None or len(a) != len(b):
        return None
    return sum(x != y for x, y in zip(a, b, strict=True))


def _jaro_winkler(a: str | None, b: str | None) -> float | None:

    return None if a is None or b is None else jaro_winkler(a, b)


def _damerau_levenshtein(a: str | None, b: str | None) -> int | None:
    """DuckDB's ``damerau_levenshtein`` for Spark (whose ``levenshtein`` does not count a
    swap of two neighbouring letters as one edit): optimal string alignment distance, the
    same as DuckDB's at the distance the comparisons use (at most one)."""
    if a is None or b is None:
        return None
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def local_spark_session(cores: int = 2) -> Any:
    """A small local Spark session: no UI, few shuffle partitions, nothing downloaded; its
    Python workers (for the UDFs) run this interpreter."""
    import os
    import sys

    from pyspark.sql import SparkSession

    # The workers must import this package: the interpreter running it, not "python3".
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .config("spark.pyspark.python", sys.executable)
        .config("spark.pyspark.driver.python", sys.executable)
        .appName("cmetrack-matching")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(cores))
        .config("spark.default.parallelism", str(cores))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


class _Spark(_Engine):
    """The staged run on a Spark session. DuckDB's ``jaro_winkler_similarity``,
    ``hamming`` and ``damerau_levenshtein`` are registered as Python UDFs equal to them
    (prefixed ``cmetrack_``, see :data:`SPARK`; ``normalise.jaro_winkler`` for the first),
    so levels are the same on both engines; on a cluster Splink's Scala UDF jar is the
    faster alternative for the first."""

    dialect = SPARK

    def __init__(self, spark: Any) -> None:
        self.spark = spark
        # Spark 4's constraint propagation fails on a UNION of checkpointed tables (the
        # scored stages); it only serves optimisations these statements do not need.
        spark.conf.set("spark.sql.constraintPropagation.enabled", "false")
        spark.udf.register("cmetrack_jaro_winkler", _jaro_winkler, "double")
        spark.udf.register("cmetrack_hamming", _hamming, "int")
        spark.udf.register("cmetrack_damerau_levenshtein", _damerau_levenshtein, "int")

    def arrow(self, name: str, table: Any) -> None:
        # One chunk: handed a table of several record batches, this Spark kept only rows
        # of some of them (the swapped readings went missing).
        frame = self.spark.createDataFrame(table.combine_chunks())
        frame.createOrReplaceTempView(name)

    def view(self, name: str, sql: str) -> None:
        self.spark.sql(self.dialect(sql)).createOrReplaceTempView(name)

    def table(self, name: str, sql: str) -> None:
        frame = self.spark.sql(self.dialect(sql)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)

    def count(self, name: str) -> int:
        return int(self.spark.table(name).count())

    def drop(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.spark.sql(self.dialect(sql)).collect()]


def link_spark(
    left: Path,
    right: Path | None,
    *,
    model: MatchModel,
    threshold: float,
    family_rules: bool,
    threads: int = 2,
    session: Any = None,
    progress: Callable[[str], None] | None = None,
) -> BulkResult:
    """The same run with blocking and scoring on Spark (``session``, or a local one with
    ``threads`` cores). The files are read and their features worked out as for DuckDB;
    at national scale that step is :func:`features_table` per partition of records."""
    import duckdb

    con = duckdb.connect()
    try:
        raw_l = read_raw(con, left)
        raw_r = raw_l if right is None else read_raw(con, right)
    finally:
        con.close()
    spark = session or local_spark_session(threads)
    return run_staged(
        _Spark(spark),
        raw_l,
        raw_r,
        dedupe=right is None,
        model=model,
        threshold=threshold,
        family_rules=family_rules,
        progress=progress,
    )
