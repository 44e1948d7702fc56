# ruff: noqa: E501  (markdown table lines are written whole)
"""Matching evaluated on data the model never learnt from (issue 19 item 5).

The population and its errors come from ``cmetrack.matching.evalpop``, written apart from
``cmetrack.matching.synthetic`` (which the shipped model was trained on): its own name
lists, nickname and spelling pairs, households and error process, at rates from published
studies of administrative records (see that module's docstring and docs/matching.md).

    .venv/bin/python bench/bench_matching_eval.py --search-size 1000000 --link-size 250000

1. **Search through the service call the page makes**: the register is a bench adapter
   registered with the engine and indexed by the worker's own path
   (``jobs.refresh_register``: records batched into Arrow, saved, loaded); every query
   is ``services.search_children(user=<a CME officer>, query=SearchQuery(...))``, the
   call the find-a-child page and API make, so each timing includes scoring, the
   exclusive probabilities, the explanations of the results shown, the register's
   details and the audit row (SQLite in memory). Wall time and this process's CPU time
   are both given per query (p50/p95/p99), with the load average. Recall is reported for
   each error kind on its own and with the family moved, and for the published-rate mix;
   children not on the register give the false-alarm rate; twins are asked for by name.
   Every result shown is kept with whether it was the child: the reliability table
   (predicted probability against the share that was right, by band).
2. **Two roll snapshots** (``evalpop.snapshots``: at least 40% of families moved, errors
   at the published rates, no UPNs in the files so identifiers cannot carry it) linked by
   the command itself, ``cmetrack link a.parquet b.parquet --out pairs.csv``, run under
   ``/usr/bin/time -v`` (peak resident memory, wall, user and system CPU); precision,
   recall and F1, and recall for each error kind.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.test")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from bench_matching_calibrate import table as reliability_table  # noqa: E402

from cmetrack.matching import evalpop  # noqa: E402
from cmetrack.matching.features import PersonRecord  # noqa: E402
from cmetrack.matching.index import TABLE_COLUMNS  # noqa: E402

RESULTS = ROOT / "bench" / "results"


# --- search through the service --------------------------------------------------------

#: Children generated at a time: ten million are never Python objects at once.
CHUNK = 1_000_000
#: Children kept whole (for the queries) out of each chunk.
SAMPLE_PER_CHUNK = 20_000
_REGISTER_COLUMNS = (*TABLE_COLUMNS, "family_no", "label")


class Register:
    """The evaluation register as Arrow columns, generated a million children at a time
    (``evalpop.families`` with ``offset``: ids, UPNs and families never repeat), with a
    sample of the children kept whole to make queries from, and children of another
    population checked not to be on it (for the false-alarm queries). Saved to and read
    back from ``cache`` (var/, ignored by git) so a second run skips the generation."""

    def __init__(
        self, table: Any, sample: list[evalpop.Child], absent: list[evalpop.Child]
    ) -> None:
        self.table = table
        self.sample = sample
        self.absent = absent
        self._family = table.column("family_no")
        self._dob = table.column("dob")

    @classmethod
    def generate(cls, size: int, seed: int, absent_count: int) -> Register:
        import pyarrow as pa  # type: ignore[import-untyped]

        rng = random.Random(seed + 1)
        absent = {
            (c.given, c.surname, c.dob): c
            for c in evalpop.families(absent_count, seed=seed + 99, offset=900_000_000)
        }
        parts, sample = [], []
        done = 0
        while done < size:
            n = min(CHUNK, size - done)
            # The first million is the population of the earlier runs (seed, offset 0).
            part = evalpop.families(
                n, seed=seed if done == 0 else seed * 1000 + done // CHUNK, offset=done
            )
            for c in part:
                absent.pop((c.given, c.surname, c.dob), None)
            take = min(n, SAMPLE_PER_CHUNK)
            sample += rng.sample(part, take)
            # Twins with their twin, so "twin, exact" queries exist at every size.
            sample += [c for c in part if c.twin_of][: max(1, take // 100)]
            parts.append(
                pa.table(
                    {
                        "given_names": [c.given for c in part],
                        "middle_names": [c.middle for c in part],
                        "family_name": [c.surname for c in part],
                        "aliases": [""] * n,
                        "dob": [c.dob.isoformat() for c in part],
                        "sex": [c.sex for c in part],
                        "postcode": [c.postcode for c in part],
                        "address": [c.address for c in part],
                        "parent_names": [";".join(c.parents) for c in part],
                        "upns": [c.upn for c in part],
                        "family_no": pa.array([c.family for c in part], pa.int64()),
                        "label": [f"{c.given} {c.surname}" for c in part],
                    }
                )
            )
            done += n
            del part
            print(f"generated {done:,} of {size:,}", flush=True)
        table = pa.concat_tables(parts).combine_chunks()
        unique = {c.id: c for c in sample}
        return cls(table, list(unique.values()), list(absent.values()))

    def save(self, folder: Path) -> None:
        import pickle

        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(self.table, folder / "register.parquet")
        with (folder / "children.pickle").open("wb") as f:
            pickle.dump((self.sample, self.absent), f)

    @classmethod
    def load(cls, folder: Path) -> Register:
        import pickle

        import pyarrow.parquet as pq

        with (folder / "children.pickle").open("rb") as f:
            sample, absent = pickle.load(f)  # noqa: S301 (our own file in var/)
        return cls(pq.read_table(folder / "register.parquet").combine_chunks(), sample, absent)

    def family(self, row: int) -> int:
        return int(self._family[row].as_py())

    def dob(self, row: int) -> str:
        return str(self._dob[row].as_py())


class _Refs:
    """Row n of the register is ``RegisterRef("evalroll", n)`` (without a list of ten
    million of them)."""

    def __init__(self, name: str, n: int) -> None:
        self.name, self.n = name, n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> Any:
        from cmetrack.matching.adapters import RegisterRef

        return RegisterRef(self.name, i)


class BenchAdapter:
    """A register of evaluation children held in memory (a school roll's stand-in)."""

    name = "evalroll"
    label = "Evaluation roll"

    def __init__(self, register: Register) -> None:
        self.register = register

    def signature(self) -> tuple[object, ...]:
        return (self.register.table.num_rows,)

    def records(self) -> Iterator[tuple[Any, PersonRecord]]:
        from cmetrack.matching.adapters import RegisterRef

        n = 0
        for batch in self.register.table.to_batches(50_000):
            cols = batch.to_pydict()
            for i in range(batch.num_rows):
                yield (
                    RegisterRef(self.name, n),
                    PersonRecord(
                        given_names=cols["given_names"][i],
                        middle_names=cols["middle_names"][i],
                        family_name=cols["family_name"][i],
                        dob=dt.date.fromisoformat(cols["dob"][i]),
                        sex=cols["sex"][i],
                        postcode=cols["postcode"][i],
                        address=cols["address"][i],
                        parent_names=tuple(cols["parent_names"][i].split(";")),
                        upns=(cols["upns"][i],),
                    ),
                )
                n += 1

    def permitted(self, user: Any, refs: Sequence[Any]) -> set[Any]:
        return set(refs)

    def details(self, refs: Sequence[Any]) -> dict[Any, Any]:
        import pyarrow as pa

        from cmetrack.matching.adapters import ResultDetails

        # The row numbers as an Arrow array: given a Python list, Arrow's take tries to
        # import dateutil on every call (0.1 ms a search) while converting it.
        rows = (
            self.register.table.select(["label", "dob", "postcode", "upns"])
            .take(pa.array([ref.pk for ref in refs], pa.int64()))
            .to_pydict()
        )
        return {
            ref: ResultDetails(
                rows["label"][i],
                rows["dob"][i],
                "Evaluation roll",
                rows["postcode"][i],
                rows["upns"][i],
            )
            for i, ref in enumerate(refs)
        }


def _query(record: PersonRecord) -> Any:
    from cmetrack.matching.services import SearchQuery

    return SearchQuery(
        given_names=record.given_names,
        middle_names=record.middle_names,
        family_name=record.family_name,
        dob=record.dob if isinstance(record.dob, dt.date) else None,
        sex=record.sex,
        postcode=record.postcode,
        address=record.address,
        parent_names=tuple(record.parent_names),
        upn=record.upns[0] if record.upns else "",
    )


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def _calibration_words(model: Any) -> str:
    cal = getattr(model, "calibration", None)
    if cal is None:
        return " (no calibration)"
    return f" with its calibration ({len(cal.knots)} knots; {cal.source})"


def _position(c: evalpop.Child) -> int:
    return int(c.id[1:])  # ids are the row numbers (Register.generate)


def make_queries(
    register: Register, per_kind: int, seed: int, mix_queries: int = 0
) -> list[tuple[str, PersonRecord, int | None]]:
    """The benchmark's queries, shuffled: (label, record, the child's row or None when
    the child is not on the register). ``mix_queries``: only that many of the
    published-rate mix and the children not on the register (a realistic stream of
    searches, for the calibration)."""
    rng = random.Random(seed + 5)
    children = register.sample

    # The queries: (label, record, the child's position or None when absent)
    queries: list[tuple[str, PersonRecord, int | None]] = []
    kinds = [k for k in evalpop.ERROR_KINDS if k not in ("moved", "upn_missing")]
    if mix_queries:
        kinds = []  # only the published-rate mix and the children not on the register
    for kind in ["exact", *kinds, "moved"] if not mix_queries else []:
        for moved in (False, True) if kind not in ("exact", "moved") else (False,):
            got = 0
            for _ in range(per_kind * 20):
                if got >= per_kind:
                    break
                c = rng.choice(children)
                q = c if kind == "exact" else evalpop.corrupt(rng, c, kind)
                if q is None:
                    continue
                if moved:
                    q = evalpop.corrupt(rng, q, "moved") or q
                # Queries carry no UPN (a referral rarely has one) except where the
                # identifier is what is tested (below).
                label = kind + (" + moved" if moved else "")
                queries.append((label, q.record(with_upn=False), _position(c)))
                got += 1
    # The identifier on its own terms: a valid UPN with a mistyped given name, the family
    # moved and the surname changed.
    for _ in range(per_kind if not mix_queries else 0):
        c = rng.choice(children)
        q = evalpop.corrupt(rng, c, "given_typo") or c
        q = evalpop.corrupt(rng, q, "surname_changed") or q
        q = evalpop.corrupt(rng, q, "moved") or q
        queries.append(("UPN + typo + surname changed + moved", q.record(), _position(c)))
    # The published-rate mix (forename 12%, surname 18%, moved 45%…).
    for _ in range(mix_queries or per_kind * 4):
        c = rng.choice(children)
        q, _applied = evalpop.realistic_errors(
            rng, c, (evalpop._postcode(rng), evalpop._address(rng)) if rng.random() < 0.45 else None
        )
        queries.append(("published-rate mix", q.record(with_upn=False), _position(c)))
    # Twins asked for by their own details.
    twins = [c for c in children if c.twin_of]
    for c in rng.sample(twins, min(per_kind if not mix_queries else 0, len(twins))):
        queries.append(("twin, exact", c.record(with_upn=False), _position(c)))
    # Children who are not on the register (another seed's population).
    for c in register.absent:
        queries.append(("not on the register", c.record(with_upn=False), None))
    rng.shuffle(queries)
    return queries


def search_section(
    size: int,
    per_kind: int,
    seed: int,
    *,
    build: str,
    cache: Path | None,
    dump: Path | None,
    mix_queries: int = 0,
) -> list[str]:
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_test_environment

    from cmetrack.accounts.roles import Role
    from cmetrack.accounts.tests.factories import UserFactory
    from cmetrack.matching.adapters import ADAPTERS, adapter_register
    from cmetrack.matching.index import CandidateIndex
    from cmetrack.matching.jobs import _manifest, refresh_register
    from cmetrack.matching.model import current_model
    from cmetrack.matching.services import _search, search_children
    from cmetrack.matching.store import current_store

    setup_test_environment()
    connection.creation.create_test_db(verbosity=0)
    officer: Any = UserFactory(roles=(Role.CME_OFFICER,))  # type: ignore[no-untyped-call]
    started = time.perf_counter()
    if cache is not None and (cache / "register.parquet").exists():
        register = Register.load(cache)
        how_made = f"read from {cache} (made earlier by this benchmark with the same arguments)"
    else:
        register = Register.generate(size, seed, per_kind * 3)
        how_made = "generated"
        if cache is not None:
            register.save(cache)
    generated = time.perf_counter() - started
    adapter = BenchAdapter(register)
    adapter_register(adapter)
    started, cpu = time.perf_counter(), time.process_time()
    if build == "worker":
        refresh_register(adapter, full=True)
        build_words = "by `jobs.refresh_register` (the worker's path, records read one by one)"
    else:
        model = current_model()
        index: Any = CandidateIndex.from_table(
            register.table.select(list(TABLE_COLUMNS)),
            model,
            items=_Refs(adapter.name, size),  # type: ignore[arg-type]
        )
        seconds = time.perf_counter() - started
        manifest = _manifest(
            adapter,
            model,
            signature=repr(adapter.signature()),
            watermark={},
            records=len(index),
            build="full",
            appended_since_full=0,
            seconds=seconds,
        )
        current_store().save(manifest, index)
        build_words = (
            "from the register's Arrow table (`CandidateIndex.from_table`, the same index the "
            "worker's path builds, without reading ten million records one by one) and saved "
            "to the store searches read"
        )
    built, built_cpu = time.perf_counter() - started, time.process_time() - cpu
    for empty in ADAPTERS:  # the page searches every register (the others are empty here)
        if empty is not adapter:
            refresh_register(empty, full=True)
    # As in production: a search never builds an index (the test settings let it).
    settings.CMETRACK_SEARCH_INDEX_BUILD_IN_REQUEST = False
    queries = make_queries(register, per_kind, seed, mix_queries)

    walls: list[float] = []
    cpus: list[float] = []
    by_label: dict[str, Counter[str]] = defaultdict(Counter)
    shown: list[tuple[float, bool]] = []
    load_start = os.getloadavg()
    # Warm-up: the first queries map the index and fill caches.
    for _label, record, _pos in queries[:20]:
        search_children(user=officer, query=_query(record))
    dumped = []
    for label, record, pos in queries:
        w0, c0 = time.perf_counter(), time.process_time()
        results = search_children(user=officer, query=_query(record))
        walls.append((time.perf_counter() - w0) * 1000)
        cpus.append((time.process_time() - c0) * 1000)
        if dump is not None:
            # Untimed: every candidate's weight (not only those shown), for fitting and
            # checking the calibration (bench_matching_calibrate.py).
            found = _search(
                query=_query(record).as_record(), adapters=list(ADAPTERS), user=officer, limit=10
            )
            dumped.append(
                {
                    "label": label,
                    "prior": 1.0 / size,
                    "weights": [c.weight for _a, c in found],
                    "right": next((i for i, (_a, c) in enumerate(found) if c.item.pk == pos), None)
                    if pos is not None
                    else None,
                    "present": pos is not None,
                }
            )
        counts = by_label[label]
        counts["n"] += 1
        for r in results:
            shown.append((r.probability, pos is not None and r.ref.pk == pos))
        if pos is None:
            if results and results[0].probability >= 0.5:
                counts["false alarm"] += 1
            if results and results[0].band == "strong":
                counts["false strong"] += 1
            continue
        if results and results[0].ref.pk == pos:
            counts["top"] += 1
            if results[0].band == "strong":
                counts["strong"] += 1
            if results[0].equally_good:
                counts["tie"] += 1
        if any(r.ref.pk == pos for r in results):
            counts["shown"] += 1
        if label == "twin, exact":
            twin = [
                r
                for r in results
                if r.ref.pk != pos
                and register.family(r.ref.pk) == register.family(pos)
                and register.dob(r.ref.pk) == register.dob(pos)
            ]
            if any(r.probability >= 0.5 for r in twin):
                counts["twin above 0.5"] += 1
    load_end = os.getloadavg()
    if dump is not None:
        import json

        dump.parent.mkdir(parents=True, exist_ok=True)
        dump.write_text("\n".join(json.dumps(d) for d in dumped) + "\n", encoding="utf-8")

    lines = [
        f"## Search through `services.search_children` ({size:,} children)",
        "",
        f"Register {how_made} in {generated:.1f} s; index built {build_words} in "
        f"{built:.1f} s wall, {built_cpu:.1f} s CPU of this process; peak resident memory of the "
        f"benchmark process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB. "
        f"Model `{current_model().version}`{_calibration_words(current_model())}. {len(queries):,} queries after 20 to warm up, "
        f"one at a time. Load average {load_start[0]:.1f} at the start and {load_end[0]:.1f} at the end "
        f"({os.cpu_count()} cores, shared with other sessions' work).",
        "",
        "| per query | p50 ms | p95 ms | p99 ms | mean ms |",
        "|---|---|---|---|---|",
        f"| wall | {_percentile(walls, 0.5):.2f} | {_percentile(walls, 0.95):.2f} | {_percentile(walls, 0.99):.2f} | {sum(walls) / len(walls):.2f} |",
        f"| CPU (this process) | {_percentile(cpus, 0.5):.2f} | {_percentile(cpus, 0.95):.2f} | {_percentile(cpus, 0.99):.2f} | {sum(cpus) / len(cpus):.2f} |",
        "",
        "Recall by kind of error (queries without a UPN unless the row says so). *top*: the child is the first "
        "result; *strong*: first and shown as a strong match (≥ 0.9); *shown*: among the results at all "
        "(≥ 0.01); *tie*: first but flagged 'two records match equally well'.",
        "",
        "| queries | n | top | strong | shown | tie | other |",
        "|---|---|---|---|---|---|---|",
    ]
    for label in sorted(by_label):
        counted = by_label[label]
        n = counted["n"]
        other = ", ".join(
            f"{k} {counted[k]}"
            for k in ("false alarm", "false strong", "twin above 0.5")
            if counted[k]
        )
        if label == "not on the register":
            lines.append(
                f"| {label} | {n} | | | | | false alarms (best ≥ 0.5) {counted['false alarm']}, shown as strong {counted['false strong']} |"
            )
            continue
        lines.append(
            f"| {label} | {n} | {counted['top'] / n:.3f} | {counted['strong'] / n:.3f} | {counted['shown'] / n:.3f} | {counted['tie']} | {other} |"
        )
    lines += [
        "",
        "Reliability: every result shown (probability ≥ 0.01), its predicted probability against whether it was "
        "the child asked for.",
        "",
    ]
    lines += reliability_table(shown)
    lines.append("")
    connection.creation.destroy_test_db(":memory:", verbosity=0)
    return lines


# --- two snapshots linked by the command -----------------------------------------------


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(rows[0])
    pq.write_table(pa.table({c: [r[c] for r in rows] for c in columns}), path)


def link_section(size: int, seed: int, workers: int) -> list[str]:
    first, second, kinds = evalpop.snapshots(size, seed=seed)
    moved_families = {c.family for c in second if "moved" in kinds.get(c.id, [])}
    families = {c.family for c in first}
    with tempfile.TemporaryDirectory() as tmp:
        a, b, out = Path(tmp) / "a.parquet", Path(tmp) / "b.parquet", Path(tmp) / "pairs.csv"
        _write(a, [c.row(with_upn=False) for c in first])
        _write(b, [c.row(with_upn=False) for c in second])
        command = [
            str(ROOT / ".venv" / "bin" / "cmetrack"),
            "link",
            str(a),
            str(b),
            "--out",
            str(out),
            "--workers",
            str(workers),
        ]
        load = os.getloadavg()
        done = subprocess.run(  # noqa: S603 (our own command line)
            ["/usr/bin/time", "-v", *command], capture_output=True, text=True, cwd=ROOT, check=False
        )
        if done.returncode != 0:
            return [
                "## Two snapshots linked by `cmetrack link`",
                "",
                "Failed:",
                "",
                "```",
                done.stderr[-3000:],
                "```",
                "",
            ]
        stats = dict(re.findall(r"^\s*(.+?):\s+(.+)$", done.stderr, re.M))
        with out.open() as f:
            pairs = {(r["left_id"], r["right_id"]) for r in csv.DictReader(f)}
    truth = {c.id for c in second if not c.id.startswith("J")}
    true_pairs = {(i, i) for i in truth}
    tp = len(pairs & true_pairs)
    precision = tp / len(pairs) if pairs else 0.0
    recall = tp / len(true_pairs)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for i in truth:
        for k in kinds.get(i, []) or ["none"]:
            per_kind[k][0] += 1
            per_kind[k][1] += (i, i) in pairs
    wall = stats.get("Elapsed (wall clock) time (h:mm:ss or m:ss)", "?")
    peak = int(stats.get("Maximum resident set size (kbytes)", "0")) / 1024
    lines = [
        f"## Two snapshots of {size:,} children linked by `cmetrack link`",
        "",
        f"`{' '.join(['cmetrack', *command[1:]])}` (files in a temporary directory; no UPNs in either). "
        f"{len(moved_families):,} of {len(families):,} families moved ({len(moved_families) / len(families):.1%}); "
        f"{len(second):,} pupils in the second snapshot, {len(truth):,} of them in the first. "
        f"Load average {load[0]:.1f} at the start.",
        "",
        "| pairs | precision | recall | F1 | wall | user CPU s | system CPU s | peak memory |",
        "|---|---|---|---|---|---|---|---|",
        f"| {len(pairs):,} | {precision:.4f} | {recall:.4f} | **{f1:.4f}** | {wall} | {stats.get('User time (seconds)', '?')} | "
        f"{stats.get('System time (seconds)', '?')} | {peak:,.0f} MB |",
        "",
        "Recall by the errors the second snapshot's record carries (a record may carry several):",
        "",
        "| error | true pairs | linked | recall |",
        "|---|---|---|---|",
    ]
    for k, (n, got) in sorted(per_kind.items(), key=lambda kv: -kv[1][0]):
        lines.append(f"| {k} | {n:,} | {got:,} | {got / n:.4f} |")
    lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--search-size", type=int, default=100_000)
    parser.add_argument("--per-kind", type=int, default=100)
    parser.add_argument("--link-size", type=int, default=250_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--skip-search", action="store_true")
    parser.add_argument("--skip-link", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS / "matching-eval.md")
    parser.add_argument(
        "--build",
        choices=("worker", "table"),
        default="worker",
        help="index the register through the worker's path (records one by one) or from its Arrow table",
    )
    parser.add_argument(
        "--cache", type=Path, help="keep the generated register here (var/...) and reuse it"
    )
    parser.add_argument(
        "--dump", type=Path, help="write every query's candidate weights here (JSON lines)"
    )
    parser.add_argument(
        "--mix-queries",
        type=int,
        default=0,
        help="only this many searches of the published-rate mix, and the children not on the "
        "register (per kind x 3): a realistic stream, for the calibration",
    )
    parser.add_argument(
        "--generate-only", action="store_true", help="make the --cache register and stop"
    )
    parser.add_argument(
        "--duckdb-memory",
        help="DuckDB's memory while the index's keys are sorted (index.DUCKDB_MEMORY, 2GB by default)",
    )
    args = parser.parse_args()
    if args.duckdb_memory:
        from cmetrack.matching import index

        index.DUCKDB_MEMORY = args.duckdb_memory
    if args.generate_only:
        Register.generate(args.search_size, args.seed, args.per_kind * 3).save(args.cache)
        return
    lines = [
        "# Matching on an independent evaluation population (issue 19)",
        "",
        f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC: `.venv/bin/python bench/bench_matching_eval.py "
        + " ".join(sys.argv[1:])
        + f"` on {os.cpu_count()} cores shared with other sessions (load average {os.getloadavg()[0]:.1f} at the start). "
        "Data: `cmetrack.matching.evalpop` (not the generator the model learnt from); rates and sources in docs/matching.md.",
        "",
    ]
    if not args.skip_link:
        lines += link_section(args.link_size, args.seed, args.workers)
        print("\n".join(lines), flush=True)
    if not args.skip_search:
        lines += search_section(
            args.search_size,
            args.per_kind,
            args.seed,
            build=args.build,
            cache=args.cache,
            dump=args.dump,
            mix_queries=args.mix_queries,
        )
    lines.append(f"Load average at the end: {os.getloadavg()[0]:.1f}.")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
