"""``cmetrack link LEFT [RIGHT] --out FILE --threshold P``: bulk record linkage."""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from cmetrack.matching.bulk import (
    ENGINES,
    SPARK_MISSING,
    FileError,
    cluster_rows,
    default_workers,
    file_dobs,
    guess_profile,
    link_files,
    train_on_files,
    write_rows,
)
from cmetrack.matching.model import (
    PROFILES,
    MatchModel,
    ModelError,
    current_model,
    default_model,
)
from cmetrack.matching.training import TrainingError


class Command(BaseCommand):
    help = (
        "Link two files of people, or find the duplicates within one (CSV or Parquet; "
        "columns id, given_name, middle_names, family_name, aliases, dob, sex, postcode, "
        "address, parent_names, upn; aliases and parent names separated by ';'). Writes "
        "left_id,right_id,match_probability for pairs at or above the threshold. Runs on "
        "DuckDB by default; --engine spark runs the same SQL on Spark, --engine python the "
        "interactive index record by record (the reference)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("left", type=Path)
        parser.add_argument("right", type=Path, nargs="?")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--threshold", type=float, default=0.5)
        parser.add_argument("--engine", choices=ENGINES, default="duckdb")
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="Threads (DuckDB, Spark local) or processes (python).",
        )
        parser.add_argument(
            "--model",
            type=Path,
            help="A model file (cmetrack train_matcher --out) instead of the current model.",
        )
        parser.add_argument(
            "--profile",
            choices=PROFILES,
            help=(
                "What the files describe: children (household cap, sibling and twin rules) "
                "or generic records (none of them). Default: generic when most dates of "
                "birth in the files are of adults, otherwise the model's profile."
            ),
        )
        parser.add_argument(
            "--train",
            action=argparse.BooleanOptionalAction,
            help=(
                "First train the model on the files themselves (Splink's EM, no labels; "
                "the current or --model model fills what EM cannot estimate), and link "
                "with it: for files from elsewhere, whose errors the authority's model has "
                "not learnt. The model is used for this run only (cmetrack train_matcher "
                "--files keeps one). Default: only when the files are of adults and the "
                "model was trained on children."
            ),
        )
        parser.add_argument(
            "--no-family-rules",
            action="store_true",
            help="The same as --profile generic.",
        )
        parser.add_argument(
            "--clusters",
            type=Path,
            help=(
                "Deduplicating one file: also write the duplicate pairs joined into "
                "clusters (cluster_id, record_id, linked_to, match_probability, "
                "cluster_size, reasons): a child recorded three times is one cluster."
            ),
        )
        parser.add_argument(
            "--many-to-many",
            action="store_true",
            help=(
                "Linking two files: keep every pair above the threshold (by default each "
                "record is linked at most once, the most probable pair first)."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not 0 <= options["threshold"] <= 1:
            raise CommandError("--threshold is a probability between 0 and 1")
        if options["clusters"] and options["right"] is not None:
            raise CommandError("--clusters is for deduplicating one file")
        if options["engine"] == "spark" and importlib.util.find_spec("pyspark") is None:
            raise CommandError(SPARK_MISSING)
        model = self._model(options["model"])
        files = [options["left"], *([options["right"]] if options["right"] else [])]
        start = time.perf_counter()
        try:
            profile = self._profile(options, model, files)
            train = options["train"]
            if train is None:
                train = profile == "generic" and model.profile == "children"
            if train:
                model = train_on_files(files, fallback=model, profile=profile)
                self.stdout.write(
                    f"Trained model {model.version} on the {model.records} records of the files"
                )
            pairs = link_files(
                options["left"],
                options["right"],
                model=model,
                threshold=options["threshold"],
                engine=options["engine"],
                family_rules=profile == "children",
                one_to_one_links=not options["many_to_many"],
                workers=options["workers"],
                progress=lambda text: self.stdout.write(text) if options["verbosity"] > 1 else None,
            )
        except (FileError, TrainingError) as exc:
            raise CommandError(str(exc)) from exc
        count = write_rows(options["out"], ("left_id", "right_id", "match_probability"), pairs)
        what = "duplicate pairs" if options["right"] is None else "linked pairs"
        self.stdout.write(
            f"{count} {what} written to {options['out']} in {time.perf_counter() - start:.1f} s"
        )
        if options["clusters"]:
            members = cluster_rows(
                options["left"], pairs, model=model, family_rules=profile == "children"
            )
            written = write_rows(
                options["clusters"],
                (
                    "cluster_id",
                    "record_id",
                    "linked_to",
                    "match_probability",
                    "cluster_size",
                    "reasons",
                ),
                members,
            )
            n = len({row[0] for row in members})
            self.stdout.write(f"{n} clusters ({written} records) written to {options['clusters']}")

    def _profile(self, options: dict[str, Any], model: MatchModel, files: list[Path]) -> str:
        """--profile (or --no-family-rules); else generic for files of adults; else the
        model's own."""
        if options["no_family_rules"]:
            return "generic"
        if options["profile"]:
            return str(options["profile"])
        guessed = guess_profile(d for path in files for d in file_dobs(path))
        if guessed == "generic" and model.profile != "generic":
            self.stdout.write(
                "Most dates of birth in the files are of adults: linking without the twin "
                "and sibling rules (--profile children to keep them), with a model trained "
                "on the files unless --no-train."
            )
            return "generic"
        return model.profile

    @staticmethod
    def _model(path: Path | None) -> MatchModel:
        if path is None:
            return current_model()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return MatchModel.from_json(data, fallback=default_model())
        except (OSError, ValueError, ModelError) as exc:
            raise CommandError(f"{path}: not a model file ({exc})") from exc
