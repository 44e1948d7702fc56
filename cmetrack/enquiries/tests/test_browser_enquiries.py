"""An officer's enquiry in a real Chromium: refused without a reason, then made to one
named authority; the enquiry, the queue, the directory and the incoming-enquiry form pass
axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.audit.services import Actor
from cmetrack.core.tests.autocomplete import choose
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.enquiries.models import OutgoingEnquiry
from cmetrack.enquiries.services import incoming_enquiry_log, move_notification_send
from cmetrack.organisations.models import LocalAuthority

from .conftest import RESTRICTED_LINE, make_authority

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?(#.*)?$")


def test_officer_makes_an_enquiry(browser_page: Any, make_user: Any, case: Any) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    make_authority("202", "Camden")  # a transactional test starts without the shipped list
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")

    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(officer.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/"))
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Enquiries").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inter-authority enquiries")
    assert_accessible(page)

    page.goto(f"/enquiries/cases/{case.pk}/")
    page.get_by_role("link", name="Make an enquiry to an authority").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("New enquiry to another authority")
    assert RESTRICTED_LINE not in page.content()
    choose(page, "Authority to ask", "Camden (202)", exact=True)
    page.get_by_role("button", name="Record the enquiry as sent").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    assert_accessible(page)

    page.get_by_label("Why do you believe the child is linked to this authority?").fill(
        "The mother told the school they were moving to an aunt in Camden."
    )
    page.get_by_role("button", name="Record the enquiry as sent").click()
    enquiry = OutgoingEnquiry.objects.get()
    expect(page).to_have_url(path_is(f"/enquiries/{enquiry.pk}/"))
    expect(page.get_by_text(f"Enquiry {enquiry.reference} recorded as sent")).to_be_visible()
    assert RESTRICTED_LINE not in page.content()
    assert_accessible(page)

    page.goto("/enquiries/authorities/?q=Camden")
    expect(page.get_by_text("Contact at Camden")).to_be_visible()
    assert_accessible(page)
    page.goto("/enquiries/incoming/new/")
    assert_accessible(page)

    # The case's page with a notice waiting for acknowledgement, and an incoming enquiry.
    actor = Actor(user=officer)
    camden = LocalAuthority.objects.get(code="202")
    move_notification_send(actor=actor, case=case, local_authority=camden)
    page.goto(f"/enquiries/cases/{case.pk}/")
    expect(page.get_by_text("Not yet acknowledged.")).to_be_visible()
    assert_accessible(page)
    incoming = incoming_enquiry_log(
        actor=actor, from_la=camden, received_on=timezone.localdate(), given_names="Jay",
        family_name="Example", reason_linked="Moving to your area.", address_given="1 Row",
    )  # fmt: skip
    page.goto(f"/enquiries/incoming/{incoming.pk}/")
    expect(page.get_by_role("button", name="Search every register")).to_be_visible()
    assert_accessible(page)
    assert errors == []
