"""An enquiry form sent twice (a double click, a resent page, a retried API call) sends one
enquiry, logs one incoming enquiry, records one move notice."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cmetrack.enquiries.models import IncomingEnquiry, MoveNotification, OutgoingEnquiry
from cmetrack.idempotency.models import Submission
from cmetrack.referrals.models import Referral

TOKEN = re.compile(r'name="submission_token" value="([^"]+)"')


def token_on(client: Client, url: str) -> str:
    found = TOKEN.search(client.get(url).content.decode())
    assert found, "the form must carry a submission token"
    return found.group(1)


def date_fields(prefix: str, day: dt.date) -> dict[str, str]:
    return {
        f"{prefix}-day": str(day.day),
        f"{prefix}-month": str(day.month),
        f"{prefix}-year": str(day.year),
    }


@pytest.mark.django_db
def test_an_enquiry_sent_twice_is_sent_once(client, officer, case, other_la):
    client.force_login(officer)
    url = reverse("enquiries:outgoing-new", args=[case.pk])
    data = {
        "local_authority": str(other_la.pk),
        "reason_linked": "Mother said they were going to Camden.",
        "share": ["name", "dob"],
        "submission_token": token_on(client, url),
    }
    first = client.post(url, data)
    second = client.post(url, data)
    enquiry = OutgoingEnquiry.objects.get(case=case)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert second["Location"] == reverse("enquiries:outgoing-detail", args=[enquiry.pk])
    page = client.get(second["Location"]).content.decode()
    assert f"This form was already sent: here is your reference {enquiry.reference}." in page


@pytest.mark.django_db
def test_a_move_notice_sent_twice_is_recorded_once(client, officer, case, other_la, today):
    client.force_login(officer)
    token = token_on(client, reverse("enquiries:case", args=[case.pk]))
    url = reverse("enquiries:move-notice", args=[case.pk])
    data = {
        "notice-local_authority": str(other_la.pk),
        **date_fields("notice-sent_on", today),
        "submission_token": token,
    }
    assert client.post(url, data).status_code == 302
    again = client.post(url, data)
    assert again.status_code == 302
    assert MoveNotification.objects.filter(case=case).count() == 1
    page = client.get(again["Location"]).content.decode()
    assert "This form was already sent, so nothing was saved a second time." in page


@pytest.mark.django_db
def test_the_api_makes_one_enquiry_per_idempotency_key(client, officer, case, other_la, third_la):
    client.force_login(officer)
    body = {"case_id": case.pk, "authority_code": "202", "reason_linked": "Aunt lives in Camden."}

    def send(url: str, payload: dict[str, Any], key: str) -> Any:
        return client.post(
            url, json.dumps(payload), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
        )

    first = send("/api/v1/enquiries", body, "one")
    second = send("/api/v1/enquiries", body, "one")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert OutgoingEnquiry.objects.count() == 1

    batch = {
        "case_id": case.pk,
        "requests": [
            {"authority_code": "202", "reason_linked": "Aunt in Camden"},
            {"authority_code": "203", "reason_linked": "Father works in Greenwich"},
        ],
    }
    made = send("/api/v1/enquiries/batch", batch, "two")
    again = send("/api/v1/enquiries/batch", batch, "two")
    assert made.status_code == again.status_code == 201
    assert [e["id"] for e in made.json()] == [e["id"] for e in again.json()]
    assert OutgoingEnquiry.objects.count() == 3

    reused = send("/api/v1/enquiries", {**body, "reason_linked": "Something else"}, "one")
    assert reused.status_code == 422
    assert OutgoingEnquiry.objects.count() == 3
    assert Submission.objects.count() == 2


@pytest.mark.django_db
def test_an_incoming_enquiry_logged_twice_is_logged_once(client, officer, other_la, today):
    client.force_login(officer)
    url = reverse("enquiries:incoming-new")
    data = {
        "from_la": str(other_la.pk),
        **date_fields("received_on", today),
        "given_names": "Jayden",
        "family_name": "Example",
        "sex": "M",
        "reason_linked": "Told a health visitor they were moving here.",
        "address_given": "12 Example Row",
        "submission_token": token_on(client, url),
    }
    first = client.post(url, data)
    second = client.post(url, data)
    enquiry = IncomingEnquiry.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert second["Location"] == reverse("enquiries:incoming-detail", args=[enquiry.pk])
    assert Referral.objects.count() == 1


@pytest.mark.django_db
def test_a_home_office_check_sent_twice_is_recorded_once(client, officer, case, today):
    client.force_login(officer)
    data = {
        "ho-result": "departure_confirmed",
        **date_fields("ho-requested_on", today),
        **date_fields("ho-result_on", today),
        "submission_token": token_on(client, reverse("enquiries:case", args=[case.pk])),
    }
    url = reverse("enquiries:home-office", args=[case.pk])
    assert client.post(url, data).status_code == 302
    assert client.post(url, data).status_code == 302
    assert case.home_office_checks.count() == 1
