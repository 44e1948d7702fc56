"""A case action sent twice (a double click, a resent page, a retried API call) is done once:
one state change, one home visit; the second sending is told it was already done."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, CaseStateChange, HomeVisit
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.cases.tests.test_api import token_client
from cmetrack.kit.testing import assert_problem

S = CaseState
TOKEN = re.compile(r'name="submission_token" value="([^"]+)"')


def action_url(case: Case, action: str) -> str:
    return reverse("cases:case-action", args=[case.pk, action])


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_on(client: Client, url: str) -> str:
    found = TOKEN.search(client.get(url).content.decode())
    assert found, "the action form must carry a submission token"
    return found.group(1)


@pytest.mark.django_db
def test_a_transition_sent_twice_is_done_once(officer: Any) -> None:
    case = case_in_state(S.RECEIVED, school=None)
    client = signed_in(officer)
    url = action_url(case, "start_tracking")
    data = {
        "expected_version": case.version,
        "reason": "",
        "submission_token": token_on(client, url),
    }
    changes = CaseStateChange.objects.filter(case=case).count()

    first = client.post(url, data)
    second = client.post(url, data)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == reverse("cases:case-detail", args=[case.pk])
    assert CaseStateChange.objects.filter(case=case).count() == changes + 1
    page = client.get(second["Location"]).content.decode()
    assert "This form was already sent: “Start tracking” was done once" in page
    case.refresh_from_db()
    assert case.state == S.TRACKING


@pytest.mark.django_db
def test_without_a_token_the_case_version_still_refuses_the_second_sending(officer: Any) -> None:
    case = case_in_state(S.RECEIVED, school=None)
    client = signed_in(officer)
    url = action_url(case, "start_tracking")
    data = {"expected_version": case.version, "reason": ""}
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 409
    assert CaseStateChange.objects.filter(case=case, to_state=S.TRACKING).count() == 1


@pytest.mark.django_db
def test_a_home_visit_sent_twice_is_recorded_once(officer: Any, school: Any) -> None:
    case = case_in_state(S.TRACKING, school=school)
    client = signed_in(officer)
    url = action_url(case, "record_home_visit")
    today = timezone.localdate()
    data = {
        "expected_version": case.version,
        "visited_on-day": str(today.day),
        "visited_on-month": str(today.month),
        "visited_on-year": str(today.year),
        "visited_by": "Olu Officer",
        "outcome": "no_answer",
        "notes": "",
        "submission_token": token_on(client, url),
    }
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert HomeVisit.objects.filter(case=case).count() == 1


@pytest.mark.django_db
def test_an_api_action_retried_with_its_key_is_done_once(officer: Any, school: Any) -> None:
    case = case_in_state(S.TRACKING, school=school)
    client, headers = token_client(officer)
    body = json.dumps(
        {"action": "locate", "expected_version": case.version, "where": "12 Mill Lane",
         "route": "living_here", "located_on": timezone.localdate().isoformat()}
    )  # fmt: skip
    url = f"/api/v1/cases/{case.pk}/transitions"
    keyed = {**headers, "HTTP_IDEMPOTENCY_KEY": "locate-1"}
    first = client.post(url, data=body, content_type="application/json", **keyed)
    second = client.post(url, data=body, content_type="application/json", **keyed)
    assert first.status_code == 200, first.json()
    assert second.status_code == 200, second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert first.json()["state"] == second.json()["state"] == "located"
    assert CaseStateChange.objects.filter(case=case, to_state=S.LOCATED).count() == 1
    other = client.post(
        url, data=body.replace("12 Mill Lane", "3 Oak Road"), content_type="application/json",
        **keyed,
    )  # fmt: skip
    assert_problem(other, 422, "idempotency_key_reused")
    bad = client.post(
        url, data=body, content_type="application/json", **headers, HTTP_IDEMPOTENCY_KEY="a b"
    )
    assert_problem(bad, 400, "invalid_idempotency_key")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    "connection.vendor != 'postgresql'",
    reason="needs two real transactions at once: the suite's SQLite is one in-memory connection",
)
def test_two_sendings_of_one_transition_at_once_make_one_state_change(officer: Any) -> None:
    case = case_in_state(S.RECEIVED, school=None)
    client = signed_in(officer)
    url = action_url(case, "start_tracking")
    data = {
        "expected_version": case.version,
        "reason": "",
        "submission_token": token_on(client, url),
    }
    start = threading.Barrier(2)
    answers: list[Any] = []

    def send() -> None:
        try:
            start.wait()
            answers.append(client.post(url, data))
        except Exception as exc:  # reported to the test
            answers.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert [getattr(a, "status_code", a) for a in answers] == [302, 302]
    assert CaseStateChange.objects.filter(case=case, to_state=S.TRACKING).count() == 1
