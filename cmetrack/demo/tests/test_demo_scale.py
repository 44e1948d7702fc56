"""The demo at county scale: UPNs past 999 pupils a school and year, and cases in bulk."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import OPEN_STATES, CaseState
from cmetrack.cases.models import Case, CaseStateChange, ChronologyEvent
from cmetrack.demo import services as demo_services
from cmetrack.demo.services import DEMO_PASSWORD, _Builder, build_demo_authority, demo_email
from cmetrack.demo.tests.test_demo_data import closes_by_the_rules
from cmetrack.organisations.models import LocalAuthority, Organisation
from cmetrack.people.models import Address, Child, ParentCarer
from cmetrack.referrals.models import Referral, ReferralStatus
from cmetrack.registers.models import RollEntry
from cmetrack.rules import is_valid_upn
from cmetrack.safeguarding.models import RiskAssessment

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)


def test_a_school_issues_more_than_999_upns_in_a_year():
    builder = _Builder(1, TODAY)
    school = Organisation(
        name="Big Academy", estab_number="4000", local_authority=LocalAuthority(code="938")
    )
    upns = [builder.upn(school, 2026) for _ in range(2500)]
    assert all(is_valid_upn(u) for u in upns)
    assert len(set(upns)) == 2500
    assert {u[1:8] for u in upns} == {"9384000"}  # all issued by this school
    # 999 in the year asked for, then the serials of the years before.
    assert Counter(u[8:10] for u in upns) == {"26": 999, "25": 999, "24": 502}
    assert upns[0][10:] == "001"
    assert upns[998][10:] == "999"
    assert upns[999][8:] == "25001"


def test_a_big_school_roll_has_valid_unique_upns():
    # Four schools: the one secondary school takes about 3,300 of the 5,000 pupils, more
    # than 999 of whom joined this year (the serial overflowed here before).
    build_demo_authority(seed=2, schools=4, pupils=5000, cases=5, today=TODAY)
    upns = list(RollEntry.objects.values_list("upn", flat=True))
    assert len(upns) == 5000
    assert [u for u in upns if not is_valid_upn(u)] == []
    assert len(set(upns)) == 5000
    per_school_year = Counter(
        (e, u[8:10]) for e, u in RollEntry.objects.values_list("snapshot__school", "upn")
    )
    assert max(per_school_year.values()) == 999  # the limit was reached, and kept


@pytest.fixture
def bulk_demo(monkeypatch):
    """A demo whose cases after the fifth are written in bulk (as past 300 at full size)."""
    monkeypatch.setattr(demo_services, "SERVICE_CASES", 5)
    return build_demo_authority(
        seed=3, schools=6, pupils=400, cases=90, today=TODAY, officers=5, managers=2
    )


def test_bulk_cases_are_complete_and_consistent(bulk_demo):
    assert Case.objects.count() == 90
    assert sum(bulk_demo.cases_by_state.values()) == 90
    assert Counter(Case.objects.values_list("state", flat=True)) == Counter(
        {str(k): v for k, v in bulk_demo.cases_by_state.items()}
    )
    assert set(Case.objects.values_list("state", flat=True)) == set(CaseState)
    for case in Case.objects.select_related("child"):
        (referral,) = Referral.objects.filter(case=case)
        assert referral.status == ReferralStatus.LINKED
        assert referral.child_id == case.child_id
        assert referral.family_name == case.child.legal_family_name
        assert Address.objects.filter(child=case.child).count() == 1
        assert ParentCarer.objects.filter(child=case.child).count() == 1
        moves = list(CaseStateChange.objects.filter(case=case).order_by("at", "id"))
        assert moves[0].from_state == ""
        assert moves[0].to_state == CaseState.RECEIVED
        assert moves[-1].to_state == case.state
        assert ChronologyEvent.objects.filter(case=case).count() >= len(moves)
        if case.state == CaseState.CLOSED:
            assert case.outcome
            assert case.closed_on
            closes_by_the_rules(case)  # located, with the route's evidence (issue 17)
        else:
            assert case.outcome == ""
        if case.state in (CaseState.AWAITING_PROVISION, CaseState.IN_PROVISION):
            assert case.date_provision_determined
            assert case.provision_recommended
        if case.state == CaseState.DORMANT:
            assert RiskAssessment.objects.filter(case=case, authorised_at__isnull=False).exists()
        if case.state != CaseState.RECEIVED:
            assert case.assigned_officer_id is not None


def test_bulk_children_from_rolls_keep_their_upn_and_each_pupil_once(bulk_demo):
    roll_upns = set(RollEntry.objects.values_list("upn", flat=True))
    child_upns = [u for u in Child.objects.values_list("upn", flat=True) if u]
    assert len(child_upns) > 10
    assert set(child_upns) <= roll_upns
    assert len(set(child_upns)) == len(child_upns)


def test_bulk_slo_investigations_are_on_the_slo_desk(bulk_demo):
    slo = User.objects.get(email=demo_email("slo"))
    linked = set(slo.linked_schools.values_list("pk", flat=True))
    investigations = Case.objects.filter(state=CaseState.SLO_INVESTIGATION)
    assert investigations.count() > 1
    for case in investigations:
        assert case.last_education_school_id in linked
        assert case.assigned_officer_id == slo.pk


def test_load_test_accounts_sign_in_and_get_cases(bulk_demo, client):
    extra = ["officer4", "officer5", "manager2"]
    for local in extra:
        user = User.objects.get(email=demo_email(local))
        role = Role.CME_MANAGER if local.startswith("manager") else Role.CME_OFFICER
        assert user.has_role(role)
        assert client.login(username=user.email, password=DEMO_PASSWORD)
        assert client.get("/").status_code == 200
        client.logout()
    assert not User.objects.filter(email=demo_email("officer6")).exists()
    officers = User.objects.filter(email__startswith="officer")
    assert Case.objects.filter(assigned_officer__in=officers, state__in=OPEN_STATES).exists()


def test_the_command_builds_bulk_cases_and_says_so(monkeypatch, db):
    monkeypatch.setattr(demo_services, "SERVICE_CASES", 3)
    out = StringIO()
    call_command(
        "demo_data", "--schools", "5", "--pupils", "200", "--cases", "40", "--officers", "4",
        "-v", "2", stdout=out,
    )  # fmt: skip
    text = out.getvalue()
    assert "Built the demo authority: 5 schools, 200 pupils on rolls" in text
    assert "40 cases" in text
    assert "200 pupils on rolls" in text
    assert demo_email("officer4") in text
    assert Case.objects.count() == 40


def test_bulk_demo_has_alerts_about_pupils_on_the_rolls(bulk_demo):
    from cmetrack.detection.models import Alert

    alerts = list(Alert.objects.select_related("school"))
    assert len(alerts) == (90 - 5) // 8  # one for every eight cases written in bulk
    roll = dict(RollEntry.objects.values_list("upn", "snapshot__school_id"))
    for alert in alerts:
        assert roll[alert.upn] == alert.school_id
        assert alert.school is not None
        assert alert.laestab == alert.school.laestab
        assert alert.detected_on <= TODAY
