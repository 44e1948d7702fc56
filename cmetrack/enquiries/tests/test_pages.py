"""The enquiry pages: who sees what, the forms and what they write."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.enquiries import services
from cmetrack.enquiries.dataset import MINIMUM_ITEMS, VULNERABILITY_ITEMS
from cmetrack.enquiries.models import EnquiryStatus, OutgoingEnquiry

from .conftest import RESTRICTED_LINE, RESTRICTED_POSTCODE


def login(client, user):
    client.force_login(user)
    return client


def date_fields(prefix: str, day: dt.date) -> dict[str, str]:
    return {
        f"{prefix}-day": str(day.day),
        f"{prefix}-month": str(day.month),
        f"{prefix}-year": str(day.year),
    }


@pytest.fixture
def enquiry(case, other_la, actor):
    return services.enquiry_send(
        actor=actor, case=case, local_authority=other_la, reason_linked="Aunt lives in Camden."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role", [Role.SCHOOL_USER, Role.AGENCY_USER, Role.SLO, Role.VIRTUAL_SCHOOL, Role.ADMISSIONS]
)
def test_school_agency_and_other_roles_cannot_see_enquiries(client, make_user, enquiry, role):
    login(client, make_user(role))
    for name, args in (
        ("enquiries:index", []),
        ("enquiries:outgoing-detail", [enquiry.pk]),
        ("enquiries:outgoing-json", [enquiry.pk]),
        ("enquiries:outgoing-letter", [enquiry.pk]),
        ("enquiries:case", [enquiry.case_id]),
    ):
        assert client.get(reverse(name, args=args)).status_code == 403, name
    assert not AuditEvent.objects.filter(
        action=AuditAction.VIEW, object_type="enquiries.outgoingenquiry"
    ).exists()


@pytest.mark.django_db
def test_auditor_sees_the_register_as_metadata_only(client, make_user, enquiry, actor):
    """Issue 17: the register (reference, authority, status, dates), never the child."""
    auditor = make_user(Role.AUDITOR)
    notice = services.move_notification_send(
        actor=actor, case=enquiry.case, local_authority=enquiry.local_authority
    )
    login(client, auditor)
    child = enquiry.case.child
    register = client.get(reverse("enquiries:index"))
    assert register.status_code == 200
    text = register.content.decode()
    assert enquiry.reference in text
    assert enquiry.local_authority.name in text
    for secret in (child.legal_family_name, child.legal_given_names, child.upn or "UPN-NONE"):
        assert secret not in text
    case, pk = enquiry.case_id, enquiry.pk
    for name, args in (
        ("enquiries:outgoing-detail", [pk]),
        ("enquiries:outgoing-json", [pk]),
        ("enquiries:outgoing-letter", [pk]),
        ("enquiries:outgoing-letter-pdf", [pk]),
        ("enquiries:case", [case]),
        ("enquiries:move-notice-letter", [case, notice.pk]),
        ("enquiries:move-notice-pdf", [case, notice.pk]),
        ("enquiries:move-notice-json", [case, notice.pk]),
    ):
        response = client.get(reverse(name, args=args))
        assert response.status_code in (403, 404), name
        assert child.legal_family_name.encode() not in response.content, name
    for url in ("/api/v1/enquiries", f"/api/v1/enquiries/{pk}", f"/api/v1/enquiries/{pk}/document"):
        response = client.get(url)
        assert response.status_code in (403, 404), url
        assert child.legal_family_name.encode() not in response.content, url
    posted = client.post(
        reverse("enquiries:outgoing-close", args=[enquiry.pk]), {"close-reason": "No"}
    )
    assert posted.status_code == 403
    enquiry.refresh_from_db()
    assert enquiry.status == EnquiryStatus.SENT
    assert not AuditEvent.objects.filter(actor=auditor, child_id=child.pk).exists()


@pytest.mark.django_db
def test_officer_makes_an_enquiry_from_the_case(client, officer, case, other_la):
    login(client, officer)
    url = reverse("enquiries:outgoing-new", args=[case.pk])
    form = client.get(url)
    assert form.status_code == 200
    assert b"restricted address" in form.content
    assert RESTRICTED_LINE.encode() not in form.content
    # The minimum is ticked to start with; no vulnerability is (data minimisation).
    ticked = set(
        re.findall(r'name="share" type="checkbox" value="([a-z_]+)" checked', form.content.decode())
    )
    assert ticked == set(MINIMUM_ITEMS)
    assert not ticked & set(VULNERABILITY_ITEMS)
    response = client.post(
        url,
        {
            "local_authority": str(other_la.pk),
            "reason_linked": "Mother said they were going to Camden.",
            "share": ["name", "dob", "previous_addresses"],
            "possible_new_school": "Camden Primary",
        },
    )
    enquiry = OutgoingEnquiry.objects.get(case=case)
    assert response.status_code == 302
    assert response["Location"] == reverse("enquiries:outgoing-detail", args=[enquiry.pk])
    assert enquiry.shared_items == ["dob", "name", "previous_addresses"]
    assert "possible_new_school" not in enquiry.shared["history"]  # not ticked
    detail = client.get(response["Location"])
    assert b"Enquiry " + enquiry.reference.encode() in detail.content


@pytest.mark.django_db
def test_the_form_shows_why_an_enquiry_was_refused(client, officer, case, other_la):
    login(client, officer)
    response = client.post(
        reverse("enquiries:outgoing-new", args=[case.pk]),
        {
            "local_authority": str(other_la.pk),
            "reason_linked": "",
            "share": ["name"],
            "possible_new_address": f"Flat 1, {RESTRICTED_POSTCODE}",
        },
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "There is a problem" in content
    assert "Give the reason for believing the child is linked to the authority" in content
    assert not OutgoingEnquiry.objects.exists()
    response = client.post(
        reverse("enquiries:outgoing-new", args=[case.pk]),
        {
            "local_authority": str(other_la.pk),
            "reason_linked": "Family moved",
            "share": ["name"],
            "possible_new_address": f"Flat 1, {RESTRICTED_POSTCODE}",
        },
    )
    assert "restricted address" in response.content.decode()
    assert not OutgoingEnquiry.objects.exists()


@pytest.mark.django_db
def test_downloads_never_hold_the_restricted_address_and_are_audited(client, officer, enquiry):
    login(client, officer)
    raw = client.get(reverse("enquiries:outgoing-json", args=[enquiry.pk]))
    assert raw["Content-Type"] == "application/json"
    letter = client.get(reverse("enquiries:outgoing-letter", args=[enquiry.pk]))
    for body in (raw.content, letter.content):
        text = body.decode()
        assert "Amira" in text
        assert RESTRICTED_LINE not in text
        assert RESTRICTED_POSTCODE not in text
    assert json.loads(raw.content)["reference"] == enquiry.reference
    assert (
        AuditEvent.objects.filter(action=AuditAction.EXPORT, child_id=enquiry.case.child_id).count()
        == 2
    )


@pytest.mark.pdf
@pytest.mark.django_db
def test_pdf_download(client, officer, enquiry):
    from .pdftext import text_of

    login(client, officer)
    response = client.get(reverse("enquiries:outgoing-letter-pdf", args=[enquiry.pk]))
    assert response["Content-Type"] == "application/pdf"
    text = text_of(response.content)
    assert "Amira" in text
    assert "Hidden" not in text


@pytest.mark.django_db
def test_acknowledge_chase_reply_and_close_through_the_page(client, officer, enquiry, today):
    login(client, officer)
    base = enquiry.pk
    r = client.post(
        reverse("enquiries:outgoing-acknowledge", args=[base]),
        {"ack-acknowledged_by": "Jo Bloggs", **date_fields("ack-acknowledged_on", today)},
    )
    assert r.status_code == 302
    r = client.post(
        reverse("enquiries:outgoing-chase", args=[base]), date_fields("chase-chased_on", today)
    )
    assert r.status_code == 302
    r = client.post(
        reverse("enquiries:outgoing-reply", args=[base]),
        {
            "reply-outcome": "found_on_roll",
            "reply-responder_name": "Jo Bloggs",
            "reply-school": "Camden Primary",
            **date_fields("reply-received_on", today),
        },
    )
    assert r.status_code == 302
    r = client.post(reverse("enquiries:outgoing-close", args=[base]), {"close-reason": "Found"})
    assert r.status_code == 302
    enquiry.refresh_from_db()
    assert enquiry.status == EnquiryStatus.CLOSED
    assert enquiry.replies.get().school == "Camden Primary"


@pytest.mark.django_db
def test_reply_import_shows_each_problem(client, officer, enquiry, today):
    login(client, officer)
    bad = json.dumps(
        {"document_type": "cme_enquiry_reply", "schema_version": "1.0", "outcome": "maybe"}
    ).encode()
    r = client.post(
        reverse("enquiries:outgoing-reply-import", args=[enquiry.pk]),
        {"import-file": SimpleUploadedFile("reply.json", bad, content_type="application/json")},
    )
    assert r.status_code == 400
    content = r.content.decode()
    assert "enquiry_reference: is missing" in content
    assert "outcome: must be one of" in content
    good = {
        "document_type": "cme_enquiry_reply",
        "schema_version": "1.0",
        "enquiry_reference": enquiry.reference,
        "replied_on": today.isoformat(),
        "responder": {
            "authority_code": "202",
            "authority_name": "Camden",
            "responder_name": "Jo Bloggs",
        },
        "outcome": "not_known",
        "details": "No trace.",
    }
    r = client.post(
        reverse("enquiries:outgoing-reply-import", args=[enquiry.pk]),
        {"import-file": SimpleUploadedFile("reply.json", json.dumps(good).encode())},
    )
    assert r.status_code == 302
    enquiry.refresh_from_db()
    assert enquiry.status == EnquiryStatus.ANSWERED


@pytest.mark.django_db
def test_queues_and_home_page_show_overdue_enquiries(client, officer, case, other_la, actor, today):
    old = services.enquiry_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        reason_linked="Aunt lives in Camden.",
        sent_on=today - dt.timedelta(days=40),
    )
    login(client, officer)
    index = client.get(reverse("enquiries:index")).content.decode()
    assert "Replies overdue" in index
    assert old.reference in index
    home = client.get(reverse("home")).content.decode()
    assert "Enquiries overdue or due today" in home
    assert reverse("enquiries:index") in home  # navigation entry


@pytest.mark.django_db
def test_case_page_lists_enquiries_and_records_departure(client, officer, case, other_la, today):
    login(client, officer)
    url = reverse("enquiries:case", args=[case.pk])
    assert client.get(url).status_code == 200
    r = client.post(
        reverse("enquiries:move-notice", args=[case.pk]),
        {"notice-local_authority": str(other_la.pk), **date_fields("notice-sent_on", today)},
    )
    assert r.status_code == 302
    notice = case.move_notifications.get()
    r = client.post(
        reverse("enquiries:move-notice-acknowledge", args=[case.pk, notice.pk]),
        {
            f"notice-{notice.pk}-acknowledged_by": "Jo Bloggs",
            **date_fields(f"notice-{notice.pk}-acknowledged_on", today),
        },
    )
    assert r.status_code == 302
    notice.refresh_from_db()
    assert notice.acknowledged_by == "Jo Bloggs"
    r = client.post(
        reverse("enquiries:home-office", args=[case.pk]),
        {
            "ho-result": "departure_confirmed",
            **date_fields("ho-requested_on", today),
            **date_fields("ho-result_on", today),
        },
    )
    assert r.status_code == 302
    assert case.home_office_checks.count() == 1


@pytest.mark.django_db
def test_forms_with_a_date_already_filled_in_render(client, officer, make_user, other_la, today):
    login(client, officer)
    page = client.get(reverse("enquiries:incoming-new"))
    assert page.status_code == 200
    assert f'value="{today.year}"' in page.content.decode()
    login(client, make_user(Role.ADMINISTRATOR))
    page = client.get(reverse("enquiries:authority-edit", args=["202"]))
    assert page.status_code == 200
    assert "Contact at Camden" in page.content.decode()


@pytest.mark.django_db
def test_logging_an_incoming_enquiry_through_the_page(client, officer, other_la, today):
    login(client, officer)
    r = client.post(
        reverse("enquiries:incoming-new"),
        {
            "from_la": str(other_la.pk),
            **date_fields("received_on", today),
            "given_names": "Jayden",
            "family_name": "Example",
            "sex": "M",
            "reason_linked": "Told a health visitor they were moving here.",
            "address_given": "12 Example Row",
        },
    )
    assert r.status_code == 302, r.content.decode()[:2000]
    detail = client.get(r["Location"]).content.decode()
    assert "Search every register" in detail
    assert "Record the vulnerability assessment first" in detail


@pytest.mark.django_db
def test_asking_several_authorities_on_one_form_needs_a_reason_each(
    client, officer, case, other_la, third_la
):
    login(client, officer)
    url = reverse("enquiries:outgoing-new", args=[case.pk])
    same = "The family might be somewhere in London."
    r = client.post(
        url,
        {
            "local_authority": str(other_la.pk),
            "reason_linked": same,
            "local_authority_2": str(third_la.pk),
            "reason_linked_2": same,
            "share": ["name"],
        },
    )
    content = r.content.decode()
    assert "A blanket enquiry to several authorities is not allowed" in content
    assert "Greenwich has the same reason as Camden" in content
    assert not OutgoingEnquiry.objects.exists()
    r = client.post(
        url,
        {
            "local_authority": str(other_la.pk),
            "reason_linked": "Aunt lives in Camden.",
            "local_authority_2": str(third_la.pk),
            "reason_linked_2": "Father works in Greenwich.",
            "share": ["name"],
        },
    )
    assert r.status_code == 302
    assert r["Location"] == reverse("enquiries:case", args=[case.pk])
    assert sorted(OutgoingEnquiry.objects.values_list("local_authority__code", flat=True)) == [
        "202",
        "203",
    ]
