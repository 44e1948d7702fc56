"""Outgoing enquiries: one authority each, what leaves the system, deadlines, statuses."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.enquiries import services
from cmetrack.enquiries.dataset import ALL_ITEMS, EnquiryDetails
from cmetrack.enquiries.documents import parse_enquiry
from cmetrack.enquiries.letter import letter_html
from cmetrack.enquiries.models import EnquiryStatus, EnquiryStatusChange, ReplyOutcome
from cmetrack.enquiries.services import EnquiryRequest

from .conftest import PREVIOUS_LINE, RESTRICTED_LINE, RESTRICTED_POSTCODE, make_authority

St = EnquiryStatus


def squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def assert_no_restricted(text: str) -> None:
    for secret in (RESTRICTED_LINE, RESTRICTED_POSTCODE, "Hidden Refuge", "07700 900123"):
        assert squash(secret) not in squash(text), secret


@pytest.mark.django_db
def test_enquiry_is_prefilled_from_the_case_and_never_holds_the_restricted_address(
    case, other_la, actor
):
    enquiry = services.enquiry_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        reason_linked="Mother told the school they were moving to Camden.",
        details=EnquiryDetails(
            possible_new_school="Camden Primary", reason_for_leaving="Family moved"
        ),
    )
    shared = enquiry.shared
    assert shared["child"]["legal_name"]["given_names"] == "Amira"
    assert shared["child"]["aliases"] == ["Known as: Mira"]
    assert shared["family"]["parents_carers"] == [
        {"name": "Sara Testchild", "relationship": "Mother", "parental_responsibility": True}
    ]
    assert shared["history"]["previous_addresses"] == [f"{PREVIOUS_LINE}, Exampleton, EX1 2AB"]
    assert shared["vulnerability"]["child_protection"] is True
    assert shared["vulnerability"]["private_fostering"] is True
    assert shared["vulnerability"]["sen_status"] == "SEN support"
    assert shared["recipient"]["contact_email"] == "cme@202.gov.uk"
    json_text = services.enquiry_export(actor=actor, enquiry=enquiry, kind="JSON file")
    assert_no_restricted(json_text)
    assert_no_restricted(letter_html(enquiry))
    assert parse_enquiry(json_text).reference == enquiry.reference  # valid against the schema


@pytest.mark.django_db
def test_only_the_items_the_officer_chose_are_shared(case, other_la, actor):
    enquiry = services.enquiry_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        reason_linked="Seen in Camden by a health visitor.",
        details=EnquiryDetails(share=frozenset({"name", "dob"})),
    )
    doc = json.loads(services.enquiry_export(actor=actor, enquiry=enquiry, kind="JSON file"))
    assert set(doc["child"]) == {"legal_name", "aliases", "date_of_birth"}
    assert doc["family"] == {}
    assert doc["history"] == {}
    assert doc["vulnerability"] == {}
    assert "Sara" not in json.dumps(doc)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field", ["possible_new_address", "other_vulnerability", "reason_for_leaving"]
)
@pytest.mark.parametrize("secret", [RESTRICTED_LINE.upper(), "zz99zz", f"near {RESTRICTED_LINE}"])
def test_typed_text_holding_the_restricted_address_is_refused(case, other_la, actor, field, secret):
    with pytest.raises(ValidationError) as exc:
        services.enquiry_send(
            actor=actor,
            case=case,
            local_authority=other_la,
            reason_linked="Family moved",
            details=EnquiryDetails(**{field: secret}),
        )
    assert "restricted address" in exc.value.message_dict[field][0]
    assert not case.outgoing_enquiries.exists()


@pytest.mark.django_db
def test_the_reason_itself_may_not_hold_the_restricted_address(case, other_la, actor):
    with pytest.raises(ValidationError) as exc:
        services.enquiry_send(
            actor=actor,
            case=case,
            local_authority=other_la,
            reason_linked=f"Mother said they are at {RESTRICTED_POSTCODE}",
        )
    assert "reason_linked" in exc.value.message_dict


@pytest.mark.django_db
def test_a_previous_address_sharing_the_restricted_postcode_is_left_out(case, other_la, actor):
    from cmetrack.people.models import Address

    Address.objects.create(
        child=case.child,
        line1="1 Next Door Road",
        postcode=RESTRICTED_POSTCODE,
        date_from=dt.date(2019, 1, 1),
        date_to=dt.date(2019, 12, 31),
    )
    enquiry = services.enquiry_send(
        actor=actor, case=case, local_authority=other_la, reason_linked="Family moved"
    )
    assert enquiry.shared["history"]["previous_addresses"] == [
        f"{PREVIOUS_LINE}, Exampleton, EX1 2AB"
    ]


@pytest.mark.django_db
def test_reason_is_required_and_the_authority_needs_a_named_contact(case, actor):
    no_contact = make_authority("204", "Hackney", cme_contact_name="", cme_contact_email="")
    with pytest.raises(ValidationError) as exc:
        services.enquiry_send(actor=actor, case=case, local_authority=no_contact, reason_linked=" ")
    errors = exc.value.message_dict
    assert errors["reason_linked"] == [
        "Give the reason for believing the child is linked to Hackney"
    ]
    assert "no named CME contact" in errors["local_authority"][0]


@pytest.mark.django_db
def test_our_own_authority_cannot_be_asked(case, home_la, actor):
    make_authority(home_la.code, home_la.name)
    with pytest.raises(ValidationError) as exc:
        services.enquiry_send(
            actor=actor, case=case, local_authority=home_la, reason_linked="Because"
        )
    assert "our own authority" in exc.value.message_dict["local_authority"][0]


# --- blanket enquiries ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_batch_without_distinct_reasons_is_refused_and_nothing_is_sent(
    case, other_la, third_la, actor
):
    with pytest.raises(ValidationError) as exc:
        services.enquiries_send_batch(
            actor=actor,
            case=case,
            requests=[
                EnquiryRequest(other_la, "Family may have moved to London."),
                EnquiryRequest(third_la, "Family may have moved to  london"),
            ],
        )
    messages = exc.value.message_dict["requests"]
    assert messages[0] == services.BLANKET_REFUSAL
    assert "Greenwich has the same reason as Camden" in messages[1]
    assert not case.outgoing_enquiries.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("reasons", "expected"),
    [
        (["Aunt lives in Camden", ""], "Give the reason for believing the child is linked to"),
        (["Aunt lives in Camden", "Aunt lives in Camden"], "has the same reason as"),
    ],
)
def test_each_authority_of_a_batch_needs_its_own_reason(
    case, other_la, third_la, actor, reasons, expected
):
    with pytest.raises(ValidationError) as exc:
        services.enquiries_send_batch(
            actor=actor,
            case=case,
            requests=[
                EnquiryRequest(la, r) for la, r in zip([other_la, third_la], reasons, strict=True)
            ],
        )
    assert any(expected in m for m in exc.value.message_dict["requests"])


@pytest.mark.django_db
def test_the_same_authority_twice_is_refused(case, other_la, actor):
    with pytest.raises(ValidationError) as exc:
        services.enquiries_send_batch(
            actor=actor,
            case=case,
            requests=[EnquiryRequest(other_la, "Aunt"), EnquiryRequest(other_la, "Uncle")],
        )
    assert "Camden is listed more than once" in " ".join(exc.value.message_dict["requests"])


@pytest.mark.django_db
def test_a_batch_with_distinct_reasons_sends_one_enquiry_per_authority(
    case, other_la, third_la, actor
):
    sent = services.enquiries_send_batch(
        actor=actor,
        case=case,
        requests=[
            EnquiryRequest(other_la, "Aunt lives in Camden."),
            EnquiryRequest(third_la, "Father works in Greenwich."),
        ],
    )
    assert [e.local_authority for e in sent] == [other_la, third_la]
    assert [e.reason_linked for e in sent] == [
        "Aunt lives in Camden.",
        "Father works in Greenwich.",
    ]
    assert sent[0].batch == sent[1].batch is not None
    assert sent[0].shared["recipient"]["authority_code"] == "202"
    assert sent[1].shared["recipient"]["authority_code"] == "203"


# --- deadlines ----------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sent_on", "due"),
    [
        (dt.date(2026, 11, 2), dt.date(2026, 11, 16)),  # Monday: two weeks later
        (dt.date(2026, 11, 6), dt.date(2026, 11, 20)),  # Friday: weekends skipped
        (dt.date(2026, 11, 7), dt.date(2026, 11, 20)),  # Saturday: counts from Monday
        (dt.date(2026, 12, 18), dt.date(2027, 1, 6)),  # Christmas, Boxing Day (Mon 28), New Year
        (dt.date(2026, 3, 27), dt.date(2026, 4, 14)),  # Good Friday and Easter Monday
        (dt.date(2026, 5, 22), dt.date(2026, 6, 8)),  # spring bank holiday (25 May)
    ],
)
def test_reply_is_due_ten_working_days_later(sent_on, due):
    assert services.reply_due_date(sent_on) == due


@pytest.mark.django_db
@override_settings(CMETRACK_ENQUIRY_REPLY_WORKING_DAYS=3)
def test_the_number_of_working_days_is_a_setting():
    assert services.reply_due_date(dt.date(2026, 8, 27)) == dt.date(2026, 9, 2)  # 31 Aug holiday


@pytest.mark.django_db
def test_a_bank_holiday_recorded_as_an_la_closure_also_counts():
    from cmetrack.schoolcalendar.models import ClosureDay

    ClosureDay.objects.create(date=dt.date(2026, 11, 10), reason="Extra bank holiday")
    assert services.reply_due_date(dt.date(2026, 11, 2)) == dt.date(2026, 11, 17)


# --- statuses -----------------------------------------------------------------------------


@pytest.fixture
def enquiry(case, other_la, actor):
    return services.enquiry_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        reason_linked="Aunt lives in Camden.",
        sent_on=timezone.localdate() - dt.timedelta(days=30),
    )


@pytest.mark.django_db
def test_status_moves_sent_acknowledged_chased_answered_closed(enquiry, actor):
    today = timezone.localdate()
    enquiry = services.enquiry_acknowledge(
        actor=actor, enquiry=enquiry, acknowledged_on=today, acknowledged_by="J Smith"
    )
    assert enquiry.status == St.ACKNOWLEDGED
    enquiry = services.enquiry_chase(actor=actor, enquiry=enquiry, note="Phoned")
    assert (enquiry.status, enquiry.times_chased, enquiry.chased_on) == (St.CHASED, 1, today)
    assert enquiry.remind_on == services.due_after(today, 5)
    services.enquiry_reply_record(
        actor=actor,
        enquiry=enquiry,
        received_on=today,
        outcome=ReplyOutcome.NOT_KNOWN,
        responder_name="J Smith",
    )
    enquiry.refresh_from_db()
    assert (enquiry.status, enquiry.answered_on) == (St.ANSWERED, today)
    enquiry = services.enquiry_close(actor=actor, enquiry=enquiry, reason="Not known there")
    assert enquiry.status == St.CLOSED
    history = list(
        EnquiryStatusChange.objects.filter(enquiry=enquiry).values_list("from_status", "to_status")
    )
    assert history == [
        ("", St.SENT),
        (St.SENT, St.ACKNOWLEDGED),
        (St.ACKNOWLEDGED, St.CHASED),
        (St.CHASED, St.ANSWERED),
        (St.ANSWERED, St.CLOSED),
    ]
    chronology = list(enquiry.case.chronology.values_list("summary", flat=True))
    assert any("acknowledged by J Smith" in s for s in chronology)


@pytest.mark.django_db
def test_moves_the_table_does_not_allow_are_refused(enquiry, actor):
    today = timezone.localdate()
    enquiry = services.enquiry_close(actor=actor, enquiry=enquiry, reason="Found elsewhere")
    for call in (
        lambda: services.enquiry_chase(actor=actor, enquiry=enquiry),
        lambda: services.enquiry_acknowledge(
            actor=actor, enquiry=enquiry, acknowledged_on=today, acknowledged_by="X"
        ),
        lambda: services.enquiry_reply_record(
            actor=actor, enquiry=enquiry, received_on=today, outcome="not_known",
            responder_name="X",
        ),
    ):  # fmt: skip
        with pytest.raises(services.EnquiryNotAllowed, match="is closed"):
            call()


@pytest.mark.django_db
def test_overdue_enquiries_show_in_the_reminders_queue_until_chased(enquiry, actor, officer):
    from cmetrack.enquiries.selectors import reply_overdue

    assert list(reply_overdue(officer)) == [enquiry]
    services.enquiry_chase(actor=actor, enquiry=enquiry)
    assert list(reply_overdue(officer)) == []
    later = services.due_after(timezone.localdate(), 5) + dt.timedelta(days=1)
    assert list(reply_overdue(officer, today=later)) == [enquiry]


@pytest.mark.django_db
def test_only_cme_officers_and_managers_send(case, other_la, make_user):
    for role in (Role.SCHOOL_USER, Role.AGENCY_USER, Role.AUDITOR, Role.SLO):
        with pytest.raises(PermissionDenied):
            services.enquiry_send(
                actor=Actor(user=make_user(role)),
                case=case,
                local_authority=other_la,
                reason_linked="Because",
            )


@pytest.mark.django_db
def test_sending_and_exporting_are_audited_with_the_child(enquiry, actor):
    services.enquiry_export(actor=actor, enquiry=enquiry, kind="letter")
    events = AuditEvent.objects.filter(
        child_id=enquiry.case.child_id, object_type="enquiries.outgoingenquiry"
    )
    assert {e.action for e in events} >= {AuditAction.CREATE, AuditAction.EXPORT}


def test_every_item_has_a_label():
    assert all(ALL_ITEMS.values())


# --- the letter as PDF ----------------------------------------------------------------------


@pytest.mark.pdf
@pytest.mark.django_db
def test_the_pdf_letter_holds_the_enquiry_but_not_the_restricted_address(case, other_la, actor):
    from cmetrack.enquiries.letter import letter_pdf

    from .pdftext import text_of

    enquiry = services.enquiry_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        reason_linked="Mother told the school they were moving to Camden.",
        details=EnquiryDetails(share=frozenset(ALL_ITEMS), possible_new_school="Camden Primary"),
    )
    pdf = letter_pdf(enquiry)
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for expected in (
        enquiry.reference,
        "Amira",
        "Camden Primary",
        PREVIOUS_LINE,
        "moving to Camden",
    ):
        assert squash(expected) in squash(text), expected
    assert_no_restricted(text)
    assert squash(RESTRICTED_LINE).encode() not in pdf.lower()


@pytest.mark.django_db
def test_the_last_known_address_is_shared_when_it_is_not_restricted(case, other_la, actor):
    from cmetrack.people.models import Address

    Address.objects.filter(child=case.child, is_restricted=True).update(is_restricted=False)
    enquiry = services.enquiry_send(
        actor=actor, case=case, local_authority=other_la, reason_linked="Family moved"
    )
    assert enquiry.shared["history"]["previous_addresses"] == [
        f"{RESTRICTED_LINE}, Safeton, {RESTRICTED_POSTCODE}",  # no longer restricted
        f"{PREVIOUS_LINE}, Exampleton, EX1 2AB",
    ]


@pytest.mark.django_db
def test_record_text_holding_the_restricted_address_is_left_out(case, other_la, actor):
    from cmetrack.audit.services import audited_update

    audited_update(
        actor=actor,
        instance=case,
        changes={"last_education_place": f"Refuge school near {RESTRICTED_POSTCODE}"},
        child_id=case.child_id,
    )
    enquiry = services.enquiry_send(
        actor=actor, case=case, local_authority=other_la, reason_linked="Family moved"
    )
    assert "previous_school" not in enquiry.shared["history"]
    assert_no_restricted(services.enquiry_export(actor=actor, enquiry=enquiry, kind="JSON"))
