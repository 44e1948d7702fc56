"""The whole journey in a real Chromium, as each person would do it: a school refers a pupil
from its roll, a CME officer triages it into SLO investigation, the School Liaison Officer
confirms it is children missing education, the officer tracks and locates the child,
secures provision and closes the case, and the school sees the outcome. Every page visited
passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.cases.lifecycle import CaseState, Outcome
from cmetrack.cases.models import Case
from cmetrack.core.tests.autocomplete import choose
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.referrals.models import CheckKind, Referral
from cmetrack.referrals.tests.factories import RollEntryFactory, RollSnapshotFactory
from cmetrack.referrals.tests.test_browser_referrals import expect, fill_date, path_is, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(path_is("/sign-in/"))


def test_a_referral_from_the_school_to_a_closed_case(
    browser_page: Any, make_user: Any, settings: Any
) -> None:
    # Closing as attending provision on the day of the move: no attendance monitoring here
    # (the provision app's browser test covers the monitoring period).
    settings.CMETRACK_PROVISION_MONITOR_SCHOOL_DAYS = 0
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    today = timezone.localdate()
    school = SchoolFactory.create(name="Oakfield Primary School")
    school_user = make_user(Role.SCHOOL_USER, organisation=school, full_name="Sam School")
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")
    slo = make_user(Role.SLO, full_name="Liam Liaison")
    slo.linked_schools.set([school])
    RollEntryFactory.create(snapshot=RollSnapshotFactory.create(school=school))

    # 1. The school refers a pupil from its own roll: 12 days of unexplained absence.
    sign_in(page, school_user)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Referrals").click()
    page.get_by_role("button", name="Refer a pupil").click()
    page.get_by_label("Pupil's name or UPN").fill("Kowalska")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Refer Ola Kowalska").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Refer Ola Kowalska")
    assert_accessible(page)
    page.get_by_label("Full name").first.fill("Maria Kowalska")
    page.get_by_label("Relationship to the child").first.select_option("mother")
    page.get_by_label("Phone number").first.fill("07700 900123")
    fill_date(page.get_by_role("group", name="Date the child last attended"), 30, 10, 2026)
    page.get_by_label("School days of continuous unexplained absence").fill("12")
    page.get_by_role("group", name="Is there a safeguarding concern about the child?").get_by_label(
        "No", exact=True
    ).check()
    for kind in CheckKind:
        check = page.locator(f"#check-{kind}")
        check.get_by_label("Done", exact=True).check()
        fill_date(check, today.day, today.month, today.year)
        check.get_by_label("What happened").fill("No contact made")
    page.get_by_label("The school has completed every check").check()
    page.get_by_label("Why are you referring the child?").fill("Not seen since 30 October.")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check your answers before referring Ola Kowalska"
    )
    assert_accessible(page)
    page.get_by_role("button", name="Send referral").click()
    referral = Referral.objects.get()
    expect(page.locator(".govuk-panel")).to_contain_text(referral.reference)
    assert_accessible(page)
    sign_out(page)

    # 2. A CME officer triages it: of school age, no duplicate, to SLO investigation.
    sign_in(page, officer)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Triage").click()
    page.get_by_role("link", name=referral.reference).click()
    expect(page.locator("#school-age")).to_contain_text("Of compulsory school age on")
    assert_accessible(page)
    page.get_by_label("Create a new child record").check()
    page.get_by_label("Open a case and send it to SLO investigation").check()
    page.get_by_label("Assign the case to (optional)").select_option(label="Olive Officer")
    page.get_by_role("button", name="Save decision").click()
    expect(page.locator("main")).to_contain_text("School Liaison Officer investigating")
    assert_accessible(page)
    referral.refresh_from_db()
    assert referral.case is not None
    case = referral.case
    detail = f"/cases/{case.pk}/"
    sign_out(page)

    def act(link: str) -> None:
        # The case page's next step is a link styled as a button (role "button").
        page.get_by_role("link", name=link).or_(page.get_by_role("button", name=link)).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(link)
        assert_accessible(page)

    def save(button: str = "Save") -> None:
        page.get_by_role("button", name=button).click()
        expect(page).to_have_url(path_is(detail))
        expect(page.get_by_role("alert")).to_be_visible()
        expect(page.get_by_role("alert")).not_to_contain_text(": done.")
        assert_accessible(page)

    # 3. The SLO visits and decides: children missing education, to tracking.
    sign_in(page, slo)
    page.goto(detail)
    expect(page.get_by_role("heading", level=1)).to_have_text(case.child.full_name)
    assert_accessible(page)
    act("Record the SLO's decision")
    page.get_by_label("Children missing education: the CME team tracks the child").check()
    page.get_by_label("Reason for the decision").fill("Home visit: the house is empty.")
    save()
    assert Case.objects.get(pk=case.pk).state == CaseState.TRACKING
    sign_out(page)

    # 4. The officer locates the child, secures provision and closes the case.
    sign_in(page, officer)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Cases").click()
    page.get_by_role("link", name=case.reference).click()
    expect(page).to_have_url(path_is(detail))
    assert_accessible(page)
    act("Record where the child is")
    page.get_by_label("Where the child is").fill("Staying with her aunt, 14 Mill Lane")
    page.get_by_label("Living in the area and not in education").check()
    save()
    act("Begin the needs assessment")
    page.get_by_label("Not known").check()  # is an early help (CAF) assessment in place?
    save()
    act("Record the provision determined")
    page.get_by_label("Mainstream school").check()
    save()
    act("Record the move into provision")
    choose(page, "Provider", "Oakfield Primary School")
    fill_date(page, today.day, today.month, today.year)
    save()
    act("Close the case")
    page.get_by_label("Reason for closing").fill("Attending well for four weeks.")
    save("Close the case")
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.outcome) == (CaseState.CLOSED, Outcome.ATTENDING_PROVISION)
    assert stored.date_of_assessment is not None
    assert stored.date_referred <= stored.date_of_assessment <= today
    assert stored.date_moved_into_provision == today
    page.get_by_role("link", name="See the whole chronology").click()
    chronology = page.get_by_role("table")
    for entry in ("SLO investigation", "Tracking", "Located", "Closed: Attending new provision."):
        expect(chronology).to_contain_text(entry)
    assert_accessible(page)
    sign_out(page)

    # 5. The school sees the outcome of its referral, never the case's notes.
    sign_in(page, school_user)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Referrals").click()
    table = page.get_by_role("table")
    expect(table).to_contain_text(referral.reference)
    expect(table).to_contain_text(re.compile("Closed"))
    expect(page.locator("main")).not_to_contain_text("Staying with her aunt")
    assert_accessible(page)
    assert not errors, errors
