"""What the DfE return counts from the home-education list: the primary reason, why home
education ended, and the section 437(1) notices and school attendance orders served;
recorded through the pages and the API, with the services' rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers import selectors, services
from cmetrack.registers.models import EheEnd, HomeEducationNotice, HomeEducationRecord

DAY = dt.timedelta(days=1)
ACTOR = Actor.system("test")
BASE = "/api/v1/home-education"


@pytest.fixture
def record(db: None, today: dt.date) -> HomeEducationRecord:
    return HomeEducationRecord.objects.create(
        child=ChildFactory.create(dob=dt.date(2014, 3, 1)), started_on=today - 60 * DAY
    )


def test_notice_rules(record: HomeEducationRecord, today: dt.date) -> None:
    with pytest.raises(ValidationError, match="follows a section 437"):
        services.home_education_notice_record(
            actor=ACTOR, record=record, kind="sao", served_on=today - DAY
        )
    with pytest.raises(ValidationError, match="today or in the past"):
        services.home_education_notice_record(
            actor=ACTOR, record=record, kind="s437_1", served_on=today + DAY
        )
    with pytest.raises(ValidationError, match="before the child went on the list"):
        services.home_education_notice_record(
            actor=ACTOR, record=record, kind="s437_1", served_on=today - 61 * DAY
        )
    services.home_education_notice_record(
        actor=ACTOR, record=record, kind="s437_1", served_on=today - 20 * DAY
    )
    notice = services.home_education_notice_record(
        actor=ACTOR, record=record, kind="sao", served_on=today - DAY, notes="Order made"
    )
    assert AuditEvent.objects.filter(object_id=str(notice.pk), action="create").exists()
    rows = selectors.home_education_year_rows(today - 365 * DAY, today)
    events = sorted(event for _, _, event in rows)
    assert events == ["any", "s437_1", "sao", "start"]


def test_the_pages_record_reason_notice_and_why_it_ended(
    client: Client, make_user: Any, record: HomeEducationRecord, today: dt.date
) -> None:
    client.force_login(make_user(Role.CME_OFFICER))
    detail = reverse("casework:registers:detail", args=[record.pk])
    assert client.get(detail).status_code == 200
    reason = client.post(
        reverse("casework:registers:reason", args=[record.pk]),
        {"reason-primary_reason": "bullying"},
    )
    assert reason.status_code == 302
    served = today - 5 * DAY
    notice = client.post(
        reverse("casework:registers:notice", args=[record.pk]),
        {
            "notice-kind": "s437_1",
            "notice-served_on-day": served.day,
            "notice-served_on-month": served.month,
            "notice-served_on-year": served.year,
        },
    )
    assert notice.status_code == 302
    refused = client.post(
        reverse("casework:registers:end", args=[record.pk]),
        {
            "end-ended_on-day": today.day,
            "end-ended_on-month": today.month,
            "end-ended_on-year": today.year,
            "end-reason": "Started at Hillside",
        },
    )
    assert refused.status_code == 200
    assert "Choose why home education ended" in refused.content.decode()
    ended = client.post(
        reverse("casework:registers:end", args=[record.pk]),
        {
            "end-ended_on-day": today.day,
            "end-ended_on-month": today.month,
            "end-ended_on-year": today.year,
            "end-ended_because": "returned_to_school",
            "end-reason": "Started at Hillside",
        },
    )
    assert ended.status_code == 302
    record.refresh_from_db()
    assert (record.primary_reason, record.ended_because) == ("bullying", EheEnd.RETURNED_TO_SCHOOL)
    assert HomeEducationNotice.objects.get(record=record).served_on == served
    page = client.get(detail).content.decode()
    assert "Bullying" in page
    assert "Notice under section 437(1)" in page


def test_the_api_records_them_too(
    make_user: Any, record: HomeEducationRecord, today: dt.date
) -> None:
    client = Client()
    client.force_login(make_user(Role.CME_MANAGER))
    answer = client.post(
        f"{BASE}/{record.pk}/reason",
        {"primary_reason": "mental_health"},
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert answer.json()["primary_reason"] == "mental_health"
    answer = client.post(
        f"{BASE}/{record.pk}/notices",
        {"kind": "s437_1", "served_on": (today - DAY).isoformat()},
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert answer.json()["kind"] == "s437_1"
    answer = client.post(
        f"{BASE}/{record.pk}/end",
        {"ended_on": today.isoformat(), "reason": "Order", "ended_because": "sao"},
        content_type="application/json",
    )
    assert answer.status_code == 200
    assert answer.json()["ended_because"] == "sao"
    school = _client_for(make_user(Role.SCHOOL_USER))
    assert school.post(
        f"{BASE}/{record.pk}/notices",
        {"kind": "s437_1", "served_on": today.isoformat()},
        content_type="application/json",
    ).status_code in (403, 404)


def _client_for(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c
