"""The notice to the authority a child moved to: a letter for secure email (HTML, PDF) and
a JSON file, made from the notice as stored, never holding a restricted address, each
download audited as an export."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.enquiries import services
from cmetrack.enquiries.documents import MoveNoticeDocument, json_schema
from cmetrack.enquiries.models import MoveNotification

from .conftest import PREVIOUS_LINE, RESTRICTED_LINE, RESTRICTED_POSTCODE
from .test_outgoing import assert_no_restricted, squash


@pytest.fixture
def notice(actor: Any, case: Any, other_la: Any, today: dt.date) -> MoveNotification:
    return services.move_notification_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        sent_on=today,
        details="Mother confirmed by phone they now live with her sister in Camden.",
    )


def exports(notice):
    return AuditEvent.objects.filter(
        action=AuditAction.EXPORT,
        object_type="enquiries.movenotification",
        object_id=str(notice.pk),
        child_id=notice.case.child_id,
    )


@pytest.mark.django_db
def test_the_notice_is_stored_as_sent_and_holds_no_restricted_address(notice, case, other_la):
    doc = MoveNoticeDocument.model_validate(notice.document)
    assert doc.document_type == "cme_move_notice"
    assert doc.reference == f"{case.reference}-N1"
    assert doc.recipient.contact_email == other_la.cme_contact_email
    assert doc.recipient.authority_code == "202"
    assert doc.sender.case_reference == case.reference
    assert doc.child.legal_name is not None
    assert doc.child.legal_name.given_names == "Amira"
    assert doc.history.previous_addresses == [f"{PREVIOUS_LINE}, Exampleton, EX1 2AB"]
    assert doc.vulnerability.child_protection is True
    assert "sister in Camden" in doc.details
    assert_no_restricted(json.dumps(notice.document))


@pytest.mark.django_db
def test_a_notice_naming_the_restricted_address_is_refused(actor, case, other_la):
    with pytest.raises(ValidationError) as exc:
        services.move_notification_send(
            actor=actor,
            case=case,
            local_authority=other_la,
            details=f"They are at {RESTRICTED_POSTCODE.lower()}",
        )
    assert "details" in exc.value.message_dict
    assert not MoveNotification.objects.exists()


@pytest.mark.django_db
def test_the_json_file_and_the_html_letter_are_downloads_audited_as_exports(
    client, officer, notice, case
):
    client.force_login(officer)
    page = client.get(reverse("enquiries:case", args=[case.pk])).content.decode()
    json_url = reverse("enquiries:move-notice-json", args=[case.pk, notice.pk])
    letter_url = reverse("enquiries:move-notice-letter", args=[case.pk, notice.pk])
    assert json_url in page
    assert letter_url in page
    assert reverse("enquiries:move-notice-pdf", args=[case.pk, notice.pk]) in page

    response = client.get(json_url)
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = response.content.decode()
    data = json.loads(body)
    assert data["document_type"] == "cme_move_notice"
    assert data["child"]["legal_name"]["family_name"] == "Testchild"
    assert_no_restricted(body)
    assert squash(RESTRICTED_LINE).encode() not in squash(body).encode()

    letter = client.get(letter_url)
    assert letter.status_code == 200
    html = letter.content.decode()
    assert "has moved to your area" in html
    assert "Amira" in html
    assert notice.contact_name in html
    assert_no_restricted(html)
    assert exports(notice).count() == 2


@pytest.mark.django_db
def test_a_restricted_address_recorded_after_the_notice_stops_the_download(
    client, officer, notice, case
):
    """The stored notice is checked again against today's restricted addresses."""
    from cmetrack.people.models import Address

    Address.objects.filter(child=case.child, line1=PREVIOUS_LINE).update(is_restricted=True)
    client.force_login(officer)
    response = client.get(reverse("enquiries:move-notice-json", args=[case.pk, notice.pk]))
    assert response.status_code == 403
    assert PREVIOUS_LINE not in response.content.decode()
    assert not exports(notice).exists()


@pytest.mark.django_db
def test_the_notice_is_seen_only_through_its_case(client, make_user, notice, case, actor):
    from cmetrack.cases.lifecycle import CaseState
    from cmetrack.cases.tests.factories import case_in_state

    other_case = case_in_state(CaseState.TRACKING)
    client.force_login(actor.user)
    wrong = reverse("enquiries:move-notice-json", args=[other_case.pk, notice.pk])
    assert client.get(wrong).status_code == 404
    for role in (Role.SCHOOL_USER, Role.ADMINISTRATOR, Role.SLO):
        client.force_login(make_user(role))
        url = reverse("enquiries:move-notice-letter", args=[case.pk, notice.pk])
        assert client.get(url).status_code in (403, 404)
    client.force_login(make_user(Role.AUDITOR))  # the notice names the child (issue 17)
    assert client.get(
        reverse("enquiries:move-notice-json", args=[case.pk, notice.pk])
    ).status_code in (403, 404)


def test_the_published_schema_describes_the_notice():
    text = json.dumps(json_schema())
    assert "cme_move_notice" in text


@pytest.mark.pdf
@pytest.mark.django_db
def test_the_pdf_notice_holds_the_child_but_not_the_restricted_address(
    client, officer, notice, case
):
    from cmetrack.enquiries.letter import move_notice_pdf

    from .pdftext import text_of

    pdf = move_notice_pdf(notice)
    assert pdf.startswith(b"%PDF")
    text = text_of(pdf)
    for expected in (notice.reference, "Amira", "Testchild", PREVIOUS_LINE, "sister in Camden"):
        assert squash(expected) in squash(text), expected
    assert_no_restricted(text)
    assert squash(RESTRICTED_LINE).encode() not in pdf.lower()
    assert RESTRICTED_POSTCODE.encode() not in pdf

    client.force_login(officer)
    response = client.get(reverse("enquiries:move-notice-pdf", args=[case.pk, notice.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert_no_restricted(text_of(response.content))
    assert exports(notice).count() == 1
