"""An officer's tracking work in a real Chromium: a checklist entry (after an error), a
contact attempt, a note and a task completed. Every page visited passes axe-core."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import TEST_PASSWORD
from cmetrack.audit.services import Actor
from cmetrack.casework.models import (
    AddressSearchCheck,
    CaseNote,
    CheckResult,
    CheckStatus,
    ContactAttempt,
    ContactOutcome,
    Task,
    TaskStatus,
)
from cmetrack.casework.services import task_create
from cmetrack.core.tests.axe import assert_accessible

from .factories import open_case

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


def test_officer_records_tracking_work(browser_page: Any, make_user: Any) -> None:
    page = browser_page
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    officer = make_user(Role.CME_OFFICER, full_name="Olive Officer")
    case = open_case(officer=officer, referred_days_ago=40)
    today = timezone.localdate()
    task = task_create(
        actor=Actor.system("test"), case=case, title="Ring the GP practice",
        owner=officer, due=today,
    )  # fmt: skip
    tracking = f"/cases/{case.pk}/tracking/"

    # Sign in, then "Tasks" in the menu: the task links to the case's tracking page.
    page.goto("/sign-in/")
    page.get_by_label("Email address").fill(officer.email)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(path_is("/"))
    assert_accessible(page)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Tasks").click()
    expect(page).to_have_url(path_is("/tasks/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your tasks")
    assert_accessible(page)
    page.get_by_role("link", name="Ring the GP practice").click()
    expect(page).to_have_url(path_is(tracking))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tracking work")
    expect(page.get_by_text("0 of 10 sources recorded.")).to_be_visible()
    assert_accessible(page)

    # A checklist entry (the checklist is one form, a group of radios a source): first
    # without the date and result, then correctly.
    details = page.get_by_role("group", name="Electoral roll", exact=True)
    details.get_by_label("Checked").check()
    page.get_by_role("button", name="Save the checklist").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(summary.get_by_role("link")).to_have_text(
        ["Enter the date you checked this source", "Select whether the child was found"]
    )
    expect(page).to_have_title(re.compile(r"^Error: Tracking work"))
    assert_accessible(page)
    summary.get_by_role("link", name="Enter the date you checked this source").click()
    details = page.locator("details", has_text="Date, result and details: Electoral roll")
    expect(details.get_by_label("Day")).to_be_focused()
    expect(
        page.get_by_role("group", name="Electoral roll", exact=True).get_by_label("Checked")
    ).to_be_checked()  # what was typed is kept
    fill_date(details, today.day, today.month, today.year)
    details.get_by_label("Not found").check()
    page.get_by_role("button", name="Save the checklist").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Recorded on the address-search checklist: Electoral roll"
    )
    expect(page.get_by_text("1 of 10 sources recorded.")).to_be_visible()
    checklist = page.get_by_role("table", name="Address-search checklist")
    expect(checklist.get_by_role("row", name=re.compile("Electoral roll"))).to_contain_text(
        "Not found"
    )
    assert_accessible(page)

    # A contact attempt.
    details = page.locator("details", has_text="Record a contact attempt")
    details.locator("summary").click()
    details.get_by_label("Phone").check()
    fill_date(details, today.day, today.month, today.year)
    details.get_by_label("Time (optional)").fill("14:30")
    details.get_by_label("Who did you try to contact?").fill("Mother, mobile from referral")
    details.get_by_label("No answer").check()
    details.get_by_role("button", name="Save contact attempt").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Contact attempt recorded")
    expect(page.get_by_role("table", name="Contact attempts")).to_contain_text(
        "Mother, mobile from referral"
    )
    assert_accessible(page)

    # A note.
    page.get_by_label("Add a note").fill("Neighbour says the family moved out in October.")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Note added")
    expect(page.locator("main")).to_contain_text("Neighbour says the family moved out in October.")
    assert_accessible(page)

    # The task is done.
    page.get_by_role("button", name=re.compile(r"^Mark as done\W+Ring the GP practice$")).click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "Task marked as done: Ring the GP practice"
    )
    expect(page.get_by_role("table", name="Tasks")).to_contain_text("Done")
    expect(page.get_by_role("button", name=re.compile("Mark as done"))).to_have_count(0)
    assert_accessible(page)

    # The follow-up queue no longer lists the case: it has had contact today.
    page.goto("/cases/no-recent-contact/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Cases with no recent contact")
    expect(page.locator("main")).not_to_contain_text(case.reference)
    assert_accessible(page)

    assert not errors, errors
    check = AddressSearchCheck.objects.get(case=case)
    assert (check.status, check.result, check.date, check.by) == (
        CheckStatus.CHECKED, CheckResult.NOT_FOUND, today, officer
    )  # fmt: skip
    contact = ContactAttempt.objects.get(case=case)
    assert (contact.outcome, contact.time) == (ContactOutcome.NO_ANSWER, dt.time(14, 30))
    assert CaseNote.objects.get(case=case).by == officer
    assert Task.objects.get(pk=task.pk).status == TaskStatus.DONE
