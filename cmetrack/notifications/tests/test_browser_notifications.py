"""The email settings page in a browser: reached from the account area, GOV.UK radios,
checked with axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.notifications.models import Preference

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


@pytest.fixture
def page(browser_page: Any) -> Any:
    browser_page.set_default_timeout(10_000)
    errors: list[str] = []
    browser_page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield browser_page
    assert not errors, f"JavaScript errors on the pages: {errors}"


def test_a_person_changes_their_email_settings(page: Any, make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(officer.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Email settings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email settings")
    assert_accessible(page)
    page.get_by_role("group", name="A task given to you").get_by_label(
        "In one email a day (a daily digest)"
    ).check()
    page.get_by_role("group", name="A school's attendance feed gone stale").get_by_label(
        "Off: do not email me"
    ).check()
    page.get_by_role("button", name="Save settings").click()
    expect(page).to_have_url(re.compile(r"/notifications/settings/\?saved=1$"))
    expect(page.get_by_text("Your email settings have been saved.")).to_be_visible()
    assert_accessible(page)
    assert dict(Preference.objects.filter(user=officer).values_list("kind", "frequency")) == {
        "task_assigned": "daily",
        "feed_stale": "off",
    }


def test_a_manager_sees_the_emails_sent(page: Any, make_user: Any) -> None:
    from cmetrack.notifications.services import notification_send

    manager = make_user(Role.CME_MANAGER)
    officer = make_user(Role.CME_OFFICER)
    notification_send(key="task_assigned", recipients=[officer], reference="CME-2026-00077")
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(manager.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Email settings").click()
    page.get_by_role("link", name="See the emails cmetrack has sent and their delivery").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Emails sent")
    row = page.get_by_role("row").filter(has_text="CME-2026-00077")
    expect(row).to_contain_text(officer.email)
    expect(row).to_contain_text("Waiting to be sent")
    assert_accessible(page)
    page.get_by_label("Status").select_option("delivered")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_text("No emails.")).to_be_visible()
    assert_accessible(page)
