"""Helpers for the Virtual School tests; synthetic data only. Records are made through the
services, as a person would make them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import LocalAuthorityFactory, SchoolFactory, UserFactory
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.organisations.models import LocalAuthority, Organisation
from cmetrack.people.models import Child
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.rules.upn import upn_check_letter
from cmetrack.virtualschool import services
from cmetrack.virtualschool.models import ChildInCare, PersonalEducationPlan

SYSTEM = Actor.system("test")


def upn(serial: int) -> str:
    body = f"99920012{serial:04d}"[:12]
    return upn_check_letter(body) + body


def user(*roles: Role, **kwargs: Any) -> User:
    return UserFactory.create(roles=roles, **kwargs)


def authority(code: str = "999", name: str = "Exampleshire County Council") -> LocalAuthority:
    return LocalAuthorityFactory.create(code=code, name=name)


def school(**kwargs: Any) -> Organisation:
    return SchoolFactory.create(local_authority=authority(), **kwargs)


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


def placement_values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "started_on": days_ago(100),
        "placement_type": "U4",
        "placing_authority": authority(),
        "carer": "Sam and Chris Foster",
        "line1": "4 Elm Road",
        "town": "Exampleton",
        "postcode": "ex1 2ab",
        "is_restricted": False,
        "school": None,
        "school_name": "",
        "school_admitted_on": None,
    }
    values.update(overrides)
    return values


def record(
    child: Child | None = None,
    *,
    actor: Actor = SYSTEM,
    upn_serial: int | None = 1,
    placement: dict[str, Any] | None = None,
    **overrides: Any,
) -> ChildInCare:
    values: dict[str, Any] = {
        "responsible_authority": authority(),
        "legal_status": "C2",
        "came_into_care_on": days_ago(400),
        "social_worker_name": "Dee Worker",
        "upn": upn(upn_serial) if upn_serial is not None else "",
    }
    values.update(overrides)
    return services.cic_record_create(
        actor=actor,
        child=child or ChildFactory.create(),
        placement=placement if placement is not None else placement_values(),
        **values,
    )


def cme_case(child: Child, state: CaseState = CaseState.TRACKING) -> Case:
    return case_in_state(state, child=child)


def pep(rec: ChildInCare, case: Case, vs: User, **overrides: Any) -> PersonalEducationPlan:
    values: dict[str, Any] = {
        "meeting_on": days_ago(3),
        "attendees": "Virtual School officer, social worker, carer",
        "summary": "The child was not at the meeting. Options discussed.",
        "suitable_education": "no",
        "suitable_education_reasons": "Not on any school roll since the move.",
    }
    values.update(overrides)
    return services.pep_create(actor=Actor(user=vs), record=rec, case=case, **values)
