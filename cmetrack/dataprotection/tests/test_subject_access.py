"""Subject access export: everything held, restricted addresses marked, managers only,
every export audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.people.services import child_add_address, child_add_alias, child_add_parent_carer
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def child():
    child = ChildFactory.create(legal_given_names="Zephyrine", legal_family_name="Quorbet")
    child_add_alias(actor=SYSTEM, child=child, alias_type="known_as", given_names="Zeph")
    child_add_address(actor=SYSTEM, child=child, line1="9 Secret Row", postcode="SC1 1RT",
                      is_restricted=True)  # fmt: skip
    child_add_address(actor=SYSTEM, child=child, line1="2 Open Lane", postcode="OP2 2LN",
                      date_to=dt.date(2025, 1, 1), date_from=dt.date(2024, 1, 1))  # fmt: skip
    child_add_parent_carer(actor=SYSTEM, child=child, given_names="Marla",
                           family_name="Quorbet", relationship="mother")  # fmt: skip
    case_open(actor=SYSTEM, child=child, route=ReferralRoute.AGENCY,
              date_referred=dt.date(2026, 10, 1))  # fmt: skip
    return child


def test_manager_gets_everything_with_the_restricted_address_marked_and_audited(
    child, make_user, client
):
    manager = make_user(Role.CME_MANAGER)
    client.force_login(manager)
    page = client.get(reverse("dataprotection:subject-access", args=[child.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    for expected in ("Zephyrine", "Zeph", "9 Secret Row", "2 Open Lane", "Marla", "RESTRICTED"):
        assert expected in text
    assert page["Content-Security-Policy"]

    download = client.get(reverse("dataprotection:subject-access-json", args=[child.pk]))
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    data = json.loads(download.content)
    assert data["child"]["legal_given_names"] == "Zephyrine"
    addresses = {a["line1"]: a for a in data["records"]["people.address"]}
    assert addresses["9 Secret Row"]["restricted"] is True
    assert "restricted" not in addresses["2 Open Lane"]
    assert data["records"]["people.parentcarer"][0]["given_names"] == "Marla"
    assert len(data["records"]["cases.case"]) == 1
    assert data["viewed_by"] == []  # nobody has opened the record yet

    exports = AuditEvent.objects.filter(action=AuditAction.EXPORT, child_id=child.pk)
    assert exports.count() == 2
    assert {e.actor_id for e in exports} == {manager.pk}
    assert {e.summary for e in exports} == {
        "Subject access export (printable page)",
        "Subject access export (JSON)",
    }


def test_viewers_are_listed(child, make_user, client):
    officer, manager = make_user(Role.CME_OFFICER), make_user(Role.CME_MANAGER)
    client.force_login(officer)
    client.get(reverse("people:child-detail", args=[child.pk]))
    client.force_login(manager)
    data = json.loads(
        client.get(reverse("dataprotection:subject-access-json", args=[child.pk])).content
    )
    assert [v["who"] for v in data["viewed_by"]] == [officer.email]


@pytest.mark.parametrize("role", [r for r in Role if r != Role.CME_MANAGER])
def test_no_other_role_can_export(child, make_user, client, role):
    client.force_login(make_user(role))
    for name in ("dataprotection:subject-access", "dataprotection:subject-access-json"):
        response = client.get(reverse(name, args=[child.pk]))
        assert response.status_code == 404
        assert "Zephyrine" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_unknown_child_is_404_for_a_manager(make_user, client):
    client.force_login(make_user(Role.CME_MANAGER))
    assert client.get(reverse("dataprotection:subject-access", args=[987654])).status_code == 404
