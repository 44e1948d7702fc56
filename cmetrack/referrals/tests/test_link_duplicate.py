"""Issue 19 item 6: at triage, a possible duplicate is linked to the existing child in one
step, on the page and over the API; the possible duplicates say how sure the engine is."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.people.models import Child
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.models import Referral, ReferralStatus, TriageOutcome
from cmetrack.referrals.services import referral_link_to_child, referral_record

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")


def make_referral(**kw: Any) -> Referral:
    fields: dict[str, Any] = {
        "given_names": "Matt",
        "family_name": "Morris",
        "dob": dt.date(2016, 1, 23),
        "reason": "Not seen at school",
        "postcode": "EX1 4QT",
    }
    fields.update(kw)
    return referral_record(actor=SYSTEM, route=ReferralRoute.AGENCY, **fields)


def mathew() -> Child:
    return ChildFactory.create(
        legal_given_names="Mathew", legal_family_name="Morris", dob=dt.date(2016, 1, 23)
    )


def test_a_child_with_an_open_case_gets_the_referral_on_that_case(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    child = mathew()
    case = case_open(
        actor=SYSTEM, child=child, route=ReferralRoute.AGENCY, date_referred=dt.date(2026, 10, 1)
    )
    referral = make_referral()
    referral_link_to_child(actor=Actor(user=officer), referral=referral, child=child)
    referral.refresh_from_db()
    assert (referral.child, referral.case, referral.status) == (child, case, ReferralStatus.LINKED)
    assert referral.triage_outcome == TriageOutcome.DUPLICATE
    assert Case.objects.count() == 1


def test_a_child_without_an_open_case_gets_a_new_case(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    child = mathew()
    referral = make_referral()
    referral_link_to_child(actor=Actor(user=officer), referral=referral, child=child)
    referral.refresh_from_db()
    assert referral.child == child
    assert referral.case is not None
    assert referral.case.state == CaseState.TRACKING
    assert Child.objects.count() == 1


def test_a_child_the_officer_may_not_see_is_refused(make_user: Any) -> None:
    school_user = make_user(Role.SCHOOL_USER)
    child = mathew()
    referral = make_referral()
    with pytest.raises((PermissionDenied, ValidationError)):
        referral_link_to_child(actor=Actor(user=school_user), referral=referral, child=child)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.RECEIVED


def test_the_triage_page_links_a_nickname_of_a_spelling_variant_in_one_step(
    client: Client, make_user: Any
) -> None:
    """Issue 19: "Matt Morris, 23/1/2016" finds Mathew Morris; one button links it."""
    child = mathew()
    case = case_open(
        actor=SYSTEM, child=child, route=ReferralRoute.AGENCY, date_referred=dt.date(2026, 10, 1)
    )
    referral = make_referral()
    client.force_login(make_user(Role.CME_OFFICER))
    page = client.get(f"/referrals/{referral.reference}/triage/").content.decode()
    assert "No possible duplicate found" not in page
    assert "Matt is a known nickname or other spelling of Matthew (written Mathew)" in page
    assert f"Same child: link the referral to {case.reference}" in page
    assert "Strong match" in page or "Possible — check" in page
    response = client.post(
        f"/referrals/{referral.reference}/triage/", {"link_child": str(child.pk)}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert (referral.child, referral.case) == (child, case)


def test_the_api_links_in_one_step(make_user: Any) -> None:
    child = mathew()
    referral = make_referral()
    client = Client()
    client.force_login(make_user(Role.CME_OFFICER))
    found = client.get(f"/api/v1/referrals/{referral.reference}/possible-duplicates").json()
    assert [d["child_id"] for d in found["items"]] == [child.pk]
    response = client.post(
        f"/api/v1/referrals/{referral.reference}/triage",
        json.dumps({"decision": "same_child", "child_id": child.pk}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    referral.refresh_from_db()
    assert referral.child == child
    assert referral.case is not None


def test_the_api_wants_the_child_for_same_child(make_user: Any) -> None:
    referral = make_referral()
    client = Client()
    client.force_login(make_user(Role.CME_OFFICER))
    response = client.post(
        f"/api/v1/referrals/{referral.reference}/triage",
        json.dumps({"decision": "same_child"}),
        content_type="application/json",
    )
    assert response.status_code == 422
    assert "child_id" in response.content.decode()
