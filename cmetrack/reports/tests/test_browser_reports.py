"""The report dashboard and one drill-down in a real Chromium: charts drawn by Chart.js
under the CSP (no inline script), every page axe-clean, the cases behind a figure."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.core.tests.axe import assert_accessible

from .conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?(#.*)?$")


def test_manager_reads_the_figures_and_opens_the_cases(
    browser_page: Any, make_user: Any, world: World
) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console",
        lambda msg: problems.append(msg.text) if msg.type == "error" else None,
    )
    manager = make_user(Role.CME_MANAGER, full_name="Mina Manager")

    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(manager.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/"))
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Reports").click()
    expect(page).to_have_url(path_is("/reports/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Monitoring figures")
    # Chart.js drew the chart from the JSON beside the table, with a text alternative.
    canvas = page.locator("figure.app-chart canvas")
    expect(canvas).to_have_count(1)
    expect(canvas).to_have_attribute("role", "img")
    expect(
        page.get_by_role("table", name=re.compile("Children missing education by state"))
    ).to_be_visible()
    assert_accessible(page)

    # Today: A (tracking), B (dormant) and E (received, a reopened case).
    page.get_by_role(
        "link", name=re.compile(r"^3 – Children missing education, breakdowns")
    ).click()
    expect(page).to_have_url(path_is("/reports/figures/cme/"))
    expect(page.get_by_text("How this figure is computed")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Sex", exact=True).click()
    expect(page.get_by_role("table", name=re.compile("by sex"))).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name=re.compile("open the cases: Male")).click()
    expect(page).to_have_url(path_is("/reports/figures/cme/cases/"))
    expect(page.get_by_text("Sex: Male. 2 cases")).to_be_visible()
    expect(page.get_by_role("link", name=world.cases[2].reference)).to_be_visible()
    expect(page.get_by_role("link", name=world.cases[6].reference)).to_be_visible()
    assert_accessible(page)

    # The trend page draws a line chart; the page prints without the filters.
    page.goto("/reports/trends/?grain=term")
    expect(page.locator("figure.app-chart canvas")).to_have_count(1)
    assert_accessible(page)
    page.emulate_media(media="print")
    expect(page.locator("form.app-no-print")).to_be_hidden()
    assert problems == []
