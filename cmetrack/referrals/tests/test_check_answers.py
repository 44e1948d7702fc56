"""Check your answers before a referral is sent (GOV.UK "Check answers" pattern), and the
school's conditional reveals as the server sees them: "Continue" keeps the answers and
sends nothing; every answer has a "Change" link to its field; only "Send" sends."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import AgencyFactory, SchoolFactory
from cmetrack.referrals import public
from cmetrack.referrals.models import CheckKind, Referral
from cmetrack.referrals.tests.factories import RollEntryFactory, RollSnapshotFactory
from cmetrack.referrals.tests.journey import send, token_on
from cmetrack.referrals.tests.test_pages import school_post
from cmetrack.referrals.tests.test_sent_once import AGENCY_POST

pytestmark = pytest.mark.django_db

CHANGE = re.compile(
    r'<a class="govuk-link" href="([^"#]+)#([^"]+)">Change'
    r'<span class="govuk-visually-hidden"> ([^<]+)</span>'
)


def text(response: Any) -> str:
    return str(html.unescape(response.content.decode()))


def ids(page: str) -> set[str]:
    return set(re.findall(r'\sid="([^"]+)"', page))


@pytest.fixture
def school(client: Client, make_user: Any) -> str:
    user = make_user(Role.SCHOOL_USER, organisation=SchoolFactory.create())
    entry = RollEntryFactory.create(snapshot=RollSnapshotFactory.create(school=user.organisation))
    client.force_login(user)
    return f"/referrals/school/pupil/{entry.pk}/"


def assert_change_links_reach_their_fields(client: Client, form_path: str, page: str) -> int:
    """Every "Change" goes to the form and to an element that is there."""
    links = CHANGE.findall(page)
    assert links
    form_ids = ids(text(client.get(form_path)))
    for path, anchor, what in links:
        assert path == form_path, (path, what)
        assert anchor in form_ids, (anchor, what)
    return len(links)


def test_continue_keeps_the_answers_and_sends_nothing(client: Client, school: str) -> None:
    answered = client.post(school, school_post(reason="Not seen since 30 October."))
    assert answered["Location"] == f"{school}check/"
    assert not Referral.objects.exists()
    page = text(client.get(f"{school}check/"))
    assert "Check your answers before referring Ola Kowalska" in page
    assert "Nothing has been sent yet" in page
    for shown in (
        "14 March 2015",
        "Maria Kowalska (mother)",
        "07700 900123",
        "Done on 2 November 2026",
        "No answer",
        "Not seen since 30 October.",
    ):
        assert shown in page, shown
    # 22 answers (10 about the child, 1 parent, 2 on absence, safeguarding, 6 checks and
    # their confirmation, the reason), each with its link; a check's goes to its first radio.
    assert assert_change_links_reach_their_fields(client, school, page) == 22
    assert f'href="{school}#id_friends-status"' in page
    assert f'href="{school}#id_dob-day"' in page
    # "Change" shows the form with the answers kept.
    form = text(client.get(school))
    assert re.search(r'name="reason"[^>]*>\s*Not seen since 30 October\.', form)
    assert not Referral.objects.exists()


def test_only_send_sends_and_then_the_answers_are_forgotten(client: Client, school: str) -> None:
    response = send(client, school, school_post())
    referral = Referral.objects.get()
    assert response["Location"] == f"/referrals/{referral.reference}/sent/"
    assert referral.checks.count() == 6
    # The kept answers went with it: the check page and the form start again.
    assert client.get(f"{school}check/")["Location"] == school
    assert 'value="Maria Kowalska"' not in text(client.get(school))


def test_the_check_page_without_answers_goes_back_to_the_form(client: Client, school: str) -> None:
    assert client.get(f"{school}check/")["Location"] == school
    token = token_on(client, school)
    assert client.post(f"{school}check/", {"submission_token": token})["Location"] == school
    assert not Referral.objects.exists()


def test_the_rules_are_checked_before_the_answers_are_shown(client: Client, school: str) -> None:
    """Under 10 days without the checks said complete: refused at "Continue", with the
    summary linking to the checkbox, not found out after "Send"."""
    page = text(client.post(school, school_post(absence_school_days="4")))
    assert "fewer than 10 school days" in page
    assert 'href="#id_all_checks_complete"' in page
    assert not client.session.get(f"referrals.draft.school.{school.split('/')[-2]}")


def test_a_revealed_question_is_required_only_when_its_answer_is_chosen(
    client: Client, school: str
) -> None:
    page = text(client.post(school, school_post(safeguarding_concern="yes")))
    assert '<a href="#id_safeguarding_details">Describe the safeguarding concern</a>' in page
    assert "id_safeguarding_details" in ids(page)
    data = school_post(
        **{"friends-status": "done", "friends-done_on-day": "", "friends-result": ""}
    )
    page = text(client.post(school, data))
    assert 'href="#id_friends-done_on-day"' in page
    assert 'href="#id_friends-result"' in page
    # Answered then hidden again: neither checked nor kept.
    hidden = school_post(
        safeguarding_concern="no",
        safeguarding_details="Typed before choosing no",
        **{
            "friends-status": "not_applicable",
            "friends-reason": "Typed first",
            "friends-done_on-day": "99",
        },
    )
    send(client, school, hidden)
    referral = Referral.objects.get()
    assert referral.safeguarding_details == ""
    friends = referral.checks.get(kind=CheckKind.FRIENDS)
    assert (friends.status, friends.reason, friends.done_on) == ("not_applicable", "", None)


def test_the_checks_are_conditional_reveals(client: Client, school: str) -> None:
    page = text(client.get(school))
    for kind in CheckKind:
        done = page.index(f'id="conditional-id_{kind}-status"')
        assert page.index(f'id="id_{kind}-done_on-day"') > done
        assert f'data-aria-controls="conditional-id_{kind}-status-2"' in page
        reveal = page.index(f'id="conditional-id_{kind}-status-2"')
        assert page.index(f'name="{kind}-reason"') > reveal
    assert 'data-aria-controls="conditional-id_safeguarding_concern"' in page
    assert page.count("govuk-radios__conditional--hidden") == 2 * len(CheckKind) + 1


def test_an_agency_checks_its_answers_then_sends(client: Client, make_user: Any) -> None:
    client.force_login(make_user(Role.AGENCY_USER, organisation=AgencyFactory.create()))
    assert client.post("/referrals/agency/", AGENCY_POST)["Location"] == "/referrals/agency/check/"
    page = text(client.get("/referrals/agency/check/"))
    assert "Check your answers before sending your referral" in page
    assert "Family left the refuge" in page
    assert_change_links_reach_their_fields(client, "/referrals/agency/", page)
    assert not Referral.objects.exists()
    token = token_on(client, "/referrals/agency/check/")
    client.post("/referrals/agency/check/", {"submission_token": token})
    assert Referral.objects.get().reason == "Family left the refuge"


def test_the_public_check_their_report_then_send(client: Client) -> None:
    cache.clear()
    data = {
        "given_names": "Ola",
        "approximate_age": "11",
        "address": "Mill Lane, near the shops",
        "reason": "She is at home every school day",
        "form_token": public.issue_token(time.time() - 10),
    }
    assert client.post("/report-a-child/", data)["Location"] == "/report-a-child/check/"
    page = text(client.get("/report-a-child/check/"))
    assert "Mill Lane, near the shops" in page
    assert_change_links_reach_their_fields(client, "/report-a-child/", page)
    assert not Referral.objects.exists()
    sent = client.post("/report-a-child/check/", {}, follow=True)
    assert sent.redirect_chain == [("/report-a-child/sent/", 302)]
    assert Referral.objects.get().address == "Mill Lane, near the shops"


def test_a_stale_public_report_is_refused_at_send(client: Client) -> None:
    cache.clear()
    data = {
        "given_names": "Ola",
        "address": "Mill Lane",
        "reason": "Home every day",
        "form_token": public.issue_token(time.time() - 2 * 60 * 60 + 1),
    }
    assert client.post("/report-a-child/", data).status_code == 302
    time.sleep(1.1)
    page = text(client.post("/report-a-child/check/", {}))
    assert "more than 2 hours" in page
    assert not Referral.objects.exists()
