"""Defects found by a line-by-line review of index.py, each pinned by a test that
failed before its fix."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cmetrack.matching.features import PersonRecord, features_of
from cmetrack.matching.index import CandidateIndex, iter_rows
from cmetrack.matching.model import default_model


def _names(features: Any) -> list[tuple[Any, Any, str]]:
    return [(f.given, f.family, f.name_source) for f in features]


def test_an_alias_whose_surname_has_several_words_is_indexed_as_the_scorer_reads_it():
    """An alias is a (given, family) pair (a child's alias record has the two fields):
    "De Souza" is a surname, not the given name "De" and the surname "Souza"."""
    record = PersonRecord(
        given_names="Maria",
        family_name="Silva",
        aliases=(("", "De Souza"), ("Ana Luisa", "Van Der Berg"), ("Mia", "Jones")),
        dob=dt.date(2014, 3, 4),
    )
    index = CandidateIndex([("maria", record)], default_model())
    assert _names(iter_rows(index)) == _names(features_of(record))


def test_an_alias_search_finds_the_child_under_a_surname_of_two_words():
    record = PersonRecord(
        given_names="Maria",
        family_name="Silva",
        aliases=(("", "De Souza"),),
        dob=dt.date(2014, 3, 4),
        sex="F",
    )
    index = CandidateIndex([("maria", record)], default_model())
    query = PersonRecord(
        given_names="Maria", family_name="De Souza", dob=dt.date(2014, 3, 4), sex="F"
    )
    (top,) = index.search(query)
    assert top.item == "maria"
    assert top.score.name_source == "alias"
    assert "surname matches" in top.score.explanation
