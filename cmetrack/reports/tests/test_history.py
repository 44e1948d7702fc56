"""Figures by effective date, and a past that stays put (issue 17, item 3), and the DfE
return's classification and items (item 4), on case sets built through the services with
a controlled clock, whose figures are counted by hand across census days and two school
years (2025/26 and 2026/27).

Census days: autumn 2025 is Thursday 2 October 2025; spring 2026 is Thursday 15 January
2026.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone

from cmetrack.accounts.roles import Role
from cmetrack.accounts.tests.factories import SchoolFactory
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases import services as cs
from cmetrack.cases.lifecycle import LocatedRoute, Outcome, PreconditionFailed
from cmetrack.cases.models import (
    Case,
    CaseFact,
    CaseStateChange,
    FormOfProvision,
    ReferralRoute,
)
from cmetrack.people.models import Child, ChildFact
from cmetrack.people.services import (
    child_create,
    child_fact_correct,
    child_set_vulnerabilities,
    child_update,
)
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.registers.models import (
    EheEnd,
    EheReason,
    HomeEducationNoticeKind,
    HomeEducationRecord,
)
from cmetrack.registers.services import home_education_notice_record
from cmetrack.reports import dfe
from cmetrack.reports import selectors as sel
from cmetrack.reports import services as rs
from cmetrack.reports.periods import Period

D = dt.date
ACTOR = Actor.system("test")
AUTUMN_25 = Period(D(2025, 9, 1), D(2025, 12, 31), "Autumn 2025")
AUTUMN_26 = Period(D(2026, 9, 1), D(2026, 12, 31), "Autumn 2026")


@dataclass
class Clock:
    """The service's "now": 10:00 on ``day`` (timezone.now and localdate follow it)."""

    day: dt.date

    def now(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.day, dt.time(10, 0)))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock(D(2025, 9, 1))
    monkeypatch.setattr(timezone, "now", c.now)
    return c


def pupil(**fields: Any) -> Child:
    """A child of compulsory school age in both years (Year 7 in 2025/26)."""
    return ChildFactory.create(dob=fields.pop("dob", D(2014, 3, 1)), **fields)


def at(fig: str, as_at: dt.date, today: dt.date) -> int:
    p = sel.Params(as_at=as_at, period=AUTUMN_25, today=today)
    return sel.figure_total(sel.FIGURES[fig], p)


def buckets(fig: str, dim: str, as_at: dt.date, today: dt.date) -> dict[str, int]:
    p = sel.Params(as_at=as_at, period=AUTUMN_25, today=today)
    return {b.key: b.count for b in sel.breakdown(sel.FIGURES[fig], dim, p) if b.count}


def _needs_assessment_kwargs() -> dict[str, Any]:
    """What the needs-assessment move asks for besides the date (the early help question
    where the lifecycle has it)."""
    params = inspect.signature(cs.case_begin_needs_assessment).parameters
    return {"early_help_assessment": "no"} if "early_help_assessment" in params else {}


def placed(clock: Clock, child: Child, school: Any) -> Case:
    """Referred 1 Sep 2025, tracking, located living here 10 Sep, assessed 15 Sep,
    provision determined 20 Sep, moved into provision 1 Oct 2025 (30 days)."""
    clock.day = D(2025, 9, 1)
    case = cs.case_open(
        actor=ACTOR, child=child, route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 1)
    )
    case = cs.case_start_tracking(actor=ACTOR, case=case)
    clock.day = D(2025, 9, 10)
    case = cs.case_locate(
        actor=ACTOR,
        case=case,
        where="12 Mill Lane",
        route=LocatedRoute.LIVING_HERE_NOT_IN_EDUCATION,
        located_on=D(2025, 9, 10),
    )
    clock.day = D(2025, 9, 15)
    case = cs.case_begin_needs_assessment(
        actor=ACTOR, case=case, date_of_assessment=D(2025, 9, 15), **_needs_assessment_kwargs()
    )
    clock.day = D(2025, 9, 20)
    case = cs.case_determine_provision(
        actor=ACTOR,
        case=case,
        provision_recommended=FormOfProvision.MAINSTREAM,
        date_provision_determined=D(2025, 9, 20),
    )
    clock.day = D(2025, 10, 1)
    return cs.case_move_into_provision(
        actor=ACTOR,
        case=case,
        provider=school,
        date_moved_into_provision=D(2025, 10, 1),
        provision_accessed=FormOfProvision.MAINSTREAM,
    )


# --- state by effective date ------------------------------------------------------------


@pytest.mark.django_db
def test_a_referral_keyed_late_counts_from_its_date(clock: Clock) -> None:
    clock.day = D(2025, 10, 6)  # keyed on 6 October, dated 29 September
    case = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 29)
    )
    assert case.state_changes.get().effective_on == D(2025, 9, 29)
    today = D(2025, 11, 20)
    clock.day = today
    assert at("cme", D(2025, 9, 28), today) == 0
    assert at("cme", D(2025, 10, 1), today) == 1
    assert sel.as_at_totals(sel.Params(D(2025, 10, 1), AUTUMN_25, today))["cme"] == 1
    # ...and in the 1 October (2 October 2025) census, as in September's new cases.
    assert dfe.dfe_return("autumn", 2025, today=today).cme["Total"] == {"Total": 1}
    assert sel.trend([AUTUMN_25], as_at=D(2025, 10, 2))[0].cme == 1


@pytest.mark.django_db
def test_backdating_needs_a_reason_is_audited_and_keeps_the_history_in_order(
    clock: Clock,
) -> None:
    clock.day = D(2025, 10, 1)
    case = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.AGENCY, date_referred=D(2025, 10, 1)
    )
    clock.day = D(2025, 11, 20)
    with pytest.raises(PreconditionFailed, match="earlier date than today"):
        cs.case_start_tracking(actor=ACTOR, case=case, effective_on=D(2025, 10, 5))
    with pytest.raises(PreconditionFailed, match="before the date referred"):
        cs.case_start_tracking(
            actor=ACTOR, case=case, effective_on=D(2025, 9, 30), reason="Keyed late"
        )
    with pytest.raises(PreconditionFailed, match="future"):
        cs.case_start_tracking(actor=ACTOR, case=case, effective_on=D(2025, 11, 21))
    case = cs.case_start_tracking(
        actor=ACTOR, case=case, effective_on=D(2025, 10, 5), reason="Keyed late after leave"
    )
    event = AuditEvent.objects.filter(object_id=str(case.pk), action="transition").latest("id")
    assert "took effect on 2025-10-05 (backdated)" in event.summary
    change = case.state_changes.latest("id")
    assert (change.effective_on, change.reason) == (D(2025, 10, 5), "Keyed late after leave")
    assert timezone.localdate(change.at) == D(2025, 11, 20)  # recorded when keyed
    assert buckets("cme", "state", D(2025, 10, 4), D(2025, 11, 20)) == {"received": 1}
    assert buckets("cme", "state", D(2025, 10, 5), D(2025, 11, 20)) == {"tracking": 1}


@pytest.mark.django_db
def test_a_closing_date_can_be_backdated_with_its_reason(clock: Clock) -> None:
    clock.day = D(2025, 10, 1)
    case = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.PUBLIC, date_referred=D(2025, 10, 1)
    )
    other = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.PUBLIC, date_referred=D(2025, 10, 1)
    )
    clock.day = D(2025, 10, 20)
    school = SchoolFactory.create()
    other = cs.case_start_slo_investigation(actor=ACTOR, case=other, school=school)
    today = D(2025, 11, 20)
    clock.day = today
    closed = cs.case_close(
        actor=ACTOR,
        case=case,
        outcome=Outcome.NOT_CME,
        reason="A duplicate of another referral, found on 10 November",
        effective_on=D(2025, 11, 10),
    )
    assert closed.closed_on == D(2025, 11, 10)
    assert at("cme", D(2025, 11, 9), today) == 2
    assert at("cme", D(2025, 11, 10), today) == 1
    p = sel.Params(today, Period(D(2025, 11, 1), D(2025, 11, 30), "November"), today)
    assert sel.figure_total(sel.FIGURES["closed"], p) == 1
    # Never before the case's previous move: the other case has been in SLO investigation
    # since 20 October.
    with pytest.raises(PreconditionFailed, match="last change"):
        cs.case_close(
            actor=ACTOR,
            case=other,
            outcome=Outcome.NOT_CME,
            reason="Not CME",
            effective_on=D(2025, 10, 15),
        )
    cs.case_close(
        actor=ACTOR,
        case=other,
        outcome=Outcome.NOT_CME,
        reason="Not CME: the SLO found the child attending",
        effective_on=D(2025, 10, 21),
    )
    assert at("cme", D(2025, 10, 20), today) == 2
    assert at("cme", D(2025, 10, 21), today) == 1
    assert at("cme", D(2025, 11, 10), today) == 0


# --- provision episodes -----------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_placement_a_year_later_leaves_last_years_pace_alone(clock: Clock) -> None:
    school = SchoolFactory.create()
    case = placed(clock, pupil(), school)
    measure = sel.PACE_MEASURES["referral_to_provision"]
    assert sel.pace_histogram(measure, AUTUMN_25) == ({30: 1}, 0)
    clock.day = D(2026, 10, 1)
    case = cs.case_placement_failed(actor=ACTOR, case=case, reason="Stopped attending")
    assert case.date_moved_into_provision == D(2025, 10, 1)
    assert sel.pace_histogram(measure, AUTUMN_25) == ({30: 1}, 0)
    assert sel.pace_histogram(sel.PACE_MEASURES["determined_to_provision"], AUTUMN_25) == (
        {11: 1},
        0,
    )
    # In provision a year ago; missing education again since the placement failed.
    today = D(2026, 10, 20)
    clock.day = today
    assert at("in_provision", D(2025, 10, 15), today) == 1
    assert at("cme", D(2025, 10, 15), today) == 0
    assert at("cme", D(2026, 10, 2), today) == 1
    clock.day = D(2026, 11, 2)
    cs.case_move_into_provision(
        actor=ACTOR,
        case=case,
        provider=school,
        date_moved_into_provision=D(2026, 11, 2),
        provision_accessed=FormOfProvision.MAINSTREAM,
    )
    episodes = list(case.provision_episodes.values_list("started_on", "ended_on"))
    assert episodes == [(D(2025, 10, 1), D(2026, 10, 1)), (D(2026, 11, 2), None)]
    # Pace counts each case's first move into provision: still last year's.
    assert sel.pace_histogram(measure, AUTUMN_25) == ({30: 1}, 0)
    assert sel.pace_histogram(measure, AUTUMN_26) == ({}, 0)


# --- dated facts --------------------------------------------------------------------------


@pytest.mark.django_db
def test_re_recording_a_reason_leaves_last_terms_breakdown_alone(clock: Clock) -> None:
    clock.day = D(2025, 9, 5)
    case = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 1)
    )
    case = cs.case_record_circumstances(actor=ACTOR, case=case, cme_reason="moved_into_area")
    first = CaseFact.objects.get(case=case, kind="reason")
    assert first.effective_on == D(2025, 9, 1)  # the first reason holds from the referral
    clock.day = D(2026, 2, 10)
    case = cs.case_record_circumstances(actor=ACTOR, case=case, cme_reason="not_applied")
    assert case.cme_reason == "not_applied"
    today = D(2026, 2, 20)
    clock.day = today
    assert buckets("cme", "reason", D(2025, 12, 1), today) == {"moved_into_area": 1}
    assert buckets("cme", "category", D(2025, 12, 1), today) == {"awaiting_place": 1}
    assert buckets("cme", "reason", D(2026, 2, 15), today) == {"not_applied": 1}
    p = sel.Params(D(2025, 12, 1), AUTUMN_25, today)
    cases = sel.figure_cases(sel.FIGURES["cme"], p, dimension="reason", value="moved_into_area")
    assert list(cases.values_list("pk", flat=True)) == [case.pk]
    # A backdated re-recording needs the reason it is late, and changes only its days.
    with pytest.raises(PreconditionFailed, match="earlier date than today"):
        cs.case_record_circumstances(
            actor=ACTOR, case=case, cme_reason="never_on_roll", effective_on=D(2026, 1, 1)
        )
    cs.case_record_circumstances(
        actor=ACTOR,
        case=case,
        cme_reason="never_on_roll",
        effective_on=D(2026, 1, 1),
        backdate_reason="The family told us at the January visit",
    )
    assert buckets("cme", "reason", D(2025, 12, 1), today) == {"moved_into_area": 1}
    assert buckets("cme", "reason", D(2026, 1, 15), today) == {"never_on_roll": 1}
    assert buckets("cme", "reason", D(2026, 2, 15), today) == {"not_applied": 1}
    spring = dfe.dfe_return("spring", 2026, today=today)  # census 15 January 2026
    label = dfe.CME_REASON_LABELS["never_on_roll"]
    assert {k: v for k, v in spring.cme["Primary reason for CME"].items() if v} == {label: 1}


@pytest.mark.django_db
def test_a_child_coming_into_care_now_leaves_last_march_alone(clock: Clock) -> None:
    child = pupil()
    clock.day = D(2025, 9, 1)
    case = cs.case_open(
        actor=ACTOR, child=child, route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 1)
    )
    cs.case_start_tracking(actor=ACTOR, case=case)
    clock.day = D(2026, 4, 10)
    child_update(actor=ACTOR, child=child, in_care=True)
    child.refresh_from_db()
    assert child.in_care
    today = D(2026, 4, 20)
    clock.day = today
    assert buckets("cme", "in_care", D(2026, 3, 31), today) == {"False": 1}
    assert buckets("cme", "in_care", D(2026, 4, 15), today) == {"True": 1}
    # A correction: in care from 1 March after all. The old row is kept, superseded.
    fact = ChildFact.objects.get(child=child, kind="in_care", value="1")
    with pytest.raises(ValidationError):
        child_fact_correct(actor=ACTOR, fact=fact, value=True, reason="")
    child_fact_correct(
        actor=ACTOR,
        fact=fact,
        value=True,
        effective_on=D(2026, 3, 1),
        reason="The care order was made on 1 March",
    )
    fact.refresh_from_db()
    assert fact.superseded_at is not None
    assert fact.superseded_by is not None
    assert buckets("cme", "in_care", D(2026, 3, 31), today) == {"True": 1}
    assert buckets("cme", "in_care", D(2026, 2, 27), today) == {"False": 1}
    p = sel.Params(D(2026, 3, 31), AUTUMN_25, today)
    cases = sel.figure_cases(sel.FIGURES["cme"], p, dimension="in_care", value="True")
    assert list(cases.values_list("pk", flat=True)) == [case.pk]


@pytest.mark.django_db
def test_vulnerable_groups_and_sen_by_date(clock: Clock) -> None:
    child = pupil(sen_provision="K")
    clock.day = D(2025, 9, 1)
    case = cs.case_open(
        actor=ACTOR, child=child, route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 1)
    )
    clock.day = D(2026, 1, 5)
    child_set_vulnerabilities(actor=ACTOR, child=child, groups=["young_carer"])
    with pytest.raises(ValidationError):
        child_update(actor=ACTOR, child=child, sen_provision="E", effective_on=D(2025, 12, 1))
    child_update(
        actor=ACTOR,
        child=child,
        sen_provision="E",
        effective_on=D(2025, 12, 1),
        reason="EHC plan issued on 1 December, told today",
    )
    today = D(2026, 1, 20)
    clock.day = today
    assert buckets("cme", "vulnerable", D(2026, 1, 4), today) == {"": 1}
    assert buckets("cme", "vulnerable", D(2026, 1, 5), today) == {"young_carer": 1}
    p = sel.Params(D(2026, 1, 4), AUTUMN_25, today)
    none = sel.figure_cases(sel.FIGURES["cme"], p, dimension="vulnerable", value="")
    assert list(none.values_list("pk", flat=True)) == [case.pk]
    # SEN support until the plan; the value held before dated records stays for its days.
    assert buckets("cme", "sen", D(2025, 11, 30), today) == {"K": 1}
    assert buckets("cme", "sen", D(2025, 12, 1), today) == {"E": 1}
    spring = dfe.dfe_return("spring", 2026, today=today)
    assert spring.cme["SEN status"]["EHC plan"] == 1
    autumn = dfe.dfe_return("autumn", 2025, today=today)
    assert autumn.cme["SEN status"]["SEN support"] == 1


# --- the DfE return's classification and items -------------------------------------------


@pytest.fixture
def census_world(clock: Clock) -> dict[str, Any]:
    """On 2 October 2025 (autumn census):

    - X: located on a school roll on 1 October, case not yet closed: not CME;
    - Y: on the home-education list since 1 September, and missing education since
      15 September (home education judged unsuitable): CME only;
    - Z: on the home-education list since 1 September (bullying), child protection plan;
    - W: tracking since 2 September, child in need: CME.
    In 2024/25: Z's earlier record (1 Oct 2024 to 1 Mar 2025, returned to school) with a
    section 437(1) notice (1 Nov 2024) and a school attendance order (1 Dec 2024).
    """
    school = SchoolFactory.create()
    x, y, z, w = pupil(), pupil(sex="M"), pupil(child_protection_plan=True), pupil()
    clock.day = D(2025, 9, 2)
    w_case = cs.case_open(
        actor=ACTOR, child=w, route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 2)
    )
    cs.case_start_tracking(actor=ACTOR, case=w_case)
    child_update(actor=ACTOR, child=w, child_in_need=True)
    x_case = cs.case_open(
        actor=ACTOR, child=x, route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 1)
    )
    x_case = cs.case_start_tracking(actor=ACTOR, case=x_case)
    clock.day = D(2025, 9, 15)
    y_case = cs.case_open(
        actor=ACTOR, child=y, route=ReferralRoute.LA_TEAM, date_referred=D(2025, 9, 15)
    )
    cs.case_record_circumstances(actor=ACTOR, case=y_case, cme_reason="unsuitable_ehe")
    clock.day = D(2025, 10, 1)
    cs.case_locate(
        actor=ACTOR,
        case=x_case,
        where="On the roll of the school",
        route=LocatedRoute.ON_ROLL,
        school=school,
        located_on=D(2025, 10, 1),
    )
    HomeEducationRecord.objects.create(child=y, started_on=D(2025, 9, 1))
    HomeEducationRecord.objects.create(
        child=z, started_on=D(2025, 9, 1), primary_reason=EheReason.BULLYING
    )
    earlier = HomeEducationRecord.objects.create(
        child=z,
        started_on=D(2024, 10, 1),
        ended_on=D(2025, 3, 1),
        end_reason="Back at school",
        ended_because=EheEnd.RETURNED_TO_SCHOOL,
    )
    clock.day = D(2025, 3, 1)
    home_education_notice_record(
        actor=ACTOR, record=earlier, kind=HomeEducationNoticeKind.S437_1, served_on=D(2024, 11, 1)
    )
    home_education_notice_record(
        actor=ACTOR, record=earlier, kind=HomeEducationNoticeKind.SAO, served_on=D(2024, 12, 1)
    )
    clock.day = D(2025, 11, 20)
    return {"x": x_case, "y": y, "z": z, "w": w}


@pytest.mark.django_db
def test_dfe_classifies_as_the_dfe_does(census_world: dict[str, Any]) -> None:
    today = D(2025, 11, 20)
    ret = dfe.dfe_return("autumn", 2025, today=today)
    assert ret.census == D(2025, 10, 2)
    assert ret.cme["Total"] == {"Total": 2}  # W and Y; not X (located on a roll)
    assert ret.cme["Sex"]["Male"] == 1  # Y
    assert ret.ehe["Total"] == {"Total": 1}  # Z only: Y counts as CME only
    assert ret.ehe_counted_as_cme == 1
    assert {k: v for k, v in ret.ehe["Primary reason for EHE"].items() if v} == {"Bullying": 1}
    cin_cp = ret.cme["Child in need or child protection plan"]
    assert (cin_cp["Child in need"], cin_cp["Neither"]) == (1, 1)
    assert ret.ehe["Child in need or child protection plan"]["Child protection plan"] == 1
    reasons = {k: v for k, v in ret.cme["Primary reason for CME"].items() if v}
    assert reasons == {dfe.CME_REASON_LABELS["unsuitable_ehe"]: 1, "Not known": 1}
    # EHE over 2024/25: Z on the list, started, returned to school, a 437(1) notice and
    # an order.
    assert ret.ehe_full_year == {
        "Home educated at any time": 1,
        "Started home education": 1,
        "Returned to school": 1,
        "Section 437(1) notices served": 1,
        "School attendance orders served": 1,
    }
    # The same classification on the figures: X is not missing education once located.
    assert at("cme", D(2025, 9, 30), today) == 3
    assert at("cme", D(2025, 10, 2), today) == 2
    # Today's figures agree with the history's.
    assert sel.figure_total(sel.FIGURES["cme"], sel.Params(today, AUTUMN_25, today)) == 2


@pytest.mark.django_db
def test_the_dfe_return_is_kept_as_submitted(census_world: dict[str, Any]) -> None:
    today = D(2025, 11, 20)
    submission = rs.dfe_return_submit(actor=ACTOR, season="autumn", year=2025, today=today)
    kept = bytes(submission.content)
    assert kept == dfe.dfe_return("autumn", 2025, today=today).csv_bytes()
    assert submission.sha256 == hashlib.sha256(kept).hexdigest()
    assert kept.startswith(b"data_item,time_period,")
    # Later work changes the live return; the submission does not change.
    cs.case_close(
        actor=ACTOR,
        case=Case.objects.get(child=census_world["y"]),
        outcome=Outcome.NOT_CME,
        reason="A duplicate referral",
        effective_on=D(2025, 9, 20),
    )
    assert dfe.dfe_return("autumn", 2025, today=today).csv_bytes() != kept
    response = rs.dfe_submission_download(actor=ACTOR, submission=submission)
    assert response.content == kept
    with pytest.raises(ValidationError):
        rs.dfe_return_submit(actor=ACTOR, season="summer", year=2026, today=today)


@pytest.mark.django_db
def test_state_changes_written_in_bulk_take_effect_on_the_day_keyed(clock: Clock) -> None:
    case = cs.case_open(
        actor=ACTOR, child=pupil(), route=ReferralRoute.AGENCY, date_referred=D(2025, 9, 1)
    )
    noon = timezone.make_aware(dt.datetime(2025, 9, 3, 12))
    CaseStateChange.objects.bulk_create(
        [CaseStateChange(case=case, from_state="received", to_state="tracking", at=noon)]
    )
    assert case.state_changes.latest("id").effective_on == D(2025, 9, 3)


@pytest.mark.django_db
def test_the_api_submits_lists_and_gives_back_the_file(
    census_world: dict[str, Any], make_user: Any
) -> None:
    manager, officer = Client(), Client()
    manager.force_login(make_user(Role.CME_MANAGER))
    officer.force_login(make_user(Role.CME_OFFICER))
    base = "/api/v1/reports/dfe-return/submissions"
    refused = officer.post(
        base, {"season": "autumn", "year": 2025}, content_type="application/json"
    )
    assert refused.status_code == 403
    made = manager.post(
        base,
        {"season": "autumn", "year": 2025, "notes": "Keyed in"},
        content_type="application/json",
    )
    assert made.status_code == 201
    body = made.json()
    listed = officer.get(base + "?season=autumn&year=2025").json()
    assert [s["id"] for s in listed] == [body["id"]]
    file = officer.get(f"{base}/{body['id']}/file")
    assert file.status_code == 200
    assert hashlib.sha256(file.content).hexdigest() == body["sha256"]
    assert officer.get(body["download"]).content == file.content


@pytest.mark.django_db
def test_a_child_recorded_in_care_today_was_not_in_care_last_term(clock: Clock) -> None:
    clock.day = D(2026, 4, 10)
    child = child_create(
        actor=ACTOR,
        legal_given_names="Ada",
        legal_family_name="Example",
        dob=D(2014, 3, 1),
        in_care=True,
    )
    assert ChildFact.objects.filter(child=child).count() == 1  # only the value not default
    case = cs.case_open(
        actor=ACTOR, child=child, route=ReferralRoute.AGENCY, date_referred=D(2026, 3, 1)
    )
    today = D(2026, 4, 20)
    clock.day = today
    assert buckets("cme", "in_care", D(2026, 3, 31), today) == {"False": 1}
    assert buckets("cme", "in_care", D(2026, 4, 10), today) == {"True": 1}
    assert case.child.in_care
