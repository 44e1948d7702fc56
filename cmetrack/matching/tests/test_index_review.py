"""Defects found by a line-by-line review of index.py, each pinned by a test that
failed before its fix."""

from __future__ import annotations

import datetime as dt
import threading
import zlib
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]

from cmetrack.matching.compare import UPN_LINK_WEIGHT
from cmetrack.matching.features import PersonRecord, features_of, given_name
from cmetrack.matching.index import CandidateIndex, _FirstOf, _without_others, iter_rows
from cmetrack.matching.model import default_model
from cmetrack.matching.normalise import NO_DOB
from cmetrack.rules.upn import is_valid_upn


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


def test_a_day_of_three_digits_is_not_read_back_as_another_date():
    """The date codes are ``y*10000 + m*100 + d``: "2014-03-123" (a digit typed twice)
    was read back as 2014-04-23, a real date another child has, and scored as the same
    date of birth."""
    index = CandidateIndex(
        [
            ("typed", PersonRecord("Amy", "", "Smith", dob="2014-03-123")),
            ("good", PersonRecord("Amy", "", "Smith", dob="2014-04-23")),
        ],
        default_model(),
    )
    assert [f.dob for f in iter_rows(index)] == [NO_DOB, (2014, 4, 23)]
    found = index.search(PersonRecord("Amy", "", "Smith", dob="2014-04-23"))
    assert [c.item for c in found][:1] == ["good"]
    for c in found[1:]:
        assert "date of birth matches" not in c.score.explanation


def test_a_year_the_date_codes_cannot_hold_does_not_fail_the_build():
    """A year of seven digits overflowed the build's 32-bit date codes, and one such
    row failed the build of the whole register."""
    index = CandidateIndex(
        [
            ("year", PersonRecord("Amy", "", "Smith", dob="01/01/3000000")),
            ("good", PersonRecord("Amy", "", "Smith", dob="2014-04-23")),
        ],
        default_model(),
    )
    assert [f.dob for f in iter_rows(index)] == [NO_DOB, (2014, 4, 23)]


#: Two valid UPNs whose CRC-32 (the 32-bit hash the index files UPNs under) is the same.
COLLIDING_UPNS = ("U896948313481", "J839959885814")


def test_two_upns_whose_32_bit_hashes_collide_are_not_taken_for_the_same_upn():
    """A valid UPN that agrees lifts a pair to UPN_LINK_WEIGHT ("identifies the child").
    The query's UPN is looked up by its 32-bit hash, so a stranger whose UPN has the
    same hash is always a candidate (about one query in 430 at ten million pupils); it
    must not be scored as the same UPN."""
    mine, theirs = COLLIDING_UPNS
    assert is_valid_upn(mine)
    assert is_valid_upn(theirs)
    assert zlib.crc32(mine.encode()) == zlib.crc32(theirs.encode())
    stranger = PersonRecord(
        given_names="Zoe", family_name="Brown", dob=dt.date(2015, 6, 6), sex="F", upns=(theirs,)
    )
    index = CandidateIndex([("stranger", stranger)], default_model())
    query = PersonRecord(
        given_names="Amy", family_name="Smith", dob=dt.date(2014, 1, 1), sex="F", upns=(mine,)
    )
    prior = 1e-7  # one in ten million pupils (this index holds one)
    for c in index.search(query, prior=prior):
        assert c.weight < UPN_LINK_WEIGHT
        assert c.probability < 0.01
        assert "UPN differs" in c.score.explanation
    # The stranger's own UPN still links (the test is not vacuous).
    same = PersonRecord(
        given_names="Amy", family_name="Smith", dob=dt.date(2014, 1, 1), sex="F", upns=(theirs,)
    )
    (top,) = index.search(same, prior=prior)
    assert top.item == "stranger"
    assert top.weight >= UPN_LINK_WEIGHT
    assert top.probability > 0.99
    assert "UPN matches, which identifies the child" in top.score.explanation


def test_two_threads_adding_first_names_at_once_each_get_their_own():
    """A web process searches on several threads at once: a first name added to the
    vocabulary of first names while another thread adds one must not be given the
    other's id (that would compare every later query with the wrong first name)."""
    amy_rose, ben_tom = given_name("Amy", "Rose"), given_name("Ben", "Tom")
    assert amy_rose is not None
    assert ben_tom is not None
    given = [amy_rose, ben_tom]
    first_of = _FirstOf(given)
    other: list[int] = []

    class Interleaved(list):  # type: ignore[type-arg]
        """The first append lets another thread add its name first (a thread switch
        between choosing the id and appending)."""

        switched = False

        def append(self, value: Any) -> None:
            if not self.switched:
                self.switched = True
                thread = threading.Thread(target=lambda: other.append(first_of[1]))
                thread.start()
                thread.join(timeout=0.5)  # with a lock, the other thread waits for us
                self.thread = thread
            super().append(value)

    first_of.vocab = Interleaved()
    amy = first_of[0]
    first_of.vocab.thread.join()
    (ben,) = other
    assert first_of.vocab[amy] == _without_others(given[0])
    assert first_of.vocab[ben] == _without_others(given[1])


def test_a_datetime_date_of_birth_is_indexed_as_its_date():
    """``PersonRecord.dob`` is a date; a ``datetime`` is one, and the scorer reads its
    date: the index did not (its ISO form carries the time)."""
    record = PersonRecord("Amy", "", "Smith", dob=dt.datetime(2014, 3, 4, 0, 0))
    index = CandidateIndex([("amy", record)], default_model())
    (row,) = iter_rows(index)
    assert row.dob == features_of(record)[0].dob == (2014, 3, 4)


def test_a_loaded_index_reads_its_columns_and_keys_from_the_mapped_files(tmp_path):
    """A web process maps a saved index and processes share its pages: the keys and the
    rows are not copied into the process's memory when it is loaded."""
    people = [
        (n, PersonRecord(f"Name{n}", "", f"Family{n % 50}", dob=dt.date(2010 + n % 8, 1, 1)))
        for n in range(2000)
    ]
    built = CandidateIndex(people, default_model())
    built.save(tmp_path / "index")
    copied_at_least = built.key_count * 12 + len(built.row_record) * 40  # keys, rows
    before = pa.total_allocated_bytes()
    loaded: CandidateIndex[int] = CandidateIndex.load(tmp_path / "index", default_model())
    assert pa.total_allocated_bytes() - before < copied_at_least // 4
    assert bytes(loaded._keys) == bytes(built._keys)
    query = PersonRecord("Name7", "", "Family7", dob=dt.date(2017, 1, 1))
    assert [c.item for c in loaded.search(query)] == [c.item for c in built.search(query)]


def test_a_table_of_large_strings_builds_the_index_a_table_of_strings_builds():
    """``from_table`` takes string columns as Arrow writes them, ``large_string`` too
    (Polars' strings, Parquet files written from it): a record with an alias failed the
    build (its rows are joined to the column as ``string``)."""
    columns = {
        "given_names": ["Amy", "Ben"],
        "family_name": ["Smith", "Jones"],
        "aliases": ["Amy Brown", ""],
        "dob": ["2014-01-02", "2015-02-03"],
        "postcode": ["EX1 1AA", ""],
    }
    model = default_model()
    plain: CandidateIndex[int] = CandidateIndex.from_table(pa.table(columns), model)
    large: CandidateIndex[int] = CandidateIndex.from_table(
        pa.table({k: pa.array(v, pa.large_string()) for k, v in columns.items()}), model
    )
    assert list(iter_rows(large)) == list(iter_rows(plain))
    assert len(list(iter_rows(large))) == 3
    assert bytes(large._keys) == bytes(plain._keys)
