"""Choosing a school or an authority in a browser test, as a person does: type in the
accessible autocomplete (frontend/src/autocomplete.js) and pick the suggestion."""

from __future__ import annotations

from typing import Any


def choose(page: Any, label: str, option: str, *, exact: bool = False) -> None:
    """Type ``option`` into the autocomplete labelled ``label`` and pick it from the list."""
    from playwright.sync_api import expect

    box = page.get_by_label(label, exact=exact)
    expect(box).to_have_attribute("role", "combobox")  # enhanced, not the plain select
    box.fill(option)
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option)
