"""Issue 17 items 1 and 2: closing only through located with its evidence, a closed case
frozen, and the missing steps (a home visit asked of the SLO, the missing-from-care route,
the lead professional and early help assessment, the prompt to send the transfer file),
through the services, the pages and the API, per role."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.cases import services
from cmetrack.cases.lifecycle import (
    CaseState,
    HomeEducationEvidence,
    LocatedRoute,
    Outcome,
    PreconditionFailed,
    TransitionNotAllowed,
)
from cmetrack.cases.models import Case, ChronologyKind, MissingFromCareReport, SloVisitRequest
from cmetrack.cases.selectors import cases_visible_to, queue_cases
from cmetrack.cases.tests.factories import case_in_state
from cmetrack.notifications.models import Message
from cmetrack.people.tests.factories import ChildFactory

pytestmark = pytest.mark.django_db
S = CaseState


def _api(client: Client, case: Case, **body: Any) -> Any:
    return client.post(
        f"/api/v1/cases/{case.pk}/transitions",
        data=json.dumps({"expected_version": case.version, **body}),
        content_type="application/json",
    )


def _last_entry(case: Case) -> str:
    event = case.chronology.last()
    assert event is not None
    return event.summary


def _logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- 1. closing only through located -----------------------------------------------------


def test_home_educated_from_tracking_is_refused_on_the_page_and_the_api(make_user, school):
    officer = make_user(Role.CME_OFFICER)
    case = case_in_state(S.TRACKING, school=school)
    client = _logged_in(officer)
    page = client.post(
        reverse("cases:case-action", args=[case.pk, "close"]),
        {"expected_version": case.version, "outcome": "home_educated", "reason": "EHE"},
    )
    # Closing is not offered for a tracked case; if sent anyway, it is refused.
    assert page.status_code == 200
    api = _api(client, case, action="close", outcome="home_educated", reason="EHE")
    assert api.status_code == 422
    case.refresh_from_db()
    assert case.state == S.TRACKING
    assert not case.located_where


def test_home_educated_goes_through_located_with_the_parents_notice(make_user, school, today):
    officer = make_user(Role.CME_OFFICER)
    case = case_in_state(S.TRACKING, school=school)
    client = _logged_in(officer)
    refused = _api(
        client, case, action="locate", where="At home", route="home_educated",
        located_on=today.isoformat(),
    )  # fmt: skip
    assert refused.status_code == 422
    assert "only with evidence" in refused.content.decode()
    located = _api(
        client, case, action="locate", where="At home with mother", route="home_educated",
        located_on=today.isoformat(), home_education_evidence="parent_notice",
        home_education_evidence_on=today.isoformat(),
    )  # fmt: skip
    assert located.status_code == 200, located.content
    case.refresh_from_db()
    closed = _api(client, case, action="close", outcome="home_educated", reason="EHE notice")
    assert closed.status_code == 200, closed.content
    case.refresh_from_db()
    assert case.state == S.CLOSED
    assert case.located_where == "At home with mother"
    assert case.home_education_evidence == HomeEducationEvidence.PARENT_NOTICE
    assert "parent's written notice" in _last_entry(case)


def test_a_visit_is_evidence_only_once_recorded_with_the_child_or_family_seen(
    school, make_user, today
):
    actor = Actor(user=make_user(Role.CME_OFFICER))
    case = case_in_state(S.TRACKING, school=school)
    kwargs: dict[str, Any] = {
        "where": "At home", "route": LocatedRoute.HOME_EDUCATED, "located_on": today,
        "home_education_evidence": HomeEducationEvidence.VISIT, "home_education_evidence_on": today,
    }  # fmt: skip
    services.case_record_home_visit(
        actor=actor, case=case, visited_on=today, visited_by="SLO", outcome="no_answer"
    )
    with pytest.raises(PreconditionFailed, match="Record the visit first"):
        services.case_locate(actor=actor, case=case, **kwargs)
    services.case_record_home_visit(
        actor=actor, case=case, visited_on=today, visited_by="SLO", outcome="family_seen"
    )
    case = services.case_locate(actor=actor, case=Case.objects.get(pk=case.pk), **kwargs)
    case = services.case_close(actor=actor, case=case, outcome=Outcome.HOME_EDUCATED, reason="x")
    assert case.state == S.CLOSED


def test_a_located_case_closes_only_with_its_own_route(school, make_user, today):
    actor = Actor(user=make_user(Role.CME_OFFICER))
    case = case_in_state(S.LOCATED, school=school, route=LocatedRoute.ON_ROLL)
    with pytest.raises(PreconditionFailed, match="located as on a school roll"):
        services.case_close(
            actor=actor, case=case, outcome=Outcome.HOME_EDUCATED, reason="x",
            home_education_evidence="parent_notice", home_education_evidence_on=today,
        )  # fmt: skip
    case = services.case_close(actor=actor, case=case, outcome=Outcome.ON_ROLL, reason="On roll")
    assert (case.state, case.destination_school) == (S.CLOSED, school)


@pytest.mark.parametrize("state", [S.RECEIVED, S.SLO_INVESTIGATION])
def test_not_cme_closes_straight_away_with_its_reason(state, school, make_user):
    actor = Actor(user=make_user(Role.CME_OFFICER))
    case = case_in_state(state, school=school)
    with pytest.raises(PreconditionFailed, match="Give the reason"):
        services.case_close(actor=actor, case=case, outcome=Outcome.NOT_CME, reason=" ")
    case = services.case_close(actor=actor, case=case, outcome=Outcome.NOT_CME, reason="Aged 17")
    assert (case.state, case.outcome_reason) == (S.CLOSED, "Aged 17")


# --- 1. a closed case is frozen -----------------------------------------------------------

FROZEN_ACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("assign", {"officer": "OFFICER"}),
    (
        "record_circumstances",
        {"cme_reason": "not_applied", "new_to_area": "no", "new_to_country": "no"},
    ),
    ("correct_statutory_date", {"field": "date_referred", "value": "DATE", "reason": "Typo"}),
    ("advise_off_roll", {"advised_date": "TODAY"}),
    ("record_home_visit", {"visited_on": "TODAY", "visited_by": "SLO", "outcome": "no_answer"}),
    ("locate", {"where": "Aunt's", "route": "living_here", "located_on": "TODAY"}),
    ("request_slo_visit", {"slo": "SLO", "reason": "No answer"}),
    (
        "record_missing_from_care",
        {"missing_since": "TODAY", "social_worker": "A Worker", "reported_to_police": "yes"},
    ),
]


@pytest.mark.parametrize(("action", "fields"), FROZEN_ACTIONS, ids=[a for a, _ in FROZEN_ACTIONS])
def test_a_closed_case_refuses_every_change_on_the_page_and_the_api(
    action, fields, school, make_user, today
):
    manager = make_user(Role.CME_MANAGER)
    slo = make_user(Role.SLO)
    child = ChildFactory.create(in_care=True)
    case = case_in_state(S.CLOSED, school=school, child=child)
    subs = {"OFFICER": manager.pk, "SLO": slo.pk, "TODAY": today.isoformat(),
            "DATE": (case.date_referred - dt.timedelta(days=1)).isoformat()}  # fmt: skip
    data = {k: subs.get(v, v) for k, v in fields.items()}
    before = (case.version, case.chronology.count(), case.assigned_officer_id, case.cme_reason)
    client = _logged_in(manager)
    api = _api(client, case, action=action, **data)
    assert api.status_code == 422, api.content
    assert "closed" in api.json()["detail"]
    page = client.post(
        reverse("cases:case-action", args=[case.pk, action]),
        {"expected_version": case.version, **data},
    )
    assert page.status_code == 200
    assert "closed" in page.content.decode()
    case.refresh_from_db()
    after = (case.version, case.chronology.count(), case.assigned_officer_id, case.cme_reason)
    assert after == before


def test_a_closed_episodes_chronology_does_not_grow(school):
    case = case_in_state(S.CLOSED, school=school)
    count = case.chronology.count()
    with pytest.raises(services.CaseClosed, match="closed"):
        services.chronology_add(
            actor=Actor.system("test"), case=case, kind=ChronologyKind.NOTE, summary="Late note"
        )
    # A stale copy that still says "located" cannot slip past either.
    stale = Case.objects.get(pk=case.pk)
    stale.state = S.LOCATED
    with pytest.raises(services.CaseClosed):
        services.chronology_add(
            actor=Actor.system("test"), case=stale, kind=ChronologyKind.NOTE, summary="x"
        )
    assert case.chronology.count() == count


def test_reopening_is_the_one_change_a_closed_case_takes(school, make_user):
    actor = Actor(user=make_user(Role.CME_MANAGER))
    case = case_in_state(S.CLOSED, school=school)
    new = services.case_reopen(actor=actor, case=case, reason="Missing again")
    assert new.previous_case_id == case.pk
    assert _last_entry(case).startswith("Reopened as a new episode")


# --- 2. a home visit asked of the School Liaison Officer (county 5.3) ------------------


def test_a_home_visit_is_asked_of_the_slo_without_reassigning_the_case(school, make_user, today):
    officer = make_user(Role.CME_OFFICER)
    slo = make_user(Role.SLO, full_name="Sam Slo")
    case = case_in_state(S.TRACKING, school=school, assigned_officer=officer)
    assert not cases_visible_to(slo).filter(pk=case.pk).exists()
    client = _logged_in(officer)
    response = client.post(
        reverse("cases:case-action", args=[case.pk, "request_slo_visit"]),
        {"expected_version": case.version, "slo": slo.pk, "reason": "No reply to calls"},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assigned_officer == officer  # the case stays with its officer
    request = SloVisitRequest.objects.get(case=case)
    assert (request.slo, request.is_open) == (slo, True)
    assert Message.objects.filter(kind="slo_visit_request", recipient=slo).exists()
    # The SLO sees the case on their own list and records the visit; nothing else.
    assert list(queue_cases(slo, "visits")) == [case]
    slo_client = _logged_in(slo)
    assert slo_client.get(reverse("cases:case-detail", args=[case.pk])).status_code == 200
    locate = reverse("cases:case-action", args=[case.pk, "locate"])
    assert slo_client.get(locate).status_code == 403
    done = slo_client.post(
        reverse("cases:case-action", args=[case.pk, "record_home_visit"]),
        {"expected_version": case.version, "visited_on-day": today.day,
         "visited_on-month": today.month, "visited_on-year": today.year,
         "visited_by": "Sam Slo", "outcome": "no_answer"},
    )  # fmt: skip
    assert done.status_code == 302, done.content
    request.refresh_from_db()
    assert request.visit is not None
    assert not request.is_open
    assert list(queue_cases(slo, "visits")) == []
    # Having visited, the SLO may not record another visit unasked.
    assert (
        slo_client.get(
            reverse("cases:case-action", args=[case.pk, "record_home_visit"])
        ).status_code
        == 403
    )


@pytest.mark.parametrize("role", [Role.SLO, Role.VIRTUAL_SCHOOL, Role.SAFEGUARDING_ADVISER,
                                  Role.SCHOOL_USER, Role.AUDITOR])  # fmt: skip
def test_only_the_cme_team_asks_for_a_visit(role, school, make_user):
    user = make_user(role)
    case = case_in_state(S.TRACKING, school=school, child=ChildFactory.create(in_care=True))
    with pytest.raises(Exception, match="Only CME officers and managers"):
        services.case_request_slo_visit(
            actor=Actor(user=user), case=case, slo=make_user(Role.SLO), reason="x"
        )


def test_a_visit_is_asked_only_while_tracking_and_of_an_slo(school, make_user):
    actor = Actor(user=make_user(Role.CME_OFFICER))
    located = case_in_state(S.LOCATED, school=school)
    with pytest.raises(PreconditionFailed, match="while the child is being tracked"):
        services.case_request_slo_visit(
            actor=actor, case=located, slo=make_user(Role.SLO), reason="x"
        )
    tracking = case_in_state(S.TRACKING, school=school)
    with pytest.raises(PreconditionFailed, match="School Liaison Officer"):
        services.case_request_slo_visit(
            actor=actor, case=tracking, slo=make_user(Role.CME_OFFICER), reason="x"
        )
    with pytest.raises(PreconditionFailed, match="what tracking and contacts found"):
        services.case_request_slo_visit(
            actor=actor, case=tracking, slo=make_user(Role.SLO), reason=" "
        )


# --- 2. missing from care (county 5.4) ------------------------------------------------------


def test_missing_from_care_tells_the_cme_officer(school, make_user, today):
    officer = make_user(Role.CME_OFFICER)
    vs = make_user(Role.VIRTUAL_SCHOOL)
    case = case_in_state(
        S.TRACKING, school=school, assigned_officer=officer,
        child=ChildFactory.create(in_care=True),
    )  # fmt: skip
    response = _api(
        _logged_in(vs), case, action="record_missing_from_care",
        missing_since=(today - dt.timedelta(days=2)).isoformat(),
        social_worker="Pat Worker, Children in Care team", reported_to_police="yes",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    report = MissingFromCareReport.objects.get(case=case)
    assert report.social_worker.startswith("Pat Worker")
    message = Message.objects.get(kind="missing_from_care")
    assert message.recipient == officer
    assert "missing from home or care protocol" in _last_entry(case)


def test_missing_from_care_is_only_for_a_child_in_care(school, make_user, today):
    actor = Actor(user=make_user(Role.CME_OFFICER))
    case = case_in_state(S.TRACKING, school=school, child=ChildFactory.create(in_care=False))
    with pytest.raises(PreconditionFailed, match="for a child in care"):
        services.case_record_missing_from_care(
            actor=actor, case=case, missing_since=today, social_worker="A Worker"
        )
    client = _logged_in(actor.user)
    url = reverse("cases:case-detail", args=[case.pk])
    assert "missing from care" not in client.get(url).content.decode()


def test_missing_from_care_with_nobody_assigned_tells_the_cme_team(school, make_user, today):
    officers = [make_user(Role.CME_OFFICER), make_user(Role.CME_MANAGER)]
    case = case_in_state(S.LOCATED, school=school, child=ChildFactory.create(in_care=True))
    services.case_record_missing_from_care(
        actor=Actor(user=make_user(Role.VIRTUAL_SCHOOL)), case=case, missing_since=today,
        social_worker="A Worker",
    )  # fmt: skip
    told = set(Message.objects.filter(kind="missing_from_care").values_list("recipient", flat=True))
    assert {u.pk for u in officers} <= told


# --- 2. lead professional and early help at needs assessment (national 3.6.3-3.6.4) -------


def test_needs_assessment_records_early_help_and_the_lead_professional(make_user, school, today):
    client = _logged_in(make_user(Role.CME_OFFICER))
    case = case_in_state(S.LOCATED, school=school)
    missing = _api(client, case, action="begin_needs_assessment",
                   date_of_assessment=today.isoformat())  # fmt: skip
    assert missing.status_code == 422
    assert "early help" in missing.content.decode()
    no_lead = _api(client, case, action="begin_needs_assessment",
                   date_of_assessment=today.isoformat(), early_help_assessment="yes")  # fmt: skip
    assert no_lead.status_code == 422
    assert "lead professional" in no_lead.content.decode()
    done = _api(
        client, case, action="begin_needs_assessment", date_of_assessment=today.isoformat(),
        early_help_assessment="yes", lead_professional="Jo Bloggs, Early Help team",
    )  # fmt: skip
    assert done.status_code == 200, done.content
    assert (done.json()["early_help_assessment"], done.json()["lead_professional"]) == (
        "yes",
        "Jo Bloggs, Early Help team",
    )
    case.refresh_from_db()
    assert (case.early_help_assessment, case.lead_professional) == (
        "yes", "Jo Bloggs, Early Help team",
    )  # fmt: skip
    page = client.get(reverse("cases:case-detail", args=[case.pk])).content.decode()
    assert "Jo Bloggs, Early Help team" in page


def test_transition_not_allowed_is_the_refusal_type():
    assert issubclass(services.CaseClosed, TransitionNotAllowed)
