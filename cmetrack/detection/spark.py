"""The run-detection query on Apache Spark, for national-scale data (ADR 0009).

The same set-based steps as :data:`cmetrack.detection.engine.RUNS_SQL`, in Spark SQL:
school days from terms less closures, sessions numbered per school, each pupil's grid
from their first G/N/O session to the school's last marked session, segments between
breaks by a running count, and one aggregate per segment. Spark runs it in local mode
here (tests, small data); on a cluster the same function runs with a ``SparkSession``
from ``spark-submit`` and marks read from the partitioned Parquet store.

Nothing here imports Django.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from .engine import RUN_SEGMENT_CTES, RunRow


def local_session(cores: int = 2) -> Any:
    """A small local Spark session: no UI, few shuffle partitions, nothing downloaded."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(f"local[{cores}]")
        .appName("cmetrack-detection")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", str(cores))
        .config("spark.default.parallelism", str(cores))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )


SPARK_SCHOOL_DAYS_SQL = """
WITH weekdays AS (
    SELECT DISTINCT d FROM (
        SELECT explode(sequence(term_start, term_end, INTERVAL 1 DAY)) AS d FROM terms
    )
),
schools AS (SELECT DISTINCT laestab FROM marks)
SELECT s.laestab, w.d,
    row_number() OVER (PARTITION BY s.laestab ORDER BY w.d) AS day_no
FROM schools s CROSS JOIN weekdays w
WHERE dayofweek(w.d) BETWEEN 2 AND 6 AND w.d <= DATE '{as_of}'
  AND NOT EXISTS (
    SELECT 1 FROM closures c WHERE c.d = w.d AND (c.laestab = '' OR c.laestab = s.laestab)
  )
"""

SPARK_RUNS_SQL = f"""
WITH ms AS (
    -- One mark a session, the same one DuckDB keeps (max code) if a file repeats one.
    SELECT m.laestab, m.upn, s.seq, max(m.code) AS code
    FROM marks m
    JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
    WHERE m.d <= DATE '{{as_of}}'
    GROUP BY m.laestab, m.upn, s.seq
),
school_end AS (SELECT laestab, max(seq) AS end_seq FROM ms GROUP BY laestab),
{RUN_SEGMENT_CTES}groups AS (
    SELECT laestab, upn, grp,
        min(CASE WHEN k = 1 THEN seq END) AS first_seq,
        max(CASE WHEN k = 1 THEN seq END) AS last_seq,
        sum(CASE WHEN k = 1 THEN 1 ELSE 0 END) AS sessions,
        max(rn) - min(CASE WHEN k = 1 THEN rn END) + 1
            - sum(CASE WHEN k = 1 THEN 1 ELSE 0 END) AS data_gaps
    FROM seg GROUP BY laestab, upn, grp
),
flagged AS (
    SELECT *, max(grp) OVER (PARTITION BY laestab, upn) AS last_grp FROM groups
)
SELECT g.laestab, g.upn, f.d AS first_date, f.session AS first_session,
    l.d AS last_date, l.session AS last_session, g.sessions, g.data_gaps,
    g.grp = g.last_grp AS open, g.first_seq, g.last_seq
FROM flagged g
JOIN school_sessions f ON f.laestab = g.laestab AND f.seq = g.first_seq
JOIN school_sessions l ON l.laestab = g.laestab AND l.seq = g.last_seq
WHERE g.sessions >= {{min_sessions}}
ORDER BY g.laestab, g.upn, g.first_seq
"""  # noqa: S608 - constant SQL; the date and count are formatted from typed values


def absence_runs_spark(
    spark: Any,
    marks: Any,
    terms: Iterable[tuple[date, date]],
    closures: Iterable[tuple[str, date]],
    as_of: date,
    min_sessions: int = 1,
) -> list[RunRow]:
    """Runs of unexplained absence computed by Spark.

    ``marks`` is a Spark DataFrame with columns ``laestab, upn, d (date), session, code``
    (for example ``spark.read.parquet(...)`` with ``date`` renamed to ``d``).
    """
    from pyspark.sql.types import DateType, StringType, StructField, StructType

    marks.createOrReplaceTempView("marks")
    spark.createDataFrame(
        list(terms),
        StructType([StructField("term_start", DateType()), StructField("term_end", DateType())]),
    ).createOrReplaceTempView("terms")
    spark.createDataFrame(
        [(laestab or "", day) for laestab, day in closures],
        StructType([StructField("laestab", StringType()), StructField("d", DateType())]),
    ).createOrReplaceTempView("closures")
    day_sql = SPARK_SCHOOL_DAYS_SQL.format(as_of=as_of.isoformat())
    spark.sql(day_sql).createOrReplaceTempView("school_days")
    spark.sql(
        "SELECT sd.laestab, sd.d, h.session, sd.day_no * 2 + h.half AS seq "
        "FROM school_days sd CROSS JOIN (VALUES ('AM', 0), ('PM', 1)) AS h(session, half)"
    ).cache().createOrReplaceTempView("school_sessions")
    sql = SPARK_RUNS_SQL.format(as_of=as_of.isoformat(), min_sessions=int(min_sessions))
    return [RunRow(*tuple(row)) for row in spark.sql(sql).collect()]


def marks_dataframe(spark: Any, rows: Sequence[tuple[str, str, date, str, str]]) -> Any:
    """A marks DataFrame from Python rows (tests and small data)."""
    from pyspark.sql.types import DateType, StringType, StructField, StructType

    schema = StructType(
        [
            StructField("laestab", StringType()),
            StructField("upn", StringType()),
            StructField("d", DateType()),
            StructField("session", StringType()),
            StructField("code", StringType()),
        ]
    )
    return spark.createDataFrame(list(rows), schema)


def marks_from_parquet(spark: Any, paths: Sequence[str]) -> Any:
    """Marks from the Parquet store (column ``date`` becomes ``d``)."""
    return spark.read.parquet(*paths).withColumnRenamed("date", "d")
