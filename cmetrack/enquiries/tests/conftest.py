"""Two authorities and a case about a child with a restricted address."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import LocalAuthorityFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.organisations.models import LocalAuthority
from cmetrack.people.models import (
    Address,
    ChildAlias,
    ChildVulnerability,
    ParentCarer,
)
from cmetrack.people.tests.factories import ChildFactory

RESTRICTED_LINE = "7 Hidden Refuge Close"
RESTRICTED_POSTCODE = "ZZ9 9ZZ"
PREVIOUS_LINE = "22 Old Mill Lane"


def make_authority(code: str, name: str, **contact: Any) -> LocalAuthority:
    la, _ = LocalAuthority.objects.get_or_create(
        code=code, defaults={"name": name, "country": "England"}
    )
    defaults = {
        "cme_contact_name": f"Contact at {name}",
        "cme_contact_role": "CME lead",
        "cme_contact_email": f"cme@{code}.gov.uk",
        "cme_contact_phone": "01234 567890",
        "contact_confirmed_on": timezone.localdate() - dt.timedelta(days=30),
    }
    defaults.update(contact)
    for key, value in defaults.items():
        setattr(la, key, value)
    la.save()
    return la


@pytest.fixture
def home_la(db: None) -> LocalAuthority:
    return LocalAuthorityFactory.create()  # code 999, the authority running the service


@pytest.fixture
def other_la(db: None) -> LocalAuthority:
    return make_authority("202", "Camden")


@pytest.fixture
def third_la(db: None) -> LocalAuthority:
    return make_authority("203", "Greenwich")


@pytest.fixture
def officer(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.CME_OFFICER, full_name="Olu Officer")


@pytest.fixture
def manager(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.CME_MANAGER, full_name="Mo Manager")


@pytest.fixture
def actor(officer: Any) -> Actor:
    return Actor(user=officer, ip_address="192.0.2.1")


@pytest.fixture
def case(db: None) -> Case:
    """A tracking case about a child whose current address is restricted."""
    child = ChildFactory.create(
        legal_given_names="Amira",
        legal_family_name="Testchild",
        child_protection_plan=True,
        sen_provision="K",
    )
    Address.objects.create(
        child=child,
        line1=RESTRICTED_LINE,
        town="Safeton",
        postcode=RESTRICTED_POSTCODE,
        date_from=dt.date(2026, 1, 1),
        is_restricted=True,
    )
    Address.objects.create(
        child=child,
        line1=PREVIOUS_LINE,
        town="Exampleton",
        postcode="EX1 2AB",
        date_from=dt.date(2020, 1, 1),
        date_to=dt.date(2025, 12, 31),
    )
    ParentCarer.objects.create(
        child=child,
        given_names="Sara",
        family_name="Testchild",
        relationship="mother",
        parental_responsibility=True,
        address=f"{RESTRICTED_LINE}, Safeton {RESTRICTED_POSTCODE}",
        phone="07700 900123",
    )
    ChildAlias.objects.create(child=child, alias_type="known_as", given_names="Mira")
    ChildVulnerability.objects.create(child=child, group="privately_fostered")
    return case_in_state(CaseState.TRACKING, child=child)
