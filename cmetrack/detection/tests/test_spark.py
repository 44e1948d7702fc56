"""Spark and DuckDB agree on runs of unexplained absence (local mode, small data).

Spark starts a JVM (several seconds), so this module shares one session and keeps to a
few small cases; Java 17 is installed in CI (.ci/run).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cmetrack.detection import engine
from cmetrack.detection.spark import (
    absence_runs_spark,
    local_session,
    marks_dataframe,
    marks_from_parquet,
)

from .runs_support import Mark, duckdb_runs
from .test_runs import AS_OF, CLOSURES, SCHOOL, TERMS, pupil

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = local_session(cores=1)
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def generated_marks(seed: int) -> list[Mark]:
    rng = random.Random(seed)
    codes = ["N", "N", "O", "G", "#", "Z", "/", "\\", "U", "I", None, None]
    marks: list[Mark] = []
    for school in (SCHOOL, "9992002"):
        for n in range(6):
            day = date(2025, 1, 6)
            while day <= date(2025, 3, 28):
                for half in ("AM", "PM"):
                    # long stretches of one code give runs of 20+ sessions too
                    code = rng.choice(codes) if rng.random() < 0.3 else "N"
                    if code is not None:
                        marks.append((school, f"P{n}", day, half, code))
                day += timedelta(days=1)
    return marks


def test_spark_agrees_with_duckdb_on_generated_calendars_and_marks(spark: Any) -> None:
    marks = [
        *generated_marks(7),
        *pupil("EDGE", date(2025, 1, 9), "N N N N / N . . # N"),
        *pupil("PM", date(2025, 3, 3), "/ N N N /"),
    ]
    as_of = date(2025, 3, 21)
    expected = duckdb_runs(marks, TERMS, CLOSURES, as_of)
    got = absence_runs_spark(spark, marks_dataframe(spark, marks), TERMS, CLOSURES, as_of)
    assert len(expected) > 20
    assert any(r.sessions >= 20 for r in expected)
    assert got == expected


def test_spark_reads_the_parquet_store(spark: Any, tmp_path: Path) -> None:
    marks = pupil("A", date(2025, 3, 3), " ".join(["O"] * 24) + " /")
    path = tmp_path / "marks.parquet"
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE m (laestab VARCHAR, upn VARCHAR, date DATE, session VARCHAR, code VARCHAR)"
    )
    con.executemany("INSERT INTO m VALUES (?, ?, ?, ?, ?)", marks)
    con.execute(f"COPY m TO '{path}' (FORMAT parquet)")
    got = absence_runs_spark(
        spark, marks_from_parquet(spark, [str(path)]), TERMS, CLOSURES, AS_OF, min_sessions=20
    )
    duck = engine.connect()
    engine.load_calendar(duck, TERMS, CLOSURES)
    engine.create_marks_view(duck, [str(path)])
    engine.build_school_days(duck, AS_OF)
    assert got == engine.absence_runs(duck, AS_OF, min_sessions=20)
    assert [(r.sessions, r.open) for r in got] == [(24, False)]
