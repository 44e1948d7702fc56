"""The engine without Django: a register of hand-written children among 3,000 synthetic
pupils, searched with each error kind of issue 7 item 2. Twins and siblings stay apart."""

from __future__ import annotations

from typing import Any

import pytest

from cmetrack.matching import synthetic
from cmetrack.matching.features import PersonRecord, features_of
from cmetrack.matching.index import CandidateIndex
from cmetrack.matching.model import default_model

CHILDREN = {
    "robert": PersonRecord(
        given_names="Robert",
        middle_names="James",
        family_name="Smith-Jones",
        dob="2014-03-05",
        sex="M",
        postcode="EX1 2AB",
        address="12 Oak Road, Exampleton",
        parent_names=("Sarah Smith", "David Jones"),
        upns=("A801200001001",),
    ),
    "oliver": PersonRecord(
        given_names="Oliver",
        family_name="Brown",
        dob="2016-07-21",
        sex="M",
        postcode="EX2 4CD",
        address="5 Mill Lane, Exampleton",
        parent_names=("Claire Brown",),
    ),
    "harry": PersonRecord(  # Oliver's twin
        given_names="Harry",
        family_name="Brown",
        dob="2016-07-21",
        sex="M",
        postcode="EX2 4CD",
        address="5 Mill Lane, Exampleton",
        parent_names=("Claire Brown",),
    ),
    "grace": PersonRecord(  # their sister
        given_names="Grace",
        family_name="Brown",
        dob="2012-02-11",
        sex="F",
        postcode="EX2 4CD",
        address="5 Mill Lane, Exampleton",
        parent_names=("Claire Brown",),
    ),
    "lily": PersonRecord(  # a cousin in the same house, born a day after the twins
        given_names="Lily",
        family_name="Brown",
        dob="2016-07-22",
        sex="F",
        postcode="EX2 4CD",
        address="5 Mill Lane, Exampleton",
        parent_names=("Claire Brown",),
    ),
    "mohammed": PersonRecord(
        given_names="Mohammed", family_name="Rahman", dob="2013-10-12", sex="M", postcode="EX4 1AA"
    ),
    "aleksandra": PersonRecord(
        given_names="Aleksandra",
        family_name="Kowalczyk",
        dob="2015-06-08",
        sex="F",
        postcode="EX5 3BB",
    ),
    "aleksandr": PersonRecord(
        given_names="Aleksandr",
        family_name="Petrenko",
        dob="2014-08-23",
        sex="M",
        postcode="EX3 7GG",
    ),
    "yusuf": PersonRecord(
        given_names="Yusuf", family_name="Warsame", dob="2012-09-30", sex="M", postcode="EX6 2CC"
    ),
    "margaret": PersonRecord(
        given_names="Margaret", family_name="Evans", dob="2011-01-17", sex="F", postcode="EX7 9DD"
    ),
    "william": PersonRecord(
        given_names="William", family_name="Taylor", dob="2015-11-02", sex="M", postcode="EX8 1EE"
    ),
    "amelia": PersonRecord(
        given_names="Amelia",
        middle_names="Rose",
        family_name="Wright",
        dob="2016-04-19",
        sex="F",
        postcode="EX9 4FF",
    ),
    "zebedee": PersonRecord(given_names="Jack", family_name="Zebedee", dob="2013-05-05", sex="M"),
    "smith": PersonRecord(given_names="Jack", family_name="Smith", dob="2013-05-05", sex="M"),
}


@pytest.fixture(scope="module")
def index() -> CandidateIndex[str]:
    filler = [(p.id, synthetic.as_record(p)) for p in synthetic.population(3000, seed=21)]
    smiths = [
        (
            f"S{i}",
            PersonRecord(
                given_names=g, family_name="Smith", dob=f"201{i % 9}-0{i % 9 + 1}-1{i % 9}"
            ),
        )
        for i, g in enumerate(["Amy", "Ben", "Cara", "Dan", "Eve", "Finn"] * 10)
    ]
    return CandidateIndex([*CHILDREN.items(), *filler, *smiths], default_model())


def query(base: str = "robert", **changes: object) -> PersonRecord:
    record = CHILDREN[base]
    return PersonRecord(**{**record.__dict__, "upns": (), **changes})


ERROR_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "typo_given": ("robert", {"given_names": "Robrt"}),
    "typo_family": ("robert", {"family_name": "Smith-Jnoes"}),
    "nickname_bob": ("robert", {"given_names": "Bob", "middle_names": ""}),
    "nickname_peggy": ("margaret", {"given_names": "Peggy"}),
    "nickname_sasha": ("aleksandra", {"given_names": "Sasha"}),
    "transliteration_muhammad": ("mohammed", {"given_names": "Muhammad"}),
    "transliteration_mohamed": ("mohammed", {"given_names": "Mohamed"}),
    "transliteration_yousef": ("yusuf", {"given_names": "Yousef"}),
    "transliteration_alexandra": ("aleksandra", {"given_names": "Alexandra"}),
    "transliteration_alexander": ("aleksandr", {"given_names": "Alexander"}),
    "transliteration_oleksandr": ("aleksandr", {"given_names": "Oleksandr"}),
    "typo_and_dob_one_digit": ("william", {"given_names": "Wiliam", "dob": "2015-11-03"}),
    "hyphenated_surname_part": ("robert", {"family_name": "Jones"}),
    "double_surname_added": ("william", {"family_name": "Taylor Hughes"}),
    "reordered_surname": ("robert", {"family_name": "Jones Smith"}),
    "given_family_swapped": ("william", {"given_names": "Taylor", "family_name": "William"}),
    "middle_name_as_given": ("amelia", {"given_names": "Rose", "middle_names": ""}),
    "dob_day_month_swapped": ("robert", {"dob": "2014-05-03"}),
    "dob_one_digit": ("robert", {"dob": "2014-03-06"}),
    "dob_year_off": ("robert", {"dob": "2015-03-05"}),
    "changed_surname": ("robert", {"family_name": "Green"}),
    "moved_address": ("robert", {"postcode": "M1 1AE", "address": "3 New Street, Manchester"}),
    "typo_postcode": ("robert", {"postcode": "EX1 2BA"}),
    "typo_address": ("robert", {"address": "12 Oka Road, Exampleton"}),
    "typo_postcode_and_given": ("william", {"given_names": "Wlliam", "postcode": "EX8 1FE"}),
    "changed_surname_and_moved": ("yusuf", {"family_name": "Hassan", "postcode": ""}),
    "partial_dob": ("amelia", {"dob": "2016-04"}),
    "year_only_and_names": ("margaret", {"dob": "2011"}),
    "upn_only": (
        "robert",
        {"given_names": "", "family_name": "", "dob": None, "upns": ("A801200001001",)},
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_each_error_kind_finds_the_child_first(index, case):
    base, changes = ERROR_CASES[case]
    results = index.search(query(base, **changes))
    assert results, case
    assert results[0].item == base, [(r.item, r.probability) for r in results[:3]]


@pytest.mark.parametrize(
    ("case", "phrase"),
    [
        ("dob_day_month_swapped", "day and month swapped"),
        ("nickname_bob", "nickname or other spelling"),
        ("changed_surname", "surname differs"),
        ("moved_address", "postcode differs"),
        ("typo_postcode", "postcode differs by a typing error"),
        ("typo_address", "address matches but for one word"),
        ("given_family_swapped", "other way round"),
        ("hyphenated_surname_part", "double or hyphenated surname"),
        ("middle_name_as_given", "middle or second given name"),
    ],
)
def test_explanations_say_what_differs(index, case, phrase):
    base, changes = ERROR_CASES[case]
    top = index.search(query(base, **changes))[0]
    assert phrase in top.score.explanation


def test_exact_query_is_a_confident_match(index):
    top = index.search(query("robert"))[0]
    assert top.item == "robert"
    assert top.probability > 0.99


@pytest.mark.parametrize(("twin", "other"), [("oliver", "harry"), ("harry", "oliver")])
def test_twins_are_not_each_other(index, twin, other):
    results = {r.item: r for r in index.search(query(twin), limit=20)}
    assert index.search(query(twin))[0].item == twin
    assert results[twin].probability > 0.99
    assert other not in results or results[other].probability < 0.01
    if other in results:
        assert "different given name" in results[other].score.explanation


def test_siblings_are_not_each_other(index):
    results = {r.item: r for r in index.search(query("grace"), limit=20)}
    assert index.search(query("grace"))[0].item == "grace"
    for brother in ("oliver", "harry"):
        assert brother not in results or results[brother].probability < 0.01


def test_a_child_of_the_same_family_born_a_day_apart_is_not_a_match(index):
    results = {r.item: r for r in index.search(query("lily"), limit=20)}
    assert index.search(query("lily"))[0].item == "lily"
    lily = features_of(query("lily"))[0]
    for other in ("oliver", "harry"):
        assert other not in results or results[other].probability < 0.01
        score = index.scorer.explain(lily, features_of(CHILDREN[other])[0])
        assert score.probability(1 / len(index)) < 0.01
        assert "brother or sister" in score.explanation


def test_a_rare_surname_counts_for_more_than_a_common_one(index):
    def family_weight(name: str) -> float:
        top = index.search(query(name))[0]
        assert top.item == name
        return float(next(f.weight for f in top.score.fields if f.comparison == "family_name"))

    assert family_weight("zebedee") > family_weight("smith") + 2


def test_a_child_not_on_the_register_is_not_a_confident_match(index):
    results = index.search(
        PersonRecord(given_names="Xanthe", family_name="Quigley", dob="2013-08-08", sex="F")
    )
    assert all(r.probability < 0.5 for r in results)


def test_an_empty_query_finds_nothing(index):
    assert index.search(PersonRecord()) == []


def test_permit_removes_records_before_scoring(index):
    results = index.search(
        query("robert"), permit=lambda items: {i for i in items if i != "robert"}
    )
    assert "robert" not in [r.item for r in results]


def test_family_rules_off_is_for_data_about_adults(index):
    """Without the sibling and twin rules, a twin with the same household looks like the
    same person: the rules, not luck, keep them apart."""
    plain = CandidateIndex(list(CHILDREN.items()), default_model(), family_rules=False)
    results = {r.item: r for r in plain.search(query("oliver"), limit=20)}
    assert results["oliver"].probability > results["harry"].probability
    assert results["harry"].probability > 0.5
