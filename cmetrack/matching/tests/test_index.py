"""The columnar candidate index: its fast paths give exactly what the scorer and the
comparison levels of compare.py give, both ways of building it agree, a saved index
searches as the built one, and the per-stage budget keeps the child while dropping
strangers."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import random

import pyarrow as pa  # type: ignore[import-untyped]
import pytest

from cmetrack.matching import synthetic
from cmetrack.matching.compare import ADDRESS, PARENTS, POSTCODE, SEX, UPN
from cmetrack.matching.features import PersonRecord, features_of
from cmetrack.matching.index import (
    CandidateIndex,
    _QueryState,
    address_level,
    hashed_query,
    pack_postcode,
    parents_level,
    postcode_level,
    query_orientations,
    sex_level,
    unpack_postcode,
    upn_level,
)
from cmetrack.matching.model import default_model

SIZE = 3000


@pytest.fixture(scope="module")
def people() -> list[synthetic.Pupil]:
    rows = synthetic.population(SIZE, seed=11)
    # Some UPNs, aliases, missing and partial fields, so every column is exercised.
    out = []
    for n, p in enumerate(rows):
        if n % 7 == 0:
            p = dataclasses.replace(p, aliases=f"{p.given_name} Oldname{n % 5}")
        if n % 11 == 0:
            p = dataclasses.replace(p, postcode="", address="")
        if n % 13 == 0:
            p = dataclasses.replace(p, parent_names="")
        out.append(p)
    return out


def records(people: list[synthetic.Pupil]) -> list[tuple[int, PersonRecord]]:
    return [(n, synthetic.as_record(p, with_upn=n % 3 == 0)) for n, p in enumerate(people)]


@pytest.fixture(scope="module")
def index(people: list[synthetic.Pupil]) -> CandidateIndex[int]:
    return CandidateIndex(records(people), default_model())


def queries(people: list[synthetic.Pupil], count: int = 120) -> list[PersonRecord]:
    rng = random.Random(5)
    out = []
    for p in rng.sample(people, count):
        q, _kinds = synthetic.with_errors(rng, p, rng.choice((0, 1, 2)))
        out.append(synthetic.as_record(q, with_upn=rng.random() < 0.2))
    return out


def test_fast_levels_agree_with_the_comparisons(index, people):
    """The integer level functions give the level compare.py gives, on the hashed
    stand-ins and on the real values."""
    rng = random.Random(3)
    rows = [features_of(r)[0] for _n, r in records(people)]
    for q in queries(people, 60):
        qf = features_of(q)[0]
        qh = hashed_query(qf)
        state = _QueryState(qh, index.scorer, {})
        for row in rng.sample(range(len(people)), 80):
            real = rows[row]
            hashed = index.features(row)
            c = index._columns
            p, a, u, par = c[6][row], c[7][row], c[8][row], c[9][row]
            full, sector, district, code = index._pc
            checks = [
                (SEX, sex_level(state.sex, c[5][row])),
                (POSTCODE, postcode_level(state.pc, full[p], sector[p], district[p], code[p])),
                (ADDRESS, address_level(state.addr, index._addr_text[a], index._addr_parts[a])),
                (UPN, upn_level(state.upns, index._upns[u])),
                (
                    PARENTS,
                    parents_level(state.parents, index._par_full[par], index._par_parts[par]),
                ),
            ]
            for comparison, fast in checks:
                assert fast == comparison.level_of(qh, hashed), comparison.name
                assert fast == comparison.level_of(qf, real), comparison.name


def test_fast_weights_equal_the_scorer(index, people):
    """Every row's weight on the fast path is the scorer's weight on the real features,
    for each reading of the query (swapped ones only where they apply)."""
    # Legal names first, then the aliases in record order: the index's order of rows.
    every = [features_of(r) for _n, r in records(people)]
    real_rows = [fs[0] for fs in every] + [f for fs in every for f in fs[1:]]
    assert len(real_rows) == len(index.row_record)
    for q in queries(people, 40):
        plain = query_orientations(q)
        states = [_QueryState(hashed_query(o), index.scorer, {}) for o in plain]
        for row in random.Random(1).sample(range(len(real_rows)), 150):
            c = index._columns
            for o, state in zip(plain, states, strict=True):
                names = state.names(index, c[2][row], c[3][row], c[4][row])
                expected = index.scorer.explain(o, real_rows[row]).weight
                if names is None:
                    assert o.swapped
                    continue
                values = (c[5][row], c[6][row], c[7][row], c[8][row], c[9][row])
                assert state.weight(index, names, values) == pytest.approx(expected, abs=1e-9)
                assert index.scorer.explain(
                    hashed_query(o), index.features(row)
                ).weight == pytest.approx(expected, abs=1e-9)


def test_the_table_path_builds_the_same_index(index, people):
    rows = [p.as_row() for p in people]
    table = pa.table(
        {
            "given_names": [r["given_name"] for r in rows],
            "middle_names": [r["middle_names"] for r in rows],
            "family_name": [r["family_name"] for r in rows],
            "aliases": [r["aliases"] for r in rows],
            "dob": pa.array([p.dob for p in people], pa.date32()),
            "sex": [r["sex"] for r in rows],
            "postcode": [r["postcode"] for r in rows],
            "address": [r["address"] for r in rows],
            "parent_names": [r["parent_names"] for r in rows],
            "upns": [r["upn"] if n % 3 == 0 else "" for n, r in enumerate(rows)],
        }
    )
    other: CandidateIndex[int] = CandidateIndex.from_table(table, default_model())
    assert other.key_count == index.key_count
    assert bytes(other._keys) == bytes(index._keys)
    for q in queries(people, 40):
        a = [(c.item, round(c.probability, 9)) for c in index.search(q)]
        b = [(c.item, round(c.probability, 9)) for c in other.search(q)]
        assert a == b


def test_a_saved_index_searches_as_the_built_one(index, people, tmp_path):
    index.save(tmp_path / "index")
    loaded: CandidateIndex[int] = CandidateIndex.load(tmp_path / "index", default_model())
    assert len(loaded) == len(index)
    for q in queries(people, 60):
        a = [(c.item, c.score.explanation, round(c.probability, 9)) for c in index.search(q)]
        b = [(c.item, c.score.explanation, round(c.probability, 9)) for c in loaded.search(q)]
        assert a == b


def test_an_index_of_another_format_is_refused(index, tmp_path):
    index.save(tmp_path / "index")
    meta = tmp_path / "index" / "meta.json"
    from cmetrack.matching.index import FORMAT_VERSION

    text = meta.read_text()
    assert f'"format": {FORMAT_VERSION}' in text
    meta.write_text(text.replace(f'"format": {FORMAT_VERSION}', '"format": 0'))
    with pytest.raises(ValueError, match="format"):
        CandidateIndex.load(tmp_path / "index", default_model())


def test_the_stage_budget_keeps_the_child_among_many_namesakes():
    """Four hundred Smiths born in 2014 and one Jessica Smith whose date of birth was
    typed with a digit wrong: the stage that reads mistyped dates holds more rows than
    its budget, and the rows sharing the most keys with the query (names with the date,
    postcode with a name) are the ones kept."""
    rng = random.Random(2)
    rows: list[tuple[str, PersonRecord]] = []
    for n in range(400):
        rows.append(
            (
                f"smith{n}",
                PersonRecord(
                    given_names=rng.choice(["Amy", "Ben", "Cara", "Dan", "Eve", "Finn"]),
                    family_name="Smith",
                    dob=dt.date(2014, 1 + n % 12, 1 + n % 28),
                    postcode=f"EX{n % 9} {n % 10}AB",
                ),
            )
        )
    child = PersonRecord(
        given_names="Jessica", family_name="Smith", dob=dt.date(2014, 3, 17), postcode="EX9 9ZZ"
    )
    rows.append(("jessica", child))
    small = CandidateIndex(rows, default_model())
    typed = PersonRecord(
        given_names="Jessica", family_name="Smith", dob=dt.date(2014, 3, 27), postcode="EX9 9ZZ"
    )
    found = small.search(typed)
    assert found[0].item == "jessica"
    assert found[0].probability > 0.9


def test_twins_stay_apart_on_the_columnar_path(index, people):
    """Every synthetic pair of twins (same household, same date of birth): searching for
    one never puts the other first, and the other is under 1%."""
    by_household: dict[tuple[str, str, dt.date], list[int]] = {}
    for n, p in enumerate(people):
        if p.aliases:  # an alias under another surname is not a twin's record
            continue
        by_household.setdefault((p.family_name, p.address, p.dob), []).append(n)
    twins = [ns for ns in by_household.values() if len(ns) == 2]
    assert twins
    for a, b in twins:
        results = {c.item: c for c in index.search(synthetic.as_record(people[a], with_upn=False))}
        assert next(iter(results)) == a
        assert b not in results or results[b].probability < 0.01


@pytest.mark.parametrize("text", ["EX12AB", "M11AE", "2913", "A", "ZZ99ZZZZ", "0", "00"])
def test_a_postcode_packs_and_unpacks(text):
    assert unpack_postcode(pack_postcode(text)) == text


@pytest.mark.parametrize("text", ["", "EX1 2AB", "ex12ab", "ABCDEFGHI"])
def test_what_is_not_a_normalised_postcode_of_at_most_eight_characters_does_not_pack(text):
    assert pack_postcode(text) == 0


def test_a_postcode_one_typing_error_away_is_found_and_explained():
    """In the index (postcodes packed) as in the scorer: a query with the postcode's last
    two characters swapped finds the child, and says why."""
    people = synthetic.population(500, seed=4)
    n, child = next((n, p) for n, p in enumerate(people) if p.postcode[-1] != p.postcode[-2])
    index = CandidateIndex(records(people), default_model())
    inward = child.postcode.split()[1]
    typed = child.postcode.split()[0] + " " + inward[0] + inward[2] + inward[1]
    query = synthetic.as_record(child, with_upn=False)
    query = PersonRecord(**{**query.__dict__, "postcode": typed})
    top = index.search(query)[0]
    assert top.item == n
    assert "postcode differs by a typing error" in top.score.explanation


def test_a_search_s_budgets_grow_with_the_register_up_to_the_bulk_ones():
    from cmetrack.matching.index import SEARCH_STAGE_BUDGETS, STAGE_BUDGETS, search_budgets

    assert search_budgets(5_000) == SEARCH_STAGE_BUDGETS
    assert search_budgets(1_000_000) == SEARCH_STAGE_BUDGETS
    assert search_budgets(10_000_000) == STAGE_BUDGETS
    sizes = [10**k for k in range(3, 9)] + [2_000_000, 5_000_000]
    for small, large in itertools.pairwise(sorted(sizes)):
        assert all(
            a <= b <= c
            for a, b, c in zip(
                search_budgets(small), search_budgets(large), STAGE_BUDGETS, strict=True
            )
        )


def _rows_by_bisect(index: CandidateIndex[int], keys: list[int]) -> dict[int, list[int]]:
    """The rows filed under each key, found one key at a time by binary search (what
    candidate_rows did before it looked all a stage's keys up at once)."""
    import bisect

    from cmetrack.matching.index import BLOCK_CAPS

    everything = list(index._keys)
    out = {}
    for key in keys:
        lo, hi = bisect.bisect_left(everything, key), bisect.bisect_right(everything, key)
        if 0 < hi - lo <= BLOCK_CAPS[key >> 59]:
            out[key] = sorted(index._key_rows[lo:hi])
    return out


def test_a_stage_s_keys_looked_up_at_once_find_the_rows_each_key_finds(index, people):
    from cmetrack.matching.index import prepared_query

    rng = random.Random(4)
    checked = 0
    for n in rng.sample(range(SIZE), 60):
        record = synthetic.as_record(people[n], with_upn=n % 2 == 0)
        _plain, _hashed, stages = prepared_query(record)
        for stage in stages:
            keys = [int(k) for k in stage]
            assert keys == sorted(set(keys))  # sorted, distinct
            by_key = _rows_by_bisect(index, keys)
            expected = {row for rows in by_key.values() for row in rows}
            # With a budget large enough for every block, every row of every block.
            assert index.candidate_rows(stage, budget=10**9) == expected
            # The budget is kept.
            assert len(index.candidate_rows(stage, budget=5)) <= 5
            checked += bool(expected)
    assert checked > 50
    assert index.candidate_rows([]) == set()


def test_the_query_s_keys_are_the_packed_keys_of_its_fields():
    from cmetrack.matching.index import (
        KEY_FAMILY_DOB,
        KEY_GIVEN_DOB,
        KEY_GIVEN_YEAR,
        _dob_int,
        _family_keys,
        _given_keys,
        pack,
        query_keys,
    )

    record = PersonRecord(given_names="Amira", family_name="Khan", dob=dt.date(2015, 3, 14))
    (plain,) = [q for q in query_orientations(record) if not q.swapped]
    first, second, third = ({int(k) for k in stage} for stage in query_keys([plain]))
    (fk,) = _family_keys(plain.family)
    gk = next(iter(_given_keys(plain.given)))
    exact = _dob_int(2015, 3, 14)
    assert pack(KEY_FAMILY_DOB, fk, exact) in first
    assert pack(KEY_GIVEN_DOB, gk, exact) in first
    assert pack(KEY_FAMILY_DOB, fk, _dob_int(2015, 3, 15)) in second  # one digit mistyped
    assert pack(KEY_GIVEN_YEAR, gk, 2014) in third
    assert not first & second
