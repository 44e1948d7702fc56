"""Correcting the child's record from the case: details, a new address, parents and
carers; audited with the values before and after, history kept, names and phone numbers
checked as people write them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.people.choices import AliasType
from cmetrack.people.models import Address, ChildAlias, ParentCarer

from .factories import open_case

pytestmark = pytest.mark.django_db
#: Stands for next year's number, worked out when the test runs (not when it is collected: a
#: run that crosses midnight on New Year's Eve would otherwise test this year).
NEXT_YEAR = "next year"


def details(child: Any, **override: str) -> dict[str, str]:
    dob = child.dob or dt.date(2014, 3, 27)
    data = {
        "form": "details",
        "details-legal_given_names": child.legal_given_names,
        "details-legal_middle_names": child.legal_middle_names,
        "details-legal_family_name": child.legal_family_name,
        "details-dob-day": str(dob.day),
        "details-dob-month": str(dob.month),
        "details-dob-year": str(dob.year),
        "details-dob_certainty": child.dob_certainty,
        "details-sex": child.sex,
        "details-upn": child.upn or "",
        "details-reason": "Birth certificate seen at the home visit",
    }
    data.update(override)
    return data


@pytest.fixture
def officer(make_user: Any) -> Any:
    return make_user(Role.CME_OFFICER, full_name="Olive Officer")


def test_the_case_page_links_to_the_corrections(client: Client, officer: Any) -> None:
    case = open_case(officer=officer)
    client.force_login(officer)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f'href="/cases/{case.pk}/child/"' in page


def test_correcting_the_name_and_date_of_birth_keeps_the_previous_values(
    client: Client, officer: Any
) -> None:
    case = open_case(officer=officer)
    child = case.child
    old_given, old_family, old_dob = child.legal_given_names, child.legal_family_name, child.dob
    client.force_login(officer)
    response = client.post(
        f"/cases/{case.pk}/child/",
        details(
            child,
            **{
                "details-legal_given_names": "Siân",
                "details-legal_family_name": "O'Brien-Ó Súilleabháin",
                "details-dob-day": "1",
                "details-dob-month": "9",
                "details-dob-year": "2015",
            },
        ),
    )
    assert response.status_code == 302
    child.refresh_from_db()
    assert (child.legal_given_names, child.legal_family_name, child.dob) == (
        "Siân",
        "O'Brien-Ó Súilleabháin",
        dt.date(2015, 9, 1),
    )
    alias = ChildAlias.objects.get(child=child, alias_type=AliasType.PREVIOUS_NAME)
    assert (alias.given_names, alias.family_name) == (old_given, old_family)
    event = AuditEvent.objects.filter(child_id=child.pk, action="update").latest("id")
    assert (
        event.summary == "Corrected the child's details: Birth certificate seen at the home visit"
    )
    assert event.changes["before"]["legal_given_names"] == old_given
    assert event.changes["after"]["legal_given_names"] == "Siân"
    assert event.changes["before"]["dob"] == (old_dob.isoformat() if old_dob else None)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "details-legal_family_name",
            "Smith😀",
            "The child's last name must only include letters, spaces, hyphens and apostrophes",
        ),
        ("details-legal_given_names", "J0hn", "The child's first name must not include numbers"),
        ("details-reason", "", "Give the reason for the correction"),
        ("details-dob-year", NEXT_YEAR, "The date of birth must be today or in the past"),
    ],
)
def test_a_bad_correction_names_the_field_and_changes_nothing(
    client: Client, officer: Any, field: str, value: str, message: str, today: dt.date
) -> None:
    if value == NEXT_YEAR:
        value = str(today.year + 1)
    case = open_case(officer=officer)
    before = case.child.legal_family_name
    client.force_login(officer)
    response = client.post(f"/cases/{case.pk}/child/", details(case.child, **{field: value}))
    page = response.content.decode().replace("&#39;", "'")
    assert response.status_code == 400
    assert message in page
    assert "There is a problem" in page
    anchor = field.replace("details-", "id_details-") + ("-day" if "dob" in field else "")
    assert f'href="#{anchor.replace("-day-day", "-day").replace("-year-day", "-day")}"' in page
    case.child.refresh_from_db()
    assert case.child.legal_family_name == before


def test_a_new_address_ends_the_previous_one(client: Client, officer: Any, today: dt.date) -> None:
    case = open_case(officer=officer)
    old = Address.objects.create(
        child=case.child, line1="1 Old Road", date_from=dt.date(2020, 1, 1)
    )
    client.force_login(officer)
    moved = today - dt.timedelta(days=3)
    response = client.post(
        f"/cases/{case.pk}/child/",
        {
            "form": "address",
            "address-line1": "2 New Street",
            "address-town": "Exampleton",
            "address-postcode": "ex1 1aa",
            "address-date_from-day": str(moved.day),
            "address-date_from-month": str(moved.month),
            "address-date_from-year": str(moved.year),
        },
    )
    assert response.status_code == 302
    old.refresh_from_db()
    assert old.date_to == moved - dt.timedelta(days=1)
    new = Address.objects.get(child=case.child, line1="2 New Street")
    assert (new.postcode, new.date_from, new.date_to) == ("EX1 1AA", moved, None)
    assert AuditEvent.objects.filter(
        child_id=case.child_id, summary="Address ended: the child moved"
    ).exists()


def test_a_parent_is_added_and_corrected_with_phone_numbers_checked(
    client: Client, officer: Any
) -> None:
    case = open_case(officer=officer)
    client.force_login(officer)
    base = {
        "form": "parent",
        "parent-given_names": "Rhiannon",
        "parent-family_name": "ap Gwilym",
        "parent-relationship": "mother",
        "parent-lives_with_child": "yes",
        "parent-parental_responsibility": "yes",
    }
    refused = client.post(f"/cases/{case.pk}/child/", {**base, "parent-phone": "07700 900982📞"})
    assert refused.status_code == 400
    assert "Enter their phone number using numbers" in refused.content.decode()
    assert not ParentCarer.objects.exists()
    added = client.post(f"/cases/{case.pk}/child/", {**base, "parent-phone": "07700 900982"})
    assert added.status_code == 302
    parent = ParentCarer.objects.get()
    corrected = client.post(
        f"/cases/{case.pk}/child/",
        {
            **base,
            "parent_id": str(parent.pk),
            "parent-phone": "01632 960 001",
            "parent-reason": "New number",
        },
    )
    assert corrected.status_code == 302
    parent.refresh_from_db()
    assert parent.phone == "01632 960 001"
    event = AuditEvent.objects.filter(object_type="people.parentcarer", action="update").get()
    assert event.changes["before"]["phone"] == "07700 900982"


def test_only_those_who_may_act_correct_the_record(client: Client, make_user: Any) -> None:
    case = open_case()
    client.force_login(make_user(Role.AUDITOR))
    assert client.get(f"/cases/{case.pk}/child/").status_code in (403, 404)
