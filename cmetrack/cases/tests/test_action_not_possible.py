"""A move the case's state does not allow is not shown as a form with nothing to choose: the
page says why and what comes first, and a form sent anyway changes nothing."""

from __future__ import annotations

import html
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state

pytestmark = pytest.mark.django_db


def text(response: Any) -> str:
    return str(html.unescape(response.content.decode()))


def test_closing_a_tracked_case_says_to_record_where_the_child_is_first(
    client: Any, make_user: Any
) -> None:
    case = case_in_state(CaseState.TRACKING)
    client.force_login(make_user(Role.CME_OFFICER))
    page = client.get(f"/cases/{case.pk}/actions/close/")
    assert page.status_code == 200
    body = text(page)
    assert "Close the case: not possible now" in body
    assert "First record where the child is" in body
    assert 'name="outcome"' not in body  # no form with nothing to choose
    # The page shows the child: its read is audited like any other.
    assert AuditEvent.objects.filter(child_id=case.child_id, action="view").exists()

    sent = client.post(f"/cases/{case.pk}/actions/close/", {"outcome": "not_cme", "reason": "x"})
    assert sent.status_code == 200
    assert "not possible now" in text(sent)
    case.refresh_from_db()
    assert case.state == CaseState.TRACKING


def test_a_closed_case_offers_nothing_but_reopening(client: Any, make_user: Any) -> None:
    case = case_in_state(CaseState.CLOSED)
    client.force_login(make_user(Role.CME_OFFICER))
    body = text(client.get(f"/cases/{case.pk}/actions/assign/"))
    assert "This case is closed" in body
    assert "Reopen as a new episode" in body
    assert client.get(f"/cases/{case.pk}/actions/reopen/").status_code == 200
    assert 'name="reason"' in text(client.get(f"/cases/{case.pk}/actions/reopen/"))


def test_a_reason_over_its_limit_names_the_field_in_govuk_words(
    client: Any, make_user: Any
) -> None:
    case = case_in_state(CaseState.RECEIVED)
    client.force_login(make_user(Role.CME_OFFICER))
    page = client.post(
        f"/cases/{case.pk}/actions/close/",
        {"expected_version": case.version, "outcome": "not_cme", "reason": "x" * 2001},
    )
    body = text(page)
    assert "Reason for closing must be 2000 characters or fewer" in body
    assert "Ensure this value" not in body
