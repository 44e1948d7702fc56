"""Restricted addresses: shown only to people a CME manager named; never shared."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.people.models import RestrictedAddressAccess
from cmetrack.people.selectors import (
    address_for_sharing,
    addresses_for_display,
    addresses_for_sharing,
    current_address_for_sharing,
)
from cmetrack.people.services import (
    child_add_address,
    restricted_address_access_grant,
    restricted_address_access_revoke,
)
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def child():
    child = ChildFactory.create(legal_family_name="Vexworth")
    child_add_address(actor=SYSTEM, child=child, line1="1 Old Road", postcode="OL1 1DR",
                      date_from=dt.date(2020, 1, 1), date_to=dt.date(2025, 1, 1))  # fmt: skip
    child_add_address(actor=SYSTEM, child=child, line1="7 Hidden Close", postcode="SF9 9ZZ",
                      date_from=dt.date(2025, 1, 2), is_restricted=True)  # fmt: skip
    case_open(actor=SYSTEM, child=child, route=ReferralRoute.AGENCY,
              date_referred=dt.date(2026, 10, 1))  # fmt: skip
    return child


def test_sharing_helpers_never_return_a_restricted_address(child):
    restricted = child.addresses.get(is_restricted=True)
    open_address = child.addresses.get(is_restricted=False)
    assert address_for_sharing(restricted) is None
    assert address_for_sharing(open_address) == "1 Old Road, OL1 1DR"
    assert addresses_for_sharing(child) == [open_address]
    assert current_address_for_sharing(child) == ""  # the current one is restricted


def test_display_needs_a_grant_even_for_a_manager(child, make_user):
    manager, officer = make_user(Role.CME_MANAGER), make_user(Role.CME_OFFICER)
    for user in (manager, officer):
        shown = {a.line1: visible for a, visible in addresses_for_display(user=user, child=child)}
        assert shown == {"1 Old Road": True, "7 Hidden Close": False}
    restricted_address_access_grant(actor=Actor(user=manager), child=child, user=officer,
                                    reason="Home visit")  # fmt: skip
    shown = {a.line1: v for a, v in addresses_for_display(user=officer, child=child)}
    assert shown["7 Hidden Close"] is True
    officer.is_active = False
    assert not any(
        v for a, v in addresses_for_display(user=officer, child=child) if a.is_restricted
    )


def test_grant_is_audited_and_only_by_a_manager(child, make_user):
    manager, officer = make_user(Role.CME_MANAGER), make_user(Role.CME_OFFICER)
    with pytest.raises(PermissionDenied):
        restricted_address_access_grant(actor=Actor(user=officer), child=child, user=officer,
                                        reason="I want to see it")  # fmt: skip
    with pytest.raises(ValidationError):
        restricted_address_access_grant(actor=Actor(user=manager), child=child, user=officer,
                                        reason="  ")  # fmt: skip
    school = make_user(Role.SCHOOL_USER)
    with pytest.raises(ValidationError):
        restricted_address_access_grant(actor=Actor(user=manager), child=child, user=school,
                                        reason="Teacher asked")  # fmt: skip
    slo = make_user(Role.SLO)  # works cases, but cannot see this child
    with pytest.raises(ValidationError):
        restricted_address_access_grant(actor=Actor(user=manager), child=child, user=slo,
                                        reason="Nearby school")  # fmt: skip
    assert not RestrictedAddressAccess.objects.exists()
    access = restricted_address_access_grant(actor=Actor(user=manager), child=child,
                                             user=officer, reason="Home visit")  # fmt: skip
    event = AuditEvent.objects.get(object_type="people.restrictedaddressaccess")
    assert event.action == AuditAction.CREATE
    assert event.child_id == child.pk
    assert event.actor_id == manager.pk
    restricted_address_access_revoke(actor=Actor(user=manager), access=access)
    assert not RestrictedAddressAccess.objects.exists()
    assert AuditEvent.objects.filter(action=AuditAction.DELETE, child_id=child.pk).exists()


def test_manager_grants_through_the_page(child, make_user, client):
    manager, officer = make_user(Role.CME_MANAGER), make_user(Role.CME_OFFICER)
    url = reverse("people:restricted-access", args=[child.pk])
    client.force_login(manager)
    detail = client.get(reverse("people:child-detail", args=[child.pk])).content.decode()
    assert url in detail
    empty = client.post(url, {"user": "", "reason": ""}).content.decode()
    assert "There is a problem" in empty
    assert "Select the person who needs to see the restricted address" in empty
    assert "Enter why this person needs the restricted address" in empty
    assert not RestrictedAddressAccess.objects.exists()
    response = client.post(url, {"user": officer.pk, "reason": "Home visit"})
    assert response.status_code == 302
    assert RestrictedAddressAccess.objects.filter(child=child, user=officer).exists()
    client.force_login(officer)
    page = client.get(reverse("people:child-detail", args=[child.pk])).content.decode()
    assert "7 Hidden Close" in page
    assert url not in page  # only managers manage access


@pytest.mark.parametrize("role", [r for r in Role if r != Role.CME_MANAGER])
def test_other_roles_cannot_reach_the_grant_page(child, make_user, client, role):
    user = make_user(role)
    client.force_login(user)
    url = reverse("people:restricted-access", args=[child.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"user": user.pk, "reason": "me"}).status_code == 404
    assert not RestrictedAddressAccess.objects.exists()


def test_access_log_is_shown_to_case_roles_only(child, make_user, client):
    officer = make_user(Role.CME_OFFICER)
    client.force_login(officer)
    client.get(reverse("people:child-detail", args=[child.pk]))
    page = client.get(reverse("people:child-detail", args=[child.pk])).content.decode()
    assert "Access log" in page
    assert page.count(officer.email) >= 2
