"""In a real Chromium: a located child is assessed, referred to the fair-access panel, the
panel names a school, the child starts there; the case will not close until the
attendance feed shows the monitoring period, then it closes. Every page passes axe-core."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState, Outcome
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.core.tests.autocomplete import choose
from cmetrack.core.tests.axe import assert_accessible
from cmetrack.people.models import Address
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.provision.models import PanelDecision, PanelReferral, Placement
from cmetrack.referrals.tests.test_browser_referrals import expect, fill_date, path_is, sign_in
from cmetrack.schoolcalendar.selectors import school_days

from .factories import centroid, figure, import_marks, make_upn, provider, term_around, today

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def test_a_located_child_through_the_panel_into_a_school_and_closed_after_monitoring(
    browser_page: Any, make_user: Any, tmp_path: Path
) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    term_around(today())
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")
    centroid("AB1 2CD", 51.50, -0.10)
    named = provider("Hillside Academy", estab="4001", at=(51.52, -0.10), sen="mainstream")
    other = provider("Riverside Academy", estab="4002", at=(51.60, -0.10))
    figure(named, 7, 1)
    figure(other, 7, 4, as_of=today() - dt.timedelta(days=45))
    child = ChildFactory.create(upn=make_upn(5), legal_given_names="Ola", legal_family_name="Nowak")
    Address.objects.create(child=child, line1="14 Mill Lane", postcode="AB1 2CD")
    case = case_in_state(CaseState.LOCATED, child=child, assigned_officer=officer)
    provision = f"/provision/cases/{case.pk}/"
    day = {n: today() - dt.timedelta(days=n) for n in (38, 37, 36, 35, 30)}

    def date(group: str, d: dt.date) -> None:
        fill_date(page.get_by_role("group", name=group), d.day, d.month, d.year)

    def save(button: str) -> None:
        page.get_by_role("button", name=button).click()
        expect(page).to_have_url(path_is(provision))
        assert_accessible(page)

    # The officer opens the case and goes to its provision page: the shortlist.
    sign_in(page, officer)
    page.goto(f"/cases/{case.pk}/")
    page.get_by_role("link", name="Places shortlist, admissions, fair-access panel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Securing provision")
    shortlist = page.get_by_role("table", name="Providers with places, nearest first")
    expect(shortlist.get_by_role("row").nth(1)).to_contain_text("Hillside Academy")
    expect(shortlist.get_by_role("row").nth(1)).to_contain_text("1.4 miles")
    expect(shortlist.get_by_role("row").nth(2)).to_contain_text("Stale")
    assert_accessible(page)

    # Needs assessed; mainstream school recommended (the date determined is set).
    page.get_by_role("link", name="Record the form of provision recommended").click()
    assert_accessible(page)
    date("Date of the needs assessment", day[38])
    page.get_by_label("Mainstream school").check()
    date("Date the form of provision was determined", day[37])
    save("Save")
    expect(page.get_by_role("alert")).to_contain_text("Form of provision recorded")

    # Referred to the fair-access panel; the panel names Hillside Academy.
    page.get_by_role("link", name="Refer to the fair-access panel").click()
    page.get_by_role("button", name="Save referral").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter the date of the referral to the panel")
    assert_accessible(page)
    date("Date of the referral", day[36])
    page.get_by_label("Why the child needs the panel").fill("Two schools say they are full.")
    save("Save referral")
    # The panel's agenda lists the child, with the form recommended and the wait.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Places").click()
    assert_accessible(page)
    page.get_by_role("link", name="Children waiting for a place").click()
    agenda = page.get_by_role("table", name="Children waiting for the fair-access panel")
    expect(agenda).to_contain_text("Ola Nowak")
    expect(agenda).to_contain_text("Mainstream school")
    delays = page.get_by_role("table", name="Children waiting too long")
    expect(delays).to_contain_text("No place offered")
    expect(delays).to_contain_text("Panel decision outstanding")
    assert_accessible(page)
    agenda.get_by_role("link", name=case.reference).click()
    page.get_by_role("link", name="Record the panel's decision").click()
    page.get_by_label("A school is named to admit the child").check()
    choose(page, "School or provider named", "Hillside Academy")
    date("Date of the decision", day[35])
    assert_accessible(page)
    save("Save decision")
    expect(page.locator("#panel ~ table, #panel + table").first).to_contain_text("Hillside Academy")

    # The child starts at the school named (offered first on the form).
    page.get_by_role("link", name="Record the start at the new provider").click()
    # The named school is chosen already (the autocomplete shows its name; the select
    # underneath holds its id).
    expect(page.get_by_label("School or provider")).to_have_value(named.name)
    expect(page.locator("select[name=provider]")).to_have_value(str(named.pk))
    date("Date the child started", day[30])
    expect(page.get_by_label("UPN at the provider")).to_have_value(make_upn(5))
    save("Save start")
    expect(page.locator("main")).to_contain_text("Attendance in the new provision")
    expect(page.locator("main")).to_contain_text("No attendance marks")

    # Closing now is refused, naming the rule.
    page.get_by_role("link", name="Back to the case").click()
    # In provision, closing is the case page's next step (its one primary button).
    page.locator("main a.govuk-button", has_text="Close the case").click()
    page.get_by_label("Reason for closing").fill("Attending well.")
    page.get_by_role("button", name="Close the case").click()
    expect(page.get_by_role("alert")).to_contain_text("20 school days")
    expect(page.get_by_role("alert")).to_contain_text("90%")
    assert_accessible(page)
    assert Case.objects.get(pk=case.pk).state == CaseState.IN_PROVISION

    # The attendance feed brings 20 school days of marks at the school: the case closes.
    started = day[30]
    import_marks(tmp_path, named, make_upn(5), school_days(named, started, today())[:20])
    page.goto(provision)
    expect(page.locator("main")).to_contain_text("Monitoring complete: the case can close")
    assert_accessible(page)
    page.get_by_role("link", name="Back to the case").click()
    # In provision, closing is the case page's next step (its one primary button).
    page.locator("main a.govuk-button", has_text="Close the case").click()
    page.get_by_label("Reason for closing").fill("Attending well for four weeks.")
    page.get_by_role("button", name="Close the case").click()
    expect(page).to_have_url(path_is(f"/cases/{case.pk}/"))
    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.outcome) == (CaseState.CLOSED, Outcome.ATTENDING_PROVISION)
    assert (stored.date_of_assessment, stored.date_provision_determined) == (day[38], day[37])
    assert stored.date_moved_into_provision == day[30]
    assert stored.provider == named
    referral = PanelReferral.objects.get(case=case)
    assert (referral.decision, referral.named_school) == (PanelDecision.SCHOOL_NAMED, named)
    assert Placement.objects.get(case=case).upn == make_upn(5)
    assert not errors, errors
