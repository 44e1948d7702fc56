"""Pace into provision from the database, the DfE return, termly reports and the checklist."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.jobs.testing import run_queued
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.reports import dfe
from cmetrack.reports import selectors as sel
from cmetrack.reports.checklist import evidence_for
from cmetrack.reports.models import ChecklistRating, TermlyReport
from cmetrack.reports.periods import term
from cmetrack.reports.services import checklist_rate, termly_report_issue
from cmetrack.reports.stats import pace_stats

from .conftest import World
from .factories import case_with_history

pytestmark = pytest.mark.django_db
D = dt.date
AUTUMN = term("autumn", 2026)


@pytest.fixture
def pace_cases(db: None) -> dict[str, Case]:
    """(referred, determined, moved) for each case; days worked out in the test below."""
    rows = {
        "p1": (D(2026, 9, 1), D(2026, 9, 11), D(2026, 9, 21)),
        "p2": (D(2026, 9, 5), D(2026, 9, 15), D(2026, 10, 5)),
        "p3": (D(2026, 9, 1), D(2026, 9, 21), D(2026, 10, 1)),
        "p4": (D(2026, 9, 10), D(2026, 9, 30), D(2026, 11, 9)),
        "p5": (D(2026, 10, 1), D(2026, 10, 31), None),
        # Determined on 31 August, the last day of the summer term: not in autumn.
        "p6": (D(2026, 6, 1), D(2026, 8, 31), D(2026, 9, 2)),
        # Wrong dates: determined before referred.
        "p7": (D(2026, 10, 10), D(2026, 10, 5), None),
    }
    return {
        k: CaseFactory.create(
            date_referred=r, date_provision_determined=d, date_moved_into_provision=m
        )
        for k, (r, d, m) in rows.items()
    }


def _stats(measure: str, period: Any = AUTUMN) -> Any:
    histogram, out_of_order = sel.pace_histogram(sel.PACE_MEASURES[measure], period)
    return pace_stats(histogram), out_of_order


def test_referral_to_determined_with_a_tied_mode(pace_cases: dict[str, Case]) -> None:
    # p1 10, p2 10, p3 20, p4 20, p5 30 days; p6 is in summer; p7 is out of order.
    s, out_of_order = _stats("referral_to_determined")
    assert s.distribution == ((10, 2), (20, 2), (30, 1))
    assert (s.cases, s.mean, s.median, s.modes, s.mode) == (5, 18.0, 20.0, (10, 20), 10)
    assert (s.minimum, s.maximum, s.range) == (10, 30, 20)
    assert out_of_order == 1
    summer, _ = _stats("referral_to_determined", term("summer", 2026))
    assert summer.distribution == ((91, 1),)  # p6: 1 Jun to 31 Aug


def test_referral_to_provision(pace_cases: dict[str, Case]) -> None:
    # Moved in autumn: p1 20, p2 30, p3 30, p4 60, p6 93 days.
    s, _ = _stats("referral_to_provision")
    assert (s.cases, s.mean, s.median, s.modes) == (5, 46.6, 30.0, (30,))
    assert (s.minimum, s.maximum) == (20, 93)
    over = sel.pace_over(sel.PACE_MEASURES["referral_to_provision"], AUTUMN, 25)
    assert set(over.values_list("pk", flat=True)) == {
        pace_cases[k].pk for k in ("p2", "p3", "p4", "p6")
    }


def test_determined_to_provision(pace_cases: dict[str, Case]) -> None:
    # p1 10, p2 20, p3 10, p4 40, p6 2 days.
    s, _ = _stats("determined_to_provision")
    assert (s.cases, s.mean, s.median, s.mode, s.minimum, s.maximum) == (5, 16.4, 10.0, 10, 2, 40)


def test_pace_page_lists_cases_over_the_threshold(
    client: Client, make_user: Any, pace_cases: dict[str, Case]
) -> None:
    client.force_login(make_user(Role.CME_OFFICER))
    q = "from=2026-09-01&to=2026-12-31&threshold=25"
    html = client.get(reverse("reports:pace") + "?" + q).content.decode()
    assert "4 cases took more than 25 days" in html
    over = client.get(
        reverse("reports:pace-over", args=["referral_to_provision"]) + "?" + q
    ).content.decode()
    for k in ("p2", "p3", "p4", "p6"):
        assert pace_cases[k].reference in over
    assert pace_cases["p1"].reference not in over


# --- the DfE return -------------------------------------------------------------------


def test_dfe_return_autumn(world: World) -> None:
    ret = dfe.dfe_return("autumn", 2026, today=D(2026, 11, 20))
    assert ret.census == D(2026, 10, 1)
    # On 1 Oct: A (tracking), B (dormant), C (received that day); D and F closed or not yet.
    assert ret.cme["Total"] == {"Total": 3}
    assert ret.cme["Sex"] == {"Female": 2, "Male": 1, "Unknown": 0}
    years = {k: v for k, v in ret.cme["Year group"].items() if v}
    assert years == {"Year 3": 1, "Year 7": 1, "Year 9": 1}
    lengths = {k: v for k, v in ret.cme["Length of time missing education"].items() if v}
    assert lengths == {
        "Less than 1 month": 1,  # C, referred on census day
        "1 month to less than 3 months": 1,  # A, referred 1 Sep: exactly one month
        "3 months to less than 6 months": 1,  # B, referred 15 Jun
    }
    reasons = {k: v for k, v in ret.cme["Primary reason for CME"].items() if v}
    assert reasons == {"Not known": 3}
    assert ret.reason_not_recorded == 3
    # F's case closed as home educated on 20 Sep.
    assert ret.ehe["Total"] == {"Total": 1}
    assert ret.ehe["Sex"]["Female"] == 1
    assert ret.ehe["Year group"]["Year 8"] == 1
    # 2025/26: E (spring–summer) and B (from June); D has no date of birth.
    assert ret.cme_full_year == 2
    assert ret.problem_total == 0
    rows = ret.csv_rows()
    assert rows[0][:4] == ("cme_census", "202627", "Autumn term", "Local authority")
    assert rows[0][6:] == ("Total", "Total", 3)
    full_year = [r for r in rows if r[0] == "cme_full_year"]
    # The full-year item is the previous academic year's (2025/26).
    assert len(full_year) == 1
    assert full_year[0][:4] == ("cme_full_year", "202526", "Academic year", "Local authority")
    assert full_year[0][6:] == ("Total", "Total", 2)
    # SEN status and child in need / protection, for CME and EHE (B has an EHC plan).
    assert ret.cme["SEN status"] == {"EHC plan": 1, "SEN support": 0, "No SEN": 2}
    assert ret.cme["Child in need or child protection plan"] == {
        "Child protection plan": 0,
        "Child in need": 0,
        "Neither": 3,
    }
    assert ret.ehe["SEN status"]["No SEN"] == 1
    assert ret.ehe["Primary reason for EHE"]["Not known"] == 1
    ehe_year = {r[7]: r[8] for r in rows if r[0] == "ehe_full_year"}
    assert ehe_year["Home educated at any time"] == 0  # F went on the list in 2026/27


def test_dfe_validation_report_lists_records_that_cannot_be_counted(world: World) -> None:
    no_dob = ChildFactory.create(dob=None)
    case = case_with_history(
        child=no_dob,
        referred=D(2026, 9, 20),
        route="public",
        history=[("received", D(2026, 9, 20))],
    )
    toddler = ChildFactory.create(dob=D(2023, 5, 1))
    case_with_history(
        child=toddler,
        referred=D(2026, 9, 20),
        route="public",
        history=[("received", D(2026, 9, 20))],
    )
    ret = dfe.dfe_return("autumn", 2026, today=D(2026, 11, 20))
    assert ret.cme["Total"] == {"Total": 3}  # neither is counted
    assert ret.problem_total == 1
    assert ret.problems[0].case_id == case.pk
    assert ret.problems[0].problem == "Date of birth not recorded"
    # The rest: counted cases (and the toddler's) whose reason is not recorded.
    assert {p.problem for p in ret.problems[1:]} == {
        "Primary reason for missing education not recorded"
    }
    assert case.pk not in {p.case_id for p in ret.problems[1:]}
    assert ret.not_school_age == 1


def test_dfe_reason_comes_from_the_case(world: World) -> None:
    """Each counted child falls under the reason recorded on the case missing education on
    census day; the rest under "Not known"."""

    on_census = sel.cases_in_states_at(D(2026, 10, 1), sel.CME_STATES, today=D(2026, 11, 20))
    first, second = list(on_census.order_by("pk"))[:2]
    Case.objects.filter(pk=first.pk).update(cme_reason="arrived_from_abroad")
    Case.objects.filter(pk=second.pk).update(cme_reason="left_no_destination")
    ret = dfe.dfe_return("autumn", 2026, today=D(2026, 11, 20))
    reasons = {k: v for k, v in ret.cme["Primary reason for CME"].items() if v}
    assert reasons == {
        "Arrived from outside the UK": 1,
        "Left a school with no known destination": 1,
        "Not known": 1,
    }
    assert ret.reason_not_recorded == 1
    # Census day today: the cases' current states, through the ORM; same reason labels.
    now = dfe.dfe_return("autumn", 2026, today=D(2026, 10, 1))
    assert sum(now.cme["Primary reason for CME"].values()) == now.cme["Total"]["Total"]
    assert set(now.cme["Primary reason for CME"]) == set(ret.cme["Primary reason for CME"])


def test_dfe_csv_download(client: Client, make_user: Any, world: World) -> None:
    client.force_login(make_user(Role.CME_MANAGER))
    response = client.get(
        reverse("reports:export", args=["dfe", "csv"]) + "?season=autumn&year=2026"
    )
    body = b"".join(response.streaming_content).decode()  # type: ignore[attr-defined]
    assert body.splitlines()[0] == ",".join(dfe.CSV_HEADER)
    assert AuditEvent.objects.filter(action="export", object_id="dfe-return-autumn-2026").exists()


# --- termly reports ----------------------------------------------------------------------


@pytest.mark.pdf
def test_termly_report_is_issued_and_kept(world: World, make_user: Any) -> None:
    manager = make_user(Role.CME_MANAGER)
    report = termly_report_issue(
        actor=Actor(user=manager, ip_address=None), season="autumn", year=2026, notes="For members."
    )
    assert bytes(report.pdf)[:5] == b"%PDF-"
    assert "termly report, Autumn 2026" in report.html
    assert "For members." in report.html
    headline = {h["title"]: h["total"] for h in report.figures["headlines"]}
    assert headline["New cases (date referred in the period)"] == 4
    assert headline["Cases closed, by outcome"] == 2
    assert report.issued_by == manager
    assert (
        AuditEvent.objects.filter(action="create", object_type="reports.termlyreport").count() == 1
    )
    # A second issue is a new report; the first is kept as it was.
    termly_report_issue(actor=Actor(user=manager, ip_address=None), season="autumn", year=2026)
    assert TermlyReport.objects.count() == 2


def test_termly_report_refuses_a_future_term(db: None) -> None:
    with pytest.raises(ValidationError):
        termly_report_issue(actor=Actor.system("test"), season="autumn", year=2099)
    with pytest.raises(ValidationError):
        termly_report_issue(actor=Actor.system("test"), season="winter", year=2026)
    assert TermlyReport.objects.count() == 0


@pytest.mark.pdf
def test_termly_report_command(world: World) -> None:
    out = StringIO()
    call_command("termly_report", "--term", "autumn", "--year", "2026", stdout=out)
    assert "Issued Children missing education: termly report, Autumn 2026" in out.getvalue()
    report = TermlyReport.objects.get()
    assert report.issued_by_label == "system: termly_report"
    with pytest.raises(CommandError):
        call_command("termly_report", "--term", "autumn", "--year", "2099")


@pytest.mark.pdf
def test_termly_pages(client: Client, make_user: Any, world: World) -> None:
    client.force_login(make_user(Role.CME_OFFICER))
    # Officers read the history but do not issue.
    assert (
        client.post(
            reverse("reports:termly-history"), {"season": "autumn", "year": "2026"}
        ).status_code
        == 403
    )
    client.force_login(make_user(Role.AUDITOR))
    response = client.post(reverse("reports:termly-history"), {"season": "autumn", "year": "2026"})
    # Issued in the background: the page follows the progress, then opens the report.
    assert response.status_code == 302
    issuing = response["Location"]
    assert issuing.startswith("/reports/termly/issuing/")
    waiting = client.get(issuing)
    assert "Waiting for the background worker" in waiting.content.decode()
    assert client.get(issuing, {"format": "json"}).json()["finished"] is False
    assert not TermlyReport.objects.exists()
    run_queued()
    report = TermlyReport.objects.get()
    progress = client.get(issuing, {"format": "json"}).json()
    assert (progress["finished"], progress["percent"]) == (True, 100)
    assert progress["href"] == reverse("reports:termly-detail", args=[report.pk])
    opened = client.get(issuing)
    assert opened["Location"] == progress["href"]
    assert client.get(opened["Location"]).status_code == 200
    # Only the person who asked follows it.
    client.force_login(make_user(Role.AUDITOR))
    assert client.get(issuing).status_code == 404
    assert report.issued_by is not None
    client.force_login(report.issued_by)
    pdf = client.get(reverse("reports:termly-pdf", args=[report.pk]))
    assert pdf.content[:5] == b"%PDF-"
    bad = client.post(reverse("reports:termly-history"), {"season": "autumn", "year": "soon"})
    assert bad.status_code == 400
    assert "There is a problem" in bad.content.decode()


# --- the checklist ---------------------------------------------------------------------


def test_checklist_ratings_keep_history(make_user: Any, world: World) -> None:
    manager = make_user(Role.CME_MANAGER)
    actor = Actor(user=manager, ip_address=None)
    with pytest.raises(ValidationError) as err:
        checklist_rate(actor=actor, point=3, rating="N")
    assert "plan" in err.value.message_dict
    with pytest.raises(ValidationError):
        checklist_rate(actor=actor, point=23, rating="A")
    checklist_rate(actor=actor, point=3, rating="N", plan="Start termly reporting.")
    checklist_rate(actor=actor, point=3, rating="A", notes="Reports issued.")
    history = list(ChecklistRating.objects.filter(point=3).order_by("recorded_at", "id"))
    assert [r.rating for r in history] == ["N", "A"]
    assert history[0].plan == "Start termly reporting."
    assert AuditEvent.objects.filter(object_type="reports.checklistrating").count() == 2


@pytest.mark.pdf
def test_checklist_evidence_from_the_records(world: World) -> None:
    termly_report_issue(actor=Actor.system("test"), season="autumn", year=2026)
    [evidence] = evidence_for(3)
    assert evidence.text.startswith("1 termly reports issued, covering 1 terms")
    assert evidence.href == reverse("reports:termly-history")
    [fields] = evidence_for(9)
    assert "Every one of 7 cases" in fields.text
    assert "1 have the date provision was determined" in fields.text
    assert evidence_for(1) == []


def test_checklist_page_rates_and_shows_errors(
    client: Client, make_user: Any, world: World
) -> None:
    client.force_login(make_user(Role.CME_MANAGER))
    bad = client.post(reverse("reports:checklist"), {"point": "5", "rating": "N"})
    assert bad.status_code == 400
    html = bad.content.decode()
    assert "There is a problem" in html
    assert "Error: Self-evaluation checklist" in html
    ok = client.post(reverse("reports:checklist"), {"point": "5", "rating": "W", "notes": "x"})
    assert ok.status_code == 302
    assert ChecklistRating.objects.get().rating == "W"
    client.force_login(make_user(Role.CME_OFFICER))
    assert (
        client.post(reverse("reports:checklist"), {"point": "5", "rating": "A"}).status_code == 403
    )
