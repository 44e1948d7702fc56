"""The Virtual School pages: the dashboard's four queues, the record, a placement move, the
plan and its review, the printable plan; restricted addresses masked; and what every other
role must not reach or see."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.detection.models import AlertRule, AlertState
from cmetrack.detection.tests.factories import AlertFactory
from cmetrack.people.models import RestrictedAddressAccess
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.virtualschool import services
from cmetrack.virtualschool.models import ChildInCare, PersonalEducationPlan, PlacementAlert

from .factories import SYSTEM, authority, cme_case, days_ago, pep, placement_values, record, user

pytestmark = pytest.mark.django_db


def client_for(u: Any) -> Client:
    c = Client()
    c.force_login(u)
    return c


def text(response: Any) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


def date_post(name: str, d: dt.date) -> dict[str, str]:
    return {f"{name}-day": str(d.day), f"{name}-month": str(d.month), f"{name}-year": str(d.year)}


@pytest.fixture
def world() -> dict[str, Any]:
    vs = user(Role.VIRTUAL_SCHOOL, full_name="Vera School")
    rec = record(
        ChildFactory.create(legal_given_names="Tia", legal_family_name="Incare"),
        placement=placement_values(line1="9 Secret Lane", is_restricted=True),
    )
    case = cme_case(rec.child)
    moved = services.placement_change(
        actor=SYSTEM,
        record=rec,
        **placement_values(started_on=days_ago(3), line1="9 Secret Lane", is_restricted=True),
    )
    alert = AlertFactory.create(
        rule=AlertRule.IN_CARE_ATTENDANCE, upn=rec.child.upn, child=rec.child,
        episode_start="2025-09-01", detected_on=timezone.localdate(),
        evidence={"attended_sessions": 38, "possible_sessions": 40, "attendance_percent": 95.0},
    )  # fmt: skip
    return {"vs": vs, "record": rec, "case": case, "alert": alert, "placement_alert": moved.alert}


def test_the_dashboard_shows_cases_peps_and_both_kinds_of_alert(world: dict[str, Any]) -> None:
    page = text(client_for(world["vs"]).get("/virtual-school/"))
    assert "Children in care with CME cases" in page
    assert world["case"].reference in page
    assert "PEP needed" in page
    assert "Write the PEP" in page
    assert "Moved placement with no school recorded" in page
    assert "95.0%" in page
    assert "38 of 40 sessions" in page


def test_the_nav_shows_the_virtual_school_to_its_officers() -> None:
    page = text(client_for(user(Role.VIRTUAL_SCHOOL)).get("/"))
    assert 'href="/virtual-school/"' in page
    assert 'href="/virtual-school/"' not in text(client_for(user(Role.SCHOOL_USER)).get("/"))


def test_working_the_alerts_from_the_dashboard(world: dict[str, Any]) -> None:
    c = client_for(world["vs"])
    alert, pa = world["alert"], world["placement_alert"]
    assert c.post(f"/virtual-school/attendance-alerts/{alert.pk}/acknowledge/").status_code == 302
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED
    c.post(f"/virtual-school/attendance-alerts/{alert.pk}/dismiss/", {"reason": ""})
    alert.refresh_from_db()
    assert alert.state == AlertState.ACKNOWLEDGED  # a reason is needed
    c.post(f"/virtual-school/attendance-alerts/{alert.pk}/dismiss/", {"reason": "Illness, known"})
    alert.refresh_from_db()
    assert alert.state == AlertState.DISMISSED
    c.post(
        f"/virtual-school/placement-alerts/{pa.pk}/resolve/", {"resolution": "Place at Elm Academy"}
    )
    assert PlacementAlert.objects.get(pk=pa.pk).resolution == "Place at Elm Academy"
    page = text(c.get("/virtual-school/"))
    assert "No child in care has moved placement without a school place." in page
    assert "No child in care has attendance at 95% or below." in page


def test_the_record_page_masks_a_restricted_placement_address(world: dict[str, Any]) -> None:
    rec = world["record"]
    vs = world["vs"]
    page = text(client_for(vs).get(f"/virtual-school/records/{rec.pk}/"))
    assert "9 Secret Lane" not in page
    assert "Restricted" in page
    assert "not taken off a school's roll until a new school has admitted them" in page
    assert AuditEvent.objects.filter(actor=vs, action="view", child_id=rec.child_id).exists()
    manager = user(Role.CME_MANAGER)
    RestrictedAddressAccess.objects.create(
        child=rec.child, user=vs, granted_by=manager, reason="Lead"
    )
    assert "9 Secret Lane" in text(client_for(vs).get(f"/virtual-school/records/{rec.pk}/"))


def test_recording_a_child_in_care_from_the_page() -> None:
    officer = user(Role.CME_OFFICER)
    child = ChildFactory.create()
    case = cme_case(child)
    c = client_for(officer)
    la = authority()
    url = f"/virtual-school/children/{child.pk}/in-care/new/"
    assert c.get(url).status_code == 200
    bad = c.post(url, {"responsible_authority": la.pk})
    assert bad.status_code == 400
    assert "Enter the social worker" in text(bad)
    assert "Choose the child" in text(bad)  # legal status
    data = {
        "upn": "",
        "responsible_authority": la.pk,
        "legal_status": "V2",
        **date_post("came_into_care_on", days_ago(30)),
        "social_worker_name": "Dee Worker",
        "with_placement": "yes",
        **{f"placement-{k}": v for k, v in date_post("started_on", days_ago(30)).items()},
        "placement-placement_type": "U6",
        "placement-placing_authority": la.pk,
        "placement-is_restricted": "no",
    }
    response = c.post(url, data)
    assert response.status_code == 302, text(response)
    rec = ChildInCare.objects.get(child=child)
    assert rec.placements.get().placement_type == "U6"
    child.refresh_from_db()
    assert child.in_care
    edit = text(c.get(f"/virtual-school/records/{rec.pk}/edit/"))
    assert f'<option value="{la.pk}" selected>' in edit
    changed = c.post(f"/virtual-school/records/{rec.pk}/edit/", {
        "responsible_authority": la.pk, "legal_status": "C2", "social_worker_name": "Dee Worker",
        **date_post("came_into_care_on", days_ago(30)),
    })  # fmt: skip
    assert changed.status_code == 302, text(changed)
    rec.refresh_from_db()
    assert rec.legal_status == "C2"
    # From the dashboard's box: the case reference opens the record.
    found = c.get("/virtual-school/", {"case": case.reference})
    assert found["Location"] == f"/virtual-school/records/{rec.pk}/"


def test_a_placement_move_from_the_page_raises_the_alert(world: dict[str, Any]) -> None:
    rec = world["record"]
    c = client_for(world["vs"])
    url = f"/virtual-school/records/{rec.pk}/placements/new/"
    move = {"placement_type": "K2", "placing_authority": rec.responsible_authority_id,
            "is_restricted": "no"}  # fmt: skip
    bad = c.post(url, {**date_post("started_on", days_ago(3)), **move})
    assert bad.status_code == 400
    assert "after the start of the current placement" in text(bad)
    ok = c.post(url, {**date_post("started_on", days_ago(1)), **move})
    assert ok.status_code == 302
    assert (
        PlacementAlert.objects.filter(placement__record=rec, resolved_on__isnull=True).count() == 2
    )


def test_writing_reviewing_and_printing_a_plan(world: dict[str, Any]) -> None:
    rec, vs = world["record"], world["vs"]
    c = client_for(vs)
    url = f"/virtual-school/records/{rec.pk}/peps/new/"
    form = text(c.get(url))
    assert "network of professionals" in form  # the standard target is filled in
    bad = c.post(url, {"case": world["case"].pk, **date_post("meeting_on", days_ago(2)),
                       "attendees": "VS, SW", "summary": "x", "suitable_education": "no",
                       "attendance_status": "not_started",
                       "academic_status": "not_started"})  # fmt: skip
    assert bad.status_code == 400
    assert "Give the reasons the child is not receiving suitable education" in text(bad)
    ok = c.post(url, {"case": world["case"].pk, **date_post("meeting_on", days_ago(2)),
                      "attendees": "VS, SW, carer", "summary": "Child did not attend.",
                      "suitable_education": "no", "suitable_education_reasons": "No school place",
                      "attendance_actions": "", "attendance_status": "in_progress",
                      "academic_status": "not_started",
                      "attendance_responsible": "Vera"})  # fmt: skip
    assert ok.status_code == 302, text(ok)
    plan = PersonalEducationPlan.objects.get()
    assert plan.targets.get(area="attendance").responsible == "Vera"
    assert "network of professionals" in plan.targets.get(area="attendance").actions
    page = text(c.get(f"/virtual-school/peps/{plan.pk}/"))
    assert "Target 1: Attendance" in page
    assert "Inclusion" in page
    assert "One-to-one" in page
    printable = text(c.get(f"/virtual-school/peps/{plan.pk}/print/"))
    assert "Personal education plan: child in care missing education" in printable
    assert "9 Secret Lane" not in printable
    review = c.post(f"/virtual-school/peps/{plan.pk}/review/", {
        **date_post("reviewed_on", days_ago(0)), "attendees": "VS", "summary": "Place found",
        "suitable_education": "yes",
    })  # fmt: skip
    assert review.status_code == 302
    plan.refresh_from_db()
    assert plan.reviews.count() == 1
    edit = c.post(f"/virtual-school/peps/{plan.pk}/edit/", {
        **date_post("meeting_on", plan.meeting_on), **date_post("review_on", plan.review_on),
        "attendees": plan.attendees, "summary": plan.summary, "suitable_education": "yes",
        "attendance_status": "achieved", "academic_status": "in_progress",
        "attendance_actions": plan.targets.get(area="attendance").actions,
    })  # fmt: skip
    assert edit.status_code == 302, text(edit)
    assert plan.targets.get(area="attendance").status == "achieved"


@pytest.mark.pdf
def test_the_plan_as_a_pdf(world: dict[str, Any]) -> None:
    plan = pep(world["record"], world["case"], world["vs"])
    response = client_for(world["vs"]).get(f"/virtual-school/peps/{plan.pk}/pdf/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert AuditEvent.objects.filter(action="export", child_id=world["record"].child_id).exists()


def test_a_cme_officer_reads_but_does_not_write_plans(world: dict[str, Any]) -> None:
    officer = client_for(user(Role.CME_OFFICER))
    plan = pep(world["record"], world["case"], world["vs"])
    assert officer.get("/virtual-school/").status_code == 200
    assert officer.get(f"/virtual-school/peps/{plan.pk}/").status_code == 200
    assert officer.get(f"/virtual-school/records/{world['record'].pk}/peps/new/").status_code == 403
    assert officer.get(f"/virtual-school/peps/{plan.pk}/edit/").status_code == 403


PAGES = [
    "/virtual-school/",
    "/virtual-school/children/",
    "/virtual-school/children/{child}/in-care/new/",
    "/virtual-school/records/{record}/",
    "/virtual-school/records/{record}/edit/",
    "/virtual-school/records/{record}/placements/new/",
    "/virtual-school/placements/{placement}/school/",
    "/virtual-school/records/{record}/peps/new/",
    "/virtual-school/peps/{pep}/",
    "/virtual-school/peps/{pep}/edit/",
    "/virtual-school/peps/{pep}/review/",
    "/virtual-school/peps/{pep}/print/",
]


@pytest.mark.parametrize(
    "role",
    [Role.SCHOOL_USER, Role.AGENCY_USER, Role.SLO, Role.SAFEGUARDING_ADVISER, Role.AUDITOR,
     Role.ADMINISTRATOR, Role.ADMISSIONS],
)  # fmt: skip
def test_other_roles_reach_nothing_and_see_nothing(world: dict[str, Any], role: Role) -> None:
    rec = world["record"]
    plan = pep(rec, world["case"], world["vs"])
    c = client_for(user(role))
    ids = {
        "child": rec.child_id,
        "record": rec.pk,
        "placement": rec.placements.first().pk,
        "pep": plan.pk,
    }
    for page in PAGES:
        response = c.get(page.format(**ids))
        assert response.status_code == 404, page
        assert "Incare" not in response.content.decode()
    for post in (
        f"/virtual-school/placement-alerts/{world['placement_alert'].pk}/resolve/",
        f"/virtual-school/attendance-alerts/{world['alert'].pk}/acknowledge/",
        f"/virtual-school/attendance-alerts/{world['alert'].pk}/dismiss/",
    ):
        assert c.post(post, {"resolution": "x", "reason": "x"}).status_code == 404
    assert not AuditEvent.objects.filter(actor__roles__role=role, child_id=rec.child_id).exists()
    world["alert"].refresh_from_db()
    assert world["alert"].state == AlertState.NEW


def test_a_case_of_a_child_in_care_is_led_by_the_virtual_school(world: dict[str, Any]) -> None:
    from cmetrack.cases.permissions import may_act, may_manage

    case, vs = world["case"], world["vs"]
    assert may_act(vs, case)
    assert not may_manage(vs)
    other = cme_case(ChildFactory.create())
    assert not may_act(vs, other)
    assert Actor(user=vs).user is vs


def test_the_dashboard_reads_a_fixed_number_of_queries(
    world: dict[str, Any], django_assert_max_num_queries: Any
) -> None:
    """However many children in care, plans and attendance alerts (no per-row queries)."""
    for n in range(12):
        rec = record(upn_serial=100 + n)
        case = cme_case(rec.child)
        if n % 2:
            pep(rec, case, world["vs"])
        AlertFactory.create(
            rule=AlertRule.IN_CARE_ATTENDANCE, upn=rec.child.upn, child=rec.child,
            episode_start="2025-09-01", detected_on=timezone.localdate(),
            evidence={"attended_sessions": 9, "possible_sessions": 10, "attendance_percent": 90.0},
        )  # fmt: skip
    c = client_for(world["vs"])
    with django_assert_max_num_queries(20):  # 13 measured
        response = c.get("/virtual-school/")
    assert response.status_code == 200
    assert text(response).count("90.0%") == 12


def test_the_childs_page_links_to_the_in_care_record(world: dict[str, Any]) -> None:
    rec = world["record"]
    page = text(client_for(world["vs"]).get(f"/children/{rec.child_id}/"))
    assert f'href="/virtual-school/records/{rec.pk}/"' in page
    flagged = ChildFactory.create(in_care=True)
    cme_case(flagged)
    officer = client_for(user(Role.CME_OFFICER))
    assert f"/virtual-school/children/{flagged.pk}/in-care/new/" in text(
        officer.get(f"/children/{flagged.pk}/")
    )
