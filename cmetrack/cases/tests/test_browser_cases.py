"""An officer works a queue in a real Chromium: opens a case from "Cases", then moves it
tracking → located (living here, not in education) → needs assessment → provision
determined → moved into provision → closed, attending. Every page passes axe-core."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD, SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.cases.lifecycle import CaseState, Outcome
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.core.tests.autocomplete import choose
from cmetrack.core.tests.axe import assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def expect(target: Any) -> Any:
    from playwright.sync_api import expect as _expect

    return _expect(target)


def path_is(path: str) -> re.Pattern[str]:
    return re.compile(rf"^https?://[^/]+{re.escape(path)}(\?.*)?(#.*)?$")


def test_officer_works_a_case_from_the_queue_to_closed(
    browser_page: Any, make_user: Any, settings: Any
) -> None:
    # Closing as attending provision on the day of the move: no attendance monitoring here
    # (the provision app's browser test covers the monitoring period).
    settings.CMETRACK_PROVISION_MONITOR_SCHOOL_DAYS = 0
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")
    school = SchoolFactory.create(name="Riverside Primary School")
    case = case_in_state(CaseState.TRACKING, school=school, assigned_officer=officer)
    detail = f"/cases/{case.pk}/"
    today = timezone.localdate()

    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(officer.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/"))
    assert_accessible(page)

    # The queue: "Cases" in the menu shows the officer's own open cases.
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Cases").click()
    expect(page).to_have_url(path_is("/cases/"))
    expect(page.locator("main").get_by_role("heading", level=2)).to_have_text("Your open cases")
    assert_accessible(page)
    page.get_by_role("link", name=case.reference).click()
    expect(page).to_have_url(path_is(detail))
    expect(page.get_by_role("heading", level=1)).to_have_text(case.child.full_name)
    assert_accessible(page)
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, child_id=case.child_id, actor=officer
    ).exists()

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

    # Located: first without saying where, to see the error summary.
    act("Record where the child is")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_title(re.compile(r"^Error: Record where the child is"))
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary.get_by_role("link", name="Enter where the child is")).to_be_visible()
    assert_accessible(page)
    page.get_by_label("Where the child is").fill("Staying with her aunt, 14 Mill Lane")
    page.get_by_label("Living in the area and not in education").check()
    save()
    expect(page.get_by_text("Staying with her aunt, 14 Mill Lane", exact=True)).to_be_visible()

    act("Begin the needs assessment")
    page.get_by_label("Not known").check()  # is an early help (CAF) assessment in place?
    save()

    act("Record the provision determined")
    page.get_by_label("Mainstream school").check()
    save()

    act("Record the move into provision")
    choose(page, "Provider", "Riverside Primary School")
    page.get_by_label("Day").fill(str(today.day))
    page.get_by_label("Month").fill(str(today.month))
    page.get_by_label("Year").fill(str(today.year))
    save()

    act("Close the case")
    expect(page.get_by_label("Attending new provision")).to_be_checked()
    page.get_by_label("Reason for closing").fill("Attending well for four weeks.")
    save("Close the case")

    stored = Case.objects.get(pk=case.pk)
    assert (stored.state, stored.outcome) == (CaseState.CLOSED, Outcome.ATTENDING_PROVISION)
    assert stored.date_of_assessment == stored.date_provision_determined == today
    assert stored.date_moved_into_provision == today
    assert stored.provider == school

    page.get_by_role("link", name="See the whole chronology").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Chronology")
    expect(page.get_by_role("table")).to_contain_text("Closed: Attending new provision.")
    assert_accessible(page)
    assert not errors, errors
