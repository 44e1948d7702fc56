"""The front door in a real Chromium: a school refers a pupil from its roll, a member of
the public reports a child, an officer triages a referral into SLO investigation. Every
page visited passes axe-core."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD, SchoolFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import ReferralRoute
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.referrals.models import CheckKind, Referral, ReferralStatus
from cmetrack.referrals.services import referral_record

from .factories import RollEntryFactory, RollSnapshotFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?(#.*)?$")


def fill_date(scope: Any, day: int, month: int, year: int) -> None:
    scope.get_by_label("Day").fill(str(day))
    scope.get_by_label("Month").fill(str(month))
    scope.get_by_label("Year").fill(str(year))


def sign_in(page: Any, user: Any) -> None:
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/"))
    assert_accessible(page)


@pytest.fixture
def page(browser_page: Any) -> Any:
    browser_page.set_default_timeout(10_000)
    errors: list[str] = []
    browser_page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield browser_page
    assert not errors, f"JavaScript errors on the pages: {errors}"


def test_a_school_refers_a_pupil_from_its_roll(page: Any, make_user: Any) -> None:
    school = SchoolFactory.create(name="Oakfield Primary School")
    user = make_user(Role.SCHOOL_USER, organisation=school, full_name="Sam School")
    snapshot = RollSnapshotFactory.create(school=school)
    RollEntryFactory.create(snapshot=snapshot)
    RollEntryFactory.create(
        snapshot=snapshot, upn="B801200005001", legal_given_name="Tom", legal_family_name="Reed"
    )
    today = timezone.localdate()

    sign_in(page, user)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Referrals").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your referrals")
    assert_accessible(page)
    page.get_by_role("button", name="Refer a pupil").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose the pupil to refer")
    assert_accessible(page)
    page.get_by_label("Pupil's name or UPN").fill("kowal")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("table")).to_contain_text("Ola Kowalska")
    expect(page.get_by_role("table")).not_to_contain_text("Reed")
    assert_accessible(page)
    page.get_by_role("link", name="Refer Ola Kowalska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Refer Ola Kowalska")
    expect(page.get_by_label("UPN (optional)")).to_have_value("H801200001001")
    assert_accessible(page)

    # Fewer than 10 school days and the checks not said to be complete: refused.
    page.get_by_label("Full name").first.fill("Maria Kowalska")
    page.get_by_label("Relationship to the child").first.select_option("mother")
    page.get_by_label("Phone number").first.fill("07700 900123")
    fill_date(page.get_by_role("group", name="Date the child last attended"), 30, 10, 2026)
    page.get_by_label("School days of continuous unexplained absence").fill("4")
    page.get_by_role("group", name="Is there a safeguarding concern about the child?").get_by_label(
        "No", exact=True
    ).check()
    # The checks' follow-up questions are revealed by the answer that needs them.
    friends = page.locator(f"#check-{CheckKind.FRIENDS}")
    expect(friends.get_by_label("Why was it not possible?")).to_be_hidden()
    friends.get_by_label("Not possible", exact=True).check()
    expect(friends.get_by_label("Why was it not possible?")).to_be_visible()
    expect(friends.get_by_label("What happened")).to_be_hidden()
    friends.get_by_label("Why was it not possible?").fill("Typed, then the answer changed")
    for kind in CheckKind:
        check = page.locator(f"#check-{kind}")
        if kind == CheckKind.TELEPHONED:
            check.get_by_label("Done", exact=True).check()
            expect(check.get_by_label("What happened")).to_be_visible()
            fill_date(check, today.day, today.month, today.year)
            check.get_by_label("What happened").fill("No answer on either number")
        else:
            check.get_by_label("Not applicable", exact=True).check()
    expect(friends.get_by_label("Why was it not possible?")).to_be_hidden()
    concern = page.get_by_role("group", name="Is there a safeguarding concern about the child?")
    expect(page.get_by_label("Describe the concern")).to_be_hidden()
    concern.get_by_label("Yes", exact=True).check()
    expect(page.get_by_label("Describe the concern")).to_be_visible()
    assert_accessible(page)  # with the reveals open
    concern.get_by_label("No", exact=True).check()
    page.get_by_label("Why are you referring the child?").fill("Not seen since 30 October.")
    page.get_by_role("button", name="Continue").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary).to_contain_text("fewer than 10 school days")
    expect(page).to_have_title(re.compile(r"^Error: Refer Ola Kowalska"))
    assert_accessible(page)
    # The summary's link takes the keyboard to the field.
    summary.get_by_role("link", name=re.compile("fewer than 10 school days")).click()
    expect(page.get_by_label("The school has completed every check")).to_be_focused()
    assert not Referral.objects.exists()

    # Every check done or not applicable, and the school says so: on to check the answers.
    page.get_by_label("The school has completed every check").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check your answers before referring Ola Kowalska"
    )
    answers = page.locator(".govuk-summary-list")
    expect(answers.first).to_contain_text("Ola")
    expect(page.locator("main")).to_contain_text("No answer on either number")
    expect(page.locator("main")).not_to_contain_text("Typed, then the answer changed")
    assert_accessible(page)
    assert not Referral.objects.exists()  # nothing is sent before "Send referral"

    # "Change" goes back to the field, with every answer kept.
    page.get_by_role("link", name="Change why are you referring the child?").click()
    expect(page.get_by_label("Why are you referring the child?")).to_have_value(
        "Not seen since 30 October."
    )
    assert_accessible(page)
    page.get_by_label("Why are you referring the child?").fill("Not seen since 30 October 2026.")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("main")).to_contain_text("Not seen since 30 October 2026.")
    page.get_by_role("button", name="Send referral").click()
    referral = Referral.objects.get()
    expect(page.locator(".govuk-panel")).to_contain_text(referral.reference)
    expect(page.get_by_text("Do not remove this pupil from your roll")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="see all your referrals").click()
    expect(page.get_by_role("table")).to_contain_text(referral.reference)
    expect(page.get_by_role("table")).to_contain_text("Do not remove the child from roll")
    assert_accessible(page)
    assert referral.checks.count() == 6
    assert referral.all_checks_complete
    assert referral.reason == "Not seen since 30 October 2026."
    friends_check = referral.checks.get(kind=CheckKind.FRIENDS)
    assert (friends_check.status, friends_check.reason) == ("not_applicable", "")


def test_a_member_of_the_public_reports_a_child(page: Any, settings: Any) -> None:
    settings.CMETRACK_PUBLIC_REPORT_MIN_SECONDS = 0
    cache.clear()
    page.goto("/report-a-child/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Tell us about a child who may be missing education"
    )
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the child's first name")
    assert_accessible(page)
    page.get_by_label("Child's first name").fill("Sam")
    page.get_by_label("How old do you think the child is? (optional)").fill("10")
    page.get_by_label("Where have you seen the child, or where do they live?").fill("Mill Lane")
    page.get_by_label("Why do you think the child is not in school?").fill("Home every day")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your answers before sending")
    expect(page.locator("main")).to_contain_text("Mill Lane")
    assert_accessible(page)
    assert not Referral.objects.exists()
    page.get_by_role("button", name="Send").click()
    referral = Referral.objects.get()
    expect(page.locator(".govuk-panel")).to_contain_text(referral.reference)
    assert_accessible(page)
    assert referral.route == ReferralRoute.PUBLIC


def test_an_officer_triages_a_school_referral_into_slo_investigation(
    page: Any, make_user: Any
) -> None:
    school = SchoolFactory.create(name="Riverside Primary School")
    referral = referral_record(
        actor=Actor.system("test"),
        route=ReferralRoute.SCHOOL,
        given_names="Ola",
        family_name="Kowalska",
        dob=dt.date(2015, 3, 14),
        reason="Not attended for 12 school days",
        school=school,
        referring_organisation=school,
    )
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")

    sign_in(page, officer)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Triage").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Referrals to triage")
    assert_accessible(page)
    page.get_by_role("link", name=referral.reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Triage referral {referral.reference}"
    )
    expect(page.locator("#school-age")).to_contain_text("Of compulsory school age on")
    expect(page.get_by_text("No possible duplicate found.")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Create a new child record").check()
    page.get_by_label("Open a case and send it to SLO investigation").check()
    page.get_by_label("Assign the case to (optional)").select_option(label="Olive Officer")
    page.get_by_role("button", name="Save decision").click()
    expect(page).to_have_url(path_is(f"/referrals/{referral.reference}/"))
    expect(page.locator("main")).to_contain_text("School Liaison Officer investigating")
    assert_accessible(page)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.LINKED
    assert referral.case is not None
    assert referral.case.state == CaseState.SLO_INVESTIGATION
    assert referral.case.assigned_officer == officer
