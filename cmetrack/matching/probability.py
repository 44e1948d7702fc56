"""What a search's match weights mean to an officer: probabilities that add up, bands,
and "two records match equally well".

A Fellegi-Sunter weight compares one candidate with a random record; the probability it
gives for each candidate on its own (``scorer.probability``) ignores the others, so twins
queried without a given name both come out near 1. Here the candidates of one register
and "none of these" are one set of exclusive answers: the child described is at most one
of them (a child is on a register once). With prior ``p`` for each record and weights
``w_i`` (log2 Bayes factors against "not this record"),

    P(candidate i) = p·2^w_i / ((1 - p) + Σ_j p·2^w_j),

so probabilities of a register's candidates and of "none of these" add up to 1 and two
candidates can never both be near 1.

The weights' own probabilities were found too modest on an evaluation population the
model never learnt from (results shown at 0.2–0.5 were the child 98% of the time). A
model may carry a :class:`~cmetrack.matching.model.Calibration`, a monotone map fitted
on labelled searches: each candidate's probability is mapped, and the mapped
probabilities, as odds against "none of these", are normalised together (a lone
candidate keeps its mapped probability). So they still add up to 1 with "none of
these", keep the candidates' order, and say how often a result in each band is the child
(the reliability table in docs/matching.md). Pure functions (tests/test_calibration.py,
tests/test_trust.py).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

from .model import Calibration

#: Nothing less probable than this is shown to an officer.
FLOOR = 0.01
#: From this probability a record is shown as "Possible — check".
POSSIBLE = 0.2
#: From this probability a record is shown as a strong match.
STRONG = 0.9
#: Two records whose weights are within this many bits (a factor of two) with the better
#: one at least POSSIBLE "match equally well": the officer is told so plainly.
TIE_BITS = 1.0

BANDS = ("strong", "possible", "unlikely")
BAND_LABELS = {
    "strong": "Strong match",
    "possible": "Possible — check",
    "unlikely": "Unlikely",
}
EQUALLY_WELL = (
    "Two records match equally well: they may be twins or brothers and sisters, or one "
    "child recorded twice. Check the date of birth, sex and given names before you rely "
    "on either."
)


def log2_odds(prior: float) -> float:
    prior = min(max(prior, 1e-12), 1 - 1e-12)
    return math.log2(prior / (1 - prior))


def exclusive(
    weights: Sequence[float], prior: float, calibration: Calibration | None = None
) -> list[float]:
    """The probability that each candidate is the child, the candidates and "none of
    these" being exclusive (module docstring), recalibrated by ``calibration`` when given.
    Computed in the log domain: weights of hundreds of bits do not overflow."""
    if not weights:
        return []
    base = log2_odds(prior)
    logs = [w + base for w in weights]
    top = max(0.0, *logs)
    none_term = 2.0 ** (-top)
    terms = [2.0 ** (x - top) for x in logs]
    total = none_term + sum(terms)
    raw = [t / total for t in terms]
    if calibration is None:
        return raw
    # Each mapped probability as odds against "none of these", normalised together: a
    # lone candidate keeps its mapped probability; two records that both map near 1
    # share it (twins); a weak record beside a strong one takes little from it.
    odds = [_odds(calibration.probability(p)) for p in raw]
    denominator = 1.0 + sum(odds)
    return [o / denominator for o in odds]


def _odds(p: float) -> float:
    return p / (1.0 - p) if p < 1.0 else 1e300


@functools.lru_cache(maxsize=256)
def weight_for(probability: float, prior: float, calibration: Calibration | None = None) -> float:
    """The weight at which a candidate on its own has at least ``probability`` (with the
    calibration, when given): a record below it is never shown at ``probability`` or
    more (among other candidates its probability is lower still). Remembered: every
    search of a register of one size asks the same."""
    target = log2_odds(probability)
    if calibration is not None:
        # The calibrated map rises, so the raw odds that map to the target are found by
        # halving the interval (a few dozen steps; once per search).
        target, _above = _preimage(calibration, target, 60)
    return target - log2_odds(prior)


def _preimage(calibration: Calibration, target: float, steps: int) -> tuple[float, float]:
    """Log2 odds ``(lo, hi)`` at most ``400 / 2**steps`` apart, between -200 and 200, with
    the map below ``target`` at ``lo`` and not below it at ``hi`` (the map rises)."""
    lo, hi = -200.0, 200.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        if calibration.log2_odds(mid) < target:
            lo = mid
        else:
            hi = mid
    return lo, hi


#: A search leaves out records whose probability, even alone, is below the floor shown
#: divided by this: together the ten best of them could move a shown probability by at
#: most a tenth of the floor.
NEGLIGIBLE = 100.0


def none_of_these(
    weights: Sequence[float], prior: float, calibration: Calibration | None = None
) -> float:
    """The probability that the child is none of the candidates."""
    return max(0.0, 1.0 - sum(exclusive(weights, prior, calibration)))


def fit_calibration(
    cases: Sequence[tuple[Sequence[float], float, int | None]],
    source: str = "",
    *,
    smoothing: float = 0.5,
    min_block: int = 1,
    centred: bool = False,
) -> Calibration:
    """The :class:`Calibration` fitted to labelled searches by isotonic regression.

    Each case is one search: its candidates' weights, its prior and which candidate was
    the child (None: none of them was). Every candidate's probability as the weights give
    it (:func:`exclusive`) is paired with whether it was the child; pool-adjacent-violators
    finds the non-decreasing share right that fits them best. Each pooled block's share
    is smoothed by ``smoothing`` pseudo-results each way (a block of 2,000 all right is
    not "certain").

    ``min_block``: blocks with fewer results than this are pooled with their neighbour
    (the sparse middle, where a block of three results would otherwise set the map for a
    whole range of odds). ``centred``: each block is one knot at its results' mean log2
    odds, straight lines between (centred isotonic regression, Oron & Flournoy 2017),
    with the first and last blocks flat out to their ends; otherwise each block is flat
    from its lowest to its highest log2 odds (knots at both ends) and the map is a
    straight line between blocks."""
    points: list[tuple[float, int]] = []
    for weights, prior, right in cases:
        for i, p in enumerate(exclusive(weights, prior)):
            points.append((_clamped_log2_odds(p), int(i == right)))
    if not points:
        raise ValueError("no labelled searches to fit a calibration on")
    knots = _isotonic(points, smoothing=smoothing, min_block=min_block, centred=centred)
    return Calibration(tuple(knots), source)


def fit_calibration_on_output(
    cases: Sequence[tuple[Sequence[float], float, int | None]],
    source: str = "",
    *,
    rounds: int = 4,
    smoothing: float = 0.5,
    min_block: int = 1,
    centred: bool = False,
) -> Calibration:
    """A :class:`Calibration` fitted on what officers are shown: the probabilities after
    the candidates and "none of these" are normalised together, not each candidate's on
    its own.

    :func:`fit_calibration` fits the map on each candidate's probability before the
    normalisation, which then takes some of it away (most where a search has several
    good candidates): the map says how often such a candidate was right, not how often a
    result *shown* at that probability was. Here that first map ``f`` is refined in
    ``rounds``: the shown probabilities ``q = exclusive(weights, prior, f)`` of every
    candidate are paired with whether it was the child, an isotonic map ``g`` of
    ``q`` is fitted on them (the same regression), and ``f`` becomes ``g ∘ f`` (a lone
    candidate's shown probability is ``f`` of its own, so it then reads ``g(q)``: what
    results shown at ``q`` turned out to be). The composed map still rises, so
    candidates keep their order and stay exclusive."""
    calibration = fit_calibration(
        cases, source, smoothing=smoothing, min_block=min_block, centred=centred
    )
    for _ in range(rounds):
        points = [
            (_clamped_log2_odds(q), int(i == right))
            for weights, prior, right in cases
            for i, q in enumerate(exclusive(weights, prior, calibration))
        ]
        outer = Calibration(
            tuple(_isotonic(points, smoothing=smoothing, min_block=min_block, centred=centred))
        )
        calibration = _compose(outer, calibration, source)
    return calibration


def _compose(outer: Calibration, inner: Calibration, source: str) -> Calibration:
    """``outer ∘ inner`` as knots: at ``inner``'s knots and where ``inner`` reaches each of
    ``outer``'s knots, straight lines between (both are straight between their knots, so
    the composition is too), slope one beyond (as both are)."""
    xs = {x for x, _y in inner.knots}
    for target, _y in outer.knots:
        if inner.log2_odds(-200.0) < target <= inner.log2_odds(200.0):
            xs.add(_preimage(inner, target, 80)[1])
    knots: list[tuple[float, float]] = []
    for x in sorted(xs):
        y = outer.log2_odds(inner.log2_odds(x))
        if knots and y < knots[-1][1]:
            y = knots[-1][1]
        # A knot on the straight line through the one before and this one says nothing.
        if len(knots) >= 2:
            (x0, y0), (x1, y1) = knots[-2], knots[-1]
            before, after = (y1 - y0) / (x1 - x0), (y - y1) / (x - x1)
            if abs(before - after) <= 1e-9 * (1.0 + abs(before)):
                knots.pop()
        knots.append((x, y))
    return Calibration(tuple(knots), source)


def _clamped_log2_odds(p: float) -> float:
    x = log2_odds(p) if 0 < p < 1 else (60.0 if p >= 1 else -60.0)
    return max(-60.0, min(60.0, x))


def _isotonic(
    points: list[tuple[float, int]], *, smoothing: float, min_block: int, centred: bool
) -> list[tuple[float, float]]:
    """Knots ``(log2 odds in, log2 odds of the share right)`` of the isotonic regression of
    ``points`` (``(x, right)``); see :func:`fit_calibration`."""
    points = sorted(points)
    # Blocks of [lowest x, highest x, right, count, sum of x], pooled while a block is no
    # more right than the one before it.
    blocks: list[list[float]] = []
    for x, ok in points:
        blocks.append([x, x, float(ok), 1.0, x])
        while len(blocks) > 1 and blocks[-2][2] / blocks[-2][3] >= blocks[-1][2] / blocks[-1][3]:
            _pool(blocks, len(blocks) - 2)
    # Small blocks pooled with the neighbour whose share is nearest (pooling neighbours
    # keeps the shares non-decreasing).
    while len(blocks) > 1:
        small = min(range(len(blocks)), key=lambda i: blocks[i][3])
        if blocks[small][3] >= min_block:
            break
        if small == 0:
            other = 1
        elif small == len(blocks) - 1:
            other = small - 1
        else:
            share = blocks[small][2] / blocks[small][3]
            before = share - blocks[small - 1][2] / blocks[small - 1][3]
            after = blocks[small + 1][2] / blocks[small + 1][3] - share
            other = small - 1 if before <= after else small + 1
        _pool(blocks, min(small, other))
    knots: list[tuple[float, float]] = []
    for k, (lo, hi, right_count, n, total_x) in enumerate(blocks):
        y = math.log2((right_count + smoothing) / (n - right_count + smoothing))
        if centred:
            edges = [total_x / n]
            if k == 0:
                edges.insert(0, lo)
            if k == len(blocks) - 1:
                edges.append(hi)
        else:
            edges = [lo, hi]
        for edge in edges:
            if knots and y < knots[-1][1]:
                y = knots[-1][1]
            if knots and edge <= knots[-1][0]:
                continue
            knots.append((edge, y))
    return knots


def _pool(blocks: list[list[float]], i: int) -> None:
    """Block ``i + 1`` pooled into block ``i``."""
    last = blocks.pop(i + 1)
    blocks[i][1] = last[1]
    for j in (2, 3, 4):
        blocks[i][j] += last[j]


def band(probability: float) -> str:
    """ "strong", "possible" (check before relying on it) or "unlikely"."""
    if probability >= STRONG:
        return "strong"
    if probability >= POSSIBLE:
        return "possible"
    return "unlikely"


def equally_good(weights: Sequence[float], probabilities: Sequence[float]) -> set[int]:
    """Positions of the candidates that match as well as the best one (within
    :data:`TIE_BITS`), when there are at least two and the best is at least POSSIBLE."""
    if len(weights) < 2:
        return set()
    best = max(range(len(weights)), key=lambda i: weights[i])
    if probabilities[best] < POSSIBLE:
        return set()
    tied = {i for i, w in enumerate(weights) if weights[best] - w <= TIE_BITS}
    return tied if len(tied) >= 2 else set()
