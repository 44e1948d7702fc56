"""The lost-pupil journey in a real Chromium, each page axe-clean: a school uploads a
leaver's CTF with the destination unknown; a CME officer finds the pupil in the area and
forwards the file to the school that admitted them; that school downloads it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.core.tests.autocomplete import choose
from cmetrack.core.tests.axe import assert_accessible

from .conftest import DATA, XXX_FILE

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def sign_in(page: Any, user: Any) -> None:
    page.context.clear_cookies()
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_upload_find_forward_download(
    browser_page: Any, make_user: Any, schools: dict[str, Any]
) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    leaver_school = make_user(Role.SCHOOL_USER, organisation=schools["meadowbank"])
    new_school = make_user(Role.SCHOOL_USER, organisation=schools["riverside"])
    officer = make_user(Role.CME_OFFICER)

    sign_in(page, leaver_school)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Transfer files").click()
    page.goto("/transfers/upload/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Upload a Common Transfer File")
    assert_accessible(page)
    page.get_by_role("button", name="Upload file").click()
    expect(page).to_have_title(re.compile(r"^Error: Upload a Common Transfer File"))
    expect(page.get_by_role("alert")).to_contain_text("Select a CTF file to upload")
    assert_accessible(page)
    page.get_by_label("Upload a Common Transfer File (XML)").set_input_files(str(DATA / XXX_FILE))
    page.get_by_role("button", name="Upload file").click()
    expect(page.get_by_role("heading", name="File uploaded")).to_be_visible()
    assert_accessible(page)

    sign_in(page, officer)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Lost pupils").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lost pupils")
    assert_accessible(page)
    page.get_by_label("Family name").fill("Hart")
    page.get_by_role("textbox", name="Year").fill("2016")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=2, name="1 possible match")).to_be_visible()
    assert_accessible(page)
    page.locator("#results + table").get_by_role("link", name="Amara Grace Okonkwo-Hart").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Amara Grace Okonkwo-Hart")
    assert_accessible(page)
    choose(page, "School to send the file to", "Riverside Academy (9992003)")
    page.get_by_role("button", name="Forward file").click()
    expect(page.get_by_text("is ready for Riverside Academy to download")).to_be_visible()
    assert_accessible(page)

    sign_in(page, new_school)
    page.goto("/transfers/requests/")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="9992001_CTF_9992003_001.xml").click()
    assert download.value.suggested_filename == "9992001_CTF_9992003_001.xml"
