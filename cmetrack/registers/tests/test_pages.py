"""The home-education pages: list and search, add, concern, consent, and who may use them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers import services
from cmetrack.registers.models import (
    ConsentStatus,
    HomeEducationConsentRequest,
    HomeEducationRecord,
)

pytestmark = pytest.mark.django_db
LIST = "casework:registers:list"


def _client(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _date(prefix: str, d: dt.date) -> dict[str, str]:
    return {
        f"{prefix}-day": str(d.day),
        f"{prefix}-month": str(d.month),
        f"{prefix}-year": str(d.year),
    }


def test_officer_adds_a_child_from_the_parent(make_user, today):
    officer = make_user(Role.CME_OFFICER)
    school = SchoolFactory.create()
    data = {
        "given_names": "Leo",
        "family_name": "Marsh",
        **_date("dob", dt.date(2015, 2, 1)),
        "upn": "",
        "address": "1 High St",
        "postcode": "ex1 1aa",
        "parent_name": "Jo Marsh",
        "learnt_from": "parent",
        **_date("learnt_on", today),
        **_date("started_on", today - dt.timedelta(days=7)),
        "previous_school": str(school.pk),
        "sen_status": "none",
        "source": "Letter",
    }
    response = _client(officer).post(reverse("casework:registers:add"), data)
    assert response.status_code == 302
    record = HomeEducationRecord.objects.get()
    assert record.child.legal_family_name == "Marsh"
    assert record.previous_school == school
    page = _client(officer).get(response["Location"])
    assert "Leo Marsh" in page.content.decode()
    assert "No further action" in page.content.decode()
    assert AuditEvent.objects.filter(
        action="view", object_type="registers.homeeducationrecord"
    ).exists()
    listing = _client(officer).get(reverse(LIST), {"q": "marsh"}).content.decode()
    assert "Leo Marsh" in listing
    assert "On the list on" in listing


def test_add_shows_errors_in_the_users_terms(make_user):
    response = _client(make_user(Role.CME_OFFICER)).post(reverse("casework:registers:add"), {})
    body = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in body
    assert "Enter the child&#39;s first name" in body or "Enter the child's first name" in body
    assert "Select how the authority learnt of it" in body


def test_add_refused_without_consent_records_nothing(make_user, today):
    special = SchoolFactory.create(school_type="special")
    data = {
        "given_names": "Ava",
        "family_name": "Stone",
        **_date("dob", dt.date(2013, 4, 4)),
        "learnt_from": "parent",
        **_date("learnt_on", today),
        **_date("started_on", today),
        "previous_school": str(special.pk),
        "sen_status": "ehc_plan",
    }
    response = _client(make_user(Role.CME_OFFICER)).post(reverse("casework:registers:add"), data)
    assert response.status_code == 200
    assert "special school" in response.content.decode()
    assert not HomeEducationRecord.objects.exists()
    from cmetrack.people.models import Child

    assert not Child.objects.filter(legal_family_name="Stone").exists()


def test_concern_from_the_page_opens_a_case(make_user, today):
    officer = make_user(Role.CME_OFFICER)
    record = services.home_education_record_add(
        actor=Actor(user=officer), child=ChildFactory.create(), started_on=today
    )
    response = _client(officer).post(
        reverse("casework:registers:concern", args=[record.pk]),
        {
            **_date("concern-raised_on", today),
            "concern-raised_by_whom": "Neighbour",
            "concern-details": "Never seen",
        },
    )
    assert response.status_code == 302
    assert Case.objects.filter(child=record.child).count() == 1


def test_manager_decides_consent_on_the_page(make_user, today):
    manager = make_user(Role.CME_MANAGER)
    officer = make_user(Role.CME_OFFICER)
    child = ChildFactory.create()
    request = services.consent_request_record(
        actor=Actor(user=officer),
        child=child,
        school=SchoolFactory.create(school_type="special"),
        requested_on=today,
        requested_by="Mother",
    )
    url = reverse("casework:registers:consent-decide", args=[request.pk])
    data = {
        f"decide-{request.pk}-decision": "refused",
        **_date(f"decide-{request.pk}-decided_on", today),
        f"decide-{request.pk}-reason": "Needs met only at the special school",
    }
    assert _client(officer).post(url, data).status_code == 403
    assert _client(manager).post(url, data).status_code == 302
    request.refresh_from_db()
    assert request.status == ConsentStatus.REFUSED
    page = _client(officer).get(reverse("casework:registers:consents")).content.decode()
    assert "Consent refused" in page


def test_consent_request_form_records_a_new_child(make_user, today):
    officer = make_user(Role.CME_OFFICER)
    school = SchoolFactory.create()
    data = {
        "request-given_names": "Kai",
        "request-family_name": "Ng",
        **_date("request-dob", dt.date(2012, 1, 1)),
        "request-school": str(school.pk),
        **_date("request-requested_on", today),
        "request-requested_by": "Father",
        "request-child_protection_enquiries": "on",
    }
    response = _client(officer).post(reverse("casework:registers:consents"), data)
    assert response.status_code == 302
    request = HomeEducationConsentRequest.objects.get()
    assert request.child_protection_enquiries
    assert request.child.legal_family_name == "Ng"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.CME_OFFICER, 200),
        (Role.CME_MANAGER, 200),
        (Role.VIRTUAL_SCHOOL, 200),
        (Role.SLO, 403),
        (Role.SCHOOL_USER, 403),
        (Role.AGENCY_USER, 403),
        (Role.AUDITOR, 403),
        (Role.ADMINISTRATOR, 403),
        (Role.SAFEGUARDING_ADVISER, 403),
        (Role.ADMISSIONS, 403),
    ],
)
def test_who_may_open_the_list(make_user, role, status, today):
    officer = make_user(Role.CME_OFFICER)
    record = services.home_education_record_add(
        actor=Actor(user=officer),
        child=ChildFactory.create(legal_family_name="Hidden"),
        started_on=today,
    )
    client = _client(make_user(role))
    response = client.get(reverse(LIST))
    assert response.status_code == status
    if role == Role.VIRTUAL_SCHOOL:  # the child is not in care
        assert "Hidden" not in response.content.decode()
        assert client.get(reverse("casework:registers:detail", args=[record.pk])).status_code == 404
    add = client.get(reverse("casework:registers:add")).status_code
    assert add == (200 if role in (Role.CME_OFFICER, Role.CME_MANAGER) else 403)
