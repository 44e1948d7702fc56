"""The comparisons of the model: for each field, ordered levels from "agrees exactly" to
"disagrees", each written twice, as SQL (for Splink's training and for bulk linkage in
DuckDB) and as Python (for the interactive scorer), with the words an officer reads.

The two forms are tested against each other on generated pairs (tests/test_compare.py),
so the weights Splink trains on the SQL levels mean the same in the Python scorer.
A pair falls in the first level whose condition holds; the first level of each comparison
is its "null" level (a field missing on either side says nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .features import Features
from .normalise import dob_one_digit_apart, jaro_winkler, within_one_edit

#: Names shorter than this are never "one typed letter" apart (Al and Ed are not a typo).
EDIT_MIN_LENGTH = 3

Test = Callable[[Features, Features], bool]

#: Jaro-Winkler similarity above which two names count as a likely typing error.
JW_THRESHOLD = 0.9


@dataclass(frozen=True)
class Level:
    key: str
    sql: str
    test: Test
    explanation: str  # what an officer reads, with {field} for the comparison's label
    is_null: bool = False
    tf_column: str = ""


@dataclass(frozen=True)
class Comparison:
    name: str  # Splink's output_column_name
    label: str  # "given name"
    levels: tuple[Level, ...]

    def level_of(self, a: Features, b: Features) -> int:
        """Index of the first level that holds (the last level always holds)."""
        for i, level in enumerate(self.levels):
            if level.test(a, b):
                return i
        return len(self.levels) - 1

    def splink_dict(self) -> dict[str, Any]:
        levels: list[dict[str, Any]] = []
        for level in self.levels:
            entry: dict[str, Any] = {
                "sql_condition": level.sql,
                "label_for_charts": level.key,
            }
            if level.is_null:
                entry["is_null_level"] = True
            if level.tf_column:
                entry["tf_adjustment_column"] = level.tf_column
                entry["tf_adjustment_weight"] = 1.0
            levels.append(entry)
        return {"output_column_name": self.name, "comparison_levels": levels}


def _always(_a: Features, _b: Features) -> bool:
    return True


# --- given name -------------------------------------------------------------------------


def _given_null(a: Features, b: Features) -> bool:
    return a.given is None or b.given is None


def _squashed(f: Features) -> str:
    """All given names run together (the first name when a caller built the name without)."""
    assert f.given is not None
    return f.given.squashed or f.given.first


def _given_exact(a: Features, b: Features) -> bool:
    assert a.given is not None
    assert b.given is not None
    return a.given.first == b.given.first or _squashed(a) == _squashed(b)


def _given_variant(a: Features, b: Features) -> bool:
    assert a.given is not None
    assert b.given is not None
    return bool(a.given.groups & b.given.groups)


def _given_phonetic(a: Features, b: Features) -> bool:
    assert a.given is not None
    assert b.given is not None
    return a.given.phonetic == b.given.phonetic


def one_typed_letter(a: str, b: str) -> bool:
    """Two names (each at least :data:`EDIT_MIN_LENGTH` letters) one typing error apart:
    a letter changed, added or left out, or two neighbours swapped ("adina", "auina")."""
    return len(a) >= EDIT_MIN_LENGTH and len(b) >= EDIT_MIN_LENGTH and within_one_edit(a, b)


def _given_jw(a: Features, b: Features) -> bool:
    assert a.given is not None
    assert b.given is not None
    return (
        jaro_winkler(a.given.first, b.given.first) >= JW_THRESHOLD
        or jaro_winkler(_squashed(a), _squashed(b)) >= JW_THRESHOLD
        or one_typed_letter(a.given.first, b.given.first)
    )


#: SQL for :func:`one_typed_letter` (DuckDB's damerau_levenshtein is slow over millions of
#: pairs, so it only decides between two names of one length Levenshtein puts two apart).
def _one_edit_sql(a: str, b: str) -> str:
    return (
        f"(length({a}) >= {EDIT_MIN_LENGTH} AND length({b}) >= {EDIT_MIN_LENGTH} AND "
        f"CASE WHEN levenshtein({a}, {b}) <= 1 THEN true "
        f"WHEN length({a}) <> length({b}) OR levenshtein({a}, {b}) <> 2 THEN false "
        f"ELSE damerau_levenshtein({a}, {b}) = 1 END)"
    )


def _given_other(a: Features, b: Features) -> bool:
    assert a.given is not None
    assert b.given is not None
    return a.given.first in b.given.others or b.given.first in a.given.others


GIVEN = Comparison(
    "given_name",
    "given name",
    (
        Level("null", "given_l IS NULL OR given_r IS NULL", _given_null, "", is_null=True),
        Level(
            "exact",
            "given_l = given_r OR given_sq_l = given_sq_r",
            _given_exact,
            "given name matches",
            tf_column="given",
        ),
        Level(
            "variant",
            "list_has_any(given_groups_l, given_groups_r)",
            _given_variant,
            "given name is a known nickname or other spelling",
        ),
        Level(
            "phonetic",
            "given_ph_l = given_ph_r",
            _given_phonetic,
            "given name sounds the same",
        ),
        Level(
            "typo",
            f"jaro_winkler_similarity(given_l, given_r) >= {JW_THRESHOLD} OR "
            f"jaro_winkler_similarity(given_sq_l, given_sq_r) >= {JW_THRESHOLD} OR "
            + _one_edit_sql("given_l", "given_r"),
            _given_jw,
            "given name differs by a typing error",
        ),
        Level(
            "other_given",
            "list_contains(given_others_r, given_l) OR list_contains(given_others_l, given_r)",
            _given_other,
            "given name matches a middle or second given name",
        ),
        Level("else", "ELSE", _always, "given name differs"),
    ),
)


# --- family name ------------------------------------------------------------------------


def _family_null(a: Features, b: Features) -> bool:
    return a.family is None or b.family is None


def _family_exact(a: Features, b: Features) -> bool:
    assert a.family is not None
    assert b.family is not None
    return a.family.full == b.family.full


def _family_part(a: Features, b: Features) -> bool:
    assert a.family is not None
    assert b.family is not None
    return bool(a.family.parts & b.family.parts)


def _family_phonetic(a: Features, b: Features) -> bool:
    assert a.family is not None
    assert b.family is not None
    return a.family.phonetic == b.family.phonetic or bool(
        a.family.part_phonetics & b.family.part_phonetics
    )


def _family_jw(a: Features, b: Features) -> bool:
    assert a.family is not None
    assert b.family is not None
    return jaro_winkler(a.family.full, b.family.full) >= JW_THRESHOLD


FAMILY = Comparison(
    "family_name",
    "surname",
    (
        Level("null", "family_l IS NULL OR family_r IS NULL", _family_null, "", is_null=True),
        Level("exact", "family_l = family_r", _family_exact, "surname matches", tf_column="family"),
        Level(
            "part",
            "list_has_any(family_parts_l, family_parts_r)",
            _family_part,
            "one part of a double or hyphenated surname matches",
        ),
        Level(
            "phonetic",
            "family_ph_l = family_ph_r OR list_has_any(family_part_ph_l, family_part_ph_r)",
            _family_phonetic,
            "surname matches an alternative spelling",
        ),
        Level(
            "typo",
            f"jaro_winkler_similarity(family_l, family_r) >= {JW_THRESHOLD}",
            _family_jw,
            "surname differs by a typing error",
        ),
        Level("else", "ELSE", _always, "surname differs"),
    ),
)


# --- date of birth ----------------------------------------------------------------------


def _dob_null(a: Features, b: Features) -> bool:
    return not a.dob[0] or not b.dob[0]


def _dob_exact(a: Features, b: Features) -> bool:
    return a.dob == b.dob and a.dob[1] > 0 and a.dob[2] > 0


def _dob_swapped(a: Features, b: Features) -> bool:
    (ay, am, ad), (by, bm, bd) = a.dob, b.dob
    return ay == by and ad == bm and am == bd and am != ad and am > 0 and ad > 0


def _dob_year_off(a: Features, b: Features) -> bool:
    (ay, am, ad), (by, bm, bd) = a.dob, b.dob
    return am == bm and ad == bd and am > 0 and ad > 0 and abs(ay - by) == 1


def _dob_one_digit(a: Features, b: Features) -> bool:
    return dob_one_digit_apart(a.dob, b.dob)


def _dob_year_month(a: Features, b: Features) -> bool:
    return a.dob[0] == b.dob[0] and a.dob[1] == b.dob[1] and a.dob[1] > 0


def _dob_year(a: Features, b: Features) -> bool:
    return a.dob[0] == b.dob[0]


DOB = Comparison(
    "dob",
    "date of birth",
    (
        Level("null", "dob_y_l IS NULL OR dob_y_r IS NULL", _dob_null, "", is_null=True),
        Level(
            "exact",
            "dob_s_l = dob_s_r",
            _dob_exact,
            "date of birth matches",
        ),
        Level(
            "swapped",
            "dob_y_l = dob_y_r AND dob_d_l = dob_m_r AND dob_m_l = dob_d_r AND dob_m_l <> dob_d_l",
            _dob_swapped,
            "date of birth matches with day and month swapped",
        ),
        Level(
            "year_off",
            "dob_m_l = dob_m_r AND dob_d_l = dob_d_r AND abs(dob_y_l - dob_y_r) = 1",
            _dob_year_off,
            "date of birth matches but the year is one out",
        ),
        Level(
            "one_digit",
            "hamming(dob_s_l, dob_s_r) = 1",
            _dob_one_digit,
            "date of birth differs in one digit",
        ),
        Level(
            "year_month",
            "dob_y_l = dob_y_r AND dob_m_l = dob_m_r",
            _dob_year_month,
            "year and month of birth match",
        ),
        Level("year", "dob_y_l = dob_y_r", _dob_year, "year of birth matches"),
        Level("else", "ELSE", _always, "date of birth differs"),
    ),
)


# --- sex, postcode, address, UPN, parents -----------------------------------------------


def _sex_null(a: Features, b: Features) -> bool:
    return not a.sex or not b.sex


def _sex_exact(a: Features, b: Features) -> bool:
    return a.sex == b.sex


SEX = Comparison(
    "sex",
    "sex",
    (
        Level("null", "sex_l IS NULL OR sex_r IS NULL", _sex_null, "", is_null=True),
        Level("exact", "sex_l = sex_r", _sex_exact, "sex matches"),
        Level("else", "ELSE", _always, "sex differs"),
    ),
)


def _pc_null(a: Features, b: Features) -> bool:
    return a.postcode is None or b.postcode is None


def _pc_exact(a: Features, b: Features) -> bool:
    assert a.postcode is not None
    assert b.postcode is not None
    return a.postcode.full == b.postcode.full


def _pc_one_edit(a: Features, b: Features) -> bool:
    assert a.postcode is not None
    assert b.postcode is not None
    return within_one_edit(a.postcode.full, b.postcode.full)


def _pc_sector(a: Features, b: Features) -> bool:
    assert a.postcode is not None
    assert b.postcode is not None
    return bool(a.postcode.sector) and a.postcode.sector == b.postcode.sector


def _pc_district(a: Features, b: Features) -> bool:
    assert a.postcode is not None
    assert b.postcode is not None
    return bool(a.postcode.district) and a.postcode.district == b.postcode.district


POSTCODE = Comparison(
    "postcode",
    "postcode",
    (
        Level("null", "pc_l IS NULL OR pc_r IS NULL", _pc_null, "", is_null=True),
        Level("exact", "pc_l = pc_r", _pc_exact, "postcode matches"),
        Level(
            "one_edit",
            # Damerau-Levenshtein distance at most 1. DuckDB's damerau_levenshtein is slow
            # over millions of pairs, so it only decides between two postcodes of one
            # length that Levenshtein puts two apart (a swap, or two letters changed).
            "CASE WHEN levenshtein(pc_l, pc_r) <= 1 THEN true "
            "WHEN length(pc_l) <> length(pc_r) OR levenshtein(pc_l, pc_r) <> 2 THEN false "
            "ELSE damerau_levenshtein(pc_l, pc_r) = 1 END",
            _pc_one_edit,
            "postcode differs by a typing error",
        ),
        Level("sector", "pc_sector_l = pc_sector_r", _pc_sector, "postcode is in the same sector"),
        Level(
            "district",
            "pc_district_l = pc_district_r",
            _pc_district,
            "postcode is in the same district",
        ),
        Level("else", "ELSE", _always, "postcode differs"),
    ),
)


#: How many words two addresses share, in SQL. Two levels read it; bulk linkage works it
#: out once per pair (``bulk_sql.scores_sql``): over millions of pairs it is the dearest
#: part of the address comparison.
ADDRESS_SHARED = "len(list_intersect(addr_parts_l, addr_parts_r))"


def _addr_null(a: Features, b: Features) -> bool:
    return a.address is None or b.address is None


def _addr_exact(a: Features, b: Features) -> bool:
    assert a.address is not None
    assert b.address is not None
    return a.address.text == b.address.text


def _addr_one_word(a: Features, b: Features) -> bool:
    assert a.address is not None
    assert b.address is not None
    shared = len(a.address.parts & b.address.parts)
    return shared >= 2 and len(a.address.parts) - shared <= 1 and len(b.address.parts) - shared <= 1


def _addr_partial(a: Features, b: Features) -> bool:
    assert a.address is not None
    assert b.address is not None
    return len(a.address.parts & b.address.parts) >= 2


ADDRESS = Comparison(
    "address",
    "address",
    (
        Level("null", "addr_l IS NULL OR addr_r IS NULL", _addr_null, "", is_null=True),
        Level("exact", "addr_l = addr_r", _addr_exact, "address matches"),
        Level(
            "one_word",
            f"{ADDRESS_SHARED} >= greatest(len(addr_parts_l), len(addr_parts_r), 3) - 1",
            _addr_one_word,
            "address matches but for one word",
        ),
        Level(
            "partial",
            f"{ADDRESS_SHARED} >= 2",
            _addr_partial,
            "address partly matches",
        ),
        Level("else", "ELSE", _always, "address differs"),
    ),
)


def _upn_null(a: Features, b: Features) -> bool:
    return not a.upns or not b.upns


def _upn_exact(a: Features, b: Features) -> bool:
    return bool(a.upns & b.upns)


UPN = Comparison(
    "upn",
    "UPN",
    (
        Level("null", "upns_l IS NULL OR upns_r IS NULL", _upn_null, "", is_null=True),
        Level("exact", "list_has_any(upns_l, upns_r)", _upn_exact, "UPN or former UPN matches"),
        Level("else", "ELSE", _always, "UPN differs"),
    ),
)


def _parents_null(a: Features, b: Features) -> bool:
    return a.parents is None or b.parents is None


def _parents_full(a: Features, b: Features) -> bool:
    assert a.parents is not None
    assert b.parents is not None
    return bool(a.parents.full & b.parents.full)


def _parents_part(a: Features, b: Features) -> bool:
    assert a.parents is not None
    assert b.parents is not None
    return bool(a.parents.parts & b.parents.parts)


PARENTS = Comparison(
    "parents",
    "parent or carer",
    (
        Level("null", "parent_full_l IS NULL OR parent_full_r IS NULL", _parents_null, "", True),
        Level(
            "full",
            "list_has_any(parent_full_l, parent_full_r)",
            _parents_full,
            "a parent or carer's name matches",
        ),
        Level(
            "part",
            "list_has_any(parent_parts_l, parent_parts_r)",
            _parents_part,
            "part of a parent or carer's name matches",
        ),
        Level("else", "ELSE", _always, "parent or carer names differ"),
    ),
)

COMPARISONS: tuple[Comparison, ...] = (GIVEN, FAMILY, DOB, SEX, POSTCODE, ADDRESS, UPN, PARENTS)

#: Fields that describe the household rather than the child: a child's twin or sibling
#: agrees on all of them, so together they count for no more than HOUSEHOLD_CAP bits.
HOUSEHOLD = ("family_name", "postcode", "address", "parents")
HOUSEHOLD_CAP = 14.0
#: When the surname agrees, the given names plainly differ (or differ at all while the sex
#: differs: Adrian and his twin sister Adriana) and the dates of birth are close, the pair
#: looks like two children of one family: the given-name disagreement then counts at
#: least SIBLING_GIVEN_WEIGHT against, and at least TWIN_GIVEN_WEIGHT when the dates of
#: birth are the same (twins). An agreeing valid UPN overrides the rule.
SIBLING_GIVEN_WEIGHT = -12.0
TWIN_GIVEN_WEIGHT = -24.0
#: Reading a record with given and family names swapped costs this many bits.
SWAP_PENALTY = 3.0
TWIN_FAMILY_LEVELS = frozenset({"exact", "part", "phonetic", "typo"})
#: A valid UPN (or former UPN) that agrees makes the pair weigh at least this many bits
#: (a probability above 0.999 even against 10 million records) unless the date of birth
#: and the sex both disagree: a UPN is issued to one child and is typed from a record,
#: not remembered.
UPN_LINK_WEIGHT = 34.0
#: Given-name levels that are not the same name: with the sex disagreeing as well, the
#: pair is a brother and sister (twins when the date of birth is the same).
GIVEN_NOT_SAME = frozenset({"variant", "phonetic", "typo", "other_given", "else"})


def upn_links(levels: dict[str, str], upn_valid: bool) -> bool:
    """Whether an agreeing valid UPN links the pair whatever else differs: unless the
    date of birth and the sex both disagree."""
    return (
        upn_valid
        and levels.get("upn") == "exact"
        and not (levels.get("dob") == "else" and levels.get("sex") == "else")
    )


def given_floor(levels: dict[str, str], upn_valid: bool = False) -> float | None:
    """The most the given-name disagreement may count for, when the pair looks like two
    children of one family: same surname, given names plainly different (or not the same
    and the sex different), dates of birth the same (twins) or close, and no agreeing
    valid UPN (None otherwise; dates far apart already count against)."""
    given = levels.get("given_name")
    sex_differs = levels.get("sex") == "else"
    if not (given == "else" or (sex_differs and given in GIVEN_NOT_SAME)):
        return None
    if levels.get("family_name") not in TWIN_FAMILY_LEVELS:
        return None
    if upn_valid and levels.get("upn") == "exact":
        return None
    dob = levels.get("dob")
    if dob == "exact":
        return TWIN_GIVEN_WEIGHT
    return None if dob in ("else", "null", None) else SIBLING_GIVEN_WEIGHT


def is_twin_pattern(levels: dict[str, str], upn_valid: bool = False) -> bool:
    return given_floor(levels, upn_valid) == TWIN_GIVEN_WEIGHT


# --- the SQL table of features ----------------------------------------------------------

SQL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("given", "VARCHAR"),
    ("given_ph", "VARCHAR"),
    ("given_groups", "INTEGER[]"),
    ("given_others", "VARCHAR[]"),
    ("given_sq", "VARCHAR"),
    ("family", "VARCHAR"),
    ("family_parts", "VARCHAR[]"),
    ("family_ph", "VARCHAR"),
    ("family_part_ph", "VARCHAR[]"),
    ("dob_y", "INTEGER"),
    ("dob_m", "INTEGER"),
    ("dob_d", "INTEGER"),
    ("dob_s", "VARCHAR"),
    ("sex", "VARCHAR"),
    ("pc", "VARCHAR"),
    ("pc_sector", "VARCHAR"),
    ("pc_district", "VARCHAR"),
    ("addr", "VARCHAR"),
    ("addr_parts", "VARCHAR[]"),
    ("upns", "VARCHAR[]"),
    ("upn_valid", "BOOLEAN"),
    ("parent_full", "VARCHAR[]"),
    ("parent_parts", "VARCHAR[]"),
)


def sql_row(f: Features) -> dict[str, Any]:
    """The feature columns of one row for DuckDB (None for missing, as the SQL expects)."""
    g, fam, pc, ad, par = f.given, f.family, f.postcode, f.address, f.parents
    y, m, d = f.dob
    complete = bool(y and m and d)
    return {
        "given": g.first if g else None,
        "given_ph": g.phonetic if g else None,
        "given_groups": sorted(g.groups) if g else None,
        "given_others": sorted(g.others) if g else None,
        "given_sq": (g.squashed or g.first) if g else None,
        "family": fam.full if fam else None,
        "family_parts": sorted(fam.parts) if fam else None,
        "family_ph": fam.phonetic if fam else None,
        "family_part_ph": sorted(fam.part_phonetics) if fam else None,
        "dob_y": y or None,
        "dob_m": m or None,
        "dob_d": d or None,
        "dob_s": f"{y:04d}{m:02d}{d:02d}" if complete else None,
        "sex": f.sex or None,
        "pc": pc.full if pc else None,
        "pc_sector": (pc.sector or None) if pc else None,
        "pc_district": (pc.district or None) if pc else None,
        "addr": ad.text if ad else None,
        "addr_parts": sorted(ad.parts) if ad else None,
        "upns": sorted(f.upns) or None,
        "upn_valid": f.upn_valid,
        "parent_full": sorted(par.full) if par else None,
        "parent_parts": sorted(par.parts) if par else None,
    }
