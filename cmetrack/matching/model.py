"""The trained model: m and u probabilities for every level of every comparison, with the
version and a hash of the data it was trained on.

Models are JSON files. ``data/default_model.json`` ships with the code (trained by Splink
on a synthetic population, see ADR 0010) so search works before an authority trains its
own; ``cmetrack train_matcher`` writes ``$CMETRACK_VAR_DIR/matching/model-<version>.json``
and points ``current.json`` at it. :func:`current_model` reads whichever is newest.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from .compare import COMPARISONS, Comparison

FORMAT = "cmetrack-matching-model/1"
DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "data" / "default_model.json"
#: Smallest probability used in a weight, so an unseen level never gives an infinite one.
MIN_PROBABILITY = 1e-6
#: Smallest m kept from training: a level never seen among matches in the training data
#: (parents' names always agreeing, say) must not become near-certain proof against.
MIN_M = 0.002
#: m and u for a level EM could not estimate when there is no fallback model.
UNTRAINED = 0.01
#: What the register describes. "children" (school rolls, cases): a shared surname, address
#: and date of birth with a different given name is a twin or sibling, so the household
#: cap and the twin and sibling rules apply. "generic" (registers of adults, or any data
#: whose records are not children of households): those rules are off.
PROFILES = ("children", "generic")
DEFAULT_PROFILE = "children"


class ModelError(ValueError):
    """A model file that does not fit the comparisons of this version of the code."""


@dataclass(frozen=True)
class LevelParameters:
    m: float
    u: float

    @property
    def weight(self) -> float:
        """log2 of the Bayes factor m/u: positive counts for a match, negative against."""
        return math.log2(max(self.m, MIN_PROBABILITY) / max(self.u, MIN_PROBABILITY))


@dataclass(frozen=True)
class Calibration:
    """How a search's exclusive probabilities are made honest (probability.exclusive): a
    monotone map of each candidate's probability, given as knots ``(x, y)`` in log2 odds
    (x: the probability the weights give, y: the share of such results that were the
    child), straight lines between knots and slope one beyond them.

    Fitted by isotonic regression (pool-adjacent-violators) on labelled searches of one
    evaluation population and checked on another (``bench/bench_matching_calibrate.py``;
    ``source`` says which). Non-decreasing, so a more probable result never becomes a
    less probable one."""

    knots: tuple[tuple[float, float], ...]
    source: str = ""
    #: The knots' x, looked up for every candidate of every search (set from ``knots``).
    _xs: tuple[float, ...] = field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        xs = [x for x, _y in self.knots]
        ys = [y for _x, y in self.knots]
        if not self.knots or not all(math.isfinite(v) for v in (*xs, *ys)):
            raise ModelError("a calibration needs finite knots")
        if any(b <= a for a, b in itertools.pairwise(xs)) or any(
            b < a for a, b in itertools.pairwise(ys)
        ):
            raise ModelError("a calibration's knots must rise (x strictly, y never falling)")
        object.__setattr__(self, "_xs", tuple(xs))

    def log2_odds(self, x: float) -> float:
        knots = self.knots
        if x <= knots[0][0]:
            return knots[0][1] + (x - knots[0][0])
        if x >= knots[-1][0]:
            return knots[-1][1] + (x - knots[-1][0])
        i = bisect.bisect_right(self._xs, x)
        (x0, y0), (x1, y1) = knots[i - 1], knots[i]
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)

    def probability(self, p: float) -> float:
        """The calibrated probability of a result the weights give ``p``."""
        if p <= 0.0 or p >= 1.0:
            return p
        y = self.log2_odds(max(-60.0, min(60.0, math.log2(p / (1 - p)))))
        return 1.0 / (1.0 + 2.0 ** (-y)) if y > -60 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"knots": [[x, y] for x, y in self.knots], "source": self.source}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Calibration | None:
        if not data:
            return None
        knots = tuple((float(x), float(y)) for x, y in data["knots"])
        return cls(knots, str(data.get("source", "")))


@dataclass(frozen=True)
class MatchModel:
    version: str
    parameters: dict[str, dict[str, LevelParameters]]
    probability_two_random_records_match: float = 1e-4
    training_data_hash: str = ""
    trained_at: str = ""
    records: int = 0
    source: str = ""
    profile: str = DEFAULT_PROFILE
    #: None: probabilities as the weights give them (a model an authority trained has
    #: none until one is fitted for it).
    calibration: Calibration | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def family_rules(self) -> bool:
        """Whether the household cap and the twin and sibling rules apply (see PROFILES)."""
        return self.profile == "children"

    def level(self, comparison: str, level: str) -> LevelParameters:
        return self.parameters[comparison][level]

    def weight(self, comparison: str, level: str) -> float:
        return self.parameters[comparison][level].weight

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "trained_at": self.trained_at,
            "training_data_hash": self.training_data_hash,
            "records": self.records,
            "source": self.source,
            "profile": self.profile,
            "probability_two_random_records_match": self.probability_two_random_records_match,
            "comparisons": {
                name: {key: {"m": p.m, "u": p.u} for key, p in levels.items()}
                for name, levels in self.parameters.items()
            },
            **({"calibration": self.calibration.to_json()} if self.calibration else {}),
            **self.extra,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], fallback: MatchModel | None = None) -> MatchModel:
        if data.get("format") != FORMAT:
            raise ModelError(f"not a {FORMAT} file")
        stored = data.get("comparisons", {})
        profile = str(data.get("profile") or DEFAULT_PROFILE)
        if profile not in PROFILES:
            raise ModelError(f"unknown profile {profile!r} (one of {', '.join(PROFILES)})")
        parameters: dict[str, dict[str, LevelParameters]] = {}
        for comparison in COMPARISONS:
            parameters[comparison.name] = _levels_of(comparison, stored, fallback)
        return cls(
            version=str(data.get("version", "")),
            parameters=parameters,
            probability_two_random_records_match=float(
                data.get("probability_two_random_records_match") or 1e-4
            ),
            training_data_hash=str(data.get("training_data_hash", "")),
            trained_at=str(data.get("trained_at", "")),
            records=int(data.get("records") or 0),
            source=str(data.get("source", "")),
            profile=profile,
            calibration=Calibration.from_json(data.get("calibration")),
        )


def _levels_of(
    comparison: Comparison, stored: dict[str, Any], fallback: MatchModel | None
) -> dict[str, LevelParameters]:
    levels: dict[str, LevelParameters] = {}
    for level in comparison.levels:
        if level.is_null:
            continue
        values = stored.get(comparison.name, {}).get(level.key)
        if values and values.get("m") is not None and values.get("u") is not None:
            levels[level.key] = LevelParameters(float(values["m"]), float(values["u"]))
        elif fallback is not None:
            levels[level.key] = fallback.level(comparison.name, level.key)
        else:
            raise ModelError(f"no m and u for {comparison.name} {level.key}")
    return levels


def from_splink(
    splink_settings: dict[str, Any], fallback: MatchModel | None = None, **meta: Any
) -> MatchModel:
    """Our model from the settings Splink saves after training (levels it could not
    estimate, for example one never seen in the data, keep the fallback's values)."""
    stored: dict[str, dict[str, dict[str, float | None]]] = {}
    for comparison in splink_settings["comparisons"]:
        levels = stored.setdefault(comparison["output_column_name"], {})
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            m, u = level.get("m_probability"), level.get("u_probability")
            key = level["label_for_charts"]
            name = comparison["output_column_name"]
            if fallback is not None and (m is None or u is None):
                kept = fallback.level(name, key)
                m, u = (kept.m if m is None else m), (kept.u if u is None else u)
            levels[key] = {
                "m": max(UNTRAINED if m is None else float(m), MIN_M),
                "u": max(UNTRAINED if u is None else float(u), MIN_PROBABILITY),
            }
    data = {
        "format": FORMAT,
        "comparisons": stored,
        "probability_two_random_records_match": splink_settings.get(
            "probability_two_random_records_match"
        ),
        **meta,
    }
    return MatchModel.from_json(data, fallback=fallback)


@lru_cache(maxsize=1)
def default_model() -> MatchModel:
    return MatchModel.from_json(json.loads(DEFAULT_MODEL_PATH.read_text(encoding="utf-8")))


def model_dir() -> Path:
    from django.conf import settings

    return Path(settings.VAR_DIR) / "matching"


def save_model(model: MatchModel, directory: Path | None = None) -> Path:
    """Write ``model-<version>.json`` and make it current (older versions are kept)."""
    directory = directory or model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"model-{model.version}.json"
    path.write_text(json.dumps(model.to_json(), indent=1, sort_keys=True), encoding="utf-8")
    (directory / "current.json").write_text(
        json.dumps({"version": model.version, "file": path.name}), encoding="utf-8"
    )
    return path


def current_model(directory: Path | None = None) -> MatchModel:
    """The authority's trained model if there is one, otherwise the shipped default."""
    directory = directory or model_dir()
    pointer = directory / "current.json"
    if not pointer.exists():
        return default_model()
    name = json.loads(pointer.read_text(encoding="utf-8"))["file"]
    return _load_cached(str(directory / name))


@lru_cache(maxsize=4)
def _load_cached(path: str) -> MatchModel:
    return MatchModel.from_json(
        json.loads(Path(path).read_text(encoding="utf-8")), fallback=default_model()
    )
