"""The incoming-enquiry API: create from the JSON file, list and get (scoped), search,
decide who the child is, assess, visit and reply, our reply as a file."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.enquiries.dataset import EnquiryDetails, RestrictedMarkers, build_document, sender_for
from cmetrack.enquiries.documents import Recipient, dump
from cmetrack.enquiries.models import IncomingEnquiry
from cmetrack.kit.testing import assert_problem, errors_by_field
from cmetrack.matching.services import clear_indexes

from .conftest import RESTRICTED_LINE, RESTRICTED_POSTCODE

BASE = "/api/v1/enquiries/incoming"


@pytest.fixture(autouse=True)
def fresh_indexes():
    clear_indexes()
    yield
    clear_indexes()


@pytest.fixture
def their_file(case: Any, other_la: Any, home_la: Any, today: dt.date) -> str:
    """Camden's enquiry to us (999) about the child of ``case``, as their system made it."""
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
    return dump(doc)


def post(client, url, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post(url, data, content_type="application/json")


@pytest.mark.django_db
def test_create_list_get_search_match_assess_visit_reply(client, officer, case, their_file, today):
    client.force_login(officer)
    r = post(client, BASE, their_file)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["from_authority_code"] == "202"
    assert body["their_reference"] == "E-CAMDEN01"
    assert body["address_given"] == "3 Example Road, EX2 3CD"
    assert body["case_reference"] is None
    eid = body["id"]

    listed = client.get(BASE).json()
    assert [e["id"] for e in listed["items"]] == [eid]
    assert client.get(BASE, {"answered": "true"}).json()["items"] == []
    got = client.get(f"{BASE}/{eid}")
    assert got.status_code == 200
    assert AuditEvent.objects.filter(
        action="view", object_type="enquiries.incomingenquiry", object_id=str(eid)
    ).exists()

    # The reply waits for the search, then for the decision about who the child is.
    early = post(client, f"{BASE}/{eid}/reply", {"outcome": "not_known"})
    assert_problem(early, 422, "invalid")
    assert "Search the registers before replying" in early.content.decode()
    searched = post(client, f"{BASE}/{eid}/search", {})
    assert searched.status_code == 200, searched.content
    matches = searched.json()["search_results"]
    ours = next(m for m in matches if m["key"] == f"children:{case.child_id}")
    undecided = post(client, f"{BASE}/{eid}/reply", {"outcome": "not_known"})
    assert_problem(undecided, 422, "invalid")
    assert "choose which one is the child" in undecided.content.decode()
    bad = post(client, f"{BASE}/{eid}/match", {"choice": "roll:123456"})
    assert_problem(bad, 422, "invalid")
    matched = post(client, f"{BASE}/{eid}/match", {"choice": ours["key"]})
    assert matched.status_code == 200, matched.content
    assert matched.json()["child_id"] == case.child_id
    assert ours["found_in"] == "Child with a case"

    assessed = post(
        client,
        f"{BASE}/{eid}/assessment",
        {"assessed_on": today.isoformat(), "risk_level": "high", "assessment": "CP plan."},
    )
    assert assessed.status_code == 200, assessed.content
    visit = post(client, f"{BASE}/{eid}/visit", {"owner_id": officer.pk, "due": today.isoformat()})
    assert visit.status_code == 201, visit.content
    assert visit.json()["case_reference"] == case.reference  # joined the open case

    restricted = post(
        client,
        f"{BASE}/{eid}/reply",
        {"outcome": "found_not_in_education", "address": RESTRICTED_POSTCODE},
    )
    assert "address" in errors_by_field(assert_problem(restricted, 422, "invalid"))
    replied = post(
        client, f"{BASE}/{eid}/reply", {"outcome": "found_not_in_education", "details": "Seen."}
    )
    assert replied.status_code == 201, replied.content
    assert replied.json()["replied_on"] == today.isoformat()
    doc = client.get(f"{BASE}/{eid}/reply-document")
    assert doc.status_code == 200
    assert doc.json()["enquiry_reference"] == "E-CAMDEN01"
    assert RESTRICTED_LINE not in doc.content.decode()
    assert RESTRICTED_POSTCODE not in doc.content.decode()
    again = post(client, f"{BASE}/{eid}/reply", {"outcome": "not_known"})
    assert_problem(again, 422, "invalid")


@pytest.mark.django_db
def test_a_wrong_file_lists_every_problem_and_writes_nothing(client, officer, their_file):
    client.force_login(officer)
    wrong = json.loads(their_file)
    wrong["colour"] = "blue"
    r = post(client, BASE, wrong)
    assert any("colour" in m for m in errors_by_field(assert_problem(r, 422))["file"])
    elsewhere = json.loads(their_file)
    elsewhere["recipient"]["authority_code"] = "203"
    r = post(client, BASE, elsewhere)
    assert any("not to us" in m for m in errors_by_field(assert_problem(r, 422))["file"])
    assert IncomingEnquiry.objects.count() == 0
    # The body is the file: a file that is not JSON is a problem of the file (422).
    assert "file" in errors_by_field(assert_problem(post(client, BASE, "not json"), 422))


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.SCHOOL_USER, Role.ADMINISTRATOR, Role.SLO, Role.AUDITOR])
def test_who_may_not_create_or_reply(client, make_user, officer, their_file, role):
    client.force_login(officer)
    eid = post(client, BASE, their_file).json()["id"]
    client.force_login(make_user(role))
    assert_problem(post(client, BASE, their_file), 403, "forbidden")
    assert post(client, f"{BASE}/{eid}/reply", {"outcome": "not_known"}).status_code == 403
    # Nobody but the CME team reads an enquiry (auditors: the register page's metadata).
    assert client.get(BASE).status_code == 403
    assert client.get(f"{BASE}/{eid}").status_code == 403
    assert IncomingEnquiry.objects.count() == 1
