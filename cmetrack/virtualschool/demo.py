"""Demo data for the Virtual School: in-care records with placement histories for most of
the demo children in care who have an open CME case, a placement move without a school
place (an alert), and personal education plans (one due for review, one overdue). Written
through the services (audited, on the chronology) like every other demo record. Called once
from :mod:`cmetrack.demo.services`."""

from __future__ import annotations

import datetime as dt
import random

from faker import Faker

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case
from cmetrack.organisations.models import LocalAuthority, Organisation

from . import services
from .models import LegalStatus, PlacementType

LEGAL = [LegalStatus.C2, LegalStatus.C2, LegalStatus.C1, LegalStatus.V2, LegalStatus.E1]
PLACEMENTS = [PlacementType.U4, PlacementType.U6, PlacementType.U1, PlacementType.K2]


def demo_children_in_care(
    *,
    vs_officer: User,
    home_la: LocalAuthority,
    schools: list[Organisation],
    seed: int,
    today: dt.date,
) -> int:
    """In-care records for the demo; returns how many were made. One child in care with an
    open case is left without a record, as the dashboard's "no in-care record" list shows."""
    rng = random.Random(seed)
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    system = Actor.system("demo_data")
    officer = Actor(user=vs_officer)
    cases = list(
        Case.objects.filter(child__in_care=True, state__in=OPEN_STATES)
        .select_related("child")
        .order_by("date_referred", "pk")
    )
    made = 0
    seen: set[int] = set()
    for n, case in enumerate(cases[1:]):
        child = case.child
        if child.pk in seen:
            continue
        seen.add(child.pk)
        came = case.date_referred - dt.timedelta(days=rng.randint(200, 1500))
        first_start = came + dt.timedelta(days=rng.randint(0, 30))
        record = services.cic_record_create(
            actor=system,
            child=child,
            responsible_authority=home_la,
            legal_status=rng.choice(LEGAL),
            came_into_care_on=came,
            social_worker_name=fake.name(),
            social_worker_team="Children in Care team",
            social_worker_phone=fake.phone_number(),
            lead_officer=vs_officer,
            placement={
                "started_on": first_start,
                "placement_type": rng.choice(PLACEMENTS),
                "placing_authority": home_la,
                "carer": fake.name(),
                "line1": fake.street_address().replace("\n", ", "),
                "town": fake.city(),
                "postcode": fake.postcode(),
                "is_restricted": rng.random() < 0.15,
                "school": rng.choice(schools) if schools else None,
                "school_admitted_on": first_start,
            },
        )
        made += 1
        if n % 3 == 0:
            # Moved with no school place: the Virtual School's alert.
            services.placement_change(
                actor=system,
                record=record,
                started_on=min(today, case.date_referred + dt.timedelta(days=rng.randint(0, 10))),
                placement_type=rng.choice(PLACEMENTS),
                placing_authority=home_la,
                carer=fake.name(),
                line1=fake.street_address().replace("\n", ", "),
                town=fake.city(),
                postcode=fake.postcode(),
                reason="Placement breakdown",
            )
        if n % 2 == 0:
            meeting = min(today, case.date_referred + dt.timedelta(days=rng.randint(5, 20)))
            review = min(meeting + dt.timedelta(days=28), meeting + dt.timedelta(days=90))
            services.pep_create(
                actor=officer,
                record=record,
                case=case,
                meeting_on=meeting,
                attendees="Virtual School officer, social worker, carer",
                summary=f"{child.legal_given_names} was not at the meeting. Options for a "
                "school place discussed with admissions.",
                suitable_education="no",
                suitable_education_reasons="Not on the roll of any school.",
                review_on=review,
                key_contacts="Designated teacher at the last school; the carer",
            )
    return made
