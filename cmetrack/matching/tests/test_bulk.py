"""Bulk linkage on DuckDB and Spark: the same pairs as the Python reference path (the
interactive index and scorer, record by record), the file checks, one-to-one resolution
and the command's engines and profiles."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import random
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from cmetrack.matching import synthetic
from cmetrack.matching.bulk import (
    COLUMNS,
    FileError,
    link,
    link_files,
    one_to_one,
    read_people,
    write_rows,
)
from cmetrack.matching.bulk_sql import features_table, link_duckdb, read_raw
from cmetrack.matching.compare import FAMILY, GIVEN, sql_row
from cmetrack.matching.features import features_of, swapped
from cmetrack.matching.index import query_orientations
from cmetrack.matching.model import default_model
from cmetrack.matching.scorer import Scorer, probability


def write_people(path, pupils):
    write_rows(path, COLUMNS, [[p.as_row()[c] for c in COLUMNS] for p in pupils])


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("bulk")
    first = synthetic.population(400, seed=31)
    second = synthetic.next_snapshot(first, seed=32, error_rate=0.5)
    # Aliases and partial dates exercise the alias rows and the birth-year stage.
    rng = random.Random(5)
    second = [
        synthetic.replace_id(p, p.id)
        if rng.random() > 0.05
        else type(p)(**{**p.__dict__, "aliases": f"{p.given_name} Oldname"})
        for p in second
    ]
    write_people(tmp / "left.csv", first)
    write_people(tmp / "right.parquet", second)
    truth = {p.id: p.person for p in first + second}
    return tmp, first, second, truth


def _plausibly_swapped(q, r):
    """A swapped reading counts only when both swapped names agree at all (ADR 0010)."""
    if q.given is None or r.given is None or q.family is None or r.family is None:
        return False
    return (
        GIVEN.levels[GIVEN.level_of(q, r)].key != "else"
        and FAMILY.levels[FAMILY.level_of(q, r)].key != "else"
    )


def _duckdb_features(path):
    import duckdb

    con = duckdb.connect()
    raw = read_raw(con, path)
    return raw, features_table(raw, query_side=True)


def test_features_equal_the_python_features_row_for_row(snapshots):
    tmp, *_ = snapshots
    raw, table = _duckdb_features(tmp / "right.parquet")
    people = dict(read_people(tmp / "right.parquet"))
    ids = raw.column("id").to_pylist()
    rows = table.to_pylist()
    expected_rows = []
    for ident in ids:
        expected_rows.append(features_of(people[ident])[0])
    legal = [r for r in rows if r["row"] < len(ids)]
    for row, expected in zip(legal, expected_rows, strict=True):
        for name, value in sql_row(expected).items():
            got = row[name]
            assert (sorted(got) if isinstance(got, list) else got) == value, (name, row["rec"])
    # One alias row per alias, then each row read with names swapped.
    aliases = sum(len(features_of(people[i])) - 1 for i in ids)
    swappable = sum(1 for i in ids for f in features_of(people[i]) if swapped(f) is not None)
    assert len(rows) == len(ids) + aliases + swappable
    assert sum(r["swapped"] for r in rows) == swappable


def test_duckdb_gives_the_pairs_of_the_python_reference_and_the_scorers_probabilities(
    snapshots,
):
    tmp, *_ = snapshots
    model = default_model()
    sql = link_duckdb(
        tmp / "left.csv", tmp / "right.parquet", model=model, threshold=0.5, family_rules=True
    ).pairs
    reference = link(
        read_people(tmp / "left.csv"),
        read_people(tmp / "right.parquet"),
        model=model,
        threshold=0.5,
    )
    got = {(a, b): p for a, b, p in one_to_one(sql)}
    want = {(a, b): p for a, b, p in one_to_one(reference)}
    assert set(got) == set(want)
    # Each probability is the scorer's: the best over the left record's readings (name,
    # aliases, names swapped) and the right record's names, term frequencies from the
    # right file, prior one in its size.
    left, right = dict(read_people(tmp / "left.csv")), read_people(tmp / "right.parquet")
    legal = [features_of(r)[0] for _i, r in right]
    given = Counter(f.given.first for f in legal if f.given)
    family = Counter(f.family.full for f in legal if f.family)
    scorer = Scorer(
        model,
        {k: v / given.total() for k, v in given.items()},
        {k: v / family.total() for k, v in family.items()},
    )
    right_by_id = dict(right)
    for (a, b), p in got.items():
        best = max(
            scorer.explain(q, r).weight
            for q in query_orientations(left[a])
            for r in features_of(right_by_id[b])
            if not q.swapped or _plausibly_swapped(q, r)
        )
        assert p == pytest.approx(probability(best, 1 / len(right)), abs=1e-9)


def test_duckdb_links_accurately_and_one_to_one_helps(snapshots):
    tmp, first, second, truth = snapshots
    pairs = link_files(
        tmp / "left.csv", tmp / "right.parquet", model=default_model(), threshold=0.5
    )
    right_persons = {p.person for p in second}
    expected = {p.id for p in first if p.person in right_persons}
    correct = [(a, b) for a, b, _p in pairs if truth[a] == truth[b]]
    assert len(correct) / len(pairs) > 0.99
    assert len(correct) / len(expected) > 0.98
    assert len({a for a, _b, _p in pairs}) == len(pairs) == len({b for _a, b, _p in pairs})


def test_dedupe_on_duckdb_finds_the_copies_once(tmp_path):
    pupils = synthetic.population(300, seed=33)
    rng = random.Random(3)
    copies = [synthetic.with_errors(rng, p, 1)[0] for p in pupils[:25]]
    copies = [synthetic.replace_id(c, f"D{i}") for i, c in enumerate(copies)]
    write_people(tmp_path / "one.csv", pupils + copies)
    model = default_model()
    sql = link_files(tmp_path / "one.csv", None, model=model, threshold=0.5)
    assert all(a < b for a, b, _p in sql)
    assert len({(a, b) for a, b, _p in sql}) == len(sql)
    found = {b if a.startswith("P") else a for a, b, _p in sql}
    assert len(found & {f"D{i}" for i in range(25)}) >= 23
    reference = link(read_people(tmp_path / "one.csv"), None, model=model, threshold=0.5)
    assert {(a, b) for a, b, _p in sql} == {(a, b) for a, b, _p in reference}


def test_one_to_one_takes_the_most_probable_pair_first():
    pairs = [("A1", "B1", 0.99), ("A2", "B1", 0.9), ("A2", "B2", 0.8), ("A1", "B2", 0.7)]
    assert one_to_one(pairs) == [("A1", "B1", 0.99), ("A2", "B2", 0.8)]


def test_the_generic_profile_links_a_replaced_given_name_the_children_profile_does_not(
    tmp_path,
):
    header = "id,given_name,family_name,dob,postcode,address\n"
    (tmp_path / "a.csv").write_text(header + "a1,Harrison,Okafor,1970-02-03,2615,4 Yarra St\n")
    others = "".join(
        f"o{p.id},{p.given_name},{p.family_name},{p.dob},{p.postcode},"
        f"{p.address.replace(',', '')}\n"
        for p in synthetic.population(300, seed=8)
    )
    (tmp_path / "b.csv").write_text(
        header
        + "b1,Michael,Okafor,1970-02-03,2615,4 Yarra St\n"
        + "b2,Har Risn,Okafor,1970-02-03,2615,4 Yarra St\n"
        + others
    )
    model = default_model()
    children = {
        (a, b)
        for a, b, _p in link_files(
            tmp_path / "a.csv",
            tmp_path / "b.csv",
            model=model,
            threshold=0.5,
            one_to_one_links=False,
        )
    }
    generic = {
        (a, b)
        for a, b, _p in link_files(
            tmp_path / "a.csv",
            tmp_path / "b.csv",
            model=model,
            threshold=0.5,
            family_rules=False,
            one_to_one_links=False,
        )
    }
    # A space typed inside the given name still reads as the same name.
    assert ("a1", "b2") in children
    # A different given name with everything else the same: a twin among children, the
    # same person re-keyed in generic records.
    assert ("a1", "b1") not in children
    assert ("a1", "b1") in generic


def test_bad_files_are_explained_by_the_sql_path(tmp_path):
    (tmp_path / "noid.csv").write_text("given_name,family_name\nA,B\n")
    with pytest.raises(FileError, match="no id column"):
        link_duckdb(
            tmp_path / "noid.csv", None, model=default_model(), threshold=0.5, family_rules=True
        )
    (tmp_path / "twice.csv").write_text("id,given_name\n1,A\n1,B\n")
    with pytest.raises(FileError, match="line 3: the id 1 appears twice"):
        link_duckdb(
            tmp_path / "twice.csv", None, model=default_model(), threshold=0.5, family_rules=True
        )
    (tmp_path / "blank.csv").write_text("id,given_name\n1,A\n ,B\n")
    with pytest.raises(FileError, match="line 3: the id is blank"):
        link_duckdb(
            tmp_path / "blank.csv", None, model=default_model(), threshold=0.5, family_rules=True
        )


def test_link_command_engines_and_options(snapshots, tmp_path):
    tmp, *_ = snapshots
    outputs = {}
    for engine in ("duckdb", "python"):
        out = tmp_path / f"{engine}.csv"
        call_command(
            "link",
            str(tmp / "left.csv"),
            str(tmp / "right.parquet"),
            "--out",
            str(out),
            "--engine",
            engine,
            "--workers",
            "1",
        )
        with out.open(newline="") as f:
            rows = list(csv.DictReader(f))
        assert list(rows[0]) == ["left_id", "right_id", "match_probability"]
        outputs[engine] = {(r["left_id"], r["right_id"]) for r in rows}
    assert outputs["duckdb"] == outputs["python"]
    many = tmp_path / "many.csv"
    call_command(
        "link",
        str(tmp / "left.csv"),
        str(tmp / "right.parquet"),
        "--out",
        str(many),
        "--many-to-many",
    )
    with many.open(newline="") as f:
        assert len(list(csv.DictReader(f))) >= len(outputs["duckdb"])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CommandError, match="not a model file"):
        call_command(
            "link", str(tmp / "left.csv"), "--out", str(many), "--model", str(tmp_path / "bad.json")
        )


@pytest.mark.spark
def test_spark_gives_the_same_pairs_as_duckdb(snapshots):
    from cmetrack.matching.bulk_sql import link_spark, local_spark_session

    tmp, *_ = snapshots
    model = default_model()
    session = local_spark_session(2)
    for right in (tmp / "right.parquet", None):
        duck = link_duckdb(tmp / "left.csv", right, model=model, threshold=0.3, family_rules=True)
        spark = link_spark(
            tmp / "left.csv", right, model=model, threshold=0.3, family_rules=True, session=session
        )
        assert duck.candidates == spark.candidates
        got = {(a, b): p for a, b, p in spark.pairs}
        assert set(got) == {(a, b) for a, b, _p in duck.pairs}
        for a, b, p in duck.pairs:
            assert got[(a, b)] == pytest.approx(p, abs=1e-9)


def test_train_on_the_files_with_a_profile_then_link_with_that_model(snapshots, tmp_path):
    import json

    tmp, *_ = snapshots
    model_path = tmp_path / "model.json"
    call_command(
        "train_matcher",
        "--files",
        str(tmp / "left.csv"),
        str(tmp / "right.parquet"),
        "--profile",
        "generic",
        "--out",
        str(model_path),
    )
    stored = json.loads(model_path.read_text())
    assert stored["profile"] == "generic"
    assert stored["source"] == "files left.csv, right.parquet"
    out = tmp_path / "pairs.csv"
    call_command(
        "link",
        str(tmp / "left.csv"),
        str(tmp / "right.parquet"),
        "--out",
        str(out),
        "--model",
        str(model_path),
    )
    with out.open(newline="") as f:
        assert len(list(csv.DictReader(f))) > 300


def _file(path, rows):
    write_rows(path, COLUMNS, [[row.get(c, "") for c in COLUMNS] for row in rows])


def _strangers(n, seed):
    """Records that resemble nobody in particular (they fill the files' blocks)."""
    return [p.as_row() for p in synthetic.population(n, seed=seed)]


def test_a_mistyped_postcode_and_a_mistyped_surname_are_found_together(tmp_path):
    """No date of birth, the surname and the postcode both mistyped: no key the index
    uses is shared, but the postcode with one character left out, with the given name, is."""
    child = {
        "id": "L1",
        "given_name": "Harriet",
        "family_name": "Pemberton",
        "postcode": "EX4 6QT",
        "address": "27 Cedar Gardens, Exampleton",
        "sex": "F",
    }
    typed = {
        **child,
        "id": "R1",
        "family_name": "Pemberkon",  # another sound: no phonetic key in common
        "postcode": "EX4 6TQ",
        "address": "27 Cedar Gardns, Exampleton",
    }
    _file(tmp_path / "l.csv", [child, *_strangers(200, 7)])
    _file(tmp_path / "r.csv", [typed, *_strangers(200, 8)])
    model = dataclasses.replace(default_model(), profile="generic")
    result = link_duckdb(
        tmp_path / "l.csv", tmp_path / "r.csv", model=model, threshold=0.5, family_rules=False
    )
    assert ("L1", "R1") in {(a, b) for a, b, _p in result.pairs}


def test_deduplicating_finds_every_pair_of_a_group_of_three(tmp_path):
    """A child three times in one file: B with a new surname, C with a mistyped given name
    and postcode. A finds B and C at once (the exact date with a name or the postcode), so
    both have a confident match in the first stage; B and C share no name and no
    postcode, and are still to find each other in the later stages."""
    base = {
        "given_name": "Oluwaseun",
        "family_name": "Adeyemi",
        "dob": "2014-06-21",
        "postcode": "EX2 5LP",
        "address": "8 Lark Rise, Exampleton",
        "sex": "M",
    }
    group = [
        {**base, "id": "A"},
        {**base, "id": "B", "family_name": "Okafor"},
        {**base, "id": "C", "given_name": "Oluwaseum", "postcode": "EX2 5PL"},
    ]
    _file(tmp_path / "one.csv", [*group, *_strangers(300, 9)])
    result = link_duckdb(
        tmp_path / "one.csv", None, model=default_model(), threshold=0.5, family_rules=True
    )
    pairs = {(a, b) for a, b, _p in result.pairs if {a, b} <= {"A", "B", "C"}}
    assert pairs == {("A", "B"), ("A", "C"), ("B", "C")}


def test_a_record_scores_at_most_a_stage_s_budget_of_rows(tmp_path):
    """As the index: a left record whose keys reach hundreds of right rows (a common name,
    its own date of birth on none of them) scores the best-keyed few of them per stage,
    and still finds the child among them."""
    from cmetrack.matching.index import STAGE_BUDGETS

    rng = random.Random(4)
    namesakes = [
        {
            "id": f"R{i}",
            "given_name": "Olivia",
            "family_name": "Smith",
            "dob": f"20{rng.randrange(10, 18)}-0{rng.randrange(1, 10)}-{rng.randrange(10, 29)}",
            "postcode": f"EX{rng.randrange(1, 40)} {rng.randrange(10)}AB",
            "address": f"{i} Long Road, Exampleton",
        }
        for i in range(400)
    ]
    child = {
        "given_name": "Olivia",
        "family_name": "Smith",
        "dob": "2014-03-09",
        "postcode": "EX2 4QT",
        "address": "9 Short Lane, Exampleton",
    }
    typed = {**child, "id": "RC", "dob": "2014-09-03"}
    _file(tmp_path / "l.csv", [{**child, "id": "L1"}])
    _file(tmp_path / "r.csv", [*namesakes, typed])
    result = link_duckdb(
        tmp_path / "l.csv",
        tmp_path / "r.csv",
        model=default_model(),
        threshold=0.5,
        family_rules=True,
    )
    assert 0 < result.candidates <= sum(STAGE_BUDGETS)
    assert [(a, b) for a, b, _p in result.pairs] == [("L1", "RC")]


def test_link_engine_spark_without_the_extra_says_how_to_install_it(
    snapshots, tmp_path, monkeypatch
):
    tmp, *_ = snapshots
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "pyspark" else real_find_spec(name, *a),
    )
    with pytest.raises(CommandError, match=r"pip install 'cmetrack\[spark\]'"):
        call_command(
            "link", str(tmp / "left.csv"), "--out", str(tmp_path / "o.csv"), "--engine", "spark"
        )
    assert not (tmp_path / "o.csv").exists()
