"""A case goes from tracking to dormant in a real Chromium: the officer records a risk
assessment (after an error), a manager authorises it, the case is made dormant, then the
first monthly review is recorded. Every page visited passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.casework.models import Task
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.safeguarding.models import DormantReview, RiskAssessment
from cmetrack.safeguarding.rules import RiskFactor

from .factories import open_case, record_screening, user

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?(#.*)?$")


def sign_in(page: Any, email: str) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/"))


def test_tracking_to_dormant_through_an_authorised_risk_assessment(
    browser_page: Any, settings: Any
) -> None:
    settings.CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = "01234 567890"
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    officer = user(Role.CME_OFFICER, full_name="Olive Officer")
    manager = user(Role.CME_MANAGER, full_name="Mia Manager")
    case = open_case(officer=officer, referred_days_ago=60)
    record_screening(case, Actor(user=officer), missing_with_family="Family left together")
    home = f"/cases/{case.pk}/safeguarding/"

    # The officer: the safeguarding page shows the emergency route and the screening.
    sign_in(page, officer.email)
    page.goto(home)
    expect(page.get_by_role("heading", level=1)).to_have_text("Safeguarding")
    emergency = page.get_by_role("region", name="Immediate danger")
    expect(emergency).to_contain_text("call the police on 999")
    expect(emergency).to_contain_text("Call children's social care on 01234 567890")
    expect(page.locator("main")).to_contain_text("Refer to the police")
    expect(page.locator("main")).to_contain_text(
        "A case goes dormant only once a risk assessment has been authorised by a manager."
    )
    assert_accessible(page)

    # A risk assessment: a yes without supporting information first.
    page.get_by_role("link", name="Complete a risk assessment").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Risk assessment")
    assert_accessible(page)
    for factor in RiskFactor:
        page.locator(f"#id_factor_{factor.value}-2").check()  # "No"
    page.locator("#id_factor_9").check()  # "Yes": all phone numbers contacted
    page.get_by_label("Summary of the referral").fill("Family left in October; no trace.")
    page.get_by_label("Medium").check()
    page.get_by_label("Police missing-person co-ordinator").check()
    page.get_by_role("button", name="Save the risk assessment").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text(
        [f"Enter the supporting information for “{RiskFactor(9).label}”"]
    )
    expect(page).to_have_title(re.compile(r"^Error: Risk assessment"))
    assert_accessible(page)
    summary.get_by_role("link").click()
    expect(page.locator("#id_factor_9_details")).to_be_focused()
    page.locator("#id_factor_9_details").fill("Mobile and landline, three times each")
    page.get_by_role("button", name="Save the risk assessment").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Risk assessment recorded: a manager must authorise it"
    )
    expect(page.locator("main")).to_contain_text("Waiting for authorisation")
    expect(page.get_by_role("button", name="Authorise this risk assessment")).to_have_count(0)
    assert_accessible(page)
    assessment = RiskAssessment.objects.get(case=case)
    detail = f"/cases/{case.pk}/safeguarding/risk-assessments/{assessment.pk}/"

    # The manager authorises it.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, manager.email)
    page.goto(detail)
    page.get_by_role("button", name="Authorise this risk assessment").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Risk assessment authorised: its actions are now tasks"
    )
    expect(page.locator("main")).to_contain_text("by Mia Manager")
    assert_accessible(page)

    # The case goes dormant.
    page.get_by_role("link", name="Back to safeguarding").click()
    page.get_by_label("Why the case goes dormant (optional)").fill("Every avenue tried.")
    page.get_by_role("button", name="Make the case dormant").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("The case is dormant")
    expect(page.locator("main")).to_contain_text("Next review due on")
    assert_accessible(page)

    # The first monthly review.
    page.get_by_role("link", name="Record the monthly review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Monthly review of a dormant case")
    assert_accessible(page)
    page.get_by_label("What did you check?").fill("School census, GP practice, electoral roll")
    page.get_by_label("What was the result?").fill("No trace of the family")
    page.get_by_role("group", name="Does the risk level still hold?").get_by_label("Yes").check()
    page.get_by_label("Keep the case dormant and review it again next month").check()
    page.get_by_role("button", name="Save the review").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Review recorded")
    expect(page.get_by_role("table", name="Monthly reviews")).to_contain_text(
        "No trace of the family"
    )
    assert_accessible(page)

    # The manager's review queue: nothing overdue, the case reviewed today.
    page.goto("/dormant-reviews/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dormant case reviews")
    expect(page.locator("main")).to_contain_text("No review is overdue.")
    assert_accessible(page)

    assert not errors, errors
    assert Case.objects.get(pk=case.pk).state == CaseState.DORMANT
    review = DormantReview.objects.get(case=case)
    assert (review.by, review.reviewed_on, review.risk_level_holds) == (
        manager, timezone.localdate(), True
    )  # fmt: skip
    assert Task.objects.filter(case=case, owner=officer).count() == 2 + 4  # screening + medium
