"""A referral form sent twice (a double click, a resent page, a retried API call) makes one
referral: the second sending is shown the first one's reference."""

from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

import pytest
from django.core import signing
from django.db import connection
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.idempotency.models import Submission
from cmetrack.kit.testing import assert_problem
from cmetrack.referrals import public
from cmetrack.referrals.api import AGENCY_EXAMPLE, SCHOOL_EXAMPLE
from cmetrack.referrals.models import Referral
from cmetrack.referrals.tests import journey
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
    assert client.post("/referrals/agency/", AGENCY_POST).status_code == 302
    token = token_on(client, "/referrals/agency/check/")
    first = client.post("/referrals/agency/check/", {"submission_token": token})
    second = client.post("/referrals/agency/check/", {"submission_token": token})

    referral = Referral.objects.get()
    assert first["Location"] == second["Location"] == f"/referrals/{referral.reference}/sent/"
    page = text(client.get(second["Location"]))
    assert f"This form was already sent: here is your reference {referral.reference}." in page
    assert Submission.objects.get().reference == referral.reference


def test_each_showing_of_the_form_is_a_new_referral(client: Client, agency_user: Any) -> None:
    client.force_login(agency_user)
    for _ in range(2):
        journey.send(client, "/referrals/agency/", AGENCY_POST)
    assert Referral.objects.count() == 2


def test_a_form_with_errors_can_be_corrected_and_sent_with_its_token(
    client: Client, agency_user: Any
) -> None:
    client.force_login(agency_user)
    refused = client.post("/referrals/agency/", {**AGENCY_POST, "given_names": ""})
    assert refused.status_code == 200
    assert not Submission.objects.exists()
    # Sending with no answers kept uses nothing up: the form comes back.
    token = token_on(client, "/referrals/agency/")
    assert client.post("/referrals/agency/check/", {"submission_token": token})["Location"] == (
        "/referrals/agency/"
    )
    assert not Submission.objects.exists()
    assert client.post("/referrals/agency/", AGENCY_POST).status_code == 302
    sent = client.post("/referrals/agency/check/", {"submission_token": token})
    assert sent.status_code == 302
    assert Referral.objects.count() == 1


def test_another_users_token_does_not_show_their_referral(
    client: Client, agency_user: Any, make_user: Any
) -> None:
    client.force_login(agency_user)
    client.post("/referrals/agency/", AGENCY_POST)
    token = token_on(client, "/referrals/agency/check/")
    client.post("/referrals/agency/check/", {"submission_token": token})
    other = make_user(Role.AGENCY_USER, organisation=AgencyFactory.create())
    client.force_login(other)
    client.post("/referrals/agency/", AGENCY_POST)
    response = client.post("/referrals/agency/check/", {"submission_token": token})
    mine = Referral.objects.get(referring_organisation=other.organisation)
    assert response["Location"] == f"/referrals/{mine.reference}/sent/"
    assert Referral.objects.count() == 2


def test_a_school_referral_sent_twice_makes_one_referral(client: Client, make_user: Any) -> None:
    user = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    entry = RollEntryFactory.create(snapshot=RollSnapshotFactory.create(school=user.organisation))
    client.force_login(user)
    path = f"/referrals/school/pupil/{entry.pk}/"
    assert client.post(path, school_post()).status_code == 302
    data = {"submission_token": token_on(client, f"{path}check/")}
    first = client.post(f"{path}check/", data)
    second = client.post(f"{path}check/", data)
    referral = Referral.objects.get()
    assert first["Location"] == second["Location"] == f"/referrals/{referral.reference}/sent/"
    assert "This form was already sent" in text(client.get(second["Location"]))


def test_the_public_report_sent_twice_makes_one_referral(client: Client) -> None:
    data = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "approximate_age": "11",
        "address": "Mill Lane, near the shops",
        "reason": "She is at home every school day",
        "form_token": public.issue_token(time.time() - 10),
        "website": "",
    }
    client.post("/report-a-child/", data)
    token = {"submission_token": token_on(client, "/report-a-child/check/")}
    first = text(client.post("/report-a-child/check/", token, follow=True))
    second = text(client.post("/report-a-child/check/", token, follow=True))
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
    problem = assert_problem(response, 422, "idempotency_key_reused")
    assert "already used for a different request" in problem["detail"]
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
    assert "Idempotency-Key" in assert_problem(bad, 400, "invalid_idempotency_key")["detail"]
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
    assert client.post("/referrals/agency/", AGENCY_POST).status_code == 302
    data = {"submission_token": token_on(client, "/referrals/agency/check/")}
    start = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        try:
            start.wait()
            answers.append(client.post("/referrals/agency/check/", data))
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


def test_the_public_form_token_works_once(client: Client) -> None:
    """Issue 17: the signed form token cannot be replayed for two hours, with or without a
    submission token, from this browser or another: one token, one referral."""
    form_token = public.issue_token(time.time() - 10)
    data = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "approximate_age": "11",
        "address": "Mill Lane, near the shops",
        "reason": "She is at home every school day",
        "form_token": form_token,
        "website": "",
    }
    journey.send(client, "/report-a-child/", data)
    journey.send(client, "/report-a-child/", data)
    journey.send(Client(), "/report-a-child/", {**data, "family_name": "Someone Else"})
    assert Referral.objects.count() == 1
    # A freshly shown form still works.
    journey.send(
        client, "/report-a-child/", {**data, "form_token": public.issue_token(time.time() - 10)}
    )
    assert Referral.objects.count() == 2


def test_a_form_token_without_its_nonce_is_stale() -> None:
    old = signing.dumps({"t": time.time() - 10}, salt=public._SALT)
    assert public.token_problem(old) is public.TokenProblem.EXPIRED
