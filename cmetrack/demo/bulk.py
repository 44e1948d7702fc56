"""Cases in bulk, for a county-sized demo (``demo_data --cases 100000``).

The first cases of the demo are opened and moved through the audited services, so their
histories are real (``services._Builder.one_case``). Beyond that, opening 100,000 cases one
service call at a time would take hours. Here the same rows the services write are made
in batches with ``bulk_create``: the child, an address, a parent or carer, sometimes an
alias and vulnerable groups, the linked referral, the case with the dates and outcome of its
path, its state changes and its chronology. What is left out is the audit trail of building
synthetic data (there was no person acting). Dormant cases get the authorised risk
assessment a dormant case needs, with the tasks a medium risk sets, and some open cases a
follow-up task for their officer, written the same way.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from cmetrack.cases.lifecycle import (
    ROUTE_OUTCOME,
    CaseState,
    HomeEducationEvidence,
    LocatedRoute,
)
from cmetrack.cases.models import (
    CME_REASON_CATEGORY,
    OPENED_FROM,
    Case,
    CaseStateChange,
    ChronologyEvent,
    ChronologyKind,
    CmeReason,
    FormOfProvision,
    ReferralRoute,
    YesNoUnknown,
)
from cmetrack.casework.models import Task, TaskKind
from cmetrack.detection.models import Alert, AlertRule, AlertState
from cmetrack.people.choices import (
    AliasType,
    DobCertainty,
    Ethnicity,
    Relationship,
    SenProvision,
    Sex,
    VulnerableGroup,
)
from cmetrack.people.models import Address, Child, ChildAlias, ChildVulnerability, ParentCarer
from cmetrack.referrals.models import Referral, ReferralStatus, new_acknowledgement_reference
from cmetrack.registers.models import RollEntry
from cmetrack.safeguarding.models import RiskAssessment, RiskFactorAnswer
from cmetrack.safeguarding.rules import Answer, RiskFactor, RiskLevel, risk_level_actions

if TYPE_CHECKING:
    from cmetrack.accounts.models import User
    from cmetrack.organisations.models import Organisation

    from .services import _Builder

#: Cases built per batch (each batch is a handful of multi-row inserts).
BATCH = 2000

REASONS = [
    "Not attended for over ten school days; family not at home on visit.",
    "Family moved into the area; child has no school place.",
    "Neighbour reports the child is at home during school hours.",
    "Left suddenly; destination unknown.",
    "Allocated school place never taken up.",
]
LANGUAGES = ["English"] * 6 + ["Polish", "Romanian", "Urdu", "Arabic", "Somali"]


def _at(day: dt.date, i: int) -> dt.datetime:
    """A moment on ``day`` in working hours (the i-th thing that day, a minute apart)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 30))) + dt.timedelta(minutes=i)


def located_route_for(rng: random.Random, state: CaseState) -> LocatedRoute:
    """Where a demo case's child was found: living in the area for a case going on to
    provision; on a roll or home educated for one that closes; any of the three for one
    left located. One draw, so the services path and the bulk path agree for a seed."""
    if state in (CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION,
                 CaseState.IN_PROVISION):  # fmt: skip
        return LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION
    if state == CaseState.CLOSED:
        return rng.choice([LocatedRoute.ON_ROLL, LocatedRoute.HOME_EDUCATED])
    return rng.choice(
        [
            LocatedRoute.ON_ROLL,
            LocatedRoute.HOME_EDUCATED,
            LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
        ]
    )


@dataclass
class _Planned:
    """One case's rows before they have primary keys."""

    child: Child
    case: Case
    referral: Referral
    address: Address
    parent: ParentCarer
    alias: ChildAlias | None = None
    groups: list[str] = field(default_factory=list)
    #: (from_state, to_state) in order, the first from "" to received.
    moves: list[tuple[str, str]] = field(default_factory=list)
    #: (kind, summary) in order.
    chronology: list[tuple[str, str]] = field(default_factory=list)
    #: The day each move and each chronology entry happened (the case's own past).
    move_days: list[dt.date] = field(default_factory=list)
    chronology_days: list[dt.date] = field(default_factory=list)
    dormant_on: dt.date | None = None


class BulkCases:
    """Plans cases like ``_Builder.one_case`` does and writes them a batch at a time."""

    def __init__(
        self,
        builder: _Builder,
        *,
        officers: list[User],
        users: dict[str, User],
        orgs: dict[str, Organisation],
        slo_schools: list[Organisation],
        roll_pool: list[tuple[Any, ...]],
    ) -> None:
        self.b = builder
        self.officers = officers
        self.users = users
        self.orgs = orgs
        self.slo_schools = slo_schools
        self.roll_pool = roll_pool
        self.schools_by_pk = {s.pk: s for s in builder.schools}
        self.planned: list[_Planned] = []
        self.now = timezone.now()
        self.today = builder.today

    def add(self, state: CaseState) -> None:
        self.planned.append(self.plan(state))
        if len(self.planned) >= BATCH:
            self.flush()

    def plan(self, state: CaseState) -> _Planned:
        # In the function: demo.services imports this module (BulkCases) at load, and the
        # bulk path shares the services path's state paths and referral routes.
        from .services import PATHS, referral_route_for

        rng, fake, b = self.b.rng, self.b.fake, self.b
        school_referral, route, date_referred = referral_route_for(rng, state, self.today)
        school: Organisation | None = None
        upn: str | None = None
        if school_referral and self.roll_pool:
            upn, given, family, dob, sex, address, postcode, school_id = self.roll_pool.pop()
            school = self.schools_by_pk[school_id]
        else:
            if school_referral:  # every pupil on the rolls already referred: someone else
                school = rng.choice(b.schools)
            sex = rng.choice([Sex.FEMALE, Sex.MALE])
            given = fake.first_name_female() if sex == Sex.FEMALE else fake.first_name_male()
            family = fake.last_name()
            dob = self.today - dt.timedelta(days=rng.randint(5 * 365 + 120, 16 * 365))
            address = fake.street_address().replace("\n", ", ")
            postcode = fake.postcode()
        if state == CaseState.SLO_INVESTIGATION and self.slo_schools:
            school = rng.choice(self.slo_schools)
        in_care = rng.random() < 0.08
        child = Child(
            legal_given_names=given,
            legal_family_name=family,
            dob=dob,
            dob_certainty=rng.choice(list(DobCertainty)),
            sex=sex,
            upn=upn,
            ethnicity=rng.choice(list(Ethnicity)),
            first_language=rng.choice(LANGUAGES),
            sen_provision=rng.choices(list(SenProvision), weights=[3, 12, 85])[0],
            in_care=in_care,
            responsible_la=b.home_la if in_care else None,
            child_protection_plan=rng.random() < 0.06,
        )
        alias = None
        if rng.random() < 0.15:
            alias = ChildAlias(
                alias_type=AliasType.KNOWN_AS, given_names=fake.first_name(), family_name=family
            )
        line1, _, town = address.partition(", ")
        address_row = Address(
            line1=line1,
            town=town or fake.city(),
            postcode=postcode,
            date_from=date_referred - dt.timedelta(days=700),
            is_restricted=rng.random() < 0.05,
        )
        parent = ParentCarer(
            given_names=fake.first_name(),
            family_name=family,
            relationship=rng.choice(
                [Relationship.MOTHER, Relationship.FATHER, Relationship.GRANDPARENT]
            ),
            parental_responsibility=True,
            phone=fake.phone_number(),
        )
        groups: list[str] = []
        if rng.random() < 0.3:
            groups = [str(g) for g in rng.sample(list(VulnerableGroup), rng.randint(1, 2))]
        referrer = (
            school if school else self.orgs["agency"] if route == ReferralRoute.AGENCY else None
        )
        referral = Referral(
            route=route,
            status=ReferralStatus.LINKED,
            reference=new_acknowledgement_reference(),
            given_names=given,
            family_name=family,
            reason=rng.choice(REASONS),
            dob=dob,
            sex=sex,
            address=address,
            postcode=postcode.upper().strip(),
            school=school,
            referring_organisation=referrer,
            received_at=timezone.make_aware(
                dt.datetime.combine(
                    date_referred, dt.time(9 + rng.randint(0, 7), rng.randint(0, 59))
                )
            ),
        )
        case = Case(route=route, date_referred=date_referred, version=1)
        planned = _Planned(
            child=child,
            case=case,
            referral=referral,
            address=address_row,
            parent=parent,
            alias=alias,
            groups=groups,
        )
        planned.moves.append(("", CaseState.RECEIVED))
        planned.chronology.append(
            (ChronologyKind.STATE, f"Case opened from {OPENED_FROM.get(route, 'a referral')}.")
        )
        if school is not None:
            case.last_education_school = school
            case.last_education_place = school.name
            case.last_education_date = date_referred - dt.timedelta(days=rng.randint(10, 30))
        if rng.random() < 0.85:
            reason = rng.choice(list(CmeReason))
            new_country = reason == CmeReason.ARRIVED_FROM_ABROAD
            new_area = new_country or reason == CmeReason.MOVED_INTO_AREA
            case.cme_reason = reason
            case.cme_category = CME_REASON_CATEGORY[reason]
            case.new_to_area = YesNoUnknown.YES if new_area else rng.choice(list(YesNoUnknown))
            case.new_to_country = YesNoUnknown.YES if new_country else YesNoUnknown.NO
            planned.chronology.append(
                (
                    ChronologyKind.NOTE,
                    f"Reason for missing education: {CmeReason(reason).label}. New to the "
                    f"area: {YesNoUnknown(case.new_to_area).label.lower()}; new to the "
                    f"country: {YesNoUnknown(case.new_to_country).label.lower()}.",
                )
            )
        # Who has it (as _Builder.walk).
        officer: User | None = None
        if state == CaseState.SLO_INVESTIGATION:
            officer = self.users["slo"]
        elif state != CaseState.RECEIVED or rng.random() < 0.5:
            officer = (
                self.users["safeguarding"] if rng.random() < 0.03 else rng.choice(self.officers)
            )
        if officer is not None:
            case.assigned_officer = officer
            planned.chronology.append(
                (ChronologyKind.ASSIGNMENT, f"Assigned to {officer.get_full_name()}.")
            )
        day = date_referred
        current = CaseState.RECEIVED
        for step in PATHS[state]:
            day = min(self.today, day + dt.timedelta(days=rng.randint(2, 20)))
            if step == CaseState.NEEDS_ASSESSMENT:
                case.date_of_assessment = day
            elif step == CaseState.AWAITING_PROVISION:
                case.date_provision_determined = day
                case.provision_recommended = rng.choice(list(FormOfProvision))
            elif step == CaseState.IN_PROVISION:
                case.date_moved_into_provision = day
                case.provision_accessed = case.provision_recommended
            if step == CaseState.DORMANT:
                planned.dormant_on = day
            if step == CaseState.LOCATED:
                # Where the child is, with the route's evidence, as case_locate records it
                # (the services path: _Builder.locate).
                self.locate(case, state, day)
            if step == CaseState.CLOSED:
                # Closed as the route it was located on, with that route's evidence.
                case.outcome = ROUTE_OUTCOME[LocatedRoute(case.located_route)]
                case.outcome_reason = "Demo history."
                case.closed_on = day
            planned.move_days.append(day)
            planned.moves.append((current, step))
            planned.chronology.append(
                (ChronologyKind.STATE, f"{current.label} → {step.label}. Demo history.")
            )
            current = step
        case.state = state
        case.version = 1 + len(planned.chronology)
        # Everything before the first move happened on the day of the referral; each move
        # and its entry on the day of the move.
        planned.move_days.insert(0, date_referred)
        opening = len(planned.chronology) - (len(planned.moves) - 1)
        planned.chronology_days = [date_referred] * opening + planned.move_days[1:]
        return planned

    def locate(self, case: Case, state: CaseState, day: dt.date) -> None:
        """The located fields :func:`cmetrack.cases.services.case_locate` would write."""
        rng = self.b.rng
        route = located_route_for(rng, state)
        case.located_on = day
        case.located_route = route
        if route == LocatedRoute.ON_ROLL:
            case.destination_school = rng.choice(self.b.schools)
            case.located_where = f"On the roll of {case.destination_school}."
        elif route == LocatedRoute.HOME_EDUCATED:
            case.home_education_evidence = HomeEducationEvidence.PARENT_NOTICE
            case.home_education_evidence_on = day
            case.located_where = "At home: the parent educates the child at home."
        else:
            case.located_where = "Living in the area with a parent; no school place."

    def flush(self) -> None:
        """Write the planned cases: a few multi-row inserts for the whole batch."""
        planned, self.planned = self.planned, []
        if not planned:
            return
        Child.objects.bulk_create([p.child for p in planned], batch_size=BATCH)
        for p in planned:
            for row in (p.address, p.parent, p.alias):
                if row is not None:
                    row.child = p.child
            p.case.child = p.child
        Address.objects.bulk_create([p.address for p in planned], batch_size=BATCH)
        ParentCarer.objects.bulk_create([p.parent for p in planned], batch_size=BATCH)
        ChildAlias.objects.bulk_create(
            [p.alias for p in planned if p.alias is not None], batch_size=BATCH
        )
        ChildVulnerability.objects.bulk_create(
            [ChildVulnerability(child=p.child, group=g) for p in planned for g in p.groups],
            batch_size=BATCH,
        )
        Case.objects.bulk_create([p.case for p in planned], batch_size=BATCH)
        for p in planned:
            p.referral.child = p.child
            p.referral.case = p.case
        Referral.objects.bulk_create([p.referral for p in planned], batch_size=BATCH)
        CaseStateChange.objects.bulk_create(
            [
                CaseStateChange(
                    case=p.case,
                    from_state=before,
                    to_state=after,
                    at=_at(day, i),
                    effective_on=day,
                    reason="Demo history." if before else "",
                )
                for p in planned
                for i, ((before, after), day) in enumerate(zip(p.moves, p.move_days, strict=True))
            ],
            batch_size=BATCH,
        )
        ChronologyEvent.objects.bulk_create(
            [
                ChronologyEvent(case=p.case, kind=kind, summary=summary, at=_at(day, i))
                for p in planned
                for i, ((kind, summary), day) in enumerate(
                    zip(p.chronology, p.chronology_days, strict=True)
                )
            ],
            batch_size=BATCH,
        )
        self.safeguarding_and_tasks(planned)

    def safeguarding_and_tasks(self, planned: list[_Planned]) -> None:
        """Dormant cases: the authorised risk assessment a dormant case needs, and the
        tasks a medium risk sets (safeguarding's rules). Some open cases: a follow-up task
        for their officer, a few of them overdue."""

        rng, manager = self.b.rng, self.users["manager"]
        assessments: list[RiskAssessment] = []
        tasks: list[Task] = []
        notes: list[ChronologyEvent] = []
        later = self.now + dt.timedelta(minutes=1)
        for p in planned:
            case = p.case
            officer = case.assigned_officer
            if officer is None or officer == self.users["safeguarding"]:
                officer = self.officers[0]
            if p.dormant_on is not None:
                level = rng.choice([RiskLevel.LOW, RiskLevel.MEDIUM])
                assessments.append(
                    RiskAssessment(
                        case=case,
                        date_of_assessment=p.dormant_on,
                        summary="Not found after every check; no safeguarding concerns known.",
                        risk_level=level,
                        officer=officer,
                        authorised_by=manager,
                        authorised_at=later,
                    )
                )
                notes.append(
                    ChronologyEvent(
                        case=case,
                        kind=ChronologyKind.NOTE,
                        at=later,
                        by=manager,
                        summary=f"Risk assessment ({RiskLevel(level).label.lower()} risk) "
                        f"authorised by {manager.get_full_name()}.",
                    )
                )
                for action in risk_level_actions(level):
                    tasks.append(
                        Task(
                            case=case,
                            title=action.title,
                            owner=officer,
                            due=self.today + dt.timedelta(days=action.due_in_days),
                            kind=TaskKind.RISK_ASSESSMENT,
                            created_by=manager,
                            details=f"From the {RiskLevel(level).label.lower()} risk assessment.",
                        )
                    )
            elif case.state not in (CaseState.CLOSED, CaseState.RECEIVED) and rng.random() < 0.3:
                tasks.append(
                    Task(
                        case=case,
                        title=rng.choice(
                            [
                                "Ring the family again",
                                "Check with the last school",
                                "Ask health for a current address",
                                "Visit the last known address",
                            ]
                        ),
                        owner=officer,
                        due=self.today + dt.timedelta(days=rng.randint(-20, 30)),
                        kind=TaskKind.FREE,
                        created_by=officer,
                    )
                )
        RiskAssessment.objects.bulk_create(assessments, batch_size=BATCH)
        factors = [
            RiskFactorAnswer(
                assessment=a,
                factor=f.value,
                answer=Answer.UNKNOWN if f == list(RiskFactor)[-1] else Answer.NO,
            )
            for a in assessments
            for f in RiskFactor
        ]
        RiskFactorAnswer.objects.bulk_create(factors, batch_size=BATCH)
        ChronologyEvent.objects.bulk_create(notes, batch_size=BATCH)
        Task.objects.bulk_create(tasks, batch_size=BATCH)


def bulk_alerts(builder: _Builder, n_alerts: int) -> int:
    """Detection's alerts about pupils on the rolls, as a county's feeds would raise them
    over a term (most new, some acknowledged, referred or dismissed). Written directly: the
    detection rules need attendance marks the demo does not have."""

    rng = builder.rng
    entries = list(
        RollEntry.objects.order_by("pk").values_list(
            "upn",
            "legal_given_name",
            "legal_family_name",
            "dob",
            "snapshot__school_id",
            "snapshot__school__local_authority__code",
            "snapshot__school__estab_number",
        )
    )
    if not entries or n_alerts <= 0:
        return 0
    chosen = rng.sample(entries, min(n_alerts, len(entries)))
    rules = [
        (AlertRule.ABSENCE_20, 50),
        (AlertRule.ABSENCE_40, 15),
        (AlertRule.LEAVER_NO_DESTINATION, 15),
        (AlertRule.ILLNESS_15, 10),
        (AlertRule.ALLOCATION_NOT_TAKEN, 5),
        (AlertRule.Y6_Y7_TRANSFER, 5),
    ]
    states = [
        (AlertState.NEW, 60),
        (AlertState.ACKNOWLEDGED, 15),
        (AlertState.REFERRED, 10),
        (AlertState.DISMISSED, 15),
    ]
    alerts = []
    for upn, given, family, dob, school_id, la_code, estab in chosen:
        rule = rng.choices([r for r, _ in rules], weights=[w for _, w in rules])[0]
        state = rng.choices([s for s, _ in states], weights=[w for _, w in states])[0]
        detected = builder.today - dt.timedelta(days=rng.randint(0, 70))
        start = detected - dt.timedelta(days=rng.randint(14, 40))
        at = timezone.make_aware(dt.datetime.combine(detected, dt.time(6, rng.randint(0, 59))))
        days = rng.randint(10, 25)
        alerts.append(
            Alert(
                rule=rule,
                state=state,
                school_id=school_id,
                laestab=f"{la_code}{estab}",
                upn=upn,
                given_name=given,
                family_name=family,
                dob=dob,
                episode_start=start.isoformat(),
                evidence={"first_session": f"{start.isoformat()} AM", "school_days": days},
                detected_on=detected,
                first_detected_at=at,
                last_detected_at=at,
                dismissed_reason="Known to the school: medical absence agreed."
                if state == AlertState.DISMISSED
                else "",
            )
        )
    Alert.objects.bulk_create(alerts, batch_size=BATCH)
    return len(alerts)
