"""Session grids: each partition's marks as a dense array, one row a pupil, one byte a session.

Beside each compacted ``marks.parquet`` of the attendance store (:mod:`.store`),
compaction writes the same marks as a *grid*::

    school=<LAESTAB>/year=<YYYY>/grid-codes.npy   uint8 (pupils, 2 x days of the year)
    school=<LAESTAB>/year=<YYYY>/grid-upns.npy    the pupils' UPNs, in row order
    school=<LAESTAB>/year=<YYYY>/grid.json        code list, and the marks file it was built from

Column ``2 * (date - 1 September) + (0 AM, 1 PM)`` of row ``r`` holds pupil ``r``'s code on
that session as ``1 + its index`` in the grid's code list, or 0 when there is no mark. Every
calendar day of the academic year has its two columns, so a change of calendar (a new
closure, a term date) needs no rebuild: detection picks each school's school sessions out
of the columns when it runs. The grid is a cache of ``marks.parquet``: ``grid.json`` records
the file's size and modification time, and a grid that does not match (or is missing) is
rebuilt from the file. Deltas (imports since the last compaction) are laid over the grid in
memory when it is loaded, newest last, as :func:`.store.create_store_view` does.

Detection reads the grids instead of scanning every mark: the per-pupil counts that pick
the pupils worth a closer look (absence runs, illness, moves between schools) come from
whole-array operations, and only those pupils' marks go on to the SQL rules, as a table
of the same columns as ``marks``. With a grid per partition a full detection reads about
one byte per session of the year instead of a row per mark.

Nothing here imports Django.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cmetrack.kit import lazy
from cmetrack.rules.attendance import (
    ATTENDANCE_CODES,
    NEUTRAL_FOR_RUNS_CODES,
    UNEXPLAINED_ABSENCE_CODES,
)

from . import engine, store

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa  # type: ignore[import-untyped]
else:  # imported when first used: start-up does not pay for them (see kit/lazy.py)
    np = lazy.module("numpy")
    pa = lazy.module("pyarrow")

CODES_FILE = "grid-codes.npy"
UPNS_FILE = "grid-upns.npy"
COUNTS_FILE = "grid-counts.npy"
MARKED_FILE = "grid-marked.npy"
META_FILE = "grid.json"
#: The code list every new grid starts from (codes outside it are appended).
BASE_CODES: tuple[str, ...] = tuple(sorted(ATTENDANCE_CODES))
_EPOCH = date(1970, 1, 1)
#: Weeks are numbered as the SQL week filter numbers them (from a Monday).
_WEEK_ORIGIN = date(2000, 1, 3)


def year_start(year: int) -> date:
    return date(int(year), 9, 1)


def year_columns(year: int) -> int:
    return (year_start(year + 1) - year_start(year)).days * 2


class GridUnusable(ValueError):
    """The partition's marks cannot be held in a grid (a mark outside its academic year
    or not on an AM or PM session); detection then reads the marks as rows."""


@dataclass
class Overlay:
    """Delta marks laid over a grid without copying it: cell ``(rows[i], cols[i])`` holds
    code id ``ids[i]`` (each cell once; the newest delta's value)."""

    rows: np.ndarray  # int64
    cols: np.ndarray  # int64
    ids: np.ndarray  # uint8


@dataclass
class Grid:
    """One partition's marks. ``codes`` holds the compacted file's pupils (the first
    ``len(codes)`` of ``upns``); ``overlay`` the deltas' marks, whose new pupils are the
    rows after them. Read rows through :meth:`take`, never ``codes`` directly."""

    laestab: str
    year: int
    upns: np.ndarray  # str, one a row
    codes: np.ndarray  # uint8 (compacted rows, columns)
    vocab: tuple[str, ...]
    #: Kept with the grid by compaction (None: counted when needed), over the whole year:
    #: each compacted row's G/N/O and I marks (int32, rows x 2), which columns have a mark
    #: (bool), and how many marks in all.
    counts: np.ndarray | None = None
    marked: np.ndarray | None = None
    marks: int | None = None
    overlay: Overlay | None = None

    @property
    def start(self) -> date:
        return year_start(self.year)

    @property
    def rows(self) -> int:
        return len(self.upns)

    @property
    def columns(self) -> int:
        return int(self.codes.shape[1])

    def take(self, rows: np.ndarray) -> np.ndarray:
        """The codes of ``rows`` (distinct row numbers), deltas laid over them."""
        rows = np.asarray(rows, dtype=np.int64)
        base = len(self.codes)
        if len(rows) and rows.max() < base:
            out = np.array(self.codes[rows], dtype=np.uint8)
        else:
            out = np.zeros((len(rows), self.columns), dtype=np.uint8)
            inside = rows < base
            out[inside] = self.codes[rows[inside]]
        ov = self.overlay
        if ov is not None and len(rows) and len(ov.rows):
            position = np.full(max(self.rows, 1), -1, dtype=np.int64)
            position[rows] = np.arange(len(rows))
            at = position[ov.rows]
            hit = at >= 0
            out[at[hit], ov.cols[hit]] = ov.ids[hit]
        return out

    def column(self, col: int) -> np.ndarray:
        """Every row's code on column ``col``."""
        out = np.zeros(self.rows, dtype=np.uint8)
        out[: len(self.codes)] = self.codes[:, col]
        ov = self.overlay
        if ov is not None:
            hit = ov.cols == col
            out[ov.rows[hit]] = ov.ids[hit]
        return out

    def _base_values(self, ov: Overlay) -> np.ndarray:
        """What the compacted rows hold under each overlay cell (0 for a new pupil)."""
        old = np.zeros(len(ov.rows), dtype=np.uint8)
        inside = ov.rows < len(self.codes)
        if inside.any():
            old[inside] = self.codes[ov.rows[inside], ov.cols[inside]]
        return old

    def row_counts(self, upto: int, illness_from: int) -> tuple[np.ndarray, np.ndarray]:
        """Each row's G/N/O marks on columns before ``upto`` and I marks on columns from
        ``illness_from`` to ``upto``: from the counts kept with the grid when they cover
        the same columns (no compacted mark at or after ``upto``), the deltas added."""
        lut = _class_lut(self.vocab)
        ill_id = self.vocab.index("I") + 1 if "I" in self.vocab else 0
        base = len(self.codes)
        absent = np.zeros(self.rows, dtype=np.int64)
        ill = np.zeros(self.rows, dtype=np.int64)
        lo = max(0, illness_from)
        kept = (
            self.counts is not None
            and self.marked is not None
            and not self.marked[upto:].any()
            and (lo == 0 or lo >= upto)
        )
        if kept:
            assert self.counts is not None
            absent[:base] = self.counts[:, 0]
            if lo < upto and ill_id:
                ill[:base] = self.counts[:, 1]
        elif base and upto:
            c = self.codes[:, :upto]
            absent[:base] = np.count_nonzero(lut[c] == 1, axis=1)
            if ill_id and lo < upto:
                ill[:base] = np.count_nonzero(c[:, lo:] == ill_id, axis=1)
        ov = self.overlay
        if ov is not None and len(ov.rows):
            use = ov.cols < upto
            rows, cols, new = ov.rows[use], ov.cols[use], ov.ids[use]
            old = self._base_values(Overlay(rows, cols, new))
            np.add.at(absent, rows, (lut[new] == 1).astype(np.int64) - (lut[old] == 1))
            if ill_id:
                in_range = cols >= lo
                change = (new == ill_id).astype(np.int64) - (old == ill_id)
                np.add.at(ill, rows[in_range], change[in_range])
        return absent, ill

    def marked_columns(self, upto: int) -> np.ndarray:
        """Whether each column before ``upto`` has a mark."""
        if self.marked is not None:
            out = np.array(self.marked[:upto], dtype=bool)
        elif len(self.codes) and upto:
            out = self.codes[:, :upto].max(axis=0) != 0
        else:
            out = np.zeros(upto, dtype=bool)
        ov = self.overlay
        if ov is not None:
            out[ov.cols[ov.cols < upto]] = True
        return out

    def mark_count(self) -> int:
        """How many marks the grid holds, deltas included."""
        base = self.marks if self.marks is not None else int(np.count_nonzero(self.codes))
        ov = self.overlay
        if ov is not None and len(ov.rows):
            base += int(np.count_nonzero(self._base_values(ov) == 0))
        return base


def _source_stamp(path: Path) -> list[int]:
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


_ROWS_SQL = (
    "SELECT upn, CAST(d - $start AS INTEGER) * 2 + CASE session WHEN 'PM' THEN 1 ELSE 0 END "
    "AS col, session IN ('AM', 'PM') AS ok, code, "
    "coalesce(list_position($codes, code), 0) AS code_id "
    "FROM ({source}) ORDER BY upn, col, code"
)


def _codes_to_ids(rows: dict[str, np.ndarray], vocab: list[str]) -> np.ndarray:
    """The rows' codes as ids (1 + index in ``vocab``; unknown codes are appended to it).
    The query numbered the codes of :data:`BASE_CODES`, which every code list starts with."""
    known = rows["code_id"]
    if vocab[: len(BASE_CODES)] == list(BASE_CODES) and (not len(known) or known.min() > 0):
        return known.astype(np.uint8)
    codes = rows["code"]
    distinct, inverse = np.unique(codes.astype(str), return_inverse=True)
    for code in distinct:
        if code not in vocab:
            vocab.append(str(code))
    if len(vocab) > 254:
        raise GridUnusable("more than 254 distinct codes")
    ids = np.array([vocab.index(str(c)) + 1 for c in distinct], dtype=np.uint8)
    return ids[inverse.reshape(-1)] if len(distinct) else np.zeros(0, dtype=np.uint8)


def _rows(con: Any, source: str, year: int) -> dict[str, np.ndarray]:
    rows = con.execute(
        _ROWS_SQL.format(source=source), {"start": year_start(year), "codes": list(BASE_CODES)}
    ).fetchnumpy()
    cols = np.asarray(rows["col"], dtype=np.int64)
    if len(cols) and (
        cols.min() < 0 or cols.max() >= year_columns(year) or not np.asarray(rows["ok"]).all()
    ):
        raise GridUnusable("a mark outside the partition's academic year or sessions")
    return {
        "upn": np.asarray(rows["upn"]).astype(str),
        "col": cols,
        "code": np.asarray(rows["code"]),
        "code_id": np.asarray(rows["code_id"], dtype=np.int64),
    }


def build_grid(con: Any, laestab: str, year: int, base: Path | None) -> Grid:
    """The grid of one partition's compacted file (an empty grid when there is none)."""
    vocab = list(BASE_CODES)
    if base is None or not base.is_file():
        return Grid(laestab, year, np.zeros(0, dtype="<U1"), _empty(year), tuple(vocab))
    source = f"SELECT {store._COLUMNS} FROM read_parquet('{store._sql_path(base)}')"  # noqa: S608 - path escaped
    rows = _rows(con, source, year)
    upn = rows["upn"]
    if len(upn):
        starts = np.empty(len(upn), dtype=bool)
        starts[0] = True
        starts[1:] = upn[1:] != upn[:-1]
        row_of = np.cumsum(starts) - 1
        upns = upn[starts]
    else:
        row_of = np.zeros(0, dtype=np.int64)
        upns = np.zeros(0, dtype="<U1")
    codes = np.zeros((len(upns), year_columns(year)), dtype=np.uint8)
    codes[row_of, rows["col"]] = _codes_to_ids(rows, vocab)
    return with_counts(Grid(laestab, year, upns, codes, tuple(vocab)))


def with_counts(grid: Grid) -> Grid:
    """The grid with the counts detection keeps with it (see :class:`Grid`)."""
    codes = grid.codes
    lut = _class_lut(grid.vocab)
    ill_id = grid.vocab.index("I") + 1 if "I" in grid.vocab else 0
    counts = np.zeros((len(codes), 2), dtype=np.int32)
    marked = np.zeros(codes.shape[1], dtype=bool)
    if len(codes):
        counts[:, 0] = np.count_nonzero(lut[codes] == 1, axis=1)
        if ill_id:
            counts[:, 1] = np.count_nonzero(codes == ill_id, axis=1)
        marked = codes.max(axis=0) != 0
    grid.counts, grid.marked, grid.marks = counts, marked, int(np.count_nonzero(codes))
    return grid


def _empty(year: int) -> np.ndarray:
    return np.zeros((0, year_columns(year)), dtype=np.uint8)


def save_grid(grid: Grid, folder: Path, base: Path, *, codes: bool = True) -> None:
    """Write the grid beside ``base`` (each file renamed into place; the metadata last);
    ``codes=False``: only the counts kept with it (the codes and pupils are on disk)."""
    if grid.counts is None or grid.marked is None or grid.marks is None:
        with_counts(grid)
    assert grid.counts is not None
    assert grid.marked is not None
    arrays = [(COUNTS_FILE, grid.counts), (MARKED_FILE, grid.marked)]
    if codes:
        arrays = [(CODES_FILE, grid.codes), (UPNS_FILE, grid.upns), *arrays]
    for name, array in arrays:
        temp = folder / f".{name}.tmp"
        with temp.open("wb") as handle:
            np.save(handle, array)
        os.replace(temp, folder / name)
    meta = {
        "source": _source_stamp(base),
        "codes": list(grid.vocab),
        "rows": len(grid.upns),
        "marks": grid.marks,
    }
    temp = folder / f".{META_FILE}.tmp"
    temp.write_text(json.dumps(meta))
    os.replace(temp, folder / META_FILE)


def refresh_grid(con: Any, folder: Path) -> Grid:
    """The partition's grid from disk, rebuilt (and saved, if the folder is writable) when
    it is missing or was built from another version of ``marks.parquet``."""
    laestab = folder.parent.name.removeprefix("school=")
    year = int(folder.name.removeprefix("year="))
    base = folder / store.BASE_NAME
    if not base.is_file():
        return build_grid(con, laestab, year, None)
    try:
        meta = json.loads((folder / META_FILE).read_text())
        if meta.get("source") == _source_stamp(base):
            codes = np.load(folder / CODES_FILE, mmap_mode="r")
            upns = np.load(folder / UPNS_FILE)
            if codes.shape == (len(upns), year_columns(year)) and len(upns) == meta["rows"]:
                grid = Grid(laestab, year, upns, codes, tuple(meta["codes"]))
                if _load_counts(grid, folder, meta):
                    return grid
                with_counts(grid)  # a grid from before the counts were kept with it
                with contextlib.suppress(OSError):
                    save_grid(grid, folder, base, codes=False)
                return grid
    except (OSError, ValueError, KeyError, TypeError):
        pass
    grid = build_grid(con, laestab, year, base)
    with contextlib.suppress(OSError):  # a read-only store: the grid is used from memory
        save_grid(grid, folder, base)
    return grid


def _load_counts(grid: Grid, folder: Path, meta: dict[str, Any]) -> bool:
    """Read the counts kept with the grid; False if they are missing or do not fit it."""
    try:
        counts = np.load(folder / COUNTS_FILE)
        marked = np.load(folder / MARKED_FILE)
        marks = int(meta["marks"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    if counts.shape != (len(grid.codes), 2) or marked.shape != (grid.columns,):
        return False
    grid.counts, grid.marked, grid.marks = counts, marked, marks
    return True


def with_deltas(grid: Grid, rows: dict[str, np.ndarray] | None) -> Grid:
    """The grid with the partition's newest delta marks (``upn, col, code``) laid over it
    (an :class:`Overlay`: the grid itself is not copied)."""
    if rows is None or not len(rows["upn"]):
        return grid
    if grid.overlay is not None:
        raise ValueError("a grid's deltas are laid over it once")
    vocab = list(grid.vocab)
    ids = _codes_to_ids(rows, vocab)
    have = grid.upns.astype(str)
    wanted = rows["upn"]
    # The grid's rows are in UPN order (as built); a row a delta added goes after them.
    order = np.argsort(have, kind="stable")
    pos = np.searchsorted(have, wanted, sorter=order)
    pos = np.minimum(pos, max(len(have) - 1, 0))
    found = (have[order[pos]] == wanted) if len(have) else np.zeros(len(wanted), dtype=bool)
    row_of = np.where(found, order[pos] if len(have) else 0, -1)
    new = list(dict.fromkeys(wanted[~found].tolist()))
    if new:
        extra = {u: len(have) + i for i, u in enumerate(new)}
        row_of[~found] = [extra[u] for u in wanted[~found].tolist()]
    upns = np.concatenate([have, np.array(new, dtype=str)]) if new else grid.upns
    return dataclasses.replace(
        grid,
        upns=upns,
        vocab=tuple(vocab),
        overlay=Overlay(row_of.astype(np.int64), np.asarray(rows["col"], dtype=np.int64), ids),
    )


_DELTA_ROWS_SQL = (
    "SELECT laestab, year, upn, CAST(d - make_date(year, 9, 1) AS INTEGER) * 2 "
    "+ CASE session WHEN 'PM' THEN 1 ELSE 0 END AS col, session IN ('AM', 'PM') AS ok, code, "
    "coalesce(list_position($codes, code), 0) AS code_id "
    "FROM (SELECT *, CASE WHEN month(d) >= 9 THEN year(d) ELSE year(d) - 1 END AS year "
    "FROM ({source})) ORDER BY laestab, year, upn, col, code"
)


def _delta_rows(
    con: Any, deltas: Sequence[str], table: str | None = None
) -> dict[tuple[str, int], dict[str, np.ndarray]]:
    """Every delta's newest marks (one read of them all, or of ``table`` holding them), by
    (school, academic year)."""
    if not deltas:
        return {}
    source = f"SELECT * FROM {table}" if table else store.deltas_sql(deltas)  # noqa: S608 - our table
    rows = con.execute(
        _DELTA_ROWS_SQL.format(source=source), {"codes": list(BASE_CODES)}
    ).fetchnumpy()
    if not np.asarray(rows["ok"]).all():
        raise GridUnusable("a mark not on an AM or PM session")
    laestab = np.asarray(rows["laestab"])
    year = np.asarray(rows["year"], dtype=np.int64)
    change = (laestab[1:] != laestab[:-1]) | (year[1:] != year[:-1])
    starts: list[int] = np.flatnonzero(np.r_[True, change]).tolist() if len(year) else []
    bounds = [*starts, len(year)]
    out = {}
    for i in range(len(bounds) - 1):
        a, b = int(bounds[i]), int(bounds[i + 1])
        out[(str(laestab[a]), int(year[a]))] = {
            "upn": np.asarray(rows["upn"][a:b]).astype(str),
            "col": np.asarray(rows["col"][a:b], dtype=np.int64),
            "code": np.asarray(rows["code"][a:b]),
            "code_id": np.asarray(rows["code_id"][a:b], dtype=np.int64),
        }
    return out


def load_grids(
    con: Any, root: Path, files: store.StoreFiles, *, deltas_table: str | None = None
) -> list[Grid]:
    """Every partition of ``files`` as a grid, deltas applied (read from ``deltas_table``
    when given: the newest marks of ``files.deltas``, ``store.deltas_sql``'s rows).
    Raises :class:`GridUnusable`."""
    folders = sorted({str(Path(p).parent) for p in [*files.bases, *files.deltas]})
    deltas = _delta_rows(con, files.deltas, deltas_table)
    grids = []
    for folder in folders:
        grid = refresh_grid(con, Path(folder))
        grids.append(with_deltas(grid, deltas.pop((grid.laestab, grid.year), None)))
    if deltas:  # a delta holding marks of another academic year than its folder's
        raise GridUnusable("a delta's marks outside its partition's academic year")
    for grid in grids:
        if len(grid.upns) < grid.codes.shape[0]:
            raise GridUnusable("a grid's rows and pupils differ")
    return grids


def build_missing(con: Any, root: Path) -> int:
    """Build the grid of every partition whose grid is missing or stale; how many."""
    built = 0
    for folder in sorted(root.glob("school=*/year=*")):
        base = folder / store.BASE_NAME
        if not base.is_file():
            continue
        try:
            meta = json.loads((folder / META_FILE).read_text())
            if meta.get("source") == _source_stamp(base):
                if "marks" not in meta:  # built before the counts were kept with it
                    refresh_grid(con, folder)
                continue
        except (OSError, ValueError):
            pass
        try:
            laestab = folder.parent.name.removeprefix("school=")
            year = int(folder.name.removeprefix("year="))
            save_grid(build_grid(con, laestab, year, base), folder, base)
        except GridUnusable:
            for name in (META_FILE, CODES_FILE, UPNS_FILE, COUNTS_FILE, MARKED_FILE):
                (folder / name).unlink(missing_ok=True)
            continue
        built += 1
    return built


# --- Detection over the grids -------------------------------------------------------------


def _lut(vocab: Sequence[str], codes: Iterable[str]) -> np.ndarray:
    wanted = set(codes)
    lut = np.zeros(256, dtype=bool)
    for i, code in enumerate(vocab):
        lut[i + 1] = code in wanted
    return lut


def _class_lut(vocab: Sequence[str]) -> np.ndarray:
    """0 no mark, 1 G/N/O, 2 neutral for runs, 3 breaks a run."""
    lut = np.zeros(256, dtype=np.uint8)
    for i, code in enumerate(vocab):
        lut[i + 1] = (
            1 if code in UNEXPLAINED_ABSENCE_CODES else 2 if code in NEUTRAL_FOR_RUNS_CODES else 3
        )
    return lut


def _days(value: date) -> int:
    return (value - _EPOCH).days


@dataclass
class GridSet:
    """The grids of a detection, with each one's school sessions (``seq`` per column, -1
    for a column that is no school session up to the as-of date)."""

    grids: list[Grid]
    seqmaps: list[np.ndarray]
    upto: list[int]
    as_of: date
    #: Each school's end of data: (end_seq, grid, column), set by :func:`pupil_table`.
    ends: dict[str, tuple[int, int, int]] = field(default_factory=dict)

    @property
    def marks(self) -> int:
        return int(sum(g.mark_count() for g in self.grids))


def grid_set(con: Any, grids: list[Grid], as_of: date) -> GridSet:
    """Each grid's columns matched to ``school_sessions`` (already built to ``as_of``)."""
    sessions = con.execute(
        "SELECT laestab, CAST(d - DATE '1970-01-01' AS INTEGER) AS day, "
        "CASE session WHEN 'PM' THEN 1 ELSE 0 END AS half, seq FROM school_sessions"
    ).fetchnumpy()
    laestabs = np.asarray(sessions["laestab"]).astype(str)
    day = np.asarray(sessions["day"], dtype=np.int64)
    half = np.asarray(sessions["half"], dtype=np.int64)
    seq = np.asarray(sessions["seq"], dtype=np.int64)
    by_school: dict[str, np.ndarray] = {}
    order = np.argsort(laestabs, kind="stable")
    keys, firsts = np.unique(laestabs[order], return_index=True)
    bounds = [*firsts.tolist(), len(order)]
    for k, key in enumerate(keys.tolist()):
        by_school[key] = order[bounds[k] : bounds[k + 1]]
    seqmaps, upto = [], []
    for grid in grids:
        n = grid.columns
        seqmap = np.full(n, -1, dtype=np.int64)
        rows = by_school.get(grid.laestab)
        if rows is not None:
            cols = (day[rows] - _days(grid.start)) * 2 + half[rows]
            inside = (cols >= 0) & (cols < n)
            seqmap[cols[inside]] = seq[rows][inside]
        seqmaps.append(seqmap)
        upto.append(int(min(n, max(0, ((as_of - grid.start).days + 1) * 2))))
    return GridSet(grids, seqmaps, upto, as_of)


def pupil_table(
    gs: GridSet,
    *,
    illness_from: date,
    min_sessions: int,
    week_filter: bool,
    runs: bool = True,
) -> Any:
    """One row per grid row: ``g, r, laestab, upn, absent`` (G/N/O marks up to the as-of
    date), ``illness`` (I marks from ``illness_from``), ``broken_end`` (a breaking mark on
    the school's last marked session) and ``clean_week`` (a week of school sessions with
    G/N/O and no breaking mark: see ``engine.WEEK_FILTER_SQL``; computed for pupils with
    ``min_sessions`` G/N/O, true for all when not ``week_filter``). Also each school's
    end of data, ``end_seq``, as an Arrow table (``school_end``).

    The counts come from those kept with each grid, the deltas added (see
    :meth:`Grid.row_counts`): no pass over every mark. ``runs=False`` (the other rules
    need only the counts): ``broken_end`` false, ``clean_week`` true and ``from_col`` 0
    for every row, and no school's end of data."""
    ends: dict[str, tuple[int, int, int]] = {}  # laestab -> (end_seq, grid, column)
    for g, grid in enumerate(gs.grids):
        if not runs:
            break
        seqmap = gs.seqmaps[g][: gs.upto[g]]
        if not grid.rows or not len(seqmap):
            continue
        marked = grid.marked_columns(gs.upto[g]) & (seqmap >= 0)
        if marked.any():
            col = int(np.flatnonzero(marked)[-1])
            end = int(seqmap[col])
            if grid.laestab not in ends or end > ends[grid.laestab][0]:
                ends[grid.laestab] = (end, g, col)
    if runs:
        gs.ends = ends
    parts = []
    for g, grid in enumerate(gs.grids):
        n = grid.rows
        if not n:
            continue
        upto = gs.upto[g]
        lut = _class_lut(grid.vocab)
        n_absent, n_ill = grid.row_counts(upto, (illness_from - grid.start).days * 2)
        broken = np.zeros(n, dtype=bool)
        from_col = np.zeros(n, dtype=np.int32)
        clean = np.ones(n, dtype=bool)
        school_end = ends.get(grid.laestab)
        if school_end is not None and school_end[1] == g:
            broken = lut[grid.column(school_end[2])] == 3
        school = gs.seqmaps[g][:upto] >= 0
        # Where a pupil who may have an open run needs their marks from: the day of their
        # last breaking mark on a school session (as engine's state query reads them).
        maybe_open = np.flatnonzero((n_absent > 0) & ~broken) if runs else np.zeros(0, int)
        if len(maybe_open) and upto:
            breaks = (lut[grid.take(maybe_open)[:, :upto]] == 3) & school
            has = breaks.any(axis=1)
            last = breaks.shape[1] - 1 - np.argmax(breaks[:, ::-1], axis=1)
            from_col[maybe_open[has]] = (last[has] - last[has] % 2).astype(np.int32)
        if week_filter and runs:
            clean = np.zeros(n, dtype=bool)
            rows = np.flatnonzero(n_absent >= min_sessions)
            cols = np.flatnonzero(school)
            if len(rows) and len(cols):
                sub = lut[grid.take(rows)[:, cols]]
                week = (_days(grid.start) + cols // 2 - _days(_WEEK_ORIGIN)) // 7
                starts = np.flatnonzero(np.r_[True, week[1:] != week[:-1]])
                a = np.logical_or.reduceat(sub == 1, starts, axis=1)
                b = np.logical_or.reduceat(sub == 3, starts, axis=1)
                clean[rows] = (a & ~b).any(axis=1)
        parts.append(
            pa.table(
                {
                    "g": pa.array(np.full(n, g, dtype=np.int32)),
                    "r": pa.array(np.arange(n, dtype=np.int32)),
                    "laestab": pa.array([grid.laestab] * n, type=pa.string()),
                    "upn": pa.array(grid.upns.astype(str).tolist(), type=pa.string()),
                    "absent": pa.array(n_absent.astype(np.int64)),
                    "illness": pa.array(np.asarray(n_ill).astype(np.int64)),
                    "broken_end": pa.array(broken),
                    "clean_week": pa.array(clean),
                    "from_col": pa.array(from_col),
                }
            )
        )
    schema = pa.schema(
        [("g", pa.int32()), ("r", pa.int32()), ("laestab", pa.string()), ("upn", pa.string()),
         ("absent", pa.int64()), ("illness", pa.int64()), ("broken_end", pa.bool_()),
         ("clean_week", pa.bool_()), ("from_col", pa.int32())]
    )  # fmt: skip
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    school_end = pa.table(
        {
            "laestab": pa.array(list(ends), type=pa.string()),
            "end_seq": pa.array([e[0] for e in ends.values()], type=pa.int64()),
        }
    )
    return table, school_end


def marks_table(gs: GridSet, rows: Iterable[tuple[int, int] | tuple[int, int, int]]) -> Any:
    """The marks up to the as-of date of the given grid rows ``(g, r)`` (or ``(g, r,
    first column)``: only from that column on), as an Arrow
    table with the columns of the ``marks`` view (``laestab, upn, d, session, code``)."""
    by_grid: dict[int, dict[int, int]] = {}
    for row in rows:
        g, r, start = int(row[0]), int(row[1]), int(row[2]) if len(row) > 2 else 0
        wanted = by_grid.setdefault(g, {})
        wanted[r] = min(start, wanted.get(r, start))
    parts = []
    for g, wanted in sorted(by_grid.items()):
        grid = gs.grids[g]
        picked = np.array(sorted(wanted), dtype=np.int64)
        sub = grid.take(picked)[:, : gs.upto[g]]
        starts = np.array([wanted[r] for r in picked.tolist()], dtype=np.int64)
        if starts.any():  # only the marks from each row's first column on
            sub = np.where(np.arange(sub.shape[1])[None, :] >= starts[:, None], sub, 0)
        ri, ci = np.nonzero(sub)
        if not len(ri):
            continue
        ids = sub[ri, ci].astype(np.int32) - 1
        upns = grid.upns[picked].astype(str).tolist()
        parts.append(
            pa.table(
                {
                    "laestab": pa.array([grid.laestab] * len(ri), type=pa.string()),
                    "upn": pa.DictionaryArray.from_arrays(
                        pa.array(ri.astype(np.int32)), pa.array(upns, type=pa.string())
                    ).cast(pa.string()),
                    "d": pa.array((_days(grid.start) + ci // 2).astype(np.int32)).cast(pa.date32()),
                    "session": pa.DictionaryArray.from_arrays(
                        pa.array((ci % 2).astype(np.int32)), pa.array(["AM", "PM"])
                    ).cast(pa.string()),
                    "code": pa.DictionaryArray.from_arrays(
                        pa.array(ids), pa.array(list(grid.vocab), type=pa.string())
                    ).cast(pa.string()),
                }
            )
        )
    schema = pa.schema(
        [("laestab", pa.string()), ("upn", pa.string()), ("d", pa.date32()),
         ("session", pa.string()), ("code", pa.string())]
    )  # fmt: skip
    return pa.concat_tables(parts) if parts else schema.empty_table()


def register_table(con: Any, name: str, table: Any) -> None:
    """``name`` as a DuckDB table holding the Arrow ``table``."""
    # register() refuses while a result is half read (a fetchone() before): finish it.
    con.execute("SELECT 1").fetchall()
    con.register(f"{name}_arrow", table)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {name}_arrow")  # noqa: S608 - our names
    con.unregister(f"{name}_arrow")


def rows_of(con: Any, sql: str, params: dict[str, Any] | None = None) -> list[tuple[int, int]]:
    """``(g, r)`` pairs from a query over ``grid_pupils``."""
    result = con.execute(sql, params or {}).fetchnumpy()
    return list(
        zip(np.asarray(result["g"]).tolist(), np.asarray(result["r"]).tolist(), strict=True)
    )


def pupil_counts(
    gs: GridSet,
    con: Any,
    *,
    illness_from: date,
    min_sessions: int = 0,
    week_filter: bool = False,
    runs: bool = True,
) -> None:
    """The tables ``grid_pupils`` and (``runs``) ``school_end`` (see :func:`pupil_table`)."""
    table, school_end = pupil_table(
        gs, illness_from=illness_from, min_sessions=min_sessions, week_filter=week_filter,
        runs=runs,
    )  # fmt: skip
    register_table(con, "grid_pupils", table)
    if runs:
        register_table(con, "school_end", school_end)


def prepare_runs(
    con: Any,
    gs: GridSet,
    *,
    min_sessions: int,
    with_state: bool,
    illness_from: date,
    marks: bool = True,
) -> None:
    """What ``engine.absence_runs(..., prepared=True)`` reads, from the grids:
    ``school_end``, ``absent_pupils`` (the pupils with G/N/O: a candidate for a run of
    ``min_sessions``, and, ``with_state``, whether a run of theirs may still be open) and
    ``candidate_mark_rows`` (those pupils' marks; not with ``marks=False``, when the runs
    come from :func:`absence_runs`). Also ``grid_pupils``."""
    pupil_counts(
        gs,
        con,
        illness_from=illness_from,
        min_sessions=min_sessions,
        week_filter=min_sessions >= engine.WEEK_FILTER_MIN_SESSIONS,
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE absent_pupils AS SELECT laestab, upn, "
        "sum(absent) >= $min AND bool_or(clean_week) AS candidate, "
        "$with_state AND NOT bool_or(broken_end) AS may_be_open "
        "FROM grid_pupils WHERE absent > 0 GROUP BY laestab, upn",
        {"min": min_sessions, "with_state": with_state},
    )
    if not marks:
        return
    # A candidate's every mark; of a pupil who is only possibly in an open run, the marks
    # from the day of their last break (all the state query reads of them).
    result = con.execute(
        "SELECT p.g, p.r, CASE WHEN a.candidate THEN 0 ELSE p.from_col END AS c "
        "FROM grid_pupils p JOIN absent_pupils a ON a.laestab = p.laestab AND a.upn = p.upn "
        "WHERE a.candidate OR a.may_be_open"
    ).fetchnumpy()
    rows = zip(*(np.asarray(result[k]).tolist() for k in ("g", "r", "c")), strict=True)
    register_table(con, "candidate_mark_rows", marks_table(gs, rows))


def prepare_other_rules(
    con: Any, gs: GridSet, *, illness_sessions: int, upns_from: Sequence[str] = ()
) -> None:
    """``grid_marks``: every mark (up to the as-of date) of each pupil with G/N/O at two or
    more schools, with ``illness_sessions`` or more I marks, or named by one of the
    queries ``upns_from`` (each ``SELECT upn ...``), with the columns of ``marks``. Each
    rule over it keeps its own conditions, so more pupils than it needs change nothing;
    every pupil it needs is there with all their marks. Reads ``grid_pupils``."""
    extra = "".join(f" UNION ALL {q}" for q in upns_from)
    rows = rows_of(
        con,
        "SELECT g, r FROM grid_pupils WHERE upn IN ("  # noqa: S608 - our queries
        "SELECT upn FROM grid_pupils WHERE absent > 0 GROUP BY upn "
        "HAVING count(DISTINCT laestab) > 1 "
        "UNION ALL SELECT upn FROM grid_pupils GROUP BY upn HAVING sum(illness) >= $illness"
        f"{extra})",
        {"illness": illness_sessions},
    )
    register_table(con, "grid_marks", marks_table(gs, rows))


#: The found runs' columns and their Arrow types (by name: PyArrow loads on first use).
_RUN_COLUMNS = (
    ("laestab", "string"), ("upn", "string"), ("first_date", "date32"),
    ("first_session", "string"), ("last_date", "date32"), ("last_session", "string"),
    ("sessions", "int64"), ("data_gaps", "int64"), ("open", "bool_"),
    ("first_seq", "int64"), ("last_seq", "int64"),
)  # fmt: skip


def _school_runs(gs: GridSet, laestab: str, upns: list[str]) -> dict[str, np.ndarray] | None:
    """Every run of each of ``upns`` at ``laestab`` (the rule of ``engine.RUNS_SQL``, on
    arrays): from the pupil's first G/N/O on school sessions to the school's end of data,
    neutral sessions left out, segments between breaking marks; per segment its G/N/O
    count, first and last, its gaps after the first, and whether it is the pupil's last."""
    end = gs.ends.get(laestab)
    if end is None:
        return None
    end_seq = end[0]
    parts = []
    for g in sorted((g for g, x in enumerate(gs.grids) if x.laestab == laestab),
                    key=lambda g: gs.grids[g].year):  # fmt: skip
        seqmap = gs.seqmaps[g][: gs.upto[g]]
        cols = np.flatnonzero((seqmap >= 0) & (seqmap <= end_seq))
        parts.append((g, cols))
    width = sum(len(cols) for _, cols in parts)
    if not width:
        return None
    seqs = np.concatenate([gs.seqmaps[g][cols] for g, cols in parts])
    days = np.concatenate([_days(gs.grids[g].start) + cols // 2 for g, cols in parts])
    halves = np.concatenate([cols % 2 for _, cols in parts])
    k = np.zeros((len(upns), width), dtype=np.uint8)
    offset = 0
    wanted = {u: i for i, u in enumerate(upns)}
    for g, cols in parts:
        grid = gs.grids[g]
        here = [(wanted[u], r) for r, u in enumerate(grid.upns.tolist()) if u in wanted]
        if here:
            p = np.array([a for a, _ in here], dtype=np.int64)
            r = np.array([b for _, b in here], dtype=np.int64)
            k[p, offset : offset + len(cols)] = _class_lut(grid.vocab)[grid.take(r)[:, cols]]
        offset += len(cols)
    absent = k == 1
    has = absent.any(axis=1)
    start = np.argmax(absent, axis=1)
    valid = (np.arange(width)[None, :] >= start[:, None]) & (k != 2) & has[:, None]
    grp = np.cumsum((k == 3) & valid, axis=1)
    span = width + 1
    ar, ac = np.nonzero(absent & valid)  # row-major: sorted by pupil, then session
    key = ar.astype(np.int64) * span + grp[ar, ac]
    if not len(key):
        return None
    firsts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    lasts = np.r_[firsts[1:], len(key)] - 1
    unique = key[firsts]
    first_c, last_c, row = ac[firsts], ac[lasts], ar[firsts]
    gr, gc = np.nonzero((k == 0) & valid)
    gkey = gr.astype(np.int64) * span + grp[gr, gc]
    pos = np.minimum(np.searchsorted(unique, gkey), len(unique) - 1)
    counted = (unique[pos] == gkey) & (gc > first_c[pos])
    gaps = np.bincount(pos[counted], minlength=len(unique))
    return {
        "row": row,
        "sessions": lasts - firsts + 1,
        "gaps": gaps,
        "open": (unique % span) == grp[row, -1],
        "first_seq": seqs[first_c],
        "last_seq": seqs[last_c],
        "first_day": days[first_c],
        "first_half": halves[first_c],
        "last_day": days[last_c],
        "last_half": halves[last_c],
    }


def absence_runs(
    con: Any, gs: GridSet, *, min_sessions: int, with_state: bool
) -> list[engine.RunRow]:
    """``engine.absence_runs`` over the grids, for the pupils of ``absent_pupils`` (from
    :func:`prepare_runs`): the runs of at least ``min_sessions`` (left in ``found_runs``)
    and, ``with_state``, the open-run state (``run_state``, ``school_state``)."""
    pupils = con.execute(
        "SELECT laestab, upn FROM absent_pupils WHERE candidate OR may_be_open "
        "ORDER BY laestab, upn"
    ).fetchall()
    by_school: dict[str, list[str]] = {}
    for laestab, upn in pupils:
        by_school.setdefault(laestab, []).append(upn)
    columns: dict[str, list[Any]] = {name: [] for name, _ in _RUN_COLUMNS}
    state: list[tuple[str, str, int, int, int, int]] = []
    for laestab, upns in sorted(by_school.items()):
        found = _school_runs(gs, laestab, upns)
        if found is None:
            continue
        for i in range(len(found["row"])):
            sessions = int(found["sessions"][i])
            row = (laestab, upns[int(found["row"][i])])
            is_open = bool(found["open"][i])
            first_seq, last_seq = int(found["first_seq"][i]), int(found["last_seq"][i])
            gaps = int(found["gaps"][i])
            if with_state and is_open:
                state.append((*row, first_seq, last_seq, sessions, gaps))
            if sessions < max(min_sessions, 1):
                continue
            for name, value in (
                ("laestab", row[0]), ("upn", row[1]),
                ("first_date", int(found["first_day"][i])),
                ("first_session", "PM" if found["first_half"][i] else "AM"),
                ("last_date", int(found["last_day"][i])),
                ("last_session", "PM" if found["last_half"][i] else "AM"),
                ("sessions", sessions), ("data_gaps", gaps), ("open", is_open),
                ("first_seq", first_seq), ("last_seq", last_seq),
            ):  # fmt: skip
                columns[name].append(value)
    table = pa.table(
        {
            name: pa.array(columns[name], type=pa.int32()).cast(pa.date32())
            if kind == "date32"
            else pa.array(columns[name], type=getattr(pa, kind)())
            for name, kind in _RUN_COLUMNS
        }
    )
    register_table(con, "found_runs", table)
    if with_state:
        names = ("laestab", "upn", "first_seq", "last_seq", "sessions", "data_gaps")
        kinds = (pa.string(), pa.string(), pa.int64(), pa.int64(), pa.int64(), pa.int64())
        rows: list[Any] = list(zip(*state, strict=True)) if state else [[] for _ in names]
        state_table = pa.table(
            {n: pa.array(list(v), type=t) for n, v, t in zip(names, rows, kinds, strict=True)}
        )
        con.execute("SELECT 1").fetchall()
        con.register("run_state_arrow", state_table)
        con.execute("CREATE OR REPLACE TABLE run_state AS SELECT * FROM run_state_arrow")
        con.unregister("run_state_arrow")
        con.execute("CREATE OR REPLACE TABLE school_state AS SELECT * FROM school_end")
    return [
        engine.RunRow(*row)
        for row in con.execute(
            "SELECT * FROM found_runs ORDER BY laestab, upn, first_seq"
        ).fetchall()
    ]


def evidence_marks(con: Any, gs: GridSet, min_sessions: int) -> None:
    """``candidate_mark_rows``: the marks of the pupils with a run in ``found_runs`` of at
    least ``min_sessions`` (what ``engine.run_evidence`` reads)."""
    rows = rows_of(
        con,
        "SELECT p.g, p.r FROM grid_pupils p SEMI JOIN (SELECT laestab, upn FROM found_runs "
        "WHERE sessions >= $min) f ON f.laestab = p.laestab AND f.upn = p.upn",
        {"min": min_sessions},
    )
    register_table(con, "candidate_mark_rows", marks_table(gs, rows))


def run_evidence(
    con: Any, gs: GridSet, min_sessions: int, limit: int
) -> dict[tuple[str, str, int], list[list[str | None]]]:
    """``engine.run_evidence`` on the grids: for every run in ``found_runs`` at least
    ``min_sessions`` long, each school session of its first ``limit`` as ``[date, session,
    code]`` (code None where the pupil has no mark), by ``(laestab, upn, first_seq)``.
    Only those pupils' rows are read: no table of their marks is built."""
    wanted = con.execute(
        "SELECT laestab, upn, first_seq, least(last_seq, first_seq + $limit - 1) "
        "FROM found_runs WHERE sessions >= $min_sessions",
        {"limit": limit, "min_sessions": min_sessions},
    ).fetchall()
    if not wanted:
        return {}
    sessions = con.execute(
        "SELECT laestab, seq, CAST(d - DATE '1970-01-01' AS INTEGER) AS day, "
        "session = 'PM' AS pm FROM school_sessions WHERE list_contains($schools, laestab) "
        "ORDER BY laestab, seq",
        {"schools": sorted({w[0] for w in wanted})},
    ).fetchnumpy()
    laestabs = np.asarray(sessions["laestab"]).astype(str)
    seqs = np.asarray(sessions["seq"], dtype=np.int64)
    days = np.asarray(sessions["day"], dtype=np.int64)
    halves = np.asarray(sessions["pm"], dtype=bool).astype(np.int64)
    dates = np.datetime_as_string(days.astype("datetime64[D]")).tolist()
    session_names = np.where(halves == 1, "PM", "AM").tolist()
    keys, starts = np.unique(laestabs, return_index=True)  # (sorted by laestab already)
    ends = np.r_[starts[1:], len(laestabs)]
    bounds = {str(k): (int(a), int(b)) for k, a, b in zip(keys.tolist(), starts, ends, strict=True)}
    grids_of: dict[str, list[int]] = {}
    for g, grid in enumerate(gs.grids):
        grids_of.setdefault(grid.laestab, []).append(g)
    rows_of: dict[int, dict[str, int]] = {}
    out: dict[tuple[str, str, int], list[list[str | None]]] = {}
    for laestab, upn, first_seq, upto in wanted:
        a, b = bounds.get(laestab, (0, 0))
        lo = a + int(np.searchsorted(seqs[a:b], first_seq, side="left"))
        hi = a + int(np.searchsorted(seqs[a:b], upto, side="right"))
        codes: list[str | None] = [None] * (hi - lo)
        for g in grids_of.get(laestab, []):
            grid = gs.grids[g]
            if g not in rows_of:
                rows_of[g] = {u: r for r, u in enumerate(grid.upns.astype(str).tolist())}
            r = rows_of[g].get(upn)
            if r is None:
                continue
            cols = (days[lo:hi] - _days(grid.start)) * 2 + halves[lo:hi]
            inside = np.flatnonzero((cols >= 0) & (cols < gs.upto[g]))
            if not len(inside):
                continue
            ids = grid.take(np.array([r]))[0][cols[inside]]
            for i, code_id in zip(inside.tolist(), ids.tolist(), strict=True):
                if code_id:
                    codes[i] = grid.vocab[code_id - 1]
        out[(laestab, upn, int(first_seq))] = [
            [dates[k], session_names[k], codes[k - lo]] for k in range(lo, hi)
        ]
    return out
