"""Presenters and the dashboard's selectors: what each row says, most urgent plan first,
restricted addresses masked, without templates."""

from __future__ import annotations

import pytest
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.people.models import RestrictedAddressAccess
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.virtualschool import selectors
from cmetrack.virtualschool.presenters import DashboardPresenter, PepPresenter, RecordPresenter
from cmetrack.virtualschool.rules import PepStatus

from .factories import cme_case, days_ago, pep, placement_values, record, user

pytestmark = pytest.mark.django_db


def dashboard(viewer: object) -> DashboardPresenter:
    today = timezone.localdate()
    return DashboardPresenter(
        viewer=viewer,  # type: ignore[arg-type]
        today=today,
        cases=selectors.in_care_cme_cases(viewer, today=today),  # type: ignore[arg-type]
        placement_alerts=[],
        attendance_alerts=[],
        without_upn=list(selectors.records_without_upn(viewer)),  # type: ignore[arg-type]
        without_record=list(selectors.children_without_record(viewer)),  # type: ignore[arg-type]
        records_total=selectors.current_records(viewer).count(),  # type: ignore[arg-type]
    )


def test_plans_are_listed_most_urgent_first_with_the_next_step() -> None:
    vs = user(Role.VIRTUAL_SCHOOL)
    booked = record(upn_serial=1)
    booked_case = cme_case(booked.child)
    pep(booked, booked_case, vs, meeting_on=days_ago(2), review_on=days_ago(-40))
    overdue = record(upn_serial=2)
    overdue_case = cme_case(overdue.child)
    pep(overdue, overdue_case, vs, meeting_on=days_ago(60), review_on=days_ago(1))
    needed = record(upn_serial=None)
    needed_case = cme_case(needed.child)
    flagged = ChildFactory.create(in_care=True)
    cme_case(flagged)
    not_in_care = cme_case(ChildFactory.create())

    p = dashboard(vs)
    statuses = [c.status for c in p.cases]
    assert statuses[0] == PepStatus.OVERDUE
    assert statuses[-1] == PepStatus.SCHEDULED
    refs = [r.cells[0] for r in p.case_rows]
    assert not_in_care.reference not in refs
    assert {overdue_case.reference, booked_case.reference, needed_case.reference} <= set(refs)
    by_ref = {r.cells[0]: r for r in p.case_rows}
    assert by_ref[overdue_case.reference].tag == "Review overdue"
    assert by_ref[overdue_case.reference].action_text == "Open the PEP"
    assert by_ref[needed_case.reference].action_text == "Write the PEP"
    flagged_row = next(r for r in p.case_rows if r.cells[1] == flagged.full_name)
    assert flagged_row.action_text == "Record in-care details"
    assert [r.cells[0] for r in p.without_upn_rows] == [needed.child.full_name]
    assert [r.cells[0] for r in p.without_record_rows] == [flagged.full_name]
    # Referred 60 days ago with no plan: both "PEP needed" cases are overdue too.
    assert (p.peps_overdue, p.peps_due, p.records_total) == (3, 0, 3)
    # Roles outside the Virtual School and the CME team get nothing.
    nothing = dashboard(user(Role.SCHOOL_USER))
    assert (nothing.case_rows, nothing.records_total, nothing.without_record_rows) == ([], 0, [])


def test_record_and_plan_presenters_mask_the_restricted_address() -> None:
    vs = user(Role.VIRTUAL_SCHOOL)
    rec = record(placement=placement_values(line1="7 Hidden Row", is_restricted=True))
    plan = pep(rec, cme_case(rec.child), vs)
    presenter = RecordPresenter(
        record=rec,
        viewer=vs,
        placements=list(selectors.placements_for(rec)),
        peps=list(selectors.peps_for_record(rec)),
        open_cases=list(selectors.open_cme_cases_for_record(vs, rec)),
    )
    assert [row["address"] for row in presenter.placement_rows] == ["Restricted"]
    assert dict(presenter.summary_rows)["Legal status"] == "Full care order (section 31) (C2)"
    assert presenter.can_write_pep
    assert dict(PepPresenter(pep=plan, viewer=vs).care_rows)["Carer's address"] == "Restricted"
    RestrictedAddressAccess.objects.create(
        child=rec.child, user=vs, granted_by=user(Role.CME_MANAGER), reason="Lead officer"
    )
    assert "7 Hidden Row" in dict(PepPresenter(pep=plan, viewer=vs).care_rows)["Carer's address"]
    targets = PepPresenter(pep=plan, viewer=vs).targets
    assert [t["title"] for t in targets] == [
        "Target 1: Attendance",
        "Target 2: Academic achievement",
    ]
    officer = user(Role.CME_OFFICER)
    assert not PepPresenter(pep=plan, viewer=officer).can_edit


def test_a_placement_alert_says_when_the_child_is_now_on_the_roll() -> None:
    import datetime as dt

    from cmetrack.audit.services import Actor
    from cmetrack.registers.models import RollEntry, RollSnapshot
    from cmetrack.virtualschool import services
    from cmetrack.virtualschool.presenters import _placement_alert_row

    from .factories import school

    rec = record(upn_serial=5)
    new_school = school()
    move = services.placement_change(
        actor=Actor.system("test"),
        record=rec,
        **placement_values(started_on=days_ago(3), school=new_school),
    )
    assert move.alert is not None
    assert "now on its roll" not in _placement_alert_row(move.alert).cells[3]
    snapshot = RollSnapshot.objects.create(school=new_school, taken_on=days_ago(0))
    RollEntry.objects.create(
        snapshot=snapshot, upn=rec.child.upn or "", legal_given_name="A", legal_family_name="B",
        dob=dt.date(2015, 3, 14), sex="F",
    )  # fmt: skip
    assert "now on its roll" in _placement_alert_row(move.alert).cells[3]
