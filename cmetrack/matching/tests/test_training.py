"""Training without labels (Splink EM on DuckDB) on a small generated register, and the
stored model: versioned, hashed, loaded back, the default used until one is trained."""

from __future__ import annotations

import functools
import json

import pytest

from cmetrack.matching import synthetic
from cmetrack.matching.compare import COMPARISONS
from cmetrack.matching.features import Features, features_of
from cmetrack.matching.model import (
    FORMAT,
    MatchModel,
    ModelError,
    current_model,
    default_model,
    save_model,
)
from cmetrack.matching.training import TrainingError, data_hash, features_table, train


@functools.cache
def register_rows(size: int = 1000) -> tuple[tuple[str, Features], ...]:
    first = synthetic.population(size, seed=5)
    second = synthetic.next_snapshot(first, seed=6, upn_rate=0.5)
    return tuple((p.id, features_of(synthetic.as_record(p))[0]) for p in first + second)


@pytest.fixture(scope="module")
def trained() -> MatchModel:
    return train(register_rows(), fallback=default_model(), seed=1, max_u_pairs=2e5)


def test_em_learns_that_agreement_is_evidence_of_a_match(trained):
    for comparison in ("given_name", "family_name", "dob", "postcode", "upn"):
        exact = trained.level(comparison, "exact")
        assert exact.m > 0.5, comparison
        assert trained.weight(comparison, "exact") > 3, comparison
        assert trained.weight(comparison, "else") < 0, comparison
    assert trained.weight("given_name", "variant") > 0
    assert trained.weight("dob", "swapped") > 0


def test_trained_model_is_versioned_with_the_hash_of_its_data(trained):
    rows = register_rows()
    assert trained.training_data_hash == data_hash(features_table(rows))
    assert trained.version.endswith(trained.training_data_hash[:8])
    assert trained.records == len(rows)


def test_a_model_survives_saving_and_becomes_current(trained, tmp_path):
    assert current_model(tmp_path) == default_model()  # nothing trained yet
    path = save_model(trained, tmp_path)
    assert path.name == f"model-{trained.version}.json"
    loaded = current_model(tmp_path)
    assert loaded.version == trained.version
    assert loaded.parameters == trained.parameters


def test_the_shipped_default_model_covers_every_level():
    model = default_model()
    for comparison in COMPARISONS:
        for level in comparison.levels:
            if not level.is_null:
                assert 0 < model.level(comparison.name, level.key).m <= 1


def test_a_model_file_for_other_comparisons_is_refused():
    with pytest.raises(ModelError):
        MatchModel.from_json({"format": "something else"})
    with pytest.raises(ModelError):
        MatchModel.from_json(json.loads(json.dumps({"format": FORMAT, "comparisons": {}})))


def test_too_small_a_register_is_refused():
    with pytest.raises(TrainingError, match="at least 50"):
        train(register_rows()[:10], fallback=default_model())
