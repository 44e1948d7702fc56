"""Ground (f) deletion returns through the import every path uses (form, CSV, API): the
child goes on the home-education list, and the school may not delete on ground (f) a child
who needs the authority's consent until it is given."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.detection import importers
from cmetrack.detection.models import DeletionReturn, ImportStatus
from cmetrack.detection.tests.factories import school, write_csv
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers import services
from cmetrack.registers.models import ConsentStatus, HomeEducationRecord, LearntFrom

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def two_days_ago() -> dt.date:
    """The deletion date in the returns, worked out when the test runs."""
    return timezone.localdate() - dt.timedelta(days=2)


HEADER = (*importers.DELETION_COLUMNS, "parent_name", "future_address", "future_postcode")
UPNS = ("H801200001001", "B801200005001", "A950000178301")


def _row(upn: str, ground: str = "f", family: str = "Khan") -> list[str]:
    return [
        "9992001", upn, "Amira", family, "2014-05-01", ground, two_days_ago().isoformat(),
        "Sara Khan", "3 Elm Road", "EX1 1AA",
    ]  # fmt: skip


def test_import_puts_ground_f_children_on_the_list(tmp_path: Path) -> None:
    ours = school()
    rows = [_row(UPNS[0]), _row(UPNS[1], "a", "Other")]
    run = importers.deletions_import(
        actor=SYSTEM, path=write_csv(tmp_path / "d.csv", HEADER, rows), file_name="d.csv"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    record = HomeEducationRecord.objects.get()
    assert record.child.upn == UPNS[0]
    assert record.learnt_from == LearntFrom.DELETION_RETURN
    assert record.started_on == two_days_ago()
    assert record.previous_school == ours
    # The same file again changes nothing.
    importers.deletions_import(
        actor=SYSTEM, path=write_csv(tmp_path / "d2.csv", HEADER, rows), file_name="d2.csv"
    )
    assert HomeEducationRecord.objects.count() == 1


def test_special_school_ground_f_refused_by_line_until_consent(
    tmp_path: Path, make_user: Any, today: dt.date
) -> None:
    ours = school(school_type="special")
    rows = [_row(UPNS[0])]
    run = importers.deletions_import(
        actor=SYSTEM, path=write_csv(tmp_path / "d.csv", HEADER, rows), file_name="d.csv"
    )
    assert run.status == ImportStatus.FAILED
    assert run.errors[0]["line"] == 2
    assert "special school" in run.errors[0]["message"]
    assert not DeletionReturn.objects.exists()
    assert not HomeEducationRecord.objects.exists()

    child = ChildFactory.create(upn=UPNS[0], legal_given_names="Amira", legal_family_name="Khan")
    officer, manager = make_user(Role.CME_OFFICER), make_user(Role.CME_MANAGER)
    request = services.consent_request_record(
        actor=Actor(user=officer),
        child=child,
        school=ours,
        requested_on=today,
        requested_by="Mother",
    )
    services.consent_decide(
        actor=Actor(user=manager),
        request=request,
        decision=ConsentStatus.GRANTED,
        decided_on=today,
        reason="Suitable",
    )
    run = importers.deletions_import(
        actor=SYSTEM, path=write_csv(tmp_path / "d2.csv", HEADER, rows), file_name="d2.csv"
    )
    assert run.status == ImportStatus.SUCCEEDED, run.errors
    assert HomeEducationRecord.objects.get().child == child


def test_school_form_refuses_a_child_on_a_protection_plan(make_user: Any) -> None:
    ours = school()
    ChildFactory.create(upn=UPNS[2], child_protection_plan=True)
    school_user = make_user(Role.SCHOOL_USER, organisation=ours)
    with pytest.raises(ValidationError) as exc:
        importers.deletion_return_submit(
            actor=Actor(user=school_user), school=ours, upn=UPNS[2], legal_given_name="Amira",
            legal_family_name="Khan", dob=dt.date(2014, 5, 1), ground="f",
            deleted_on=two_days_ago(),
        )  # fmt: skip
    assert "child protection plan" in str(exc.value)
    # A school user's ground (f) return for a child who needs no consent is accepted and
    # puts the child on the list (the school need not be able to read the list).
    importers.deletion_return_submit(
        actor=Actor(user=school_user), school=ours, upn=UPNS[0], legal_given_name="Ben",
        legal_family_name="Ode", dob=dt.date(2013, 5, 1), ground="f", deleted_on=two_days_ago(),
    )  # fmt: skip
    assert HomeEducationRecord.objects.get().child.legal_family_name == "Ode"
