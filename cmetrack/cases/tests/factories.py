from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.services import Actor, audited_update
from cmetrack.cases import services
from cmetrack.cases.lifecycle import CaseState, HomeEducationEvidence, LocatedRoute, Outcome
from cmetrack.cases.models import Case, FormOfProvision, ReferralRoute
from cmetrack.organisations.models import Organisation
from cmetrack.people.models import Child
from cmetrack.people.tests.factories import ChildFactory


class CaseFactory(factory.django.DjangoModelFactory[Case]):
    """A bare case row; tests of the lifecycle open cases through the services instead."""

    class Meta:
        model = Case

    child = factory.SubFactory(ChildFactory)
    route = "agency"
    date_referred = dt.date(2026, 10, 1)


def case_in_state(
    state: CaseState,
    *,
    school: Organisation | None = None,
    child: Child | None = None,
    assigned_officer: User | None = None,
    route: LocatedRoute = LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
    referral_route: ReferralRoute = ReferralRoute.SCHOOL,
) -> Case:
    """A case walked to ``state`` through the services, as a system job would.

    Referred 60 days ago from ``school`` (its last known education), located 40 days ago,
    assessed 30, provision determined 20 and moved into provision 10 days ago."""
    actor = Actor.system("test")
    today = timezone.localdate()
    case = services.case_open(
        actor=actor,
        child=child or ChildFactory.create(),
        route=referral_route,
        date_referred=today - dt.timedelta(days=60),
        assigned_officer=assigned_officer,
    )
    if school is not None:
        case = audited_update(
            actor=actor,
            instance=case,
            child_id=case.child_id,
            changes={"last_education_school": school, "last_education_place": school.name},
        )
    S = CaseState
    if state == S.RECEIVED:
        return case
    if state == S.SLO_INVESTIGATION:
        return services.case_start_slo_investigation(actor=actor, case=case, school=school)
    case = services.case_start_tracking(actor=actor, case=case)
    if state == S.TRACKING:
        return case
    if state == S.DORMANT:
        # Dormant only with a risk assessment an officer recorded and a manager authorised.
        from cmetrack.accounts.roles import Role
        from cmetrack.safeguarding.tests.factories import authorised_assessment, user

        authorised_assessment(case, officer=user(Role.CME_OFFICER), manager=user(Role.CME_MANAGER))
        return services.case_transition(
            actor=actor, case=case, to_state=S.DORMANT, reason="Risk assessed (test)."
        )
    if state == S.CLOSED:
        # Closed the only way a tracked case closes: located (home educated, on the
        # parent's written notice), then closed with that route.
        case = services.case_locate(
            actor=actor,
            case=case,
            where="14 Mill Lane, Exampleton",
            route=LocatedRoute.HOME_EDUCATED,
            located_on=today - dt.timedelta(days=40),
            home_education_evidence=HomeEducationEvidence.PARENT_NOTICE,
            home_education_evidence_on=today - dt.timedelta(days=41),
        )
        return services.case_close(
            actor=actor, case=case, outcome=Outcome.HOME_EDUCATED, reason="Home educated."
        )
    case = services.case_locate(
        actor=actor,
        case=case,
        where="14 Mill Lane, Exampleton",
        route=route,
        school=school if route == LocatedRoute.ON_ROLL else None,
        located_on=today - dt.timedelta(days=40),
        home_education_evidence=(
            HomeEducationEvidence.PARENT_NOTICE if route == LocatedRoute.HOME_EDUCATED else ""
        ),
        home_education_evidence_on=(
            today - dt.timedelta(days=41) if route == LocatedRoute.HOME_EDUCATED else None
        ),
    )
    if state == S.LOCATED:
        return case
    case = services.case_begin_needs_assessment(
        actor=actor, case=case, date_of_assessment=today - dt.timedelta(days=30)
    )
    if state == S.NEEDS_ASSESSMENT:
        return case
    case = services.case_determine_provision(
        actor=actor,
        case=case,
        provision_recommended=FormOfProvision.MAINSTREAM,
        date_provision_determined=today - dt.timedelta(days=20),
    )
    if state == S.AWAITING_PROVISION:
        return case
    provider = school or SchoolFactory.create()
    return services.case_move_into_provision(
        actor=actor,
        case=case,
        provider=provider,
        date_moved_into_provision=today - dt.timedelta(days=10),
        provision_accessed=FormOfProvision.MAINSTREAM,
    )
