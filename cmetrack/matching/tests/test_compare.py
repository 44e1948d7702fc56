"""The comparison levels: a table of pairs, and the SQL form (used by Splink and bulk
linkage) agreeing with the Python form (used by the scorer) on generated pairs."""

from __future__ import annotations

import random

import duckdb
import pytest

from cmetrack.matching import synthetic
from cmetrack.matching.compare import COMPARISONS, POSTCODE, SQL_COLUMNS, Comparison, sql_row
from cmetrack.matching.features import PersonRecord, features_of
from cmetrack.matching.normalise import within_one_edit

BASE = PersonRecord(
    given_names="Robert",
    middle_names="James",
    family_name="Smith-Jones",
    dob="2014-03-05",
    sex="M",
    postcode="EX1 2AB",
    address="12 Oak Road, Exampleton",
    parent_names=("Sarah Smith", "David Jones"),
    upns=("A123456789012",),
)


def levels(a: PersonRecord, b: PersonRecord) -> dict[str, str]:
    fa, fb = features_of(a)[0], features_of(b)[0]
    return {c.name: c.levels[c.level_of(fa, fb)].key for c in COMPARISONS}


def changed(**kwargs):
    return PersonRecord(**{**BASE.__dict__, **kwargs})


@pytest.mark.parametrize(
    ("other", "comparison", "level"),
    [
        (changed(), "given_name", "exact"),
        (changed(given_names="Bob"), "given_name", "variant"),
        (changed(given_names="Robery"), "given_name", "typo"),
        (changed(given_names="James"), "given_name", "other_given"),
        (changed(given_names="William"), "given_name", "else"),
        (changed(given_names="Rober T"), "given_name", "exact"),
        (changed(given_names="Ro Bery"), "given_name", "typo"),
        (changed(given_names=""), "given_name", "null"),
        (changed(family_name="smith jones"), "family_name", "exact"),
        (changed(family_name="Jones"), "family_name", "part"),
        (changed(family_name="Jones Smith"), "family_name", "part"),
        (changed(family_name="Smyth-Jonas"), "family_name", "phonetic"),
        (changed(family_name="Brown"), "family_name", "else"),
        (changed(dob="2014-05-03"), "dob", "swapped"),
        (changed(dob="2015-03-05"), "dob", "year_off"),
        (changed(dob="2014-03-06"), "dob", "one_digit"),
        (changed(dob="2014-03"), "dob", "year_month"),
        (changed(dob="2014"), "dob", "year"),
        (changed(dob="2010-11-22"), "dob", "else"),
        (changed(dob=None), "dob", "null"),
        (changed(sex="F"), "sex", "else"),
        (changed(sex="U"), "sex", "null"),
        (changed(postcode="ex12ab"), "postcode", "exact"),
        (changed(postcode="EX1 2BA"), "postcode", "one_edit"),
        (changed(postcode="EX1 3AB"), "postcode", "one_edit"),
        (changed(postcode="EX12 AB"), "postcode", "exact"),
        (changed(postcode="EX1 2A"), "postcode", "one_edit"),
        (changed(postcode="EX1 2ZZ"), "postcode", "sector"),
        (changed(postcode="EX1 7ZZ"), "postcode", "district"),
        (changed(postcode="M1 1AE"), "postcode", "else"),
        (changed(address="12 oak road exampleton"), "address", "exact"),
        (changed(address="14 Oak Road, Exampleton"), "address", "one_word"),
        (changed(address="12 Oak Road, Exampleton Green"), "address", "one_word"),
        (changed(address="14 Oak Road, Otherton"), "address", "partial"),
        (changed(address="14 Elm Road, Otherton"), "address", "else"),
        (changed(upns=("B999",)), "upn", "else"),
        (changed(upns=("B999", "A123456789012")), "upn", "exact"),
        (changed(parent_names=("sarah smith",)), "parents", "full"),
        (changed(parent_names=("Sarah Brown",)), "parents", "part"),
        (changed(parent_names=("Mary Brown",)), "parents", "else"),
    ],
)
def test_level_table(other, comparison, level):
    assert levels(BASE, other)[comparison] == level


def _case_sql(comparison: Comparison) -> str:
    whens = []
    for i, level in enumerate(comparison.levels):
        if level.sql == "ELSE":
            whens.append(f"ELSE {i}")
        else:
            whens.append(f"WHEN {level.sql} THEN {i}")
    return f"CASE {' '.join(whens)} END AS {comparison.name}"


def test_sql_levels_equal_python_levels_on_generated_pairs():
    rng = random.Random(11)
    pupils = synthetic.population(400, seed=3)
    pairs = []
    for p in pupils:
        q, _ = synthetic.with_errors(rng, p, rng.choice((0, 1, 2, 3)))
        pairs.append((p, q))
        pairs.append((p, rng.choice(pupils)))
    rows = []
    expected = []
    for a, b in pairs:
        fa = features_of(synthetic.as_record(a))[0]
        fb = features_of(synthetic.as_record(b, with_upn=rng.random() < 0.5))[0]
        row = {f"{k}_l": v for k, v in sql_row(fa).items()}
        row |= {f"{k}_r": v for k, v in sql_row(fb).items()}
        rows.append(row)
        expected.append(tuple(c.level_of(fa, fb) for c in COMPARISONS))
    con = duckdb.connect()
    columns = ", ".join(f"{n}_{side} {t}" for n, t in SQL_COLUMNS for side in ("l", "r"))
    con.execute(f"CREATE TABLE pairs (i INTEGER, {columns})")
    names = [f"{n}_{side}" for n, _t in SQL_COLUMNS for side in ("l", "r")]
    con.executemany(
        f"INSERT INTO pairs VALUES (?, {', '.join('?' for _ in names)})",  # noqa: S608
        [[i, *(r[n] for n in names)] for i, r in enumerate(rows)],
    )
    cases = ", ".join(_case_sql(c) for c in COMPARISONS)
    got = con.execute(f"SELECT {cases} FROM pairs ORDER BY i").fetchall()  # noqa: S608
    assert [tuple(g) for g in got] == expected


def test_postcode_typing_errors_agree_with_duckdb():
    """ "One typing error apart" in Python is DuckDB's ``damerau_levenshtein(a, b) <= 1``,
    on random short strings and their one- and two-error variants."""
    rng = random.Random(5)
    alphabet = "AB12"
    pairs = []
    for _ in range(5000):
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 7)))
        b = list(a)
        for _error in range(rng.choice((1, 1, 2))):
            kind = rng.randrange(4)
            if kind == 0 and b:
                b[rng.randrange(len(b))] = rng.choice(alphabet)
            elif kind == 1:
                b.insert(rng.randint(0, len(b)), rng.choice(alphabet))
            elif kind == 2 and b:
                del b[rng.randrange(len(b))]
            elif len(b) > 1:
                i = rng.randrange(len(b) - 1)
                b[i], b[i + 1] = b[i + 1], b[i]
        pairs.append((a, "".join(b)))
    level = next(lv for lv in POSTCODE.levels if lv.key == "one_edit")
    got = duckdb.execute(
        f"SELECT {level.sql}, damerau_levenshtein(pc_l, pc_r) <= 1 "  # noqa: S608
        "FROM (SELECT unnest($1) AS pc_l, unnest($2) AS pc_r)",
        [[a for a, _ in pairs], [b for _, b in pairs]],
    ).fetchall()
    python = [within_one_edit(a, b) for a, b in pairs]
    assert python == [g for g, _dl in got]
    assert python == [dl for _g, dl in got]
    assert 0 < sum(python) < len(pairs)


def test_new_levels_sql_equals_python():
    """The postcode and address levels on pairs built to fall in each of them."""
    others = [
        changed(postcode=pc, address=ad)
        for pc in ("EX1 2AB", "EX1 2BA", "EX1 3AB", "EX12A", "EX1 2ZZ", "EX1 7ZZ", "M1 1AE", "")
        for ad in (
            "12 Oak Road, Exampleton",
            "14 Oak Road, Exampleton",
            "12 Oak Road",
            "14 Oak Road, Otherton",
            "1 Elm Close",
            "",
        )
    ]
    con = duckdb.connect()
    columns = ", ".join(f"{n}_{side} {t}" for n, t in SQL_COLUMNS for side in ("l", "r"))
    con.execute(f"CREATE TABLE pairs (i INTEGER, {columns})")
    names = [f"{n}_{side}" for n, _t in SQL_COLUMNS for side in ("l", "r")]
    fa = features_of(BASE)[0]
    expected, rows = [], []
    for i, other in enumerate(others):
        fb = features_of(other)[0]
        row = {f"{k}_l": v for k, v in sql_row(fa).items()}
        row |= {f"{k}_r": v for k, v in sql_row(fb).items()}
        rows.append([i, *(row[n] for n in names)])
        expected.append(tuple(c.level_of(fa, fb) for c in COMPARISONS))
    con.executemany(
        f"INSERT INTO pairs VALUES (?, {', '.join('?' for _ in names)})",  # noqa: S608
        rows,
    )
    cases = ", ".join(_case_sql(c) for c in COMPARISONS)
    got = con.execute(f"SELECT {cases} FROM pairs ORDER BY i").fetchall()  # noqa: S608
    assert [tuple(g) for g in got] == expected
    seen = {
        (c.name, c.levels[x].key) for e in expected for c, x in zip(COMPARISONS, e, strict=True)
    }
    for level in ("exact", "one_edit", "sector", "district", "else", "null"):
        assert ("postcode", level) in seen
    for level in ("exact", "one_word", "partial", "else", "null"):
        assert ("address", level) in seen
