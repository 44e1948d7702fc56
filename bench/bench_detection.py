"""Benchmark: detection of continuous unexplained absence over a synthetic authority year.

A seeded generator (DuckDB SQL, so 95 million marks take minutes, not hours) builds:

- a real term calendar (academic year 2024/25, six half terms, the May bank holiday
  closed LA-wide, two INSET days per school);
- N pupils (default 25,000; ``--pupils 250000`` is the issue's full size, about 95
  million marks) in schools of 1,000, each with an AM and a PM mark for every school
  session: mostly present, with illness, lateness, medical, neutral codes (``#``, Z),
  scattered single unexplained absences and 0.1 % of sessions left unmarked (data gaps);
- planted runs of known lengths (10 to 60 sessions, about 1 pupil in 97; one in five
  still open at the end of the data), each bounded by present marks.

Then, each phase in its own process (so peak memory is that phase's):

0. ``commands``: the commands a user runs, each a subprocess timed end to end (wall, CPU
   time user+sys, load average): a fresh application (migrate, schools, calendar, a roll
   of every pupil), the year but its last day placed in the attendance store as
   compaction leaves it, ``cmetrack compact_attendance`` (the nightly job, which builds
   each partition's session grid), ``cmetrack detect --full``, then the last day as a
   user brings it in: one ``cmetrack import_data attendance`` command, which imports the
   day and then runs the incremental detection in the same process; the absence alerts
   in the database are checked against the planted runs;
1. ``parquet``: the engine alone (``engine.absence_runs`` in SQL over the rows), full
   detection from Parquet (``school=<laestab>/year=<yyyy>/*.parquet``, as stored);
2. ``csv``: the same from one CSV file;
3. ``increment``: the engine alone, a one-day increment: the open-run state as of the day
   before, then only the last day's marks (``engine.incremental_runs``);
4. ``plain``: a hand-written DuckDB gaps-and-islands query over the same Parquet files.

It records marks per second, wall time, peak memory, and whether every planted run of
20 sessions or more was found with its exact start, length and open flag (and no other),
in ``bench/results/detection.md`` (or ``--results``)::

    .venv/bin/python bench/bench_detection.py                      # 25,000 pupils
    .venv/bin/python bench/bench_detection.py --pupils 250000      # the issue's full size
    .venv/bin/python bench/bench_detection.py --pupils 250000 --phases commands --reuse-setup
        # the user's commands again, from the application the last set-up left

Data is generated once per size and seed under ``--data`` (default ``var/bench``); the
``commands`` phase keeps the application its set-up built (migrated, registers imported,
store compacted: minutes at full size) in ``app-setup`` beside the data, and
``--reuse-setup`` starts from a copy of it. The timed detection reads the rolls from the
database (``--rolls-copy cold``, as the first detection after a roll import) unless
``--rolls-copy warm`` makes the copy of them a previous detection keeps first (no roll
changed since: the usual night).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cmetrack.detection import engine  # noqa: E402

TERMS = [
    (date(2024, 9, 3), date(2024, 10, 25)),
    (date(2024, 11, 4), date(2024, 12, 20)),
    (date(2025, 1, 6), date(2025, 2, 14)),
    (date(2025, 2, 24), date(2025, 4, 4)),
    (date(2025, 4, 22), date(2025, 5, 23)),
    (date(2025, 6, 2), date(2025, 7, 22)),
]
LA_CLOSURES = [date(2025, 5, 5)]  # early May bank holiday
AS_OF = TERMS[-1][1]
PUPILS_PER_SCHOOL = 1000
THRESHOLD = 20


def generate(out: Path, pupils: int, seed: int, threads: int) -> dict[str, Any]:
    """Write marks (Parquet and CSV), the calendar CSVs, a roll and the planted runs."""
    out.mkdir(parents=True, exist_ok=True)
    con = engine.connect(threads=threads)
    schools = max(1, -(-pupils // PUPILS_PER_SCHOOL))
    laestabs = [f"999{2000 + n:04d}" for n in range(schools)]
    con.execute("SELECT setseed(?)", [((seed % 1000) / 1000)])
    # INSET: two weekdays in term per school, chosen by hash of the seed and school.
    con.execute("CREATE TABLE terms (term_start DATE, term_end DATE)")
    con.executemany("INSERT INTO terms VALUES (?, ?)", TERMS)
    con.execute("CREATE TABLE schools (laestab VARCHAR, school_no INTEGER)")
    con.executemany("INSERT INTO schools VALUES (?, ?)", [(la, n) for n, la in enumerate(laestabs)])
    con.execute(
        """
        CREATE TABLE closures AS
        SELECT '' AS laestab, d FROM (VALUES (DATE '2025-05-05')) AS t(d)
        UNION ALL
        SELECT laestab, DATE '2024-09-03' + CAST((hash(school_no, $seed, k)) % 300 AS INTEGER)
        FROM schools, range(2) AS r(k)
        """,
        {"seed": seed},
    )
    engine.build_school_days(con, AS_OF, laestabs=laestabs)
    (sessions_per_school,) = con.execute(
        "SELECT max(seq) - min(seq) + 1 FROM school_sessions WHERE laestab = ?", [laestabs[0]]
    ).fetchone()
    # Real UPNs (check letter as rules.md section 2): LA 999, the school's establishment
    # number, year of issue 24, a serial within the school. Pupil kinds (by hash):
    # 9 % persistent absentees (whole days of N or O on 8 % of days, half days on 2 %),
    # 1.5 % moderate (5 % of days), 8 % a week's holiday (10 sessions of G), the rest
    # occasional (0.5 % of sessions G, N or O).
    con.execute(
        """
        CREATE TABLE pupils AS
        SELECT i, laestab, '999' || laestab[4:] || '24' || lpad(CAST(serial AS VARCHAR), 3, '0')
                AS body,
            CAST(hash(i, $seed, 'kind') % 1000 AS INTEGER) AS kind
        FROM (SELECT i, i // $per AS school_no, i % $per AS serial FROM range($pupils) r(i))
        JOIN schools USING (school_no)
        """,
        {"pupils": pupils, "per": PUPILS_PER_SCHOOL, "seed": seed},
    )
    con.execute(
        "ALTER TABLE pupils ADD COLUMN upn VARCHAR; "
        "UPDATE pupils SET upn = substr('ABCDEFGHJKLMNPQRTUVWXYZ', 1 + CAST(list_sum("
        "[CAST(substr(body, k, 1) AS INTEGER) * (k + 1) for k in range(1, 13)]) AS INTEGER) "
        "% 23, 1) || body"
    )
    # Plants: 1 pupil in 50; length 10..60 sessions with about 1 % of them unmarked (data
    # gaps, never the first or last); one in five open at the end. Holidays: a week of G
    # (10 sessions from a morning) for 8 % of the others. Both bounded by present marks.
    con.execute(
        """
        CREATE TABLE plants AS
        WITH bounds AS (
            SELECT laestab, min(seq) AS lo, max(seq) AS hi FROM school_sessions GROUP BY laestab
        )
        SELECT p.laestab, p.upn, p.i, len,
            CASE WHEN open THEN hi - len + 1
                 ELSE lo + 40 + CAST((hash(p.i, $seed, 'start')) % (hi - lo - 140) AS BIGINT)
            END AS first_seq,
            open, 'plant' AS what
        FROM (
            SELECT *, 10 + CAST((hash(i, $seed, 'len')) % 51 AS INTEGER) AS len,
                (hash(i, $seed, 'open')) % 5 = 0 AS open
            FROM pupils WHERE i % 50 = 7
        ) p JOIN bounds b ON b.laestab = p.laestab
        UNION ALL
        SELECT p.laestab, p.upn, p.i, 10,
            lo + 20 + 2 * CAST((hash(p.i, $seed, 'holiday')) % ((hi - lo - 60) // 2) AS BIGINT),
            false, 'holiday'
        FROM pupils p JOIN bounds b ON b.laestab = p.laestab
        WHERE p.i % 50 <> 7 AND hash(p.i, $seed, 'hol') % 100 < 8
        """,
        {"seed": seed},
    )
    con.execute(
        """
        CREATE TABLE marks AS
        WITH grid AS (
            SELECT p.laestab, p.upn, p.kind, s.d, s.session, s.seq,
                CAST((hash(p.i, s.seq, $seed)) % 10000 AS INTEGER) AS u,
                CAST((hash(p.i, s.day_no, $seed, 'day')) % 10000 AS INTEGER) AS ud,
                pl.first_seq, pl.len, pl.what
            FROM pupils p
            JOIN school_sessions s ON s.laestab = p.laestab
            LEFT JOIN plants pl ON pl.i = p.i
        ),
        coded AS (
            SELECT *,
                CASE
                    WHEN seq BETWEEN first_seq AND first_seq + len - 1 THEN
                        CASE WHEN what = 'holiday' THEN 'G'
                             WHEN u < 100 AND seq > first_seq AND seq < first_seq + len - 1
                                THEN NULL
                             ELSE ['N', 'O', 'G'][1 + u % 3] END
                    WHEN seq = first_seq - 1 OR seq = first_seq + len OR seq % 16 = 0
                        THEN CASE WHEN session = 'AM' THEN '/' ELSE '\\' END
                    WHEN kind < 90 AND ud < 800 THEN ['N', 'O'][1 + ud % 2]
                    WHEN kind < 90 AND u < 200 THEN 'N'
                    WHEN kind BETWEEN 90 AND 104 AND ud < 500 THEN ['N', 'O'][1 + ud % 2]
                    WHEN u >= 9990 THEN NULL
                    WHEN u < 9300 THEN CASE WHEN session = 'AM' THEN '/' ELSE '\\' END
                    WHEN u < 9450 THEN 'L'
                    WHEN u < 9750 THEN 'I'
                    WHEN u < 9800 THEN 'M'
                    WHEN u < 9817 THEN 'N'
                    WHEN u < 9834 THEN 'O'
                    WHEN u < 9850 THEN 'G'
                    WHEN u < 9870 THEN 'U'
                    WHEN u < 9890 THEN 'C'
                    WHEN u < 9910 THEN 'Y1'
                    WHEN u < 9930 THEN 'Q'
                    WHEN u < 9960 THEN '#'
                    WHEN u < 9975 THEN 'Z'
                    ELSE 'B'
                END AS code
            FROM grid
        )
        SELECT laestab, upn, d AS date, session, code,
            CASE WHEN month(d) >= 9 THEN year(d) ELSE year(d) - 1 END AS year,
            laestab AS school
        FROM coded
        WHERE code IS NOT NULL
        """,
        {"seed": seed},
    )
    (marks,) = con.execute("SELECT count(*) FROM marks").fetchone()
    (heavy, unexplained_pupils) = con.execute(
        "SELECT count(*) FILTER (WHERE n >= 20), count(*) FROM "
        "(SELECT upn, count(*) AS n FROM marks WHERE code IN ('G', 'N', 'O') GROUP BY upn)"
    ).fetchone()
    parquet = out / "parquet"
    con.execute(
        f"COPY (SELECT * FROM marks ORDER BY laestab, upn, date, session) TO '{parquet}' "  # noqa: S608 - bench SQL on our own files
        "(FORMAT parquet, PARTITION_BY (school, year), COMPRESSION zstd, OVERWRITE_OR_IGNORE)"
    )
    csv_dir = out / "csv"
    csv_dir.mkdir(exist_ok=True)
    con.execute(
        f"COPY (SELECT laestab, upn, date, session, code FROM marks) TO '{csv_dir / 'marks.csv'}' "  # noqa: S608 - bench SQL on our own files
        "(HEADER, DELIMITER ',')"
    )
    last_day = con.execute("SELECT max(date) FROM marks").fetchone()[0]
    inc = out / "increment"
    inc.mkdir(exist_ok=True)
    con.execute(
        f"COPY (SELECT laestab, upn, date, session, code FROM marks WHERE date = ? "  # noqa: S608 - bench SQL on our own files
        f"ORDER BY laestab, upn, session) TO '{inc / 'day.parquet'}' (FORMAT parquet)",
        [last_day],
    )
    con.execute(
        f"COPY (SELECT laestab, upn, date, session, code FROM marks WHERE date < ? "  # noqa: S608 - bench SQL on our own files
        f"ORDER BY laestab, upn, date, session) TO '{inc / 'before.parquet'}' "
        "(FORMAT parquet, COMPRESSION zstd)",
        [last_day],
    )
    # A roll (one snapshot in September) for the command phases: names for the alerts.
    con.execute(
        f"COPY (SELECT laestab, upn, '' AS former_upn, 'Given' || i AS legal_given_name, "  # noqa: S608 - bench SQL on our own files
        "'Family' || (i % 997) AS legal_family_name, '' AS preferred_given_name, "
        "'' AS preferred_family_name, DATE '2013-09-01' + CAST(i % 2500 AS INTEGER) AS dob, "
        "['F', 'M'][1 + i % 2] AS sex, '' AS address, '' AS postcode, "
        "CAST(5 + i % 7 AS VARCHAR) AS nc_year, '' AS entry_date, 'C' AS enrolment_status "
        f"FROM pupils ORDER BY i) TO '{out / 'roll.csv'}' (HEADER)"
    )
    for folder in (out, csv_dir, inc):
        engine_csv_calendar(con, folder)
    # What the runs must be: each plant's span, its G/N/O sessions and its data gaps
    # (counted from the marks written, not by the engine).
    plants = con.execute(
        """
        SELECT p.laestab, p.upn, p.first_seq, count(m.code) AS sessions, p.open,
            p.len - count(m.code) AS gaps
        FROM plants p
        JOIN school_sessions s ON s.laestab = p.laestab
            AND s.seq BETWEEN p.first_seq AND p.first_seq + p.len - 1
        LEFT JOIN marks m ON m.upn = p.upn AND m.date = s.d AND m.session = s.session
        GROUP BY p.laestab, p.upn, p.first_seq, p.open, p.len ORDER BY p.laestab, p.upn
        """
    ).fetchall()
    meta = {
        "pupils": pupils,
        "schools": schools,
        "seed": seed,
        "marks": int(marks),
        "sessions_per_school": int(sessions_per_school),
        "last_day": last_day.isoformat(),
        "laestabs": laestabs,
        "last_day_marks": int(
            con.execute("SELECT count(*) FROM marks WHERE date = ?", [last_day]).fetchone()[0]
        ),
        "pupils_20_unexplained": int(heavy),
        "pupils_any_unexplained": int(unexplained_pupils),
        "plants": [list(p) for p in plants],
    }
    (out / "meta.json").write_text(json.dumps(meta))
    con.close()
    return meta


def engine_csv_calendar(con: Any, folder: Path) -> None:
    con.execute(
        f"COPY (SELECT term_start, term_end FROM terms) TO '{folder / 'terms.csv'}' (HEADER)"  # noqa: S608 - bench SQL on our own files
    )
    con.execute(
        "COPY (SELECT laestab, d AS date, 'closed' AS reason FROM closures) "  # noqa: S608 - bench SQL on our own files
        f"TO '{folder / 'closures.csv'}' (HEADER)"
    )


# --- Phases (each in its own process) ------------------------------------------------------


def phase(
    name: str, data: Path, threads: int, memory_limit: str | None, reuse_setup: bool = False,
    rolls_copy: str = "cold",
) -> dict[str, Any]:  # fmt: skip
    meta = json.loads((data / "meta.json").read_text())
    if name == "commands":
        return commands_phase(data, meta, threads, reuse_setup, rolls_copy)
    load = os.getloadavg()[0]
    cpu_started = time.process_time()
    con = engine.connect(threads=threads, memory_limit=memory_limit)
    started = time.perf_counter()
    if name in ("parquet", "csv"):
        folder = data / name
        parquet, csv = engine.marks_sources(folder)
        engine.calendar_from_csv(con, data / "terms.csv", data / "closures.csv")
        engine.create_marks_view(con, parquet, csv)
        engine.build_school_days(con, AS_OF)
        runs = engine.absence_runs(con, AS_OF, min_sessions=THRESHOLD)
        wall = time.perf_counter() - started
        marks = meta["marks"]
    elif name == "plain":
        # A plain DuckDB gaps-and-islands query over every mark, for comparison: what one
        # would write by hand (no calendar: every generated mark is on a school day, and an
        # unmarked session is skipped, so it neither breaks nor extends a run).
        files = engine._list_sql(engine.marks_sources(data / "parquet")[0])
        rows = con.execute(
            f"""
            WITH m AS (
                SELECT laestab, upn, date, session, code IN ('G', 'N', 'O') AS absent,
                    row_number() OVER (PARTITION BY laestab, upn ORDER BY date, session) AS rn,
                    count(*) OVER (PARTITION BY laestab, upn) AS last_rn
                FROM read_parquet({files}) WHERE code NOT IN ('#', 'Z', 'X')
            ),
            a AS (
                SELECT *, rn - row_number() OVER (
                    PARTITION BY laestab, upn ORDER BY date, session) AS island
                FROM m WHERE absent
            )
            SELECT laestab, upn, min(date), arg_min(session, rn), count(*) AS sessions,
                max(rn) = any_value(last_rn) AS open
            FROM a GROUP BY laestab, upn, island HAVING count(*) >= {THRESHOLD}
            """  # noqa: S608 - bench SQL on our own files
        ).fetchall()
        wall = time.perf_counter() - started
        marks = meta["marks"]
        engine.calendar_from_csv(con, data / "terms.csv", data / "closures.csv")
        engine.build_school_days(con, AS_OF, laestabs={r[0] for r in rows})
        seqs = {
            (la, d, h): seq
            for la, d, h, seq in con.execute(
                "SELECT laestab, d, session, seq FROM school_sessions"
            ).fetchall()
        }
        runs = [
            engine.RunRow(la, upn, d, h, d, h, n, 0, is_open, seqs[(la, d, h)], 0)
            for la, upn, d, h, n, is_open in rows
        ]
    else:  # increment: state as of the day before is prepared first, not timed
        inc = data / "increment"
        engine.calendar_from_csv(con, data / "terms.csv", data / "closures.csv")
        engine.create_marks_view(con, [str(inc / "before.parquet")])
        engine.build_school_days(con, AS_OF)
        prep_started = time.perf_counter()
        engine.save_run_state(con, date.fromisoformat(meta["last_day"]) - timedelta(days=1))
        prepare = time.perf_counter() - prep_started
        started = time.perf_counter()
        day_file = str(inc / "day.parquet").replace("'", "''")
        con.execute(
            "CREATE OR REPLACE VIEW new_marks AS SELECT laestab, upn, CAST(date AS DATE) AS d, "  # noqa: S608 - bench SQL on our own files
            f"session, code FROM read_parquet('{day_file}')"
        )
        touched = engine.incremental_runs(con, AS_OF)
        wall = time.perf_counter() - started
        runs = [r for r in touched if r.sessions >= THRESHOLD]
        (marks,) = con.execute("SELECT count(*) FROM new_marks").fetchone()
        meta["prepare_seconds"] = prepare
    found = {(r.laestab, r.upn, r.first_seq, r.sessions, r.open) for r in runs}
    planted = expected_runs(meta)
    if name == "increment":
        # The increment reports the runs the last day touched: the open ones.
        planted = {p for p in planted if p[4]}
        found = {f for f in found if f[4]}
    peak_kib = _peak_rss_kib()
    return {
        "phase": name,
        "marks": int(marks),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(time.process_time() - cpu_started, 2),
        "marks_per_second": round(marks / wall) if wall else None,
        "peak_memory_mib": round(peak_kib / 1024, 1),
        "planted": len(planted),
        "planted_found": len(planted & found),
        "missed": sorted(planted - found)[:5],
        "unexpected": len(found - planted),
        "prepare_seconds": round(meta.get("prepare_seconds", 0.0), 3),
        "load_average": round(load, 1),
    }


# --- The commands a user runs, end to end (each a subprocess) ------------------------------

SETUP_SCHOOLS = """
from cmetrack.organisations.models import LocalAuthority, Organisation, OrganisationKind
la, _ = LocalAuthority.objects.get_or_create(
    code="999", defaults={"name": "Benchmarkshire", "country": "england"})
have = set(Organisation.objects.filter(kind="school").values_list("estab_number", flat=True))
Organisation.objects.bulk_create([
    Organisation(kind=OrganisationKind.SCHOOL, name=f"School {e}", local_authority=la,
                 estab_number=e)
    for e in ESTABS if e not in have])
"""

SEED_STORE = """
import datetime as dt
from cmetrack.detection.importers import attendance_dir, partition_stored_path
from cmetrack.detection.models import AttendancePartition
from cmetrack.organisations.models import Organisation
schools = {s.laestab: s for s in Organisation.objects.filter(kind="school")
           .select_related("local_authority")}
for laestab, year, marks, first, last in PARTS:
    AttendancePartition.objects.update_or_create(
        school=schools[laestab], academic_year=year,
        defaults={"path": partition_stored_path(
            attendance_dir() / f"school={laestab}" / f"year={year}" / "marks.parquet"),
            "marks": marks, "first_date": dt.date.fromisoformat(first),
            "last_date": dt.date.fromisoformat(last)})
"""


def command_env(app: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "cmetrack.config.settings.dev",
        "CMETRACK_VAR_DIR": str(app),
        "DATABASE_URL": f"sqlite:///{app / 'cmetrack.sqlite3'}",
    }


def timed_command(args: list[str], env: dict[str, str], label: str) -> dict[str, Any]:
    """Run ``cmetrack ARGS`` as a subprocess: wall time, its CPU time, load average."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    out = subprocess.run(  # noqa: S603 - our own command
        [str(Path(sys.executable).parent / "cmetrack"), *args],
        env=env, capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        raise RuntimeError(f"cmetrack {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "step": label,
        "command": "cmetrack " + " ".join(args),
        "wall_seconds": round(wall, 2),
        "cpu_seconds": round(cpu, 2),
        "load_average": round(load, 1),
        "peak_memory_mib": round(after.ru_maxrss / 1024, 1),
        "output": out.stdout.strip().splitlines()[-2:],
    }


def commands_phase(
    data: Path, meta: dict[str, Any], threads: int, reuse_setup: bool = False,
    rolls_copy: str = "cold",
) -> dict[str, Any]:  # fmt: skip
    """The user's commands on a full year: a fresh application (SQLite) with the schools,
    the calendar and a roll imported by ``cmetrack import_data``, the year's marks but the
    last day in the attendance store as compaction leaves it (one ``marks.parquet`` per
    school), then, timed: ``cmetrack detect --full`` over the year, and the last school
    day as a user brings it in: ``cmetrack import_data attendance`` (the import, then in
    the same process the increment from the stored state).

    The application as the set-up leaves it (compaction done) is kept in ``app-setup``;
    ``reuse_setup`` (``--reuse-setup``) starts from a copy of it instead of setting up
    again (the set-up steps are then not in the results)."""
    app = data / "app"
    kept = data / "app-setup"
    # The commands run as installed: `pip install .` compiles the package's bytecode (and
    # `dev.py setup` does for the checkout); this machine's PYTHONDONTWRITEBYTECODE would
    # otherwise have every command compile every module of ours again (0.35 s each).
    compileall.compile_dir(ROOT / "cmetrack", quiet=1, workers=0)
    if app.exists():
        shutil.rmtree(app)
    env = command_env(app)
    steps: list[dict[str, Any]] = []
    if reuse_setup and kept.is_dir():
        shutil.copytree(kept, app)
    else:
        app.mkdir()
        steps = _set_up(data, meta, threads, app, env)
        if kept.exists():
            shutil.rmtree(kept)
        shutil.copytree(app, kept)
    if rolls_copy == "warm":
        steps.append(timed_command(["shell", "-c", WARM_ROLLS], env, WARM_LABEL))
    _user_steps(data, meta, threads, env, steps)
    result = _check_alerts(data, meta, threads, app, steps)
    result["rolls_copy"] = rolls_copy
    return result


def _set_up(
    data: Path, meta: dict[str, Any], threads: int, app: Path, env: dict[str, str]
) -> list[dict[str, Any]]:
    """A fresh application with the year but its last day compacted (grids built)."""
    steps = []
    setup = [
        (["migrate", "--no-input", "-v", "0"], "setup: migrate"),
        (["shell", "-c", f"ESTABS = {[la[3:] for la in meta['laestabs']]!r}\n" + SETUP_SCHOOLS],
         "setup: schools"),
        (["import_data", "terms", str(data / "terms.csv")], "setup: terms"),
        (["import_data", "closures", str(data / "closures.csv")], "setup: closures"),
        (["import_data", "roll", str(data / "roll.csv"), "--taken-on", "2024-09-05",
          "--no-detect"], "setup: roll of every pupil"),
    ]  # fmt: skip
    for args, label in setup:
        steps.append(timed_command(args, env, label))
    # The store: the year before the last day, one compacted file per school.
    root = app / "attendance"
    con = engine.connect(threads=threads)
    before = str(data / "increment" / "before.parquet").replace("'", "''")
    con.execute(
        f"COPY (SELECT laestab, upn, date, session, code, laestab AS school, "  # noqa: S608 - bench SQL on our own files
        f"CASE WHEN month(date) >= 9 THEN year(date) ELSE year(date) - 1 END AS year "
        f"FROM read_parquet('{before}') ORDER BY laestab, upn, date, session) TO '{root}' "
        "(FORMAT parquet, PARTITION_BY (school, year), COMPRESSION zstd, "
        "FILENAME_PATTERN 'marks', OVERWRITE_OR_IGNORE)"
    )
    for part in root.glob("school=*/year=*/marks*.parquet"):
        part.rename(part.with_name("marks.parquet"))
    parts = con.execute(
        "SELECT laestab, CASE WHEN month(date) >= 9 THEN year(date) ELSE year(date) - 1 END, "  # noqa: S608 - bench SQL on our own files
        f"count(*), CAST(min(date) AS VARCHAR), CAST(max(date) AS VARCHAR) "
        f"FROM read_parquet('{before}') GROUP BY ALL"
    ).fetchall()
    con.close()
    steps.append(
        timed_command(
            ["shell", "-c", f"PARTS = {[list(p) for p in parts]!r}\n" + SEED_STORE],
            env, "setup: attendance store index",
        )
    )  # fmt: skip
    # The nightly compaction (``attendance-compact``; here its command) builds each
    # partition's session grid beside its marks file, as it does after folding deltas.
    steps.append(
        timed_command(
            ["compact_attendance", "--threads", str(threads)], env,
            "setup: compaction builds the session grids (nightly job)",
        )
    )  # fmt: skip
    return steps


#: ``--rolls-copy warm``: the copy of the rolls a detection keeps (``VAR_DIR/detection-cache``)
#: made before the timed steps, as the application holds it when no roll has changed since
#: its last detection (the usual night); ``cold``: the timed detection reads the rolls from
#: the database, as the first detection after a roll import does.
WARM_ROLLS = "from cmetrack.detection import services\nservices._rolls_table()\n"
WARM_LABEL = "setup: the rolls' copy a previous detection leaves (--rolls-copy warm)"


def _user_steps(
    data: Path, meta: dict[str, Any], threads: int, env: dict[str, str], steps: list[Any]
) -> None:
    """What a user runs: the whole year's detection, then one day imported and detected."""
    last_day = date.fromisoformat(meta["last_day"])
    before_day = last_day - timedelta(days=1)
    while before_day.weekday() >= 5:
        before_day -= timedelta(days=1)
    t = str(threads)
    steps.append(
        timed_command(
            ["detect", "--as-of", before_day.isoformat(), "--full", "--threads", t], env,
            "detect: the whole year (product path, alerts with evidence, state kept)",
        )
    )  # fmt: skip
    steps.append(
        timed_command(
            ["import_data", "attendance", str(data / "increment" / "day.parquet"),
             "--as-of", last_day.isoformat(), "--threads", t], env,
            "import and detect: one school day for the authority (one command: the import, "
            "then the increment from the stored state in the same process)",
        )
    )  # fmt: skip


def _check_alerts(
    data: Path, meta: dict[str, Any], threads: int, app: Path, steps: list[Any]
) -> dict[str, Any]:
    """The absence alerts in the application's database against the planted runs."""
    # Correctness: the absence alerts are exactly the planted runs of 20 or more.
    import sqlite3

    con = engine.connect(threads=threads)
    engine.calendar_from_csv(con, data / "terms.csv", data / "closures.csv")
    engine.build_school_days(con, AS_OF, laestabs=meta["laestabs"])
    where = {
        (la, f"{d.isoformat()} {h}"): seq
        for la, d, h, seq in con.execute(
            "SELECT laestab, d, session, seq FROM school_sessions"
        ).fetchall()
    }
    db = sqlite3.connect(app / "cmetrack.sqlite3")
    found = {
        (la, upn, where[(la, episode)], ev["sessions"], ev["open"])
        for la, upn, episode, ev in (
            (la, upn, episode, json.loads(ev))
            for la, upn, episode, ev in db.execute(
                "SELECT laestab, upn, episode_start, evidence FROM detection_alert "
                "WHERE rule = 'absence_20'"
            )
        )
    }
    planted = expected_runs(meta)
    return {
        "phase": "commands",
        "steps": steps,
        "marks": meta["marks"] - int(meta.get("last_day_marks", 0)),
        "planted": len(planted),
        "planted_found": len(planted & found),
        "missed": sorted(planted - found)[:5],
        "unexpected": len(found - planted),
    }


def _one_line(command: str) -> str:
    """A command for a table cell: a ``shell -c`` script is named, not printed."""
    if command.startswith("cmetrack shell -c"):
        return "cmetrack shell -c <bench set-up script>"
    return command


def expected_runs(meta: dict[str, Any]) -> set[tuple[str, str, int, int, bool]]:
    """The planted runs of 20 sessions or more: (school, UPN, first session, sessions, open)."""
    return {
        (la, upn, first, sessions, is_open)
        for la, upn, first, sessions, is_open, _gaps in meta["plants"]
        if sessions >= THRESHOLD
    }


def _peak_rss_kib() -> int:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pupils", type=int, default=25_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--data", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results" / "detection.md")
    parser.add_argument(
        "--phases",
        default="commands,parquet,increment,plain",
        help="commands (cmetrack import_data and detect as subprocesses), parquet and "
        "increment (the engine alone), csv, and plain (a hand-written DuckDB query)",
    )
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB's memory limit (it spills beyond it)."
    )
    parser.add_argument(
        "--reuse-setup",
        action="store_true",
        help="commands: start from the application the last set-up left (app-setup) "
        "instead of migrating, importing the registers and compacting again",
    )
    parser.add_argument(
        "--rolls-copy",
        choices=("cold", "warm"),
        default="cold",
        help="commands: cold, the timed detection reads the rolls from the database (as the "
        "first detection after a roll import); warm, a previous detection's copy of them is "
        "there (no roll changed since, the usual night)",
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data / f"detection-{args.pupils}-{args.seed}"
    if args.phase:
        print(json.dumps(phase(args.phase, data, args.threads, args.memory_limit,
                               args.reuse_setup, args.rolls_copy)))  # fmt: skip
        return
    generated_in = None
    if not (data / "meta.json").exists():
        print(f"Generating {args.pupils:,} pupils into {data} ...", flush=True)
        started = time.perf_counter()
        generate(data, args.pupils, args.seed, args.threads)
        generated_in = time.perf_counter() - started
    meta = json.loads((data / "meta.json").read_text())
    print(f"{meta['marks']:,} marks, {len(meta['plants'])} planted runs", flush=True)
    results = []
    for name in args.phases.split(","):
        out = subprocess.run(  # noqa: S603 - bench SQL on our own files
            [sys.executable, __file__, "--phase", name, "--pupils", str(args.pupils),
             "--seed", str(args.seed), "--threads", str(args.threads), "--data", str(args.data),
             "--memory-limit", args.memory_limit, "--rolls-copy", args.rolls_copy,
             *(["--reuse-setup"] if args.reuse_setup else [])],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(result), flush=True)
        results.append(result)
    write_results(args, meta, results, generated_in)


def write_results(
    args: argparse.Namespace, meta: dict[str, Any], results: list[dict[str, Any]],
    generated_in: float | None,
) -> None:  # fmt: skip
    import duckdb

    lines = [
        f"## {meta['pupils']:,} pupils, seed {meta['seed']} "
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
        "",
        f"- Machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, DuckDB {duckdb.__version__}, threads {args.threads}, "
        f"DuckDB memory limit {args.memory_limit}",
        f"- Data: {meta['schools']} schools, {meta['marks']:,} marks, "
        f"{meta['sessions_per_school']} school sessions in the year, "
        f"{sum(1 for p in meta['plants'] if p[3] >= THRESHOLD)} planted runs of 20+ sessions "
        f"({len(meta['plants'])} planted in all)"
        + (f"; generated in {generated_in:.0f} s" if generated_in else ""),
        "",
        "| phase | marks read | wall time (s) | marks per second | peak memory (MiB) "
        "| planted runs found | other runs of 20+ found | load average at start |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r["phase"] == "commands":
            continue
        lines.append(
            f"| {r['phase']} | {r['marks']:,} | {r['wall_seconds']} | "
            f"{r['marks_per_second']:,} | {r['peak_memory_mib']} | "
            f"{r['planted_found']} of {r['planted']} | {r['unexpected']} | {r['load_average']} |"
        )
    for r in results:
        if r["phase"] != "commands":
            continue
        lines += [
            "",
            "Commands a user runs, each a subprocess end to end (Django start-up, database, "
            "files, alerts written):",
            "",
            "| step | wall (s) | CPU (s) | marks per second (wall) | marks per second "
            "(CPU time on 2 cores) | load average at start | command |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for step in r["steps"]:
            n = 0
            if step["step"].startswith("detect: the whole year"):
                n = r["marks"]
            elif step["step"].startswith(("import: one", "detect: that day", "import and detect")):
                n = meta["last_day_marks"]
            rate = f"{n / step['wall_seconds']:,.0f}" if n else ""
            cpu_rate = f"{n / (step['cpu_seconds'] / 2):,.0f}" if n and step["cpu_seconds"] else ""
            lines.append(
                f"| {step['step']} | {step['wall_seconds']} | {step['cpu_seconds']} | {rate} "
                f"| {cpu_rate} | {step['load_average']} | `{_one_line(step['command'])}` |"
            )
        for step in r["steps"]:
            if step["step"].startswith("import and detect") and step.get("output"):
                lines.append(
                    "\nThe one-day command printed (its own timings, inside the process): "
                    + " / ".join(f"`{line.strip()}`" for line in step["output"])
                )
        lines.append(
            "\nThe rolls: "
            + (
                "a previous detection's copy of them was there (`--rolls-copy warm`: no roll "
                "changed since the last detection), made before the timed steps."
                if r.get("rolls_copy") == "warm"
                else "read from the database by the timed detection (`--rolls-copy cold`, as "
                "the first detection after a roll import)."
            )
        )
        lines.append(
            f"\nPlanted runs of 20+ found as absence alerts in the application database: "
            f"{r['planted_found']} of {r['planted']}; other absence alerts: {r['unexpected']}."
        )
    lines.append("")
    lines.append(f"Command: `{' '.join(sys.argv)}`")
    lines.append("")
    args.results.parent.mkdir(parents=True, exist_ok=True)
    header = ""
    if not args.results.exists():
        header = (
            "# Detection benchmark\n\nWritten by `bench/bench_detection.py` (see its docstring "
            "for the data and phases). The increment's preparation (open-run state as of the "
            "day before, done once after a full run) is not in its wall time.\n\n"
        )
    with args.results.open("a") as handle:
        handle.write(header + "\n".join(lines) + "\n")
    print(f"Wrote {args.results}")


if __name__ == "__main__":
    main()
