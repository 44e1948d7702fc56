"""Writes of organisations and of the local-authority reference data."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

from django.db import transaction

from .models import Country, LocalAuthority

LOCAL_AUTHORITIES_CSV = "local_authorities.csv"


@dataclass(frozen=True)
class LocalAuthorityRow:
    code: str
    name: str
    country: str
    region: str


def shipped_local_authorities() -> list[LocalAuthorityRow]:
    """The English and Welsh authorities shipped with the app (data/local_authorities.csv)."""
    text = (
        resources.files("cmetrack.organisations")
        .joinpath("data", LOCAL_AUTHORITIES_CSV)
        .read_text(encoding="utf-8")
    )
    rows = []
    for line_number, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        code = row["code"].strip()
        if len(code) != 3 or not code.isdigit() or row["country"] not in Country.values:
            raise ValueError(f"{LOCAL_AUTHORITIES_CSV} line {line_number}: bad row {row!r}")
        rows.append(LocalAuthorityRow(code, row["name"].strip(), row["country"], row["region"]))
    return rows


@transaction.atomic
def local_authorities_sync() -> int:
    """Insert or update the shipped authorities by code; contact details are left alone.

    Idempotent: running it twice changes nothing the second time. Returns rows touched.
    """
    existing = {la.code: la for la in LocalAuthority.objects.all()}
    touched = 0
    for row in shipped_local_authorities():
        current = existing.get(row.code)
        if current is None:
            LocalAuthority.objects.create(
                code=row.code, name=row.name, country=row.country, region=row.region
            )
            touched += 1
        elif (current.name, current.country, current.region) != (row.name, row.country, row.region):
            current.name, current.country, current.region = row.name, row.country, row.region
            current.save(update_fields=["name", "country", "region"])
            touched += 1
    return touched
