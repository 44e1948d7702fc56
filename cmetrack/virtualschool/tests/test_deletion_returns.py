"""A child in care is not taken off a school's roll until a new school has admitted them:
a deletion return for such a pupil with no new school admitting them is refused, with the
rule named, from the school's form, a CSV import (a bad row, by line) and the API."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.detection import importers
from cmetrack.detection.models import DeletionReturn, ImportStatus
from cmetrack.detection.tests.factories import write_csv
from cmetrack.kit.testing import assert_problem, errors_by_field
from cmetrack.people.models import FormerUpn
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.virtualschool.rules import CIC_RULE

from .factories import SYSTEM, record, school, upn, user

pytestmark = pytest.mark.django_db

DELETED = dt.date(2025, 11, 3)
HEADER = (*importers.DELETION_COLUMNS, "destination_name", "destination_start")


@pytest.fixture
def ours() -> Any:
    return school(estab_number="2001")


def row(pupil: str, ground: str = "g", name: str = "", start: str = "") -> list[str]:
    return [
        "9992001",
        pupil,
        "Amira",
        "Khan",
        "2014-05-01",
        ground,
        DELETED.isoformat(),
        name,
        start,
    ]


def test_the_csv_import_refuses_the_row_of_a_child_in_care_by_line(
    tmp_path: Path, ours: Any
) -> None:
    rec = record(upn_serial=1)
    FormerUpn.objects.create(child=rec.child, upn=upn(2))
    ChildFactory.create(upn=upn(3))  # not in care
    rows = [
        row(upn(3)),  # line 2: not in care, fine
        row(upn(1)),  # line 3: in care, no new school
        row(upn(2), "a", "Elm Academy"),  # line 4: in care (former UPN), no start date
        row(upn(1), "a", "Elm Academy", "2025-11-10"),  # line 5: admitted after the deletion
    ]
    run = importers.deletions_import(
        actor=SYSTEM, path=write_csv(tmp_path / "d.csv", HEADER, rows), file_name="d.csv"
    )
    assert run.status == ImportStatus.FAILED
    by_line = {e["line"]: e["message"] for e in run.errors}
    assert set(by_line) == {3, 4, 5}
    assert all(CIC_RULE in m for m in by_line.values())
    assert "Give the new school" in by_line[3]
    assert "Give the date the new school admitted" in by_line[4]
    assert "10 November 2025" in by_line[5]
    assert not DeletionReturn.objects.exists()  # all or nothing


def test_the_csv_import_accepts_a_child_in_care_admitted_elsewhere(
    tmp_path: Path, ours: Any
) -> None:
    record(upn_serial=1)
    rows = [row(upn(1), "a", "Elm Academy", "2025-11-03"), row(upn(4), "k")]
    run = importers.deletions_import(
        actor=SYSTEM, path=write_csv(tmp_path / "d.csv", HEADER, rows), file_name="d.csv"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert DeletionReturn.objects.count() == 2


def test_the_rule_ends_when_the_child_ceases_to_be_looked_after(tmp_path: Path, ours: Any) -> None:
    from cmetrack.virtualschool.services import cic_record_update

    rec = record(upn_serial=1)
    cic_record_update(actor=SYSTEM, record=rec, ceased_on=dt.date.today())
    run = importers.deletions_import(
        actor=SYSTEM, path=write_csv(tmp_path / "d.csv", HEADER, [row(upn(1))]), file_name="d.csv"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors


def test_the_service_behind_the_form_refuses(ours: Any) -> None:
    record(upn_serial=1)
    school_user = user(Role.SCHOOL_USER, organisation=ours)
    with pytest.raises(ValidationError) as exc:
        importers.deletion_return_submit(
            actor=Actor(user=school_user), school=ours, upn=upn(1), legal_given_name="Amira",
            legal_family_name="Khan", dob=dt.date(2014, 5, 1), ground="i", deleted_on=DELETED,
        )  # fmt: skip
    assert CIC_RULE in exc.value.message_dict["__all__"][0]


def test_the_school_form_shows_the_rule(ours: Any) -> None:
    record(upn_serial=1)
    client = Client()
    client.force_login(user(Role.SCHOOL_USER, organisation=ours))
    data = {
        "upn": upn(1),
        "legal_given_name": "Amira",
        "legal_family_name": "Khan",
        "dob": "01/05/2014",
        "ground": "i",
        "deleted_on": "03/11/2025",
    }
    response = client.post("/alerts/deletion-return/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "not taken off a school&#39;s roll until a new school has admitted them" in page
    assert not DeletionReturn.objects.exists()
    data |= {"ground": "a", "destination_name": "Elm Academy", "destination_start": "03/11/2025"}
    assert client.post("/alerts/deletion-return/", data).status_code == 302
    assert DeletionReturn.objects.count() == 1


def test_the_api_refuses(ours: Any) -> None:
    record(upn_serial=1)
    client = Client()
    client.force_login(user(Role.SCHOOL_USER, organisation=ours))
    body: dict[str, Any] = {
        "upn": upn(1),
        "legal_given_name": "Amira",
        "legal_family_name": "Khan",
        "dob": "2014-05-01",
        "ground": "i",
        "deleted_on": DELETED.isoformat(),
    }
    response = client.post("/api/v1/deletion-returns", body, content_type="application/json")
    assert CIC_RULE in errors_by_field(assert_problem(response, 422, "invalid"))[""][0]
    body |= {"ground": "a", "destination_name": "Elm Academy", "destination_start": "2025-11-01"}
    response = client.post("/api/v1/deletion-returns", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["destination_known"] is True
