"""``cmetrack train_matcher``: train the matching model on the authority's own registers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cmetrack.matching.bulk import FileError, train_on_files
from cmetrack.matching.model import DEFAULT_PROFILE, PROFILES, default_model, save_model
from cmetrack.matching.services import matcher_train, matcher_train_synthetic
from cmetrack.matching.training import TrainingError


class Command(BaseCommand):
    help = (
        "Train the matching model without labels (Splink EM on DuckDB) on the latest and "
        "previous roll snapshots and the children with cases, and make it current. "
        "--synthetic N trains on a generated population instead (how the shipped default "
        "model is made)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--synthetic", type=int, default=0, metavar="N")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--out",
            type=Path,
            help="With --synthetic or --files: write the model here, not current.",
        )
        parser.add_argument(
            "--files",
            type=Path,
            nargs="+",
            metavar="FILE",
            help=(
                "Train on linkage files (CSV or Parquet, the columns of cmetrack link) "
                "instead of the registers, e.g. the files about to be linked."
            ),
        )
        parser.add_argument(
            "--profile",
            choices=PROFILES,
            default=DEFAULT_PROFILE,
            help=(
                "What the data describes, stored with the model: children (household cap, "
                "sibling and twin rules when scoring) or generic records (none of them)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["files"]:
            self._train_on_files(options)
            return
        if options["synthetic"]:
            model = matcher_train_synthetic(options["synthetic"], seed=options["seed"])
            model = dataclasses.replace(model, profile=options["profile"])
            if options["out"]:
                options["out"].write_text(
                    json.dumps(model.to_json(), indent=1, sort_keys=True) + "\n"
                )
                self.stdout.write(f"Wrote model {model.version} to {options['out']}")
                return
        else:
            try:
                model, path = matcher_train(seed=options["seed"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self.stdout.write(
                f"Trained model {model.version} on {model.records} records; saved to {path}"
            )
            return
        path = save_model(model)
        self.stdout.write(
            f"Trained model {model.version} on {model.records} records; saved to {path}"
        )

    def _train_on_files(self, options: dict[str, Any]) -> None:
        try:
            model = train_on_files(
                options["files"],
                fallback=default_model(),
                profile=options["profile"],
                seed=options["seed"],
            )
        except (FileError, TrainingError) as exc:
            raise CommandError(str(exc)) from exc
        if options["out"]:
            options["out"].write_text(json.dumps(model.to_json(), indent=1, sort_keys=True) + "\n")
            self.stdout.write(f"Wrote model {model.version} ({model.profile}) to {options['out']}")
            return
        path = save_model(model)
        self.stdout.write(
            f"Trained model {model.version} ({model.profile}) on {model.records} records; "
            f"saved to {path}"
        )
