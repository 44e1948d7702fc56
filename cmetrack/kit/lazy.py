"""Heavy libraries (DuckDB, NumPy, PyArrow) loaded on first use, not at start-up.

Every ``cmetrack`` command, the web server and the worker load most apps' modules when
Django starts (``CoreConfig.ready()`` reads each app's ``jobs`` module; the importers,
detection and the search services are registered there). DuckDB, NumPy and PyArrow take
most of a second to import and only detection, the importers and the search index use
them, so those modules name them through :func:`module`::

    if TYPE_CHECKING:
        import numpy as np
    else:
        np = lazy.module("numpy")

``np.array(...)`` then imports NumPy the first time it runs; each attribute read once is
then kept on the stand-in, so later reads cost what a module's do (the search's inner
loops read ``np`` attributes).
``cmetrack/detection/tests/test_startup.py`` checks that ``django.setup()`` imports none of them.

Generic: imports nothing of cmetrack.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for module ``name``; imports it at the first attribute read. An attribute
    read is kept in the stand-in's ``__dict__``, so ``__getattr__`` runs once per name."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)  # copy, pickle and the like probing: not the module's
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        value = getattr(module, attribute)
        self.__dict__[attribute] = value
        return value

    def __repr__(self) -> str:
        state = "loaded" if self._module is not None else "not loaded yet"
        return f"<lazy module {self._name!r}, {state}>"


def module(name: str) -> Any:
    """Module ``name``, imported when first used."""
    return LazyModule(name)
