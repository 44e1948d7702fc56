"""The demo authority: a small one built from a seed, checked for counts, rules and repeats."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CLOSING_OUTCOMES, OPEN_STATES, CaseState, Outcome
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import work_queue
from cmetrack.cases.services import CloseDetails, close_checks
from cmetrack.demo.home_education import DEMO_CHILDREN
from cmetrack.demo.services import (
    DEMO_EMAIL_DOMAIN,
    DEMO_PASSWORD,
    DEMO_USERS,
    build_demo_authority,
    demo_email,
    demo_exists,
)
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.people.models import Child
from cmetrack.referrals.models import Referral, ReferralStatus
from cmetrack.registers.models import RollEntry
from cmetrack.rules import is_valid_upn

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)
SIZE: dict[str, int] = {"schools": 6, "pupils": 300, "cases": 25}


def build(seed=3):
    return build_demo_authority(
        seed=seed, today=TODAY, schools=SIZE["schools"], pupils=SIZE["pupils"], cases=SIZE["cases"]
    )


@pytest.fixture
def summary(db):
    return build()


def signature():
    rolls = sorted(
        RollEntry.objects.values_list("legal_given_name", "legal_family_name", "dob", "upn")
    )
    children = sorted(
        Child.objects.values_list("legal_given_names", "legal_family_name", "dob", "upn"),
        key=repr,
    )
    states = sorted(Case.objects.values_list("state", flat=True))
    return rolls, children, states


# Counts ----------------------------------------------------------------------------------


def test_counts(summary):
    assert Organisation.objects.filter(kind=OrganisationKind.SCHOOL).count() == 6
    assert RollEntry.objects.count() == 300
    assert Case.objects.count() == 25
    assert Child.objects.filter(cases__isnull=False).distinct().count() == 25
    assert Child.objects.count() == 25 + DEMO_CHILDREN  # the home-education demo's children
    assert User.objects.count() == len(DEMO_USERS)
    assert summary.schools == 6
    assert summary.pupils == 300
    assert summary.children == 25
    assert sum(summary.cases_by_state.values()) == 25


def test_summary_counts_match_the_database(summary):
    stored = Counter(Case.objects.values_list("state", flat=True))
    assert stored == Counter({str(k): v for k, v in summary.cases_by_state.items()})


def test_every_case_state_is_present(summary):
    assert set(Case.objects.values_list("state", flat=True)) == set(CaseState)


def test_not_building_twice():
    assert not demo_exists()
    build()
    assert demo_exists()
    with pytest.raises(ValueError, match="already exists"):
        build(seed=4)
    assert Case.objects.count() == 25  # nothing more was written


# People who use it -------------------------------------------------------------------------


def test_every_role_has_a_demo_user_who_can_sign_in(summary, client):
    demo_users = User.objects.filter(email__endswith="@" + DEMO_EMAIL_DOMAIN)
    roles_held = {role for user in demo_users for role in user.role_set}
    assert roles_held == set(Role)
    for role in Role:
        user = next(u for u in demo_users if u.has_role(role))
        assert client.login(username=user.email, password=DEMO_PASSWORD), user.email
        assert client.get("/").status_code == 200
        client.logout()
    assert not client.login(username=demo_email("manager"), password="wrong-password-2026")


def test_demo_users_belong_to_fitting_organisations(summary):
    school_user = User.objects.get(email=demo_email("school"))
    assert school_user.organisation is not None
    assert school_user.organisation.kind == OrganisationKind.SCHOOL
    agency_user = User.objects.get(email=demo_email("agency"))
    assert agency_user.organisation is not None
    assert agency_user.organisation.kind == OrganisationKind.AGENCY
    admin = User.objects.get(email=demo_email("admin"))
    assert admin.is_staff
    slo = User.objects.get(email=demo_email("slo"))
    assert slo.linked_schools.count() == 2
    assert set(slo.linked_schools.values_list("kind", flat=True)) == {OrganisationKind.SCHOOL}


def test_slo_investigations_are_on_the_demo_slo_desk(summary):
    slo = User.objects.get(email=demo_email("slo"))
    linked = set(slo.linked_schools.values_list("pk", flat=True))
    investigations = Case.objects.filter(state=CaseState.SLO_INVESTIGATION)
    assert investigations.exists()
    for case in investigations:
        assert case.last_education_school_id in linked
        assert case.assigned_officer_id == slo.pk
    queue = work_queue(slo).filter(state=CaseState.SLO_INVESTIGATION)
    assert set(queue) == set(investigations)


# Rules the data keep ----------------------------------------------------------------------


def test_roll_upns_are_valid_unique_and_from_the_school(summary):
    entries = list(RollEntry.objects.select_related("snapshot__school__local_authority"))
    upns = [e.upn for e in entries]
    invalid = [u for u in upns if not is_valid_upn(u)]
    assert invalid == []
    assert len(set(upns)) == len(upns) == 300
    for entry in entries:
        school = entry.snapshot.school
        assert entry.upn[1:8] == school.laestab, (entry.upn, school.laestab)


def test_children_referred_from_rolls_keep_their_upn(summary):
    roll_upns = set(RollEntry.objects.values_list("upn", flat=True))
    child_upns = [u for u in Child.objects.values_list("upn", flat=True) if u]
    assert child_upns  # some children came from a school roll
    assert set(child_upns) <= roll_upns
    assert len(set(child_upns)) == len(child_upns)  # each pupil referred at most once


def test_closed_cases_have_an_outcome_and_open_ones_none(summary):
    closed = Case.objects.filter(state=CaseState.CLOSED)
    assert closed.exists()
    for case in closed:
        assert case.outcome, case.reference
        assert case.outcome in CLOSING_OUTCOMES[CaseState.LOCATED]  # closed from "located"
    assert not Case.objects.filter(state__in=OPEN_STATES).exclude(outcome="").exists()


def test_children_in_care_have_a_responsible_authority(summary):
    in_care = Child.objects.filter(in_care=True)
    assert in_care.exists()  # seed 3 puts children in care; otherwise this checks nothing
    assert not in_care.filter(responsible_la__isnull=True).exists()
    assert not Child.objects.filter(in_care=False, responsible_la__isnull=False).exists()


def test_every_case_has_its_linked_referral(summary):
    assert Referral.objects.count() == 25
    assert set(Referral.objects.values_list("status", flat=True)) == {ReferralStatus.LINKED}
    for case in Case.objects.all():
        (referral,) = case.referrals.all()
        assert referral.child_id == case.child_id


def test_assigned_unless_just_received(summary):
    unassigned = Case.objects.filter(assigned_officer__isnull=True)
    assert set(unassigned.values_list("state", flat=True)) <= {CaseState.RECEIVED}


# Reproducibility ------------------------------------------------------------------------


def build_and_roll_back(seed):
    with transaction.atomic():
        build(seed)
        captured = signature()
        transaction.set_rollback(True)
    assert not demo_exists()
    return captured


def test_same_seed_gives_the_same_authority():
    first = build_and_roll_back(3)
    second = build_and_roll_back(3)
    assert len(first[0]) == 300
    assert len(first[1]) == 25 + DEMO_CHILDREN  # with a case, and on the registers' demo
    assert first == second


def test_different_seed_gives_a_different_authority():
    assert build_and_roll_back(3) != build_and_roll_back(4)


# The management command ------------------------------------------------------------------


def demo_command(*args):
    out = StringIO()
    call_command(
        "demo_data",
        "--seed",
        "3",
        "--schools",
        str(SIZE["schools"]),
        "--pupils",
        str(SIZE["pupils"]),
        "--cases",
        str(SIZE["cases"]),
        *args,
        stdout=out,
    )
    return out.getvalue()


def test_command_builds_and_prints_the_sign_ins(db):
    out = demo_command()
    assert "Built the demo authority: 6 schools, 300 pupils on rolls, 25 children" in out
    assert f"password for all: {DEMO_PASSWORD}" in out
    for user in DEMO_USERS:
        assert demo_email(user.email) in out
    assert Case.objects.count() == 25


def test_command_if_missing_does_not_fail_when_it_exists(db):
    demo_command("--if-missing")
    out = demo_command("--if-missing")
    assert "The demo authority is already in the database." in out
    assert "Built the demo authority" not in out
    assert demo_email("manager") in out
    assert f"password for all: {DEMO_PASSWORD}" in out
    assert Case.objects.count() == 25  # not built twice


def test_command_without_if_missing_fails_when_it_exists(db):
    demo_command()
    with pytest.raises(CommandError, match="already exists"):
        demo_command()
    assert Case.objects.count() == 25


def test_the_demo_has_a_past(summary):
    """Histories are written on the days they happened (demo/clock.py): the chronology,
    the state changes and the audit rows of the cases spread over the school years behind
    the build day, and no case's history is after its own last move."""
    from django.utils import timezone

    from cmetrack.audit.models import AuditEvent
    from cmetrack.cases.models import Case, CaseStateChange, ChronologyEvent

    days = sorted(
        {timezone.localdate(at) for at in ChronologyEvent.objects.values_list("at", flat=True)}
    )
    assert days[0] < TODAY - dt.timedelta(days=60)
    assert len(days) > 10
    for change in CaseStateChange.objects.select_related("case"):
        assert timezone.localdate(change.at) == change.effective_on
        assert change.effective_on >= change.case.date_referred
    opened = AuditEvent.objects.filter(object_type="cases.case", action="create")
    assert {timezone.localdate(e.at) for e in opened} == set(
        Case.objects.values_list("date_referred", flat=True)
    )
    for case in Case.objects.filter(state="closed"):
        assert case.closed_on is not None
        assert case.closed_on <= TODAY


def closes_by_the_rules(case: Case) -> None:
    """The evidence the one close path asks for is on the closed case: as it was when it
    was located, it passes ``close_checks`` with nothing given at the close."""
    located = Case.objects.get(pk=case.pk)
    located.state = CaseState.LOCATED
    assert located.located_where, case.reference
    assert located.located_route, case.reference
    close_checks(located, Outcome(case.outcome), "Demo history.", CloseDetails())


def test_closed_demo_cases_were_located_with_their_evidence(summary):
    """Issue 17: the demo closes through the one close path (no close without where the
    child is and the route's evidence)."""
    closed = Case.objects.filter(state=CaseState.CLOSED)
    assert closed.exists()
    for case in closed:
        closes_by_the_rules(case)
    located = Case.objects.filter(state=CaseState.LOCATED)
    assert all(c.located_where and c.located_route for c in located)
