"""The attendance store: Parquet files of marks, appended to by each import, compacted later.

Layout under the attendance folder (``ATTENDANCE_DIR``, default ``VAR_DIR/attendance``)::

    school=<LAESTAB>/year=<YYYY>/marks.parquet             the compacted marks (sorted)
    school=<LAESTAB>/year=<YYYY>/delta-<NNNNNNNNNNNN>.parquet   one import's new or changed marks
    _state/                                                 detection's open runs (see below)

An import never rewrites a file: it writes only the marks that are new or changed for each
school and year as a *delta* named after its import run (zero-padded, so names sort in
the order of the imports). A mark's value is the one in the newest file that has it
(natural key: school, pupil, date, session): a later delta beats an earlier one and any
delta beats ``marks.parquet``. :func:`create_store_view` gives that view to DuckDB.

:func:`compact` (the scheduled ``attendance-compact`` job, and ``cmetrack
compact_attendance``) folds a partition's deltas into its ``marks.parquet``: the merged
file is written to a temporary name and renamed over the old one, then the folded deltas
are removed. Only deltas that detection has already read (``only``) are folded, so the
next incremental detection still finds every mark it has not seen as a delta.

Readers and the compactor take :func:`store_lock` (shared to read or append, exclusive to
compact), so a detection never sees a delta vanish under it.

Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASE_NAME = "marks.parquet"
DELTA_PATTERN = re.compile(r"^delta-(\d{12})\.parquet$")
STATE_DIR = "_state"
LOCK_NAME = ".store.lock"


def delta_name(seq: int) -> str:
    """The file name of import ``seq``'s delta (names sort in import order)."""
    return f"delta-{int(seq):012d}.parquet"


def delta_seq(path: Path | str) -> int:
    match = DELTA_PATTERN.match(Path(path).name)
    if match is None:
        raise ValueError(f"{path} is not a delta file")
    return int(match.group(1))


def partition_dir(root: Path, laestab: str, year: int) -> Path:
    return root / f"school={laestab}" / f"year={int(year)}"


@dataclass(frozen=True)
class StoreFiles:
    bases: list[str]
    deltas: list[str]

    @property
    def empty(self) -> bool:
        return not self.bases and not self.deltas


def store_files(
    root: Path, *, laestabs: Iterable[str] | None = None, deltas_after: int | None = None
) -> StoreFiles:
    """The store's files (of ``laestabs`` only, if given); ``deltas_after`` keeps only
    the deltas of later imports."""
    if not root.exists():
        return StoreFiles([], [])
    if laestabs is None:
        folders = sorted(root.glob("school=*/year=*"))
    else:
        folders = sorted(
            p for la in sorted(set(laestabs)) for p in root.glob(f"school={la}/year=*")
        )
    bases: list[str] = []
    deltas: list[str] = []
    for folder in folders:
        base = folder / BASE_NAME
        if base.is_file():
            bases.append(str(base))
        for entry in sorted(folder.iterdir()):
            match = DELTA_PATTERN.match(entry.name)
            if match and (deltas_after is None or int(match.group(1)) > deltas_after):
                deltas.append(str(entry))
    return StoreFiles(bases, deltas)


def store_files_in(folder: Path) -> list[str]:
    """One partition's files: its compacted marks, then its deltas in import order."""
    if not folder.is_dir():
        return []
    base = folder / BASE_NAME
    deltas = sorted(str(p) for p in folder.iterdir() if DELTA_PATTERN.match(p.name))
    return ([str(base)] if base.is_file() else []) + deltas


def latest_delta_seq(root: Path) -> int:
    """The newest import's number among the deltas (0 if there are none)."""
    files = store_files(root)
    return max((delta_seq(p) for p in files.deltas), default=0)


def _list_sql(paths: Iterable[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


_COLUMNS = (
    "CAST(laestab AS VARCHAR) AS laestab, CAST(upn AS VARCHAR) AS upn, "
    "CAST(date AS DATE) AS d, CAST(session AS VARCHAR) AS session, "
    "CAST(code AS VARCHAR) AS code"
)
_EMPTY = (
    "SELECT NULL::VARCHAR AS laestab, NULL::VARCHAR AS upn, NULL::DATE AS d, "
    "NULL::VARCHAR AS session, NULL::VARCHAR AS code WHERE false"
)


def deltas_sql(deltas: Iterable[str]) -> str:
    """The newest mark of each key among ``deltas`` (a later delta wins)."""
    paths = list(deltas)
    if not paths:
        return _EMPTY
    return (
        f"SELECT laestab, upn, d, session, code FROM (SELECT {_COLUMNS}, filename "  # noqa: S608 - paths escaped
        f"FROM read_parquet({_list_sql(paths)}, filename = true)) "
        "QUALIFY row_number() OVER (PARTITION BY laestab, upn, d, session "
        "ORDER BY filename DESC) = 1"
    )


def create_store_view(
    con: Any,
    root: Path,
    *,
    name: str = "marks",
    laestabs: Iterable[str] | None = None,
    lazy: bool = False,
) -> StoreFiles:
    """The view ``name`` (``laestab, upn, d, session, code``) over the store: the newest
    value of every mark. With no deltas it is a plain read of the compacted files.
    ``lazy``: nothing is read now (not even the files' statistics); every compacted file
    is anti-joined with the deltas when the view is queried (for a reader that seldom
    queries it: detection over the session grids)."""
    files = store_files(root, laestabs=laestabs)
    base = (
        f"SELECT {_COLUMNS} FROM read_parquet({_list_sql(files.bases)})"  # noqa: S608 - paths escaped
        if files.bases
        else _EMPTY
    )
    if not files.deltas:
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {base}")
        return files
    if lazy:
        parts = [f"SELECT * FROM ({deltas_sql(files.deltas)})"]  # noqa: S608 - paths escaped
        if files.bases:
            parts.insert(
                0,
                f"SELECT b.* FROM ({base}) b ANTI JOIN ({deltas_sql(files.deltas)}) x "  # noqa: S608 - paths escaped
                "ON x.laestab = b.laestab AND x.upn = b.upn AND x.d = b.d "
                "AND x.session = b.session",
            )
        con.execute(f"CREATE OR REPLACE VIEW {name} AS " + " UNION ALL ".join(parts))
        return files
    table = f"{name}_deltas"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {deltas_sql(files.deltas)}")
    # Only a compacted file whose dates reach its deltas' (a correction, a repeat) needs
    # the anti-join; a school day appended after it is simply added (its last date comes
    # from the file's statistics, not from reading it).
    folder_of = {str(Path(p).parent): p for p in files.bases}
    first_new = dict(
        con.execute(
            f"SELECT laestab, min(d) FROM {table} GROUP BY laestab"  # noqa: S608 - our table
        ).fetchall()
    )
    overlapping: list[str] = []
    for folder, path in folder_of.items():
        laestab = Path(folder).parent.name.removeprefix("school=")
        if laestab in first_new and _last_date(con, path) >= first_new[laestab]:
            overlapping.append(path)
    plain = [p for p in files.bases if p not in set(overlapping)]
    parts = []
    if plain:
        parts.append(f"SELECT {_COLUMNS} FROM read_parquet({_list_sql(plain)})")  # noqa: S608
    if overlapping:
        parts.append(
            f"SELECT b.* FROM (SELECT {_COLUMNS} FROM read_parquet({_list_sql(overlapping)})) b "  # noqa: S608
            f"ANTI JOIN {table} x ON x.laestab = b.laestab AND x.upn = b.upn AND x.d = b.d "
            "AND x.session = b.session"
        )
    parts.append(f"SELECT * FROM {table}")  # noqa: S608 - our table
    con.execute(f"CREATE OR REPLACE VIEW {name} AS " + " UNION ALL ".join(parts))
    return files


def _last_date(con: Any, path: str) -> Any:
    """The last date in a compacted file, from its row groups' statistics."""
    (value,) = con.execute(
        "SELECT max(TRY_CAST(stats_max AS DATE)) FROM parquet_metadata(?) "
        "WHERE path_in_schema = 'date'",
        [path],
    ).fetchone()
    if value is None:  # no statistics: read the column
        (value,) = con.execute(
            "SELECT max(CAST(date AS DATE)) FROM read_parquet(?)", [path]
        ).fetchone()
    return value


@contextlib.contextmanager
def store_lock(root: Path, *, exclusive: bool = False) -> Iterator[None]:
    """Shared (read, append) or exclusive (compact) lock on the store."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK_NAME).open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class Compacted:
    laestab: str
    year: int
    deltas: int
    marks: int


def compact(
    con: Any, root: Path, *, only: Callable[[], set[str] | None] = lambda: None
) -> list[Compacted]:
    """Fold each partition's deltas into its ``marks.parquet``; the marks read the same
    before and after. ``only`` (called under the lock) names the deltas that may be
    folded, relative to ``root`` (None: all of them)."""
    done: list[Compacted] = []
    with store_lock(root, exclusive=True):
        allowed = only()
        for folder in sorted(root.glob("school=*/year=*")):
            deltas = sorted(
                str(p)
                for p in folder.iterdir()
                if DELTA_PATTERN.match(p.name)
                and (allowed is None or str(p.relative_to(root)) in allowed)
            )
            if not deltas:
                continue
            base = folder / BASE_NAME
            merged = deltas_sql(deltas)
            if base.is_file():
                old = f"SELECT {_COLUMNS} FROM read_parquet('{_sql_path(base)}')"  # noqa: S608 - paths escaped
                merged = (
                    f"SELECT o.* FROM ({old}) o ANTI JOIN ({merged}) n "  # noqa: S608 - our SQL
                    "ON n.upn = o.upn AND n.d = o.d AND n.session = o.session "
                    f"UNION ALL {merged}"
                )
            temp = folder / f".{BASE_NAME}.compact.tmp"
            con.execute(
                f"COPY (SELECT laestab, upn, d AS date, session, code FROM ({merged}) "  # noqa: S608 - our SQL
                f"ORDER BY upn, date, session) TO '{_sql_path(temp)}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
            (count,) = con.execute(
                f"SELECT count(*) FROM read_parquet('{_sql_path(temp)}')"  # noqa: S608 - paths escaped
            ).fetchone()
            os.replace(temp, base)
            for path in deltas:
                Path(path).unlink(missing_ok=True)
            laestab = folder.parent.name.removeprefix("school=")
            year = int(folder.name.removeprefix("year="))
            done.append(Compacted(laestab, year, len(deltas), int(count)))
    return done


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")
