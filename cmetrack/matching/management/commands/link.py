"""``cmetrack link LEFT [RIGHT] --out FILE --threshold P``: bulk record linkage."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cmetrack.matching.bulk import FileError, default_workers, link, read_people, write_rows
from cmetrack.matching.model import current_model


class Command(BaseCommand):
    help = (
        "Link two files of people, or find the duplicates within one (CSV or Parquet; "
        "columns id, given_name, middle_names, family_name, aliases, dob, sex, postcode, "
        "address, parent_names, upn; aliases and parent names separated by ';'). Writes "
        "left_id,right_id,match_probability for pairs at or above the threshold."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("left", type=Path)
        parser.add_argument("right", type=Path, nargs="?")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--threshold", type=float, default=0.5)
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument(
            "--no-family-rules",
            action="store_true",
            help="For data about adults: no household cap, no sibling or twin rule.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["threshold"] <= 1:
            raise CommandError("--threshold is a probability between 0 and 1")
        start = time.perf_counter()
        try:
            left = read_people(options["left"])
            right = read_people(options["right"]) if options["right"] else None
        except FileError as exc:
            raise CommandError(str(exc)) from exc
        pairs = link(
            left,
            right,
            model=current_model(),
            threshold=options["threshold"],
            workers=options["workers"],
            family_rules=not options["no_family_rules"],
        )
        count = write_rows(options["out"], ("left_id", "right_id", "match_probability"), pairs)
        what = "duplicate pairs" if right is None else "linked pairs"
        self.stdout.write(
            f"{count} {what} written to {options['out']} in {time.perf_counter() - start:.1f} s"
        )
