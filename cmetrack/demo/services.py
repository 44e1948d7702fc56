"""The demo authority: a synthetic county with schools, pupils, staff and cases.

Everything is generated (Faker's en_GB names and addresses): never real people. The same
seed gives the same authority with the same locked dependencies. Cases are opened and moved
through the same audited services the application uses, so their histories are real.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from faker import Faker

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import user_create
from cmetrack.audit.services import Actor, audited_update
from cmetrack.cases.lifecycle import ROUTE_OUTCOME, CaseState, HomeEducationEvidence, LocatedRoute
from cmetrack.cases.models import Case, CmeReason, FormOfProvision, ReferralRoute, YesNoUnknown
from cmetrack.cases.services import (
    case_assign,
    case_close,
    case_locate,
    case_open,
    case_record_circumstances,
    case_transition,
)
from cmetrack.demo.home_education import demo_home_education
from cmetrack.enquiries.demo import demo_enquiries
from cmetrack.organisations.models import (
    AgencySector,
    Country,
    LATeam,
    LocalAuthority,
    Organisation,
    OrganisationKind,
    SchoolPhase,
    SchoolType,
)
from cmetrack.organisations.services import local_authorities_sync
from cmetrack.people.choices import (
    AliasType,
    DobCertainty,
    Ethnicity,
    Relationship,
    SenProvision,
    Sex,
    SiblingRelationship,
    VulnerableGroup,
)
from cmetrack.people.models import Child, SiblingLink
from cmetrack.people.services import (
    child_add_address,
    child_add_alias,
    child_add_parent_carer,
    child_create,
    child_set_vulnerabilities,
)
from cmetrack.provision.demo import demo_places
from cmetrack.referrals.services import referral_link_case, referral_record
from cmetrack.registers.models import EnrolmentStatus, RollEntry, RollSnapshot
from cmetrack.rules import academic_year_start_for, next_dormant_review, upn_check_letter
from cmetrack.safeguarding.rules import Answer, RiskFactor, RiskLevel
from cmetrack.safeguarding.services import (
    dormant_review_record,
    risk_assessment_authorise,
    risk_assessment_record,
)
from cmetrack.transfers.demo import demo_lost_pupils
from cmetrack.virtualschool.demo import demo_children_in_care

from .bulk import BulkCases, bulk_alerts, located_route_for
from .clock import DemoClock

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105  (synthetic demo accounts only)
DEMO_EMAIL_DOMAIN = "demo.cmetrack.example"
CME_TEAM_NAME = "Children Missing Education Team"
#: A UPN's serial has three digits (rules/upn.py): 001..999 per school and year of issue.
UPN_MAX_SERIAL = 999

#: The path from "received" to each state, and the outcome when it ends closed.
PATHS: dict[CaseState, list[CaseState]] = {
    CaseState.RECEIVED: [],
    CaseState.SLO_INVESTIGATION: [CaseState.SLO_INVESTIGATION],
    CaseState.TRACKING: [CaseState.TRACKING],
    CaseState.LOCATED: [CaseState.TRACKING, CaseState.LOCATED],
    CaseState.NEEDS_ASSESSMENT: [CaseState.TRACKING, CaseState.LOCATED, CaseState.NEEDS_ASSESSMENT],
    CaseState.AWAITING_PROVISION: [
        CaseState.TRACKING,
        CaseState.LOCATED,
        CaseState.NEEDS_ASSESSMENT,
        CaseState.AWAITING_PROVISION,
    ],
    CaseState.IN_PROVISION: [
        CaseState.TRACKING,
        CaseState.LOCATED,
        CaseState.NEEDS_ASSESSMENT,
        CaseState.AWAITING_PROVISION,
        CaseState.IN_PROVISION,
    ],
    CaseState.DORMANT: [CaseState.TRACKING, CaseState.DORMANT],
    CaseState.CLOSED: [CaseState.TRACKING, CaseState.LOCATED, CaseState.CLOSED],
}
STATE_WEIGHTS = {
    CaseState.RECEIVED: 6,
    CaseState.SLO_INVESTIGATION: 8,
    CaseState.TRACKING: 18,
    CaseState.LOCATED: 8,
    CaseState.NEEDS_ASSESSMENT: 6,
    CaseState.AWAITING_PROVISION: 6,
    CaseState.IN_PROVISION: 6,
    CaseState.DORMANT: 6,
    CaseState.CLOSED: 36,
}


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    roles: tuple[Role, ...]
    organisation: str  # key into the organisations made by the builder


DEMO_USERS = (
    DemoUser("manager", "Morgan Hale", (Role.CME_MANAGER,), "cme"),
    DemoUser("officer", "Priya Shah", (Role.CME_OFFICER,), "cme"),
    DemoUser("officer2", "Tom Wilder", (Role.CME_OFFICER,), "cme"),
    DemoUser("officer3", "Grace Obi", (Role.CME_OFFICER,), "cme"),
    DemoUser("slo", "Sam Carter", (Role.SLO,), "inclusion"),
    DemoUser("virtual.school", "Alex Byrne", (Role.VIRTUAL_SCHOOL,), "virtual_school"),
    DemoUser("safeguarding", "Jordan Reeve", (Role.SAFEGUARDING_ADVISER,), "safeguarding"),
    DemoUser("admin", "Robin Lane", (Role.ADMINISTRATOR,), "cme"),
    DemoUser("auditor", "Casey Moor", (Role.AUDITOR,), "cme"),
    DemoUser("admissions", "Lee Marsh", (Role.ADMISSIONS,), "admissions"),
    DemoUser("school", "Jamie Fox", (Role.SCHOOL_USER,), "school"),
    DemoUser("agency", "Dana Kerr", (Role.AGENCY_USER,), "agency"),
)


#: Cases beyond this many are built in bulk, without the services (demo/bulk.py).
SERVICE_CASES = 300


def _extra_order(key: str) -> tuple[int, str]:
    digits = "".join(c for c in key if c.isdigit())
    return (int(digits) if digits else 0, key)


def demo_email(local: str) -> str:
    return f"{local}@{DEMO_EMAIL_DOMAIN}"


@dataclass
class DemoSummary:
    schools: int = 0
    pupils: int = 0
    children: int = 0
    cases_by_state: dict[str, int] = field(default_factory=dict)
    users: list[tuple[str, str]] = field(default_factory=list)  # (email, roles)


def demo_exists() -> bool:
    return User.objects.filter(email=demo_email("manager")).exists()


def demo_sign_ins() -> list[tuple[str, str]]:
    return [(demo_email(u.email), ", ".join(r.label for r in u.roles)) for u in DEMO_USERS]


class _Builder:
    def __init__(self, seed: int, today: dt.date) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_GB")
        self.fake.seed_instance(seed)
        self.today = today
        self.actor = Actor.system("demo_data")
        self.summary = DemoSummary()
        self.upn_serials: dict[tuple[str, int], int] = {}
        #: How many CME officers and managers (beyond the named demo users, officer4@...,
        #: manager2@...: for load tests).
        self.officers = 3
        self.managers = 1
        self.progress: Callable[[str], None] = lambda message: None
        #: The controlled clock the cases' histories are written under (demo/clock.py).
        self.clock = DemoClock()

    # Organisations -------------------------------------------------------------------
    def home_authority(self) -> LocalAuthority:
        la, _ = LocalAuthority.objects.get_or_create(
            code=settings.CMETRACK_LA_CODE,
            defaults={
                "name": settings.CMETRACK_LA_NAME,
                "country": Country.ENGLAND,
                "region": "South East",
            },
        )
        return la

    def organisations(self, la: LocalAuthority, n_schools: int) -> dict[str, Organisation]:
        teams = {
            "cme": (CME_TEAM_NAME, LATeam.CME),
            "inclusion": ("Inclusion and Attendance Service", LATeam.INCLUSION),
            "virtual_school": ("Virtual School for Children in Care", LATeam.VIRTUAL_SCHOOL),
            "safeguarding": ("Education Safeguarding Team", LATeam.SAFEGUARDING),
            "admissions": ("School Admissions Team", LATeam.ADMISSIONS),
        }
        orgs = {
            key: Organisation.objects.create(
                kind=OrganisationKind.LA_TEAM, name=name, la_team=team, local_authority=la
            )
            for key, (name, team) in teams.items()
        }
        for sector, name in [
            (AgencySector.HEALTH, "Exampleshire Community Health Trust"),
            (AgencySector.POLICE, "Exampleshire Police"),
            (AgencySector.HOUSING, "Exampleshire Housing Options"),
            (AgencySector.VOLUNTARY, "Families First (voluntary sector)"),
        ]:
            org = Organisation.objects.create(
                kind=OrganisationKind.AGENCY, name=name, sector=sector, local_authority=la
            )
            orgs.setdefault("agency", org)
        self.schools: list[Organisation] = []
        n_special, n_pru = 1, 1
        n_secondary = max(1, n_schools // 5)
        n_primary = max(1, n_schools - n_secondary - n_special - n_pru)
        towns = [self.fake.unique.city() for _ in range(n_primary + n_secondary)]
        plan = (
            [
                (
                    SchoolPhase.PRIMARY,
                    self.rng.choice(
                        [SchoolType.COMMUNITY, SchoolType.ACADEMY, SchoolType.VOLUNTARY_AIDED]
                    ),
                    f"{towns[i]} Primary School",
                    2000 + i,
                )
                for i in range(n_primary)
            ]
            + [
                (
                    SchoolPhase.SECONDARY,
                    self.rng.choice([SchoolType.ACADEMY, SchoolType.FOUNDATION]),
                    f"{towns[n_primary + i]} Academy",
                    4000 + i,
                )
                for i in range(n_secondary)
            ]
            + [
                (SchoolPhase.ALL_THROUGH, SchoolType.SPECIAL, "Meadowbank Special School", 7000),
                (SchoolPhase.SECONDARY, SchoolType.PRU, "Exampleshire Pupil Referral Unit", 1100),
            ]
        )
        for i, (phase, school_type, name, estab) in enumerate(plan):
            self.schools.append(
                Organisation.objects.create(
                    kind=OrganisationKind.SCHOOL,
                    name=name,
                    local_authority=la,
                    urn=str(990000 + i),
                    estab_number=str(estab),
                    phase=phase,
                    school_type=school_type,
                    postcode=self.fake.postcode(),
                )
            )
        orgs["school"] = self.schools[0]
        self.summary.schools = len(self.schools)
        return orgs

    # Pupils on rolls -----------------------------------------------------------------
    def upn(self, school: Organisation, issued: int) -> str:
        """A permanent UPN from ``school``, issued in ``issued`` (or the year before, ...).

        The serial has three digits, so a school issues at most 999 UPNs a year: a large
        school's extra pupils take a serial from an earlier year of issue (a pupil's UPN is
        often older than their entry to this school). Never repeats, always a valid check
        letter."""
        year = issued
        while True:
            key = (school.estab_number, year % 100)
            serial = self.upn_serials.get(key, 0) + 1
            if serial <= UPN_MAX_SERIAL:
                break
            year -= 1
            if issued - year >= 100:
                raise ValueError(f"School {school.estab_number} has run out of UPN serials.")
        self.upn_serials[key] = serial
        body = f"{school.local_authority.code}{school.estab_number}{year % 100:02d}{serial:03d}"  # type: ignore[union-attr]
        return upn_check_letter(body) + body

    def rolls(self, n_pupils: int) -> None:
        year = academic_year_start_for(self.today)
        taken_on = (
            dt.date(year, 10, 1) if self.today >= dt.date(year, 10, 1) else dt.date(year - 1, 10, 1)
        )
        year = academic_year_start_for(taken_on)
        phase_weights: dict[str, float] = {
            SchoolPhase.PRIMARY: 1.0,
            SchoolPhase.SECONDARY: 4.0,
            SchoolPhase.ALL_THROUGH: 0.3,
        }

        def weight(school: Organisation) -> float:
            pru = 0.2 if school.school_type == SchoolType.PRU else 1.0
            return phase_weights.get(school.phase, 1.0) * pru

        total_weight = sum(weight(s) for s in self.schools)
        # Largest-remainder shares, so the sizes add up to exactly n_pupils.
        quotas = [n_pupils * weight(s) / total_weight for s in self.schools]
        sizes = [int(q) for q in quotas]
        by_remainder = sorted(range(len(quotas)), key=lambda i: sizes[i] - quotas[i])
        for i in by_remainder[: n_pupils - sum(sizes)]:
            sizes[i] += 1
        pupils = 0
        for school, size in zip(self.schools, sizes, strict=True):
            entries: list[RollEntry] = []
            snapshot = RollSnapshot.objects.create(
                school=school, taken_on=taken_on, source="demo data"
            )
            years = {SchoolPhase.PRIMARY: range(0, 7), SchoolPhase.SECONDARY: range(7, 12)}.get(
                SchoolPhase(school.phase), range(0, 12)
            )
            for _ in range(size):
                entries.append(self.pupil(snapshot, school, year, self.rng.choice(list(years))))
            # One school at a time: a county's 250,000 pupils never sit in memory at once.
            RollEntry.objects.bulk_create(entries, batch_size=2000)
            pupils += len(entries)
        self.summary.pupils = pupils

    def pupil(
        self, snapshot: RollSnapshot, school: Organisation, year: int, nc_year: int
    ) -> RollEntry:
        sex = self.rng.choice([Sex.FEMALE, Sex.MALE])
        given = self.fake.first_name_female() if sex == Sex.FEMALE else self.fake.first_name_male()
        birth_year_start = year - nc_year - 5
        dob = dt.date(birth_year_start, 9, 1) + dt.timedelta(days=self.rng.randrange(365))
        entry_year = year - self.rng.randrange(
            0, 1 + (nc_year if school.phase == SchoolPhase.PRIMARY else max(0, nc_year - 7))
        )
        preferred = self.fake.first_name() if self.rng.random() < 0.03 else ""
        return RollEntry(
            snapshot=snapshot,
            upn=self.upn(school, entry_year),
            legal_given_name=given,
            legal_family_name=self.fake.last_name(),
            preferred_given_name=preferred,
            dob=dob,
            sex=sex,
            address=self.fake.street_address().replace("\n", ", "),
            postcode=self.fake.postcode(),
            nc_year=nc_year,
            entry_date=dt.date(entry_year, 9, self.rng.randint(1, 10)),
            enrolment_status=EnrolmentStatus.CURRENT,
        )

    # People who use the system ----------------------------------------------------------
    def users(self, orgs: dict[str, Organisation]) -> dict[str, User]:
        made = {}
        for u in DEMO_USERS:
            made[u.email] = user_create(
                actor=self.actor,
                email=demo_email(u.email),
                full_name=u.full_name,
                roles=u.roles,
                organisation=orgs[u.organisation],
                password=DEMO_PASSWORD,
            )
        for kind, count, template in (
            ("officer", self.officers, "officer"),
            ("manager", self.managers, "manager"),
        ):
            base = next(u for u in DEMO_USERS if u.email == template)
            first = 4 if kind == "officer" else 2
            for n in range(first, count + 1):
                made[f"{kind}{n}"] = user_create(
                    actor=self.actor,
                    email=demo_email(f"{kind}{n}"),
                    full_name=f"{self.fake.first_name()} {self.fake.last_name()}",
                    roles=base.roles,
                    organisation=orgs[base.organisation],
                    password=DEMO_PASSWORD,
                )
        made["slo"].linked_schools.set(self.schools[: max(1, len(self.schools) // 3)])
        self.summary.users = demo_sign_ins()
        return made

    # Children and cases ---------------------------------------------------------------
    def cases(self, n_cases: int, users: dict[str, User], orgs: dict[str, Organisation]) -> None:
        states = self.rng.choices(
            list(STATE_WEIGHTS), weights=list(STATE_WEIGHTS.values()), k=n_cases
        )
        states[: len(CaseState)] = list(CaseState)  # every state at least once
        officers = [users["officer"], users["officer2"], users["officer3"]] + [
            users[key]
            for key in sorted(users, key=_extra_order)
            if key.startswith("officer") and key not in ("officer", "officer2", "officer3")
        ]
        slo_schools = list(users["slo"].linked_schools.all())
        roll_pool = list(
            RollEntry.objects.order_by("pk").values_list(
                "upn",
                "legal_given_name",
                "legal_family_name",
                "dob",
                "sex",
                "address",
                "postcode",
                "snapshot__school_id",
            )[: max(5000, n_cases)]
        )
        self.rng.shuffle(roll_pool)  # popped from the end: each pupil referred at most once
        previous: Child | None = None
        for index, state in enumerate(states[:SERVICE_CASES]):
            with transaction.atomic():
                previous = self.one_case(
                    index, CaseState(state), officers, users, orgs, slo_schools, roll_pool, previous
                )
            self.summary.cases_by_state[state] = self.summary.cases_by_state.get(state, 0) + 1
        self.summary.children = Child.objects.count()
        # The rest are written in bulk at the end of the build (bulk_cases), after the
        # other apps' demos, which work through the cases there are by then one at a time.
        self.bulk = BulkCases(
            self, officers=officers, users=users, orgs=orgs, slo_schools=slo_schools,
            roll_pool=roll_pool,
        )  # fmt: skip
        self.bulk_states = [CaseState(s) for s in states[SERVICE_CASES:]]

    def bulk_cases(self) -> None:
        for n, state in enumerate(self.bulk_states, start=1):
            self.bulk.add(state)
            self.summary.cases_by_state[state] = self.summary.cases_by_state.get(state, 0) + 1
            if n % 10_000 == 0:
                self.progress(f"{n} cases written in bulk")
        self.bulk.flush()
        if self.bulk_states:
            self.summary.children = Child.objects.count()
            # A county's detection alerts too, about one for every eight cases.
            made = bulk_alerts(self, len(self.bulk_states) // 8)
            self.progress(f"{made} alerts")

    def one_case(
        self,
        index: int,
        state: CaseState,
        officers: list[User],
        users: dict[str, User],
        orgs: dict[str, Organisation],
        slo_schools: list[Organisation],
        roll_pool: list[tuple],  # type: ignore[type-arg]
        previous: Child | None,
    ) -> Child:
        rng, fake = self.rng, self.fake
        school_referral, route, date_referred = referral_route_for(rng, state, self.today)
        # The case's history happens on its own days: referred in the morning it came in.
        self.clock.set_day(date_referred, hour=9 + index % 7, minute=(index * 7) % 60)
        school: Organisation | None = None
        if school_referral:
            upn, given, family, dob, sex, address, postcode, school_id = roll_pool.pop()
            school = next(s for s in self.schools if s.pk == school_id)
            if state == CaseState.SLO_INVESTIGATION and slo_schools:
                school = rng.choice(slo_schools)
        else:
            upn = None
            sex = rng.choice([Sex.FEMALE, Sex.MALE])
            given = fake.first_name_female() if sex == Sex.FEMALE else fake.first_name_male()
            family = fake.last_name()
            dob = self.today - dt.timedelta(days=rng.randint(5 * 365 + 120, 16 * 365))
            address = fake.street_address().replace("\n", ", ")
            postcode = fake.postcode()
        twin = previous is not None and rng.random() < 0.04 and previous.upn is None and upn is None
        if twin and previous is not None:
            family, dob = previous.legal_family_name, previous.dob
        in_care = rng.random() < 0.08
        child = child_create(
            actor=self.actor,
            legal_given_names=given,
            legal_family_name=family,
            dob=dob,
            dob_certainty=rng.choice(list(DobCertainty)),
            sex=sex,
            upn=upn,
            ethnicity=rng.choice(list(Ethnicity)),
            first_language=rng.choice(
                ["English"] * 6 + ["Polish", "Romanian", "Urdu", "Arabic", "Somali"]
            ),
            sen_provision=rng.choices(list(SenProvision), weights=[3, 12, 85])[0],
            in_care=in_care,
            responsible_la=self.home_la if in_care else None,
            child_protection_plan=rng.random() < 0.06,
        )
        if twin and previous is not None:
            a, b = sorted([previous, child], key=lambda c: c.pk)
            SiblingLink.objects.create(child=a, sibling=b, relationship=SiblingRelationship.TWIN)
        if rng.random() < 0.15:
            child_add_alias(
                actor=self.actor,
                child=child,
                alias_type=AliasType.KNOWN_AS,
                given_names=fake.first_name(),
                family_name=family,
            )
        line1, _, town = address.partition(", ")
        child_add_address(
            actor=self.actor,
            child=child,
            line1=line1,
            town=town or fake.city(),
            postcode=postcode,
            date_from=date_referred - dt.timedelta(days=700),
            is_restricted=rng.random() < 0.05,
        )
        child_add_parent_carer(
            actor=self.actor,
            child=child,
            given_names=fake.first_name(),
            family_name=family,
            relationship=rng.choice(
                [Relationship.MOTHER, Relationship.FATHER, Relationship.GRANDPARENT]
            ),
            parental_responsibility=True,
            phone=fake.phone_number(),
        )
        if rng.random() < 0.3:
            child_set_vulnerabilities(
                actor=self.actor,
                child=child,
                groups=rng.sample(list(VulnerableGroup), rng.randint(1, 2)),
            )
        referrer = (
            school if school_referral else orgs["agency"] if route == ReferralRoute.AGENCY else None
        )
        referral = referral_record(
            actor=self.actor,
            route=route,
            given_names=given,
            family_name=family,
            dob=dob,
            sex=sex,
            address=address,
            postcode=postcode,
            school=school,
            referring_organisation=referrer,
            reason=rng.choice(
                [
                    "Not attended for over ten school days; family not at home on visit.",
                    "Family moved into the area; child has no school place.",
                    "Neighbour reports the child is at home during school hours.",
                    "Left suddenly; destination unknown.",
                    "Allocated school place never taken up.",
                ]
            ),
        )
        case = case_open(actor=self.actor, child=child, route=route, date_referred=date_referred)
        referral_link_case(actor=self.actor, referral=referral, case=case)
        if school is not None:
            audited_update(
                actor=self.actor,
                instance=case,
                child_id=child.pk,
                changes={
                    "last_education_school": school,
                    "last_education_place": school.name,
                    "last_education_date": date_referred - dt.timedelta(days=rng.randint(10, 30)),
                },
            )
        if rng.random() < 0.85:  # most officers record the reason early; some forget
            reason = rng.choice(list(CmeReason))
            new_country = reason == CmeReason.ARRIVED_FROM_ABROAD
            new_area = new_country or reason == CmeReason.MOVED_INTO_AREA
            case = case_record_circumstances(
                actor=self.actor,
                case=case,
                cme_reason=reason,
                new_to_area=YesNoUnknown.YES if new_area else rng.choice(list(YesNoUnknown)),
                new_to_country=YesNoUnknown.YES if new_country else YesNoUnknown.NO,
            )
        self.walk(case, state, officers, users)
        self.clock.reset()
        return child

    def walk(
        self, case: Case, state: CaseState, officers: list[User], users: dict[str, User]
    ) -> None:
        rng = self.rng
        if state == CaseState.SLO_INVESTIGATION:
            case_assign(actor=self.actor, case=case, officer=users["slo"])
        elif state != CaseState.RECEIVED or rng.random() < 0.5:
            officer = users["safeguarding"] if rng.random() < 0.03 else rng.choice(officers)
            case_assign(actor=self.actor, case=case, officer=officer)
        day = case.date_referred
        for number, step in enumerate(PATHS[state]):
            day = min(self.today, day + dt.timedelta(days=rng.randint(2, 20)))
            self.clock.set_day(day, hour=10 + number % 6, minute=(7 * case.pk) % 60)
            extra: dict[str, object] = {}
            if step == CaseState.NEEDS_ASSESSMENT:
                extra["date_of_assessment"] = day
            elif step == CaseState.AWAITING_PROVISION:
                extra.update(
                    date_provision_determined=day,
                    provision_recommended=rng.choice(list(FormOfProvision)),
                )
            elif step == CaseState.IN_PROVISION:
                extra.update(
                    date_moved_into_provision=day, provision_accessed=case.provision_recommended
                )
            if extra:
                audited_update(
                    actor=self.actor, instance=case, changes=extra, child_id=case.child_id
                )
            if step == CaseState.DORMANT:
                self.authorised_risk_assessment(case, officers[0], users["manager"], day)
            if step == CaseState.LOCATED:
                case = self.locate(case, state, Actor(user=users["officer"]), day)
            elif step == CaseState.CLOSED:
                # Closed as the route it was located on, through the one close path: the
                # evidence each route needs was recorded when the child was located.
                case = case_close(
                    actor=Actor(user=users["officer"]),
                    case=case,
                    outcome=ROUTE_OUTCOME[LocatedRoute(case.located_route)],
                    reason="Demo history.",
                )
            else:
                case = case_transition(
                    actor=self.actor, case=case, to_state=step, reason="Demo history."
                )
        if case.state == CaseState.DORMANT:
            self.monthly_reviews(case, officers[0], day)

    def locate(self, case: Case, state: CaseState, officer: Actor, day: dt.date) -> Case:
        """Where the child is, with the route's evidence: a case going on to provision was
        found living in the area; one that closes was found on a roll or home educated
        (the parent's written notice); one left located, any of the three."""
        rng = self.rng
        route = located_route_for(rng, state)
        school = rng.choice(self.schools) if route == LocatedRoute.ON_ROLL else None
        home_educated = route == LocatedRoute.HOME_EDUCATED
        where = {
            LocatedRoute.ON_ROLL: f"On the roll of {school}.",
            LocatedRoute.HOME_EDUCATED: "At home: the parent educates the child at home.",
        }.get(route, "Living in the area with a parent; no school place.")
        return case_locate(
            actor=officer,
            case=case,
            where=where,
            route=route,
            school=school,
            located_on=day,
            home_education_evidence=HomeEducationEvidence.PARENT_NOTICE if home_educated else "",
            home_education_evidence_on=day if home_educated else None,
        )

    def monthly_reviews(self, case: Case, officer: User, dormant_on: dt.date) -> None:
        """A dormant case reviewed every month since it went dormant, on the day each was
        due (a few a day or two late); about one in five has missed its latest review, so
        the review queues show some overdue."""
        day = next_dormant_review(dormant_on)
        skip_last = case.pk % 5 == 0
        while day <= self.today:
            following = next_dormant_review(day)
            if skip_last and following > self.today:
                break
            reviewed = min(self.today, day + dt.timedelta(days=case.pk % 3))
            self.clock.set_day(reviewed, hour=11, minute=case.pk % 60)
            dormant_review_record(
                actor=Actor(user=officer),
                case=case,
                reviewed_on=reviewed,
                checked="Schools' rolls, health, housing and the lost-pupil area.",
                result="No new information: still not found.",
                risk_level_holds=True,
            )
            day = next_dormant_review(reviewed)

    def authorised_risk_assessment(
        self, case: Case, officer: User, manager: User, day: dt.date
    ) -> None:
        """A dormant case needs a risk assessment an officer recorded and a manager signed."""

        factors = {f.value: (Answer.NO.value, "") for f in RiskFactor}
        factors[RiskFactor.values[-1]] = (Answer.UNKNOWN.value, "")
        assessment = risk_assessment_record(
            actor=Actor(user=officer),
            case=case,
            date_of_assessment=day,
            factors=factors,
            summary="Not found after every check; no safeguarding concerns known.",
            risk_level=self.rng.choice([RiskLevel.LOW, RiskLevel.MEDIUM]),
        )
        risk_assessment_authorise(actor=Actor(user=manager), assessment=assessment)

    def build(self, n_schools: int, n_pupils: int, n_cases: int) -> DemoSummary:
        local_authorities_sync()
        self.home_la = self.home_authority()
        orgs = self.organisations(self.home_la, n_schools)

        demo_places(schools=self.schools, today=self.today)
        self.progress(f"{len(self.schools)} schools")
        self.rolls(n_pupils)
        self.progress(f"{self.summary.pupils} pupils on rolls")
        users = self.users(orgs)
        self.cases(n_cases, users, orgs)
        self.progress(f"{min(n_cases, SERVICE_CASES)} cases through the services")

        demo_enquiries(officer=users["officer"], today=self.today)

        demo_home_education(
            officer=users["officer"],
            manager=users["manager"],
            schools=self.schools,
            seed=self.rng.randint(0, 10**6),
            today=self.today,
        )

        demo_children_in_care(vs_officer=users["virtual.school"], home_la=self.home_la,
                              schools=self.schools, seed=self.rng.randint(0, 10**6),
                              today=self.today)  # fmt: skip

        demo_lost_pupils(officer=users["officer"], school_user=users["school"],
                         schools=self.schools, seed=self.rng.randint(0, 10**6),
                         today=self.today)  # fmt: skip
        self.progress("enquiries, home education, children in care and lost pupils")
        self.bulk_cases()
        return self.summary


def build_demo_authority(
    *,
    seed: int,
    schools: int = 40,
    pupils: int = 15_000,
    cases: int = 300,
    today: dt.date | None = None,
    officers: int = 3,
    managers: int = 1,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Build the demo authority into an empty database (refuses if it is already there).

    The first ``SERVICE_CASES`` cases go through the audited services; more are written in
    bulk (``demo/bulk.py``). ``officers`` and ``managers`` above the named demo users add
    ``officer4@``... and ``manager2@``... with the same password (load tests)."""
    if demo_exists():
        raise ValueError("The demo authority already exists in this database.")
    if schools < 4:
        raise ValueError("The demo needs at least 4 schools (primary, secondary, special, PRU).")
    from django.utils import timezone

    builder = _Builder(seed, today or timezone.localdate())
    builder.officers, builder.managers = max(3, officers), max(1, managers)
    if progress is not None:
        builder.progress = progress
    # The cases' histories are written at the time they happened (demo/clock.py), so the
    # chronologies, trends, termly figures, dormant reviews and the DfE return have a past.
    with transaction.atomic(), builder.clock:
        return builder.build(schools, pupils, cases)


def referral_route_for(
    rng: random.Random, state: CaseState, today: dt.date
) -> tuple[bool, ReferralRoute, dt.date]:
    """How a demo case came in: a school referral (always for SLO investigation, else about
    a third), otherwise another route; referred as long ago as a case in that state would
    have been (closed cases over the last three school years, new ones this week). One
    draw order, so the services path and the bulk path give the same authority for the
    same seed."""
    school_referral = state == CaseState.SLO_INVESTIGATION or rng.random() < 0.35
    route = (
        ReferralRoute.SCHOOL
        if school_referral
        else rng.choice(
            [
                ReferralRoute.AGENCY,
                ReferralRoute.PUBLIC,
                ReferralRoute.OTHER_LA,
                ReferralRoute.DETECTION,
            ]
        )
    )
    low, high = REFERRED_DAYS_AGO[state]
    return school_referral, route, today - dt.timedelta(days=rng.randint(low, high))


#: How many days ago a demo case in each state was referred (its history's length).
REFERRED_DAYS_AGO: dict[CaseState, tuple[int, int]] = {
    CaseState.RECEIVED: (0, 6),
    CaseState.SLO_INVESTIGATION: (2, 40),
    CaseState.TRACKING: (3, 240),
    CaseState.LOCATED: (10, 300),
    CaseState.NEEDS_ASSESSMENT: (20, 300),
    CaseState.AWAITING_PROVISION: (30, 360),
    CaseState.IN_PROVISION: (40, 420),
    CaseState.DORMANT: (60, 720),
    CaseState.CLOSED: (14, 1000),
}
