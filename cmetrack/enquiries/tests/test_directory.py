"""The directory of authorities: every English and Welsh authority, searched; contacts
edited by administrators only (audited); stale contacts flagged."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.organisations.models import LocalAuthority
from cmetrack.organisations.selectors import authority_directory, contact_is_stale
from cmetrack.organisations.services import (
    local_authority_contact_confirm,
    local_authority_contact_update,
)


@pytest.mark.django_db
def test_every_english_and_welsh_authority_is_in_the_directory():
    assert LocalAuthority.objects.filter(country="England").count() == 153
    assert LocalAuthority.objects.filter(country="Wales").count() == 22
    assert [la.code for la in authority_directory(query="camden")] == ["202"]
    assert [la.name for la in authority_directory(query="202")] == ["Camden"]
    assert authority_directory(country="Wales").count() == 22


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("confirmed", "stale"),
    # A date is given as its offset from today, added when the test runs.
    [(None, True), (dt.timedelta(0), False), (dt.timedelta(days=-365), False),
     (dt.timedelta(days=-366), True)],
)  # fmt: skip
def test_a_contact_not_confirmed_for_over_a_year_is_stale(other_la, confirmed, stale, today):
    if confirmed is not None:
        confirmed = today + confirmed
    other_la.contact_confirmed_on = confirmed
    assert contact_is_stale(other_la, today) is stale
    other_la.save()
    assert (other_la in authority_directory(query="202", stale_only=True)) is stale


@pytest.mark.django_db
@override_settings(CMETRACK_CONTACT_STALE_DAYS=30)
def test_the_stale_limit_is_a_setting(other_la, today):
    other_la.contact_confirmed_on = today - dt.timedelta(days=31)
    assert contact_is_stale(other_la, today)


@pytest.mark.django_db
def test_only_administrators_edit_and_it_is_audited(make_user, other_la, today):
    admin = make_user(Role.ADMINISTRATOR)
    with pytest.raises(PermissionDenied):
        local_authority_contact_confirm(
            actor=Actor(user=make_user(Role.CME_OFFICER)), local_authority=other_la
        )
    la = local_authority_contact_update(
        actor=Actor(user=admin),
        local_authority=other_la,
        cme_contact_name="New Person",
        cme_contact_role="CME lead",
        cme_contact_email="new@camden.gov.uk",
        cme_contact_phone="",
        contact_confirmed_on=None,
    )
    assert la.cme_contact_name == "New Person"
    assert la.contact_confirmed_on is None
    la = local_authority_contact_confirm(actor=Actor(user=admin), local_authority=la)
    assert la.contact_confirmed_on == today
    events = AuditEvent.objects.filter(object_type="organisations.localauthority", actor=admin)
    assert events.filter(action=AuditAction.UPDATE).count() == 2
    with pytest.raises(ValidationError) as exc:
        local_authority_contact_update(
            actor=Actor(user=admin),
            local_authority=la,
            cme_contact_name="",
            cme_contact_role="",
            cme_contact_email="x@camden.gov.uk",
            cme_contact_phone="",
            contact_confirmed_on=today + dt.timedelta(days=1),
        )
    assert set(exc.value.message_dict) == {"cme_contact_name", "contact_confirmed_on"}


@pytest.mark.django_db
def test_directory_page_search_flag_and_admin_actions(client, make_user, other_la, today):
    stale = LocalAuthority.objects.get(code="204")
    client.force_login(make_user(Role.CME_OFFICER))
    page = client.get(reverse("enquiries:directory"), {"q": "Camden"}).content.decode()
    assert "Contact at Camden" in page
    assert "Confirmed today" not in page  # officers do not edit
    page = client.get(reverse("enquiries:directory"), {"q": "Hackney"}).content.decode()
    assert "To confirm" in page
    assert stale.name in page
    assert client.get(reverse("enquiries:authority-edit", args=["202"])).status_code == 403
    assert client.post(reverse("enquiries:authority-confirm", args=["202"])).status_code == 403

    admin = make_user(Role.ADMINISTRATOR)
    client.force_login(admin)
    page = client.get(reverse("enquiries:directory"), {"q": "Camden"}).content.decode()
    assert "Confirmed today" in page
    r = client.post(
        reverse("enquiries:authority-edit", args=["204"]),
        {
            "cme_contact_name": "Tom Ellis",
            "cme_contact_role": "CME officer",
            "cme_contact_email": "not-an-email",
            "cme_contact_phone": "",
        },
    )
    assert r.status_code == 400
    assert "Enter a secure email address" in r.content.decode()
    r = client.post(
        reverse("enquiries:authority-edit", args=["204"]),
        {
            "cme_contact_name": "Tom Ellis",
            "cme_contact_role": "CME officer",
            "cme_contact_email": "tom@hackney.gov.uk",
            "cme_contact_phone": "",
        },
    )
    assert r.status_code == 302
    assert client.post(reverse("enquiries:authority-confirm", args=["204"])).status_code == 302
    stale.refresh_from_db()
    assert (stale.cme_contact_email, stale.contact_confirmed_on) == ("tom@hackney.gov.uk", today)


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.AGENCY_USER])
def test_schools_and_agencies_do_not_see_the_directory(client, make_user, role):
    client.force_login(make_user(role))
    assert client.get(reverse("enquiries:directory")).status_code == 403
