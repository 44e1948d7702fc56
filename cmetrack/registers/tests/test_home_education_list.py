"""The home-education list: routes in, consent, concerns, scoping and figures."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState, LocatedRoute
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.models import Referral
from cmetrack.registers import selectors, services
from cmetrack.registers.models import (
    ConsentStatus,
    HomeEducationRecord,
    LearntFrom,
    SenStatus,
)

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


@pytest.fixture
def officer(make_user):
    return make_user(Role.CME_OFFICER)


@pytest.fixture
def manager(make_user):
    return make_user(Role.CME_MANAGER)


def _deletion(school, child=None, **kw):
    today = timezone.localdate()
    from cmetrack.detection.models import DeletionReturn

    values = {
        "school": school,
        "upn": child.upn if child and child.upn else "H801200001001",
        "legal_given_name": child.legal_given_names if child else "Amira",
        "legal_family_name": child.legal_family_name if child else "Khan",
        "dob": child.dob if child else dt.date(2014, 5, 2),
        "ground": "f",
        "deleted_on": today - 3 * DAY,
        "parent_name": "Sara Khan",
        "future_address": "3 Elm Road, Exampleton",
        "future_postcode": "EX1 1AA",
    }
    values.update(kw)
    return DeletionReturn.objects.create(**values)


def test_parent_route_records_every_item(officer, today):
    school = SchoolFactory.create()
    child = ChildFactory.create(sen_provision="E")
    record = services.home_education_record_add(
        actor=Actor(user=officer),
        child=child,
        started_on=today - 10 * DAY,
        learnt_from=LearntFrom.PARENT,
        learnt_on=today - 5 * DAY,
        previous_school=school,
        source="Letter from the mother",
    )
    assert record.learnt_from == LearntFrom.PARENT
    assert record.learnt_on == today - 5 * DAY
    assert record.previous_school == school
    assert record.sen_status == SenStatus.EHC_PLAN  # from the child's record
    assert not record.concerns.exists()  # no further action is the default
    assert not Case.objects.filter(child=child).exists()
    assert AuditEvent.objects.filter(
        object_type="registers.homeeducationrecord", child_id=child.pk, action="create"
    ).exists()


def test_ground_f_deletion_return_puts_a_new_child_on_the_list(today):
    school = SchoolFactory.create()
    deletion = _deletion(school)
    record = services.home_education_from_deletion_return(
        actor=Actor.system("deletions"), deletion=deletion
    )
    assert record is not None
    assert record.learnt_from == LearntFrom.DELETION_RETURN
    assert record.started_on == deletion.deleted_on
    assert record.learnt_on == today
    assert record.previous_school == school
    child = record.child
    assert (child.legal_given_names, child.upn) == ("Amira", "H801200001001")
    assert child.addresses.get().postcode == "EX1 1AA"
    assert child.parents_carers.get().family_name == "Khan"
    # A second return for the same child does not add them twice.
    again = _deletion(school, child=child, deleted_on=today - 2 * DAY)
    services.home_education_from_deletion_return(actor=Actor.system("d"), deletion=again)
    assert HomeEducationRecord.objects.filter(child=child).count() == 1


def test_other_grounds_are_not_home_education():
    deletion = _deletion(SchoolFactory.create(), ground="a")
    assert (
        services.home_education_from_deletion_return(actor=Actor.system("d"), deletion=deletion)
        is None
    )
    assert not HomeEducationRecord.objects.exists()


def test_deletion_return_finds_the_existing_child_by_upn():
    child = ChildFactory.create(upn="B801200005001")
    deletion = _deletion(SchoolFactory.create(), child=child)
    record = services.home_education_from_deletion_return(
        actor=Actor.system("d"), deletion=deletion
    )
    assert record is not None
    assert record.child == child


# --- consent (2026 Act) --------------------------------------------------------------------


def test_special_school_pupil_needs_consent_before_ground_f(officer, manager, today):
    special = SchoolFactory.create(school_type="special")
    child = ChildFactory.create(upn="B801200005001")
    assert "special school" in (
        selectors.ground_f_deletion_problem(upn=child.upn or "", school=special) or ""
    )
    # The record path refuses too.
    with pytest.raises(ValidationError) as err:
        services.home_education_record_add(
            actor=Actor(user=officer),
            child=child,
            started_on=today,
            learnt_from=LearntFrom.PARENT,
            previous_school=special,
        )
    assert "consent" in str(err.value)
    request = services.consent_request_record(
        actor=Actor(user=officer),
        child=child,
        school=special,
        requested_on=today - 2 * DAY,
        requested_by="Father, by letter",
    )
    assert request.special_school
    assert request.status == ConsentStatus.PENDING
    assert "waiting for a decision" in (
        selectors.ground_f_deletion_problem(upn=child.upn or "", school=special) or ""
    )
    # An officer cannot decide; a manager can.
    with pytest.raises(PermissionDenied):
        services.consent_decide(
            actor=Actor(user=officer),
            request=request,
            decision="granted",
            decided_on=today,
            reason="x",
        )
    services.consent_decide(
        actor=Actor(user=manager),
        request=request,
        decision=ConsentStatus.GRANTED,
        decided_on=today,
        reason="Suitable plan; SEN needs met at home",
    )
    assert selectors.ground_f_deletion_problem(upn=child.upn or "", school=special) is None
    record = services.home_education_record_add(
        actor=Actor(user=officer),
        child=child,
        started_on=today,
        learnt_from=LearntFrom.PARENT,
        previous_school=special,
    )
    assert record.pk


def test_refused_consent_blocks_deletion_and_enquiries_count(officer, manager, today):
    school = SchoolFactory.create()
    child = ChildFactory.create(upn="A950000178301")
    assert selectors.ground_f_deletion_problem(upn=child.upn or "", school=school) is None
    request = services.consent_request_record(
        actor=Actor(user=officer),
        child=child,
        school=school,
        requested_on=today,
        requested_by="Mother",
        child_protection_enquiries=True,
    )
    services.consent_decide(
        actor=Actor(user=manager),
        request=request,
        decision=ConsentStatus.REFUSED,
        decided_on=today,
        reason="Section 47 enquiries under way",
    )
    problem = selectors.ground_f_deletion_problem(upn=child.upn or "", school=school)
    assert problem
    assert "refused" in problem
    with pytest.raises(ValidationError):
        services.consent_decide(
            actor=Actor(user=manager),
            request=request,
            decision="granted",
            decided_on=today,
            reason="x",
        )


def test_child_protection_plan_needs_consent(officer):
    school = SchoolFactory.create()
    child = ChildFactory.create(upn="H801200001001", child_protection_plan=True)
    problem = selectors.ground_f_deletion_problem(upn=child.upn or "", school=school)
    assert problem
    assert "child protection plan" in problem
    assert "nobody has asked" in problem


def test_case_route_needs_no_consent():
    """A child found home educated during a CME case is already off roll."""
    case = case_in_state(CaseState.CLOSED, child=ChildFactory.create(child_protection_plan=True))
    assert HomeEducationRecord.objects.get(child=case.child).learnt_from == LearntFrom.CASE


# --- concerns ------------------------------------------------------------------------------


def test_welfare_concern_opens_a_case(officer, today):
    child = ChildFactory.create(dob=dt.date(2014, 1, 10))
    record = services.home_education_record_add(
        actor=Actor(user=officer), child=child, started_on=today - 30 * DAY, learnt_from="parent"
    )
    concern = services.home_education_concern_record(
        actor=Actor(user=officer),
        record=record,
        raised_on=today,
        raised_by_whom="Health visitor",
        details="Child not seen for months; no education evident",
    )
    assert concern.case_opened
    case = concern.case
    assert case is not None
    assert case.child == child
    assert case.is_open
    assert case.assigned_officer == officer
    referral = Referral.objects.get(case=case)
    assert "home-educated" in referral.reason
    assert AuditEvent.objects.filter(object_type="cases.case", child_id=child.pk).exists()
    assert selectors.home_education_search(officer, concern=True).get() == record


def test_concern_goes_to_the_open_case_if_there_is_one(officer, today):
    case = case_in_state(CaseState.TRACKING)
    record = services.home_education_record_add(
        actor=Actor(user=officer), child=case.child, started_on=today, learnt_from="parent"
    )
    concern = services.home_education_concern_record(
        actor=Actor(user=officer),
        record=record,
        raised_on=today,
        raised_by_whom="GP",
        details="Worry",
    )
    assert concern.case == case
    assert not concern.case_opened
    assert Case.objects.filter(child=case.child).count() == 1


def test_concern_needs_details(officer, today):
    record = services.home_education_record_add(
        actor=Actor(user=officer), child=ChildFactory.create(), started_on=today
    )
    with pytest.raises(ValidationError):
        services.home_education_concern_record(
            actor=Actor(user=officer),
            record=record,
            raised_on=today,
            raised_by_whom="GP",
            details=" ",
        )


# --- scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "role",
    [
        Role.SCHOOL_USER,
        Role.AGENCY_USER,
        Role.SLO,
        Role.AUDITOR,
        Role.ADMINISTRATOR,
        Role.ADMISSIONS,
    ],
)
def test_other_roles_see_no_names_and_cannot_write(make_user, officer, role, today):
    services.home_education_record_add(
        actor=Actor(user=officer), child=ChildFactory.create(), started_on=today
    )
    user = make_user(role)
    assert not selectors.home_education_visible_to(user).exists()
    with pytest.raises(PermissionDenied):
        services.home_education_record_add(
            actor=Actor(user=user), child=ChildFactory.create(), started_on=today
        )


def test_virtual_school_sees_children_in_care_only(make_user, officer, today):
    in_care = ChildFactory.create(in_care=True)
    services.home_education_record_add(actor=Actor(user=officer), child=in_care, started_on=today)
    services.home_education_record_add(
        actor=Actor(user=officer), child=ChildFactory.create(), started_on=today
    )
    visible = selectors.home_education_visible_to(make_user(Role.VIRTUAL_SCHOOL))
    assert [r.child for r in visible] == [in_care]


def test_search_by_name_and_upn(officer, today):
    a = ChildFactory.create(
        legal_given_names="Zainab", legal_family_name="Oduya", upn="H801200001001"
    )
    b = ChildFactory.create(legal_given_names="Tom", legal_family_name="Smith")
    for child in (a, b):
        services.home_education_record_add(actor=Actor(user=officer), child=child, started_on=today)
    assert [r.child for r in selectors.home_education_search(officer, q="oduya")] == [a]
    assert [r.child for r in selectors.home_education_search(officer, q="h801200001001")] == [a]


# --- figures -------------------------------------------------------------------------------


def test_counts_by_date_and_route(officer, today):
    start = dt.date(today.year - 1, 9, 1)
    children = [ChildFactory.create(sen_provision=s) for s in ("E", "K", "N")]
    services.home_education_record_add(
        actor=Actor(user=officer),
        child=children[0],
        started_on=start - 10 * DAY,
        learnt_from="parent",
    )
    services.home_education_record_add(
        actor=Actor(user=officer),
        child=children[1],
        started_on=start + 10 * DAY,
        learnt_from="deletion_return",
    )
    ended = services.home_education_record_add(
        actor=Actor(user=officer),
        child=children[2],
        started_on=start + 20 * DAY,
        learnt_from="parent",
    )
    services.home_education_record_end(
        actor=Actor(user=officer), record=ended, ended_on=start + 40 * DAY, reason="Back at school"
    )
    counts = selectors.home_education_counts(start + 30 * DAY, (start, start + 100 * DAY))
    assert counts.on_list == 3
    assert counts.on_list_with_ehc_plan == 1
    assert counts.on_list_with_sen_support == 1
    assert counts.added_in_period == 2
    assert counts.added_by_route["deletion_return"] == 1
    assert counts.added_by_route["parent"] == 1
    assert counts.ended_in_period == 1
    later = selectors.home_education_counts(start + 50 * DAY, (start, start + 100 * DAY))
    assert later.on_list == 2
    before = selectors.home_education_counts(start - 11 * DAY, (start - 20 * DAY, start - 11 * DAY))
    assert before.on_list == 0


def test_rows_for_the_dfe_return(officer, today):
    child = ChildFactory.create(dob=dt.date(2014, 2, 2), sex="M")
    record = services.home_education_record_add(
        actor=Actor(user=officer), child=child, started_on=today - 5 * DAY
    )
    assert selectors.home_education_rows_at(today) == [
        (record.pk, child.pk, dt.date(2014, 2, 2), "M")
    ]
    assert selectors.home_education_rows_at(today - 6 * DAY) == []


def test_case_route_dates_come_from_the_case():
    case = case_in_state(CaseState.LOCATED, route=LocatedRoute.HOME_EDUCATED)
    from cmetrack.cases.services import case_close

    closed = case_close(
        actor=Actor.system("t"), case=case, outcome="home_educated", reason="Parent says EHE"
    )
    record = HomeEducationRecord.objects.get(child=case.child)
    assert record.learnt_on == closed.located_on
    assert record.started_on == closed.closed_on


def test_enquiries_on_the_cnis_register_need_consent():
    from cmetrack.cnis.services import register_details_update

    school = SchoolFactory.create()
    child = ChildFactory.create(upn="H801200001001")
    register_details_update(actor=Actor.system("t"), child=child, child_protection_enquiries="yes")
    problem = selectors.ground_f_deletion_problem(upn="H801200001001", school=school)
    assert problem
    assert "child protection enquiries" in problem
