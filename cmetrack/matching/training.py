"""Training the model without labels: Splink's expectation maximisation on DuckDB.

The register is written to an in-memory DuckDB table of features (the columns of
:data:`compare.SQL_COLUMNS`), Splink estimates u by random sampling, the share of
matching pairs from a strict deterministic rule, and m by EM in two sessions (blocked on
date of birth, then on given and family name, so every comparison is estimated in one of
them). The result becomes a :class:`MatchModel` with a version and a hash of the data.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from .compare import COMPARISONS, SQL_COLUMNS, sql_row
from .features import Features
from .model import DEFAULT_PROFILE, MatchModel, from_splink

#: Pairs each EM session and the u sampling may build; enough for a stable estimate on a
#: register of any size, small enough to train in seconds to minutes on two cores.
MAX_U_PAIRS = 1_000_000
EM_BLOCKS = ("l.dob_s = r.dob_s", "l.given = r.given AND l.family = r.family")
DETERMINISTIC_RULES = ("l.given = r.given AND l.family = r.family AND l.dob_s = r.dob_s",)


class TrainingError(ValueError):
    """The register is too small or too uniform to train on."""


def features_table(rows: Iterable[tuple[str, Features]]) -> Any:
    """An Arrow table of features with ``unique_id`` (the first name of each record only:
    aliases would look like duplicates to EM)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    columns: dict[str, list[Any]] = {"unique_id": []}
    for name, _type in SQL_COLUMNS:
        columns[name] = []
    seen: set[str] = set()
    for uid, features in rows:
        if uid in seen:
            continue
        seen.add(uid)
        columns["unique_id"].append(uid)
        for name, value in sql_row(features).items():
            columns[name].append(value)
    types = {"VARCHAR": pa.string(), "INTEGER": pa.int32(), "BOOLEAN": pa.bool_()}
    schema = pa.schema(
        [("unique_id", pa.string())]
        + [
            (name, pa.list_(types[sql[:-2]]) if sql.endswith("[]") else types[sql])
            for name, sql in SQL_COLUMNS
        ]
    )
    return pa.table(columns, schema=schema)


def data_hash(table: Any) -> str:
    """SHA-256 over the feature rows in id order: the same register gives the same hash."""
    digest = hashlib.sha256()
    for batch in table.sort_by("unique_id").to_batches(max_chunksize=50_000):
        for row in batch.to_pylist():
            digest.update(repr(sorted(row.items())).encode())
    return digest.hexdigest()


def splink_settings(link_type: str = "dedupe_only") -> dict[str, Any]:
    return {
        "link_type": link_type,
        "unique_id_column_name": "unique_id",
        "comparisons": [c.splink_dict() for c in COMPARISONS],
        "blocking_rules_to_generate_predictions": list(EM_BLOCKS),
        "retain_intermediate_calculation_columns": False,
        "max_iterations": 10,
        "em_convergence": 0.001,
        "additional_columns_to_retain": [],
    }


def train(
    rows: Iterable[tuple[str, Features]],
    *,
    fallback: MatchModel | None,
    seed: int = 1,
    source: str = "",
    max_u_pairs: float = MAX_U_PAIRS,
    profile: str = DEFAULT_PROFILE,
) -> MatchModel:
    """Train on the register ``rows`` (record id, features); levels EM could not estimate
    keep the ``fallback`` model's values. ``profile`` says what the register describes
    (``model.PROFILES``: children, whose twins and siblings the scorer guards against, or
    generic records) and is stored with the model."""
    import duckdb
    from splink import DuckDBAPI, Linker

    table = features_table(rows)
    if table.num_rows < 50:
        raise TrainingError(
            f"The register has {table.num_rows} records; at least 50 are needed to train."
        )
    logging.getLogger("splink").setLevel(logging.WARNING)
    con = duckdb.connect()
    db_api = DuckDBAPI(connection=con)
    sdf = db_api.register(table, table_name="register")
    linker = Linker(sdf, splink_settings())
    linker.training.estimate_probability_two_random_records_match(
        list(DETERMINISTIC_RULES), recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=max_u_pairs, seed=seed)
    for rule in EM_BLOCKS:
        linker.training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True
        )
    settings = linker.misc.save_model_to_json(out_path=None)
    hashed = data_hash(table)
    now = timezone.now()
    con.close()
    return from_splink(
        settings,
        fallback=fallback,
        version=f"{now:%Y%m%dT%H%M%S}-{hashed[:8]}",
        trained_at=now.isoformat(),
        training_data_hash=hashed,
        records=table.num_rows,
        source=source,
        profile=profile,
    )
