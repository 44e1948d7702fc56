"""Session grids: the store's marks as one byte a session give the same findings as the rows."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmetrack.audit.services import Actor
from cmetrack.detection import engine, grids, importers, store
from cmetrack.detection.models import ImportStatus
from cmetrack.detection.services import (
    DetectionConfig,
    attendance_compact,
    detection_find,
)

from .runs_support import Mark, register_marks
from .test_detect import AS_OF, authority  # noqa: F401 - the small authority of every rule
from .test_runs import calendars_and_marks

SYSTEM = Actor.system("test")


def _write_store(root: Path, marks: list[Mark], name: str = store.BASE_NAME) -> None:
    """``marks`` as files named ``name`` (compacted by default), one per school and
    academic year."""
    con = engine.connect(threads=1)
    register_marks(con, marks)
    parts = con.execute(
        "SELECT DISTINCT laestab, CASE WHEN month(d) >= 9 THEN year(d) ELSE year(d) - 1 END "
        "FROM marks"
    ).fetchall()
    for laestab, year in parts:
        folder = store.partition_dir(root, laestab, year)
        folder.mkdir(parents=True, exist_ok=True)
        con.execute(
            f"COPY (SELECT laestab, upn, d AS date, session, code FROM marks WHERE laestab = ? "  # noqa: S608 - test path
            "AND CASE WHEN month(d) >= 9 THEN year(d) ELSE year(d) - 1 END = ?) "
            f"TO '{folder / name}' (FORMAT parquet)",
            [laestab, year],
        )


def _engine_both_ways(
    root: Path,
    terms: list[tuple[date, date]],
    closures: list[tuple[str, date]],
    as_of: date,
    min_sessions: int,
) -> tuple[Any, Any]:
    """(runs, state, school end, evidence) from the rows and from the grids."""
    answers = []
    for use_grids in (False, True):
        con = engine.connect(threads=1)
        engine.load_calendar(con, terms, closures)
        files = store.create_store_view(con, root)
        schools = {Path(p).parent.parent.name.removeprefix("school=") for p in files.bases}
        engine.build_school_days(con, as_of, laestabs=schools)
        if use_grids:
            gs = grids.grid_set(con, grids.load_grids(con, root, files), as_of)
            # The SQL run query over the marks the grids give it, and the runs computed
            # on the arrays: both must be the rows' answer.
            grids.prepare_runs(con, gs, min_sessions=min_sessions, with_state=True,
                               illness_from=date(2024, 9, 1))  # fmt: skip
            sql_runs = engine.absence_runs(con, as_of, min_sessions, with_state=True,
                                           prepared=True)  # fmt: skip
            sql_state = set(con.execute("SELECT * FROM run_state").fetchall())
            runs = grids.absence_runs(con, gs, min_sessions=min_sessions, with_state=True)
            assert runs == sql_runs
            assert set(con.execute("SELECT * FROM run_state").fetchall()) == sql_state
            grids.evidence_marks(con, gs, min_sessions)
            # The evidence read from the pupils' grid rows is the SQL's over their marks.
            by_sql = engine.run_evidence(con, min_sessions, 120)
            assert grids.run_evidence(con, gs, min_sessions, 120) == by_sql
        else:
            runs = engine.absence_runs(con, as_of, min_sessions, with_state=True)
        answers.append(
            (
                runs,
                set(con.execute("SELECT * FROM run_state").fetchall()),
                set(con.execute("SELECT * FROM school_state").fetchall()),
                engine.run_evidence(con, min_sessions, 120),
            )
        )
    return answers[0], answers[1]


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
@given(calendars_and_marks(), st.sampled_from([1, 3, 19, 20, 40]))
def test_the_engine_over_grids_gives_the_runs_state_and_evidence_of_the_rows(
    tmp_path_factory: Any,
    case: tuple[list[tuple[date, date]], list[tuple[str, date]], list[Mark], date],
    min_sessions: int,
) -> None:
    terms, closures, marks, as_of = case
    root = tmp_path_factory.mktemp("store")
    _write_store(root, marks)
    rows, grid = _engine_both_ways(root, terms, closures, as_of, min_sessions)
    assert grid == rows


def _write_delta(root: Path, marks: list[Mark], seq: int) -> None:
    """``marks`` as import ``seq``'s delta files, one per school and academic year."""
    _write_store(root, marks, store.delta_name(seq))


CORRECTIONS = ("/", "N", "I", "G", "#")


@settings(max_examples=40, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])  # fmt: skip
@given(calendars_and_marks(), st.sampled_from([1, 20]), st.integers(0, 4))
def test_deltas_laid_over_grids_with_their_kept_counts_give_the_rows_answers(
    tmp_path_factory: Any,
    case: tuple[list[tuple[date, date]], list[tuple[str, date]], list[Mark], date],
    min_sessions: int,
    shift: int,
) -> None:
    """Some marks compacted (with the counts kept beside the grid), the others and
    corrections of compacted marks in deltas: the overlay, its counts and its runs are
    those of the merged rows."""
    terms, closures, marks, as_of = case
    root = tmp_path_factory.mktemp("store")
    base = [m for i, m in enumerate(marks) if (i + shift) % 3]
    delta = [m for i, m in enumerate(marks) if not (i + shift) % 3]
    corrections = [
        (*m[:4], CORRECTIONS[(i + shift) % len(CORRECTIONS)])
        for i, m in enumerate(base)
        if (i + shift) % 4 == 1
    ]
    _write_store(root, base)
    grids.build_missing(engine.connect(threads=1), root)  # counts kept with each grid
    _write_delta(root, delta, 5)
    _write_delta(root, corrections, 6)
    rows, grid = _engine_both_ways(root, terms, closures, as_of, min_sessions)
    assert grid == rows
    # The counts the other rules pick their pupils by: G/N/O to the as-of date, I from
    # the start of the academic year.
    con = engine.connect(threads=1)
    engine.load_calendar(con, terms, closures)
    files = store.create_store_view(con, root)
    engine.build_school_days(con, as_of, laestabs=["9992001", "9992002"])
    gs = grids.grid_set(con, grids.load_grids(con, root, files), as_of)
    for runs in (True, False):
        grids.pupil_counts(gs, con, illness_from=date(2024, 9, 1), runs=runs)
        by_grid = set(
            con.execute(
                "SELECT laestab, upn, absent, illness FROM grid_pupils "
                "WHERE absent > 0 OR illness > 0"
            ).fetchall()
        )
        by_rows = set(
            con.execute(
                "SELECT laestab, upn, count(*) FILTER (WHERE code IN ('G', 'N', 'O')), "
                "count(*) FILTER (WHERE code = 'I') FROM marks WHERE d <= $as_of "
                "GROUP BY ALL HAVING count(*) FILTER (WHERE code IN ('G', 'N', 'O', 'I')) > 0",
                {"as_of": as_of},
            ).fetchall()
        )
        assert by_grid == by_rows
    assert gs.marks == con.execute("SELECT count(*) FROM marks").fetchone()[0]


def test_a_grid_holds_every_mark_and_is_rebuilt_when_its_marks_file_changes(
    tmp_path: Path,
) -> None:
    marks: list[Mark] = [
        ("9992001", "A1", date(2025, 1, 6), "AM", "N"),
        ("9992001", "A1", date(2025, 1, 6), "PM", "Y3"),
        ("9992001", "B2", date(2025, 1, 7), "PM", "/"),
        ("9992001", "B2", date(2025, 8, 31), "AM", "#"),
        ("9992001", "B2", date(2025, 3, 3), "PM", "?"),  # a code of no code list: kept
    ]
    _write_store(tmp_path, marks)
    con = engine.connect(threads=1)
    folder = store.partition_dir(tmp_path, "9992001", 2024)
    assert grids.build_missing(con, tmp_path) == 1
    kept = {grids.CODES_FILE, grids.UPNS_FILE, grids.COUNTS_FILE, grids.MARKED_FILE}
    assert {p.name for p in folder.iterdir()} >= kept
    assert grids.build_missing(con, tmp_path) == 0  # up to date: nothing rebuilt
    # A grid from before the counts were kept with it gets them, from its own codes.
    counts = np.load(folder / grids.COUNTS_FILE)
    assert counts.tolist() == [[1, 0], [0, 0]]  # A1: one N; B2: no G/N/O, no I
    for name in (grids.COUNTS_FILE, grids.MARKED_FILE):
        (folder / name).unlink()
    meta = json.loads((folder / grids.META_FILE).read_text())
    del meta["marks"]
    (folder / grids.META_FILE).write_text(json.dumps(meta))
    assert grids.build_missing(con, tmp_path) == 0
    assert np.load(folder / grids.COUNTS_FILE).tolist() == counts.tolist()
    assert json.loads((folder / grids.META_FILE).read_text())["marks"] == len(marks)

    engine.load_calendar(con, [(date(2024, 9, 2), date(2025, 8, 31))], [])
    engine.build_school_days(con, date(2025, 8, 31), laestabs=["9992001"])

    def grid_marks() -> set[tuple[Any, ...]]:
        files = store.store_files(tmp_path)
        gs = grids.grid_set(con, grids.load_grids(con, tmp_path, files), date(2025, 8, 31))
        table = grids.marks_table(gs, [(0, r) for r in range(len(gs.grids[0].upns))])
        return {tuple(r.values()) for r in table.to_pylist()}

    assert grid_marks() == set(marks)
    # A delta laid over the grid: a correction and a new pupil.
    delta = str(folder / store.delta_name(7))
    con.execute(
        "COPY (SELECT '9992001' AS laestab, * FROM (VALUES ('A1', DATE '2025-01-06', 'AM', "  # noqa: S608 - test path
        "'/'), ('C3', DATE '2025-01-08', 'AM', 'G')) t(upn, date, session, code)) "
        f"TO '{delta}' (FORMAT parquet)"
    )
    expected = (set(marks) - {marks[0]}) | {
        ("9992001", "A1", date(2025, 1, 6), "AM", "/"),
        ("9992001", "C3", date(2025, 1, 8), "AM", "G"),
    }
    assert grid_marks() == expected
    # The lazy view of the store (what detection over grids leaves for corrections) reads
    # the same marks as the eager one.
    views = []
    for lazy in (False, True):
        other = engine.connect(threads=1)
        store.create_store_view(other, tmp_path, lazy=lazy)
        views.append(set(other.execute("SELECT * FROM marks").fetchall()))
    assert views[0] == views[1] == expected
    (folder / store.delta_name(7)).unlink()
    # The marks file replaced (as compaction does): the stale grid is not used.
    (folder / store.BASE_NAME).unlink()
    _write_store(tmp_path, marks[:2])
    assert grid_marks() == set(marks[:2])


def test_a_mark_a_grid_cannot_hold_falls_back_to_the_rows(tmp_path: Path) -> None:
    folder = store.partition_dir(tmp_path, "9992001", 2024)
    folder.mkdir(parents=True)
    con = engine.connect(threads=1)
    con.execute(  # dated in the next academic year: not this partition's
        "COPY (SELECT '9992001' AS laestab, 'A1' AS upn, DATE '2025-09-02' AS date, "
        f"'AM' AS session, 'N' AS code) TO '{folder / store.BASE_NAME}' (FORMAT parquet)"
    )
    with pytest.raises(grids.GridUnusable):
        grids.load_grids(con, tmp_path, store.store_files(tmp_path))


# --- The product path: every rule, through the grids and through the rows ------------------


def _findings(config: DetectionConfig) -> list[tuple[Any, ...]]:
    report = detection_find(config)
    return sorted(
        (str(f.rule), f.laestab, f.upn, f.episode_start, repr(sorted(f.evidence.items())))
        for f in report.findings
    )


@pytest.mark.django_db
def test_every_rule_finds_the_same_through_the_grids_as_through_the_rows(
    settings: Any,
    tmp_path: Path,
    authority: Path,  # noqa: F811 - the fixture
) -> None:
    settings.ATTENDANCE_DIR = str(tmp_path / "attendance")
    path = authority / "marks.csv"
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name="m.csv")
    assert run.status == ImportStatus.SUCCEEDED, run.errors

    def both() -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        config = DetectionConfig(as_of=AS_OF, incremental=False)
        return _findings(config), _findings(dataclasses.replace(config, use_grids=False))

    by_grid, by_rows = both()  # deltas only, laid over empty grids
    assert by_grid == by_rows
    rules = {f[0] for f in by_grid}
    assert {"absence_20", "absence_40", "illness_15", "in_care_attendance"} <= rules
    assert any("joined" in f[4] for f in by_grid)  # runs joined across schools
    attendance_compact()  # the grids written beside the compacted files
    assert list(Path(settings.ATTENDANCE_DIR).rglob(grids.CODES_FILE))
    by_grid, by_rows = both()
    assert by_grid == by_rows
