"""The alerts queue in a real Chromium: filter, evidence, an error, a one-click referral.
Every page visited passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.core.tests.autocomplete import choose
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.referrals.models import Referral

from .factories import AlertFactory, school

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?(#.*)?$")


def sign_in(page: Any, user: Any) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/"))


def test_officer_works_the_alerts_queue(browser_page: Any, make_user: Any) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    ours = school(estab="2001", name="Oak Primary")
    alert = AlertFactory.create(school=ours, given_name="Amira", family_name="Khan")
    officer = make_user(Role.CME_OFFICER)

    sign_in(page, officer)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Alerts").click()
    expect(page).to_have_url(path_is("/alerts/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Potential children missing education"
    )
    assert_accessible(page)
    choose(page, "School", "Oak Primary")
    page.get_by_role("button", name="Filter").click()
    assert_accessible(page)
    page.get_by_role("link", name="Amira Khan").click()
    expect(page).to_have_url(path_is(f"/alerts/{alert.pk}/"))
    expect(page.get_by_text("Attendance marks in the run")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Dismiss alert").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert page.title().startswith("Error: ")
    assert_accessible(page)

    page.get_by_role("button", name="Refer this child").click()
    expect(page.get_by_text(re.compile(r"Referral R-\w+ made"))).to_be_visible()
    assert_accessible(page)
    assert Referral.objects.get().route == "detection"
    assert errors == []


def test_school_is_asked_to_refer(browser_page: Any, make_user: Any) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    ours = school(estab="2001", name="Oak Primary")
    AlertFactory.create(school=ours, given_name="Amira", family_name="Khan")
    sign_in(page, make_user(Role.SCHOOL_USER, organisation=ours))
    page.goto("/alerts/")
    expect(
        page.get_by_text("refer the child to the children missing education team")
    ).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Send a data file").click()
    expect(page).to_have_url(path_is("/alerts/upload/"))
    assert_accessible(page)
    page.get_by_label("Roll snapshot (CSV)").check()
    page.get_by_role("button", name="Send file").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    expect(page.get_by_role("link", name="Select a file to upload")).to_be_visible()
    assert_accessible(page)

    page.goto("/alerts/")
    page.get_by_role("link", name="Tell us about a pupil you deleted from your roll").click()
    expect(page).to_have_url(path_is("/alerts/deletion-return/"))
    assert_accessible(page)
    page.get_by_label("UPN").fill("not a upn")
    page.get_by_role("button", name="Send deletion return").click()
    expect(page.get_by_text("There is a problem")).to_be_visible()
    assert_accessible(page)
