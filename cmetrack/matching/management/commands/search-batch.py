"""``cmetrack search-batch REGISTER QUERIES --out FILE --top K``: many searches at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cmetrack.matching.bulk import (
    FileError,
    default_workers,
    read_people,
    search_batch,
    write_rows,
)
from cmetrack.matching.model import current_model


class Command(BaseCommand):
    help = (
        "Search a register file for every person in a queries file (same columns as "
        "cmetrack link). Writes query_id, rank, candidate_id, match_probability and "
        "query_seconds (the time the query took) for the top K candidates of each query; "
        "a query with no candidate gets one row with an empty candidate."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("register", type=Path)
        parser.add_argument("queries", type=Path)
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--top", type=int, default=10)
        parser.add_argument("--workers", type=int, default=default_workers())

    def handle(self, *args: Any, **options: Any) -> None:
        if options["top"] < 1:
            raise CommandError("--top must be at least 1")
        try:
            register = read_people(options["register"])
            queries = read_people(options["queries"])
        except FileError as exc:
            raise CommandError(str(exc)) from exc
        results, built = search_batch(
            register, queries, model=current_model(), top=options["top"], workers=options["workers"]
        )
        rows: list[tuple[object, ...]] = []
        times = []
        for query_id, candidates, seconds in results:
            times.append(seconds)
            if not candidates:
                rows.append((query_id, 0, "", 0.0, round(seconds, 6)))
            for rank, (candidate, probability) in enumerate(candidates, start=1):
                rows.append((query_id, rank, candidate, probability, round(seconds, 6)))
        write_rows(
            options["out"],
            ("query_id", "rank", "candidate_id", "match_probability", "query_seconds"),
            rows,
        )
        times.sort()
        p50 = times[len(times) // 2] * 1000 if times else 0.0
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))] * 1000 if times else 0.0
        self.stdout.write(
            f"{len(queries)} queries against {len(register)} records: index built in "
            f"{built:.1f} s; per query p50 {p50:.2f} ms, p95 {p95:.2f} ms; "
            f"results in {options['out']}"
        )
