"""From scored pairs to decisions: one-to-one links between two files, optimal within
each block of pairs that compete, and clusters of one file's duplicates.

**One to one.** When two files each list a child once, a record has at most one true
partner. Taking the most probable pair first (greedy) can be wrong when pairs compete: if
A–x is 0.95, A–y 0.94 and B–x 0.93, greedy keeps A–x and loses B, where A–y with B–x
explains both. Here the pairs are split into blocks (connected components: records
linked, directly or through others, by some pair above the threshold), and within each
block the set of pairs with the greatest total log-likelihood ratio against the threshold
is chosen (the assignment problem, solved exactly by the Hungarian algorithm,
Kuhn 1955 / Munkres 1957, written here in pure Python: scipy is not a dependency). Blocks
are tiny in practice (a household's two or three children); one larger than
:data:`MAX_EXACT_BLOCK` records a side falls back to greedy, and :func:`one_to_one`
reports how many did.

**Clusters.** Deduplicating one file gives pairs; a child recorded three times is three
pairs. :func:`clusters` joins them transitively (union-find) and gives each cluster an id
(``C`` and the lowest record id in it, so it is stable between runs), its members and, for
each member, the pair that brought it in with its probability.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

#: Blocks with more records than this on either side are matched greedily (an exact
#: assignment costs the cube of the block's size).
MAX_EXACT_BLOCK = 300


def _logit(p: float) -> float:
    p = min(max(p, 1e-15), 1 - 1e-15)
    return math.log(p / (1 - p))


def hungarian(gain: Sequence[Sequence[float]]) -> list[int]:
    """For a rectangular matrix of gains (rows ≤ columns), the column given to each row
    so that the total gain is greatest (each column used at most once). O(n²·m)."""
    n = len(gain)
    if n == 0:
        return []
    m = len(gain[0])
    if n > m:
        raise ValueError("hungarian needs no more rows than columns")
    big = max((abs(x) for row in gain for x in row), default=0.0) + 1.0
    # Minimise cost = big - gain (shortest augmenting paths with potentials).
    inf = float("inf")
    u = [0.0] * (n + 1)
    v = [0.0] * (m + 1)
    match = [0] * (m + 1)  # match[j]: the row (1-based) holding column j, 0 if none
    way = [0] * (m + 1)
    for i in range(1, n + 1):
        match[0] = i
        j0 = 0
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = match[j0]
            delta = inf
            j1 = 0
            row = gain[i0 - 1]
            for j in range(1, m + 1):
                if used[j]:
                    continue
                cur = (big - row[j - 1]) - u[i0] - v[j]
                if cur < minv[j]:
                    minv[j] = cur
                    way[j] = j0
                if minv[j] < delta:
                    delta = minv[j]
                    j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[match[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if match[j0] == 0:
                break
        while True:
            j1 = way[j0]
            match[j0] = match[j1]
            j0 = j1
            if j0 == 0:
                break
    out = [-1] * n
    for j in range(1, m + 1):
        if match[j]:
            out[match[j] - 1] = j - 1
    return out


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        parent.setdefault(x, x)
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra


@dataclass
class OneToOneStats:
    blocks: int = 0
    contested: int = 0  # blocks with more than one pair
    greedy: int = 0  # blocks too large for the exact assignment


def _greedy(pairs: Sequence[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    taken_left: set[str] = set()
    taken_right: set[str] = set()
    out = []
    for a, b, p in sorted(pairs, key=lambda t: (-t[2], t[0], t[1])):
        if a in taken_left or b in taken_right:
            continue
        taken_left.add(a)
        taken_right.add(b)
        out.append((a, b, p))
    return out


def one_to_one(
    pairs: Sequence[tuple[str, str, float]],
    *,
    threshold: float = 0.0,
    stats: OneToOneStats | None = None,
) -> list[tuple[str, str, float]]:
    """Each left and each right record in at most one pair, the pairs chosen in each
    block to maximise the total log-likelihood ratio against ``threshold`` (every pair
    kept gains; see the module docstring). Most probable first in the result."""
    stats = stats if stats is not None else OneToOneStats()
    uf = _UnionFind()
    for a, b, _p in pairs:
        uf.union("L" + a, "R" + b)
    blocks: dict[str, list[tuple[str, str, float]]] = {}
    for pair in pairs:
        blocks.setdefault(uf.find("L" + pair[0]), []).append(pair)
    floor = _logit(threshold) if threshold > 0 else _logit(1e-12)
    out: list[tuple[str, str, float]] = []
    for block in blocks.values():
        stats.blocks += 1
        if len(block) == 1:
            out.extend(block)
            continue
        stats.contested += 1
        lefts = sorted({a for a, _b, _p in block})
        rights = sorted({b for _a, b, _p in block})
        if max(len(lefts), len(rights)) > MAX_EXACT_BLOCK:
            stats.greedy += 1
            out.extend(_greedy(block))
            continue
        transpose = len(lefts) > len(rights)
        rows, cols = (rights, lefts) if transpose else (lefts, rights)
        r_at = {x: i for i, x in enumerate(rows)}
        c_at = {x: j for j, x in enumerate(cols)}
        gain = [[0.0] * len(cols) for _ in rows]
        prob: dict[tuple[int, int], float] = {}
        for a, b, p in block:
            i, j = (r_at[b], c_at[a]) if transpose else (r_at[a], c_at[b])
            # Every pair above the threshold gains something; none gains less than a
            # hair, so a pair is never dropped for nothing.
            gain[i][j] = max(_logit(p) - floor, 1e-9)
            prob[(i, j)] = p
        for i, j in enumerate(hungarian(gain)):
            if j >= 0 and (i, j) in prob:
                a, b = (cols[j], rows[i]) if transpose else (rows[i], cols[j])
                out.append((a, b, prob[(i, j)]))
    return sorted(out, key=lambda t: (-t[2], t[0], t[1]))


@dataclass(frozen=True)
class ClusterMember:
    cluster: str  # "C" + the lowest record id of the cluster
    record: str
    linked_to: str  # the member whose pair brought this one in ("" for the first)
    probability: float  # that pair's probability (1.0 for the first)
    size: int


def clusters(pairs: Sequence[tuple[str, str, float]]) -> list[ClusterMember]:
    """Duplicate pairs of one file joined transitively into clusters: every record in a
    pair is in exactly one cluster. For each member, the strongest pair joining it to a
    member already placed (a maximum spanning tree, grown from the lowest id) is its
    reason. Sorted by cluster, then by how the cluster was grown."""
    uf = _UnionFind()
    for a, b, _p in pairs:
        uf.union(a, b)
    edges: dict[str, list[tuple[str, str, float]]] = {}
    for a, b, p in pairs:
        edges.setdefault(uf.find(a), []).append((a, b, p))
    out: list[ClusterMember] = []
    for root in sorted(edges, key=lambda r: r):
        block = edges[root]
        members = sorted({x for a, b, _p in block for x in (a, b)})
        first = members[0]
        cluster_id = f"C{first}"
        neighbours: dict[str, list[tuple[float, str]]] = {}
        for a, b, p in block:
            neighbours.setdefault(a, []).append((p, b))
            neighbours.setdefault(b, []).append((p, a))
        placed = {first}
        out.append(ClusterMember(cluster_id, first, "", 1.0, len(members)))
        while len(placed) < len(members):
            # The strongest pair from a placed member to one not yet placed (ties: the
            # lower ids first).
            best = min(
                (-p, y, x) for x in placed for p, y in neighbours.get(x, ()) if y not in placed
            )
            p, y, x = -best[0], best[1], best[2]
            placed.add(y)
            out.append(ClusterMember(cluster_id, y, x, p, len(members)))
    return out
