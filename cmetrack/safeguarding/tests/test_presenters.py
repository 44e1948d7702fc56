"""Presenters, without a template: the emergency route, the header of the signed form
(with a restricted address), the review status and the queue rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.people.models import ParentCarer
from cmetrack.people.tests.factories import AddressFactory
from cmetrack.safeguarding import selectors
from cmetrack.safeguarding.presenters import (
    RESTRICTED,
    SafeguardingPresenter,
    due_rows,
    emergency_for,
    header_rows,
)

from .factories import dormant_case, open_case, record_screening, user

pytestmark = pytest.mark.django_db


def test_the_emergency_route_without_and_with_a_screening(settings: Any) -> None:
    settings.CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE = "0300 123 4567"
    case = open_case()
    blank = emergency_for(case, None)
    assert blank.social_care_phone == "0300 123 4567"
    assert blank.result == "Not screened yet: complete the vulnerability screening."
    quiet = emergency_for(case, record_screening(case))
    assert quiet.result == "No referral recommended by the latest screening."
    loud = emergency_for(case, record_screening(case, looked_after="Yes", immigration="Visa"))
    assert loud.result == "Inform children's social care immediately."
    assert loud.avoidance == ["Immigration issues?"]


def test_the_header_masks_a_restricted_address() -> None:
    officer = user(Role.CME_OFFICER)
    case = open_case(officer=officer)
    ParentCarer.objects.create(
        child=case.child, given_names="Ann", family_name="Parent", relationship="mother",
        parental_responsibility=True,
    )  # fmt: skip
    AddressFactory.create(child=case.child, line1="1 Refuge Road", is_restricted=True,
                          date_from=dt.date(2025, 5, 1))  # fmt: skip
    rows = dict(header_rows(case, officer, None))
    assert rows["Parent or carer"] == "Ann Parent"
    assert rows["Last known address"] == RESTRICTED
    assert rows["Date at last known address"] == RESTRICTED
    assert rows["Date of CME referral"] == f"{case.date_referred.day} {case.date_referred:%B %Y}"


def test_review_status_and_queue_rows() -> None:
    officer = user(Role.CME_OFFICER, full_name="Olive Officer")
    case = dormant_case(officer)
    p = SafeguardingPresenter(
        case=case, viewer=officer, screenings=[], assessments=[], reviews=[], notice=None,
        review_base=dt.date(2026, 1, 31), today=dt.date(2026, 3, 1),
    )  # fmt: skip
    assert p.next_review_due == dt.date(2026, 2, 28)
    assert p.review_overdue
    assert p.review_status == "Overdue: the review was due on 28 February 2026"
    assert not p.can_make_dormant  # already dormant
    assert p.can_review
    (row,) = due_rows(list(selectors.overdue_reviews(officer, today=dt.date(2099, 1, 1))))
    assert (row.reference, row.officer) == (case.reference, "Olive Officer")
    assert row.href == f"/cases/{case.pk}/safeguarding/"


def test_a_screening_by_a_person_is_shown_with_their_name() -> None:
    officer = user(Role.CME_OFFICER, full_name="Olive Officer")
    case = open_case(officer=officer)
    record_screening(case, Actor(user=officer))
    p = SafeguardingPresenter(
        case=case, viewer=officer, screenings=list(selectors.screenings_for(case)),
        assessments=[], reviews=[], notice=None, review_base=None, today=dt.date(2026, 1, 1),
    )  # fmt: skip
    (history,) = p.history
    assert (history.stage, history.by, history.result) == (
        "At intake", "Olive Officer", "No referral recommended"
    )  # fmt: skip
    assert len(p.latest_rows) == 14
    assert p.virtual_school is None
