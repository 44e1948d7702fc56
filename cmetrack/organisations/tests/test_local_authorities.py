"""The directory of English and Welsh local authorities, loaded from the shipped CSV."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re

import pytest

from cmetrack.organisations import services
from cmetrack.organisations.models import Country, LocalAuthority
from cmetrack.organisations.services import local_authorities_sync, shipped_local_authorities

pytestmark = pytest.mark.django_db


def test_the_migration_loaded_every_authority():
    assert LocalAuthority.objects.filter(country=Country.ENGLAND).count() == 153
    assert LocalAuthority.objects.filter(country=Country.WALES).count() == 22
    assert LocalAuthority.objects.count() == 175


def test_codes_are_unique_three_digit_numbers():
    codes = list(LocalAuthority.objects.values_list("code", flat=True))
    assert all(re.fullmatch(r"[0-9]{3}", code) for code in codes), codes
    assert len(set(codes)) == len(codes)


def test_names_are_unique_and_clean():
    names = list(LocalAuthority.objects.values_list("name", flat=True))
    assert len(set(names)) == len(names)
    assert all(name and name == name.strip() for name in names)


def test_database_matches_the_shipped_file():
    shipped = {(r.code, r.name, r.country, r.region) for r in shipped_local_authorities()}
    stored = set(LocalAuthority.objects.values_list("code", "name", "country", "region"))
    assert stored == shipped
    assert len(shipped) == 175


@pytest.mark.parametrize(
    ("code", "name", "country", "region"),
    [
        ("886", "Kent", "England", "South East"),
        ("330", "Birmingham", "England", "West Midlands"),
        ("202", "Camden", "England", "London"),
        ("201", "City of London", "England", "London"),
        ("801", "Bristol, City of", "England", "South West"),  # a comma inside quotes
        ("839", "Bournemouth, Christchurch and Poole", "England", "South West"),
        ("942", "Cumberland", "England", "North West"),  # from April 2023
        ("681", "Cardiff", "Wales", "Wales"),
    ],
)
def test_spot_checks(code, name, country, region):
    la = LocalAuthority.objects.get(code=code)
    assert (la.name, la.country, la.region) == (name, country, region)
    assert str(la) == f"{name} ({code})"
    assert la.cme_contact_email == ""


@pytest.mark.parametrize(
    ("code", "listed"),
    [
        ("909", False),  # Cumbria, replaced in April 2023 by
        ("942", True),  # Cumberland and
        ("943", True),  # Westmorland and Furness
        ("928", False),  # Northamptonshire, replaced in April 2021 by
        ("940", True),  # North Northamptonshire and
        ("941", True),  # West Northamptonshire
        ("835", False),  # Dorset's old code; Dorset is 838 since 2019
        ("838", True),
    ],
)
def test_current_authorities_only(code, listed):
    assert LocalAuthority.objects.filter(code=code).exists() is listed


def test_sync_is_idempotent():
    assert local_authorities_sync() == 0  # the migration already loaded everything
    assert local_authorities_sync() == 0
    assert LocalAuthority.objects.count() == 175


def test_sync_restores_names_and_leaves_contacts_alone():
    kent = LocalAuthority.objects.get(code="886")
    contact = {
        "cme_contact_name": "Pat Example",
        "cme_contact_role": "CME lead",
        "cme_contact_email": "cme@kent.example.gov.uk",
        "cme_contact_phone": "03000 000000",
        "contact_confirmed_on": dt.date(2026, 9, 1),
    }
    LocalAuthority.objects.filter(pk=kent.pk).update(
        name="Kent County", region="Somewhere", **contact
    )
    LocalAuthority.objects.filter(code="681").update(country=Country.ENGLAND)

    assert local_authorities_sync() == 2
    kent.refresh_from_db()
    assert (kent.name, kent.region) == ("Kent", "South East")
    for field, value in contact.items():
        assert getattr(kent, field) == value
    assert LocalAuthority.objects.get(code="681").country == Country.WALES
    assert local_authorities_sync() == 0


def test_sync_inserts_missing_and_keeps_extra_authorities():
    LocalAuthority.objects.filter(code__in=["202", "681"]).delete()
    LocalAuthority.objects.create(code="999", name="Exampleshire", country=Country.ENGLAND)
    assert local_authorities_sync() == 2
    assert LocalAuthority.objects.get(code="202").name == "Camden"
    assert LocalAuthority.objects.get(code="681").name == "Cardiff"
    assert LocalAuthority.objects.filter(code="999").exists()  # not the shipped list's to remove
    assert LocalAuthority.objects.count() == 176


@pytest.mark.parametrize(
    "row",
    [
        "88,Short,England,South East",
        "8860,Long,England,South East",
        "ABC,Letters,England,South East",
        "123,Edinburgh,Scotland,Scotland",
        "124,Lowercase,england,South East",
    ],
)
def test_a_bad_shipped_row_is_refused_with_its_line(monkeypatch, tmp_path, row):
    data = tmp_path / "data"
    data.mkdir()
    (data / services.LOCAL_AUTHORITIES_CSV).write_text(
        f"code,name,country,region\n201,City of London,England,London\n{row}\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(importlib.resources, "files", lambda package: tmp_path)
    with pytest.raises(ValueError, match=r"local_authorities\.csv line 3: bad row"):
        shipped_local_authorities()
    with pytest.raises(ValueError, match="line 3"):
        local_authorities_sync()
    assert LocalAuthority.objects.count() == 175  # nothing half-written
