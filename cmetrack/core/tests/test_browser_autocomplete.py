"""Choosing a school or an authority in a real Chromium: GOV.UK's accessible autocomplete
(frontend/src/autocomplete.js) enhances the select when JavaScript runs, and works by
keyboard alone. Every page passes axe-core. Without JavaScript the page is the plain select
the server sends (test_autocomplete_marks.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD, SchoolFactory
from cmetrack.core.tests.axe import assert_accessible
from conftest import close_settled

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

ADD = "/home-education/add/"


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def signed_in(chromium: Any, live_server: Any, user: Any, *, javascript: bool) -> Any:
    context = chromium.new_context(base_url=live_server.url, java_script_enabled=javascript)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/$"))
    return page


@pytest.fixture
def schools() -> dict[str, Any]:
    return {
        name: SchoolFactory.create(name=name)
        for name in ("Hillside Primary", "Hilltop Academy", "Oakfield Primary School")
    }


def tag_of(locator: Any) -> str:
    return str(locator.evaluate("e => e.tagName")).lower()


def test_the_autocomplete_by_keyboard(
    chromium: Any, live_server: Any, make_user: Any, schools: dict[str, Any]
) -> None:
    page = signed_in(chromium, live_server, make_user(Role.CME_OFFICER), javascript=True)
    page.goto(ADD)
    box = page.get_by_label("Previous school", exact=True)
    expect(box).to_have_attribute("role", "combobox")
    assert tag_of(box) == "input"
    assert_accessible(page)
    box.focus()
    page.keyboard.type("hill")
    options = page.get_by_role("listbox").get_by_role("option")
    expect(options).to_have_count(2)
    expect(page.get_by_role("listbox")).not_to_contain_text("Oakfield")
    assert_accessible(page)  # with the suggestions open
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(box).to_have_value("Hilltop Academy")
    # The select underneath sends the choice: the form comes back (other answers missing)
    # with the school still chosen.
    page.get_by_role("button", name="Add to the list").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    box = page.get_by_label("Previous school", exact=True)
    expect(box).to_have_value("Hilltop Academy")
    assert page.locator("select[name=previous_school]").input_value() == str(
        schools["Hilltop Academy"].pk
    )
    assert_accessible(page)
    # Emptying the box empties the choice.
    box.fill("")
    page.get_by_role("button", name="Add to the list").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    expect(page.get_by_label("Previous school", exact=True)).to_have_value("")
    assert page.locator("select[name=previous_school]").input_value() == ""
    assert not page.errors
    close_settled(page.context)
