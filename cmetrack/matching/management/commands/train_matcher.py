"""``cmetrack train_matcher``: train the matching model on the authority's own registers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cmetrack.matching.services import matcher_train, matcher_train_synthetic


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
            "--out", type=Path, help="With --synthetic: write the model here, not current."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["synthetic"]:
            model = matcher_train_synthetic(options["synthetic"], seed=options["seed"])
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
        from cmetrack.matching.model import save_model

        path = save_model(model)
        self.stdout.write(
            f"Trained model {model.version} on {model.records} records; saved to {path}"
        )
