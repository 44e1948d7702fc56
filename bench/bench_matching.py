# ruff: noqa: E501  (markdown table lines are written whole)
"""Benchmark of the matching engine (issue 7), side by side with Splink's and
recordlinkage's standard approaches. Writes bench/results/matching.md.

Run in the benchmark environment (recordlinkage and pandas are not application
dependencies; see requirements/bench.txt):

    .venv-bench/bin/python bench/bench_matching.py                    # defaults below
    .venv-bench/bin/python bench/bench_matching.py --link-size 250000 --search-sizes 1000000 10000000

What it measures, each method in its own forked process (time is wall clock, memory the
process's peak resident set):

1. FEBRL4 (link 5,000 × 5,000) and FEBRL3 (deduplicate 5,000), from recordlinkage's
   copies, without soc_sec_id: precision, recall and F1 at probability 0.5 and the best F1
   over all thresholds, for ours (model trained by Splink EM on the file, then our index
   and scorer), Splink's standard approach (comparison library, EM, predict) and
   recordlinkage's ECM.
2. A seeded synthetic pupil population (cmetrack.matching.synthetic) with the error kinds
   of issue 7 item 2: two roll snapshots linked in bulk (ours and Splink's), and
   interactive search: 1,000 queries (with 0 to 2 errors each) plus 100 children who are
   not on the register, against registers of each size: p50/p95 latency, hit@1,
   recall@10 and false alarms (a child not on the register whose best candidate is at
   least 0.5 probable).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import pickle
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.test")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django

django.setup()

from cmetrack.matching import synthetic  # noqa: E402
from cmetrack.matching.bulk import COLUMNS, link_files, train_on_files, write_rows  # noqa: E402
from cmetrack.matching.features import PersonRecord  # noqa: E402
from cmetrack.matching.index import CandidateIndex  # noqa: E402
from cmetrack.matching.model import default_model  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "matching.md"
Pair = tuple[str, str, float]


# --- measuring in a fork ----------------------------------------------------------------


def measured(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``fn`` in a forked child: (its result, wall seconds, peak RSS in MB)."""
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        out = handle.name
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            with open(out, "wb") as f:
                pickle.dump((result, elapsed), f)
        except BaseException as exc:
            with open(out, "wb") as f:
                pickle.dump((f"FAILED: {type(exc).__name__}: {exc}", 0.0), f)
            code = 1
        os._exit(code)
    _pid, _status, usage = os.wait4(pid, 0)
    with open(out, "rb") as f:
        result, elapsed = pickle.load(f)  # noqa: S301 - our own child wrote it
    os.unlink(out)
    return result, elapsed, usage.ru_maxrss / 1024


def scores(pairs: list[Pair], truth: set[tuple[str, str]], dedupe: bool) -> dict[str, float]:
    """Precision, recall and F1 at 0.5, and the best F1 over thresholds."""

    def key(a: str, b: str) -> tuple[str, str]:
        return (min(a, b), max(a, b)) if dedupe else (a, b)

    truth = {key(a, b) for a, b in truth}
    best: dict[tuple[str, str], float] = {}
    for a, b, p in pairs:
        k = key(a, b)
        best[k] = max(best.get(k, 0.0), p)
    ranked = sorted(best.items(), key=lambda kv: -kv[1])
    tp = fp = 0
    best_f1, best_t = 0.0, 1.0
    at_half = (0.0, 0.0, 0.0)
    for i, (k, p) in enumerate(ranked):
        if k in truth:
            tp += 1
        else:
            fp += 1
        nxt = ranked[i + 1][1] if i + 1 < len(ranked) else -1
        if nxt == p:
            continue
        precision = tp / (tp + fp)
        recall = tp / len(truth)
        f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
        if f1 > best_f1:
            best_f1, best_t = f1, p
        if p >= 0.5 > nxt:
            at_half = (precision, recall, f1)
    return {
        "precision": at_half[0],
        "recall": at_half[1],
        "f1": at_half[2],
        "best_f1": best_f1,
        "best_threshold": best_t,
    }


# --- FEBRL ------------------------------------------------------------------------------


def febrl_rows(df: Any) -> list[tuple[str, PersonRecord]]:
    out = []
    for rec_id, r in df.iterrows():

        def s(col: str, r: Any = r) -> str:
            v = r.get(col)
            return "" if v is None or v != v else str(v).strip()

        address = " ".join(
            p
            for p in (s("street_number"), s("address_1"), s("address_2"), s("suburb"), s("state"))
            if p
        )
        out.append(
            (
                str(rec_id),
                PersonRecord(
                    given_names=s("given_name"),
                    family_name=s("surname"),
                    dob=s("date_of_birth") or None,
                    postcode=s("postcode"),
                    address=address,
                ),
            )
        )
    return out


def ours(
    left: list[tuple[str, PersonRecord]],
    right: list[tuple[str, PersonRecord]] | None,
    *,
    train_first: bool,
    workers: int,
    profile: str = "children",
    engine: str = "duckdb",
) -> list[Pair]:
    """Our engine on files, as ``cmetrack link`` runs it: trained first (Splink EM on the
    files, ``bulk.train_on_files``, as the command does for files of adults) or the shipped
    model; then the DuckDB path (one to one when linking two files)."""
    import dataclasses

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, people in (("left", left), ("right", right)):
            if people is None:
                continue
            path = Path(tmp) / f"{name}.parquet"
            write_rows(path, COLUMNS, [_row(ident, r) for ident, r in people])
            paths.append(path)
        model = default_model()
        if train_first:
            model = train_on_files(paths, fallback=model, profile=profile)
        model = dataclasses.replace(model, profile=profile)
        return link_files(
            paths[0],
            paths[1] if len(paths) > 1 else None,
            model=model,
            threshold=0.01,
            engine=engine,
            workers=workers,
        )


def _row(ident: str, r: PersonRecord) -> list[Any]:
    return [
        ident,
        r.given_names,
        r.middle_names,
        r.family_name,
        ";".join(" ".join(p for p in a if p) for a in r.aliases),
        "" if r.dob is None else str(r.dob),
        r.sex,
        r.postcode,
        r.address,
        ";".join(r.parent_names),
        ";".join(r.upns),
    ]


def splink_standard(
    left: list[dict[str, Any]],
    right: list[dict[str, Any]] | None,
    spec: dict[str, Any],
) -> list[Pair]:
    """Splink's documented approach: comparison library, u by sampling, EM, predict."""
    import duckdb
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    tables = [db_api.register(pa.Table.from_pylist(left), table_name="l")]
    if right is not None:
        tables.append(db_api.register(pa.Table.from_pylist(right), table_name="r"))
    comparisons = [
        cl.NameComparison(spec["given"]).configure(term_frequency_adjustments=True),
        cl.NameComparison(spec["family"]).configure(term_frequency_adjustments=True),
        cl.DamerauLevenshteinAtThresholds(spec["dob"], [1, 2]),
        cl.DamerauLevenshteinAtThresholds(spec["postcode"], [1, 2]),
        cl.JaroWinklerAtThresholds(spec["address"], [0.9, 0.8]),
    ] + [cl.ExactMatch(c) for c in spec.get("exact", [])]
    settings = SettingsCreator(
        link_type="dedupe_only" if right is None else "link_only",
        unique_id_column_name="id",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=[
            block_on(spec["given"], spec["family"]),
            block_on(spec["dob"]),
            block_on(spec["postcode"], spec["family"]),
            block_on(spec["given"], spec["postcode"]),
            block_on(spec["address"]),
        ],
        retain_intermediate_calculation_columns=False,
    )
    linker = Linker(tables, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on(spec["given"], spec["family"], spec["dob"])], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(
        block_on(spec["given"], spec["family"])
    )
    linker.training.estimate_parameters_using_expectation_maximisation(block_on(spec["dob"]))
    predictions = linker.inference.predict(threshold_match_probability=0.01)
    rows = predictions.as_duckdbpyrelation().select("id_l, id_r, match_probability").fetchall()
    return [(str(a), str(b), float(p)) for a, b, p in rows]


def recordlinkage_ecm(dfa: Any, dfb: Any | None) -> list[Pair]:
    """recordlinkage's tutorial approach: blocked indexing, binary comparisons, ECM."""
    import recordlinkage as rl

    indexer = rl.Index()
    for column in ("given_name", "surname", "date_of_birth", "postcode"):
        indexer.block(column)
    candidates = indexer.index(dfa) if dfb is None else indexer.index(dfa, dfb)
    other = dfa if dfb is None else dfb
    compare = rl.Compare()
    compare.string("given_name", "given_name", method="jarowinkler", threshold=0.85, label="g")
    compare.string("surname", "surname", method="jarowinkler", threshold=0.85, label="s")
    compare.exact("date_of_birth", "date_of_birth", label="dob")
    compare.exact("suburb", "suburb", label="suburb")
    compare.exact("state", "state", label="state")
    compare.string("address_1", "address_1", threshold=0.85, label="addr")
    compare.exact("postcode", "postcode", label="pc")
    features = compare.compute(candidates, dfa, other)
    ecm = rl.ECMClassifier(binarize=0.5)
    ecm.fit(features)
    probabilities = ecm.prob(features)
    return [(str(a), str(b), float(p)) for (a, b), p in probabilities.items() if p >= 0.01]


def febrl_section(workers: int) -> list[str]:
    from recordlinkage.datasets import load_febrl3, load_febrl4

    lines = [
        "## FEBRL (recordlinkage's copies, without soc_sec_id)",
        "",
        "FEBRL is data about adults: its duplicates often have the given name replaced "
        "outright while surname, date of birth and address stay, which in a children's "
        "register is what twins look like. Our model carries a profile: `generic` (what "
        "`cmetrack link` chooses when most dates of birth in the files are of adults, and "
        "`--profile generic` sets) has no household cap, twin or sibling rule; the `children` "
        "rows show what the twin rule costs on such data. On files of adults `cmetrack link` "
        "also trains the model on the files first (Splink's EM, as Splink's own approach "
        "does; `--no-train` keeps the shipped model, trained on children, whose row is "
        "shown too). Ours runs `cmetrack link`'s DuckDB path (one to one for two files); "
        "time includes training.",
        "",
    ]
    lines += [
        "| data set | method | precision @0.5 | recall @0.5 | F1 @0.5 | best F1 (threshold) | time s | peak MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    dfa, dfb = load_febrl4()
    dfa, dfb = dfa.drop(columns=["soc_sec_id"]), dfb.drop(columns=["soc_sec_id"])
    truth4 = {(a, b) for a in dfa.index for b in [a.replace("-org", "-dup-0")] if b in dfb.index}
    df3, links3 = load_febrl3(return_links=True)
    df3 = df3.drop(columns=["soc_sec_id"])
    truth3 = {(str(a), str(b)) for a, b in links3}
    spec = {
        "given": "given_name",
        "family": "surname",
        "dob": "date_of_birth",
        "postcode": "postcode",
        "address": "address_1",
        "exact": ["suburb", "state", "street_number"],
    }

    def dicts(df: Any) -> list[dict[str, Any]]:
        records = df.reset_index().rename(columns={"rec_id": "id"}).fillna("").astype(str)
        return records.to_dict("records")

    generic = (
        "ours: `cmetrack link` as it runs on files of adults (generic profile, Splink EM on "
        "the files, DuckDB path)"
    )
    untrained = "ours, shipped model without training (`--no-train`, generic profile)"
    children = "ours, children profile (twin and sibling rules on, trained on the files)"
    variants = (
        (True, "generic", generic),
        (False, "generic", untrained),
        (True, "children", children),
    )
    runs: list[tuple[str, set[tuple[str, str]], bool, Callable[[], Any], str]] = []
    for name, truth, left, right in (
        ("FEBRL4 link", truth4, dfa, dfb),
        ("FEBRL3 dedupe", truth3, df3, None),
    ):
        dedupe = right is None
        for train_first, profile, label in variants:

            def run_ours(
                left: Any = left, right: Any = right, train: bool = train_first, p: str = profile
            ) -> list[Pair]:
                return ours(
                    febrl_rows(left),
                    None if right is None else febrl_rows(right),
                    train_first=train,
                    workers=workers,
                    profile=p,
                )

            runs.append((name, truth, dedupe, run_ours, label))
        runs.append(
            (
                name,
                truth,
                dedupe,
                lambda left=left, right=right: splink_standard(
                    dicts(left), None if right is None else dicts(right), spec
                ),
                "Splink standard",
            )
        )
        runs.append(
            (
                name,
                truth,
                dedupe,
                lambda left=left, right=right: recordlinkage_ecm(left, right),
                "recordlinkage ECM",
            )
        )
    for name, truth, dedupe, fn, label in runs:
        pairs, seconds, mb = measured(fn)
        if isinstance(pairs, str):
            lines.append(f"| {name} | {label} | {pairs} | | | | {seconds:.1f} | {mb:.0f} |")
            continue
        s = scores(pairs, truth, dedupe)
        lines.append(
            f"| {name} | {label} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} | "
            f"{s['best_f1']:.4f} ({s['best_threshold']:.2f}) | {seconds:.1f} | {mb:.0f} |"
        )
        print(lines[-1], flush=True)
    return [*lines, ""]


# --- synthetic pupils -------------------------------------------------------------------


def link_section(size: int, workers: int, with_splink: bool) -> list[str]:
    first = synthetic.population(size, seed=101)
    second = synthetic.next_snapshot(first, seed=102)
    person = {p.id: p.person for p in first + second}
    in_first = {p.person: p.id for p in first}
    truth = {(in_first[p.person], p.id) for p in second if p.person in in_first}
    left = [(p.id, synthetic.as_record(p, with_upn=False)) for p in first]
    right = [(p.id, synthetic.as_record(p, with_upn=False)) for p in second]
    lines = [
        f"## Bulk linkage of two synthetic roll snapshots ({len(first):,} and {len(second):,} pupils, no UPNs)",
        "",
        "35% of the later snapshot's rows carry one or two errors of the kinds in issue 7 item 2; 5% left and 5% joined.",
        "",
        "| method | precision @0.5 | recall @0.5 | F1 @0.5 | best F1 (threshold) | time s | peak MB |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [link_command_row(left, right, truth, workers, "duckdb")]
    print(lines[-1], flush=True)
    runs: list[tuple[str, Callable[[], Any]]] = []
    if with_splink:
        spec = {
            "given": "given_name",
            "family": "family_name",
            "dob": "dob",
            "postcode": "postcode",
            "address": "address",
            "exact": ["sex"],
        }

        def rows(ps: list[synthetic.Pupil]) -> list[dict[str, Any]]:
            return [
                {
                    k: v
                    for k, v in p.as_row().items()
                    if k not in ("upn", "aliases", "parent_names", "middle_names")
                }
                for p in ps
            ]

        runs.append(
            (
                "Splink standard (from scratch)",
                lambda: splink_standard(rows(first), rows(second), spec),
            )
        )
    for label, fn in runs:
        pairs, seconds, mb = measured(fn)
        if isinstance(pairs, str):
            lines.append(f"| {label} | {pairs} | | | | {seconds:.1f} | {mb:.0f} |")
            continue
        s = scores(pairs, truth, False)
        lines.append(
            f"| {label} | {s['precision']:.4f} | {s['recall']:.4f} | {s['f1']:.4f} | "
            f"{s['best_f1']:.4f} ({s['best_threshold']:.2f}) | {seconds:.1f} | {mb:.0f} |"
        )
        print(lines[-1], flush=True)
    del person
    return [*lines, ""]


def link_command_row(
    left: list[tuple[str, PersonRecord]],
    right: list[tuple[str, PersonRecord]],
    truth: set[tuple[str, str]],
    workers: int,
    engine: str,
) -> str:
    """``cmetrack link`` run as a user runs it, in a fresh process (so its peak memory is
    its own, not the benchmark's): wall time, CPU time and peak RSS of that process."""
    import csv
    import subprocess

    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for name, people in (("left", left), ("right", right)):
            path = Path(tmp) / f"{name}.parquet"
            write_rows(path, COLUMNS, [_row(ident, r) for ident, r in people])
            paths.append(str(path))
        out = Path(tmp) / "pairs.csv"
        command = [
            str(Path(sys.executable).parent / "cmetrack"),
            "link",
            *paths,
            "--out",
            str(out),
            "--threshold",
            "0.01",
            "--engine",
            engine,
            "--workers",
            str(workers),
        ]
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        if status != 0:
            return f"| ours, `cmetrack link --engine {engine}` | FAILED ({status}) | | | | | |"
        with out.open(newline="") as f:
            pairs = [
                (r["left_id"], r["right_id"], float(r["match_probability"]))
                for r in csv.DictReader(f)
            ]
    s = scores(pairs, truth, False)
    cpu = usage.ru_utime + usage.ru_stime
    return (
        f"| ours, `cmetrack link --engine {engine}` (shipped model, one to one) | {s['precision']:.4f} | "
        f"{s['recall']:.4f} | {s['f1']:.4f} | {s['best_f1']:.4f} ({s['best_threshold']:.2f}) | "
        f"{seconds:.1f} (CPU {cpu:.1f}) | {usage.ru_maxrss / 1024:.0f} |"
    )


def search_run(size: int, queries: int) -> dict[str, Any]:
    rng = random.Random(7)
    start = time.perf_counter()
    register = synthetic.population(size, seed=201)
    generated = time.perf_counter() - start
    start = time.perf_counter()
    index = CandidateIndex(
        ((p.id, synthetic.as_record(p, with_upn=False)) for p in register), default_model()
    )
    built = time.perf_counter() - start
    present = [rng.choice(register) for _ in range(queries)]
    absent = synthetic.population(queries // 10, seed=999)
    seen = {(p.given_name, p.family_name, p.dob) for p in register}
    absent = [p for p in absent if (p.given_name, p.family_name, p.dob) not in seen]
    latencies, hit1, hit10, alarms = [], 0, 0, 0
    kinds: dict[str, list[int]] = {}
    for p in present:
        q, applied = synthetic.with_errors(rng, p, rng.choice((0, 1, 1, 2)))
        record = synthetic.as_record(q, with_upn=False)
        t = time.perf_counter()
        found = index.search(record, limit=10)
        latencies.append(time.perf_counter() - t)
        ids = [c.item for c in found]
        h = bool(ids) and ids[0] == p.id
        hit1 += h
        hit10 += p.id in ids
        for k in applied or ["no error"]:
            kinds.setdefault(k, [0, 0])
            kinds[k][0] += 1
            kinds[k][1] += h
    for p in absent:
        record = synthetic.as_record(p, with_upn=False)
        t = time.perf_counter()
        found = index.search(record, limit=10)
        latencies.append(time.perf_counter() - t)
        alarms += bool(found) and found[0].probability >= 0.5
    latencies.sort()
    return {
        "size": size,
        "generated": generated,
        "built": built,
        "keys": index.key_count,
        "p50": latencies[len(latencies) // 2] * 1000,
        "p95": latencies[int(len(latencies) * 0.95)] * 1000,
        "hit1": hit1 / len(present),
        "recall10": hit10 / len(present),
        "alarms": alarms,
        "absent": len(absent),
        "kinds": kinds,
    }


def search_section(sizes: list[int], queries: int) -> list[str]:
    lines = [
        "## Interactive search (one query at a time, one core)",
        "",
        f"{queries:,} queries for children on the register (each with 0, 1 or 2 errors of the kinds in issue 7 item 2, no UPN) "
        "and about a tenth as many for children not on it. False alarm: a child not on the register whose best candidate is at least 0.5 probable.",
        "",
        "| register | index build s | keys | p50 ms | p95 ms | hit@1 | recall@10 | false alarms | peak MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    by_kind: list[str] = []
    for size in sizes:
        r, _s, mb = measured(lambda size=size: search_run(size, queries))
        if isinstance(r, str):
            lines.append(f"| {size:,} | {r} | | | | | | | {mb:.0f} |")
            continue
        lines.append(
            f"| {size:,} | {r['built']:.1f} | {r['keys']:,} | {r['p50']:.2f} | {r['p95']:.2f} | "
            f"{r['hit1']:.4f} | {r['recall10']:.4f} | {r['alarms']} of {r['absent']} | {mb:.0f} |"
        )
        print(lines[-1], flush=True)
        by_kind += [
            f"Hit@1 by error kind at {size:,}: "
            + ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(r["kinds"].items())),
            "",
        ]
    return [*lines, "", *by_kind]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--link-size", type=int, default=50_000)
    parser.add_argument("--search-sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--skip-febrl", action="store_true")
    parser.add_argument("--skip-link", action="store_true")
    parser.add_argument("--skip-link-splink", action="store_true")
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    load = os.getloadavg()
    lines = [
        "# Matching benchmark (issue 7)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `bench/bench_matching.py` on a shared machine: "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} at the start (other engineers' test suites were running). "
        f"Bulk linkage used {args.workers} threads; search is single-threaded. Times are wall clock and noisy "
        "(CPU time is given where it was measured).",
        "",
    ]
    if not args.skip_febrl:
        lines += febrl_section(args.workers)
    if not args.skip_link:
        lines += link_section(args.link_size, args.workers, not args.skip_link_splink)
    if not args.skip_search:
        lines += search_section(args.search_sizes, args.queries)
    end = os.getloadavg()
    lines += [f"Load average at the end: {end[0]:.1f} (1 min), {end[1]:.1f} (5 min).", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
