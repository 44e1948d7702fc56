"""Incoming enquiries (a referral route: search, assess before any visit, visit, reply) and
closing a case as moved to another authority or left the country."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cmetrack.audit.services import Actor
from cmetrack.cases import services as case_services
from cmetrack.cases.lifecycle import CaseState, LocatedRoute, PreconditionFailed
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.enquiries import services
from cmetrack.enquiries.documents import parse_reply
from cmetrack.enquiries.models import HomeOfficeResult, ReplyOutcome
from cmetrack.organisations.models import LocalAuthority
from cmetrack.referrals.models import ReferralStatus

from .conftest import RESTRICTED_LINE, RESTRICTED_POSTCODE


def log(actor, la, **kwargs):
    today = timezone.localdate()
    fields = {
        "from_la": la,
        "received_on": today,
        "given_names": "Jayden",
        "family_name": "Example",
        "dob": dt.date(2014, 6, 2),
        "sex": "M",
        "reason_linked": "Family told a health visitor they were moving to your area.",
        "address_given": "12 Example Row, Exampleton",
        "postcode": "EX1 4ZZ",
    }
    fields.update(kwargs)
    return services.incoming_enquiry_log(actor=actor, **fields)


@pytest.mark.django_db
def test_an_incoming_enquiry_is_a_referral_from_another_authority(actor, other_la, today):
    enquiry = log(actor, other_la)
    referral = enquiry.referral
    assert referral.route == ReferralRoute.OTHER_LA
    assert referral.status == ReferralStatus.RECEIVED
    assert referral.referring_organisation.local_authority == other_la
    assert enquiry.reply_due_on == services.due_after(today, 10)


@pytest.mark.django_db
def test_search_every_register_then_assess_then_visit_then_reply(actor, officer, other_la, today):
    enquiry = log(actor, other_la)
    enquiry = services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    assert enquiry.searched_at is not None
    assert isinstance(enquiry.search_results, list)
    with pytest.raises(ValidationError, match="vulnerability assessment before"):
        services.incoming_enquiry_visit_task(
            actor=actor, enquiry=enquiry, owner=officer, due=today + dt.timedelta(days=2)
        )
    enquiry = services.incoming_enquiry_assess(
        actor=actor,
        enquiry=enquiry,
        assessed_on=today,
        risk_level="medium",
        assessment="Past child protection plan; visit within two days.",
    )
    enquiry = services.incoming_enquiry_visit_task(
        actor=actor, enquiry=enquiry, owner=officer, due=today + dt.timedelta(days=2)
    )
    task = enquiry.visit_task
    assert task is not None
    assert task.owner == officer
    assert "12 Example Row" in task.details
    enquiry.referral.refresh_from_db()
    assert task.case == enquiry.referral.case  # the referral was triaged into a case
    assert enquiry.referral.case.route == ReferralRoute.OTHER_LA
    enquiry = services.incoming_enquiry_reply(
        actor=actor, enquiry=enquiry, outcome=ReplyOutcome.FOUND_NOT_IN_EDUCATION, details="Seen."
    )
    reply = parse_reply(services.incoming_reply_document(actor=actor, enquiry=enquiry))
    assert reply.outcome == ReplyOutcome.FOUND_NOT_IN_EDUCATION
    assert reply.responder.authority_code == "999"


@pytest.mark.django_db
def test_the_reply_needs_the_search_first_and_is_sent_whatever_the_result(actor, other_la, today):
    enquiry = log(actor, other_la, address_given="", postcode="")
    with pytest.raises(ValidationError, match="Search the registers before replying"):
        services.incoming_enquiry_reply(
            actor=actor, enquiry=enquiry, outcome=ReplyOutcome.NOT_KNOWN, details=""
        )
    with pytest.raises(ValidationError, match="No address was given"):
        services.incoming_enquiry_visit_task(
            actor=actor, enquiry=enquiry, owner=actor.user, due=today
        )
    services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    enquiry = services.incoming_enquiry_reply(
        actor=actor, enquiry=enquiry, outcome=ReplyOutcome.NOT_KNOWN, details="No trace."
    )
    assert enquiry.replied_on == today


@pytest.mark.django_db
def test_our_reply_never_holds_the_childs_restricted_address(actor, other_la, case):
    enquiry = log(actor, other_la)
    enquiry.referral.child = case.child
    enquiry.referral.save()
    services.incoming_enquiry_search(actor=actor, enquiry=enquiry)
    with pytest.raises(ValidationError) as exc:
        services.incoming_enquiry_reply(
            actor=actor,
            enquiry=enquiry,
            outcome=ReplyOutcome.FOUND_NOT_IN_EDUCATION,
            details=f"Living at {RESTRICTED_LINE}",
            address=RESTRICTED_POSTCODE,
        )
    assert set(exc.value.message_dict) == {"details", "address"}


@pytest.mark.django_db
def test_importing_an_enquiry_file_made_by_another_authority(actor, other_la, case, home_la, today):
    # Another authority's system made this file from our schema (we play Camden here).
    from cmetrack.enquiries.dataset import (
        EnquiryDetails,
        RestrictedMarkers,
        build_document,
        sender_for,
    )
    from cmetrack.enquiries.documents import Recipient, dump

    doc = build_document(
        case=case,
        reference="E-CAMDEN01",
        sent_on=today,
        reply_due_on=today + dt.timedelta(days=14),
        sender=sender_for(case, "Camden officer", "cme@202.gov.uk").model_copy(
            update={"authority_code": "202", "authority_name": "Camden"}
        ),
        recipient=Recipient(
            authority_code="999",
            authority_name="Exampleshire",
            contact_name="Our contact",
            contact_email="cme@999.gov.uk",
        ),
        reason_linked="Grandmother lives in your area.",
        details=EnquiryDetails(possible_new_address="3 Example Road, EX2 3CD"),
        markers=RestrictedMarkers.of(case.child),
    )
    enquiry = services.incoming_enquiry_import(actor=actor, raw=dump(doc).encode())
    assert enquiry.from_la == other_la
    assert enquiry.their_reference == "E-CAMDEN01"
    assert enquiry.referral.postcode == "EX2 3CD"
    assert "child protection" in enquiry.vulnerabilities

    wrong = json.loads(dump(doc))
    wrong["recipient"]["authority_code"] = "203"
    with pytest.raises(ValidationError) as exc:
        services.incoming_enquiry_import(actor=actor, raw=json.dumps(wrong))
    assert "not to us" in exc.value.message_dict["file"][0]


# --- closing: moved to another authority, left the country ---------------------------------


@pytest.mark.django_db
def test_moved_la_closes_only_after_the_named_contact_acknowledged(actor, other_la, today):
    case = case_in_state(CaseState.TRACKING)
    case = case_services.case_locate(
        actor=actor, case=case, where="With an aunt", route=LocatedRoute.MOVED_LA,
        local_authority=other_la,
    )  # fmt: skip
    with pytest.raises(PreconditionFailed, match="Notify Camden's named CME contact"):
        case_services.case_close(
            actor=actor, case=case, outcome="moved_la", reason="Moved",
            acknowledged_by="Someone", acknowledged_on=today,
        )  # fmt: skip
    notice = services.move_notification_send(actor=actor, case=case, local_authority=other_la)
    assert notice.contact_name == "Contact at Camden"
    with pytest.raises(PreconditionFailed, match="has not acknowledged the notification yet"):
        case_services.case_close(
            actor=actor, case=case, outcome="moved_la", reason="Moved",
            acknowledged_by="Someone", acknowledged_on=today,
        )  # fmt: skip
    services.move_notification_acknowledge(
        actor=actor, notification=notice, acknowledged_by="Jo Bloggs", acknowledged_on=today
    )
    case = case_services.case_close(actor=actor, case=case, outcome="moved_la", reason="Moved")
    assert (case.state, case.la_acknowledged_by, case.la_acknowledged_on) == (
        CaseState.CLOSED,
        "Jo Bloggs",
        today,
    )


@pytest.mark.django_db
def test_left_the_country_closes_only_after_the_home_office_check(actor, today):
    case = case_in_state(CaseState.TRACKING)
    case = case_services.case_locate(
        actor=actor, case=case, where="Abroad", route=LocatedRoute.LEFT_COUNTRY
    )
    close: dict[str, Any] = {
        "outcome": "left_country",
        "reason": "Gone abroad",
        "confirmation_source": "Home Office",
        "confirmed_on": today,
    }
    with pytest.raises(PreconditionFailed, match="Record the Home Office check"):
        case_services.case_close(actor=actor, case=case, **close)
    services.home_office_check_record(
        actor=actor, case=case, requested_on=today, result=HomeOfficeResult.AWAITING
    )
    with pytest.raises(PreconditionFailed, match="Record the Home Office check"):
        case_services.case_close(actor=actor, case=case, **close)
    with pytest.raises(ValidationError) as exc:
        services.home_office_check_record(
            actor=actor, case=case, requested_on=today, result=HomeOfficeResult.DEPARTURE_CONFIRMED
        )
    assert "result_on" in exc.value.message_dict
    services.home_office_check_record(
        actor=actor,
        case=case,
        requested_on=today,
        result=HomeOfficeResult.DEPARTURE_CONFIRMED,
        result_on=today,
        reference="HO-1",
    )
    case = case_services.case_close(actor=actor, case=case, **close)
    assert case.state == CaseState.CLOSED


@pytest.mark.django_db
def test_the_move_notice_never_holds_the_restricted_address(actor, case, other_la):
    with pytest.raises(ValidationError) as exc:
        services.move_notification_send(
            actor=actor, case=case, local_authority=other_la, details=f"Was at {RESTRICTED_LINE}"
        )
    assert "restricted address" in exc.value.message_dict["details"][0]


@pytest.mark.django_db
def test_system_actor_may_log(other_la):
    enquiry = log(Actor.system("import"), other_la)
    assert enquiry.referral.referred_by is None


@pytest.mark.django_db
def test_demo_enquiries(officer, case, today):
    from cmetrack.enquiries.demo import demo_enquiries
    from cmetrack.enquiries.models import IncomingEnquiry, OutgoingEnquiry

    assert demo_enquiries(officer=officer, today=today) == 1
    assert OutgoingEnquiry.objects.count() == 1
    assert not IncomingEnquiry.objects.exists()
    assert (
        LocalAuthority.objects.filter(contact_confirmed_on__isnull=True)
        .exclude(cme_contact_name="")
        .exists()
    )  # one demo contact was never confirmed: flagged in the directory


@pytest.mark.django_db
def test_two_authorities_exchange_an_enquiry_and_its_reply_as_files(
    case, home_la, other_la, actor, officer, today
):
    """We (999) ask Camden (202); Camden's copy of the system imports our file, searches,
    assesses, replies; we import Camden's reply. No file holds the restricted address."""
    from django.test import override_settings

    from cmetrack.enquiries.dataset import EnquiryDetails
    from cmetrack.enquiries.models import EnquiryStatus

    from .test_outgoing import assert_no_restricted

    outgoing = services.enquiry_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        reason_linked="Mother said they were moving to Camden.",
        details=EnquiryDetails(possible_new_address="5 New Street, London NW1 1AA"),
    )
    sent = services.enquiry_export(actor=actor, enquiry=outgoing, kind="JSON file")
    assert_no_restricted(sent)

    LocalAuthority.objects.filter(code="999").update(
        cme_contact_name="Our contact", cme_contact_email="cme@999.gov.uk"
    )
    with override_settings(CMETRACK_LA_CODE="202", CMETRACK_LA_NAME="Camden"):
        incoming = services.incoming_enquiry_import(actor=actor, raw=sent.encode())
        assert incoming.from_la == home_la
        assert incoming.address_given == "5 New Street, London NW1 1AA"
        assert incoming.referral.postcode == "NW1 1AA"
        incoming = services.incoming_enquiry_search(actor=actor, enquiry=incoming)
        if incoming.search_results:  # one database plays both authorities: ours is found
            services.incoming_enquiry_choose_match(
                actor=actor, enquiry=incoming, choice=services.NONE_OF_THESE
            )
        services.incoming_enquiry_assess(
            actor=actor, enquiry=incoming, assessed_on=today, risk_level="high",
            assessment="Child protection plan: visit today.",
        )  # fmt: skip
        services.incoming_enquiry_visit_task(
            actor=actor, enquiry=incoming, owner=officer, due=today
        )
        incoming.refresh_from_db()
        services.incoming_enquiry_reply(
            actor=actor, enquiry=incoming, outcome=ReplyOutcome.FOUND_NOT_IN_EDUCATION,
            details="Seen at the address given; applying for a school place.",
        )  # fmt: skip
        incoming.refresh_from_db()
        reply_file = services.incoming_reply_document(actor=actor, enquiry=incoming)
    assert_no_restricted(reply_file)

    services.enquiry_reply_import(actor=actor, enquiry=outgoing, raw=reply_file)
    outgoing.refresh_from_db()
    assert outgoing.status == EnquiryStatus.ANSWERED
    reply = outgoing.replies.get()
    assert (reply.outcome, reply.source) == (ReplyOutcome.FOUND_NOT_IN_EDUCATION, "imported")
