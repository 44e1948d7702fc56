"""Words the GOV.UK way."""

from __future__ import annotations

import pytest

from cmetrack.kit.words import lower_label, plural, with_article


@pytest.mark.parametrize(
    ("count", "expected"), [(0, "0 rows"), (1, "1 row"), (2, "2 rows"), (1250, "1,250 rows")]
)
def test_plural(count: int, expected: str) -> None:
    assert plural(count, "row") == expected


def test_plural_with_an_irregular_form() -> None:
    assert plural(2, "child", "children") == "2 children"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("SLO investigation", "SLO investigation"),
        ("In provision", "in provision"),
        ("Not CME", "not CME"),
        ("A", "a"),
    ],
)
def test_lower_label_keeps_acronyms(label: str, expected: str) -> None:
    assert lower_label(label) == expected


@pytest.mark.parametrize(
    ("noun", "expected"),
    [
        ("agency referral", "an agency referral"),
        ("school referral", "a school referral"),
        ("other authority", "an other authority"),
        ("unit", "a unit"),
        ("upper school", "an upper school"),
        ("SLO", "an SLO"),
        ("CME officer", "a CME officer"),
        ("one-off visit", "a one-off visit"),
    ],
)
def test_with_article(noun: str, expected: str) -> None:
    assert with_article(noun) == expected
