"""Detection's extension points: what the areas above it add to the imports.

The importers never import an area above detection. An area registers here from its
``extensions`` module (loaded by ``CoreConfig.ready()``):

- **Deletion checks** (:func:`deletion_check_register`): rules a deletion return must
  pass, asked for every row before anything is saved (the Virtual School: a child in care
  stays on roll until a new school admits them).
- **After a roll import** (:func:`after_roll_import_register`): work that follows a
  school roll's import (transfers: new joiners looked for in the lost-pupil area).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cmetrack.audit.services import Actor


@dataclass(frozen=True)
class DeletionToCheck:
    """One deletion return as parsed (CSV row, school form or API)."""

    line: int
    upn: str
    ground: str
    deleted_on: dt.date | None
    new_school_named: bool
    new_school_start: dt.date | None


#: ``check(rows) -> [(line, message)]`` for the rows it refuses.
DeletionCheck = Callable[[Sequence[DeletionToCheck]], list[tuple[int, str]]]

_deletion_checks: list[DeletionCheck] = []
_after_roll_import: list[Callable[[Actor], object]] = []


def deletion_check_register(check: DeletionCheck) -> None:
    if check not in _deletion_checks:
        _deletion_checks.append(check)


def deletion_refusals(rows: Sequence[DeletionToCheck]) -> list[tuple[int, str]]:
    """Every registered check's refusals of ``rows``, in the order registered."""
    out: list[tuple[int, str]] = []
    for check in _deletion_checks:
        out.extend(check(rows))
    return out


def after_roll_import_register(hook: Callable[[Actor], object]) -> None:
    if hook not in _after_roll_import:
        _after_roll_import.append(hook)


def after_roll_import_run(actor: Actor) -> None:
    for hook in _after_roll_import:
        hook(actor)
