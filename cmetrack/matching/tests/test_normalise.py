"""Normalisation, phonetic keys, variant tables, Jaro-Winkler and date and postcode parts:
pure functions, table-driven."""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import pytest

from cmetrack.matching.normalise import (
    DATA_DIR,
    address_parts,
    are_variants,
    dob_one_digit_apart,
    dob_parts,
    dob_typing_variants,
    jaro_winkler,
    name_parts,
    name_variants,
    normalise_name,
    phonetic_key,
    postcode_parts,
    split_list,
    squash,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Smith", "smith"),
        ("  O'Brien-Smyth ", "obrien smyth"),
        ("Zoë", "zoe"),
        ("JOSÉ", "jose"),
        ("Łukasz", "lukasz"),
        ("Müller", "muller"),
        ("Straße", "strasse"),
        ("Anne-Marie  Claire", "anne marie claire"),
        ("Mr. John Smith Jr", "john smith"),
        ("", ""),
        (None, ""),
    ],
)
def test_normalise_name(raw, expected):
    assert normalise_name(raw) == expected


def test_parts_and_squash_see_through_hyphens_and_spaces():
    assert name_parts("Smith-Jones") == ("smith", "jones")
    assert squash("Smith-Jones") == squash("Smith Jones") == squash("SMITHJONES") == "smithjones"


@pytest.mark.parametrize(
    "names",
    [
        ("Mohammed", "Muhammad", "Mohamed", "Mohamad", "Mohammad"),
        ("Aleksandr", "Alexander", "Oleksandr", "Aleksander"),
        ("Yusuf", "Yousef", "Joseph", "Yosef"),
        ("Catherine", "Kathryn", "Katherine"),
        ("Stephen", "Steven"),
        ("Smith", "Smyth"),
        ("Ahmed", "Ahmad"),
        ("Philip", "Filip"),
        ("Nowak", "Novak"),
    ],
)
def test_phonetic_key_is_shared_by_spellings_of_one_name(names):
    assert len({phonetic_key(n) for n in names}) == 1, {n: phonetic_key(n) for n in names}


@pytest.mark.parametrize(
    ("a", "b"),
    [("Smith", "Jones"), ("Jack", "Oliver"), ("Amelia", "Sophie"), ("Harry", "Henry")],
)
def test_phonetic_key_keeps_different_names_apart(a, b):
    # Names differing only in vowels (Amelia, Amelie; Jack, Jake) share a key by design:
    # the given-name comparison and the twin rule, not the key, tell such twins apart.
    assert phonetic_key(a) != phonetic_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("bob", "robert"),
        ("sasha", "alexandra"),
        ("sasha", "alexander"),
        ("bill", "william"),
        ("peggy", "margaret"),
        ("liz", "elizabeth"),
        ("mohammed", "muhammad"),
        ("mohamed", "mohamad"),
        ("aleksandr", "alexander"),
        ("oleksandr", "alexander"),
        ("yusuf", "yousef"),
        ("yusuf", "joseph"),
        ("dmytro", "dmitri"),
        ("fatima", "fatma"),
    ],
)
def test_variant_tables_know_nicknames_and_transliterations(a, b):
    assert are_variants(a, b)
    assert b in name_variants(a)


@pytest.mark.parametrize(("a", "b"), [("bob", "william"), ("jack", "oliver"), ("amelia", "amy2")])
def test_variant_tables_do_not_join_unrelated_names(a, b):
    assert not are_variants(a, b)


@pytest.mark.parametrize("filename", ["nicknames.csv", "transliterations.csv"])
def test_shipped_tables_are_well_formed(filename):
    lines = [
        line
        for line in (DATA_DIR / filename).read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) > 50
    for line in lines:
        names = [n.strip() for n in line.split(",")]
        assert len(names) >= 2, line
        assert all(n == n.lower() and n for n in names), line


def test_jaro_winkler_agrees_with_duckdb():
    rng = random.Random(7)
    words = ["martha", "marhta", "jonathan", "jonthan", "dixon", "dicksonx", "mohammed"]
    pairs = [(a, b) for a in words for b in words]
    for _ in range(500):
        a = "".join(rng.choices("abcdeh", k=rng.randint(1, 9)))
        b = "".join(rng.choices("abcdeh", k=rng.randint(0, 9)))
        pairs.append((a, b))
    con = duckdb.connect()
    rows = con.execute(
        "SELECT a, b, jaro_winkler_similarity(a, b) FROM (SELECT unnest(?) a, unnest(?) b)",
        [[a for a, _ in pairs], [b for _, b in pairs]],
    ).fetchall()
    for a, b, expected in rows:
        assert jaro_winkler(a, b) == pytest.approx(expected, abs=1e-12), (a, b)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (dt.date(2015, 3, 14), (2015, 3, 14)),
        ("2015-03-14", (2015, 3, 14)),
        ("14/03/2015", (2015, 3, 14)),
        ("20150314", (2015, 3, 14)),
        ("03/2015", (2015, 3, 0)),
        ("2015-03", (2015, 3, 0)),
        ("2015", (2015, 0, 0)),
        ("", (0, 0, 0)),
        (None, (0, 0, 0)),
        ("19561304", (1956, 13, 4)),  # kept as typed: one digit from a real date
    ],
)
def test_dob_parts(raw, expected):
    assert dob_parts(raw) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ((2015, 3, 14), (2015, 3, 15), True),
        ((2015, 3, 14), (2016, 3, 14), True),
        ((2015, 3, 14), (2015, 8, 14), True),
        ((2015, 3, 19), (2015, 3, 20), False),  # two digits
        ((2015, 3, 14), (2015, 3, 14), False),
        ((2015, 3, 0), (2015, 3, 1), False),  # partial dates are not compared digit by digit
    ],
)
def test_dob_one_digit_apart(a, b, expected):
    assert dob_one_digit_apart(a, b) is expected


def test_dob_typing_variants_cover_swap_year_and_one_digit():
    variants = set(dob_typing_variants((2015, 3, 14)))
    assert (2015, 14, 3) not in variants  # not a real date
    assert (2014, 3, 14) in variants
    assert (2016, 3, 14) in variants
    assert (2015, 3, 15) in variants
    assert (2015, 3, 14) not in variants
    assert (2015, 4, 3) in set(dob_typing_variants((2015, 3, 4)))
    assert dob_typing_variants((2015, 3, 0)) == ()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ex1 2ab", ("EX12AB", "EX1 2", "EX1")),
        ("SW1A 1AA", ("SW1A1AA", "SW1A 1", "SW1A")),
        ("M1 1AE", ("M11AE", "M1 1", "M1")),
        ("2615", ("2615", "", "")),
        ("", ("", "", "")),
    ],
)
def test_postcode_parts(raw, expected):
    assert postcode_parts(raw) == expected


def test_address_parts_drop_punctuation_and_postcode():
    assert address_parts("12 High St., Exeter EX1 2AB") == ("12", "high", "st", "exeter")


def test_split_list():
    assert split_list(" Jane Smith ; ;John Smith") == ("Jane Smith", "John Smith")
    assert split_list(None) == ()
