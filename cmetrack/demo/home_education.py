"""Demo data for the home-education list, consent requests and the children-not-in-school
register, written through the services (audited) like every other demo record. Called once
from :mod:`cmetrack.demo.services`."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from faker import Faker

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cnis.services import part_time_arrangement_add, provider_add, register_details_update
from cmetrack.organisations.models import Organisation, SchoolType
from cmetrack.registers.models import ConsentStatus, LearntFrom, SenStatus
from cmetrack.registers.services import (
    child_find_or_create,
    consent_decide,
    consent_request_record,
    home_education_record_add,
)

ROUTES = [LearntFrom.PARENT, LearntFrom.PARENT, LearntFrom.DELETION_RETURN, LearntFrom.OTHER_LA]
#: Children the demo adds without a case: the list, one part-time pupil, three consent requests.
DEMO_CHILDREN = 24 + 1 + 3
SENS = [
    SenStatus.NONE,
    SenStatus.NONE,
    SenStatus.SEN_SUPPORT,
    SenStatus.EHC_PLAN,
    SenStatus.UNKNOWN,
]


def demo_home_education(
    *,
    officer: User,
    manager: User,
    schools: list[Organisation],
    seed: int,
    today: dt.date,
    children: int = 24,
) -> None:
    """``children`` home-educated children learnt of by each route over the last year,
    register details and providers for most, a child found during an open case, a
    part-time arrangement, and three consent requests (pending, given, refused): 28 new
    children (:data:`DEMO_CHILDREN`), none with a case. Welfare concerns are not made up:
    each would open a case."""

    rng = random.Random(seed + 10)
    fake = Faker("en_GB")
    fake.seed_instance(seed + 10)
    actor, boss = Actor(user=officer), Actor(user=manager)
    mainstream = [s for s in schools if s.school_type != SchoolType.SPECIAL] or schools
    special = [s for s in schools if s.school_type == SchoolType.SPECIAL]

    def a_child(age: int) -> dict[str, object]:
        born = today - dt.timedelta(days=365 * age + rng.randint(0, 300))
        return {
            "given_names": fake.first_name(),
            "family_name": fake.last_name(),
            "dob": born,
            "address": fake.street_address(),
            "postcode": fake.postcode(),
            "parent_name": fake.name(),
        }

    records = []
    for i in range(children):
        started = today - dt.timedelta(days=rng.randint(5, 360))
        identity = a_child(rng.randint(6, 15))
        child = child_find_or_create(actor=actor, since=started, **identity)
        record = home_education_record_add(
            actor=actor,
            child=child,
            started_on=started,
            learnt_from=ROUTES[i % len(ROUTES)],
            learnt_on=min(today, started + dt.timedelta(days=rng.randint(0, 10))),
            previous_school=rng.choice(mainstream) if mainstream else None,
            sen_status=rng.choice(SENS),
            source="Demo record",
        )
        records.append(record)
        if i % 4 != 3:  # a quarter are left incomplete for the completeness report
            register_details_update(
                actor=actor,
                child=child,
                parent_hours_per_week=Decimal(rng.choice([15, 18, 20, 22.5, 25])),
                no_other_providers=i % 3 == 0,
            )
            if i % 3 != 0:
                provider_add(
                    actor=actor,
                    child=child,
                    name=rng.choice(["Oak Online Academy", "Hilltop Tutors", "Riverside Music"]),
                    provider_type=rng.choice(["online_school", "tutor", "other"]),
                    hours_per_week=Decimal(rng.choice([2, 4, 6])),
                    address=fake.address().replace("\n", ", "),
                    where="https://learn.example" if i % 2 else "At the provider's premises",
                    online=bool(i % 2),
                )
    # A child found home educated during an open case (the list records the case).

    open_case = Case.objects.filter(state=CaseState.LOCATED).select_related("child").first()
    if open_case is not None:
        home_education_record_add(
            actor=actor,
            child=open_case.child,
            started_on=today - dt.timedelta(days=7),
            case=open_case,
            learnt_from=LearntFrom.CASE,
            learnt_on=today - dt.timedelta(days=5),
            source=f"Parent told the officer during {open_case.reference}",
        )
    if mainstream:
        pupil = child_find_or_create(actor=actor, **a_child(12))
        part_time_arrangement_add(
            actor=actor,
            child=pupil,
            kind="elsewhere",
            school=mainstream[0],
            started_on=today - dt.timedelta(days=40),
            details="Two afternoons a week at a farm-based alternative provision",
        )
    targets = special or mainstream
    if not targets:
        return
    for decision in (None, ConsentStatus.GRANTED, ConsentStatus.REFUSED):
        child = child_find_or_create(actor=actor, **a_child(rng.randint(7, 14)))
        request = consent_request_record(
            actor=actor,
            child=child,
            school=targets[0],
            requested_on=today - dt.timedelta(days=14),
            requested_by="Parent, by letter",
            child_protection_enquiries=not special,
        )
        if decision is not None:
            consent_decide(
                actor=boss,
                request=request,
                decision=decision,
                decided_on=today - dt.timedelta(days=2),
                reason="Demo decision after meeting the family and the school",
            )
