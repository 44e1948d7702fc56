"""The commands on small files: link, dedupe, search-batch and train_matcher."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random

import pytest
from django.core.management import CommandError, call_command

from cmetrack.matching import synthetic
from cmetrack.matching.bulk import COLUMNS, FileError, read_people, write_rows
from cmetrack.matching.model import current_model


def write_people(path, pupils):
    write_rows(path, COLUMNS, [[p.as_row()[c] for c in COLUMNS] for p in pupils])


@pytest.fixture
def files(tmp_path):
    first = synthetic.population(300, seed=31)
    second = synthetic.next_snapshot(first, seed=32, error_rate=0.4)
    write_people(tmp_path / "left.csv", first)
    write_people(tmp_path / "right.parquet", second)
    truth = {p.id: p.person for p in first + second}
    return tmp_path, first, second, truth


def read_csv(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_link_two_files_finds_the_same_pupils(files):
    tmp, first, second, truth = files
    out = tmp / "pairs.csv"
    call_command(
        "link",
        str(tmp / "left.csv"),
        str(tmp / "right.parquet"),
        "--out",
        str(out),
        "--threshold",
        "0.5",
        "--workers",
        "1",
    )
    rows = read_csv(out)
    assert list(rows[0]) == ["left_id", "right_id", "match_probability"]
    right_persons = {p.person for p in second}
    expected = {p.id for p in first if p.person in right_persons}
    correct = [r for r in rows if truth[r["left_id"]] == truth[r["right_id"]]]
    assert len(correct) / len(rows) > 0.97  # precision
    assert len({r["left_id"] for r in correct}) / len(expected) > 0.97  # recall
    assert all(0.5 <= float(r["match_probability"]) <= 1 for r in rows)


def test_dedupe_one_file_writes_each_pair_once(tmp_path):
    pupils = synthetic.population(200, seed=33)
    rng = random.Random(3)
    copies = [synthetic.with_errors(rng, p, 1)[0] for p in pupils[:20]]
    copies = [synthetic.replace_id(c, f"D{i}") for i, c in enumerate(copies)]
    write_people(tmp_path / "one.csv", pupils + copies)
    out = tmp_path / "dupes.parquet"
    call_command(
        "link", str(tmp_path / "one.csv"), "--out", str(out), "--threshold", "0.5", "--workers", "2"
    )
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    rows = pq.read_table(out).to_pylist()
    pairs = {(r["left_id"], r["right_id"]) for r in rows}
    assert len(pairs) == len(rows)
    assert all(a < b for a, b in pairs)
    found = {b if a.startswith("P") else a for a, b in pairs}
    assert len(found & {f"D{i}" for i in range(20)}) >= 18


def test_search_batch_writes_top_candidates_and_times(files):
    tmp, first, _second, _truth = files
    queries = [synthetic.replace_id(p, f"Q{i}") for i, p in enumerate(first[:25])]
    write_people(tmp / "queries.csv", queries)
    out = tmp / "top.csv"
    call_command(
        "search-batch",
        str(tmp / "left.csv"),
        str(tmp / "queries.csv"),
        "--out",
        str(out),
        "--top",
        "3",
        "--workers",
        "1",
    )
    rows = read_csv(out)
    assert list(rows[0]) == [
        "query_id",
        "rank",
        "candidate_id",
        "match_probability",
        "query_seconds",
    ]
    firsts = {r["query_id"]: r for r in rows if r["rank"] == "1"}
    assert len(firsts) == 25
    for i, p in enumerate(first[:25]):
        assert firsts[f"Q{i}"]["candidate_id"] == p.id
        assert float(firsts[f"Q{i}"]["query_seconds"]) >= 0
    assert max(int(r["rank"]) for r in rows) <= 3


def test_bad_files_are_explained(tmp_path):
    (tmp_path / "noid.csv").write_text("given_name,family_name\nA,B\n")
    with pytest.raises(FileError, match="no id column"):
        read_people(tmp_path / "noid.csv")
    (tmp_path / "twice.csv").write_text("id,given_name\n1,A\n1,B\n")
    with pytest.raises(FileError, match="line 3: the id 1 appears twice"):
        read_people(tmp_path / "twice.csv")
    with pytest.raises(CommandError, match="no such file"):
        call_command("link", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "o.csv"))


@pytest.mark.django_db
def test_train_matcher_refuses_an_empty_register(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    with pytest.raises(CommandError, match="at least 50"):
        call_command("train_matcher")


@pytest.mark.django_db
def test_train_matcher_trains_on_the_registers_and_makes_the_model_current(settings, tmp_path):
    from cmetrack.accounts.tests.factories import SchoolFactory
    from cmetrack.audit.models import AuditEvent
    from cmetrack.registers.models import RollEntry, RollSnapshot

    settings.VAR_DIR = tmp_path
    school = SchoolFactory.create()
    first = synthetic.population(400, seed=41)
    second = synthetic.next_snapshot(first, seed=42, upn_rate=1.0)
    for taken_on, pupils in ((dt.date(2025, 10, 1), first), (dt.date(2026, 10, 1), second)):
        snapshot = RollSnapshot.objects.create(school=school, taken_on=taken_on)
        RollEntry.objects.bulk_create(
            RollEntry(
                snapshot=snapshot,
                upn=p.upn or f"X{i:012d}",
                legal_given_name=p.given_name,
                legal_family_name=p.family_name,
                dob=p.dob,
                sex=p.sex,
                postcode=p.postcode,
                address=p.address,
            )
            for i, p in enumerate(pupils)
        )
    call_command("train_matcher")
    model = current_model(tmp_path / "matching")
    assert model.records == len(first) + len(second)
    assert model.source == "registers"
    stored = json.loads((tmp_path / "matching" / f"model-{model.version}.json").read_text())
    assert stored["training_data_hash"] == model.training_data_hash
    event = AuditEvent.objects.get(object_type="matching.model")
    assert event.object_id == model.version


def _grown_up(pupils, years):
    """The same people ``years`` older: born that many years earlier."""
    out = []
    for p in pupils:
        try:
            dob = p.dob.replace(year=p.dob.year - years)
        except ValueError:  # 29 February
            dob = p.dob.replace(year=p.dob.year - years, day=28)
        out.append(type(p)(**{**p.__dict__, "dob": dob}))
    return out


def test_guess_profile_reads_the_ages():
    from cmetrack.matching.bulk import guess_profile

    today = dt.date(2026, 11, 25)
    assert guess_profile(["2015-03-01", "2012", "1975-01-01"], today=today) == "children"
    assert guess_profile(["1960-03-01", "19501212", "2015-01-01", None], today=today) == "generic"
    assert guess_profile([None, "", "unknown"], today=today) is None


def _link(left, right, out, *options):
    """``cmetrack link`` and what it said."""
    messages = io.StringIO()
    call_command("link", str(left), str(right), "--out", str(out), *options, stdout=messages)
    return messages.getvalue()


def test_files_of_adults_are_linked_without_the_twin_rule_and_with_a_model_of_their_own(
    files, tmp_path
):
    """Adults: the twin and sibling rules are off and the weights are learnt from the files
    (unless said otherwise); children: neither."""
    tmp, first, second, _truth = files
    write_people(tmp_path / "a.csv", _grown_up(first, 40))
    write_people(tmp_path / "b.parquet", _grown_up(second, 40))
    adults = (tmp_path / "a.csv", tmp_path / "b.parquet", tmp_path / "pairs.csv")
    text = _link(*adults)
    assert "Most dates of birth in the files are of adults" in text
    assert "Trained model" in text
    assert read_csv(tmp_path / "pairs.csv")
    for text in (
        _link(*adults, "--no-train", "--profile", "children"),
        _link(tmp / "left.csv", tmp / "right.parquet", tmp_path / "pairs.csv"),
    ):
        assert "Most dates of birth" not in text
        assert "Trained model" not in text


def test_link_can_train_on_children_s_files_when_asked(files, tmp_path):
    tmp, *_ = files
    out = tmp_path / "pairs.csv"
    assert "Trained model" in _link(tmp / "left.csv", tmp / "right.parquet", out, "--train")
    assert len(read_csv(out)) > 200


def test_dedupe_gives_clusters_with_an_id_and_the_reasons(tmp_path):
    """A child recorded three times is one cluster (transitive), with the pair that brought
    each record in and the scorer's reasons (issue 19 item 4)."""
    pupils = synthetic.population(150, seed=34)
    rng = random.Random(4)
    copies = []
    for i, p in enumerate(pupils[:10]):
        for j in range(2):
            copy = synthetic.with_errors(rng, p, 1)[0]
            copies.append(synthetic.replace_id(copy, f"D{i}x{j}"))
    write_people(tmp_path / "one.csv", pupils + copies)
    out, clusters = tmp_path / "pairs.csv", tmp_path / "clusters.csv"
    messages = io.StringIO()
    call_command(
        "link",
        str(tmp_path / "one.csv"),
        "--out",
        str(out),
        "--clusters",
        str(clusters),
        "--threshold",
        "0.5",
        stdout=messages,
    )
    rows = read_csv(clusters)
    assert "clusters" in messages.getvalue()
    by_record = {r["record_id"]: r for r in rows}
    assert len(by_record) == len(rows)  # each record in one cluster
    pairs = read_csv(out)
    for pair in pairs:  # transitive: both ends of every pair share a cluster
        assert by_record[pair["left_id"]]["cluster_id"] == by_record[pair["right_id"]]["cluster_id"]
    whole = 0
    for i, p in enumerate(pupils[:10]):
        ids = {p.id, f"D{i}x0", f"D{i}x1"}
        cluster_ids = {by_record[x]["cluster_id"] for x in ids if x in by_record}
        if len(cluster_ids) == 1 and ids <= set(by_record):
            whole += 1
            cluster = next(iter(cluster_ids))
            assert cluster == "C" + min(ids)
            members = [r for r in rows if r["cluster_id"] == cluster]
            assert {r["cluster_size"] for r in members} == {str(len(members))}
            assert all(r["reasons"] for r in members if r["linked_to"])
    assert whole >= 8


def test_clusters_are_for_one_file(files):
    tmp_path, *_ = files
    with pytest.raises(CommandError, match="one file"):
        call_command(
            "link",
            str(tmp_path / "left.csv"),
            str(tmp_path / "right.parquet"),
            "--out",
            str(tmp_path / "o.csv"),
            "--clusters",
            str(tmp_path / "c.csv"),
        )
