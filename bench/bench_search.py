# ruff: noqa: E501  (markdown table lines are written whole)
"""Benchmark of interactive search (issue 7): one query at a time against a synthetic
register of 1 million or 10 million pupils. Writes bench/results/matching-search-<label>.md.

    .venv/bin/python bench/bench_search.py --sizes 1000000 10000000 --label after

Each size runs in its own forked process (peak memory is that process's peak resident set,
including the synthetic register itself). The register is generated as an Arrow table
(cmetrack.matching.synthetic.iter_population, so 10 million pupils are never Python
objects at once) and indexed with ``CandidateIndex.from_table``; ``--records`` indexes
through the ``PersonRecord`` iterator instead (what the register adapters use, and the
only path the index had before).

Queries: ``--queries`` children on the register, each with 0, 1 or 2 errors of the kinds
in issue 7 item 2 and no UPN, and a tenth as many children who are not on it. Reported:
p50/p95/p99 latency (all queries, and p95 of each group), hit@1 and recall@10 (present
children), false alarms (an absent child whose best candidate is at least 0.5 probable),
index build time, the time to save the index and load it back (memory-mapped), peak
memory, and the load average of this shared machine.
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

import pyarrow as pa  # type: ignore[import-untyped]  # noqa: E402

from cmetrack.matching import synthetic  # noqa: E402
from cmetrack.matching.bulk import record_from_row  # noqa: E402
from cmetrack.matching.index import CandidateIndex  # noqa: E402
from cmetrack.matching.model import default_model  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
CHUNK = 250_000


def measured(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``fn`` in a forked child: (its result, peak RSS of the child in MB)."""
    with tempfile.NamedTemporaryFile(delete=False) as handle:
        out = handle.name
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            result = fn()
        except BaseException as exc:  # reported in the table
            import traceback

            traceback.print_exc()
            result = f"FAILED: {type(exc).__name__}: {exc}"
            code = 1
        with open(out, "wb") as f:
            pickle.dump(result, f)
        os._exit(code)
    _pid, _status, usage = os.wait4(pid, 0)
    with open(out, "rb") as f:
        result = pickle.load(f)  # noqa: S301 - our own child wrote it
    os.unlink(out)
    return result, usage.ru_maxrss / 1024


def _columns(pupils: list[synthetic.Pupil]) -> pa.Table:
    return pa.table(
        {
            "given_names": [p.given_name for p in pupils],
            "middle_names": [p.middle_names for p in pupils],
            "family_name": [p.family_name for p in pupils],
            "aliases": [p.aliases for p in pupils],
            "dob": pa.array([p.dob for p in pupils], pa.date32()),
            "sex": [p.sex for p in pupils],
            "postcode": [p.postcode for p in pupils],
            "address": [p.address for p in pupils],
            "parent_names": [p.parent_names for p in pupils],
            "upns": [""] * len(pupils),
        }
    )


def register_table(
    size: int, wanted: set[int], absent_keys: set[tuple[str, str, dt.date]]
) -> tuple[pa.Table, dict[int, synthetic.Pupil], set[tuple[str, str, dt.date]]]:
    """The register as an Arrow table, the pupils at ``wanted`` positions, and which of
    ``absent_keys`` turned out to be on the register after all."""
    chunks, kept, clashes = [], {}, set()
    batch: list[synthetic.Pupil] = []
    for n, p in enumerate(synthetic.iter_population(size, seed=201)):
        if n in wanted:
            kept[n] = p
        key = (p.given_name, p.family_name, p.dob)
        if key in absent_keys:
            clashes.add(key)
        batch.append(p)
        if len(batch) == CHUNK:
            chunks.append(_columns(batch))
            batch = []
    if batch:
        chunks.append(_columns(batch))
    return pa.concat_tables(chunks).combine_chunks(), kept, clashes


def search_run(size: int, queries: int, records_path: bool) -> dict[str, Any]:
    rng = random.Random(7)
    wanted = sorted(rng.sample(range(size), queries))
    absent = synthetic.population(queries // 10, seed=999)
    absent_keys = {(p.given_name, p.family_name, p.dob) for p in absent}
    start = time.perf_counter()
    table, kept, clashes = register_table(size, set(wanted), absent_keys)
    generated = time.perf_counter() - start
    absent = [p for p in absent if (p.given_name, p.family_name, p.dob) not in clashes]
    model = default_model()
    start = time.perf_counter()
    if records_path or not hasattr(CandidateIndex, "from_table"):
        path = "PersonRecord iterator"
        index: Any = CandidateIndex(
            ((n, record_from_row(row)) for n, row in enumerate(_rows(table))), model
        )
    else:
        path = "Arrow table"
        index = CandidateIndex.from_table(table, model)
    built = time.perf_counter() - start
    del table
    saved = loaded = 0.0
    if hasattr(index, "save"):
        with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
            start = time.perf_counter()
            index.save(Path(tmp) / "index")
            saved = time.perf_counter() - start
            start = time.perf_counter()
            reloaded: Any = CandidateIndex.load(Path(tmp) / "index", model)
            loaded = time.perf_counter() - start
            # Search the reloaded (memory-mapped) index: what a web process does.
            index = reloaded
            return _queries(
                index, rng, wanted, kept, absent, size, generated, built, saved, loaded, path
            )
    return _queries(index, rng, wanted, kept, absent, size, generated, built, saved, loaded, path)


def _rows(table: pa.Table) -> Any:
    for batch in table.to_batches(max_chunksize=50_000):
        for row in batch.to_pylist():
            row["given_name"] = row.pop("given_names")
            row["upn"] = row.pop("upns")
            yield row


def _queries(
    index: Any,
    rng: random.Random,
    wanted: list[int],
    kept: dict[int, synthetic.Pupil],
    absent: list[synthetic.Pupil],
    size: int,
    generated: float,
    built: float,
    saved: float,
    loaded: float,
    path: str,
) -> dict[str, Any]:
    present_lat: list[float] = []
    absent_lat: list[float] = []
    present_cpu: list[float] = []
    absent_cpu: list[float] = []
    hit1 = hit10 = alarms = 0
    kinds: dict[str, list[int]] = {}
    order = list(wanted)
    rng.shuffle(order)
    for n in order:
        p = kept[n]
        q, applied = synthetic.with_errors(rng, p, rng.choice((0, 1, 1, 2)))
        record = synthetic.as_record(q, with_upn=False)
        t, c = time.perf_counter(), time.process_time()
        found = index.search(record, limit=10)
        present_lat.append(time.perf_counter() - t)
        present_cpu.append(time.process_time() - c)
        items = [c.item for c in found]
        h = bool(items) and items[0] == n
        hit1 += h
        hit10 += n in items
        for k in applied or ["no error"]:
            kinds.setdefault(k, [0, 0])
            kinds[k][0] += 1
            kinds[k][1] += h
    for p in absent:
        record = synthetic.as_record(p, with_upn=False)
        t, c = time.perf_counter(), time.process_time()
        found = index.search(record, limit=10)
        absent_lat.append(time.perf_counter() - t)
        absent_cpu.append(time.process_time() - c)
        alarms += bool(found) and found[0].probability >= 0.5

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(len(values) * q))] * 1000

    every = present_lat + absent_lat
    cpu = present_cpu + absent_cpu
    return {
        "size": size,
        "path": path,
        "generated": generated,
        "built": built,
        "saved": saved,
        "loaded": loaded,
        "keys": index.key_count,
        "p50": pct(every, 0.5),
        "p95": pct(every, 0.95),
        "p99": pct(every, 0.99),
        "cpu_p50": pct(cpu, 0.5),
        "cpu_p95": pct(cpu, 0.95),
        "cpu_p95_absent": pct(absent_cpu, 0.95),
        "p95_present": pct(present_lat, 0.95),
        "p95_absent": pct(absent_lat, 0.95),
        "hit1": hit1 / len(wanted),
        "recall10": hit10 / len(wanted),
        "alarms": alarms,
        "absent": len(absent),
        "kinds": kinds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--label", default="after")
    parser.add_argument("--records", action="store_true", help="index through PersonRecords")
    args = parser.parse_args()
    started = dt.datetime.now(dt.UTC)
    load_start = os.getloadavg()
    rows, by_kind = [], []
    for size in args.sizes:

        def run(size: int = size) -> Any:
            return search_run(size, args.queries, args.records)

        r, mb = measured(run)
        load = os.getloadavg()
        if isinstance(r, str):
            rows.append(f"| {size:,} | {r} | | | | | | | | | | | | {mb:.0f} | {load[0]:.1f} |")
            print(rows[-1], flush=True)
            continue
        rows.append(
            f"| {size:,} | {r['path']} | {r['built']:.1f} | {r['saved']:.1f} / {r['loaded']:.2f} | {r['keys']:,} | "
            f"{r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | {r['p95_present']:.2f} / {r['p95_absent']:.2f} | "
            f"{r['cpu_p50']:.2f} / {r['cpu_p95']:.2f} | "
            f"{r['hit1']:.4f} | {r['recall10']:.4f} | {r['alarms']} of {r['absent']} | {mb:.0f} | {load[0]:.1f} |"
        )
        print(rows[-1], f"(register generated in {r['generated']:.0f} s)", flush=True)
        by_kind += [
            f"Hit@1 by error kind at {size:,}: "
            + ", ".join(f"{k} {v[1]}/{v[0]}" for k, v in sorted(r["kinds"].items())),
            "",
        ]
    lines = [
        f"# Interactive search benchmark ({args.label})",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC by `bench/bench_search.py --sizes {' '.join(map(str, args.sizes))} --queries {args.queries}"
        f"{' --records' if args.records else ''} --label {args.label}` on a shared 2-core machine "
        f"(load average {load_start[0]:.1f} at the start; other engineers' tests were running). One query at a time, one core; wall clock.",
        "",
        f"{args.queries:,} queries for children on the register (0, 1 or 2 errors of the kinds in issue 7 item 2, no UPN) and about a tenth as many for "
        "children not on it. False alarm: a child not on the register whose best candidate is at least 0.5 probable. "
        "Build: indexing the register (not generating it). Save / load: writing the index to disk and memory-mapping it back; the queries run on the loaded index. "
        "Peak MB: the whole process, synthetic register included. "
        "CPU: the processor time of the query itself, which the other engineers' jobs inflate much less than wall-clock times (those wait for a core: up to the load average over 2).",
        "",
        "| register | indexed from | build s | save / load s | keys | p50 ms | p95 ms | p99 ms | p95 present / absent ms | CPU p50 / p95 ms | hit@1 | recall@10 | false alarms | peak MB | load avg after |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        *by_kind,
    ]
    out = RESULTS / f"matching-search-{args.label}.md"
    out.write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
