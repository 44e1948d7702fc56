"""The selects of schools and local authorities are marked for the accessible autocomplete
(``data-app-autocomplete``) and are plain selects in the HTML, so a page works without
JavaScript; other selects are not marked."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.organisations.models import LocalAuthority

pytestmark = pytest.mark.django_db


def select_tag(page: str, name: str) -> str:
    found = re.search(rf'<select\b[^>]*\bname="{name}"[^>]*>', page)
    assert found, f"no select named {name}"
    return found.group(0)


def test_schools_and_authorities_are_marked_and_other_selects_are_not(
    client: Client, make_user: Any
) -> None:
    SchoolFactory.create(name="Hillside Primary")
    LocalAuthority.objects.get_or_create(code="202", defaults={"name": "Camden"})
    client.force_login(make_user(Role.CME_OFFICER))
    page = client.get("/home-education/add/").content.decode()
    assert "data-app-autocomplete" in select_tag(page, "previous_school")
    assert "Hillside Primary</option>" in page
    page = client.get("/enquiries/incoming/new/").content.decode()
    assert "data-app-autocomplete" in select_tag(page, "from_la")
    page = client.get("/alerts/").content.decode()
    assert "data-app-autocomplete" in select_tag(page, "school")
    assert "data-app-autocomplete" not in select_tag(page, "rule")
