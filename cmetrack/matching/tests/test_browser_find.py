"""Find a child in a real Chromium: the form, its error summary and the results, each
page axe-clean; the result links to the child's record."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.matching.services import clear_indexes
from cmetrack.people.tests.factories import ChildFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def test_officer_finds_a_child_by_nickname_with_a_swapped_date(
    browser_page: Any, make_user: Any
) -> None:
    clear_indexes()
    page = browser_page
    page.set_default_timeout(10_000)
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")
    child = ChildFactory.create(
        legal_given_names="Robert",
        legal_family_name="Smith-Jones",
        dob=dt.date(2014, 3, 5),
        sex="M",
    )
    CaseFactory.create(child=child)

    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(officer.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Find a child").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a child")
    assert_accessible(page)

    page.get_by_role("button", name="Search").click()
    expect(page).to_have_title(re.compile(r"^Error: Find a child"))
    expect(page.get_by_role("alert")).to_contain_text(
        "Enter at least a name, a date of birth, a postcode or a UPN"
    )
    assert_accessible(page)

    page.get_by_label("Given names").fill("Bob")
    page.get_by_label("Family name").fill("Jones")
    page.get_by_role("textbox", name="Day").fill("3")
    page.get_by_role("textbox", name="Month").fill("5")
    page.get_by_role("textbox", name="Year").fill("2014")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=2, name="1 possible match")).to_be_visible()
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("Robert Smith-Jones")
    expect(row).to_contain_text("day and month swapped")
    expect(row).to_contain_text("nickname")
    assert_accessible(page)
    row.get_by_role("link", name="Robert Smith-Jones").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Robert Smith-Jones")
    assert_accessible(page)
    clear_indexes()
