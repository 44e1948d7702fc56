"""Administrators keep the address-search sources in the administration site, audited."""

from __future__ import annotations

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.casework.models import AddressSearchSource

pytestmark = pytest.mark.django_db

URL = "/admin/casework/addresssearchsource/"


@pytest.fixture
def admin_client(client, make_user):
    client.force_login(make_user(Role.ADMINISTRATOR, is_staff=True))
    return client


def test_the_county_list_is_seeded():
    assert AddressSearchSource.objects.filter(active=True).count() == 10


def test_administrator_adds_and_switches_off_a_source(admin_client):
    response = admin_client.post(
        f"{URL}add/",
        {"name": "Council tax", "description": "Council tax accounts", "active": "on", "order": 5},
    )
    assert response.status_code == 302, response.content[:3000]
    source = AddressSearchSource.objects.get(name="Council tax")
    assert AuditEvent.objects.filter(
        action=AuditAction.CREATE, object_type="casework.addresssearchsource",
        object_id=str(source.pk),
    ).exists()  # fmt: skip

    response = admin_client.post(
        f"{URL}{source.pk}/change/",
        {"name": "Council tax", "description": "Council tax accounts", "order": 5},
    )
    assert response.status_code == 302
    source.refresh_from_db()
    assert source.active is False
    event = AuditEvent.objects.filter(action=AuditAction.UPDATE, object_id=str(source.pk)).get()
    assert event.changes == {"before": {"active": True}, "after": {"active": False}}


def test_sources_cannot_be_deleted(admin_client):
    source = AddressSearchSource.objects.first()
    assert source is not None
    assert admin_client.get(f"{URL}{source.pk}/delete/").status_code == 403


@pytest.mark.parametrize("role", [Role.CME_OFFICER, Role.CME_MANAGER, Role.AUDITOR])
def test_only_administrators_reach_the_sources(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(URL).status_code == 302  # to the admin's sign-in: not staff
