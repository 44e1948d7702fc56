"""Detection end to end: every rule on a small authority, ``cmetrack detect``, alert writes."""

from __future__ import annotations

import io
import json
import threading
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.audit.services import Actor
from cmetrack.cases.models import ReferralRoute
from cmetrack.cases.tests.factories import CaseFactory
from cmetrack.detection import services
from cmetrack.detection.models import (
    AdmissionAllocation,
    Alert,
    AlertRule,
    AlertState,
    DeletionReturn,
)
from cmetrack.detection.services import (
    DetectionConfig,
    alert_acknowledge,
    alert_attach_case,
    alert_dismiss,
    alert_refer,
    detection_run,
)
from cmetrack.people.tests.factories import ChildFactory
from cmetrack.referrals.models import Referral
from cmetrack.registers.models import HomeEducationRecord, RollEntry, RollSnapshot
from cmetrack.schoolcalendar.calendar import school_days_between

from .factories import AlertFactory, ClosureDayFactory, TermFactory, make_upn, school, write_csv

pytestmark = pytest.mark.django_db
SYSTEM = Actor.system("test")
A, B = "9992001", "9992002"
AS_OF = date(2025, 12, 1)
TERM = (date(2025, 9, 3), date(2025, 12, 19))
INSET = date(2025, 10, 24)
U = {n: make_upn(n) for n in range(1, 23)}


def sessions(start: date, count: int) -> list[tuple[date, str]]:
    days = school_days_between([TERM], [INSET], start, TERM[1])
    return [(d, h) for d in days for h in ("AM", "PM")][:count]


def roll(laestab: str, taken_on: date, upns: list[int], nc_year: int = 8) -> None:
    snapshot = RollSnapshot.objects.create(
        school=SCHOOLS[laestab], taken_on=taken_on, content_hash=f"{laestab}{taken_on}"
    )
    for n in upns:
        RollEntry.objects.create(
            snapshot=snapshot,
            upn=U[n],
            legal_given_name=f"Pupil{n}",
            legal_family_name="Example",
            dob=date(2013, 1, n),
            sex="F",
            nc_year=nc_year,
        )


SCHOOLS: dict[str, Any] = {}


@pytest.fixture
def authority(tmp_path: Path) -> Path:
    SCHOOLS[A], SCHOOLS[B] = school(estab="2001"), school(estab="2002")
    TermFactory.create(term_start=TERM[0], term_end=TERM[1])
    ClosureDayFactory.create(school=None, date=INSET, reason="INSET day")
    marks: list[list[Any]] = []

    def add(laestab: str, n: int, start: date, codes: list[str]) -> None:
        for (d, h), code in zip(sessions(start, len(codes)), codes, strict=True):
            marks.append([laestab, U[n], d.isoformat(), h, code])

    add(A, 1, date(2025, 11, 3), ["/"] * 2 + ["N"] * 22)  # absence_20, open at the end
    add(A, 2, date(2025, 10, 13), ["O"] * 42 + ["/"] * 6)  # absence_20 and absence_40, closed
    add(A, 3, date(2025, 9, 3), ["/"] * 124)  # present every day to 28 November
    add(A, 12, date(2025, 11, 24), ["/", "/", "/", "O"])  # in care, 75 %
    add(B, 13, date(2025, 10, 1), ["I"] * 30)  # 15 days of illness
    # A school move: 6 days absent at A, then 6 at B: one run of 12 days across both.
    add(A, 20, date(2025, 10, 13), ["N"] * 12)
    add(B, 20, date(2025, 10, 21), ["N"] * 12)
    # Dual registration: A on Monday to Wednesday, B on Thursday and Friday, absent at both
    # for 3 weeks (D at the school the pupil is not due at): one run of 15 days.
    for d, h in sessions(date(2025, 11, 3), 30):
        at_a = d.weekday() < 3
        marks.append([A, U[21], d.isoformat(), h, "N" if at_a else "D"])
        marks.append([B, U[21], d.isoformat(), h, "D" if at_a else "N"])
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "marks.csv", ["laestab", "upn", "date", "session", "code"], marks)

    roll(A, date(2025, 7, 1), [10], nc_year=6)  # Year 6 in summer, on no autumn roll
    roll(A, date(2025, 7, 2), [15], nc_year=6)  # Year 6 in summer, then home educated
    roll(A, date(2025, 10, 1), [1, 2, 3, 4, 5])
    roll(A, date(2025, 11, 3), [1, 2, 3])  # 4 and 5 left
    roll(B, date(2025, 11, 10), [5, 9, 11, 19])  # 5 found at B; 9 took the place; 11 located
    roll(A, date(2025, 11, 20), [1, 2, 3, 16])  # 16 went to A, not the allocated B
    roll(A, date(2025, 7, 3), [17], nc_year=6)  # Year 6, allocated to B, on no autumn roll
    common = {"legal_given_name": "Kim", "legal_family_name": "Example", "dob": date(2013, 2, 2)}
    DeletionReturn.objects.create(
        school=SCHOOLS[A], upn=U[6], ground="i", deleted_on=date(2025, 10, 6), **common
    )
    DeletionReturn.objects.create(
        school=SCHOOLS[A], upn=U[7], ground="f", deleted_on=date(2025, 10, 6), **common
    )
    for n in (8, 9):
        AdmissionAllocation.objects.create(
            school=SCHOOLS[B], upn=U[n], expected_start=date(2025, 11, 3), **common
        )
    for n, start in ((16, date(2025, 11, 3)), (17, date(2025, 9, 3))):
        AdmissionAllocation.objects.create(
            school=SCHOOLS[B], upn=U[n], expected_start=start, **common
        )
    # Deleted to a named school: 18 is not on B's next roll, 19 is.
    for n in (18, 19):
        DeletionReturn.objects.create(
            school=SCHOOLS[A],
            upn=U[n],
            ground="a",
            deleted_on=date(2025, 10, 6),
            destination_school=SCHOOLS[B],
            destination_start=date(2025, 10, 7),
            **common,
        )
    CaseFactory.create(child=ChildFactory.create(upn=U[11]), date_referred=date(2025, 9, 15))
    ChildFactory.create(upn=U[12], in_care=True)
    # Left with no destination, but on the home-education list: not missing.
    DeletionReturn.objects.create(
        school=SCHOOLS[A], upn=U[14], ground="g", deleted_on=date(2025, 10, 6), **common
    )
    for n, started in ((14, date(2025, 10, 8)), (15, date(2025, 9, 1))):
        HomeEducationRecord.objects.create(child=ChildFactory.create(upn=U[n]), started_on=started)
    return data


def detect(data: Path, *extra: str) -> dict[str, Any]:
    out = io.StringIO()
    call_command("detect", "--data", str(data), "--as-of", AS_OF.isoformat(), "--json", *extra,
                 stdout=out)  # fmt: skip
    result: dict[str, Any] = json.loads(out.getvalue())
    return result


#: What :func:`authority` holds: every rule, each with its children and no one else.
EVERY_RULE = sorted(
    [
        ("absence_20", U[1]),
        ("absence_20", U[2]),
        ("absence_40", U[2]),
        ("leaver_no_destination", U[4]),
        ("leaver_no_destination", U[6]),
        ("allocation_not_taken", U[8]),
        ("y6_y7_transfer", U[10]),
        ("suggest_located", U[11]),
        ("in_care_attendance", U[12]),
        ("illness_15", U[13]),
        # Year 6 allocated to B: B's autumn roll is in, and the child is on no roll.
        ("y6_y7_transfer", U[17]),
        ("allocation_not_taken", U[17]),
        ("destination_not_on_roll", U[18]),
        # Runs joined across a school move (20) and a dual registration (21).
        ("absence_20", U[20]),
        ("absence_20", U[21]),
        # 16 is on A's roll, not the allocated B's: no alert (issue 18).
    ]
)


def _rolls_read_on(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads the rolls are read from the database on."""
    threads: list[str] = []
    original = services._rolls_from_database

    def recorded() -> Any:
        threads.append(threading.current_thread().name)
        return original()

    monkeypatch.setattr(services, "_rolls_from_database", recorded)
    return threads


def test_every_rule_finds_its_children_and_no_one_else(
    authority: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = _rolls_read_on(monkeypatch)
    result = detect(authority)
    found = sorted((a["rule"], a["upn"]) for a in result["alerts"])
    assert found == EVERY_RULE
    assert Alert.objects.count() == 15
    # Inside the test's transaction the rolls are read here: another connection would not
    # see the rows it has not committed.
    assert threads == [threading.current_thread().name]


@pytest.mark.django_db(transaction=True)
def test_the_rolls_read_on_their_own_thread_give_the_same_alerts(
    authority: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = _rolls_read_on(monkeypatch)
    before = threading.active_count()
    result = detect(authority)
    assert sorted((a["rule"], a["upn"]) for a in result["alerts"]) == EVERY_RULE
    assert Alert.objects.count() == 15
    assert len(threads) == 1
    assert threads[0].startswith("detection")
    assert threading.active_count() == before  # the thread ended with the detection


@pytest.mark.django_db(transaction=True)
def test_a_failure_reading_the_rolls_on_their_thread_fails_the_detection(
    authority: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Any:
        raise RuntimeError("the rolls could not be read")

    monkeypatch.setattr(services, "_rolls_from_database", broken)
    with pytest.raises(RuntimeError, match="the rolls could not be read"):
        detect(authority)
    assert Alert.objects.count() == 0


def test_json_reports_each_run_with_its_sessions_days_gaps_and_state(authority: Path) -> None:
    runs = {r["upn"]: r for r in detect(authority)["runs"]}
    assert runs[U[1]] == {
        "upn": U[1],
        "school": A,
        "rule": "absence_20",
        "start": {"date": "2025-11-04", "session": "AM"},
        "end": {"date": "2025-11-18", "session": "PM"},
        "first_date": "2025-11-04",
        "first_session": "AM",
        "last_date": "2025-11-18",
        "last_session": "PM",
        "sessions": 22,
        "school_days": 11.0,
        "data_gaps": 16,  # 19 to 28 November (the school's last marks): no marks for them
        "open": True,
    }
    assert (runs[U[2]]["sessions"], runs[U[2]]["open"], runs[U[2]]["rule"]) == (
        42,
        False,
        "absence_40",
    )


def test_absence_alert_carries_the_marks_and_the_pupil_from_the_roll(authority: Path) -> None:
    detect(authority)
    alert = Alert.objects.get(rule=AlertRule.ABSENCE_20, upn=U[1])
    assert (alert.given_name, alert.school, alert.episode_start) == (
        "Pupil1",
        SCHOOLS[A],
        "2025-11-04 AM",
    )
    assert alert.evidence["marks"][:2] == [["2025-11-04", "AM", "N"], ["2025-11-04", "PM", "N"]]
    assert len(alert.evidence["marks"]) == 22


def test_min_sessions_lists_shorter_runs_without_alerting_on_them(authority: Path) -> None:
    result = detect(authority, "--min-sessions", "1", "--dry-run")
    short = [r for r in result["runs"] if r["upn"] == U[12]]
    assert [(r["sessions"], r["open"], r["rule"]) for r in short] == [(1, True, "below_threshold")]
    assert not [a for a in result["alerts"] if a["upn"] == U[12] and "absence" in a["rule"]]
    assert result["summary"]["absence_20"] == 4


def test_running_again_never_duplicates_an_alert(authority: Path) -> None:
    detect(authority)
    again = detect(authority)
    assert (again["created"], again["updated"]) == (0, 0)
    assert Alert.objects.count() == 15


def test_a_run_that_grows_updates_its_alert(authority: Path) -> None:
    config = DetectionConfig(as_of=date(2025, 11, 21), data_dir=authority)
    detection_run(actor=SYSTEM, config=config)
    alert = Alert.objects.get(rule=AlertRule.ABSENCE_20, upn=U[1])
    assert alert.evidence["sessions"] == 22
    report = detection_run(actor=SYSTEM, config=DetectionConfig(as_of=AS_OF, data_dir=authority))
    alert.refresh_from_db()
    assert report.updated >= 1
    assert alert.evidence["data_gaps"] == 16
    assert AuditEvent.objects.filter(object_type="detection.alert").count() == 2


def test_a_leaver_on_the_home_education_list_is_not_missing(authority: Path) -> None:
    """U14 left with no destination and U15 left Year 6 for no roll, but both are on the
    home-education list; the evidence of a real leaver names every place looked at."""
    alerts = detect(authority, "--dry-run")["alerts"]
    assert not [a for a in alerts if a["upn"] in (U[14], U[15])]
    leaver = next(a for a in alerts if a["upn"] == U[6])
    assert leaver["not_found_on"] == [
        "a later roll",
        "an addition return",
        "the home-education list",
        "an open case",
    ]
    assert leaver["how"] == "deletion return, ground (i), no destination"
    allocation = next(a for a in alerts if a["rule"] == "allocation_not_taken")
    assert allocation["not_found_on"] == [
        "the school's roll since the expected start",
        "any other school's roll since the expected start",
        "an addition return from the school",
        "the school's attendance marks",
    ]
    transfer = next(a for a in alerts if a["rule"] == "y6_y7_transfer")
    assert "the home-education list" in transfer["not_found_on"]
    HomeEducationRecord.objects.filter(child__upn=U[14]).update(ended_on=date(2025, 10, 7))
    alerts = detect(authority, "--dry-run")["alerts"]
    assert [a["rule"] for a in alerts if a["upn"] == U[14]] == ["leaver_no_destination"]


def test_a_pupil_detained_by_court_order_is_not_a_leaver_with_no_destination(
    authority: Path,
) -> None:
    """Ground (j), detained by court order: the child's whereabouts are known (the secure
    setting educates them), as for home education, death or the end of compulsory school
    age. A permanent exclusion, ground (o), still needs the authority to find the place."""
    common = {"legal_given_name": "Sam", "legal_family_name": "Example", "dob": date(2012, 5, 5)}
    detained, excluded = make_upn(30), make_upn(31)
    for upn, ground in ((detained, "j"), (excluded, "o")):
        DeletionReturn.objects.create(
            school=SCHOOLS[A], upn=upn, ground=ground, deleted_on=date(2025, 10, 6), **common
        )
    alerts = detect(authority, "--dry-run")["alerts"]
    leavers = {a["upn"] for a in alerts if a["rule"] == "leaver_no_destination"}
    assert detained not in leavers
    assert excluded in leavers


def test_the_leaver_alert_waits_for_the_configured_school_days(authority: Path) -> None:
    result = detect(authority, "--leaver-school-days", "40", "--dry-run")
    assert "leaver_no_destination" not in result["summary"]
    assert not Alert.objects.exists()


def test_calendar_files_in_the_data_folder_replace_the_database_calendar(
    authority: Path,
) -> None:
    # Without the INSET day, Friday 24 October is a school day: inside the second pupil's
    # run it is two sessions with no mark, so two data gaps.
    write_csv(authority / "terms.csv", ["term_start", "term_end"], [[TERM[0], TERM[1]]])
    write_csv(authority / "closures.csv", ["laestab", "date", "reason"], [])
    runs = {r["upn"]: r for r in detect(authority, "--dry-run")["runs"]}
    assert runs[U[2]]["data_gaps"] == 2


def test_summary_output(authority: Path) -> None:
    out = io.StringIO()
    call_command("detect", "--data", str(authority), "--as-of", "2025-12-01", stdout=out)
    text = out.getvalue()
    assert "Detection as of 01 December 2025" in text
    assert "absence_20: 4" in text
    assert "15 new alerts, 0 updated" in text


# --- What an officer does with an alert -----------------------------------------------


def test_refer_creates_a_detection_referral(make_user: Any) -> None:
    officer = make_user(Role.CME_OFFICER)
    alert = AlertFactory.create()
    alert_refer(actor=Actor(user=officer), alert=alert)
    alert.refresh_from_db()
    referral = Referral.objects.get()
    assert alert.state == AlertState.REFERRED
    assert alert.referral == referral
    assert referral.route == ReferralRoute.DETECTION
    assert "20 sessions (10.0 school days) of unexplained absence" in referral.reason
    with pytest.raises(ValidationError):
        alert_refer(actor=Actor(user=officer), alert=alert)


def test_dismiss_needs_a_reason_and_acknowledge_only_a_new_alert(make_user: Any) -> None:
    actor = Actor(user=make_user(Role.CME_OFFICER))
    alert = AlertFactory.create()
    with pytest.raises(ValidationError):
        alert_dismiss(actor=actor, alert=alert, reason="  ")
    alert_acknowledge(actor=actor, alert=alert)
    with pytest.raises(ValidationError):
        alert_acknowledge(actor=actor, alert=alert)
    alert_dismiss(actor=actor, alert=alert, reason="Family moved to Wales; CME contact told")
    alert.refresh_from_db()
    assert (alert.state, alert.dismissed_reason) == (
        AlertState.DISMISSED,
        "Family moved to Wales; CME contact told",
    )
    assert AuditEvent.objects.filter(object_type="detection.alert", object_id=alert.pk).count() == 2


def test_attach_to_an_open_case(make_user: Any) -> None:
    actor = Actor(user=make_user(Role.CME_OFFICER))
    case = CaseFactory.create()
    alert = AlertFactory.create()
    alert_attach_case(actor=actor, alert=alert, case=case)
    alert.refresh_from_db()
    assert (alert.case, alert.child, alert.state) == (case, case.child, AlertState.REFERRED)


def test_threads_and_memory_limit_are_passed_to_duckdb(
    authority: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cmetrack.detection import engine

    seen: list[tuple[Any, Any]] = []
    connect = engine.connect

    def spy(*, threads: Any = None, memory_limit: Any = None) -> Any:
        seen.append((threads, memory_limit))
        con = connect(threads=threads, memory_limit=memory_limit)
        assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
        return con

    monkeypatch.setattr(engine, "connect", spy)
    result = detect(authority, "--threads", "1", "--memory-limit", "500MB", "--dry-run")
    assert seen == [(1, "500MB")]
    assert {r["upn"] for r in result["runs"]} == {U[1], U[2]}


def test_a_child_with_an_open_case_and_no_upn_is_found_on_a_later_roll_by_matching(
    authority: Path,
) -> None:
    """The UPN join cannot see a child recorded without a UPN (or under a new one): the
    matching engine looks for every child not yet found on the later rolls (issue 7)."""
    child = ChildFactory.create(
        upn=None, legal_given_names="Mohammed", legal_family_name="Okafor",
        dob=date(2013, 5, 17), sex="M",
    )  # fmt: skip
    case = CaseFactory.create(child=child, date_referred=date(2025, 9, 20))
    twin = ChildFactory.create(
        upn=None, legal_given_names="Aisha", legal_family_name="Okafor",
        dob=date(2013, 5, 17), sex="F",
    )  # fmt: skip
    CaseFactory.create(child=twin, date_referred=date(2025, 9, 20))
    snapshot = RollSnapshot.objects.create(
        school=SCHOOLS[B], taken_on=date(2025, 11, 20), content_hash="later"
    )
    RollEntry.objects.create(
        snapshot=snapshot, upn=make_upn(40), legal_given_name="Muhammad",
        legal_family_name="Okafor", dob=date(2013, 5, 17), sex="M", nc_year=8,
    )  # fmt: skip
    located = [a for a in detect(authority)["alerts"] if a["rule"] == "suggest_located"]
    by_case = {a["case_id"]: a for a in located}
    assert by_case[case.pk]["upn"] == make_upn(40)
    assert by_case[case.pk]["school"] == B
    assert "matching engine" in by_case[case.pk]["source"]
    assert twin.cases.get().pk not in by_case  # the twin sister is not him


# --- detect --data reads columns by name, any case of extension, or says why not ----------


def test_detect_data_reads_columns_in_any_order_from_a_dot_CSV_file(authority: Path) -> None:
    original = authority / "marks.csv"
    rows = original.read_text().splitlines()
    header = rows[0].split(",")
    order = [4, 3, 2, 1, 0]  # code,session,date,upn,laestab
    lines_out = [",".join(header[i].upper() for i in order)]
    lines_out += [",".join(r.split(",")[i] for i in order) for r in rows[1:]]
    original.unlink()
    (authority / "MARKS.CSV").write_text("\n".join(lines_out) + "\n")
    result = detect(authority)
    assert result["marks"] == len(rows) - 1
    assert ("absence_40", U[2]) in {(a["rule"], a["upn"]) for a in result["alerts"]}


def test_detect_data_refuses_a_csv_that_is_not_marks_and_an_empty_folder(
    authority: Path, tmp_path: Path
) -> None:
    (authority / "notes.csv").write_text("pupil,when\nx,y\n")
    with pytest.raises(CommandError, match=r"notes.csv is not a file of marks: its header has no"):
        detect(authority)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match="has no marks"):
        detect(empty)


# --- Rules of issue 18 (item 5) on the same authority ------------------------------------


def test_allocation_alert_says_where_the_child_was_last_on_a_roll(authority: Path) -> None:
    alerts = {(a["rule"], a["upn"]): a for a in detect(authority)["alerts"]}
    assert ("allocation_not_taken", U[16]) not in alerts
    assert alerts[("allocation_not_taken", U[17])]["last_on_roll"] == {
        "school": A,
        "taken_on": "2025-07-03",
    }
    assert alerts[("allocation_not_taken", U[8])]["last_on_roll"] is None


def test_year_6_to_7_waits_for_the_destinations_autumn_roll_or_the_authoritys_date(
    authority: Path, settings: Any
) -> None:
    settings.DETECTION_Y6_Y7_DATE = "12-15"  # after AS_OF
    found = {(a["rule"], a["upn"]) for a in detect(authority)["alerts"]}
    # 17's destination (B) sent its autumn roll on 10 November: raised.
    assert ("y6_y7_transfer", U[17]) in found
    # 10 has no known destination: waits for the authority's date.
    assert ("y6_y7_transfer", U[10]) not in found
    settings.DETECTION_Y6_Y7_DATE = "11-30"
    found = {(a["rule"], a["upn"]) for a in detect(authority, "--dry-run")["alerts"]}
    assert ("y6_y7_transfer", U[10]) in found


def test_a_named_destination_whose_next_roll_lacks_the_child(authority: Path) -> None:
    alerts = {(a["rule"], a["upn"]): a for a in detect(authority)["alerts"]}
    evidence = alerts[("destination_not_on_roll", U[18])]
    assert (evidence["destination"], evidence["destination_roll"]) == (B, "2025-11-10")
    assert ("destination_not_on_roll", U[19]) not in alerts
    assert ("leaver_no_destination", U[18]) not in alerts


def test_runs_are_joined_across_a_school_move_and_a_dual_registration(authority: Path) -> None:
    alerts = {(a["rule"], a["upn"]): a for a in detect(authority)["alerts"]}
    moved = alerts[("absence_20", U[20])]
    assert (moved["school"], moved["first_session"], moved["last_session"]) == (
        B,
        "2025-10-13 AM",
        "2025-10-29 PM",
    )
    assert (moved["sessions"], moved["data_gaps"], moved["schools"]) == (24, 0, [A, B])
    dual = alerts[("absence_20", U[21])]
    assert (dual["sessions"], dual["schools"], dual["open"]) == (30, [A, B], True)
    assert ("absence_40", U[21]) not in alerts
    # Neither school alone saw 10 days: the engine's own runs are shorter.
    runs = detect(authority, "--min-sessions", "1", "--dry-run")["runs"]
    assert max(r["sessions"] for r in runs if r["upn"] in {U[20], U[21]}) == 12
