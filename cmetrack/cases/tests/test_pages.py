"""The case pages through Django's test client: the case page, the action forms (errors,
conflicts between two sessions), the chronology and the work queues."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.people.models import ChildAlias
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.rules import upn_check_letter

S = CaseState


def action_url(case: Case, action: str) -> str:
    return reverse("cases:case-action", args=[case.pk, action])


def date_parts(name: str, day: str, month: str, year: str) -> dict[str, str]:
    return {f"{name}-day": day, f"{name}-month": month, f"{name}-year": year}


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_case_page_shows_the_case_and_audits_the_view_of_the_child(officer, school):
    case = case_in_state(S.IN_PROVISION, school=school)
    response = signed_in(officer).get(reverse("cases:case-detail", args=[case.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert case.reference in html
    assert case.child.full_name in html
    for heading in ("Statutory dates", "Education", "Where the child is", "Home visits"):
        assert heading in html
    assert govuk(case.date_moved_into_provision) in html
    assert "Close the case" in html
    assert "Record that the placement failed" in html
    assert AuditEvent.objects.filter(
        action=AuditAction.VIEW, child_id=case.child_id, actor=officer
    ).exists()


def govuk(day: dt.date | None) -> str:
    assert day is not None
    return f"{day.day} {day:%B %Y}"


@pytest.mark.django_db
def test_case_page_links_to_tracking_work_when_it_exists(officer, school):
    case = case_in_state(S.TRACKING, school=school)
    html = signed_in(officer).get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    try:
        href = reverse("casework:case-tracking", args=[case.pk])
    except NoReverseMatch:  # casework not installed yet
        assert "Tracking work" not in html
    else:
        assert f'href="{href}"' in html


@pytest.mark.django_db
def test_out_of_scope_case_is_404_everywhere(make_user, school):
    case = case_in_state(S.TRACKING, school=school)
    client = signed_in(make_user(Role.SCHOOL_USER))
    for url in (
        reverse("cases:case-detail", args=[case.pk]),
        reverse("cases:case-chronology", args=[case.pk]),
        action_url(case, "locate"),
    ):
        assert client.get(url).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW, child_id=case.child_id).exists()


@pytest.mark.django_db
def test_action_form_errors_are_summarised_and_nothing_is_saved(officer, school):
    case = case_in_state(S.TRACKING, school=school)
    client = signed_in(officer)
    response = client.post(
        action_url(case, "locate"),
        {
            "expected_version": case.version,
            "where": "",
            **date_parts("located_on", "31", "2", "2026"),
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<title>Error: Record where the child is" in html
    assert "There is a problem" in html
    assert 'href="#id_where"' in html
    assert "Enter where the child is" in html
    assert 'href="#id_route"' in html
    assert "The date the child was located must be a real date" in html
    assert 'href="#id_located_on-day"' in html
    case.refresh_from_db()
    assert case.state == S.TRACKING


@pytest.mark.django_db
def test_a_rule_refusal_is_shown_against_its_field(officer, school, today):
    case = case_in_state(S.TRACKING, school=school)
    response = signed_in(officer).post(
        action_url(case, "locate"),
        {"expected_version": case.version, "where": "At her aunt's", "route": "on_roll",
         **date_parts("located_on", str(today.day), str(today.month), str(today.year))},
    )  # fmt: skip
    html = response.content.decode()
    assert "A child located on a school roll needs the school: choose the school." in html
    assert 'href="#id_school"' in html
    assert "At her aunt&#39;s" in html  # what they typed is kept


@pytest.mark.django_db
def test_the_dormant_refusal_names_the_rule(officer, school):
    case = case_in_state(S.TRACKING, school=school)
    response = signed_in(officer).post(
        action_url(case, "make_dormant"), {"expected_version": case.version, "reason": "x"}
    )
    assert "with a risk assessment authorised by a manager" in response.content.decode()


@pytest.mark.django_db
def test_the_case_page_leads_with_the_next_step_and_shows_what_dormant_needs(officer, school):
    case = case_in_state(S.TRACKING, school=school)
    html = signed_in(officer).get(f"/cases/{case.pk}/").content.decode()
    page = " ".join(html.split())
    assert '<h2 class="govuk-heading-m">Next step</h2>' in page
    assert (
        f'<a href="/cases/{case.pk}/actions/locate/" role="button" draggable="false" '
        'class="govuk-button"' in page
    )
    assert '<strong class="govuk-tag govuk-tag--yellow">Tracking</strong>' in page
    # Dormant is not offered as a link: it is shown with what it needs.
    assert f"/cases/{case.pk}/actions/make_dormant/" not in page
    assert "Not possible yet" in page
    assert "<strong>Make the case dormant</strong>: A case can only go dormant with a risk" in page


@pytest.mark.django_db
def test_two_sessions_on_one_case_the_second_gets_the_conflict(make_user, school, today):
    first = signed_in(make_user(Role.CME_OFFICER, full_name="Fay First"))
    second = signed_in(make_user(Role.CME_OFFICER, full_name="Sid Second"))
    case = case_in_state(S.TRACKING, school=school)
    # Both open a form at the same version (closing is not offered until located).
    for client in (first, second):
        page = client.get(action_url(case, "locate")).content.decode()
        assert f'name="expected_version" value="{case.version}"' in page
    done = first.post(
        action_url(case, "locate"),
        {"expected_version": case.version, "where": "Aunt's", "route": "living_here",
         **date_parts("located_on", str(today.day), str(today.month), str(today.year))},
    )  # fmt: skip
    assert done.status_code == 302
    lost = second.post(
        action_url(case, "close"),
        {"expected_version": case.version, "outcome": "home_educated", "reason": "Parent says EHE"},
    )
    html = lost.content.decode()
    assert lost.status_code == 409
    assert re.search(r"This case was changed by Fay First at \d\d:\d\d on ", html)
    assert "Nothing you entered has been lost" in html
    assert "Parent says EHE" in html  # their input is still in the form
    assert f'name="expected_version" value="{case.version + 1}"' in html
    case.refresh_from_db()
    assert case.state == S.LOCATED


@pytest.mark.django_db
def test_successful_action_redirects_with_a_banner(officer, school):
    case = case_in_state(S.RECEIVED, school=None)
    client = signed_in(officer)
    response = client.post(
        action_url(case, "start_tracking"), {"expected_version": case.version, "reason": ""}
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Tracking started." in page
    case.refresh_from_db()
    assert case.state == S.TRACKING


@pytest.mark.django_db
def test_reopen_redirects_to_the_new_episode(officer, school):
    case = case_in_state(S.CLOSED, school=school)
    response = signed_in(officer).post(
        action_url(case, "reopen"), {"expected_version": case.version, "reason": "Missing again"}
    )
    new = Case.objects.get(previous_case=case)
    assert response["Location"] == reverse("cases:case-detail", args=[new.pk])


@pytest.mark.django_db
def test_chronology_page_lists_everything_oldest_first(officer, school):
    case = case_in_state(S.AWAITING_PROVISION, school=school)
    html = signed_in(officer).get(reverse("cases:case-chronology", args=[case.pk])).content.decode()
    summaries = list(case.chronology.order_by("at", "id").values_list("summary", flat=True))
    positions = [html.index(s.split(".")[0].replace("'", "&#39;")) for s in summaries]
    assert positions == sorted(positions)


# --- queues ---------------------------------------------------------------------------


@pytest.fixture
def queue_cases(school, make_user):
    officer = make_user(Role.CME_OFFICER, full_name="Olive Queue")
    amy = ChildFactory.create(
        legal_given_names="Amy",
        legal_family_name="Zebedee",
        upn=upn_check_letter("801200001001") + "801200001001",
    )
    bo = ChildFactory.create(legal_given_names="Bo", legal_family_name="Yates", upn=None)
    ChildAlias.objects.create(
        child=bo, alias_type="known_as", given_names="Bobby", family_name="Quill"
    )
    mine = case_in_state(S.TRACKING, school=school, child=amy, assigned_officer=officer)
    unassigned = case_in_state(S.RECEIVED, school=school, child=bo)
    return officer, mine, unassigned


def _refs(html: str) -> set[str]:
    return set(re.findall(r">(CME-\d{6})<", html))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("queue=mine", {"mine"}),
        ("queue=unassigned", {"unassigned"}),
        ("queue=open", {"mine", "unassigned"}),
        ("queue=all&state=tracking", {"mine"}),
        ("queue=all&route=agency", set()),
        ("queue=all&officer=none", {"unassigned"}),
        ("queue=all&q=zeb", {"mine"}),
        ("queue=all&q=bo+yat", {"unassigned"}),
        ("queue=all&q=quill", {"unassigned"}),
        ("queue=all&q=amy+quill", set()),
        ("queue=all&q=REF", {"unassigned"}),
        ("queue=all&q=UPN", {"mine"}),
    ],
)
def test_queue_filters_and_search(queue_cases, query, expected):
    officer, mine, unassigned = queue_cases
    query = query.replace("REF", unassigned.reference).replace("UPN", mine.child.upn or "")
    html = signed_in(officer).get(reverse("cases:queue") + "?" + query).content.decode()
    cases = {"mine": mine, "unassigned": unassigned}
    assert _refs(html) == {cases[k].reference for k in expected}


@pytest.mark.django_db
def test_queue_pages_by_keyset(officer, school):
    for _ in range(53):
        case_in_state(S.RECEIVED, school=school)
    client = signed_in(officer)
    first = client.get(reverse("cases:queue") + "?queue=open").content.decode()
    assert len(_refs(first)) == 50
    assert "53 cases" in first
    next_href = re.search(r'href="([^"]*after=[^"]*)"', first)
    assert next_href is not None
    second = client.get(next_href.group(1).replace("&amp;", "&")).content.decode()
    assert len(_refs(second)) == 3
    assert not _refs(first) & _refs(second)


@pytest.mark.django_db
def test_queue_shows_nothing_outside_scope(make_user, school):
    case_in_state(S.TRACKING, school=school)
    html = signed_in(make_user(Role.SCHOOL_USER)).get(reverse("cases:queue")).content.decode()
    assert _refs(html) == set()
    assert "0 cases" in html


@pytest.mark.django_db
def test_an_slo_starts_at_the_investigations_of_their_schools(make_user, school):
    slo = make_user(Role.SLO)
    slo.linked_schools.add(school)
    case = case_in_state(S.SLO_INVESTIGATION, school=school)
    html = signed_in(slo).get(reverse("cases:queue")).content.decode()
    assert _refs(html) == {case.reference}


@pytest.mark.django_db
def test_a_queue_from_another_app_is_served_through_the_hook(officer, school, monkeypatch):
    from cmetrack.cases import selectors

    flagged = case_in_state(S.TRACKING, school=school)
    case_in_state(S.TRACKING, school=school)
    monkeypatch.setitem(
        selectors.QUEUE_HOOKS, "flagged", ("Flagged", lambda user, qs: qs.filter(pk=flagged.pk))
    )
    monkeypatch.setitem(selectors.QUEUES, "flagged", "Flagged")
    html = signed_in(officer).get(reverse("cases:queue") + "?queue=flagged").content.decode()
    assert _refs(html) == {flagged.reference}
