"""Security pages in a real Chromium, each checked with axe-core: an auditor searches the
audit trail, a CME manager allows an officer to see a restricted address, a member of staff
sets up two-factor authentication; and the CSP lets our own scripts run, nothing else."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.people.models import RestrictedAddressAccess
from cmetrack.people.services import child_add_address
from cmetrack.people.tests.factories import ChildFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


@pytest.fixture
def page(browser_page: Any) -> Any:
    """The browser page, failing the test on a script error or a CSP violation."""
    problems: list[str] = []
    browser_page.set_default_timeout(10_000)
    browser_page.on("pageerror", lambda exc: problems.append(str(exc)))
    browser_page.on(
        "console",
        lambda msg: problems.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    yield browser_page
    assert not problems, problems


def sign_in(page: Any, user: Any) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_auditor_searches_the_audit_trail(page: Any, make_user: Any) -> None:
    auditor = make_user(Role.AUDITOR)
    officer = make_user(Role.CME_OFFICER, email="olive@example.org")
    by_olive = Actor(user=officer)
    audit_record(
        actor=by_olive, action=AuditAction.VIEW, child_id=4242, summary="Viewed child record"
    )
    audit_record(actor=by_olive, action=AuditAction.EXPORT, summary="Exported a report")

    sign_in(page, auditor)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")
    # The inline script carrying the CSP nonce ran: GOV.UK Frontend's js-enabled class.
    assert page.evaluate("document.body.classList.contains('js-enabled')")
    page.goto("/audit/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")
    assert_accessible(page)

    # A mistake: the error summary links to the field.
    page.get_by_label("Child record number").fill("forty-two")
    page.get_by_role("button", name="Search").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("There is a problem")
    expect(page).to_have_title(re.compile(r"^Error: Audit trail"))
    assert_accessible(page)
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Child record number")).to_be_focused()

    # By user and child.
    page.get_by_label("User's email address").fill("olive@example.org")
    page.get_by_label("Child record number").fill("4242")
    page.get_by_role("button", name="Search").click()
    table = page.get_by_role("table", name="Audit events")
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table).to_contain_text("Viewed child record")
    expect(table).not_to_contain_text("Exported a report")
    assert_accessible(page)

    # By action and today's date.
    today = dt.date.today()
    page.get_by_label("User's email address").fill("")
    page.get_by_label("Child record number").fill("")
    page.get_by_label("Action").select_option(label="Exported")
    from_ = page.get_by_role("group", name="Date from")
    from_.get_by_label("Day").fill(str(today.day))
    from_.get_by_label("Month").fill(str(today.month))
    from_.get_by_label("Year").fill(str(today.year))
    page.get_by_role("button", name="Search").click()
    expect(table).to_contain_text("Exported a report")
    expect(table).not_to_contain_text("Viewed child record")
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these results as CSV").click()
    assert download.value.suggested_filename.startswith("audit-trail-")
    assert AuditEvent.objects.filter(action=AuditAction.EXPORT, actor=auditor).count() == 1


def test_manager_allows_an_officer_to_see_a_restricted_address(page: Any, make_user: Any) -> None:
    manager = make_user(Role.CME_MANAGER, full_name="Mina Manager")
    officer = make_user(Role.CME_OFFICER, full_name="Oscar Officer")
    child = ChildFactory.create(legal_given_names="Tamsin", legal_family_name="Restrick")
    child_add_address(actor=Actor.system("test"), child=child, line1="5 Quiet Yard",
                      postcode="QY1 1QY", is_restricted=True)  # fmt: skip
    CaseFactory.create(child=child, state="tracking", date_referred=dt.date(2026, 10, 1))

    sign_in(page, manager)
    page.goto(f"/children/{child.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tamsin Restrick")
    expect(page.locator("main")).not_to_contain_text("5 Quiet Yard")
    expect(page.get_by_role("heading", name="Access log")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Manage who can see the restricted address").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who can see the restricted address")
    assert_accessible(page)

    page.get_by_role("button", name="Allow access").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link")).to_have_text([
        "Select the person who needs to see the restricted address",
        "Enter why this person needs the restricted address",
    ])  # fmt: skip
    expect(page).to_have_title(re.compile(r"^Error: Who can see"))
    assert_accessible(page)

    page.get_by_label("Who needs to see the restricted address").select_option(label=str(officer))
    page.get_by_label("Why do they need it").fill("Home visit on Friday")
    page.get_by_role("button", name="Allow access").click()
    table = page.get_by_role("table", name="People allowed to see the restricted address")
    expect(table).to_contain_text("Oscar Officer")
    expect(table).to_contain_text("Home visit on Friday")
    assert_accessible(page)
    access = RestrictedAddressAccess.objects.get(child=child)
    assert access.user == officer
    assert access.granted_by == manager


def test_staff_set_up_two_factor_at_first_sign_in(page: Any, make_user: Any, settings: Any) -> None:
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    settings.CMETRACK_REQUIRE_2FA = True
    officer = make_user(Role.CME_OFFICER)
    sign_in(page, officer)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up two-factor authentication")
    expect(
        page.get_by_role("img", name="QR code to scan with your authenticator app")
    ).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Security code").fill("000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The security code is wrong")
    assert_accessible(page)

    device = TOTPDevice.objects.get(user=officer)
    device.throttle_reset()
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    page.get_by_label("Security code").fill(f"{code:06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")
    assert_accessible(page)

    # Next time: the password, then a code from the app.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, officer)
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your security code")
    assert_accessible(page)
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)  # the same 30 s window again
    page.get_by_label("Security code").fill(f"{code:06d}")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")


def test_lockout_page(page: Any, make_user: Any, settings: Any) -> None:
    settings.AXES_ENABLED = True
    officer = make_user(Role.CME_OFFICER)
    page.goto("/sign-in/")
    for _ in range(5):
        page.get_by_label("Email address").fill(officer.email)
        page.get_by_label("Password", exact=True).fill("not-the-password")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign-in locked")
    expect(page.locator("main")).to_contain_text("try again in 30 minutes")
    assert_accessible(page)


def test_api_docs_render_under_the_csp(page: Any, make_user: Any) -> None:
    sign_in(page, make_user(Role.CME_OFFICER))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your work today")
    page.goto("/api/v1/docs")  # Swagger UI: not our template, so not checked with axe
    # Swagger UI's scripts (from /static/) ran under the CSP and drew the page; the page
    # fixture fails the test on any CSP violation reported in the console.
    expect(page.locator("#swagger-ui .swagger-ui")).to_be_attached()
