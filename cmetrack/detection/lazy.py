"""Heavy libraries (DuckDB, NumPy, PyArrow) loaded on first use, not at start-up.

Every ``cmetrack`` command, the web server and the worker load the detection app's
modules when Django starts (``CoreConfig.ready()`` reads each app's ``jobs`` module, the
importers and detection are registered there). DuckDB, NumPy and PyArrow take most of a
second to import and only detection and the importers use them, so those modules name
them through :func:`module`::

    if TYPE_CHECKING:
        import numpy as np
    else:
        np = lazy.module("numpy")

``np.array(...)`` then imports NumPy the first time it runs.
``cmetrack/detection/tests/test_startup.py`` checks that ``django.setup()`` imports none of them.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for module ``name``; imports it at the first attribute read."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r}, {state}>"


def module(name: str) -> Any:
    """Module ``name``, imported when first used."""
    return LazyModule(name)
