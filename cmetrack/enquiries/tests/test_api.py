"""The enquiries API: list, create (one authority; blanket batches refused), get, reply."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.enquiries.models import EnquiryStatus, OutgoingEnquiry
from cmetrack.kit.testing import assert_problem, errors_by_field

from .conftest import RESTRICTED_LINE, RESTRICTED_POSTCODE

BASE = "/api/v1/enquiries"


@pytest.fixture
def api(client, officer):
    client.force_login(officer)
    return client


def post(client, url, body):
    return client.post(url, json.dumps(body), content_type="application/json")


@pytest.mark.django_db
def test_create_get_list_and_reply(api, case, other_la, today):
    r = post(
        api,
        BASE,
        {"case_id": case.pk, "authority_code": "202", "reason_linked": "Aunt lives in Camden."},
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "sent"
    assert body["authority_code"] == "202"
    assert RESTRICTED_LINE not in r.content.decode()
    assert RESTRICTED_POSTCODE not in r.content.decode()
    enquiry_id = body["id"]

    listed = api.get(BASE).json()
    assert [e["id"] for e in listed["items"]] == [enquiry_id]
    doc = api.get(f"{BASE}/{enquiry_id}/document")
    assert doc.json()["reason_linked"] == "Aunt lives in Camden."
    assert RESTRICTED_POSTCODE not in doc.content.decode()

    r = post(
        api,
        f"{BASE}/{enquiry_id}/reply",
        {"received_on": today.isoformat(), "outcome": "not_known", "responder_name": "Jo"},
    )
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "answered"
    assert r.json()["replies"][0]["outcome"] == "not_known"


@pytest.mark.django_db
def test_an_enquiry_shares_the_minimum_unless_items_are_named(api, case, other_la):
    """As on the form: what another authority needs to find the child, and no more, unless
    the officer names more (data minimisation)."""
    r = post(api, BASE, {"case_id": case.pk, "authority_code": "202", "reason_linked": "Aunt."})
    assert r.status_code == 201, r.content
    doc = api.get(f"{BASE}/{r.json()['id']}/document").json()
    assert doc["child"]["date_of_birth"]
    # (what is not shared is left out of the document altogether)
    assert "looked_after" not in doc.get("vulnerability", {})
    assert "child_protection" not in doc.get("vulnerability", {})
    assert "ethnicity" not in doc["child"]

    r = post(
        api,
        BASE,
        {
            "case_id": case.pk,
            "authority_code": "202",
            "reason_linked": "Aunt.",
            "share": ["name", "dob", "care_and_protection"],
        },
    )
    assert r.status_code == 201, r.content
    doc = api.get(f"{BASE}/{r.json()['id']}/document").json()
    assert "looked_after" in doc["vulnerability"]
    assert "upn" not in doc["child"]


@pytest.mark.django_db
def test_blanket_batch_is_refused_with_the_reason(api, case, other_la, third_la):
    r = post(
        api,
        f"{BASE}/batch",
        {
            "case_id": case.pk,
            "requests": [
                {"authority_code": "202", "reason_linked": "Might be in London"},
                {"authority_code": "203", "reason_linked": "Might be in London"},
            ],
        },
    )
    messages = errors_by_field(assert_problem(r, 422, "invalid"))["requests"]
    assert "blanket enquiry" in messages[0]
    assert not OutgoingEnquiry.objects.exists()
    r = post(
        api,
        f"{BASE}/batch",
        {
            "case_id": case.pk,
            "requests": [
                {"authority_code": "202", "reason_linked": "Aunt in Camden"},
                {"authority_code": "203", "reason_linked": "Father works in Greenwich"},
            ],
        },
    )
    assert r.status_code == 201
    assert [e["authority_code"] for e in r.json()] == ["202", "203"]


@pytest.mark.django_db
def test_validation_errors_name_the_field(api, case, other_la):
    r = post(api, BASE, {"case_id": case.pk, "authority_code": "202", "reason_linked": ""})
    assert "reason_linked" in errors_by_field(assert_problem(r, 422, "invalid"))
    r = post(api, BASE, {"case_id": case.pk, "authority_code": "000", "reason_linked": "x"})
    assert errors_by_field(assert_problem(r, 422))["authority_code"] == [
        "000 is not the code of an authority"
    ]


@pytest.mark.django_db
def test_reply_import_through_the_api(api, case, other_la, actor, today):
    from cmetrack.enquiries import services

    enquiry = services.enquiry_send(
        actor=actor, case=case, local_authority=other_la, reason_linked="Aunt"
    )
    reply: dict[str, Any] = {
        "document_type": "cme_enquiry_reply",
        "schema_version": "1.0",
        "enquiry_reference": enquiry.reference,
        "replied_on": today.isoformat(),
        "responder": {
            "authority_code": "203",
            "authority_name": "Greenwich",
            "responder_name": "X",
        },
        "outcome": "found_on_roll",
        "colour": "blue",
    }
    r = post(api, f"{BASE}/{enquiry.pk}/reply/import", reply)
    assert errors_by_field(assert_problem(r, 422, "invalid"))["file"] == [
        "colour: is not a field of the schema"
    ]
    del reply["colour"]
    r = post(api, f"{BASE}/{enquiry.pk}/reply/import", reply)
    assert "the enquiry went to Camden (202)" in errors_by_field(assert_problem(r, 422))["file"][0]
    reply["responder"]["authority_code"] = "202"
    r = post(api, f"{BASE}/{enquiry.pk}/reply/import", reply)
    assert r.status_code == 201
    assert r.json()["status"] == EnquiryStatus.ANSWERED


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.AGENCY_USER, Role.SLO])
def test_other_roles_get_403(client, make_user, case, other_la, role):
    client.force_login(make_user(role))
    assert_problem(client.get(BASE), 403, "forbidden")
    r = post(client, BASE, {"case_id": case.pk, "authority_code": "202", "reason_linked": "x"})
    assert r.status_code == 403


@pytest.mark.django_db
def test_auditor_reads_but_cannot_write(client, make_user, case, other_la, actor, today):
    from cmetrack.enquiries import services

    enquiry = services.enquiry_send(
        actor=actor,
        case=case,
        local_authority=other_la,
        reason_linked="Aunt",
        sent_on=today - dt.timedelta(days=30),
    )
    client.force_login(make_user(Role.AUDITOR))
    # Issue 17: an enquiry names the child; auditors see the register page's metadata only.
    assert client.get(f"{BASE}/{enquiry.pk}").status_code == 403
    assert client.get(f"{BASE}?overdue=true").status_code == 403
    r = post(client, f"{BASE}/{enquiry.pk}/close", {"reason": "x"})
    assert r.status_code == 403


@pytest.mark.django_db
def test_directory_api(client, make_user, other_la):
    client.force_login(make_user(Role.SLO))
    body = client.get("/api/v1/local-authorities?q=camden").json()
    assert body["items"][0]["id"] == other_la.pk
    assert body["items"][0]["cme_contact_email"] == "cme@202.gov.uk"
    assert body["items"][0]["contact_stale"] is False
    client.force_login(make_user(Role.SCHOOL_USER))
    assert_problem(client.get("/api/v1/local-authorities"), 403, "forbidden")
