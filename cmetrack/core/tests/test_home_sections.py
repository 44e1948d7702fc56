"""The home page's sections stay short at county scale: 20 rows, the total, a link to all."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.core.presenters import QUEUE_LIMIT, HomePresenter
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db


def open_cases(n: int, officer: Any) -> list[Case]:
    return [
        Case.objects.create(
            child=ChildFactory.create(),
            route=ReferralRoute.PUBLIC,
            state=CaseState.TRACKING,
            date_referred=dt.date(2026, 9, 1) + dt.timedelta(days=i),
            assigned_officer=officer,
        )
        for i in range(n)
    ]


def test_a_long_section_shows_the_oldest_rows_the_total_and_a_link(
    client: Client, make_user: Any, settings: Any
) -> None:
    settings.CMETRACK_REQUIRE_2FA = False
    officer = make_user(Role.CME_OFFICER)
    made = open_cases(QUEUE_LIMIT + 5, officer)
    (mine,) = [s for s in HomePresenter(officer).sections if s.title == "Your open cases"]
    assert mine.total == QUEUE_LIMIT + 5
    assert [r.cells[0] for r in mine.rows] == [c.reference for c in made[:QUEUE_LIMIT]]
    assert mine.more_href == "/cases/?queue=mine"
    client.force_login(officer)
    html = client.get("/").content.decode()
    assert f"Showing {QUEUE_LIMIT} of {QUEUE_LIMIT + 5}." in html
    assert re.search(r'href="/cases/\?queue=mine">See all 25', html)


def test_a_short_section_has_no_link(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    open_cases(3, officer)
    (mine,) = [s for s in HomePresenter(officer).sections if s.title == "Your open cases"]
    assert mine.total == 3
    assert len(mine.rows) == 3
