"""One-to-one linking optimal within blocks (not greedy), and duplicate clusters."""

from __future__ import annotations

import itertools
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from cmetrack.matching.assign import clusters, hungarian, one_to_one
from cmetrack.matching.bulk import one_to_one as bulk_one_to_one


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_greedy_would_lose_a_true_pair_the_assignment_keeps():
    """A–x 0.95, A–y 0.94, B–x 0.93: greedy keeps A–x and leaves B unlinked; the best
    assignment is A–y and B–x."""
    pairs = [("A", "x", 0.95), ("A", "y", 0.94), ("B", "x", 0.93)]
    got = one_to_one(pairs, threshold=0.5)
    assert sorted(got) == [("A", "y", 0.94), ("B", "x", 0.93)]
    assert sorted(bulk_one_to_one(pairs, threshold=0.5)) == sorted(got)


def test_uncontested_pairs_are_kept_as_they_are():
    pairs = [("A1", "B1", 0.99), ("A2", "B2", 0.8)]
    assert one_to_one(pairs) == [("A1", "B1", 0.99), ("A2", "B2", 0.8)]


def _brute_force(gain: list[list[float]]) -> float:
    n, m = len(gain), len(gain[0])
    best = 0.0
    for cols in itertools.permutations(range(m), n):
        best = max(best, sum(gain[i][j] for i, j in enumerate(cols)))
    return best


@given(
    st.integers(1, 4).flatmap(
        lambda n: st.integers(n, 5).flatmap(
            lambda m: st.lists(
                st.lists(st.floats(0, 50, allow_nan=False), min_size=m, max_size=m),
                min_size=n,
                max_size=n,
            )
        )
    )
)
@settings(max_examples=150, deadline=None)
def test_hungarian_finds_the_best_assignment(gain):
    cols = hungarian(gain)
    assert len(set(cols)) == len(cols)
    total = sum(gain[i][j] for i, j in enumerate(cols))
    assert math.isclose(total, _brute_force(gain), rel_tol=1e-9, abs_tol=1e-9)


pair_lists = st.lists(
    st.tuples(
        st.sampled_from(["a", "b", "c", "d"]),
        st.sampled_from(["w", "x", "y", "z"]),
        st.floats(0.51, 0.999),
    ),
    max_size=10,
    unique_by=lambda t: (t[0], t[1]),
)


@given(pair_lists)
@settings(max_examples=150, deadline=None)
def test_one_to_one_is_one_to_one_and_at_least_as_good_as_greedy(pairs):
    got = one_to_one(pairs, threshold=0.5)
    assert len({a for a, _b, _p in got}) == len(got)
    assert len({b for _a, b, _p in got}) == len(got)
    assert set(got) <= set(pairs)

    def score(chosen: list[tuple[str, str, float]]) -> float:
        return sum(_logit(p) - _logit(0.5) for _a, _b, p in chosen)

    taken_l: set[str] = set()
    taken_r: set[str] = set()
    greedy = []
    for a, b, p in sorted(pairs, key=lambda t: -t[2]):
        if a not in taken_l and b not in taken_r:
            taken_l.add(a)
            taken_r.add(b)
            greedy.append((a, b, p))
    assert score(got) >= score(greedy) - 1e-6


def test_clusters_are_transitive_with_ids_and_reasons():
    pairs = [("3", "7", 0.99), ("7", "9", 0.95), ("20", "21", 0.9)]
    members = clusters(pairs)
    by_cluster: dict[str, list[str]] = {}
    for m in members:
        by_cluster.setdefault(m.cluster, []).append(m.record)
    assert by_cluster == {"C20": ["20", "21"], "C3": ["3", "7", "9"]}
    nine = next(m for m in members if m.record == "9")
    assert (nine.linked_to, nine.probability, nine.size) == ("7", 0.95, 3)
    first = next(m for m in members if m.record == "3")
    assert first.linked_to == ""


@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12), st.floats(0.5, 1)), max_size=15))
@settings(max_examples=150, deadline=None)
def test_every_pair_ends_in_one_cluster(raw):
    pairs = [(str(a), str(b), p) for a, b, p in raw if a != b]
    members = clusters(pairs)
    cluster_of = {m.record: m.cluster for m in members}
    assert len(cluster_of) == len(members)  # each record once
    for a, b, _p in pairs:
        assert cluster_of[a] == cluster_of[b]
    for m in members:
        assert m.size == sum(1 for x in members if x.cluster == m.cluster)
