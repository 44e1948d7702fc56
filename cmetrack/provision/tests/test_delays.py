"""Delay alerts for the panel, counted in school days of the authority's calendar."""

from __future__ import annotations

import datetime as dt

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.cases import services as case_services
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.provision import services
from cmetrack.provision.delays import delay_queue, delays_for_cases
from cmetrack.provision.models import ApplicationOutcome, PanelDecision
from cmetrack.schoolcalendar.selectors import school_days

from .factories import SYSTEM, make_upn, provider, term_around, today

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def term():
    return term_around(today())


def n_school_days_ago(n: int) -> dt.date:
    """The day with exactly ``n`` school days after it up to today."""
    days = school_days(None, today() - dt.timedelta(days=80), today())
    later = [d for d in days if d <= today()]
    return later[-n - 1]


def waiting(determined: dt.date) -> Case:
    case = case_in_state(CaseState.LOCATED)
    return services.provision_recommend(
        actor=SYSTEM,
        case=case,
        provision_recommended="mainstream",
        date_of_assessment=determined,
        date_provision_determined=determined,
    )


def rules(case):
    return [d.rule for d in delays_for_cases([case], today())]


def test_no_place_offered_alert_from_20_school_days():
    assert rules(waiting(n_school_days_ago(19))) == []
    case = waiting(n_school_days_ago(20))
    delays = delays_for_cases([case], today())
    assert [(d.rule, d.school_days) for d in delays] == [("No place offered", 20)]


def test_an_offer_clears_it_and_an_offer_not_taken_up_raises_its_own():
    school = provider("Northgate Academy", estab="4001")
    case = waiting(n_school_days_ago(25))
    app = services.admission_application_record(
        actor=SYSTEM, case=case, school=school, applied_on=n_school_days_ago(24)
    )
    services.admission_outcome_record(
        actor=SYSTEM,
        application=app,
        outcome=ApplicationOutcome.OFFERED,
        outcome_on=n_school_days_ago(9),
    )
    assert rules(case) == []
    app.refresh_from_db()
    app.outcome_on = n_school_days_ago(10)
    app.save()
    assert rules(case) == ["Offered but not started"]


def test_a_refused_application_is_not_an_offer():
    school = provider("Northgate Academy", estab="4001")
    case = waiting(n_school_days_ago(20))
    app = services.admission_application_record(
        actor=SYSTEM, case=case, school=school, applied_on=n_school_days_ago(20)
    )
    services.admission_outcome_record(
        actor=SYSTEM,
        application=app,
        outcome=ApplicationOutcome.REFUSED,
        outcome_on=today(),
        notes="Full",
    )
    assert rules(case) == ["No place offered"]


def test_panel_without_a_decision():
    case = waiting(n_school_days_ago(5))
    services.panel_referral_record(
        actor=SYSTEM,
        case=case,
        referred_on=n_school_days_ago(5),
        reason="Hard to place",
        panel_date=today() + dt.timedelta(days=7),
    )
    assert rules(case) == []
    case2 = waiting(n_school_days_ago(5))
    services.panel_referral_record(
        actor=SYSTEM,
        case=case2,
        referred_on=n_school_days_ago(5),
        reason="Hard to place",
        panel_date=today() - dt.timedelta(days=1),
    )
    assert rules(case2) == ["Panel decision outstanding"]


def test_panel_referral_outstanding_for_20_school_days():
    case = waiting(n_school_days_ago(20))
    referral = services.panel_referral_record(
        actor=SYSTEM, case=case, referred_on=n_school_days_ago(20), reason="Hard to place"
    )
    assert sorted(rules(case)) == ["No place offered", "Panel decision outstanding"]
    services.panel_decision_record(
        actor=SYSTEM,
        referral=referral,
        decision=PanelDecision.SCHOOL_NAMED,
        decision_on=today(),
        named_school=provider("Named Academy", estab="4009"),
    )
    assert rules(case) == []


def test_a_failed_placement_starts_the_wait_again():
    school = provider("Northgate Academy", estab="4001")
    case = waiting(n_school_days_ago(25))
    case = services.provision_start_record(
        actor=SYSTEM,
        case=case,
        provider=school,
        started_on=n_school_days_ago(24),
        provision_accessed="mainstream",
        upn=make_upn(1),
    )
    case = case_services.case_placement_failed(actor=SYSTEM, case=case, reason="Excluded")
    # The search began again today: the old determination date does not count.
    assert rules(case) == []


def test_the_queue_is_scoped(make_user):
    case = waiting(n_school_days_ago(20))
    officer = make_user(Role.CME_OFFICER)
    admissions = make_user(Role.ADMISSIONS)
    slo = make_user(Role.SLO)
    assert [d.case for d in delay_queue(officer, today())] == [case]
    assert [d.case for d in delay_queue(admissions, today())] == [case]
    assert delay_queue(slo, today()) == []
