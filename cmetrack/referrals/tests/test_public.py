"""The public report: no sign-in, CSRF on, a reference shown, the same answer whether or
not the child is known, a per-client limit, a honeypot and a signed timing token."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.services import case_open
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals import public
from cmetrack.referrals.models import Referral

pytestmark = pytest.mark.django_db
URL = "/report-a-child/"
CHECK_URL = "/report-a-child/check/"
REFERENCE = re.compile(r"R-[A-Z0-9]{8}")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


def text(response: Any) -> str:
    return str(html.unescape(response.content.decode()))


def normalised(page: str) -> str:
    """The page without what differs on every response: the reference and the CSP nonce."""
    return re.sub(r'nonce="[^"]*"', 'nonce=""', REFERENCE.sub("R-X", page))


def report(client: Client, *, shown_seconds_ago: float = 10, **overrides: Any) -> Any:
    data: dict[str, Any] = {
        "given_names": "Ola",
        "family_name": "Kowalska",
        "approximate_age": "11",
        "address": "Mill Lane, near the shops",
        "reason": "She is at home every school day",
        "form_token": public.issue_token(time.time() - shown_seconds_ago),
        "website": "",
    }
    data.update(overrides)
    ip = data.pop("ip", "203.0.113.5")
    before = Referral.objects.count()
    answered = client.post(URL, data, REMOTE_ADDR=ip, follow=True)
    if answered.redirect_chain != [(CHECK_URL, 302)]:
        return answered  # the form again with its errors, a bot's "success" or 429
    # "Check your answers" lists them and sends nothing until "Send".
    assert "Check your answers before sending" in text(answered)
    assert Referral.objects.count() == before
    return client.post(CHECK_URL, {}, REMOTE_ADDR=ip, follow=True)


def test_the_form_needs_no_sign_in_and_carries_csrf_and_a_token(client: Client) -> None:
    response = client.get(URL)
    assert response.status_code == 200
    page = text(response)
    assert 'name="csrfmiddlewaretoken"' in page
    assert 'name="form_token" value="' in page
    assert "Sign out" not in page


def test_csrf_is_enforced() -> None:
    client = Client(enforce_csrf_checks=True)
    assert report(client).status_code == 403
    assert not Referral.objects.exists()


def test_a_report_is_acknowledged_with_a_reference(client: Client) -> None:
    response = report(client)
    referral = Referral.objects.get()
    assert referral.route == ReferralRoute.PUBLIC
    assert response.redirect_chain == [("/report-a-child/sent/", 302)]
    assert referral.reference in text(response)
    # The acknowledgement is shown once; the form comes back after.
    assert client.get("/report-a-child/sent/").status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_child_is_known(client: Client) -> None:
    unknown = text(report(client))
    child = ChildFactory.create(
        legal_given_names="Ola", legal_family_name="Kowalska", dob=dt.date(2015, 3, 14)
    )
    case_open(
        actor=Actor.system("t"),
        child=child,
        route=ReferralRoute.AGENCY,
        date_referred=dt.date(2026, 10, 1),
    )
    known = text(report(Client()))
    assert normalised(unknown) == normalised(known)
    assert Referral.objects.count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"given_names": ""}, "Enter the child's first name"),
        ({"address": ""}, "Tell us where you have seen the child or where they live"),
        ({"reason": ""}, "Tell us why you think the child is not in school"),
        ({"approximate_age": "abc"}, "Age must be a whole number, like 9"),
        (
            {"dob-day": "40", "dob-month": "1", "dob-year": "2015"},
            "Date of birth must be a real date",
        ),
    ],
)
def test_public_form_errors(client: Client, overrides: dict[str, Any], message: str) -> None:
    page = text(report(client, **overrides))
    assert "There is a problem" in page
    assert message in page
    assert not Referral.objects.exists()
    # A fresh token comes back with the form, so the next try is not refused as stale.
    assert re.search(r'name="form_token" value="[^"]+"', page)


def test_the_honeypot_is_answered_like_success_and_keeps_nothing(client: Client) -> None:
    page = text(report(client, website="http://spam.example"))
    assert "We have your report" in page
    assert "Your reference<br><strong>R-" in page
    assert "&lt;strong&gt;" not in page
    assert REFERENCE.search(page)
    assert not Referral.objects.exists()


@pytest.mark.parametrize("token", ["", "forged-token"])
def test_a_missing_or_forged_token_is_a_bot(client: Client, token: str) -> None:
    page = text(report(client, form_token=token))
    assert "We have your report" in page
    assert not Referral.objects.exists()


def test_too_fast_is_refused(client: Client) -> None:
    page = text(report(client, shown_seconds_ago=0.5))
    assert "Check your answers and send the form again" in page
    assert not Referral.objects.exists()


def test_a_stale_form_is_refused(client: Client) -> None:
    page = text(report(client, shown_seconds_ago=3 * 60 * 60))
    assert "more than 2 hours" in page
    assert not Referral.objects.exists()


@pytest.mark.parametrize(
    ("age", "problem"),
    [
        (0.0, public.TokenProblem.TOO_FAST),
        (2.9, public.TokenProblem.TOO_FAST),
        (3.0, None),
        (7199, None),
        (7201, public.TokenProblem.EXPIRED),
    ],
)
def test_token_timing(age: float, problem: public.TokenProblem | None) -> None:
    now = 1_800_000_000.0
    assert public.token_problem(public.issue_token(now - age), now=now) is problem


@override_settings(CMETRACK_PUBLIC_REPORT_LIMIT=2)
def test_the_rate_limit_is_per_client(client: Client) -> None:
    for _ in range(2):
        assert "We have your report" in text(report(client))
    response = client.post(URL, {"given_names": "x"}, REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 429
    assert "Sorry, you have sent a lot of reports" in text(response)
    assert Referral.objects.count() == 2
    # Another client is not affected.
    assert "We have your report" in text(report(client, ip="203.0.113.99"))


def test_the_default_limit_is_five_an_hour(client: Client) -> None:
    for _ in range(5):
        report(client)
    assert client.post(URL, {}, REMOTE_ADDR="203.0.113.5").status_code == 429
    assert Referral.objects.count() == 5
