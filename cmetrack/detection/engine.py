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
from typing import TYPE_CHECKING, Any

from cmetrack.kit import lazy
from cmetrack.rules.attendance import (
    ATTENDANCE_CODES,
    NEUTRAL_FOR_RUNS_CODES,
    SESSIONS_PER_SCHOOL_DAY,
    UNEXPLAINED_ABSENCE_CODES,
    AttendanceCategory,
)

if TYPE_CHECKING:
    import duckdb
else:  # imported when first used: start-up does not pay for it (see kit/lazy.py)
    duckdb = lazy.module("duckdb")

_ABSENT = ", ".join(f"'{c}'" for c in sorted(UNEXPLAINED_ABSENCE_CODES))
_NEUTRAL = ", ".join(f"'{c}'" for c in sorted(NEUTRAL_FOR_RUNS_CODES))
_ATTENDED = ", ".join(
    f"'{c.code}'"
    for c in ATTENDANCE_CODES.values()
    if c.category in {AttendanceCategory.PRESENT, AttendanceCategory.APPROVED_ACTIVITY}
)
#: Codes not counted in possible sessions (D, Z, #), X (not of compulsory school age), and
#: "unable to attend" (Q, Y1 to Y7): not absence, so never counted against a child in care.
_NOT_POSSIBLE = ", ".join(
    f"'{c.code}'"
    for c in ATTENDANCE_CODES.values()
    if c.category in {AttendanceCategory.NOT_COUNTED, AttendanceCategory.UNABLE_TO_ATTEND}
    or c.code == "X"
)

MARKS_COLUMNS = ("laestab", "upn", "date", "session", "code")
#: Typed CSV reading of marks (by column name: the header may list them in any order).
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
    insert_rows(con, "terms", list(terms), 2)
    insert_rows(con, "closures", [(laestab or "", day) for laestab, day in closures], 2)


def insert_rows(con: Any, table: str, rows: Sequence[Sequence[Any]], width: int) -> None:
    """Insert ``rows`` (each ``width`` values) into ``table`` in one statement, a list a
    column unnested side by side: not DuckDB's ``executemany`` (a statement a row: half a
    second for a year's closures of 250 schools) nor a ``VALUES`` list of parameters."""
    if not rows:
        return
    columns = [[row[k] for row in rows] for k in range(width)]
    unnested = ", ".join(f"unnest(${k + 1})" for k in range(width))
    con.execute(f"INSERT INTO {table} SELECT {unnested}", columns)


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
    """Parquet and CSV files of marks under ``data_dir`` (calendar CSVs left out), whatever
    the case of their extension (``.CSV``). A CSV whose header lacks a marks column raises
    :class:`MarksFileError` naming it: it is never skipped in silence."""
    files = [p for p in sorted(data_dir.rglob("*")) if p.is_file()]
    parquet = [str(p) for p in files if p.suffix.lower() == ".parquet"]
    csv = []
    for path in files:
        if path.suffix.lower() != ".csv" or path.name.lower() in {"terms.csv", "closures.csv"}:
            continue
        missing = marks_csv_missing(path)
        if missing:
            raise MarksFileError(
                f"{path} is not a file of marks: its header has no column "
                f"{', '.join(missing)} (expected {','.join(MARKS_COLUMNS)}, in any order)"
            )
        csv.append(str(path))
    return parquet, csv


class MarksFileError(ValueError):
    """A file in a folder of marks that cannot be read as marks (the message says why)."""


def marks_csv_missing(path: Path) -> list[str]:
    """The marks columns missing from the CSV's header (names in any order and case)."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        header = handle.readline(1 << 20).strip().lower()
    names = {name.strip().strip('"').strip() for name in header.split(",")}
    return [c for c in MARKS_COLUMNS if c not in names]


def _is_marks_csv(path: Path) -> bool:
    return not marks_csv_missing(path)


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
                f"FROM read_csv({_list_sql(csv)}, header = true, delim = ',', "
                f"union_by_name = true, types = {_CSV_COLUMNS})"
            )
        except duckdb.Error:
            # Not every date is ISO (a spreadsheet's 03/09/2025): read them as text.
            con.execute(
                "CREATE OR REPLACE TABLE marks_csv AS "  # noqa: S608 - paths escaped
                "SELECT laestab, upn, coalesce(TRY_CAST(date AS DATE), "
                "CAST(try_strptime(date, '%d/%m/%Y') AS DATE)) AS d, session, code "
                f"FROM read_csv({_list_sql(csv)}, header = true, delim = ',', "
                "union_by_name = true, all_varchar = true)"
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
    insert_rows(con, "calendar_schools", [(x,) for x in sorted(wanted)], 1)
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

#: Each school's end of data: its last marked school session up to ``$as_of``. From each
#: school's last marked morning and afternoon (250 groups, not one per school day); a
#: school whose last mark is not on a school session (a stray mark on a closed day) is
#: worked out mark by mark.
SCHOOL_END_SQL = """
CREATE OR REPLACE TEMP TABLE school_end AS
WITH school_last AS MATERIALIZED (
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
)
SELECT laestab, end_seq FROM quick_end WHERE NOT odd AND end_seq IS NOT NULL
UNION ALL
SELECT m.laestab, max(s.seq) AS end_seq
FROM marks m
JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
WHERE m.d <= $as_of AND m.laestab IN (SELECT laestab FROM quick_end WHERE odd)
GROUP BY m.laestab
"""

RUNS_SQL = f"""
WITH candidates AS (SELECT laestab, upn, pid FROM run_candidates),
ms AS (
    -- In the shared steps below "upn" holds the candidate's number. One mark a session:
    -- a file that repeats a session (imports refuse that; other exports may not) must not
    -- count it twice, so one code is kept, the same on every run.
    SELECT m.laestab, c.pid AS upn, s.seq, max(m.code) AS code
    FROM candidate_mark_rows m
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


#: The candidates' marks: read once (a SEMI JOIN always builds its hash table on the
#: candidates, never on the marks) and kept as a table for the steps that follow.
CANDIDATE_MARKS_SQL = """
CREATE OR REPLACE TEMP TABLE candidate_mark_rows AS
SELECT m.laestab, m.upn, m.d, m.session, m.code
FROM marks m
SEMI JOIN run_candidates c ON c.laestab = m.laestab AND c.upn = m.upn
WHERE m.d <= $as_of
"""

#: From this run length on, a run must cover a whole calendar week of its school: a run
#: that covers no week whole lies in at most two weeks, fewer than 10 sessions of each
#: (a week has at most 10), so it has at most 18 sessions.
WEEK_FILTER_MIN_SESSIONS = 19

#: Of the candidates, those with a "clean" week: G/N/O in it and no session of it that
#: only a breaking code marks. A run of 19 or more sessions covers such a week (above),
#: so the others cannot have one. Sessions are bits of a 14-bit mask of the week (Monday
#: AM = bit 0), so a session given twice (a breaking and another code; imports refuse
#: that) keeps the pupil a candidate rather than losing a run.
WEEK_FILTER_SQL = f"""
CREATE OR REPLACE TEMP TABLE run_candidates AS
SELECT laestab, upn, row_number() OVER () AS pid FROM (
    SELECT laestab, upn FROM (
        SELECT m.laestab, m.upn, (m.d - DATE '2000-01-03') // 7 AS week,
            count(*) FILTER (WHERE m.code IN ({_ABSENT})) AS absent,
            coalesce(bit_or(b) FILTER (WHERE m.code NOT IN ({_ABSENT})
                                       AND m.code NOT IN ({_NEUTRAL})), 0) AS breaks,
            coalesce(bit_or(b) FILTER (WHERE m.code IN ({_ABSENT})
                                       OR m.code IN ({_NEUTRAL})), 0) AS others
        FROM (
            SELECT *, CAST(1 AS INTEGER) << (2 * (isodow(d) - 1)
                + CASE WHEN session = 'PM' THEN 1 ELSE 0 END) AS b
            FROM candidate_mark_rows
            WHERE session IN ('AM', 'PM')
        ) m
        SEMI JOIN school_days sd ON sd.laestab = m.laestab AND sd.d = m.d
        GROUP BY ALL
    )
    GROUP BY laestab, upn
    HAVING bool_or(absent > 0 AND breaks & ~others = 0)
)
"""  # noqa: S608 - constant SQL built from the code tables


def _candidates(con: Any, sql: str, as_of: date, min_sessions: int) -> None:
    """``run_candidates`` (pupils worth a grid) and ``candidate_mark_rows`` (their marks)."""
    params = {"as_of": as_of}
    if "$min_sessions" in sql:
        params["min_sessions"] = min_sessions  # type: ignore[assignment]
    con.execute("CREATE OR REPLACE TEMP TABLE run_candidates AS " + sql, params)
    con.execute(CANDIDATE_MARKS_SQL, {"as_of": as_of})
    if min_sessions >= WEEK_FILTER_MIN_SESSIONS:
        con.execute(WEEK_FILTER_SQL)
        # Only the remaining candidates' marks go on (a tenth of them, or less).
        con.execute(
            "CREATE OR REPLACE TEMP TABLE candidate_mark_rows AS SELECT m.* "
            "FROM candidate_mark_rows m SEMI JOIN run_candidates c "
            "ON c.laestab = m.laestab AND c.upn = m.upn"
        )


def school_ends(con: Any, as_of: date) -> None:
    """The table ``school_end(laestab, end_seq)``: each school's last marked session."""
    con.execute(SCHOOL_END_SQL, {"as_of": as_of})


def absence_runs(
    con: Any,
    as_of: date,
    min_sessions: int = 1,
    *,
    with_state: bool = False,
    prepared: bool = False,
) -> list[RunRow]:
    """Every run of unexplained absence up to ``as_of`` at least ``min_sessions`` long.

    The runs stay in the table ``found_runs`` (and the candidates' marks in
    ``candidate_mark_rows``) for :func:`run_evidence`. With ``with_state`` the open-run
    state (``run_state``, ``school_state``, as :func:`save_run_state` gives) comes from the
    same reading of the marks: the pupils who may have an open run are those with a G/N/O
    and no breaking mark on their school's last marked session, and their marks are read
    with the candidates'.
    """
    if prepared:
        # school_end, absent_pupils and their marks (candidate_mark_rows) are given
        # (from the session grids: see :mod:`cmetrack.detection.grids`).
        _candidates_from_absent(con, min_sessions)
    elif not with_state:
        school_ends(con, as_of)
        _candidates(con, CANDIDATES_SQL, as_of, min_sessions)
    else:
        school_ends(con, as_of)
        _candidates_and_open(con, as_of, min_sessions)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE found_runs AS " + RUNS_SQL,
        {"min_sessions": min_sessions},
    )
    rows = con.execute("SELECT * FROM found_runs ORDER BY laestab, upn, first_seq").fetchall()
    if with_state:
        _state_from_open_candidates(con)
    return [RunRow(*row) for row in rows]


#: Pupils with unexplained absence, and whether a breaking mark ends their school's data
#: (then they cannot have an open run). The last session of each school is one session,
#: so the second reading is of one day's marks.
_ABSENT_PUPILS_SQL = f"""
CREATE OR REPLACE TEMP TABLE absent_pupils AS
WITH ends AS (
    SELECT s.laestab, s.d, s.session FROM school_end e
    JOIN school_sessions s ON s.laestab = e.laestab AND s.seq = e.end_seq
),
broken_at_end AS (
    -- (every mark of the session breaking: a session given twice may count as absent)
    SELECT m.laestab, m.upn FROM marks m
    SEMI JOIN ends e ON e.laestab = m.laestab AND e.d = m.d AND e.session = m.session
    WHERE m.d IN (SELECT d FROM ends)
    GROUP BY m.laestab, m.upn
    HAVING bool_and(m.code NOT IN ({_ABSENT}) AND m.code NOT IN ({_NEUTRAL}))
)
SELECT a.laestab, a.upn, a.n >= $min_sessions AS candidate,
    NOT EXISTS (SELECT 1 FROM broken_at_end b WHERE b.laestab = a.laestab AND b.upn = a.upn)
        AS may_be_open
FROM (
    SELECT laestab, upn, count(*) AS n FROM marks
    WHERE d <= $as_of AND code IN ({_ABSENT}) GROUP BY laestab, upn
) a
"""  # noqa: S608 - constant SQL built from the code tables


def _candidates_and_open(con: Any, as_of: date, min_sessions: int) -> None:
    """:func:`_candidates`, with the pupils who may have an open run read in the same
    pass (``open_candidates``)."""
    con.execute(_ABSENT_PUPILS_SQL, {"as_of": as_of, "min_sessions": min_sessions})
    con.execute(
        "CREATE OR REPLACE TEMP TABLE run_candidates AS SELECT laestab, upn, "
        "row_number() OVER () AS pid FROM absent_pupils WHERE candidate OR may_be_open"
    )
    con.execute(CANDIDATE_MARKS_SQL, {"as_of": as_of})
    _candidates_from_absent(con, min_sessions)


def _candidates_from_absent(con: Any, min_sessions: int) -> None:
    """``run_candidates`` and ``open_candidates`` from ``absent_pupils``, and
    ``candidate_mark_rows`` (read with both) narrowed to them."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE open_candidates AS SELECT laestab, upn, "
        "row_number() OVER () AS pid FROM absent_pupils WHERE may_be_open"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE run_candidates AS SELECT laestab, upn, "
        "row_number() OVER () AS pid FROM absent_pupils WHERE candidate"
    )
    if min_sessions >= WEEK_FILTER_MIN_SESSIONS:
        con.execute(
            WEEK_FILTER_SQL.replace(
                "FROM candidate_mark_rows\n",
                "FROM candidate_mark_rows SEMI JOIN run_candidates USING (laestab, upn)\n",
            )
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE candidate_mark_rows AS SELECT m.* "
        "FROM candidate_mark_rows m WHERE EXISTS (SELECT 1 FROM run_candidates c "
        "WHERE c.laestab = m.laestab AND c.upn = m.upn) OR EXISTS (SELECT 1 FROM "
        "open_candidates o WHERE o.laestab = m.laestab AND o.upn = m.upn)"
    )


def _state_from_open_candidates(con: Any) -> None:
    """``run_state`` and ``school_state`` from the open candidates' marks (already read):
    only their marks from the day of their last break on go through the run query."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE open_marks AS "  # noqa: S608 - constant SQL
        # A session's code is the one the run query keeps (max, if a file gave it twice).
        "WITH eff AS (SELECT m.laestab, m.upn, m.d, m.session, max(m.code) AS code "
        "FROM candidate_mark_rows m SEMI JOIN open_candidates o USING (laestab, upn) "
        "SEMI JOIN school_days sd ON sd.laestab = m.laestab AND sd.d = m.d "
        "WHERE m.session IN ('AM', 'PM') GROUP BY ALL), "
        "last_break AS (SELECT laestab, upn, max(d) AS after FROM eff "
        f"WHERE code NOT IN ({_ABSENT}) AND code NOT IN ({_NEUTRAL}) GROUP BY ALL) "
        "SELECT m.* FROM candidate_mark_rows m JOIN open_candidates o USING (laestab, upn) "
        "LEFT JOIN last_break b USING (laestab, upn) "
        "WHERE m.d >= coalesce(b.after, DATE '0001-01-01')"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE run_candidates AS SELECT * FROM open_candidates")
    con.execute(
        "CREATE OR REPLACE TABLE run_state AS "  # noqa: S608 - constant SQL
        "SELECT laestab, upn, first_seq, last_seq, sessions, data_gaps FROM ("
        + RUNS_SQL.replace("FROM candidate_mark_rows m", "FROM open_marks m").replace(
            "ORDER BY g.laestab, c.upn, g.first_seq", ""
        )
        + ") WHERE open",
        {"min_sessions": 1},
    )
    con.execute("CREATE OR REPLACE TABLE school_state AS SELECT * FROM school_end")


#: The marks of each run in ``found_runs`` at least ``$min_sessions`` long: every school
#: session from its first G/N/O on (at most ``$limit``, up to its last), with the code or
#: NULL (no mark), as ``[date, session, code]`` lists. One query for every run, over the
#: candidates' marks already read (a session given twice shows the code the run used).
EVIDENCE_SQL = """
WITH wanted AS (
    SELECT laestab, upn, first_seq, least(last_seq, first_seq + $limit - 1) AS upto
    FROM found_runs WHERE sessions >= $min_sessions
),
their_marks AS (
    SELECT m.laestab, m.upn, m.d, m.session, max(m.code) AS code
    FROM {marks} m SEMI JOIN wanted w ON w.laestab = m.laestab AND w.upn = m.upn
    GROUP BY ALL
)
SELECT w.laestab, w.upn, w.first_seq,
    list([strftime(s.d, '%Y-%m-%d'), s.session, m.code] ORDER BY s.seq) AS marks
FROM wanted w
JOIN school_sessions s ON s.laestab = w.laestab AND s.seq BETWEEN w.first_seq AND w.upto
LEFT JOIN their_marks m
    ON m.laestab = w.laestab AND m.upn = w.upn AND m.d = s.d AND m.session = s.session
GROUP BY w.laestab, w.upn, w.first_seq
"""


def run_evidence(
    con: Any, min_sessions: int, limit: int, *, marks_table: str = "candidate_mark_rows"
) -> dict[tuple[str, str, int], list[list[str | None]]]:
    """The marks of every run in ``found_runs`` at least ``min_sessions`` long (first
    ``limit`` sessions), by ``(laestab, upn, first_seq)``: set-wise, one query."""
    sql = EVIDENCE_SQL.format(marks=marks_table)
    return {
        (laestab, upn, first_seq): marks
        for laestab, upn, first_seq, marks in con.execute(
            sql, {"min_sessions": min_sessions, "limit": limit}
        ).fetchall()
    }


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
    con: Any, start: date, as_of: date, upns: Iterable[str] | None = None, *, marks: str = "marks"
) -> list[AttendanceRow]:
    """Attendance per pupil from ``start`` to ``as_of`` (school sessions only).

    Attended: present and approved educational activity. Possible: every mark but D, Z, #,
    X and the "unable to attend" codes Q and Y1 to Y7. ``illness``: sessions coded I.
    """
    sql = ATTENDANCE_SQL.replace("FROM marks m", f"FROM {marks} m")
    params: dict[str, Any] = {"start": start, "as_of": as_of}
    if upns is not None:
        con.execute("CREATE OR REPLACE TEMP TABLE wanted_upns (upn VARCHAR)")
        insert_rows(con, "wanted_upns", [(u,) for u in upns], 1)
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
    con: Any, start: date, as_of: date, min_sessions: int, *, marks: str = "marks"
) -> list[tuple[str, str, int, date]]:
    """Pupils with at least ``min_sessions`` illness (I) sessions from ``start`` to ``as_of``."""
    return [
        tuple(row)
        for row in con.execute(
            ILLNESS_SQL.replace("FROM marks m", f"FROM {marks} m"),
            {"start": start, "as_of": as_of, "min_sessions": min_sessions},
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
# The state after a detection: every open run (of any length) in ``run_state`` and each
# school's last marked session in ``school_state``. ``incremental_runs`` then reads only
# the new marks (a view ``new_marks`` with the columns of ``marks``): each open run is
# carried in as one synthetic G/N/O row holding its sessions and gaps so far, followed by
# the new sessions, and the same segment-and-aggregate step gives the runs as a full
# recompute would. A pupil with a new mark on or before the school's end of data (a late
# correction) is recomputed from all their marks instead.

#: Pupils who may have an open run: their last G/N/O is on or after their last breaking
#: mark's day, or that day is not a school day of theirs (a mark the calendar now
#: ignores). One pass over the marks, no calendar join.
OPEN_CANDIDATES_SQL = f"""
CREATE OR REPLACE TEMP TABLE open_candidates AS
WITH p AS (
    SELECT laestab, upn,
        max(d) FILTER (WHERE code IN ({_ABSENT})) AS last_absent,
        max(d) FILTER (WHERE code NOT IN ({_ABSENT}) AND code NOT IN ({_NEUTRAL})) AS last_break
    FROM marks WHERE d <= $as_of
    GROUP BY laestab, upn
    HAVING max(d) FILTER (WHERE code IN ({_ABSENT})) IS NOT NULL
)
SELECT laestab, upn, row_number() OVER () AS pid
FROM p
WHERE last_break IS NULL OR last_absent >= last_break
   OR NOT EXISTS (SELECT 1 FROM school_days sd WHERE sd.laestab = p.laestab
                  AND sd.d = p.last_break)
"""  # noqa: S608 - constant SQL built from the code tables


def save_run_state(con: Any, as_of: date) -> None:
    """``run_state`` (every open run, any length) and ``school_state`` as of ``as_of``.

    Only the pupils who may have an open run are looked at, and of each only the marks
    from the day of their last break on: one pass over the marks and a small run query.
    (:func:`absence_runs` with ``with_state`` does the same within a full detection.)
    """
    school_ends(con, as_of)
    con.execute(OPEN_CANDIDATES_SQL, {"as_of": as_of})
    con.execute(
        "CREATE OR REPLACE TEMP TABLE candidate_mark_rows AS "
        "SELECT m.laestab, m.upn, m.d, m.session, m.code FROM marks m "
        "SEMI JOIN open_candidates c ON c.laestab = m.laestab AND c.upn = m.upn "
        "WHERE m.d <= $as_of",
        {"as_of": as_of},
    )
    _state_from_open_candidates(con)


INCREMENT_SQL = f"""
WITH maybe_fresh AS MATERIALIZED (
    -- Pupils with an unexplained absence among the new marks (a superset of ``fresh``:
    -- a session's mark is the greatest code of its marks, and one of them).
    SELECT DISTINCT m.laestab, m.upn FROM new_marks m
    WHERE m.d <= $as_of AND m.code IN ({_ABSENT})
),
nm AS MATERIALIZED (
    -- The new marks of the pupils whose runs can change: an open run carried in, or an
    -- unexplained absence now (not every new mark: a day has one for every pupil).
    SELECT m.laestab, m.upn, s.seq, max(m.code) AS code
    FROM new_marks m
    JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
    WHERE m.d <= $as_of AND (
        EXISTS (SELECT 1 FROM run_state r WHERE r.laestab = m.laestab AND r.upn = m.upn)
        OR EXISTS (SELECT 1 FROM maybe_fresh f WHERE f.laestab = m.laestab AND f.upn = m.upn)
    )
    GROUP BY ALL
),
ends AS (
    -- school_end: the new end of each school's data (from every new mark).
    SELECT e.laestab, e.end_seq, coalesce(o.end_seq, 0) AS old_end
    FROM school_end e LEFT JOIN school_state o ON o.laestab = e.laestab
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
"""  # noqa: S608 - constant SQL built from the code tables

#: Pupils with a new mark on or before their school's end of data: recomputed whole.
CORRECTED_SQL = """
CREATE OR REPLACE TEMP TABLE corrected AS
SELECT DISTINCT m.laestab, m.upn
FROM new_marks m
JOIN school_sessions s ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session
JOIN school_state e ON e.laestab = m.laestab
WHERE m.d <= $as_of AND s.seq <= e.end_seq
"""


def incremental_runs(con: Any, as_of: date, *, keep_state: bool = True) -> list[RunRow]:
    """Runs touched by the marks in ``new_marks`` (open runs carried in from the state).

    Returns every run that the new marks extended, closed or started, and every run of a
    pupil with a late correction (a new mark on or before the school's end of data; that
    pupil is recomputed from all their marks in ``marks``). Runs already closed before
    are not repeated. The runs are left in ``found_runs``; with ``keep_state`` the state
    moves on to ``as_of``.
    """
    con.execute(CORRECTED_SQL, {"as_of": as_of})
    (corrections,) = con.execute("SELECT count(*) FROM corrected").fetchone()
    con.execute(
        "CREATE OR REPLACE TEMP VIEW increment_marks AS SELECT * FROM new_marks m "
        "WHERE NOT EXISTS (SELECT 1 FROM corrected c WHERE c.laestab = m.laestab "
        "AND c.upn = m.upn)"
    )
    con.execute(
        "CREATE OR REPLACE TEMP VIEW increment_state AS SELECT * FROM run_state r "
        "WHERE NOT EXISTS (SELECT 1 FROM corrected c WHERE c.laestab = r.laestab "
        "AND c.upn = r.upn)"
    )
    # The new end of each school's data.
    con.execute(
        "CREATE OR REPLACE TEMP TABLE school_end AS "
        "SELECT laestab, max(end_seq) AS end_seq FROM (SELECT * FROM school_state "
        "UNION ALL SELECT m.laestab, max(s.seq) FROM new_marks m JOIN school_sessions s "
        "ON s.laestab = m.laestab AND s.d = m.d AND s.session = m.session "
        "WHERE m.d <= $as_of GROUP BY m.laestab) GROUP BY laestab",
        {"as_of": as_of},
    )
    sql = INCREMENT_SQL.replace("FROM new_marks m", "FROM increment_marks m").replace(
        "FROM run_state r", "FROM increment_state r"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE found_runs AS " + sql, {"as_of": as_of})
    if corrections:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE run_candidates AS "
            "SELECT laestab, upn, row_number() OVER () AS pid FROM corrected"
        )
        con.execute(CANDIDATE_MARKS_SQL, {"as_of": as_of})
        con.execute(
            "INSERT INTO found_runs "
            + RUNS_SQL.replace("ORDER BY g.laestab, c.upn, g.first_seq", ""),
            {"min_sessions": 1},
        )
    rows = [
        RunRow(*row)
        for row in con.execute(
            "SELECT * FROM found_runs ORDER BY laestab, upn, first_seq"
        ).fetchall()
    ]
    if keep_state:
        con.execute("CREATE OR REPLACE TABLE school_state AS SELECT * FROM school_end")
        # Set-based: the open runs become the new state (no row-by-row inserts).
        con.execute(
            "CREATE OR REPLACE TABLE run_state AS SELECT laestab, upn, first_seq, last_seq, "
            "sessions, data_gaps FROM found_runs WHERE open"
        )
    return rows
