"""Detection reads the rolls from the database only when they changed: otherwise from the
Parquet copy the last detection kept (a day's increment then reads no roll)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from cmetrack.audit.services import Actor
from cmetrack.detection import engine, grids, importers, services
from cmetrack.detection.importers import ROLL_COLUMNS
from cmetrack.registers.models import RollEntry

from .factories import make_upn, school, write_csv

SYSTEM = Actor.system("tests")
REST = ["", "Amira", "Khan", "", "", "2014-05-01", "F", "", "", "6", "", "C"]


def _roll(tmp_path: Path, name: str, upns: list[str], taken_on: date, given: str = "Amira") -> None:
    rows = [["9992001", upn, "", given, *REST[2:]] for upn in upns]
    run = importers.roll_import(
        actor=SYSTEM,
        path=write_csv(tmp_path / name, ROLL_COLUMNS, rows),
        file_name=name,
        taken_on=taken_on,
    )
    assert run.errors == []


def _rolls(reads: list[int]) -> list[tuple[Any, ...]]:
    con = engine.connect(threads=1)
    grids.register_table(con, "rolls", services._rolls_table())
    rows: list[tuple[Any, ...]] = con.execute(
        "SELECT laestab, taken_on, upn, given, family, dob, nc_year FROM rolls ORDER BY ALL"
    ).fetchall()
    con.close()
    reads.append(len(rows))
    return rows


@pytest.mark.django_db
def test_the_rolls_are_read_again_only_when_a_roll_changed(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.VAR_DIR = tmp_path / "var"
    school(estab="2001")
    from_database: list[int] = []
    original = services._rolls_from_database

    def counted() -> Any:
        from_database.append(1)
        return original()

    monkeypatch.setattr(services, "_rolls_from_database", counted)
    seen: list[int] = []
    _roll(tmp_path, "a.csv", [make_upn(1), make_upn(2)], date(2025, 9, 5))
    first = _rolls(seen)
    assert sorted(r[2] for r in first) == sorted([make_upn(1), make_upn(2)])
    assert first[0][:2] == ("9992001", date(2025, 9, 5))
    assert _rolls(seen) == first  # unchanged: from the kept copy
    assert from_database == [1]
    assert len(list(services._rolls_cache_dir().glob("rolls-*.parquet"))) == 1

    # The same roll sent again with a name corrected: replaced whole, so read again.
    _roll(tmp_path, "b.csv", [make_upn(1), make_upn(2)], date(2025, 9, 5), given="Amina")
    assert {r[3] for r in _rolls(seen)} == {"Amina"}
    assert from_database == [1, 1]
    # A later roll: read again; the old copy is removed.
    _roll(tmp_path, "c.csv", [make_upn(1)], date(2025, 10, 2))
    assert len(_rolls(seen)) == 3
    assert from_database == [1, 1, 1]
    assert len(list(services._rolls_cache_dir().glob("rolls-*.parquet"))) == 1
    # An entry removed (the count changes): read again.
    RollEntry.objects.filter(upn=make_upn(2)).delete()
    assert len(_rolls(seen)) == 2  # the first pupil on both rolls
    assert from_database == [1, 1, 1, 1]


@pytest.mark.django_db
def test_an_unreadable_copy_is_read_from_the_database(tmp_path: Path, settings: Any) -> None:
    settings.VAR_DIR = tmp_path / "var"
    school(estab="2001")
    _roll(tmp_path, "a.csv", [make_upn(1)], date(2025, 9, 5))
    seen: list[int] = []
    _rolls(seen)
    (cached,) = services._rolls_cache_dir().glob("rolls-*.parquet")
    cached.write_bytes(b"not parquet")
    assert [r[2] for r in _rolls(seen)] == [make_upn(1)]
