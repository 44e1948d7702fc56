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

1. full detection from Parquet (``school=<laestab>/year=<yyyy>/*.parquet``, as stored);
2. full detection from one CSV file;
3. a one-day increment: the open-run state as of the day before, then only the last
   day's marks (``engine.incremental_runs``).

It records marks per second, wall time, peak memory, and whether every planted run of
20 sessions or more was found with its exact start, length and open flag (and no other),
in ``bench/results/detection.md`` (or ``--results``)::

    .venv/bin/python bench/bench_detection.py                      # 25,000 pupils
    .venv/bin/python bench/bench_detection.py --pupils 250000      # the issue's full size

Data is generated once per size and seed under ``--data`` (default ``var/bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
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
    """Write marks (Parquet and CSV), the calendar CSVs and the planted runs."""
    out.mkdir(parents=True, exist_ok=True)
    con = engine.connect(threads=threads)
    schools = max(1, pupils // PUPILS_PER_SCHOOL)
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
    con.execute(
        """
        CREATE TABLE pupils AS
        SELECT i, 'P' || lpad(CAST(i AS VARCHAR), 9, '0') AS upn,
            (SELECT laestab FROM schools WHERE school_no = i % $schools) AS laestab
        FROM range($pupils) AS r(i)
        """,
        {"pupils": pupils, "schools": schools},
    )
    # Plants: pupil i with i % 97 = 3; length 10..60; one in five open at the end.
    con.execute(
        """
        CREATE TABLE plants AS
        WITH bounds AS (
            SELECT laestab, min(seq) AS lo, max(seq) AS hi FROM school_sessions GROUP BY laestab
        )
        SELECT p.laestab, p.upn, len,
            CASE WHEN open THEN hi - len + 1
                 ELSE lo + 40 + CAST((hash(p.i, $seed, 'start')) % (hi - lo - 140) AS BIGINT)
            END AS first_seq,
            open
        FROM (
            SELECT *, 10 + CAST((hash(i, $seed, 'len')) % 51 AS INTEGER) AS len,
                (hash(i, $seed, 'open')) % 5 = 0 AS open
            FROM pupils WHERE i % 97 = 3
        ) p JOIN bounds b ON b.laestab = p.laestab
        """,
        {"seed": seed},
    )
    con.execute(
        """
        CREATE TABLE marks AS
        WITH grid AS (
            SELECT p.laestab, p.upn, s.d, s.session, s.seq,
                CAST((hash(p.i, s.seq, $seed)) % 10000 AS INTEGER) AS u,
                pl.first_seq, pl.len
            FROM pupils p
            JOIN school_sessions s ON s.laestab = p.laestab
            LEFT JOIN plants pl ON pl.upn = p.upn
        )
        SELECT laestab, upn, d AS date, session,
            CASE
                WHEN seq BETWEEN first_seq AND first_seq + len - 1
                    THEN ['N', 'O', 'G'][1 + u % 3]
                WHEN seq = first_seq - 1 OR seq = first_seq + len
                    THEN CASE WHEN session = 'AM' THEN '/' ELSE '\\' END
                WHEN u < 9300 THEN CASE WHEN session = 'AM' THEN '/' ELSE '\\' END
                WHEN u < 9450 THEN 'L'
                WHEN u < 9750 THEN 'I'
                WHEN u < 9800 THEN 'M'
                WHEN u < 9830 THEN 'N'
                WHEN u < 9850 THEN 'O'
                WHEN u < 9870 THEN 'G'
                WHEN u < 9900 THEN 'U'
                WHEN u < 9920 THEN 'C'
                WHEN u < 9940 THEN '#'
                WHEN u < 9950 THEN 'Z'
                ELSE 'B'
            END AS code,
            CASE WHEN month(d) >= 9 THEN year(d) ELSE year(d) - 1 END AS year,
            laestab AS school
        FROM grid
        WHERE u < 9990 OR seq BETWEEN first_seq - 1 AND first_seq + len
        """,
        {"seed": seed},
    )
    (marks,) = con.execute("SELECT count(*) FROM marks").fetchone()
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
        f"COPY (SELECT laestab, upn, date, session, code FROM marks WHERE date = ?) "  # noqa: S608 - bench SQL on our own files
        f"TO '{inc / 'day.parquet'}' (FORMAT parquet)",
        [last_day],
    )
    con.execute(
        f"COPY (SELECT laestab, upn, date, session, code FROM marks WHERE date < ?) "  # noqa: S608 - bench SQL on our own files
        f"TO '{inc / 'before.parquet'}' (FORMAT parquet)",
        [last_day],
    )
    for folder in (out, csv_dir, inc):
        engine_csv_calendar(con, folder)
    plants = con.execute(
        "SELECT laestab, upn, first_seq, len, open FROM plants ORDER BY laestab, upn"
    ).fetchall()
    meta = {
        "pupils": pupils,
        "schools": schools,
        "seed": seed,
        "marks": int(marks),
        "sessions_per_school": int(sessions_per_school),
        "last_day": last_day.isoformat(),
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


def phase(name: str, data: Path, threads: int, memory_limit: str | None) -> dict[str, Any]:
    meta = json.loads((data / "meta.json").read_text())
    load = os.getloadavg()[0]
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
    planted = {
        (la, upn, first, length, is_open)
        for la, upn, first, length, is_open in meta["plants"]
        if length >= THRESHOLD
    }
    if name == "increment":
        # The increment reports the runs the last day touched: the open ones.
        planted = {p for p in planted if p[4]}
        found = {f for f in found if f[4]}
    peak_kib = _peak_rss_kib()
    return {
        "phase": name,
        "marks": int(marks),
        "wall_seconds": round(wall, 3),
        "marks_per_second": round(marks / wall) if wall else None,
        "peak_memory_mib": round(peak_kib / 1024, 1),
        "planted": len(planted),
        "planted_found": len(planted & found),
        "missed": sorted(planted - found)[:5],
        "unexpected": len(found - planted),
        "prepare_seconds": round(meta.get("prepare_seconds", 0.0), 3),
        "load_average": round(load, 1),
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
        default="parquet,csv,increment,plain",
        help="parquet, csv, increment, and plain (a hand-written DuckDB query, to compare)",
    )
    parser.add_argument(
        "--memory-limit", default="8GB", help="DuckDB's memory limit (it spills beyond it)."
    )
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    args = parser.parse_args()
    data = args.data / f"detection-{args.pupils}-{args.seed}"
    if args.phase:
        print(json.dumps(phase(args.phase, data, args.threads, args.memory_limit)))
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
             "--memory-limit", args.memory_limit],
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
        lines.append(
            f"| {r['phase']} | {r['marks']:,} | {r['wall_seconds']} | "
            f"{r['marks_per_second']:,} | {r['peak_memory_mib']} | "
            f"{r['planted_found']} of {r['planted']} | {r['unexpected']} | {r['load_average']} |"
        )
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
