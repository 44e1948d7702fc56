"""Fixtures for the transfer tests: three schools in LA 999 and users of each role."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor

DATA = Path(__file__).parent / "data"
XXX_FILE = "9992001_CTF_XXXXXXX_001.xml"
MMM_FILE = "9992002_CTF_MMMMMMM_004.xml"
ROLL_FILE = "9992001_CTF_9992003_002.xml"


def sample(name: str) -> bytes:
    return (DATA / name).read_bytes()


@pytest.fixture(autouse=True)
def _fresh_search_indexes() -> Any:
    """The matching engine keeps indexes in memory; each test starts without them."""
    from cmetrack.matching.services import clear_indexes

    clear_indexes()
    yield
    clear_indexes()


@pytest.fixture
def schools(db: None) -> dict[str, Any]:
    from cmetrack.detection.tests.factories import school

    return {
        "meadowbank": school("999", "2001", name="Meadowbank Primary School"),
        "st_brigids": school("999", "2002", name="St Brigid's CE Academy"),
        "riverside": school("999", "2003", name="Riverside Academy"),
    }


@pytest.fixture
def officer(make_user: Callable[..., Any]) -> Any:
    return make_user(Role.CME_OFFICER)


@pytest.fixture
def school_user(make_user: Callable[..., Any], schools: dict[str, Any]) -> Callable[[str], Any]:
    def make(name: str) -> Any:
        return make_user(Role.SCHOOL_USER, organisation=schools[name])

    return make


def actor(user: Any) -> Actor:
    return Actor(user=user, ip_address="127.0.0.1")
