"""Helpers for safeguarding tests; synthetic data only. Cases are opened and moved through
the cases services; records are written through the safeguarding services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import UserFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.casework.tests.factories import open_case
from cmetrack.safeguarding import services
from cmetrack.safeguarding.models import RiskAssessment, VulnerabilityScreening
from cmetrack.safeguarding.rules import SCREENING_QUESTIONS, RiskFactor

SYSTEM = Actor.system("test")

__all__ = ["SYSTEM", "open_case"]


def user(*roles: Role, **kwargs: Any) -> User:
    return UserFactory.create(roles=roles, **kwargs)


def screening_answers(**yes: str) -> dict[str, tuple[str, str]]:
    """Every question "no", except those given (key=details), which are "yes"."""
    out = {q.key: ("no", "") for q in SCREENING_QUESTIONS}
    out.update({k: ("yes", v) for k, v in yes.items()})
    return out


def factor_answers(**yes: str) -> dict[int, tuple[str, str]]:
    """Every factor "no", except f<N>=details, which are "yes"."""
    out: dict[int, tuple[str, str]] = {f.value: ("no", "") for f in RiskFactor}
    out.update({int(k[1:]): ("yes", v) for k, v in yes.items()})
    return out


def record_screening(case: Case, actor: Actor = SYSTEM, **yes: str) -> VulnerabilityScreening:
    return services.screening_record(actor=actor, case=case, answers=screening_answers(**yes))


def record_assessment(
    case: Case, officer: User | None = None, level: str = "low", **yes: str
) -> RiskAssessment:
    return services.risk_assessment_record(
        actor=Actor(user=officer) if officer else SYSTEM,
        case=case,
        date_of_assessment=timezone.localdate(),
        factors=factor_answers(**yes),
        summary="Family left the address; not found after every check.",
        risk_level=level,
        sent_to=["education_safeguarding"],
    )


def authorised_assessment(
    case: Case, *, officer: User, manager: User, level: str = "low"
) -> RiskAssessment:
    ra = record_assessment(case, officer, level)
    return services.risk_assessment_authorise(actor=Actor(user=manager), assessment=ra)


def dormant_case(officer: User | None = None, *, in_care: bool = False) -> Case:
    """A tracking case made dormant through an authorised risk assessment."""
    from cmetrack.cases.services import case_transition

    case = open_case(officer=officer, in_care=in_care)
    authorised_assessment(
        case, officer=officer or user(Role.CME_OFFICER), manager=user(Role.CME_MANAGER)
    )
    return case_transition(actor=SYSTEM, case=case, to_state=CaseState.DORMANT, reason="Test")


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)
