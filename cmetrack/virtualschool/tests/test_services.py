"""The Virtual School's services: in-care records keep the child in step (so detection and
the case scopes see them), placement moves raise and resolve alerts, plans get their
standard targets and review dates, and everything is audited and on the chronology."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import ChronologyEvent
from cmetrack.people.models import FormerUpn
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import RollEntry, RollSnapshot
from cmetrack.safeguarding.models import VirtualSchoolNotice
from cmetrack.virtualschool import services
from cmetrack.virtualschool.models import (
    Placement,
    PlacementAlert,
    PlacementAlertReason,
    TargetArea,
)

from .factories import (
    SYSTEM,
    authority,
    cme_case,
    days_ago,
    pep,
    placement_values,
    record,
    school,
    upn,
    user,
)

pytestmark = pytest.mark.django_db


# --- in-care records ------------------------------------------------------------------------


def test_a_record_marks_the_child_in_care_with_the_upn_detection_reads() -> None:
    child = ChildFactory.create()
    case = cme_case(child)
    vs = user(Role.VIRTUAL_SCHOOL, full_name="Vera School")
    rec = record(child, actor=Actor(user=vs), upn_serial=7)
    child.refresh_from_db()
    assert (child.in_care, child.responsible_la, child.upn) == (
        True,
        rec.responsible_authority,
        upn(7),
    )
    # Audited against the child: the record, the placement and the child's own change.
    summaries = set(AuditEvent.objects.filter(child_id=child.pk).values_list("summary", flat=True))
    assert {"Recorded the child is in care", "Recorded a care placement"} <= summaries
    assert AuditEvent.objects.filter(child_id=child.pk, object_type="people.child").exists()
    # The open CME case: the Virtual School leads (safeguarding's notice), on the chronology.
    assert VirtualSchoolNotice.objects.get(case=case).lead == vs
    assert ChronologyEvent.objects.filter(
        case=case, summary__contains="Virtual School leads"
    ).exists()


def test_a_second_record_and_someone_elses_upn_are_refused() -> None:
    first = record(upn_serial=1)
    with pytest.raises(ValidationError, match="already has an in-care record"):
        record(first.child)
    with pytest.raises(ValidationError) as exc:
        record(upn_serial=1)
    assert "Another child's record has this UPN" in exc.value.message_dict["upn"][0]
    with pytest.raises(ValidationError) as bad:
        record(upn="A12345678901")
    assert "upn" in bad.value.message_dict


@pytest.mark.parametrize(
    "role", [Role.SCHOOL_USER, Role.AGENCY_USER, Role.SLO, Role.AUDITOR, Role.SAFEGUARDING_ADVISER]
)
def test_only_the_virtual_school_and_cme_team_record_in_care_details(role: Role) -> None:
    with pytest.raises(PermissionDenied):
        record(actor=Actor(user=user(role)))


def test_a_lead_officer_must_be_a_virtual_school_officer() -> None:
    with pytest.raises(ValidationError) as exc:
        record(lead_officer=user(Role.CME_OFFICER))
    assert exc.value.message_dict["lead_officer"] == ["Choose a Virtual School officer"]


def test_ceasing_care_ends_the_placement_clears_the_flag_and_closes_alerts() -> None:
    rec = record()
    services.placement_change(actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(5)))
    assert PlacementAlert.objects.filter(resolved_on__isnull=True).count() == 1
    services.cic_record_update(actor=SYSTEM, record=rec, ceased_on=days_ago(1))
    rec.child.refresh_from_db()
    assert (rec.child.in_care, rec.child.responsible_la) == (False, None)
    assert not Placement.objects.filter(record=rec, ended_on__isnull=True).exists()
    assert not PlacementAlert.objects.filter(resolved_on__isnull=True).exists()
    with pytest.raises(ValidationError, match="ceased to be looked after"):
        services.placement_change(
            actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(0))
        )
    # Back in care.
    services.cic_record_update(actor=SYSTEM, record=rec, ceased_on=None)
    rec.child.refresh_from_db()
    assert rec.child.in_care


def test_ceasing_care_before_the_current_placement_began_is_refused() -> None:
    rec = record(placement=placement_values(started_on=days_ago(10)))
    with pytest.raises(ValidationError) as exc:
        services.cic_record_update(actor=SYSTEM, record=rec, ceased_on=days_ago(20))
    assert "start of the current placement" in exc.value.message_dict["ceased_on"][0]


def test_changing_the_responsible_authority_follows_on_the_child() -> None:
    rec = record()
    other = authority("888", "Otherborough Council")
    services.cic_record_update(actor=SYSTEM, record=rec, responsible_authority=other)
    rec.child.refresh_from_db()
    assert rec.child.responsible_la == other


# --- placement moves ------------------------------------------------------------------------


def test_a_move_with_no_school_raises_the_alert_and_tells_the_case() -> None:
    rec = record(placement=placement_values(started_on=days_ago(50), school=school()))
    case = cme_case(rec.child)
    first = Placement.objects.get(record=rec)
    move = services.placement_change(
        actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(2), placement_type="K2")
    )
    first.refresh_from_db()
    assert first.ended_on == days_ago(2)
    assert move.alert is not None
    assert move.alert.reason == PlacementAlertReason.NO_SCHOOL
    notes = list(ChronologyEvent.objects.filter(case=case).values_list("summary", flat=True))
    assert any("without a school place" in n for n in notes)
    assert any("moved placement" in n and "Children's home" in n for n in notes)


def test_a_school_that_has_not_admitted_the_child_raises_not_on_roll() -> None:
    rec = record()
    move = services.placement_change(
        actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(2), school=school())
    )
    assert move.alert is not None
    assert move.alert.reason == PlacementAlertReason.NOT_ON_ROLL


def test_a_school_place_means_no_alert_admitted_or_on_roll() -> None:
    rec = record()
    admitted = services.placement_change(
        actor=SYSTEM,
        record=rec,
        **placement_values(
            started_on=days_ago(20),
            school_name="St Anywhere (out of area)",
            school_admitted_on=days_ago(19),
        ),
    )
    assert admitted.alert is None
    new_school = school()
    snapshot = RollSnapshot.objects.create(school=new_school, taken_on=days_ago(1))
    assert rec.child.upn is not None
    RollEntry.objects.create(
        snapshot=snapshot, upn=rec.child.upn, legal_given_name="A", legal_family_name="B",
        dob=dt.date(2015, 3, 14), sex="F",
    )  # fmt: skip
    on_roll = services.placement_change(
        actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(5), school=new_school)
    )
    assert on_roll.alert is None


def test_recording_the_school_resolves_the_alert() -> None:
    rec = record()
    move = services.placement_change(
        actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(3))
    )
    assert move.alert is not None
    later = services.placement_record_school(
        actor=SYSTEM, placement=move.placement, school=school()
    )  # named, not yet admitted: the reason changes
    assert later.alert is not None
    assert later.alert.reason == PlacementAlertReason.NOT_ON_ROLL
    move.alert.refresh_from_db()
    assert move.alert.resolved_on is not None
    done = services.placement_record_school(
        actor=SYSTEM, placement=move.placement, school=later.placement.school,
        school_admitted_on=days_ago(1),
    )  # fmt: skip
    assert done.alert is None
    assert not PlacementAlert.objects.filter(resolved_on__isnull=True).exists()


def test_a_move_must_come_after_the_current_placement() -> None:
    rec = record(placement=placement_values(started_on=days_ago(10)))
    with pytest.raises(ValidationError) as exc:
        services.placement_change(
            actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(10))
        )
    assert "after the start of the current placement" in exc.value.message_dict["started_on"][0]
    with pytest.raises(ValidationError) as future:
        services.placement_change(
            actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(-1))
        )
    assert "today or in the past" in future.value.message_dict["started_on"][0]


def test_resolving_an_alert_needs_the_virtual_school_and_a_reason() -> None:
    rec = record()
    alert = services.placement_change(
        actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(3))
    ).alert
    assert alert is not None
    with pytest.raises(PermissionDenied):
        services.placement_alert_resolve(
            actor=Actor(user=user(Role.CME_OFFICER)), alert=alert, resolution="x"
        )
    vs = Actor(user=user(Role.VIRTUAL_SCHOOL))
    with pytest.raises(ValidationError):
        services.placement_alert_resolve(actor=vs, alert=alert, resolution="  ")
    services.placement_alert_resolve(
        actor=vs, alert=alert, resolution="Tuition while a place is found"
    )
    alert.refresh_from_db()
    assert (alert.resolution, alert.resolved_by) == ("Tuition while a place is found", vs.user)


# --- personal education plans ---------------------------------------------------------------


def test_a_plan_has_the_two_standard_targets_and_a_review_a_month_on() -> None:
    rec = record()
    case = cme_case(rec.child)
    vs = user(Role.VIRTUAL_SCHOOL)
    plan = pep(
        rec,
        case,
        vs,
        meeting_on=dt.date(2026, 1, 31) if days_ago(0) > dt.date(2026, 2, 1) else days_ago(3),
    )
    targets = {t.area: t for t in plan.targets.all()}
    assert set(targets) == {TargetArea.ATTENDANCE, TargetArea.ACADEMIC}
    assert targets["attendance"].intervention == "Inclusion"
    assert targets["academic"].intervention == "One-to-one"
    from cmetrack.virtualschool.rules import default_pep_review_date

    assert plan.review_on == default_pep_review_date(plan.meeting_on)
    assert ChronologyEvent.objects.filter(
        case=case, summary__startswith="Personal education plan"
    ).exists()
    assert AuditEvent.objects.filter(
        child_id=rec.child_id, object_type="virtualschool.personaleducationplan"
    ).exists()


def test_plan_refusals() -> None:
    rec = record()
    case = cme_case(rec.child)
    vs = user(Role.VIRTUAL_SCHOOL)
    other_case = cme_case(ChildFactory.create(in_care=True))
    with pytest.raises(ValidationError) as exc:
        pep(rec, other_case, vs)
    assert exc.value.message_dict["case"] == ["Choose a CME case of this child"]
    with pytest.raises(ValidationError) as exc:
        pep(rec, case, vs, suitable_education="not_known", suitable_education_reasons="")
    assert "suitable_education_reasons" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        pep(rec, case, vs, review_on=days_ago(3) + dt.timedelta(days=100))
    assert "at least every term" in exc.value.message_dict["review_on"][0]
    with pytest.raises(PermissionDenied):
        pep(rec, case, user(Role.CME_OFFICER))
    closed = cme_case(rec.child, CaseState.CLOSED)
    with pytest.raises(ValidationError) as exc:
        pep(rec, closed, vs)
    assert "closed" in exc.value.message_dict["case"][0]


def test_a_review_moves_the_review_date_on() -> None:
    rec = record()
    case = cme_case(rec.child)
    vs = user(Role.VIRTUAL_SCHOOL)
    plan = pep(rec, case, vs, meeting_on=days_ago(40), review_on=days_ago(10))
    review = services.pep_review_record(
        actor=Actor(user=vs), pep=plan, reviewed_on=days_ago(1), attendees="VS, SW",
        summary="Place offered at Elm Academy.", suitable_education="not_known",
        suitable_education_reasons="Starts next week", next_review_on=days_ago(-20),
    )  # fmt: skip
    plan.refresh_from_db()
    assert plan.review_on == review.next_review_on == days_ago(-20)
    with pytest.raises(ValidationError) as exc:
        services.pep_review_record(
            actor=Actor(user=vs), pep=plan, reviewed_on=days_ago(1), attendees="x", summary="y",
            suitable_education="yes", next_review_on=days_ago(-200),
        )  # fmt: skip
    assert "next_review_on" in exc.value.message_dict


def test_updating_a_plan_and_its_targets() -> None:
    rec = record()
    case = cme_case(rec.child)
    vs = user(Role.VIRTUAL_SCHOOL)
    plan = pep(rec, case, vs)
    services.pep_update(
        actor=Actor(user=vs),
        pep=plan,
        suitable_education="yes",
        targets={
            "attendance": {
                "status": "in_progress",
                "responsible": "Vera",
                "progress": "Met the network",
            }
        },
    )
    target = plan.targets.get(area="attendance")
    assert (target.status, target.responsible) == ("in_progress", "Vera")
    with pytest.raises(ValidationError):
        services.pep_update(
            actor=Actor(user=vs), pep=plan, suitable_education="no", suitable_education_reasons=""
        )


# --- deletion returns -----------------------------------------------------------------------


def test_in_care_upns_match_current_and_former_upns() -> None:
    rec = record(upn_serial=3)
    FormerUpn.objects.create(child=rec.child, upn=upn(4))
    not_in_care = ChildFactory.create(upn=upn(5))
    assert services.in_care_upns([upn(3), upn(4), not_in_care.upn or "", "", upn(6)]) == {
        upn(3),
        upn(4),
    }


def test_staying_at_the_same_school_keeps_the_place() -> None:
    same = school()
    rec = record(
        placement=placement_values(
            started_on=days_ago(60), school=same, school_admitted_on=days_ago(60)
        )
    )
    move = services.placement_change(
        actor=SYSTEM, record=rec, **placement_values(started_on=days_ago(2), school=same)
    )
    assert move.alert is None
    assert move.placement.school_admitted_on == days_ago(60)


def test_on_roll_means_on_the_latest_roll_and_not_deleted_since() -> None:
    from cmetrack.detection.models import DeletionReturn
    from cmetrack.virtualschool.selectors import child_on_roll

    rec = record(upn_serial=9)
    pupil = rec.child.upn
    assert pupil is not None
    s = school()
    identity = {"legal_given_name": "A", "legal_family_name": "B", "dob": dt.date(2015, 3, 14)}
    october = RollSnapshot.objects.create(school=s, taken_on=days_ago(40))
    RollEntry.objects.create(snapshot=october, upn=pupil, sex="F", **identity)
    assert child_on_roll(upn=pupil, school_id=s.pk)
    DeletionReturn.objects.create(
        school=s, upn=pupil, ground="i", deleted_on=days_ago(10), **identity
    )
    assert not child_on_roll(upn=pupil, school_id=s.pk)  # deleted since
    DeletionReturn.objects.all().delete()
    RollSnapshot.objects.create(school=s, taken_on=days_ago(5))  # a later roll without them
    assert not child_on_roll(upn=pupil, school_id=s.pk)
    assert not child_on_roll(upn=None, school_id=s.pk)
