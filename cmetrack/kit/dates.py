"""Dates the GOV.UK way, for presenters, letters and the Jinja2 ``govuk_date`` filter."""

from __future__ import annotations

from typing import Any


def govuk_date(value: Any, default: str = "") -> str:
    """A date the GOV.UK way: 5 January 2026."""
    if not value:
        return default
    return f"{value.day} {value:%B %Y}"
