"""The audit trail shows people's and children's names to the auditors, not
``people.child 331`` and email addresses; other records by kind and number only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor, audit_record, audited_create
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.models import Address
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db


def test_the_trail_names_people_children_and_cases(client: Client, make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer", email="olive@example.org")
    child = ChildFactory.create(legal_given_names="Ava", legal_family_name="Ó Briain")
    case = case_in_state(CaseState.TRACKING, child=child)
    audit_record(actor=Actor(user=officer), action="view", obj=child, child_id=child.pk,
                 summary="Viewed the child")  # fmt: skip
    audit_record(actor=Actor(user=officer), action="view", obj=case, child_id=child.pk,
                 summary="Viewed the case")  # fmt: skip
    audited_create(
        actor=Actor(user=officer),
        instance=Address(child=child, line1="1 Secret Lane", is_restricted=True),
        child_id=child.pk,
        summary="Added restricted address",
    )
    client.force_login(make_user(Role.AUDITOR))
    page = client.get("/audit/").content.decode().replace("&#39;", "'")
    assert "Olive Officer" in page
    assert "olive@example.org" not in page
    assert "Child: Ava Ó Briain" in page
    assert f"Case: {case.reference}" in page
    assert f"Ava Ó Briain ({child.pk})" in page
    assert "people.child" not in page
    # An address is never shown in the trail's pages, only its kind and number.
    assert "1 Secret Lane" not in page
    assert "Address " in page
