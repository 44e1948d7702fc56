"""The evaluation population is independent of the training generator and produces the
error kinds and rates it declares."""

from __future__ import annotations

import ast
import random
from collections import Counter
from pathlib import Path

import pytest

from cmetrack.matching import evalpop
from cmetrack.rules.upn import is_valid_upn

SOURCE = Path(evalpop.__file__).read_text(encoding="utf-8")


def test_it_shares_nothing_with_the_generator_the_model_learnt_from():
    imported = {
        node.module or ""
        for node in ast.walk(ast.parse(SOURCE))
        if isinstance(node, ast.ImportFrom)
    } | {
        alias.name
        for node in ast.walk(ast.parse(SOURCE))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not any("synthetic" in m or "normalise" in m for m in imported)
    # It reads no file: its name lists and variant pairs are its own.
    assert "DATA_DIR" not in SOURCE
    assert "read_text" not in SOURCE
    assert "open(" not in SOURCE


def test_families_twins_and_valid_upns():
    children = evalpop.families(5000, seed=3)
    assert len(children) == 5000
    assert all(is_valid_upn(c.upn) for c in children)
    assert len({c.upn for c in children}) == len(children)
    twins = [c for c in children if c.twin_of]
    assert 20 <= len(twins) <= 200
    assert any(c.sex != next(x for x in children if x.id == c.twin_of).sex for c in twins)


@pytest.mark.parametrize("kind", list(evalpop.ERROR_KINDS))
def test_every_kind_changes_what_it_says(kind):
    rng = random.Random(5)
    children = evalpop.families(400, seed=5)
    changed = [evalpop.corrupt(rng, c, kind) for c in children]
    applied = [(c, x) for c, x in zip(children, changed, strict=True) if x is not None]
    assert applied, kind
    for before, after in applied[:50]:
        assert after != before


def test_typos_are_one_edit_four_times_in_five():
    from cmetrack.matching.normalise import within_one_edit

    rng = random.Random(9)
    words = ["Jennifer", "Christopher", "Isabella", "Mohammed", "Sebastian"] * 200
    typed = [(w.lower(), evalpop.typo(rng, w).lower()) for w in words]
    one = sum(within_one_edit(a, b) for a, b in typed) / len(typed)
    assert all(a != b for a, b in typed)
    assert 0.7 <= one <= 0.9


def test_snapshots_move_families_together_at_the_declared_rates():
    first, second, kinds = evalpop.snapshots(20_000, seed=11)
    by_id = {c.id: c for c in first}
    moved: Counter[int] = Counter()
    for c in second:
        if c.id in by_id and "moved" in kinds[c.id]:
            moved[c.family] += 1
    families = {c.family for c in first}
    assert 0.4 <= len(moved) / len(families) <= 0.5
    # every child of a moved family has the same new address
    new_addresses: dict[int, set[str]] = {}
    for c in second:
        if c.id in by_id and "moved" in kinds[c.id]:
            new_addresses.setdefault(c.family, set()).add(c.address)
    assert all(len(a) == 1 for a in new_addresses.values())
    counts = Counter(k for v in kinds.values() for k in v)
    n = len(kinds)
    forename = sum(counts[k] for k in evalpop.FORENAME_KINDS) / n
    surname = sum(counts[k] for k in evalpop.SURNAME_KINDS) / n
    assert abs(forename - evalpop.FORENAME_DISAGREE) < 0.02
    assert abs(surname - evalpop.SURNAME_DISAGREE) < 0.03
