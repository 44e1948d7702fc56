"""Incoming enquiry: the officer says which record the search found is the child (or that
none is), and the visit and the reply use that child (no duplicate child)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent as AuditLog
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.enquiries import services
from cmetrack.enquiries.models import ReplyOutcome, RiskLevel
from cmetrack.matching.services import clear_indexes
from cmetrack.people.models import Child
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.tests.factories import RollEntryFactory, RollSnapshotFactory


@pytest.fixture(autouse=True)
def fresh_indexes():
    clear_indexes()
    yield
    clear_indexes()


def log(actor, la):
    today = timezone.localdate()
    return services.incoming_enquiry_log(
        actor=actor,
        from_la=la,
        received_on=today,
        given_names="Ola",
        family_name="Kowalska",
        dob=dt.date(2015, 3, 14),
        sex="F",
        reason_linked="Mother said they moved to your area.",
        address_given="12 Station Road, Exampleton",
        postcode="EX1 4QT",
    )


def assess(actor, enquiry):
    today = timezone.localdate()
    return services.incoming_enquiry_assess(
        actor=actor,
        enquiry=enquiry,
        assessed_on=today,
        risk_level=RiskLevel.MEDIUM,
        assessment="No known risks beyond the move.",
    )


def visit_case(enquiry):
    assert enquiry.visit_task is not None
    return enquiry.visit_task.case


def key_of(enquiry, register):
    return next(r["key"] for r in enquiry.search_results if r["key"].startswith(register + ":"))


@pytest.fixture
def on_roll(db):
    school = SchoolFactory.create(name="Oakfield Primary School")
    return RollEntryFactory.create(snapshot=RollSnapshotFactory.create(school=school))


@pytest.mark.django_db
def test_visit_and_reply_are_refused_until_the_officer_says_who_it_is(
    actor, other_la, on_roll, today
):
    enquiry = assess(actor, log(actor, other_la))
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    assert any(r["key"] == f"roll:{on_roll.pk}" for r in enquiry.search_results)
    with pytest.raises(ValidationError, match="choose which one is the child"):
        services.incoming_enquiry_visit_task(
            actor=actor, enquiry=enquiry, owner=actor.user, due=today
        )
    with pytest.raises(ValidationError, match="choose which one is the child"):
        services.incoming_enquiry_reply(
            actor=actor, enquiry=enquiry, outcome=ReplyOutcome.FOUND_ON_ROLL, details=""
        )
    with pytest.raises(ValidationError, match="Choose the child the search found"):
        services.incoming_enquiry_choose_match(actor=actor, enquiry=enquiry, choice="")
    with pytest.raises(ValidationError, match="Choose one of the possible matches shown"):
        services.incoming_enquiry_choose_match(actor=actor, enquiry=enquiry, choice="roll:999999")


@pytest.mark.django_db
def test_a_roll_entry_becomes_the_child_and_the_visit_uses_it(actor, other_la, on_roll, today):
    enquiry = assess(actor, log(actor, other_la))
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    before = Child.objects.count()
    enquiry = services.incoming_enquiry_choose_match(
        actor=actor, enquiry=enquiry, choice=f"roll:{on_roll.pk}"
    )
    child = enquiry.matched_child
    assert child is not None
    assert child.upn == on_roll.upn
    assert (child.legal_given_names, child.legal_family_name) == ("Ola", "Kowalska")
    assert Child.objects.count() == before + 1
    enquiry.referral.refresh_from_db()
    assert enquiry.referral.child_id == child.pk
    assert AuditLog.objects.filter(
        object_type="enquiries.incomingenquiry", child_id=child.pk, summary__contains="the child is"
    ).exists()
    enquiry = services.incoming_enquiry_visit_task(
        actor=actor, enquiry=enquiry, owner=actor.user, due=today
    )
    assert visit_case(enquiry).child_id == child.pk
    assert Child.objects.count() == before + 1  # no second child
    enquiry = services.incoming_enquiry_reply(
        actor=actor,
        enquiry=enquiry,
        outcome=ReplyOutcome.FOUND_ON_ROLL,
        details="On the roll of Oakfield.",
    )
    assert AuditLog.objects.filter(
        summary__startswith="Answered the enquiry", child_id=child.pk
    ).exists()


@pytest.mark.django_db
def test_the_roll_entry_of_a_child_on_record_is_that_child(actor, other_la, on_roll):
    known = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", upn=on_roll.upn
    )
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=log(actor, other_la))
    enquiry = services.incoming_enquiry_choose_match(
        actor=actor, enquiry=enquiry, choice=f"roll:{on_roll.pk}"
    )
    assert enquiry.matched_child == known


@pytest.mark.django_db
def test_a_child_with_an_open_case_gets_the_visit_on_that_case(actor, other_la, today):
    child = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2015, 3, 14), sex="F"
    )
    case = case_in_state(CaseState.TRACKING, child=child)
    enquiry = assess(actor, log(actor, other_la))
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    enquiry = services.incoming_enquiry_choose_match(
        actor=actor, enquiry=enquiry, choice=key_of(enquiry, "children")
    )
    assert enquiry.matched_child == child
    enquiry = services.incoming_enquiry_visit_task(
        actor=actor, enquiry=enquiry, owner=actor.user, due=today
    )
    assert visit_case(enquiry) == case
    enquiry.referral.refresh_from_db()
    assert enquiry.referral.case == case
    assert child.cases.count() == 1


@pytest.mark.django_db
def test_none_of_these_makes_a_new_child_and_a_new_search_asks_again(
    actor, other_la, on_roll, today
):
    enquiry = assess(actor, log(actor, other_la))
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    enquiry = services.incoming_enquiry_choose_match(
        actor=actor, enquiry=enquiry, choice=services.NONE_OF_THESE
    )
    assert enquiry.match_none
    assert enquiry.matched_child is None
    assert AuditLog.objects.filter(summary__contains="none of the").exists()
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    assert not enquiry.match_none  # the new results need a new answer
    with pytest.raises(ValidationError, match="choose which one is the child"):
        services.incoming_enquiry_visit_task(
            actor=actor, enquiry=enquiry, owner=actor.user, due=today
        )
    enquiry = services.incoming_enquiry_choose_match(
        actor=actor, enquiry=enquiry, choice=services.NONE_OF_THESE
    )
    enquiry = services.incoming_enquiry_visit_task(
        actor=actor, enquiry=enquiry, owner=actor.user, due=today
    )
    new_child = visit_case(enquiry).child
    assert new_child.upn != on_roll.upn


@pytest.mark.django_db
def test_a_visit_needs_the_search_first_when_there_is_no_case(actor, other_la, today):
    enquiry = assess(actor, log(actor, other_la))
    with pytest.raises(ValidationError, match="Search every register"):
        services.incoming_enquiry_visit_task(
            actor=actor, enquiry=enquiry, owner=actor.user, due=today
        )


@pytest.mark.django_db
def test_the_page_lets_the_officer_pick_the_child(client, officer, actor, other_la, on_roll):
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=log(actor, other_la))
    client.force_login(officer)
    url = reverse("enquiries:incoming-detail", args=[enquiry.pk])
    page = client.get(url).content.decode()
    assert "Which of these is the child?" in page
    assert f'value="roll:{on_roll.pk}"' in page
    refused = client.post(reverse("enquiries:incoming-match", args=[enquiry.pk]), {})
    assert refused.status_code == 400
    assert "Choose the child the search found, or say that none of them is" in (
        refused.content.decode()
    )
    done = client.post(
        reverse("enquiries:incoming-match", args=[enquiry.pk]),
        {"match-choice": f"roll:{on_roll.pk}"},
    )
    assert done.status_code == 302
    page = client.get(url).content.decode()
    assert "The child is School roll: Ola Kowalska" in page


@pytest.mark.django_db
def test_an_auditor_cannot_pick(client, make_user, actor, other_la, on_roll):
    from cmetrack.accounts.roles import Role

    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=log(actor, other_la))
    client.force_login(make_user(Role.AUDITOR))
    response = client.post(
        reverse("enquiries:incoming-match", args=[enquiry.pk]), {"match-choice": "none"}
    )
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_child_on_the_home_education_list_is_that_child(actor, other_la, today):
    from cmetrack.registers.models import HomeEducationRecord

    child = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2015, 3, 14), sex="F"
    )
    record = HomeEducationRecord.objects.create(child=child, started_on=dt.date(2025, 9, 1))
    enquiry = assess(actor, log(actor, other_la))
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    assert f"home_education:{record.pk}" in [r["key"] for r in enquiry.search_results]
    before = Child.objects.count()
    enquiry = services.incoming_enquiry_choose_match(
        actor=actor, enquiry=enquiry, choice=f"home_education:{record.pk}"
    )
    assert enquiry.matched_child == child
    enquiry = services.incoming_enquiry_visit_task(
        actor=actor, enquiry=enquiry, owner=actor.user, due=today
    )
    assert visit_case(enquiry).child_id == child.pk
    assert Child.objects.count() == before


@pytest.mark.django_db
def test_the_choice_is_closed_once_the_referral_has_a_case(actor, other_la, on_roll, today):
    enquiry = assess(actor, log(actor, other_la))
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    services.incoming_enquiry_choose_match(
        actor=actor, enquiry=enquiry, choice=f"roll:{on_roll.pk}"
    )
    enquiry = services.incoming_enquiry_visit_task(
        actor=actor, enquiry=enquiry, owner=actor.user, due=today
    )
    with pytest.raises(ValidationError, match="already linked to case"):
        services.incoming_enquiry_choose_match(
            actor=actor, enquiry=enquiry, choice=services.NONE_OF_THESE
        )
