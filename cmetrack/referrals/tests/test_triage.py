"""Triage: compulsory school age, routing per route, duplicates, permissions, atomicity."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState, Outcome
from cmetrack.cases.models import Case, ChronologyEvent, ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.people.models import Child, ParentCarer
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals import services
from cmetrack.referrals.models import Referral, ReferralStatus, TriageOutcome
from cmetrack.referrals.services import (
    TriageDecision,
    TriageNotAllowed,
    referral_record,
    referral_triage,
    school_age_statement,
)

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def make_referral(route: str = ReferralRoute.AGENCY, **kw: Any) -> Referral:
    fields: dict[str, Any] = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "dob": dt.date(2015, 3, 14),
        "reason": "Not seen at school",
        "address": "12 Station Road, Exampleton",
        "postcode": "EX1 4QT",
    }
    fields.update(kw)
    referral = referral_record(actor=SYSTEM, route=route, **fields)  # type: ignore[arg-type]
    return referral


@pytest.fixture
def officer(make_user: Any) -> Any:
    return make_user(Role.CME_OFFICER)


def triage(user: Any, referral: Referral, **kw: Any) -> Referral:
    return referral_triage(actor=Actor(user=user), referral=referral, **kw)


@pytest.mark.parametrize(
    ("route", "state", "outcome"),
    [
        (ReferralRoute.SCHOOL, CaseState.SLO_INVESTIGATION, TriageOutcome.SLO_INVESTIGATION),
        (ReferralRoute.AGENCY, CaseState.TRACKING, TriageOutcome.TRACKING),
        (ReferralRoute.PUBLIC, CaseState.TRACKING, TriageOutcome.TRACKING),
        (ReferralRoute.OTHER_LA, CaseState.TRACKING, TriageOutcome.TRACKING),
        (ReferralRoute.DETECTION, CaseState.TRACKING, TriageOutcome.TRACKING),
    ],
)
def test_triage_routes_each_route(officer: Any, route: str, state: str, outcome: str) -> None:
    names_school = route in (ReferralRoute.SCHOOL, ReferralRoute.DETECTION)
    school = SchoolFactory.create() if names_school else None
    referral = make_referral(route, school=school, referring_organisation=school)
    referral.parents_carers = [
        {"name": "Maria Kowalska", "relationship": "mother", "phone": "07700 900123", "email": ""}
    ]
    referral.save()
    triage(officer, referral)
    referral.refresh_from_db()
    case = referral.case
    assert case is not None
    assert case.state == state
    assert case.route == route
    assert case.date_referred == timezone.localdate()
    assert referral.status == ReferralStatus.LINKED
    assert referral.triage_outcome == outcome
    assert referral.triaged_by == officer
    child = referral.child
    assert child is not None
    assert child.legal_family_name == "Kowalska"
    assert child.addresses.get().postcode == "EX1 4QT"
    parent = ParentCarer.objects.get(child=child)
    assert (parent.given_names, parent.family_name, parent.relationship) == (
        "Maria",
        "Kowalska",
        "mother",
    )
    if school is not None:
        assert case.last_education_school == school
    kinds = list(ChronologyEvent.objects.filter(case=case).values_list("kind", flat=True))
    assert "referral" in kinds
    assert "state" in kinds
    assert AuditEvent.objects.filter(
        object_type="referrals.referral", object_id=str(referral.pk), child_id=child.pk
    ).exists()


def test_not_of_compulsory_school_age_closes_as_not_cme(officer: Any) -> None:
    referral = make_referral(dob=dt.date(2023, 1, 1))
    triage(officer, referral, decision=TriageDecision.NOT_SCHOOL_AGE, reason="Aged 3")
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.NOT_CME
    assert referral.case is not None
    assert referral.case.state == CaseState.CLOSED
    assert referral.case.outcome == Outcome.NOT_CME
    assert "Aged 3" in referral.case.outcome_reason


def test_closing_as_not_school_age_needs_a_reason(officer: Any) -> None:
    referral = make_referral()
    with pytest.raises(ValidationError):
        triage(officer, referral, decision=TriageDecision.NOT_SCHOOL_AGE)
    assert not Case.objects.exists()


def test_a_duplicate_is_linked_to_the_open_case(officer: Any) -> None:
    child = ChildFactory.create()
    case = case_open(
        actor=SYSTEM, child=child, route=ReferralRoute.AGENCY, date_referred=dt.date(2026, 10, 1)
    )
    referral = make_referral()
    triage(officer, referral, decision=TriageDecision.DUPLICATE, duplicate_of=case)
    referral.refresh_from_db()
    assert (referral.case, referral.child, referral.status) == (case, child, "linked")
    assert referral.triage_outcome == TriageOutcome.DUPLICATE
    assert Case.objects.count() == 1
    assert ChronologyEvent.objects.filter(
        case=case, kind="referral", summary__contains=referral.reference
    ).exists()


def test_linking_to_an_existing_child_creates_no_child(officer: Any) -> None:
    child = ChildFactory.create()
    referral = make_referral()
    triage(officer, referral, child=child)
    assert Child.objects.count() == 1
    referral.refresh_from_db()
    assert referral.case is not None
    assert referral.case.child == child


def test_a_referral_is_triaged_once(officer: Any) -> None:
    referral = make_referral()
    triage(officer, referral)
    with pytest.raises(TriageNotAllowed, match="already been triaged"):
        triage(officer, referral)
    assert Case.objects.count() == 1


def test_assigning_at_triage(officer: Any, make_user: Any) -> None:
    other = make_user(Role.CME_OFFICER)
    referral = make_referral()
    triage(officer, referral, assign_to=other)
    referral.refresh_from_db()
    assert referral.case is not None
    assert referral.case.assigned_officer == other
    with pytest.raises(ValidationError):
        triage(officer, make_referral(), assign_to=make_user(Role.SCHOOL_USER))


def test_an_unknown_last_name_is_asked_for(officer: Any) -> None:
    referral = make_referral(ReferralRoute.PUBLIC, family_name="")
    with pytest.raises(ValidationError) as info:
        triage(officer, referral)
    assert "family_name" in info.value.message_dict
    triage(officer, referral, family_name="Smith")
    referral.refresh_from_db()
    assert referral.child is not None
    assert referral.child.legal_family_name == "Smith"


def test_an_existing_upn_is_never_duplicated(officer: Any) -> None:
    ChildFactory.create(upn="H801200001001")
    referral = make_referral()
    referral.upn = "H801200001001"
    referral.save()
    with pytest.raises(ValidationError, match="already exists"):
        triage(officer, referral)


# --- who may triage -------------------------------------------------------------------


def test_an_slo_triages_school_referrals_of_linked_schools_only(make_user: Any) -> None:
    linked, other = SchoolFactory.create(), SchoolFactory.create()
    slo = make_user(Role.SLO)
    slo.linked_schools.set([linked])
    mine = make_referral(ReferralRoute.SCHOOL, school=linked, referring_organisation=linked)
    triage(slo, mine)
    mine.refresh_from_db()
    assert mine.case is not None
    assert mine.case.state == CaseState.SLO_INVESTIGATION
    theirs = make_referral(ReferralRoute.SCHOOL, school=other, referring_organisation=other)
    with pytest.raises(PermissionDenied):
        triage(slo, theirs)
    with pytest.raises(PermissionDenied):
        triage(slo, make_referral(ReferralRoute.AGENCY))
    with pytest.raises(ValidationError):  # an SLO assigns only to themselves
        triage(
            slo,
            make_referral(ReferralRoute.SCHOOL, school=linked),
            assign_to=make_user(Role.CME_OFFICER),
        )


@pytest.mark.parametrize(
    "role",
    [
        Role.SCHOOL_USER,
        Role.AGENCY_USER,
        Role.VIRTUAL_SCHOOL,
        Role.SAFEGUARDING_ADVISER,
        Role.ADMINISTRATOR,
        Role.AUDITOR,
    ],
)
def test_other_roles_may_not_triage(make_user: Any, role: Role) -> None:
    referral = make_referral(ReferralRoute.AGENCY, referring_organisation=AgencyFactory.create())
    with pytest.raises(PermissionDenied):
        triage(make_user(role), referral)
    assert not Case.objects.exists()


def test_triage_is_all_or_nothing(officer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    referral = make_referral()
    audit_before = AuditEvent.objects.count()

    def explode(**kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "case_transition", explode)
    with pytest.raises(RuntimeError):
        triage(officer, referral)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.RECEIVED
    assert (Child.objects.count(), Case.objects.count()) == (0, 0)
    assert AuditEvent.objects.count() == audit_before


# --- compulsory school age ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("dob", "received", "expected", "text"),
    [
        (
            dt.date(2015, 3, 14),
            dt.date(2026, 11, 5),
            True,
            "Of compulsory school age on 5 November 2026",
        ),
        (
            dt.date(2021, 11, 10),
            dt.date(2026, 11, 5),
            False,
            "Not yet of compulsory school age: starts 31 December 2026",
        ),
        (dt.date(2022, 1, 10), dt.date(2026, 11, 5), False, "starts 31 March 2027"),
        (
            dt.date(2010, 6, 30),
            dt.date(2026, 11, 5),
            False,
            "No longer of compulsory school age: stopped after 26 June 2026",
        ),
        (None, dt.date(2026, 11, 5), None, "Date of birth not known"),
    ],
)
def test_school_age_on_the_referral_date(
    dob: dt.date | None, received: dt.date, expected: bool | None, text: str
) -> None:
    referral = Referral(
        dob=dob,
        received_at=dt.datetime(received.year, received.month, received.day, 12, tzinfo=dt.UTC),
    )
    of_age, statement = school_age_statement(referral)
    assert of_age is expected
    assert text in statement
