"""The matching engine searches the home-education list, scoped like the list."""

from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.matching.adapters import ADAPTERS
from cmetrack.matching.services import SearchQuery, clear_indexes, search_children
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.services import home_education_record_add, home_education_record_end

pytestmark = pytest.mark.django_db


def test_the_list_is_a_registered_register():
    assert "home_education" in [a.name for a in ADAPTERS]


def test_search_finds_a_child_on_the_list(make_user, today):
    clear_indexes()
    child = ChildFactory.create(
        legal_given_names="Olusegun", legal_family_name="Adebayo", dob=dt.date(2013, 7, 9)
    )
    record = home_education_record_add(actor=Actor.system("t"), child=child, started_on=today)
    officer = make_user(Role.CME_OFFICER)
    query = SearchQuery(given_names="Olusegun", family_name="Adebayo", dob=dt.date(2013, 7, 9))
    results = search_children(user=officer, query=query, registers=["home_education"])
    assert [r.ref.pk for r in results] == [record.pk]
    assert "Home-education list" in results[0].details.where
    # An SLO may search but does not see the list.
    slo = make_user(Role.SLO)
    assert search_children(user=slo, query=query, registers=["home_education"]) == []
    # Off the list: no longer found there.
    home_education_record_end(
        actor=Actor(user=officer), record=record, ended_on=today, reason="Back at school"
    )
    clear_indexes()
    assert search_children(user=officer, query=query, registers=["home_education"]) == []
