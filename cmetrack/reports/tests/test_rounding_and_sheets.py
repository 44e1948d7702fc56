"""Pace rounds halves up, as a spreadsheet does; Excel sheet names are always valid."""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal

import pytest

from cmetrack.reports.services import _xlsx_bytes, sheet_name
from cmetrack.reports.stats import pace_stats, round_half_up


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10.25", 10.3), ("10.35", 10.4), ("10.15", 10.2), ("10.24", 10.2), ("0.05", 0.1)],
)
def test_round_half_up(value: str, expected: float) -> None:
    assert round_half_up(Decimal(value)) == expected


def test_pace_mean_rounds_half_up() -> None:
    # 4 cases: 10 + 10 + 10 + 11 = 41 days, mean 10.25 → 10.3 (round() would give 10.2).
    assert pace_stats({10: 3, 11: 1}).mean == 10.3
    # 20 cases averaging 3.45 → 3.5 (binary floats would make it 3.4).
    assert pace_stats({3: 11, 4: 9}).mean == 3.5


@pytest.mark.parametrize(
    "title",
    [
        "Children missing education: cases",
        "A/B [test] *?\\ with a very long name indeed that goes on",
        "'quoted'",
        ":::",
        "",
    ],
)
def test_sheet_names_are_accepted_by_excel(title: str) -> None:
    name = sheet_name(title)
    assert 1 <= len(name) <= 31
    assert not set(name) & set("[]:*?/\\")
    assert not name.startswith("'")
    assert not name.endswith("'")
    book = _xlsx_bytes(title, ("a",), [("x",)])
    with zipfile.ZipFile(io.BytesIO(book)) as z:
        assert "xl/worksheets/sheet1.xml" in z.namelist()
