"""Report pages, exports and access: who sees counts, who sees cases, who sees nothing."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent

from .conftest import World

pytestmark = pytest.mark.django_db

Q = "as_at=2026-10-31&from=2026-09-01&to=2026-12-31"

PAGES = [
    reverse("reports:dashboard"),
    reverse("reports:dashboard") + "?" + Q,
    reverse("reports:figure", args=["cme"]) + "?" + Q,
    reverse("reports:figure", args=["cme"]) + "?dimension=year_group&" + Q,
    reverse("reports:figure", args=["closed"]) + "?dimension=outcome&" + Q,
    reverse("reports:figure", args=["dormant"]) + "?dimension=review",
    reverse("reports:figure", args=["no_contact"]),
    reverse("reports:figure-cases", args=["cme"]) + "?" + Q,
    reverse("reports:figure-cases", args=["cme"]) + "?dimension=sex&value=F&" + Q,
    reverse("reports:trends"),
    reverse("reports:trends") + "?grain=term",
    reverse("reports:trends") + "?grain=year",
    reverse("reports:pace") + "?from=2026-09-01&to=2026-12-31&threshold=20",
    reverse("reports:pace-over", args=["referral_to_provision"]) + "?" + Q + "&threshold=20",
    reverse("reports:dfe-return") + "?season=autumn&year=2026",
    reverse("reports:termly-history"),
    reverse("reports:checklist"),
    reverse("reports:checklist-point", args=[3]),
]


@pytest.mark.parametrize("role", [Role.CME_OFFICER, Role.CME_MANAGER, Role.AUDITOR])
def test_report_roles_see_every_page(
    client: Client, make_user: Any, world: World, role: Role
) -> None:
    client.force_login(make_user(role))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url


@pytest.mark.parametrize(
    "role",
    [
        Role.SCHOOL_USER,
        Role.AGENCY_USER,
        Role.SLO,
        Role.VIRTUAL_SCHOOL,
        Role.SAFEGUARDING_ADVISER,
        Role.ADMINISTRATOR,
    ],
)
def test_other_roles_see_no_report(
    client: Client, make_user: Any, world: World, role: Role
) -> None:
    client.force_login(make_user(role))
    for url in [*PAGES, reverse("reports:export", args=["figure:cme:sex", "csv"])]:
        assert client.get(url).status_code == 403, url
    assert client.get("/api/v1/reports/figures").status_code == 403


def test_anonymous_is_sent_to_sign_in(client: Client) -> None:
    response = client.get(reverse("reports:dashboard"))
    assert response.status_code == 302
    assert "/sign-in/" in response["Location"]


def test_officer_sees_the_cases_behind_a_figure(
    client: Client, make_user: Any, world: World
) -> None:
    client.force_login(make_user(Role.CME_OFFICER))
    url = reverse("reports:figure-cases", args=["cme"]) + "?dimension=sex&value=F&" + Q
    html = client.get(url).content.decode()
    # 31 Oct: girls missing education were A (case 1) and C (case 3).
    assert world.cases[1].reference in html
    assert world.cases[3].reference in html
    assert world.cases[2].reference not in html
    assert "2 cases" in html


def test_auditor_sees_counts_but_no_case(client: Client, make_user: Any, world: World) -> None:
    client.force_login(make_user(Role.AUDITOR))
    url = reverse("reports:figure-cases", args=["cme"]) + "?dimension=sex&value=F&" + Q
    html = client.get(url).content.decode()
    assert "2 cases" in html
    assert "You can see counts only" in html
    for case in world.cases.values():
        assert case.reference not in html
        assert case.child.legal_family_name not in html
    # Nor can an auditor download the list of cases.
    export = reverse("reports:export", args=["cases:cme", "csv"]) + "?" + Q
    assert client.get(export).status_code == 404


def test_restricted_address_is_never_shown(client: Client, make_user: Any, world: World) -> None:
    client.force_login(make_user(Role.CME_MANAGER))
    html = client.get(reverse("reports:figure", args=["cme"]) + "?dimension=area").content.decode()
    assert "EX1" in html
    assert "EX9" not in html
    assert "Restricted address" in html


def _csv(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_exports_are_audited_and_formula_safe(client: Client, make_user: Any, world: World) -> None:
    world.a.legal_given_names = "=HYPERLINK(1)"
    world.a.save()
    client.force_login(make_user(Role.CME_OFFICER))
    response = client.get(reverse("reports:export", args=["figure:cme:sex", "csv"]) + "?" + Q)
    assert response.status_code == 200
    assert _csv(response) == [["Sex", "Children"], ["Female", "2"], ["Male", "1"]]
    response = client.get(reverse("reports:export", args=["cases:cme", "csv"]) + "?" + Q)
    rows = _csv(response)
    assert any(r[1].startswith("'=HYPERLINK(1)") for r in rows[1:])
    xlsx = client.get(reverse("reports:export", args=["figure:cme:sex", "xlsx"]) + "?" + Q)
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"
    exports = AuditEvent.objects.filter(action="export", object_type="reports.table")
    assert exports.count() == 3


def test_api_gives_counts(client: Client, make_user: Any, world: World) -> None:
    client.force_login(make_user(Role.AUDITOR))
    response = client.get("/api/v1/reports/figures/cme?dimension=sex&as_at=2026-10-31")
    assert response.status_code == 200
    data = response.json()
    assert data["total"] == 3
    assert {b["key"]: b["count"] for b in data["buckets"]} == {"F": 2, "M": 1}
