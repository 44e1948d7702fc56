"""The set-based delay queue gives exactly the answers of the case-by-case rules.

``delays_for_cases`` works through each case in Python (the case's own page still uses it);
``delay_queue_page`` asks the database. Here both see the same varied set of waiting cases:
provision determined on school days, weekends and in a closure, on either side of each
alert; offers before and after the search began (with and without an outcome date), from
an application or a panel naming a school; failed placements; open panel referrals with
a past or future panel date; cases in other states and out of scope.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.test import override_settings
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, CaseStateChange, ReferralRoute
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.provision.delays import (
    WAITING_STATES,
    delay_queue,
    delay_queue_page,
    delays_for_cases,
)
from cmetrack.provision.models import (
    AdmissionApplication,
    ApplicationOutcome,
    PanelDecision,
    PanelReferral,
)
from cmetrack.schoolcalendar.models import ClosureDay

from .factories import provider, term_around, today

pytestmark = pytest.mark.django_db

STATES = [
    CaseState.NEEDS_ASSESSMENT,
    CaseState.AWAITING_PROVISION,
    CaseState.AWAITING_PROVISION,
    CaseState.TRACKING,  # not waiting: never in the queue
    CaseState.IN_PROVISION,
]


def _day(rng: random.Random, span: int = 90) -> dt.date:
    return today() - dt.timedelta(days=rng.randint(-3, span))


def varied_cases(seed: int, n: int = 70) -> list[Case]:
    rng = random.Random(seed)
    school = provider("Northgate Academy", estab="4001")
    other = provider("Southgate Academy", estab="4002")
    made = []
    for _i in range(n):
        state = rng.choice(STATES)
        determined = None if rng.random() < 0.15 else _day(rng)
        case = Case.objects.create(
            child=ChildFactory.create(),
            route=ReferralRoute.SCHOOL,
            date_referred=today() - dt.timedelta(days=120),
            state=state,
            date_provision_determined=determined,
        )
        made.append(case)
        if rng.random() < 0.2:  # one or two failed placements (the latest counts)
            for _ in range(rng.randint(1, 2)):
                change = CaseStateChange.objects.create(
                    case=case,
                    from_state=CaseState.IN_PROVISION,
                    to_state=CaseState.AWAITING_PROVISION,
                )
                at = timezone.make_aware(
                    dt.datetime.combine(_day(rng, 60), dt.time(rng.choice([0, 9, 23]), 30))
                )
                CaseStateChange.objects.filter(pk=change.pk).update(at=at)
        for _ in range(rng.choice([0, 0, 1, 2])):  # applications, some offered
            outcome = rng.choice(list(ApplicationOutcome))
            AdmissionApplication.objects.create(
                case=case,
                school=rng.choice([school, other]),
                year_group=8,
                applied_on=_day(rng),
                outcome=outcome,
                outcome_on=None if rng.random() < 0.3 else _day(rng),
            )
        if rng.random() < 0.35:  # a panel referral: open, deferred or decided
            decision = rng.choice(["", "", PanelDecision.DEFERRED, *PanelDecision.values])
            named = decision in (PanelDecision.SCHOOL_NAMED, PanelDecision.ALTERNATIVE)
            PanelReferral.objects.create(
                case=case,
                referred_on=_day(rng),
                reason="Hard to place",
                panel_date=rng.choice([None, _day(rng, 20), today() + dt.timedelta(days=5)]),
                decision=decision,
                decision_on=(None if rng.random() < 0.3 else _day(rng)) if decision else None,
                named_school=school if named and rng.random() < 0.8 else None,
            )
    # Ties: several cases waiting exactly as long, on either side of the page's end.
    tie_day = _day(rng, 60)
    for _ in range(6):
        made.append(
            Case.objects.create(
                child=ChildFactory.create(),
                route=ReferralRoute.PUBLIC,
                date_referred=today() - dt.timedelta(days=120),
                state=CaseState.AWAITING_PROVISION,
                date_provision_determined=tie_day,
            )
        )
    return made


def reference(cases: list[Case]) -> list[tuple[int, str, dt.date, int, str]]:
    """The old answer: every waiting case through ``delays_for_cases``, sorted as the
    queue always was."""
    waiting = [
        c
        for c in Case.objects.select_related("child").filter(pk__in=[c.pk for c in cases])
        if c.state in WAITING_STATES
    ]
    delays = sorted(
        delays_for_cases(waiting, today()), key=lambda d: (-d.school_days, d.case.pk, d.rule)
    )
    return [(d.case.pk, d.rule, d.since, d.school_days, d.detail) for d in delays]


def answer(delays):
    return [(d.case.pk, d.rule, d.since, d.school_days, d.detail) for d in delays]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_set_based_queue_equals_the_case_by_case_rules(seed, make_user):
    term = term_around(today(), before=120)
    # An LA-wide closure (an INSET day) inside the waits.
    ClosureDay.objects.create(date=term.term_start + dt.timedelta(days=40), reason="INSET")
    cases = varied_cases(seed)
    expected = reference(cases)
    rules = {rule for _, rule, *_ in expected}
    # The set covers every rule, or it checks less than it says.
    assert rules == {"No place offered", "Offered but not started", "Panel decision outstanding"}
    officer = make_user(Role.CME_OFFICER)
    assert answer(delay_queue(officer, today())) == expected
    for limit in (1, 5, 12, 50, 500):
        page = delay_queue_page(officer, today(), limit=limit)
        assert page.total == len(expected)
        assert answer(page.delays) == expected[:limit], limit


@pytest.mark.parametrize(
    "alerts", [(1, 1, 1), (5, 3, 40), (0, 0, 0)], ids=["one-day", "mixed", "zero"]
)
def test_the_same_answers_with_other_alert_settings(alerts, make_user):
    no_offer, start, panel = alerts
    term_around(today(), before=120)
    with override_settings(
        CMETRACK_PROVISION_NO_OFFER_SCHOOL_DAYS=no_offer,
        CMETRACK_PROVISION_START_SCHOOL_DAYS=start,
        CMETRACK_PROVISION_PANEL_SCHOOL_DAYS=panel,
    ):
        cases = varied_cases(7, n=40)
        expected = reference(cases)
        officer = make_user(Role.CME_MANAGER)
        page = delay_queue_page(officer, today(), limit=10)
        assert page.total == len(expected)
        assert answer(page.delays) == expected[:10]


def test_without_a_calendar_nothing_is_a_school_day(make_user):
    cases = varied_cases(4, n=30)
    expected = reference(cases)
    officer = make_user(Role.CME_OFFICER)
    assert answer(delay_queue(officer, today())) == expected
    # Only panels whose date has passed can be late with no school days at all.
    assert {rule for _, rule, *_ in expected} <= {"Panel decision outstanding"}


def test_the_page_is_scoped(make_user):
    term_around(today(), before=120)
    varied_cases(5, n=30)
    assert delay_queue_page(make_user(Role.SLO), today()).total == 0
    admissions = delay_queue_page(make_user(Role.ADMISSIONS), today())
    officer = delay_queue_page(make_user(Role.CME_OFFICER), today())
    assert officer.total > 0
    assert admissions.total == officer.total  # admissions see every waiting case


def test_the_delays_page_lists_the_longest_waits_and_counts_all(make_user, client, monkeypatch):
    from django.urls import reverse

    from cmetrack.provision import views

    term_around(today(), before=120)
    cases = varied_cases(6, n=40)
    expected = reference(cases)
    assert len(expected) > 3
    monkeypatch.setattr(views, "DELAYS_SHOWN", 3)
    client.force_login(make_user(Role.CME_OFFICER))
    html = client.get(reverse("provision:delays")).content.decode()
    html = html[: html.index('id="panel"')]  # the delays, not the panel's agenda below
    assert f"The 3 longest waits of {len(expected)}." in html
    shown = [pk for pk, *_ in expected[:3]]
    for pk in shown:
        assert reverse("provision:case", args=[pk]) in html
    hidden = {pk for pk, *_ in expected[3:]} - set(shown)
    assert not any(reverse("provision:case", args=[pk]) + '"' in html for pk in hidden)
