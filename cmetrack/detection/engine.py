"""The detection engine: set-based SQL on DuckDB over attendance marks and the calendar.

No Django here: the engine takes plain rows (terms, closures, rolls, returns) and file
locations, so the same queries run in the benchmark, the ``cmetrack detect`` command and
the tests. :mod:`cmetrack.detection.spark` runs the run-detection query on Spark.

Tables the engine works on (all in one DuckDB connection):

* ``marks(laestab, upn, d, session, code)``: a view over Parquet and/or CSV files;
* ``terms(term_start, term_end)`` and ``closures(laestab, d)`` (``laestab = ''`` is LA-wide);
* ``school_days(laestab, d, day_no)``: every school day of every school in ``marks``, and of
  ``''`` (the LA-wide calendar), numbered from 1 in date order;
* ``school_sessions(laestab, d, session, seq)``: two sessions a school day, ``seq`` =
  ``2 * day_no + (0 for AM, 1 for PM)``, so consecutive school sessions differ by 1.

Runs of unexplained absence (rules.md section 4), for one pupil at one school:

* the pupil's *grid* is every school session of the school from the pupil's first G/N/O
  session to the school's last session with any mark on or before the as-of date (the end
  of the data); non-school days are not in it, so they neither break nor extend a run;
* a session is G/N/O (extends), ``#``/Z/X (neutral), no mark (a data gap: neutral but
  counted) or anything else (breaks);
* a running count of breaks numbers the segments between breaks; in each segment the run
  is its G/N/O sessions, and its data gaps are the gaps after the first of them;
* the run is open when no break follows it.

This agrees with :func:`cmetrack.rules.unexplained_absence_runs` (property-tested).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from cmetrack.rules.attendance import (
    ATTENDANCE_CODES,
    NEUTRAL_FOR_RUNS_CODES,
    SESSIONS_PER_SCHOOL_DAY,
    UNEXPLAINED_ABSENCE_CODES,
    AttendanceCategory,
)

_ABSENT = ", ".join(f"'{c}'" for c in sorted(UNEXPLAINED_ABSENCE_CODES))
_NEUTRAL = ", ".join(f"'{c}'" for c in sorted(NEUTRAL_FOR_RUNS_CODES))
_ATTENDED = ", ".join(
    f"'{c.code}'"
    for c in ATTENDANCE_CODES.values()
    if c.category in {AttendanceCategory.PRESENT, AttendanceCategory.APPROVED_ACTIVITY}
)
#: Codes not counted in possible sessions (D, Z, #) and X (not of compulsory school age).
_NOT_POSSIBLE = ", ".join(
    f"'{c.code}'"
    for c in ATTENDANCE_CODES.values()
    if c.category == AttendanceCategory.NOT_COUNTED or c.code == "X"
)

MARKS_COLUMNS = ("laestab", "upn", "date", "session", "code")
#: Typed CSV reading of marks.
_CSV_COLUMNS = (
    "{'laestab': 'VARCHAR', 'upn': 'VARCHAR', 'date': 'DATE', 'session': 'VARCHAR', "
    "'code': 'VARCHAR'}"
)


@dataclass(frozen=True)
class RunRow:
    """One run of unexplained absence, as the engine reports it."""

    laestab: str
    upn: str
    first_date: date
    first_session: str
    last_date: date
    last_session: str
    sessions: int
    data_gaps: int
    open: bool
    first_seq: int
    last_seq: int

    @property
    def school_days(self) -> float:
        return self.sessions / SESSIONS_PER_SCHOOL_DAY

    @property
    def span_sessions(self) -> int:
        """School sessions from the first to the last G/N/O, neutral and gaps included."""
        return self.last_seq - self.first_seq + 1

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_date"] = self.first_date.isoformat()
        data["last_date"] = self.last_date.isoformat()
        data["school_days"] = self.school_days
        data["span_sessions"] = self.span_sessions
        return data


def connect(*, threads: int | None = None, memory_limit: str | None = None) -> Any:
    """A fresh in-memory DuckDB connection."""
    con = duckdb.connect(":memory:")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    return con


def load_calendar(
    con: Any, terms: Iterable[tuple[date, date]], closures: Iterable[tuple[str, date]]
) -> None:
    """Create ``terms`` and ``closures`` (``laestab`` '' for LA-wide closures)."""
    con.execute("CREATE OR REPLACE TABLE terms (term_start DATE, term_end DATE)")
    con.execute("CREATE OR REPLACE TABLE closures (laestab VARCHAR, d DATE)")
    term_rows = list(terms)
    closure_rows = [(laestab or "", day) for laestab, day in closures]
    if term_rows:
        con.executemany("INSERT INTO terms VALUES (?, ?)", term_rows)
    if closure_rows:
        con.executemany("INSERT INTO closures VALUES (?, ?)", closure_rows)


def calendar_from_csv(con: Any, terms_csv: Path, closures_csv: Path | None) -> None:
    """Load the calendar from the import formats (``term_start,term_end``;
    ``laestab,date,reason``), for ``cmetrack detect --data`` and the benchmark."""
    con.execute(
        "CREATE OR REPLACE TABLE terms AS SELECT CAST(term_start AS DATE) AS term_start, "
        "CAST(term_end AS DATE) AS term_end FROM read_csv(?, header = true, all_varchar = true)",
        [str(terms_csv)],
    )
    if closures_csv is not None and closures_csv.exists():
        con.execute(
            "CREATE OR REPLACE TABLE closures AS SELECT coalesce(trim(laestab), '') AS laestab, "
            "CAST(date AS DATE) AS d FROM read_csv(?, header = true, all_varchar = true)",
            [str(closures_csv)],
        )
    else:
        con.execute("CREATE OR REPLACE TABLE closures (laestab VARCHAR, d DATE)")


def marks_sources(data_dir: Path) -> tuple[list[str], list[str]]:
    """Parquet and CSV files of marks under ``data_dir`` (calendar CSVs left out)."""
    parquet = sorted(str(p) for p in data_dir.rglob("*.parquet"))
    csv = sorted(
        str(p)
        for p in data_dir.rglob("*.csv")
        if p.name not in {"terms.csv", "closures.csv"} and _is_marks_csv(p)
    )
    return parquet, csv


def _is_marks_csv(path: Path) -> bool:
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline().strip().lower().replace(" ", "")
    return header.split(",")[:5] == list(MARKS_COLUMNS)


def create_marks_view(con: Any, parquet: Sequence[str] = (), csv: Sequence[str] = ()) -> None:
    """The ``marks`` view over the given files. Codes and sessions are normalised."""
    parts = []
    if parquet:
        parts.append(
            "SELECT CAST(laestab AS VARCHAR) AS laestab, CAST(upn AS VARCHAR) AS upn, "  # noqa: S608 - paths escaped
            "CAST(date AS DATE) AS d, CAST(session AS VARCHAR) AS session, "
            "CAST(code AS VARCHAR) AS code "
            f"FROM read_parquet({_list_sql(parquet)}, union_by_name = true)"
        )
    if csv:
        # Parsed once into a table (typed: twice as fast as text then casts); the queries
        # read the marks more than once. Values are normalised afterwards, and only where a
        # distinct value needs it (trimming and upper-casing 95 million rows costs a third
        # of the load).
        try:
            con.execute(
                "CREATE OR REPLACE TABLE marks_csv AS "  # noqa: S608 - paths escaped
                "SELECT laestab, upn, date AS d, session, code "
                f"FROM read_csv({_list_sql(csv)}, header = true, columns = {_CSV_COLUMNS})"
            )
        except duckdb.Error:
            # Not every date is ISO (a spreadsheet's 03/09/2025): read them as text.
            con.execute(
                "CREATE OR REPLACE TABLE marks_csv AS "  # noqa: S608 - paths escaped
                "SELECT laestab, upn, coalesce(TRY_CAST(date AS DATE), "
                "CAST(try_strptime(date, '%d/%m/%Y') AS DATE)) AS d, session, code "
                f"FROM read_csv({_list_sql(csv)}, header = true, all_varchar = true)"
            )
        _normalise_marks_table(con, "marks_csv")
        parts.append("SELECT laestab, upn, d, session, code FROM marks_csv")
    if not parts:
        parts.append(
            "SELECT NULL::VARCHAR AS laestab, NULL::VARCHAR AS upn, NULL::DATE AS d, "
            "NULL::VARCHAR AS session, NULL::VARCHAR AS code WHERE false"
        )
    con.execute("CREATE OR REPLACE VIEW marks AS " + " UNION ALL ".join(parts))


def _normalise_marks_table(con: Any, table: str) -> None:
    """Trim LAESTABs and upper-case sessions and codes, touching only the rows that need it."""

    def upper(value: str) -> str:
        return value.strip().upper()

    fixes: dict[str, Callable[[str], str]] = {"laestab": str.strip, "session": upper, "code": upper}
    combos = con.execute(f"SELECT DISTINCT laestab, session, code FROM {table}").fetchall()  # noqa: S608 - our table
    for index, (column, fix) in enumerate(fixes.items()):
        bad = sorted(
            {row[index] for row in combos if row[index] is not None}
            - {
                row[index]
                for row in combos
                if row[index] is not None and fix(row[index]) == row[index]
            }
        )
        if bad:
            sql_fix = "trim(laestab)" if column == "laestab" else f"upper(trim({column}))"
            con.execute(
                f"UPDATE {table} SET {column} = {sql_fix} WHERE {column} IN "  # noqa: S608 - our table
                f"(SELECT unnest(?::VARCHAR[]))",
                [bad],
            )


def _list_sql(paths: Sequence[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def build_school_days(
    con: Any,
    as_of: date,
    laestabs: Iterable[str] | None = None,
    extra_laestabs: Iterable[str] = (),
) -> None:
    """``school_days`` and ``school_sessions`` up to ``as_of`` for every school in the marks
    (or in ``laestabs``) and in ``extra_laestabs``, plus the LA-wide calendar under ``''``."""
    con.execute("CREATE OR REPLACE TABLE calendar_schools (laestab VARCHAR)")
    wanted = {"", *extra_laestabs, *(laestabs or ())}
    con.executemany("INSERT INTO calendar_schools VALUES (?)", [(x,) for x in sorted(wanted)])
    if laestabs is None:
        con.execute(
            "INSERT INTO calendar_schools SELECT DISTINCT laestab FROM marks "
            "WHERE laestab NOT IN (SELECT laestab FROM calendar_schools)"
        )
    con.execute(
        """
        CREATE OR REPLACE TABLE school_days AS
        WITH weekdays AS (
            SELECT DISTINCT CAST(unnest(generate_series(
                CAST(term_start AS TIMESTAMP), CAST(term_end AS TIMESTAMP), INTERVAL 1 DAY
            )) AS DATE) AS d
            FROM terms
        ),
        open_days AS (
            SELECT s.laestab, w.d
            FROM calendar_schools s CROSS JOIN weekdays w
            WHERE isodow(w.d) <= 5 AND w.d <= $as_of
              AND NOT EXISTS (
                SELECT 1 FROM closures c
                WHERE c.d = w.d AND (c.laestab = '' OR c.laestab = s.laestab)
              )
        )
        SELECT laestab, d, row_number() OVER (PARTITION BY laestab ORDER BY d) AS day_no
        FROM open_days
        """,
        {"as_of": as_of},
    )
    con.execute(
        """
        CREATE OR REPLACE TABLE school_sessions AS
        SELECT sd.laestab, sd.d, h.session, sd.day_no, sd.day_no * 2 + h.half AS seq
        FROM school_days sd CROSS JOIN (VALUES ('AM', 0), ('PM', 1)) AS h(session, half)
        """
    )


#: The heart of the run rule (rules.md §4), word for word the same on DuckDB and Spark:
#: from each pupil's first G/N/O session, every school session up to the school's last
#: marked one is classed (0 gap, 1 absent, 2 neutral, 3 breaks) and segmented by breaks.
RUN_SEGMENT_CTES = f"""starts AS (
    SELECT laestab, upn, min(seq) AS start_seq FROM ms
    WHERE code IN ({_ABSENT}) GROUP BY laestab, upn
),
pupil_marks AS (
    SELECT ms.laestab, ms.upn, ms.seq, ms.code
    FROM ms JOIN starts st ON st.laestab = ms.laestab AND st.upn = ms.upn
    WHERE ms.seq >= st.start_seq
),
grid AS (
    SELECT st.laestab, st.upn, s.seq,
        CASE
            WHEN pm.code IS NULL THEN 0
            WHEN pm.code IN ({_ABSENT}) THEN 1
            WHEN pm.code IN ({_NEUTRAL}) THEN 2
            ELSE 3
        END AS k
    FROM starts st
    JOIN school_end e ON e.laestab = st.laestab
    JOIN school_sessions s
        ON s.laestab = st.laestab AND s.seq BETWEEN st.start_seq AND e.end_seq
    LEFT JOIN pupil_marks pm
        ON pm.laestab = st.laestab AND pm.upn = st.upn AND pm.seq = s.seq
),
seg AS (
    SELECT laestab, upn, seq, k,
        sum(CASE WHEN k = 3 THEN 1 ELSE 0 END) OVER w AS grp,
        row_number() OVER w AS rn
    FROM grid WHERE k <> 2
    WINDOW w AS (PARTITION BY laestab, upn ORDER BY seq ROWS UNBOUNDED PRECEDING)
),
"""  # noqa: S608 - constant SQL built from the code tables

#: The pupils worth a grid: a run of n sessions needs n G/N/O marks. Each gets a number
#: (pid), the key of the window steps (an integer sorts faster than a UPN). Written to the
#: table ``run_candidates`` before :data:`RUNS_SQL` runs, so that DuckDB knows how few they
#: are and builds its hash tables on them, not on the marks.
CANDIDATES_SQL = f"""
SELECT laestab, upn, row_number() OVER () AS pid FROM (
    SELECT laestab, upn FROM marks
    WHERE d <= $as_of AND code IN ({_ABSENT})
    GROUP BY laestab, upn HAVING count(*) >= $min_sessions
)
"""  # noqa: S608 - constant SQL built from the code tables

RUNS_SQL = f"""
WITH candidates AS (SELECT laestab, upn, pid FROM run_candidates),
school_last AS MATERIALIZED (
    -- Each school's last marked morning and afternoon: 250 groups, not one per school day.
    SELECT laestab, max(d) FILTER (WHERE session = 'AM') AS am_d,
        max(d) FILTER (WHERE session = 'PM') AS pm_d
    FROM marks WHERE d <= $as_of GROUP BY laestab
),
quick_end AS MATERIALIZED (
    SELECT x.laestab, greatest(a.seq, p.seq) AS end_seq,
        (x.am_d IS NOT NULL AND a.seq IS NULL) OR (x.pm_d IS NOT NULL AND p.seq IS NULL) AS odd
    FROM school_last x
    LEFT JOIN school_sessions a ON a.laestab = x.laestab AND a.d = x.am_d AND a.session = 'AM'
    LEFT JOIN school_sessions p ON p.laestab = x.laestab AND p.d = x.pm_d AND p.session = 'PM'
),
school_end AS MATERIALIZED (
    -- A school whose last mark is not on a school session (a stray mark on a closed day)
    -- is worked out mark by mark.
    SELECT laestab, end_seq FROM quick_end WHERE NOT odd AND end_seq IS NOT NULL
    UNION ALL
    SELECT m.laestab, max(s.seq) AS end_seq
    FROM marks m
    JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
    WHERE m.d <= $as_of AND m.laestab IN (SELECT laestab FROM quick_end WHERE odd)
    GROUP BY m.laestab
),
candidate_marks AS MATERIALIZED (
    -- Narrow the marks to the candidates first (a SEMI JOIN always builds its hash table
    -- on the candidates, never on the marks), then find their sessions.
    SELECT m.laestab, m.upn, m.d, m.session, m.code
    FROM marks m
    SEMI JOIN candidates c ON c.laestab = m.laestab AND c.upn = m.upn
    WHERE m.d <= $as_of
),
ms AS (
    -- In the shared steps below "upn" holds the candidate's number. One mark a session:
    -- a file that repeats a session (imports refuse that; other exports may not) must not
    -- count it twice, so one code is kept, the same on every run.
    SELECT m.laestab, c.pid AS upn, s.seq, max(m.code) AS code
    FROM candidate_marks m
    JOIN candidates c ON c.laestab = m.laestab AND c.upn = m.upn
    JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
    GROUP BY m.laestab, c.pid, s.seq
),
{RUN_SEGMENT_CTES}pupil_last AS (
    -- The pupil's last segment: a run in it is still open.
    SELECT laestab, upn, max(grp) AS last_grp FROM seg GROUP BY laestab, upn
),
groups AS (
    -- Only the G/N/O rows and the data gaps: a segment is a break then gaps and G/N/O, so
    -- these hold its last row (max rn) and the gaps after its first G/N/O.
    SELECT laestab, upn, grp,
        min(seq) FILTER (WHERE k = 1) AS first_seq,
        max(seq) FILTER (WHERE k = 1) AS last_seq,
        count(*) FILTER (WHERE k = 1) AS sessions,
        max(rn) - min(rn) FILTER (WHERE k = 1) + 1 - count(*) FILTER (WHERE k = 1) AS data_gaps
    FROM seg WHERE k <= 1 GROUP BY laestab, upn, grp
    HAVING count(*) FILTER (WHERE k = 1) >= greatest($min_sessions, 1)
)
-- LEFT JOINs keep DuckDB from joining the two calendar lookups to each other first.
SELECT g.laestab, c.upn, f.d AS first_date, f.session AS first_session,
    l.d AS last_date, l.session AS last_session, g.sessions, g.data_gaps,
    g.grp = p.last_grp AS open, g.first_seq, g.last_seq
FROM groups g
JOIN pupil_last p ON p.laestab = g.laestab AND p.upn = g.upn
JOIN candidates c ON c.pid = g.upn
LEFT JOIN school_sessions f ON f.laestab = g.laestab AND f.seq = g.first_seq
LEFT JOIN school_sessions l ON l.laestab = g.laestab AND l.seq = g.last_seq
ORDER BY g.laestab, c.upn, g.first_seq
"""  # noqa: S608 - constant SQL built from the code tables


def _candidates(con: Any, sql: str, as_of: date, min_sessions: int) -> None:
    params = {"as_of": as_of}
    if "$min_sessions" in sql:
        params["min_sessions"] = min_sessions  # type: ignore[assignment]
    con.execute("CREATE OR REPLACE TEMP TABLE run_candidates AS " + sql, params)


def absence_runs(con: Any, as_of: date, min_sessions: int = 1) -> list[RunRow]:
    """Every run of unexplained absence up to ``as_of`` at least ``min_sessions`` long."""
    _candidates(con, CANDIDATES_SQL, as_of, min_sessions)
    rows = con.execute(RUNS_SQL, {"as_of": as_of, "min_sessions": min_sessions}).fetchall()
    return [RunRow(*row) for row in rows]


ATTENDANCE_SQL = f"""
SELECT m.upn,
    count(*) FILTER (WHERE m.code IN ({_ATTENDED})) AS attended,
    count(*) FILTER (WHERE m.code NOT IN ({_NOT_POSSIBLE})) AS possible,
    count(*) FILTER (WHERE m.code = 'I') AS illness,
    min(m.d) AS first_date, max(m.d) AS last_date, any_value(m.laestab) AS laestab
FROM marks m
JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
WHERE m.d BETWEEN $start AND $as_of
GROUP BY m.upn
"""  # noqa: S608 - constant SQL built from the code tables


@dataclass(frozen=True)
class AttendanceRow:
    upn: str
    attended: int
    possible: int
    illness: int
    first_date: date
    last_date: date
    laestab: str

    @property
    def percent(self) -> float:
        return 100.0 * self.attended / self.possible if self.possible else 100.0


def attendance_summary(
    con: Any, start: date, as_of: date, upns: Iterable[str] | None = None
) -> list[AttendanceRow]:
    """Attendance per pupil from ``start`` to ``as_of`` (school sessions only).

    Attended: present and approved educational activity. Possible: every mark but D, Z, #
    and X. ``illness``: sessions coded I.
    """
    sql = ATTENDANCE_SQL
    params: dict[str, Any] = {"start": start, "as_of": as_of}
    if upns is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE wanted_upns (upn VARCHAR)")
        wanted = [(u,) for u in upns]
        if wanted:
            con.executemany("INSERT INTO wanted_upns VALUES (?)", wanted)
        sql = sql.replace("WHERE m.d", "WHERE m.upn IN (SELECT upn FROM wanted_upns) AND m.d")
    return [AttendanceRow(*row) for row in con.execute(sql, params).fetchall()]


ILLNESS_SQL = """
SELECT m.upn, any_value(m.laestab) AS laestab, count(*) AS sessions, min(m.d) AS first_date
FROM marks m
JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
WHERE m.d BETWEEN $start AND $as_of AND m.code = 'I'
GROUP BY m.upn
HAVING count(*) >= $min_sessions
"""


def illness_pupils(
    con: Any, start: date, as_of: date, min_sessions: int
) -> list[tuple[str, str, int, date]]:
    """Pupils with at least ``min_sessions`` illness (I) sessions from ``start`` to ``as_of``."""
    return [
        tuple(row)
        for row in con.execute(
            ILLNESS_SQL, {"start": start, "as_of": as_of, "min_sessions": min_sessions}
        ).fetchall()
    ]


def nth_school_day_after(con: Any, laestab: str, after: date, n: int) -> date | None:
    """The ``n``-th school day of ``laestab`` ('' for LA-wide) strictly after ``after``."""
    row = con.execute(
        "SELECT d FROM school_days WHERE laestab = ? AND d > ? ORDER BY d LIMIT 1 OFFSET ?",
        [laestab, after, n - 1],
    ).fetchone()
    return row[0] if row else None


# --- One-day increments -------------------------------------------------------------------
#
# After a full run, ``save_run_state`` keeps every open run (any length) and each school's
# last marked session. ``incremental_runs`` then reads only the new marks (a view
# ``new_marks`` with the columns of ``marks``): each open run is carried in as one
# synthetic G/N/O row holding its sessions and gaps so far, followed by the new sessions,
# and the same segment-and-aggregate step gives the runs as a full recompute would.

STATE_SQL = """
CREATE OR REPLACE TABLE school_state AS
SELECT m.laestab, max(s.seq) AS end_seq
FROM marks m
JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
WHERE m.d <= $as_of
GROUP BY m.laestab
"""


#: Pupils whose last G/N/O comes after their last break: only they can have an open run.
_OPEN_CANDIDATES = f"""SELECT laestab, upn, row_number() OVER () AS pid FROM (
    SELECT m.laestab, m.upn FROM marks m
    JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
    WHERE m.d <= $as_of
    GROUP BY m.laestab, m.upn
    HAVING max(s.seq) FILTER (WHERE m.code IN ({_ABSENT})) > coalesce(
        max(s.seq) FILTER (WHERE m.code NOT IN ({_ABSENT}) AND m.code NOT IN ({_NEUTRAL})), -1
    )
)"""  # noqa: S608 - constant SQL built from the code tables


def save_run_state(con: Any, as_of: date) -> None:
    """Keep the open runs and each school's end of data, for :func:`incremental_runs`.

    The same run query as a full detection, but only over the pupils who can have an
    open run (their last G/N/O is after their last break), of any length.
    """
    con.execute(STATE_SQL, {"as_of": as_of})
    _candidates(con, _OPEN_CANDIDATES, as_of, 1)
    con.execute(
        "CREATE OR REPLACE TABLE run_state AS "  # noqa: S608 - constant SQL
        "SELECT laestab, upn, first_seq, last_seq, sessions, data_gaps FROM ("
        + RUNS_SQL.replace("ORDER BY g.laestab, c.upn, g.first_seq", "")
        + ") WHERE open",
        {"as_of": as_of, "min_sessions": 1},
    )


INCREMENT_SQL = f"""
WITH nm AS MATERIALIZED (
    SELECT m.laestab, m.upn, s.seq, m.code
    FROM new_marks m
    JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
    WHERE m.d <= $as_of
),
ends AS (
    SELECT coalesce(n.laestab, o.laestab) AS laestab,
        greatest(coalesce(n.end_seq, 0), coalesce(o.end_seq, 0)) AS end_seq,
        coalesce(o.end_seq, 0) AS old_end
    FROM (SELECT laestab, max(seq) AS end_seq FROM nm GROUP BY laestab) n
    FULL JOIN school_state o ON o.laestab = n.laestab
),
fresh AS (
    SELECT laestab, upn, min(seq) AS start_seq FROM nm
    WHERE code IN ({_ABSENT}) GROUP BY laestab, upn
),
pupils AS (
    SELECT coalesce(r.laestab, f.laestab) AS laestab, coalesce(r.upn, f.upn) AS upn,
        CASE WHEN r.upn IS NOT NULL THEN e.old_end + 1 ELSE f.start_seq END AS grid_start,
        r.first_seq AS carry_first, r.last_seq AS carry_last,
        r.sessions AS carry_sessions, r.data_gaps AS carry_gaps
    FROM run_state r
    FULL JOIN fresh f ON f.laestab = r.laestab AND f.upn = r.upn
    JOIN ends e ON e.laestab = coalesce(r.laestab, f.laestab)
),
grid AS (
    SELECT p.laestab, p.upn, s.seq,
        CASE
            WHEN nm.code IS NULL THEN 0
            WHEN nm.code IN ({_ABSENT}) THEN 1
            WHEN nm.code IN ({_NEUTRAL}) THEN 2
            ELSE 3
        END AS k,
        1 AS w_sessions, 0 AS w_gaps, s.seq AS real_last
    FROM pupils p
    JOIN ends e ON e.laestab = p.laestab
    JOIN school_sessions s
        ON s.laestab = p.laestab AND s.seq BETWEEN p.grid_start AND e.end_seq
    LEFT JOIN nm ON nm.laestab = p.laestab AND nm.upn = p.upn AND nm.seq = s.seq
    UNION ALL
    SELECT laestab, upn, carry_first, 1, carry_sessions, carry_gaps, carry_last
    FROM pupils WHERE carry_first IS NOT NULL
),
seg AS (
    SELECT *,
        sum(CASE WHEN k = 3 THEN 1 ELSE 0 END) OVER w AS grp,
        row_number() OVER w AS rn
    FROM grid WHERE k <> 2
    WINDOW w AS (PARTITION BY laestab, upn ORDER BY seq ROWS UNBOUNDED PRECEDING)
),
groups AS (
    SELECT laestab, upn, grp,
        min(seq) FILTER (WHERE k = 1) AS first_seq,
        max(real_last) FILTER (WHERE k = 1) AS last_seq,
        sum(w_sessions) FILTER (WHERE k = 1) AS sessions,
        max(rn) - min(rn) FILTER (WHERE k = 1) + 1 - count(*) FILTER (WHERE k = 1)
            + sum(w_gaps) FILTER (WHERE k = 1) AS data_gaps,
        max(grp) OVER (PARTITION BY laestab, upn) AS last_grp
    FROM seg GROUP BY laestab, upn, grp
)
SELECT g.laestab, g.upn, f.d AS first_date, f.session AS first_session,
    l.d AS last_date, l.session AS last_session, CAST(g.sessions AS BIGINT) AS sessions,
    g.data_gaps,
    g.grp = g.last_grp AS open, g.first_seq, g.last_seq
FROM groups g
LEFT JOIN school_sessions f ON f.laestab = g.laestab AND f.seq = g.first_seq
LEFT JOIN school_sessions l ON l.laestab = g.laestab AND l.seq = g.last_seq
WHERE g.sessions >= 1
ORDER BY g.laestab, g.upn, g.first_seq
"""  # noqa: S608 - constant SQL built from the code tables


def incremental_runs(con: Any, as_of: date, *, keep_state: bool = True) -> list[RunRow]:
    """Runs touched by the marks in ``new_marks`` (open runs carried in from the state).

    Returns every run that the new marks extended, closed or started (runs already closed
    before are not repeated). With ``keep_state`` the state moves on to ``as_of``.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE increment_runs AS " + INCREMENT_SQL, {"as_of": as_of})
    rows = [
        RunRow(*row)
        for row in con.execute(
            "SELECT * FROM increment_runs ORDER BY laestab, upn, first_seq"
        ).fetchall()
    ]
    if keep_state:
        con.execute(
            "CREATE OR REPLACE TABLE school_state AS "
            "SELECT laestab, max(end_seq) AS end_seq FROM (SELECT * FROM school_state "
            "UNION ALL SELECT m.laestab, max(s.seq) FROM new_marks m JOIN school_sessions s "
            "ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session "
            "WHERE m.d <= $as_of GROUP BY m.laestab) GROUP BY laestab",
            {"as_of": as_of},
        )
        # Set-based: the open runs become the new state (no row-by-row inserts).
        con.execute(
            "CREATE OR REPLACE TABLE run_state AS SELECT laestab, upn, first_seq, last_seq, "
            "sessions, data_gaps FROM increment_runs WHERE open"
        )
    return rows
