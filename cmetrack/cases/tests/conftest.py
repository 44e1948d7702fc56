"""Fixtures for the case tests: people in each role, a school, and cases in each state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import LocalAuthorityFactory, SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.organisations.models import LocalAuthority, Organisation


@pytest.fixture(autouse=True)
def _no_second_factor(settings: Any) -> None:
    """These tests are about cases; two-factor sign-in is tested by accounts."""
    settings.CMETRACK_REQUIRE_2FA = False


@pytest.fixture
def school(db: None) -> Organisation:
    return SchoolFactory.create(name="Oakfield Primary School")


@pytest.fixture
def other_la(db: None) -> LocalAuthority:
    return LocalAuthorityFactory.create(code="888", name="Otherborough Council")


@pytest.fixture
def officer(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.CME_OFFICER, full_name="Olu Officer")


@pytest.fixture
def manager(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.CME_MANAGER, full_name="Mina Manager")


@pytest.fixture
def actor(officer: Any) -> Actor:
    return Actor(user=officer, ip_address="192.0.2.1")


@pytest.fixture
def make_case(db: None, school: Organisation) -> Callable[..., Case]:
    def make(state: CaseState = CaseState.RECEIVED, **kwargs: Any) -> Case:
        kwargs.setdefault("school", school)
        return case_in_state(state, **kwargs)

    return make
