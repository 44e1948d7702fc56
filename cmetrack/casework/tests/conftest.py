"""The address-search sources come from a data migration. Tests that use a transactional
database flush every table when they finish (pytest-django runs them last), so the
sources are put back, as the migration loads them, before each test here."""

from __future__ import annotations

import importlib

import pytest

from cmetrack.casework.models import AddressSearchSource

_seed = importlib.import_module("cmetrack.casework.migrations.0002_address_search_sources")


@pytest.fixture(autouse=True)
def address_search_sources(db: None) -> None:
    if not AddressSearchSource.objects.exists():
        for order, (name, description) in enumerate(_seed.SOURCES, start=1):
            AddressSearchSource.objects.create(name=name, description=description, order=order * 10)
