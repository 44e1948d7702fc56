"""The register's pages are behind CMETRACK_CNIS_ENABLED: 404 and no menu entry when off."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cnis.models import OtherProvider, RegisterDetails
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.services import home_education_record_add

pytestmark = pytest.mark.django_db
PAGES = ["cnis:register", "cnis:completeness", "cnis:export"]


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


@pytest.fixture
def child(today: dt.date) -> Any:
    c = ChildFactory.create(
        dob=dt.date(today.year - 9, 3, 3), legal_given_names="=Eve", legal_family_name="Adeyemi"
    )
    home_education_record_add(actor=Actor.system("t"), child=c, started_on=today)
    return c


@pytest.mark.parametrize("name", PAGES)
def test_off_by_default_pages_404(make_user, settings, child, name):
    settings.CMETRACK_CNIS_ENABLED = False
    user = make_user(Role.CME_MANAGER)
    assert _client(user).get(reverse(name)).status_code == 404
    assert _client(user).get(reverse("cnis:child", args=[child.pk])).status_code == 404
    home = _client(user).get(reverse("home")).content.decode()
    assert "Children not in school" not in home


def test_on_register_completeness_and_export(make_user, settings, child):
    settings.CMETRACK_CNIS_ENABLED = True
    client = _client(make_user(Role.CME_OFFICER))
    page = client.get(reverse("cnis:register")).content.decode()
    assert "Adeyemi" in page
    assert "Home educated" in page
    report = client.get(reverse("cnis:completeness")).content.decode()
    assert "Home address" in report
    response = client.get(reverse("cnis:export"))
    assert response.status_code == 200
    content = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    rows = list(csv.reader(io.StringIO(content.decode())))
    assert rows[0][0] == "Child"
    assert rows[1][0] == "'=Eve Adeyemi"  # csv_safe: no formula
    assert "Home address" in rows[1][-1]
    assert AuditEvent.objects.filter(action="export", object_type="cnis.register").exists()
    home = client.get(reverse("home")).content.decode()
    assert "Children not in school" in home


def test_child_page_records_hours_and_a_provider(make_user, settings, child):
    settings.CMETRACK_CNIS_ENABLED = True
    client = _client(make_user(Role.CME_OFFICER))
    url = reverse("cnis:child", args=[child.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, {"form": "details", "details-parent_hours_per_week": "200"})
    assert "168 or fewer" in bad.content.decode()
    ok = client.post(url, {"form": "details", "details-parent_hours_per_week": "18.5"})
    assert ok.status_code == 302
    assert RegisterDetails.objects.get(child=child).parent_hours_per_week == 18.5
    ok = client.post(
        url,
        {
            "form": "provider",
            "provider-name": "Hilltop Tutors",
            "provider-provider_type": "tutor",
            "provider-hours_per_week": "4",
        },
    )
    assert ok.status_code == 302
    assert OtherProvider.objects.get(child=child).name == "Hilltop Tutors"


@pytest.mark.parametrize(
    "role",
    [
        Role.SLO,
        Role.SCHOOL_USER,
        Role.AGENCY_USER,
        Role.AUDITOR,
        Role.VIRTUAL_SCHOOL,
        Role.ADMISSIONS,
    ],
)
def test_others_refused_when_on(make_user, settings, child, role):
    settings.CMETRACK_CNIS_ENABLED = True
    client = _client(make_user(role))
    for name in PAGES:
        assert client.get(reverse(name)).status_code == 403


def test_provider_and_arrangement_end_from_the_page(make_user, settings, child, today):
    from cmetrack.accounts.tests.factories import SchoolFactory
    from cmetrack.cnis.models import PartTimeArrangement
    from cmetrack.cnis.services import part_time_arrangement_add, provider_add

    settings.CMETRACK_CNIS_ENABLED = True
    provider = provider_add(
        actor=Actor.system("t"), child=child, name="Tutor", provider_type="tutor"
    )
    arrangement = part_time_arrangement_add(
        actor=Actor.system("t"),
        child=child,
        kind="elsewhere",
        school=SchoolFactory.create(),
        started_on=today,
    )
    client = _client(make_user(Role.CME_OFFICER))
    url = reverse("cnis:child", args=[child.pk])
    assert "Stopped today" in client.get(url).content.decode()
    assert client.post(url, {"form": "end_provider", "id": provider.pk}).status_code == 302
    assert client.post(url, {"form": "end_parttime", "id": arrangement.pk}).status_code == 302
    provider.refresh_from_db()
    assert provider.ended_on == today
    assert PartTimeArrangement.objects.get().ended_on == today
    assert client.post(url, {"form": "end_provider", "id": 99999}).status_code == 404
