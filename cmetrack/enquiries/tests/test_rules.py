"""Working days (bank holidays of England and Wales) and the published schema."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cmetrack.enquiries.documents import DocumentError, parse_document, schema_text
from cmetrack.rules.working_days import (
    add_working_days,
    bank_holidays,
    easter_sunday,
    is_working_day,
    working_days_between,
)

D = dt.date


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        (2025, {D(2025, 1, 1), D(2025, 4, 18), D(2025, 4, 21), D(2025, 5, 5), D(2025, 5, 26),
                D(2025, 8, 25), D(2025, 12, 25), D(2025, 12, 26)}),
        (2026, {D(2026, 1, 1), D(2026, 4, 3), D(2026, 4, 6), D(2026, 5, 4), D(2026, 5, 25),
                D(2026, 8, 31), D(2026, 12, 25), D(2026, 12, 28)}),
        (2027, {D(2027, 1, 1), D(2027, 3, 26), D(2027, 3, 29), D(2027, 5, 3), D(2027, 5, 31),
                D(2027, 8, 30), D(2027, 12, 27), D(2027, 12, 28)}),
        (2022, {D(2022, 1, 3), D(2022, 4, 15), D(2022, 4, 18), D(2022, 5, 2), D(2022, 6, 2),
                D(2022, 6, 3), D(2022, 8, 29), D(2022, 9, 19), D(2022, 12, 26), D(2022, 12, 27)}),
        (2023, {D(2023, 1, 2), D(2023, 4, 7), D(2023, 4, 10), D(2023, 5, 1), D(2023, 5, 8),
                D(2023, 5, 29), D(2023, 8, 28), D(2023, 12, 25), D(2023, 12, 26)}),
    ],
)  # fmt: skip
def test_bank_holidays_of_england_and_wales(year, expected):
    assert bank_holidays(year) == expected


def test_easter():
    assert [easter_sunday(y) for y in (2024, 2025, 2026, 2038)] == [
        D(2024, 3, 31), D(2025, 4, 20), D(2026, 4, 5), D(2038, 4, 25)
    ]  # fmt: skip


def test_adding_working_days_across_a_weekend_and_a_bank_holiday():
    assert add_working_days(D(2026, 8, 28), 1) == D(2026, 9, 1)  # Fri, then Mon 31 Aug holiday
    assert add_working_days(D(2026, 8, 29), 0) == D(2026, 9, 1)
    assert add_working_days(D(2026, 8, 27), 1, extra=[D(2026, 8, 28)]) == D(2026, 9, 1)


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 12, 31)), st.integers(0, 60))
def test_adding_then_counting_gives_the_same_number(start, count):
    end = add_working_days(start, count)
    assert is_working_day(end)
    if count:
        assert working_days_between(start, end) == count


def test_published_schema_is_up_to_date():
    published = Path(__file__).resolve().parents[3] / "docs" / "enquiry-schema.json"
    assert published.read_text(encoding="utf-8") == schema_text(), (
        "docs/enquiry-schema.json is out of date: regenerate it from "
        "cmetrack.enquiries.documents.schema_text()"
    )


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"not json", "The file is not valid JSON"),
        (b"[]", "one JSON object"),
        (b'{"document_type": "other"}', 'must be "cme_enquiry" or "cme_enquiry_reply"'),
        (b"\xff\xfe", "JSON text (UTF-8)"),
    ],
)
def test_bad_files_are_explained(raw, problem):
    with pytest.raises(DocumentError) as exc:
        parse_document(raw)
    assert problem in exc.value.problems[0]
