"""Each role's home page is its work for today: the sections the areas register with
``cases/home.py``, read through scoped selectors, most urgent first."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.cases.home import (
    QueueSection,
    register_section,
    registered_sections,
    sections_for,
)
from cmetrack.cases.home import _sections as registry
from cmetrack.casework.models import Task
from cmetrack.safeguarding.tests.factories import open_case, record_assessment, user

pytestmark = pytest.mark.django_db


def test_every_area_registers_its_sections() -> None:
    keys = {s.key for s in registered_sections()}
    assert {
        "cases.unassigned",
        "cases.mine",
        "cases.slo",
        "cases.in_care",
        "referrals.triage",
        "referrals.own",
        "casework.tasks",
        "detection.alerts",
        "safeguarding.reviews",
        "safeguarding.to_authorise",
        "enquiries.due",
        "provision.delays",
        "core.audit",
    } <= keys


def test_sections_come_overdue_first_then_due_today_then_by_urgency(
    monkeypatch: Any, today: dt.date
) -> None:
    monkeypatch.setattr("cmetrack.cases.home._sections", dict(registry))
    manager = user(Role.CME_MANAGER)

    def built(title: str, total: int = 0, overdue: int = 0, due_today: int = 0) -> Any:
        return lambda u, today: QueueSection(
            title=title,
            empty_text="",
            headers=(),
            total=total,
            overdue=overdue,
            due_today=due_today,
        )

    register_section("t.quiet", roles=[Role.CME_MANAGER], build=built("Quiet", total=3), urgency=1)
    register_section(
        "t.late", roles=[Role.CME_MANAGER], build=built("Late", total=1, overdue=1), urgency=99
    )
    register_section(
        "t.today", roles=[Role.CME_MANAGER], build=built("Today", total=2, due_today=2), urgency=50
    )
    register_section("t.none", roles=[Role.CME_MANAGER], build=lambda u, t: None)
    register_section("t.other", roles=[Role.AUDITOR], build=built("Auditors", total=1))
    titles = [s.title for s in sections_for(manager, today)]
    assert titles.index("Late") < titles.index("Today") < titles.index("Quiet")
    assert "Auditors" not in titles
    assert titles[0] == "Late"


def test_a_manager_sees_risk_assessments_to_authorise_but_not_their_own(
    client: Client,
    today: dt.date,
) -> None:
    officer, manager = user(Role.CME_OFFICER), user(Role.CME_MANAGER, full_name="Mo Manager")
    waiting = record_assessment(open_case(officer=officer), officer, "high")
    mine = record_assessment(open_case(officer=manager), manager, "low")
    sections = {s.key: s for s in sections_for(manager, today)}
    to_authorise = sections["safeguarding.to_authorise"]
    assert to_authorise.total == 1
    assert to_authorise.rows[0].cells[0] == waiting.case.reference
    assert to_authorise.rows[0].cells[2] == "High"
    assert mine.case.reference not in [r.cells[0] for r in to_authorise.rows]
    # The officer who completed it is not offered it.
    assert "safeguarding.to_authorise" not in {s.key for s in sections_for(officer, today)}
    client.force_login(manager)
    page = client.get("/risk-assessments/to-authorise/").content.decode()
    assert waiting.case.reference in page
    assert f"/cases/{waiting.case_id}/safeguarding/risk-assessments/{waiting.pk}/" in page
    assert mine.case.reference not in page
    home = client.get("/").content.decode()
    assert "Risk assessments to authorise: 1</a>" in home
    client.force_login(officer)
    assert client.get("/risk-assessments/to-authorise/").status_code == 404


def test_the_summary_links_each_section_with_its_counts(client: Client, today: dt.date) -> None:
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer)
    Task.objects.create(case=case, title="Late", owner=officer, due=today - dt.timedelta(days=2))
    client.force_login(officer)
    page = client.get("/").content.decode()
    assert 'href="#section-casework-tasks">Your tasks due: 1</a>' in page
    assert '<strong class="govuk-tag govuk-tag--red">1 overdue</strong>' in page
    assert 'id="section-casework-tasks">Your tasks due</h2>' in page
    assert 'data-label="Task"' in page
