"""Bulk linkage and batch search over files.

Files are CSV or Parquet with the columns ``id, given_name, middle_names, family_name,
aliases, dob, sex, postcode, address, parent_names, upn`` (any may be missing except
``id``); ``aliases`` and ``parent_names`` hold several values separated by ``;``.

:func:`link_files` (``cmetrack link``) runs on DuckDB or Spark as set-based SQL
(``bulk_sql.py``), or, as the reference, through the interactive index and scorer: the
right file is indexed and every left record looked up in it (deduplicating: the one file,
each record leaving itself out), in ``workers`` forked processes sharing the index
read-only. Linking two files is one to one unless asked otherwise (:func:`one_to_one`).
Batch search (:func:`search_batch`) always uses the index.
"""

from __future__ import annotations

import csv
import datetime as dt
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import assign, bulk_sql
from .bulk_sql import COLUMNS as COLUMNS
from .bulk_sql import FileError as FileError
from .features import PersonRecord, features_of, parse_aliases
from .index import STAGE_BUDGETS, CandidateIndex
from .model import MatchModel
from .normalise import dob_parts, split_list
from .scorer import Scorer
from .training import train

#: Candidates kept per record in linkage (pairs above the threshold beyond these are rare).
LINK_TOP = 10
#: Where a bulk run is executed: DuckDB on this machine (the default), Spark (local here,
#: a cluster at national scale) or the interactive index record by record in Python (the
#: reference the SQL paths are tested against).
ENGINES = ("duckdb", "spark", "python")
#: What ``--engine spark`` says when the optional spark extra is not installed.
SPARK_MISSING = (
    "--engine spark needs the spark extra, which is not installed: "
    "pip install 'cmetrack[spark]' (or pip install -r requirements/spark.txt), "
    "and Java 17 or newer. The default engine (duckdb) needs neither."
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()[:10]
    return str(value).strip()


def record_from_row(row: dict[str, Any]) -> PersonRecord:
    upn = _text(row.get("upn"))
    return PersonRecord(
        given_names=_text(row.get("given_name")),
        middle_names=_text(row.get("middle_names")),
        family_name=_text(row.get("family_name")),
        aliases=parse_aliases(_text(row.get("aliases"))),
        dob=_text(row.get("dob")) or None,
        sex=_text(row.get("sex")),
        postcode=_text(row.get("postcode")),
        address=_text(row.get("address")),
        parent_names=split_list(_text(row.get("parent_names"))),
        upns=tuple(split_list(upn)),
    )


def read_people(path: Path) -> list[tuple[str, PersonRecord]]:
    """Every row of a CSV or Parquet file as (id, record)."""
    if not path.exists():
        raise FileError(f"{path}: no such file")
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # type: ignore[import-untyped]

        rows: Iterable[dict[str, Any]] = pq.read_table(path).to_pylist()
        header: Sequence[str] = pq.read_schema(path).names
    else:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            rows = list(reader)
    if "id" not in header:
        raise FileError(f"{path}: there is no id column (columns: {', '.join(header)})")
    out = []
    seen: set[str] = set()
    for line, row in enumerate(rows, start=2):
        ident = _text(row.get("id"))
        if not ident:
            raise FileError(f"{path}: line {line}: the id is blank")
        if ident in seen:
            raise FileError(f"{path}: line {line}: the id {ident} appears twice")
        seen.add(ident)
        out.append((ident, record_from_row(row)))
    return out


def write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write CSV, or Parquet when the name ends in .parquet. Returns the number of rows."""
    materialised = list(rows)
    if path.suffix.lower() == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {name: [r[i] for r in materialised] for i, name in enumerate(header)}
        pq.write_table(pa.table(columns), path)
    else:
        with path.open("w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(materialised)
    return len(materialised)


# --- running lookups in forked workers -------------------------------------------------

_state: dict[str, Any] = {}


@dataclass(frozen=True)
class _Job:
    limit: int
    threshold: float
    dedupe: bool
    prior: float
    timed: bool


def _lookup(chunk: list[tuple[int, str, PersonRecord]]) -> list[tuple[Any, ...]]:
    index: CandidateIndex[int] = _state["index"]
    job: _Job = _state["job"]
    ids: list[str] = _state["ids"]
    out: list[tuple[Any, ...]] = []
    for number, ident, record in chunk:
        start = time.perf_counter()
        found = index.search(
            record,
            limit=job.limit,
            prior=job.prior,
            exclude=number if job.dedupe else None,
            # A file's duplicates come in groups: a record that has found one of its
            # group still looks for the others (as the DuckDB path does).
            all_stages=job.dedupe,
            budgets=STAGE_BUDGETS,  # as the DuckDB path (bulk_sql) scores
        )
        elapsed = time.perf_counter() - start
        if job.timed:
            out.append((ident, [(ids[c.item], c.probability) for c in found], elapsed))
            continue
        for c in found:
            if c.probability < job.threshold:
                break
            out.append((ident, ids[c.item], c.probability))
    return out


def _run(
    index: CandidateIndex[int],
    ids: list[str],
    queries: list[tuple[int, str, PersonRecord]],
    job: _Job,
    workers: int,
) -> Iterator[tuple[Any, ...]]:
    _state.update(index=index, ids=ids, job=job)
    size = max(1, min(2000, len(queries) // max(workers * 8, 1) + 1))
    chunks = [queries[i : i + size] for i in range(0, len(queries), size)]
    if workers <= 1 or len(chunks) <= 1:
        for chunk in chunks:
            yield from _lookup(chunk)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        for part in pool.imap(_lookup, chunks):
            yield from part


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


def link(
    left: list[tuple[str, PersonRecord]],
    right: list[tuple[str, PersonRecord]] | None,
    *,
    model: MatchModel,
    threshold: float,
    workers: int = 1,
    family_rules: bool = True,
) -> list[tuple[str, str, float]]:
    """Pairs (left id, right id, probability) at or above ``threshold``; with no
    ``right``, the duplicate pairs within ``left`` (each pair once, lower id first).
    The reference path: the interactive index and scorer, record by record."""
    dedupe = right is None
    target = left if right is None else right
    ids = [ident for ident, _r in target]
    index = CandidateIndex(
        ((n, r) for n, (_i, r) in enumerate(target)), model, family_rules=family_rules
    )
    job = _Job(LINK_TOP, threshold, dedupe, 1.0 / max(len(target), 1), timed=False)
    queries = [(n, ident, r) for n, (ident, r) in enumerate(left)]
    pairs: dict[tuple[str, str], float] = {}
    for a, b, p in _run(index, ids, queries, job, workers):
        key = (a, b) if not dedupe or a < b else (b, a)
        if p > pairs.get(key, -1.0):
            pairs[key] = p
    return sorted(((a, b, p) for (a, b), p in pairs.items()), key=lambda t: (-t[2], t[0], t[1]))


def one_to_one(
    pairs: Sequence[tuple[str, str, float]], *, threshold: float = 0.0
) -> list[tuple[str, str, float]]:
    """Each left and each right record in at most one pair, chosen optimally within each
    block of competing pairs (:func:`assign.one_to_one`: the Hungarian algorithm on the
    pairs' log-likelihood ratios, not most-probable-first).

    When two files each list a child once (two snapshots of a roll, two registers without
    duplicates), a record has at most one true partner; a second candidate above the
    threshold is then a brother or sister, or a look-alike. That is how linkage of two
    files is run by default (``cmetrack link``; ``--many-to-many`` keeps every pair, for
    files that hold duplicates themselves)."""
    return assign.one_to_one(pairs, threshold=threshold)


def cluster_rows(
    path: Path,
    pairs: Sequence[tuple[str, str, float]],
    *,
    model: MatchModel,
    family_rules: bool,
) -> list[tuple[str, str, str, float, int, str]]:
    """The duplicate ``pairs`` of the file at ``path`` as clusters (:func:`assign.clusters`):
    (cluster id, record id, linked to, probability, cluster size, reasons), the reasons
    being the scorer's explanation of the pair that brought the record in."""
    members = assign.clusters(pairs)
    wanted = {m.record for m in members}
    records = {ident: r for ident, r in read_people(path) if ident in wanted}
    scorer = Scorer(model, family_rules=family_rules)
    out = []
    for m in members:
        reasons = ""
        if m.linked_to and m.record in records and m.linked_to in records:
            a = features_of(records[m.record])[0]
            b = features_of(records[m.linked_to])[0]
            reasons = scorer.explain(a, b).explanation
        out.append((m.cluster, m.record, m.linked_to, round(m.probability, 6), m.size, reasons))
    return out


#: Above this age (at today's date) a record is of an adult: a children's register holds
#: pupils up to 19, and up to 25 with an education, health and care plan.
ADULT_AGE = 25


def guess_profile(
    dobs: Iterable[dt.date | str | None], *, today: dt.date | None = None
) -> str | None:
    """ "generic" when most of the dates of birth ``dobs`` are of adults (the twin and
    sibling rules are about children: among adults a shared surname, address and date of
    birth with another given name is as often the same person with a name recorded
    wrongly), "children" when most are not, None when none has a year."""

    year = (today or dt.date.today()).year
    adults = dated = 0
    for dob in dobs:
        born = dob_parts(dob)[0] if dob else 0
        if born:
            dated += 1
            adults += year - born > ADULT_AGE
    if not dated:
        return None
    return "generic" if adults * 2 > dated else "children"


def file_dobs(path: Path, limit: int = 20_000) -> list[str]:
    """Up to ``limit`` values of a linkage file's dob column (none when it has none), read
    without the other columns."""
    import pyarrow as pa
    import pyarrow.csv as pacsv  # type: ignore[import-untyped]
    import pyarrow.parquet as pq

    if not path.exists():
        raise FileError(f"{path}: no such file")
    try:
        if path.suffix.lower() == ".parquet":
            if "dob" not in pq.read_schema(path).names:
                return []
            column = pq.read_table(path, columns=["dob"]).column("dob")
        else:
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    include_columns=["dob"],
                    include_missing_columns=True,
                    column_types={"dob": pa.string()},
                ),
            )
            column = table.column("dob")
    except (pa.ArrowInvalid, OSError) as exc:
        raise FileError(f"{path}: cannot be read ({exc})") from exc
    return [str(v) for v in column.slice(0, limit).to_pylist() if v is not None]


def train_on_files(
    paths: Sequence[Path],
    *,
    fallback: MatchModel,
    profile: str,
    seed: int = 1,
) -> MatchModel:
    """A model trained without labels (Splink's EM) on the people of ``paths``: how a
    file from elsewhere is linked with weights that fit its own errors. Raises
    :class:`FileError` or ``training.TrainingError``."""

    rows = [
        (f"{path.name}:{ident}", features_of(record)[0])
        for path in paths
        for ident, record in read_people(path)
    ]
    return train(
        rows,
        fallback=fallback,
        seed=seed,
        source="files " + ", ".join(p.name for p in paths),
        profile=profile,
    )


def link_files(
    left: Path,
    right: Path | None,
    *,
    model: MatchModel,
    threshold: float,
    engine: str = "duckdb",
    family_rules: bool | None = None,
    one_to_one_links: bool = True,
    workers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> list[tuple[str, str, float]]:
    """Pairs (left id, right id, probability) at or above ``threshold`` between two files,
    or the duplicate pairs within ``left`` (each once, lower id first). ``family_rules``
    defaults to the model's profile; linking two files keeps pairs one to one unless
    ``one_to_one_links`` is false (see :func:`one_to_one`)."""

    rules = model.family_rules if family_rules is None else family_rules
    if engine == "python":
        pairs = link(
            read_people(left),
            read_people(right) if right is not None else None,
            model=model,
            threshold=threshold,
            workers=workers,
            family_rules=rules,
        )
    elif engine in ("duckdb", "spark"):
        run = bulk_sql.link_duckdb if engine == "duckdb" else bulk_sql.link_spark
        pairs = run(
            left,
            right,
            model=model,
            threshold=threshold,
            family_rules=rules,
            threads=max(1, workers),
            progress=progress,
        ).pairs
    else:
        raise ValueError(f"unknown engine {engine!r} (one of {', '.join(ENGINES)})")
    if right is not None and one_to_one_links:
        return one_to_one(pairs, threshold=threshold)
    return pairs


def search_batch(
    register: list[tuple[str, PersonRecord]],
    queries: list[tuple[str, PersonRecord]],
    *,
    model: MatchModel,
    top: int,
    workers: int = 1,
) -> tuple[list[tuple[str, list[tuple[str, float]], float]], float]:
    """For each query its ``top`` candidates with probabilities and the seconds the
    lookup took; and the seconds the index took to build."""
    start = time.perf_counter()
    ids = [ident for ident, _r in register]
    index = CandidateIndex(((n, r) for n, (_i, r) in enumerate(register)), model)
    built = time.perf_counter() - start
    job = _Job(top, 0.0, False, 1.0 / max(len(register), 1), timed=True)
    rows = list(_run(index, ids, [(-1, i, r) for i, r in queries], job, workers))
    return [(q, cands, t) for q, cands, t in rows], built
