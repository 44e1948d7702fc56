"""Who sees which child, case and referral: each role tried against what it must NOT see."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.cases.services import case_assign, case_open, case_transition
from cmetrack.people.models import Child
from cmetrack.people.selectors import child_get_for_view, children_visible_to
from cmetrack.people.services import child_add_address, restricted_address_access_grant
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.selectors import referrals_visible_to
from cmetrack.referrals.services import referral_record

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


@pytest.fixture
def world(make_user):
    """Two schools, one agency, and cases that only some roles may see."""
    school_a, school_b = SchoolFactory.create(), SchoolFactory.create()
    agency = AgencyFactory.create()
    slo = make_user(Role.SLO)
    slo.linked_schools.set([school_a])

    def open_case(key, state_path, *, school=None, in_care=False):
        # A surname no person in the fixtures has, so a leak is unambiguous.
        child = ChildFactory.create(in_care=in_care, legal_family_name=f"Qzx{key.replace('_', '')}")
        case = case_open(actor=SYSTEM, child=child, route=ReferralRoute.SCHOOL,
                         date_referred=dt.date(2026, 10, 1))  # fmt: skip
        if school is not None:
            case.last_education_school = school
            case.save(update_fields=["last_education_school"])
        for state in state_path:
            case = case_transition(actor=SYSTEM, case=case, to_state=state, reason="test")
        return case

    cases = {
        "slo_a": open_case("slo_a", [CaseState.SLO_INVESTIGATION], school=school_a),
        "slo_b": open_case("slo_b", [CaseState.SLO_INVESTIGATION], school=school_b),
        "tracking": open_case("tracking", [CaseState.TRACKING]),
        "in_care": open_case("in_care", [CaseState.TRACKING], in_care=True),
    }
    referral_a = referral_record(
        actor=SYSTEM, route=ReferralRoute.SCHOOL, given_names="Ava", family_name="Stone",
        reason="absent", referring_organisation=school_a,
    )  # fmt: skip
    referral_b = referral_record(
        actor=SYSTEM, route=ReferralRoute.AGENCY, given_names="Ben", family_name="Hale",
        reason="no school", referring_organisation=agency,
    )  # fmt: skip
    users = {
        Role.CME_OFFICER: make_user(Role.CME_OFFICER),
        Role.CME_MANAGER: make_user(Role.CME_MANAGER),
        Role.SLO: slo,
        Role.VIRTUAL_SCHOOL: make_user(Role.VIRTUAL_SCHOOL),
        Role.SAFEGUARDING_ADVISER: make_user(Role.SAFEGUARDING_ADVISER),
        Role.ADMINISTRATOR: make_user(Role.ADMINISTRATOR, is_staff=True),
        Role.AUDITOR: make_user(Role.AUDITOR),
        Role.ADMISSIONS: make_user(Role.ADMISSIONS),
        Role.SCHOOL_USER: make_user(Role.SCHOOL_USER, organisation=school_a),
        Role.AGENCY_USER: make_user(Role.AGENCY_USER, organisation=agency),
    }
    case_assign(actor=SYSTEM, case=cases["tracking"], officer=users[Role.SAFEGUARDING_ADVISER])
    return {"cases": cases, "users": users, "referrals": {"a": referral_a, "b": referral_b}}


ALL = {"slo_a", "slo_b", "tracking", "in_care"}
VISIBLE_CASES = {
    Role.CME_OFFICER: ALL,
    Role.CME_MANAGER: ALL,
    Role.SLO: {"slo_a"},
    Role.VIRTUAL_SCHOOL: {"in_care"},
    Role.SAFEGUARDING_ADVISER: {"tracking"},
    Role.ADMINISTRATOR: set(),
    Role.AUDITOR: set(),
    # Admissions officers work places through the provision app's own narrow view.
    Role.ADMISSIONS: set(),
    Role.SCHOOL_USER: set(),
    Role.AGENCY_USER: set(),
}
VISIBLE_REFERRALS = {
    Role.CME_OFFICER: {"a", "b"},
    Role.CME_MANAGER: {"a", "b"},
    Role.SCHOOL_USER: {"a"},
    Role.AGENCY_USER: {"b"},
}


def test_every_role_is_in_the_table():
    assert set(VISIBLE_CASES) == set(Role)


@pytest.mark.parametrize("role", list(Role))
def test_cases_and_children_visible_to_each_role(world, role):
    user = world["users"][role]
    expected = {world["cases"][k].pk for k in VISIBLE_CASES[role]}
    assert set(cases_visible_to(user).values_list("pk", flat=True)) == expected
    expected_children = {world["cases"][k].child_id for k in VISIBLE_CASES[role]}
    assert set(children_visible_to(user).values_list("pk", flat=True)) == expected_children


@pytest.mark.parametrize("role", list(Role))
def test_referrals_visible_to_each_role(world, role):
    user = world["users"][role]
    expected = {world["referrals"][k].pk for k in VISIBLE_REFERRALS.get(role, set())}
    assert set(referrals_visible_to(user).values_list("pk", flat=True)) == expected


@pytest.mark.parametrize("role", list(Role))
def test_child_page_is_404_out_of_scope_and_audited_in_scope(world, role, client):
    user = world["users"][role]
    client.force_login(user)
    for key, case in world["cases"].items():
        response = client.get(reverse("people:child-detail", args=[case.child_id]))
        viewed = AuditEvent.objects.filter(
            action=AuditAction.VIEW, child_id=case.child_id, actor=user
        )
        if key in VISIBLE_CASES[role]:
            assert response.status_code == 200
            assert viewed.count() == 1
        else:
            assert response.status_code == 404
            assert case.child.legal_family_name not in response.content.decode()
            assert not viewed.exists()
    # A guessed id that does not exist looks the same as one out of scope.
    missing = client.get(reverse("people:child-detail", args=[999_999]))
    assert missing.status_code == 404


def test_inactive_user_sees_nothing(world):
    user = world["users"][Role.CME_MANAGER]
    user.is_active = False
    user.save()
    assert not cases_visible_to(user).exists()
    assert not children_visible_to(user).exists()


def test_child_get_for_view_out_of_scope_raises_and_writes_no_audit(world):
    school_user = world["users"][Role.SCHOOL_USER]
    child_id = world["cases"]["slo_a"].child_id
    with pytest.raises(Child.DoesNotExist):
        child_get_for_view(actor=Actor(user=school_user), child_id=child_id)
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW).exists()


def test_restricted_address_is_shown_only_to_people_a_manager_named(world, client):
    case = world["cases"]["tracking"]
    child_add_address(actor=SYSTEM, child=case.child, line1="1 Safe Street", town="Hidden",
                      postcode="HD1 1AA", is_restricted=True)  # fmt: skip
    url = reverse("people:child-detail", args=[case.child_id])
    officer, manager = world["users"][Role.CME_OFFICER], world["users"][Role.CME_MANAGER]
    for user in (officer, manager):  # nobody sees it by role alone, managers included
        client.force_login(user)
        page = client.get(url).content.decode()
        assert "1 Safe Street" not in page
        assert "HD1 1AA" not in page
        assert "Restricted" in page
    restricted_address_access_grant(
        actor=Actor(user=manager), child=case.child, user=officer, reason="Visiting the family"
    )
    client.force_login(officer)
    assert "1 Safe Street" in client.get(url).content.decode()
    client.force_login(manager)
    assert "1 Safe Street" not in client.get(url).content.decode()


def test_child_page_shows_the_chronology_of_the_cases_the_viewer_may_see(world, client):
    case = world["cases"]["tracking"]
    url = reverse("people:child-detail", args=[case.child_id])
    client.force_login(world["users"][Role.CME_OFFICER])
    page = client.get(url).content.decode()
    assert '<h2 class="govuk-heading-m">Chronology</h2>' in page
    assert case.reference in page
    assert "Received → Tracking" in page
