"""The admin site: administrators manage users and reference data, audited; nothing else."""

from __future__ import annotations

import pytest

from cmetrack.accounts.models import User, UserRole
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.organisations.models import Organisation

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, make_user):
    user = make_user(Role.ADMINISTRATOR, is_staff=True)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/admin/", 200),
        ("/admin/accounts/user/", 200),
        ("/admin/organisations/organisation/", 200),
        ("/admin/organisations/localauthority/", 200),
        ("/admin/accounts/apitoken/", 200),
        ("/admin/audit/auditevent/", 403),  # auditors read the trail, administrators don't
    ],
)
def test_administrator_reaches_what_they_manage_only(admin_client, url, status):
    assert admin_client.get(url).status_code == status


@pytest.mark.parametrize("role", [r for r in Role if r != Role.ADMINISTRATOR])
def test_other_roles_cannot_use_the_admin_site(client, make_user, role):
    client.force_login(make_user(role))
    response = client.get("/admin/accounts/user/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_case_content_is_not_in_the_admin_site(admin_client):
    for path in ("/admin/people/child/", "/admin/cases/case/", "/admin/referrals/referral/"):
        assert admin_client.get(path).status_code == 404


def test_adding_an_organisation_in_the_admin_is_audited(admin_client):
    response = admin_client.post(
        "/admin/organisations/organisation/add/",
        {"kind": "agency", "name": "Riverside Youth Service", "sector": "youth_justice",
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302, response.content
    org = Organisation.objects.get(name="Riverside Youth Service")
    event = AuditEvent.objects.get(object_type="organisations.organisation", object_id=str(org.pk))
    assert event.action == AuditAction.CREATE
    assert event.changes["after"]["name"] == "Riverside Youth Service"


def test_granting_the_administrator_role_in_the_admin_makes_staff_and_is_audited(
    admin_client, make_user
):
    user: User = make_user(Role.CME_OFFICER)
    role_row = UserRole.objects.get(user=user)
    data = {
        "email": user.email, "full_name": user.full_name, "job_title": "",
        "organisation": user.organisation_id or "", "is_active": "on",
        "roles-TOTAL_FORMS": "2", "roles-INITIAL_FORMS": "1",
        "roles-MIN_NUM_FORMS": "0", "roles-MAX_NUM_FORMS": "1000",
        "roles-0-id": role_row.pk, "roles-0-user": user.pk, "roles-0-role": "cme_officer",
        "roles-0-granted_at_0": "2026-01-01", "roles-0-granted_at_1": "09:00:00",
        "roles-1-id": "", "roles-1-user": user.pk, "roles-1-role": "administrator",
        "roles-1-granted_at_0": "2026-01-01", "roles-1-granted_at_1": "09:00:00",
    }  # fmt: skip
    response = admin_client.post(f"/admin/accounts/user/{user.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    user.refresh_from_db()
    assert user.is_staff
    event = AuditEvent.objects.get(summary__startswith="Changed roles of")
    assert event.changes == {
        "before": {"roles": ["cme_officer"]},
        "after": {"roles": ["administrator", "cme_officer"]},
    }
