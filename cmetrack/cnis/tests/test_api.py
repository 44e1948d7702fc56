"""The register's API: 404 while off; the CME team only when on."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.services import home_education_record_add

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture(autouse=True)
def on_list(today: dt.date) -> None:
    child = ChildFactory.create(dob=dt.date(today.year - 8, 5, 5), legal_family_name="Okafor")
    home_education_record_add(actor=Actor.system("t"), child=child, started_on=today)


def test_off(make_user, settings):
    settings.CMETRACK_CNIS_ENABLED = False
    client = _client(make_user(Role.CME_MANAGER))
    assert client.get("/api/v1/children-not-in-school").status_code == 404
    assert client.get("/api/v1/children-not-in-school/completeness").status_code == 404


def test_on(make_user, settings):
    settings.CMETRACK_CNIS_ENABLED = True
    client = _client(make_user(Role.CME_OFFICER))
    entries = client.get("/api/v1/children-not-in-school").json()
    assert [e["name"].split()[-1] for e in entries] == ["Okafor"]
    assert entries[0]["bases"] == ["Home educated"]
    assert "Home address" in entries[0]["missing"]
    report = client.get("/api/v1/children-not-in-school/completeness").json()
    assert report["total"] == 1
    assert report["complete"] == 0
    assert report["by_item"]["Home address"] == 1
    assert (
        _client(make_user(Role.SCHOOL_USER)).get("/api/v1/children-not-in-school").status_code
        == 403
    )
