"""The work queue shows days open, last contact, next task due and risk level (columns the
areas register), states as GOV.UK tags, sorts by how long a case has been open, and keeps
its filters and order in the URL."""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.cases.selectors import QUEUE_COLUMNS, queue_page
from cmetrack.casework import services as casework
from cmetrack.casework.models import Task
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.safeguarding.tests.factories import record_assessment

pytestmark = pytest.mark.django_db


def cases(officer: Any, n: int = 3) -> list[Case]:
    today = timezone.localdate()
    return [
        Case.objects.create(
            child=ChildFactory.create(),
            route=ReferralRoute.SCHOOL,
            state=CaseState.TRACKING,
            date_referred=today - dt.timedelta(days=10 * (i + 1)),
            assigned_officer=officer,
        )
        for i in range(n)
    ]


def test_the_areas_register_their_columns() -> None:
    assert [c.header for c in QUEUE_COLUMNS.values()] == [
        "Last contact",
        "Next task due",
        "Risk level",
    ]


def test_queue_rows_carry_the_columns_and_tags(
    client: Client, make_user: Any, today: dt.date
) -> None:
    officer = make_user(Role.CME_OFFICER)
    oldest, middle, newest = sorted(cases(officer), key=lambda c: c.date_referred)
    Task.objects.create(case=middle, title="Ring", owner=officer, due=today + dt.timedelta(days=2))
    casework.contact_attempt_record(
        actor=Actor(user=officer),
        case=middle,
        method="phone",
        date=today - dt.timedelta(days=1),
        with_whom="Mother",
        outcome="no_answer",
    )
    record_assessment(middle, officer, "high")
    client.force_login(officer)
    page = html.unescape(client.get("/cases/?queue=mine").content.decode())
    flat = " ".join(page.split())
    assert '<strong class="govuk-tag govuk-tag--yellow">Tracking</strong>' in flat
    assert 'data-label="Open for">30 days' in flat
    yesterday = today - dt.timedelta(days=1)
    assert f'data-label="Last contact">{yesterday.day} {yesterday:%B %Y}' in flat
    soon = today + dt.timedelta(days=2)
    assert f'data-label="Next task due">{soon.day} {soon:%B %Y}' in flat
    assert 'data-label="Risk level">High (not authorised)' in flat
    assert "oldest referral first" in flat
    # Oldest first by default; newest first when asked; the filters stay in the links.
    assert flat.index(oldest.reference) < flat.index(newest.reference)
    newest_first = " ".join(
        client.get("/cases/?queue=mine&sort=newest&state=tracking").content.decode().split()
    )
    assert newest_first.index(newest.reference) < newest_first.index(oldest.reference)
    assert "newest referral first" in newest_first
    assert 'href="/cases/?queue=open&amp;state=tracking&amp;sort=newest"' in newest_first
    assert 'aria-sort="ascending"' in newest_first


def test_newest_first_pages_by_keyset(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    made = sorted(cases(officer, 5), key=lambda c: (c.date_referred, c.pk), reverse=True)
    first = queue_page(officer, "mine", page_size=2, newest_first=True)
    second = queue_page(officer, "mine", page_size=2, newest_first=True, after=first.next_cursor)
    third = queue_page(officer, "mine", page_size=2, newest_first=True, after=second.next_cursor)
    assert [c.pk for c in first.cases + second.cases + third.cases] == [c.pk for c in made]
    assert third.next_cursor == ""
