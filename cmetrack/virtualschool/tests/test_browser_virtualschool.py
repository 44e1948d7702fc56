"""The Virtual School officer's day in a real Chromium: the dashboard with a child in care
who moved placement without a school place and whose attendance fell to 95 %, the in-care
record, a plan written after an error, then reviewed. Every page visited passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.detection.models import AlertRule
from cmetrack.detection.tests.factories import AlertFactory
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.virtualschool import services
from cmetrack.virtualschool.models import PersonalEducationPlan

from .factories import SYSTEM, cme_case, days_ago, placement_values, record, user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def sign_in(page: Any, email: str) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/(\?.*)?$"))


def test_the_virtual_school_officers_day(browser_page: Any) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    vs = user(Role.VIRTUAL_SCHOOL, full_name="Vera School")
    rec = record(ChildFactory.create(legal_given_names="Tia", legal_family_name="Incare"))
    case = cme_case(rec.child)
    services.placement_change(actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(2)))
    AlertFactory.create(
        rule=AlertRule.IN_CARE_ATTENDANCE, upn=rec.child.upn, child=rec.child,
        episode_start="2026-09-01", detected_on=timezone.localdate(),
        evidence={"attended_sessions": 57, "possible_sessions": 60, "attendance_percent": 95.0},
    )  # fmt: skip

    sign_in(page, vs.email)
    page.get_by_role("link", name="Virtual School").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Virtual School: children in care")
    main = page.locator("main")
    expect(main).to_contain_text("Moved placement with no school recorded")
    expect(main).to_contain_text("95.0%")
    expect(main).to_contain_text("PEP needed")
    assert_accessible(page)

    page.get_by_role("link", name="Write the PEP").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Personal education plan")
    assert_accessible(page)
    page.get_by_label("Who attended").fill("Virtual School officer, social worker")
    page.get_by_label("Summary of the meeting").fill("Tia was not at the meeting.")
    page.locator("#id_suitable_education-2").check()  # "No"
    page.get_by_role("button", name="Save the plan").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link")).to_have_text(
        ["Give the reasons the child is not receiving suitable education, or why it is not known"]
    )
    expect(page).to_have_title(re.compile(r"^Error: "))
    assert_accessible(page)
    page.get_by_label("Reasons").fill("No school place since the move")
    page.get_by_role("button", name="Save the plan").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Personal education plan saved"
    )
    expect(page.locator("main")).to_contain_text("Target 2: Academic achievement")
    assert_accessible(page)

    page.get_by_role("link", name="Record a review").click()
    assert_accessible(page)
    page.get_by_label("Day").first.fill(str(days_ago(0).day))
    page.get_by_label("Month").first.fill(str(days_ago(0).month))
    page.get_by_label("Year").first.fill(str(days_ago(0).year))
    page.get_by_label("Who attended").fill("Virtual School officer")
    page.get_by_label("Summary of the review").fill("Place offered at Elm Academy.")
    page.locator("#id_suitable_education").check()  # "Yes"
    page.get_by_role("button", name="Save the review").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("PEP review recorded")
    assert PersonalEducationPlan.objects.get(case=case).reviews.count() == 1

    page.get_by_role("link", name="Back to the in-care record").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tia Incare")
    assert_accessible(page)
    assert errors == []
