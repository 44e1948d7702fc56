"""An officer adds a child to the home-education list (after an error), finds them by
search, and a manager decides a consent request; the CNIS register and a case's
consultations page are visited. Every page passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD, SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.core.tests.autocomplete import choose
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import HomeEducationRecord
from cmetrack.registers.services import consent_request_record

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def sign_in(page: Any, user: Any) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/$"))


def fill_date(scope: Any, legend: str, day: int, month: int, year: int) -> None:
    group = scope.get_by_role("group", name=legend)
    group.get_by_label("Day").fill(str(day))
    group.get_by_label("Month").fill(str(month))
    group.get_by_label("Year").fill(str(year))


@override_settings(CMETRACK_CNIS_ENABLED=True)
def test_home_education_journey(browser_page: Any, make_user: Any) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    today = timezone.localdate()
    SchoolFactory.create(name="Hillside Primary")
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")
    sign_in(page, officer)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Home education").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Home-education list")
    assert_accessible(page)

    page.get_by_role("button", name="Add a child to the list").click()
    page.get_by_role("button", name="Add to the list").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page).to_have_title(re.compile(r"^Error: "))
    assert_accessible(page)
    page.get_by_label("First name").fill("Rosa")
    page.get_by_label("Last name").fill("Quint")
    fill_date(page, "Date of birth", 4, 5, 2015)
    page.get_by_label("The parent told the authority").check()
    fill_date(page, "When did the authority learn of it?", today.day, today.month, today.year)
    fill_date(page, "When did home education start?", today.day, today.month, today.year)
    choose(page, "Previous school", "Hillside Primary", exact=True)
    page.get_by_label("No special educational needs").check()
    page.get_by_role("button", name="Add to the list").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Quint")
    expect(page.get_by_text("No further action").first).to_be_visible()
    assert_accessible(page)
    assert HomeEducationRecord.objects.get().child.legal_family_name == "Quint"

    page.goto("/home-education/?q=quint")
    expect(page.get_by_role("link", name="Rosa Quint")).to_be_visible()
    assert_accessible(page)

    page.goto("/children-not-in-school/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Children not in school register")
    assert_accessible(page)
    page.get_by_role("link", name="What is missing, for whom").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("What the register is missing")
    assert_accessible(page)
    page.goto("/children-not-in-school/")
    page.get_by_role("link", name="Rosa Quint").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Rosa Quint")
    assert_accessible(page)

    case = case_in_state(CaseState.TRACKING, assigned_officer=officer)
    page.goto(f"/cases/{case.pk}/consultations/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Consultations")
    assert_accessible(page)


def test_manager_decides_consent(browser_page: Any, make_user: Any) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    today = timezone.localdate()
    officer = make_user(Role.CME_OFFICER)
    consent_request_record(
        actor=Actor(user=officer),
        child=ChildFactory.create(legal_given_names="Tam", legal_family_name="Orr"),
        school=SchoolFactory.create(name="Brook Special School", school_type="special"),
        requested_on=today,
        requested_by="Mother",
    )
    sign_in(page, make_user(Role.CME_MANAGER))
    page.goto("/home-education/consent/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Consent to home educate")
    assert_accessible(page)
    page.locator("summary", has_text="Decide on this request").click()
    page.get_by_label("Refuse consent").check()
    fill_date(page, "Date of the decision", today.day, today.month, today.year)
    page.get_by_label("Reasons").fill("Needs met only at the special school")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Decision recorded for Tam Orr")).to_be_visible()
    expect(page.get_by_text("Consent refused", exact=False).first).to_be_visible()
    assert_accessible(page)
