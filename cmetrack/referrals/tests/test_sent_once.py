"""A referral form sent twice (a double click, a resent page, a retried API call) makes one
referral: the second sending is shown the first one's reference."""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.idempotency.models import Submission
from cmetrack.referrals import public
from cmetrack.referrals.api import AGENCY_EXAMPLE, SCHOOL_EXAMPLE
from cmetrack.referrals.models import Referral
from cmetrack.referrals.tests.factories import RollEntryFactory, RollSnapshotFactory
from cmetrack.referrals.tests.test_api import token_for
from cmetrack.referrals.tests.test_pages import school_post

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r'name="submission_token" value="([^"]+)"')


def text(response: Any) -> str:
    return str(html.unescape(response.content.decode()))


def token_on(client: Client, path: str) -> str:
    """The one-time token the form page carries (fresh each time it is shown)."""
    found = TOKEN.search(client.get(path).content.decode())
    assert found, "the form must carry a submission token"
    return found.group(1)


AGENCY_POST = {
    "given_names": "Jakub",
    "sex": "M",
    "situation": "whereabouts_unknown",
    "how_met": "Health visit",
    "reason": "Family left the refuge",
    "safeguarding_concern": "unknown",
    "approximate_age": "9",
}


@pytest.fixture
def agency_user(make_user: Any) -> Any:
    return make_user(Role.AGENCY_USER, organisation=AgencyFactory.create())


def test_an_agency_referral_sent_twice_makes_one_referral(client: Client, agency_user: Any) -> None:
    client.force_login(agency_user)
    token = token_on(client, "/referrals/agency/")
    first = client.post("/referrals/agency/", {**AGENCY_POST, "submission_token": token})
    second = client.post("/referrals/agency/", {**AGENCY_POST, "submission_token": token})

    referral = Referral.objects.get()
    assert first["Location"] == second["Location"] == f"/referrals/{referral.reference}/sent/"
    page = text(client.get(second["Location"]))
    assert f"This form was already sent: here is your reference {referral.reference}." in page
    assert Submission.objects.get().reference == referral.reference


def test_each_showing_of_the_form_is_a_new_referral(client: Client, agency_user: Any) -> None:
    client.force_login(agency_user)
    for _ in range(2):
        token = token_on(client, "/referrals/agency/")
        client.post("/referrals/agency/", {**AGENCY_POST, "submission_token": token})
    assert Referral.objects.count() == 2


def test_a_form_with_errors_can_be_corrected_and_sent_with_its_token(
    client: Client, agency_user: Any
) -> None:
    client.force_login(agency_user)
    token = token_on(client, "/referrals/agency/")
    refused = client.post(
        "/referrals/agency/", {**AGENCY_POST, "given_names": "", "submission_token": token}
    )
    assert refused.status_code == 200
    assert not Submission.objects.exists()
    sent = client.post("/referrals/agency/", {**AGENCY_POST, "submission_token": token})
    assert sent.status_code == 302
    assert Referral.objects.count() == 1


def test_another_users_token_does_not_show_their_referral(
    client: Client, agency_user: Any, make_user: Any
) -> None:
    client.force_login(agency_user)
    token = token_on(client, "/referrals/agency/")
    client.post("/referrals/agency/", {**AGENCY_POST, "submission_token": token})
    other = make_user(Role.AGENCY_USER, organisation=AgencyFactory.create())
    client.force_login(other)
    response = client.post("/referrals/agency/", {**AGENCY_POST, "submission_token": token})
    mine = Referral.objects.get(referring_organisation=other.organisation)
    assert response["Location"] == f"/referrals/{mine.reference}/sent/"
    assert Referral.objects.count() == 2


def test_a_school_referral_sent_twice_makes_one_referral(client: Client, make_user: Any) -> None:
    user = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    entry = RollEntryFactory.create(snapshot=RollSnapshotFactory.create(school=user.organisation))
    client.force_login(user)
    path = f"/referrals/school/pupil/{entry.pk}/"
    data = school_post(submission_token=token_on(client, path))
    first = client.post(path, data)
    second = client.post(path, data)
    referral = Referral.objects.get()
    assert first["Location"] == second["Location"] == f"/referrals/{referral.reference}/sent/"
    assert "This form was already sent" in text(client.get(second["Location"]))


def test_the_public_report_sent_twice_makes_one_referral(client: Client) -> None:
    token = token_on(client, "/report-a-child/")
    data = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "approximate_age": "11",
        "address": "Mill Lane, near the shops",
        "reason": "She is at home every school day",
        "form_token": public.issue_token(time.time() - 10),
        "website": "",
        "submission_token": token,
    }
    first = text(client.post("/report-a-child/", data, follow=True))
    second = text(client.post("/report-a-child/", data, follow=True))
    referral = Referral.objects.get()
    assert referral.reference in first
    assert "already sent" not in first
    assert f"This form was already sent: here is your reference {referral.reference}" in second


# --- the API: Idempotency-Key ----------------------------------------------------------------


def test_an_api_retry_with_the_same_key_makes_one_referral(
    client: Client, agency_user: Any
) -> None:
    headers = {**token_for(agency_user), "Idempotency-Key": "6f1c2a90-retry"}
    calls = [
        client.post(
            "/api/v1/referrals/agency",
            AGENCY_EXAMPLE,
            content_type="application/json",
            headers=headers,
        )
        for _ in range(2)
    ]
    referral = Referral.objects.get()
    assert [c.status_code for c in calls] == [201, 201]
    assert calls[0].json()["reference"] == calls[1].json()["reference"] == referral.reference
    assert "Idempotent-Replayed" not in calls[0]
    assert calls[1]["Idempotent-Replayed"] == "true"


def test_an_api_key_reused_for_another_referral_is_refused(
    client: Client, agency_user: Any
) -> None:
    headers = {**token_for(agency_user), "Idempotency-Key": "k-1"}
    url = "/api/v1/referrals/agency"
    client.post(url, AGENCY_EXAMPLE, content_type="application/json", headers=headers)
    other = {**AGENCY_EXAMPLE, "given_names": "Someone Else"}
    response = client.post(url, other, content_type="application/json", headers=headers)
    assert response.status_code == 422
    assert "already used for a different request" in response.json()["detail"]
    assert Referral.objects.count() == 1


def test_an_api_call_without_a_key_is_not_protected_and_a_bad_key_is_400(
    client: Client, make_user: Any
) -> None:
    user = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    RollEntryFactory.create(snapshot=RollSnapshotFactory.create(school=user.organisation))
    url = "/api/v1/referrals/school"
    for _ in range(2):
        ok = client.post(
            url, SCHOOL_EXAMPLE, content_type="application/json", headers=token_for(user)
        )
        assert ok.status_code == 201
    bad = client.post(
        url,
        SCHOOL_EXAMPLE,
        content_type="application/json",
        headers={**token_for(user), "Idempotency-Key": "has spaces in it"},
    )
    assert bad.status_code == 400
    assert "Idempotency-Key" in bad.json()["detail"]
    assert Referral.objects.count() == 2
    keyed = {**token_for(user), "Idempotency-Key": "school-1"}
    for _ in range(2):
        client.post(url, SCHOOL_EXAMPLE, content_type="application/json", headers=keyed)
    assert Referral.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="needs two real transactions at once: the suite's SQLite is one in-memory connection",
)
def test_a_double_click_on_the_agency_form_makes_one_referral(agency_user: Any) -> None:
    """The reported fault: two sendings of one agency form at the same moment."""
    client = Client()
    client.force_login(agency_user)
    data = {**AGENCY_POST, "submission_token": token_on(client, "/referrals/agency/")}
    start = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        try:
            start.wait()
            answers.append(client.post("/referrals/agency/", data))
        except Exception as exc:  # reported to the test
            answers.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    referral = Referral.objects.get()
    assert [getattr(a, "status_code", a) for a in answers] == [302, 302]
    assert {a["Location"] for a in answers} == {f"/referrals/{referral.reference}/sent/"}
