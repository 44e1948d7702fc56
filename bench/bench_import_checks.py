"""How much the truthful reading of an attendance CSV costs (issue 18, item 6).

Inner functions only (not the import command end to end: ``bench_detection.py`` times
that): for one school day of an authority (500,000 marks, 18.5 MB), the quick check that
lets DuckDB read a plain file directly (:func:`cmetrack.detection.lines.is_plain_csv`), and
the careful line-by-line reading used for any other file
(:func:`cmetrack.detection.lines.read_records`). Wall and CPU time, with the load average.

    .venv/bin/python bench/bench_import_checks.py [MARKS]
"""

from __future__ import annotations

import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cmetrack.config.settings.test")

import django

django.setup()

from cmetrack.detection import lines  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def write_day(path: Path, marks: int) -> None:
    rng = random.Random(1)
    codes = [*"////NLI", "\\"]
    with path.open("w") as out:
        out.write("laestab,upn,date,session,code\n")
        for i in range(marks // 2):
            for session in ("AM", "PM"):
                out.write(
                    f"80{1000 + i % 400},H8012{i:08d},2025-11-03,{session},{rng.choice(codes)}\n"
                )


def main() -> None:
    marks = int(sys.argv[1]) if len(sys.argv) > 1 else 500_000
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "day.csv"
        write_day(path, marks)
        print(f"{marks:,} marks, {path.stat().st_size / 1e6:.1f} MB")
        for name, run in (
            ("is_plain_csv (the quick check)", lambda: lines.is_plain_csv(path, 5)),
            (
                "read_records (the careful reading)",
                lambda: sum(1 for _ in lines.read_records(path)),
            ),
        ):
            wall, used = time.perf_counter(), cpu()
            result = run()
            print(
                f"{name}: {result!r}; wall {time.perf_counter() - wall:.3f} s, "
                f"CPU {cpu() - used:.3f} s, load average {os.getloadavg()[0]:.2f}"
            )


if __name__ == "__main__":
    main()
