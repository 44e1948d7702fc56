"""Small task functions of the jobs app itself (run by the worker)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.module_loading import import_string


def on_weekdays(func: str) -> Any:
    """Run ``func`` (a dotted path) on Monday to Friday, local date; skip weekends."""
    if timezone.localdate().weekday() >= 5:
        return "skipped: weekend"
    return import_string(func)()
