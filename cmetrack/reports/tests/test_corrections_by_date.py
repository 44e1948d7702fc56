"""Correcting the past (issue 17): a move's effective date corrected after it was
recorded, and the located route as a dated fact. The figures and the DfE return on a date
follow the correction; the earlier values are kept; each correction is audited.

Census day autumn 2025: Thursday 2 October 2025."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases import services as cs
from cmetrack.cases.lifecycle import (
    CaseState,
    HomeEducationEvidence,
    LocatedRoute,
    PreconditionFailed,
)
from cmetrack.cases.models import Case, CaseFact, CaseFactKind, ReferralRoute
from cmetrack.cases.permissions import CaseActionForbidden
from cmetrack.reports import dfe
from cmetrack.reports.tests.test_history import ACTOR, AUTUMN_25, Clock, at, buckets, clock, pupil

pytestmark = pytest.mark.django_db
D = dt.date
TODAY = D(2025, 11, 20)
__all__ = ["clock"]  # the fixture, imported for these tests


def tracked(clk: Clock, referred: dt.date | None = None) -> Case:
    referred = referred or D(2025, 9, 1)
    clk.day = referred
    case = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.AGENCY, date_referred=referred
    )
    return cs.case_start_tracking(actor=ACTOR, case=case)


def located(clk: Clock, case: Case, route: LocatedRoute, day: dt.date, **kw: object) -> Case:
    clk.day = day
    return cs.case_locate(
        actor=ACTOR,
        case=case,
        where="Found",
        route=route,
        located_on=day,
        **kw,  # type: ignore[arg-type]
    )


# --- 3. a move's effective date, corrected -------------------------------------------------


def test_correcting_the_date_located_moves_the_census_count(clock: Clock, make_user: Any) -> None:
    """Located on a roll, recorded as 1 October (not CME on the 2 October census); it was
    really 10 October, so the child was CME on census day."""
    manager = Actor(user=make_user(Role.CME_MANAGER))
    school = SchoolFactory.create()
    case = located(clock, tracked(clock), LocatedRoute.ON_ROLL, D(2025, 10, 1), school=school)
    clock.day = TODAY
    assert at("cme", D(2025, 10, 2), TODAY) == 0
    assert dfe.dfe_return("autumn", 2025, today=TODAY).cme["Total"] == {"Total": 0}
    change = case.state_changes.get(to_state=CaseState.LOCATED)
    with pytest.raises(PreconditionFailed, match="reason"):
        cs.case_correct_state_date(
            actor=manager, case=case, change=change.pk, effective_on=D(2025, 10, 10), reason=""
        )
    with pytest.raises(PreconditionFailed, match="future"):
        cs.case_correct_state_date(
            actor=manager, case=case, change=change.pk, effective_on=D(2025, 11, 21), reason="x"
        )
    tracking = case.state_changes.get(to_state=CaseState.TRACKING)
    with pytest.raises(PreconditionFailed, match="after the case's next move"):
        cs.case_correct_state_date(
            actor=manager, case=case, change=tracking.pk, effective_on=D(2025, 10, 5), reason="x"
        )
    case = cs.case_correct_state_date(
        actor=manager,
        case=case,
        change=change.pk,
        effective_on=D(2025, 10, 10),
        reason="The school confirmed the child started on 10 October",
    )
    assert case.located_on == D(2025, 10, 10)
    change.refresh_from_db()
    assert change.effective_on == D(2025, 10, 10)
    (kept,) = change.corrections.all()
    assert (kept.effective_on_before, kept.effective_on_after) == (D(2025, 10, 1), D(2025, 10, 10))
    # The figures follow: CME on census day, not after 10 October.
    assert at("cme", D(2025, 10, 2), TODAY) == 1
    assert at("cme", D(2025, 10, 10), TODAY) == 0
    assert dfe.dfe_return("autumn", 2025, today=TODAY).cme["Total"] == {"Total": 1}
    # The route's start followed the date located (the old row kept, superseded).
    rows = CaseFact.objects.filter(case=case, kind=CaseFactKind.LOCATED_ROUTE)
    assert sorted((r.effective_on, r.superseded_at is None) for r in rows) == [
        (D(2025, 10, 1), False),
        (D(2025, 10, 10), True),
    ]
    event = AuditEvent.objects.filter(object_id=str(case.pk), action="update").latest("id")
    assert "Corrected the date" in event.summary
    assert event.changes["before"]["effective_on"] == "2025-10-01"
    assert event.changes["after"]["effective_on"] == "2025-10-10"
    assert case.chronology.last().kind == "correction"  # type: ignore[union-attr]


def test_a_closing_date_corrected_on_a_closed_case(clock: Clock, make_user: Any) -> None:
    manager = Actor(user=make_user(Role.CME_MANAGER))
    clock.day = D(2025, 9, 1)
    case = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.PUBLIC, date_referred=D(2025, 9, 1)
    )
    clock.day = D(2025, 9, 25)
    case = cs.case_close(actor=ACTOR, case=case, outcome="not_cme", reason="A duplicate")
    clock.day = TODAY
    assert at("cme", D(2025, 10, 2), TODAY) == 0
    closing = case.state_changes.get(to_state=CaseState.CLOSED)
    case = cs.case_correct_state_date(
        actor=manager, case=case, change=closing.pk, effective_on=D(2025, 10, 6),
        reason="Closed on the 25th by mistake; the duplicate was found on 6 October",
    )  # fmt: skip
    assert (case.state, case.closed_on) == (CaseState.CLOSED, D(2025, 10, 6))
    assert at("cme", D(2025, 10, 2), TODAY) == 1
    assert at("cme", D(2025, 10, 6), TODAY) == 0


def test_only_the_cme_team_corrects_a_moves_date_and_not_the_opening(
    clock: Clock, make_user: Any
) -> None:
    case = tracked(clock)
    clock.day = TODAY
    slo = Actor(user=make_user(Role.SLO))
    manager = Actor(user=make_user(Role.CME_MANAGER))
    move = case.state_changes.get(to_state=CaseState.TRACKING)
    with pytest.raises(CaseActionForbidden):
        cs.case_correct_state_date(
            actor=slo, case=case, change=move.pk, effective_on=D(2025, 9, 2), reason="x"
        )
    opening = case.state_changes.get(from_state="")
    with pytest.raises(PreconditionFailed, match="date referred in"):
        cs.case_correct_state_date(
            actor=manager, case=case, change=opening.pk, effective_on=D(2025, 9, 2), reason="x"
        )


def test_a_moves_date_is_corrected_on_the_page_and_the_api(
    clock: Clock, client: Any, make_user: Any
) -> None:
    case = tracked(clock)
    clock.day = TODAY
    manager = make_user(Role.CME_MANAGER)
    client.force_login(manager)
    move = case.state_changes.get(to_state=CaseState.TRACKING)
    url = f"/cases/{case.pk}/actions/correct_state_date/"
    page = client.get(url)
    assert page.status_code == 200
    assert "Tracking, took effect on" in page.content.decode()
    refused = client.post(url, {"expected_version": case.version, "change": move.pk,
                                "effective_on-day": "5", "effective_on-month": "9",
                                "effective_on-year": "2025"})  # fmt: skip
    assert refused.status_code == 200
    assert "Give the reason for the correction" in refused.content.decode()
    done = client.post(url, {"expected_version": case.version, "change": move.pk,
                             "effective_on-day": "5", "effective_on-month": "9",
                             "effective_on-year": "2025", "reason": "Keyed late"})  # fmt: skip
    assert done.status_code == 302
    move.refresh_from_db()
    assert move.effective_on == D(2025, 9, 5)
    case.refresh_from_db()
    api = client.post(
        f"/api/v1/cases/{case.pk}/transitions",
        data={"action": "correct_state_date", "expected_version": case.version,
              "change": str(move.pk), "effective_on": "2025-09-03", "reason": "Checked the file"},
        content_type="application/json",
    )  # fmt: skip
    assert api.status_code == 200, api.content
    move.refresh_from_db()
    assert move.effective_on == D(2025, 9, 3)
    assert [c.effective_on_after for c in move.corrections.all()] == [
        D(2025, 9, 5),
        D(2025, 9, 3),
    ]


# --- 4. the located route, a dated fact ----------------------------------------------------


def test_a_route_that_changed_later_counts_as_it_was_on_census_day(clock: Clock) -> None:
    """Located living here on 15 September (CME: not in education); found on a school roll
    from 20 October. On the 2 October census the child counts as CME; from 20 October not."""
    school = SchoolFactory.create()
    case = located(clock, tracked(clock), LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
                   D(2025, 9, 15))  # fmt: skip
    clock.day = D(2025, 10, 25)
    case = cs.case_correct_located_route(
        actor=ACTOR, case=case, route=LocatedRoute.ON_ROLL, school=school,
        effective_on=D(2025, 10, 20), reason="Admitted to the school on 20 October",
    )  # fmt: skip
    assert (case.located_route, case.destination_school) == (LocatedRoute.ON_ROLL, school)
    clock.day = TODAY
    assert at("cme", D(2025, 10, 2), TODAY) == 1
    assert at("cme", D(2025, 10, 20), TODAY) == 0
    assert at("not_in_education", D(2025, 10, 2), TODAY) == 1
    assert at("not_in_education", D(2025, 10, 20), TODAY) == 0
    assert buckets("not_in_education", "located_route", D(2025, 10, 2), TODAY) == {
        LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION.value: 1
    }
    assert dfe.dfe_return("autumn", 2025, today=TODAY).cme["Total"] == {"Total": 1}
    # Both rows hold, each for its own days: nothing superseded.
    rows = CaseFact.objects.filter(case=case, kind=CaseFactKind.LOCATED_ROUTE)
    assert sorted((r.effective_on, r.value, r.superseded_at) for r in rows) == [
        (D(2025, 9, 15), "living_here", None),
        (D(2025, 10, 20), "on_roll", None),
    ]
    assert AUTUMN_25.start <= D(2025, 10, 20)


def test_a_route_wrong_from_the_start_is_corrected_and_the_old_one_kept(clock: Clock) -> None:
    """Recorded as home educated on 15 September; it was wrong (the child lives here, not
    in education): CME on census day once corrected, and the old row is kept."""
    case = located(clock, tracked(clock), LocatedRoute.HOME_EDUCATED, D(2025, 9, 15),
                   home_education_evidence=HomeEducationEvidence.PARENT_NOTICE,
                   home_education_evidence_on=D(2025, 9, 14))  # fmt: skip
    clock.day = TODAY
    assert at("cme", D(2025, 10, 2), TODAY) == 0
    with pytest.raises(PreconditionFailed, match="reason"):
        cs.case_correct_located_route(
            actor=ACTOR, case=case, route=LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION, reason=""
        )
    case = cs.case_correct_located_route(
        actor=ACTOR, case=case, route=LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
        reason="The parent's letter was about a sibling",
    )  # fmt: skip
    assert case.located_route == LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION
    assert case.home_education_evidence == ""
    assert at("cme", D(2025, 10, 2), TODAY) == 1
    assert dfe.dfe_return("autumn", 2025, today=TODAY).cme["Total"] == {"Total": 1}
    old, new = CaseFact.objects.filter(case=case, kind=CaseFactKind.LOCATED_ROUTE).order_by("id")
    assert (old.value, old.superseded_by_id) == ("home_educated", new.pk)
    assert (new.value, new.effective_on, new.superseded_at) == ("living_here", D(2025, 9, 15), None)
    event = AuditEvent.objects.filter(object_type="cases.casefact").latest("id")
    assert "Corrected the located route" in event.summary
    assert event.changes["reason"] == "The parent's letter was about a sibling"


def test_a_route_correction_needs_the_routes_evidence_and_a_located_case(clock: Clock) -> None:
    case = located(clock, tracked(clock), LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
                   D(2025, 9, 15))  # fmt: skip
    clock.day = TODAY
    with pytest.raises(PreconditionFailed, match="needs the school"):
        cs.case_correct_located_route(
            actor=ACTOR, case=case, route=LocatedRoute.ON_ROLL, reason="On roll"
        )
    with pytest.raises(PreconditionFailed, match="only with evidence"):
        cs.case_correct_located_route(
            actor=ACTOR, case=case, route=LocatedRoute.HOME_EDUCATED, reason="EHE"
        )
    with pytest.raises(PreconditionFailed, match="before the child was located"):
        cs.case_correct_located_route(
            actor=ACTOR, case=case, route=LocatedRoute.MOVED_LA, reason="x",
            effective_on=D(2025, 9, 14),
        )  # fmt: skip
    other = tracked(clock)
    clock.day = TODAY
    with pytest.raises(PreconditionFailed, match="while the case is located"):
        cs.case_correct_located_route(
            actor=ACTOR, case=other, route=LocatedRoute.ON_ROLL, reason="x"
        )


def test_the_cme_full_year_reads_the_route_of_the_day_located(clock: Clock) -> None:
    """Located on a roll on 15 September 2025 then corrected to living here from that
    day: counted as CME at some time in 2025/26 (the autumn 2026 return's full year)."""
    school = SchoolFactory.create()
    case = located(clock, tracked(clock, D(2025, 9, 10)), LocatedRoute.ON_ROLL,
                   D(2025, 9, 15), school=school)  # fmt: skip
    clock.day = D(2025, 9, 20)
    cs.case_correct_located_route(
        actor=ACTOR, case=case, route=LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
        reason="The school had not admitted the child",
    )  # fmt: skip
    assert dfe._cme_full_year(2025, today=D(2026, 10, 20)) == 1


def test_the_case_page_offers_the_route_correction_and_shows_the_history(
    clock: Clock, client: Any, make_user: Any
) -> None:
    case = located(clock, tracked(clock), LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
                   D(2025, 9, 15))  # fmt: skip
    clock.day = TODAY
    client.force_login(make_user(Role.CME_OFFICER))
    school = SchoolFactory.create()
    url = f"/cases/{case.pk}/actions/correct_route/"
    assert url in client.get(f"/cases/{case.pk}/").content.decode()
    done = client.post(url, {"expected_version": case.version, "route": "on_roll",
                             "school": school.pk, "effective_on-day": "20",
                             "effective_on-month": "10", "effective_on-year": "2025",
                             "reason": "Admitted on 20 October"})  # fmt: skip
    assert done.status_code == 302
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert "Route history" in page
    assert "On a school roll from 20 October 2025" in page
    assert at("cme", D(2025, 10, 2), TODAY) == 1
    assert at("cme", D(2025, 10, 21), TODAY) == 0
