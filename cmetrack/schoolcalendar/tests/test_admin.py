"""Administrators keep the school calendar in the admin site; every change is audited."""

from __future__ import annotations

from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.schoolcalendar.models import ClosureDay, Term

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client: Any, make_user: Any) -> Any:
    client.force_login(make_user(Role.ADMINISTRATOR, is_staff=True))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/schoolcalendar/term/",
        "/admin/schoolcalendar/closureday/",
        "/admin/schoolcalendar/term/add/",
    ],
)
def test_administrator_manages_the_calendar(admin_client: Any, url: str) -> None:
    assert admin_client.get(url).status_code == 200


def test_adding_a_term_and_a_closure_is_audited(admin_client: Any) -> None:
    response = admin_client.post(
        "/admin/schoolcalendar/term/add/",
        {"term_start": "2025-09-03", "term_end": "2025-10-24", "name": "Autumn 1"},
    )
    assert response.status_code == 302
    term = Term.objects.get()
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="schoolcalendar.term", object_id=term.pk
    ).exists()
    overlapping = admin_client.post(
        "/admin/schoolcalendar/term/add/",
        {"term_start": "2025-10-20", "term_end": "2025-12-19", "name": "Bad"},
    )
    assert "This term overlaps" in overlapping.content.decode()
    admin_client.post(
        "/admin/schoolcalendar/closureday/add/",
        {"date": "2025-09-03", "reason": "INSET day", "school": ""},
    )
    assert ClosureDay.objects.get().school is None


def test_a_cme_officer_cannot_change_the_calendar(client: Any, make_user: Any) -> None:
    client.force_login(make_user(Role.CME_OFFICER, is_staff=True))
    assert client.get("/admin/schoolcalendar/term/").status_code == 403
