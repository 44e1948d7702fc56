"""Factories and helpers for tracking-work tests; synthetic data only. Cases are opened
and moved through the cases services, as the lifecycle tests do."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.cases.services import case_assign, case_open, case_transition
from cmetrack.casework.models import AddressSearchSource
from cmetrack.people.tests.factories import ChildFactory

SYSTEM = Actor.system("test")


class AddressSearchSourceFactory(factory.django.DjangoModelFactory[AddressSearchSource]):
    class Meta:
        model = AddressSearchSource

    name = factory.Sequence(lambda n: f"Test source {n}")
    description = "A source for tests"
    order = factory.Sequence(lambda n: 1000 + n)


def open_case(
    *,
    in_care: bool = False,
    state: CaseState = CaseState.TRACKING,
    officer: User | None = None,
    referred_days_ago: int = 10,
    date_referred: dt.date | None = None,
) -> Case:
    """A case opened from an agency referral and moved to ``state`` (tracking by default)."""
    child = ChildFactory.create(in_care=in_care)
    case = case_open(
        actor=SYSTEM,
        child=child,
        route=ReferralRoute.AGENCY,
        date_referred=date_referred or timezone.localdate() - dt.timedelta(days=referred_days_ago),
    )
    if state == CaseState.CLOSED:
        from cmetrack.cases.lifecycle import Outcome

        case = case_transition(
            actor=SYSTEM, case=case, to_state=state, reason="Not CME", outcome=Outcome.NOT_CME
        )
    elif state != CaseState.RECEIVED:
        case = case_transition(actor=SYSTEM, case=case, to_state=state, reason="For a test")
    if officer is not None:
        case = case_assign(actor=SYSTEM, case=case, officer=officer)
    return Case.objects.select_related("child").get(pk=case.pk)
