"""Fellegi-Sunter scoring of a query against candidate records, with explanations.

A pair's match weight is the sum over comparisons of log2(m/u) of the level it falls in
(term-frequency adjusted for exact given and family names: log2(m/tf), so a rare surname
counts for more than a common one), plus two corrections for dependence between fields
that the independence assumption of Fellegi-Sunter misses:

- the household fields (surname, postcode, address, parents) together count for at most
  :data:`compare.HOUSEHOLD_CAP` bits, because a sibling agrees on all of them;
- when the surname agrees, the given names plainly differ and the dates of birth are
  close, the pair looks like a brother and sister, and the given-name disagreement counts
  at least :data:`compare.SIBLING_GIVEN_WEIGHT` against; with the same date of birth it
  looks like twins, and counts at least :data:`compare.TWIN_GIVEN_WEIGHT` against (also
  when the given names are close but the sex differs: a brother and sister);
- a valid UPN that agrees makes the weight at least :data:`compare.UPN_LINK_WEIGHT`
  unless the date of birth and the sex both disagree, and then no twin or sibling rule
  applies.

The probability is the weight turned into odds with a prior (for a search, one in the
number of records searched).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .compare import (
    COMPARISONS,
    GIVEN_NOT_SAME,
    HOUSEHOLD,
    HOUSEHOLD_CAP,
    SIBLING_GIVEN_WEIGHT,
    SWAP_PENALTY,
    TWIN_FAMILY_LEVELS,
    TWIN_GIVEN_WEIGHT,
    UPN_LINK_WEIGHT,
    Comparison,
    given_floor,
    upn_links,
)
from .features import Features
from .model import MIN_PROBABILITY, MatchModel
from .normalise import variant_explanation

PARTIAL_DOB_LEVELS = frozenset({"year_month", "year"})
_ATTRS = {
    "given_name": "given",
    "family_name": "family",
    "dob": "dob",
    "sex": "sex",
    "postcode": "postcode",
    "address": "address",
    "upn": "upns",
    "parents": "parents",
}


@dataclass(frozen=True)
class FieldResult:
    comparison: str
    label: str
    level: str
    explanation: str
    weight: float


@dataclass(frozen=True)
class Score:
    weight: float
    fields: tuple[FieldResult, ...]
    swapped: bool = False
    name_source: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def probability(self, prior: float) -> float:
        return probability(self.weight, prior)

    @property
    def explanation(self) -> str:
        parts = list(self.notes) + [f.explanation for f in self.fields if f.explanation]
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] if text else "Nothing to compare"


def probability(weight: float, prior: float) -> float:
    """Posterior probability from a match weight (bits) and the prior probability."""
    prior = min(max(prior, 1e-12), 1 - 1e-12)
    log_odds = weight + math.log2(prior / (1 - prior))
    if log_odds > 60:
        return 1.0
    if log_odds < -60:
        return 0.0
    odds: float = 2.0**log_odds
    return odds / (1 + odds)


class Scorer:
    """Scores pairs with one model and the term frequencies of one register.

    :meth:`weight` is the fast path used on every candidate; :meth:`explain` builds the
    per-field explanation for the few results shown. Both give the same weight.
    ``family_rules=False`` turns off the household cap and the sibling and twin rules, for
    data about adults where a shared surname and address say nothing of siblings."""

    def __init__(
        self,
        model: MatchModel,
        given_tf: dict[str, float] | None = None,
        family_tf: dict[str, float] | None = None,
        family_rules: bool = True,
    ) -> None:
        self.model = model
        self.family_rules = family_rules
        self.given_tf = given_tf or {}
        self.family_tf = family_tf or {}
        self._weights = {
            c.name: [
                0.0 if level.is_null else model.weight(c.name, level.key) for level in c.levels
            ]
            for c in COMPARISONS
        }
        self._m_exact = {
            "given_name": model.level("given_name", "exact").m,
            "family_name": model.level("family_name", "exact").m,
        }
        self._m_dob_exact = model.level("dob", "exact").m
        self._plan = [
            (i, c, _ATTRS[c.name], self._weights[c.name], c.name in HOUSEHOLD)
            for i, c in enumerate(COMPARISONS)
        ]
        given, family, dob, sex, upn = (COMPARISONS[i] for i in (0, 1, 2, 3, 6))
        self._given_else = [level.key == "else" for level in given.levels]
        self._given_not_same = [level.key in GIVEN_NOT_SAME for level in given.levels]
        self._family_agrees = [level.key in TWIN_FAMILY_LEVELS for level in family.levels]
        self._dob_close = [level.key not in ("else", "null") for level in dob.levels]
        self._dob_exact = [level.key == "exact" for level in dob.levels]
        self._dob_else = [level.key == "else" for level in dob.levels]
        self._sex_else = [level.key == "else" for level in sex.levels]
        self._upn_exact = [level.key == "exact" for level in upn.levels]

    def level_weights(self, comparison: str) -> list[float]:
        """The weight of each level of ``comparison`` (0 for its null level), before any
        term-frequency or partial-date adjustment."""
        return self._weights[comparison]

    def _tf_weight(self, comparison: str, value: str, base: float) -> float:
        table = self.given_tf if comparison == "given_name" else self.family_tf
        tf = table.get(value)
        if tf is None:
            return base
        return math.log2(max(self._m_exact[comparison], MIN_PROBABILITY) / max(tf, 1e-9))

    def _field(
        self, i: int, comparison: Comparison, query: Features, record: Features
    ) -> tuple[int, float]:
        index = comparison.level_of(query, record)
        level = comparison.levels[index]
        weight = self._weights[comparison.name][index]
        if comparison.name == "dob" and level.key in PARTIAL_DOB_LEVELS:
            _y, m, d = query.dob
            if not d and (level.key == "year_month" or not m):
                # The query's date is partial and agrees with all it gives: as strong as
                # an exact match among what could agree (m of "exact" over u of the level).
                weight = math.log2(
                    self._m_dob_exact / max(self.model.level("dob", level.key).u, MIN_PROBABILITY)
                )
        if level.tf_column == "given" and record.given is not None:
            weight = self._tf_weight(comparison.name, record.given.first, weight)
        elif level.tf_column == "family" and record.family is not None:
            weight = self._tf_weight(comparison.name, record.family.full, weight)
        return index, weight

    def weight(self, query: Features, record: Features, cache: list[dict[int, Any]]) -> float:
        """The match weight of (query, record). ``cache`` (one dict per comparison, fresh
        for each query) remembers results by record field, which records share a lot."""
        results = []
        for i, comparison, attr, _weights, _is_household in self._plan:
            value = getattr(record, attr)
            found = cache[i].get(id(value))
            if found is None:
                found = self._field(i, comparison, query, record)
                cache[i][id(value)] = found
            results.append(found)
        return self.total(results, query.swapped, query.upn_valid)

    def family_adjustment(
        self,
        given_index: int,
        family_index: int,
        dob_index: int,
        given_weight: float,
        sex_index: int = 0,
        upn_index: int = 0,
        upn_valid: bool = False,
    ) -> float:
        """What the sibling and twin rules add (0 or less) for these levels: when the
        surname agrees, the given names plainly differ (or are not the same and the sex
        differs) and the dates are the same or close, and no valid UPN agrees, the
        given-name disagreement counts at least the twin or sibling floor."""
        if not (
            (
                self._given_else[given_index]
                or (self._sex_else[sex_index] and self._given_not_same[given_index])
            )
            and self._family_agrees[family_index]
            and self._dob_close[dob_index]
        ):
            return 0.0
        if upn_valid and self._upn_exact[upn_index]:
            return 0.0
        floor = TWIN_GIVEN_WEIGHT if self._dob_exact[dob_index] else SIBLING_GIVEN_WEIGHT
        return min(0.0, floor - given_weight)

    def upn_override(
        self, total: float, dob_index: int, sex_index: int, upn_index: int, upn_valid: bool
    ) -> float:
        """``total`` raised to :data:`compare.UPN_LINK_WEIGHT` when a valid UPN agrees and
        the date of birth and the sex do not both disagree."""
        if (
            upn_valid
            and self._upn_exact[upn_index]
            and not (self._dob_else[dob_index] and self._sex_else[sex_index])
        ):
            return max(total, UPN_LINK_WEIGHT)
        return total

    def total(
        self, results: Sequence[tuple[int, float]], swapped: bool, upn_valid: bool = False
    ) -> float:
        """The match weight from each comparison's (level index, weight), in the order of
        :data:`compare.COMPARISONS`: the sum with the household cap, the sibling and twin
        floors, the swap penalty and the UPN rule applied (the one place they are
        applied)."""
        total = household = 0.0
        for (_i, _c, _attr, _weights, is_household), (_index, weight) in zip(
            self._plan, results, strict=True
        ):
            if is_household:
                household += weight
            else:
                total += weight
        if self.family_rules:
            given_index, given_weight = results[0]
            total += self.family_adjustment(
                given_index,
                results[1][0],
                results[2][0],
                given_weight,
                results[3][0],
                results[6][0],
                upn_valid,
            )
            total += min(household, HOUSEHOLD_CAP)
        else:
            total += household
        if swapped:
            total -= SWAP_PENALTY
        return self.upn_override(total, results[2][0], results[3][0], results[6][0], upn_valid)

    def explain(self, query: Features, record: Features) -> Score:
        """The weight with what each field contributed, in words."""
        fields: list[FieldResult] = []
        keys: dict[str, str] = {}
        results = []
        for i, comparison, _attr, _weights, _h in self._plan:
            index, weight = self._field(i, comparison, query, record)
            keys[comparison.name] = comparison.levels[index].key
            results.append((comparison, index, weight))
        floor = given_floor(keys, query.upn_valid) if self.family_rules else None
        household = total = 0.0
        notes: list[str] = []
        for comparison, index, weight in results:
            level = comparison.levels[index]
            if level.is_null:
                continue
            explanation = level.explanation
            if comparison.name == "given_name" and level.key == "variant":
                assert query.given is not None
                assert record.given is not None
                explanation = variant_explanation(query.given.first, record.given.first)
            if comparison.name == "given_name" and floor is not None:
                weight = min(weight, floor)
                sexes = " and a different sex" if keys.get("sex") == "else" else ""
                notes.append(
                    f"same date of birth and surname but a different given name{sexes} (a twin?)"
                    if floor == TWIN_GIVEN_WEIGHT
                    else f"same surname but a different given name{sexes} (a brother or sister?)"
                )
            fields.append(
                FieldResult(comparison.name, comparison.label, level.key, explanation, weight)
            )
            if comparison.name in HOUSEHOLD:
                household += weight
            else:
                total += weight
        total += min(household, HOUSEHOLD_CAP) if self.family_rules else household
        if query.swapped:
            total -= SWAP_PENALTY
            notes.append("given and family names are the other way round")
        if record.name_source:
            notes.append(f"matched on a recorded {record.name_source}")
        if upn_links(keys, query.upn_valid):
            if total < UPN_LINK_WEIGHT:
                notes.insert(0, "the UPN matches, which identifies the child")
            total = max(total, UPN_LINK_WEIGHT)
        elif query.upn_valid and keys.get("upn") == "exact":
            notes.insert(
                0,
                "the UPN matches but the date of birth and sex both differ: check the UPN "
                "was typed from this child's record",
            )
        return Score(total, tuple(fields), query.swapped, record.name_source, tuple(notes))
