"""A school day is an increment: imports append, compaction keeps every mark, detection
carries the open runs on from its stored state, and a late correction recomputes the pupil."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cmetrack.audit.services import Actor
from cmetrack.detection import engine, importers, store
from cmetrack.detection.models import Alert, AlertRule, AttendancePartition, ImportStatus
from cmetrack.detection.services import (
    DetectionConfig,
    attendance_compact,
    detection_find,
    detection_run,
)
from cmetrack.schoolcalendar.calendar import school_days_between

from .factories import TermFactory, make_upn, school, write_csv
from .runs_support import Mark, duckdb_runs, register_marks, register_table
from .test_runs import calendars_and_marks

SYSTEM = Actor.system("test")
A, B = "9992001", "9992002"
TERM = (date(2025, 9, 3), date(2025, 12, 19))
U = {n: make_upn(n) for n in range(1, 9)}


# --- The engine: an increment, late corrections included, equals a full recompute -------


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(calendars_and_marks(), st.integers(1, 6), st.data())
def test_an_increment_with_late_corrections_equals_a_full_recompute(
    case: tuple[list[tuple[date, date]], list[tuple[str, date]], list[Mark], date],
    days_back: int,
    data: st.DataObject,
) -> None:
    terms, closures, marks, as_of = case
    cut = as_of - timedelta(days=days_back)
    early = [m for m in marks if m[2] <= cut]
    picked = data.draw(st.lists(st.sampled_from(early), max_size=3)) if early else []
    fixes = [(*m[:4], data.draw(st.sampled_from(["G", "N", "/", "#", "I"]))) for m in picked]
    latest = {m[:4]: m for m in marks}
    latest.update({f[:4]: f for f in fixes})
    merged = sorted(latest.values())
    schools = {m[0] for m in marks}
    full = set(duckdb_runs(merged, terms, closures, as_of))

    con = engine.connect(threads=1)
    engine.load_calendar(con, terms, closures)
    register_marks(con, early)
    engine.build_school_days(con, as_of, laestabs=schools)
    engine.save_run_state(con, cut)
    con.register("all_marks", register_table(merged))
    con.execute("CREATE OR REPLACE VIEW marks AS SELECT * FROM all_marks")
    con.register("later_marks", register_table([m for m in marks if m[2] > cut] + fixes))
    con.execute("CREATE OR REPLACE VIEW new_marks AS SELECT * FROM later_marks")
    increment = set(engine.incremental_runs(con, as_of))
    state = set(con.execute("SELECT * FROM run_state").fetchall())

    # Every run the increment reports is a run of the full recompute; every open run and
    # every run of a corrected pupil is reported; the state is the full recompute's.
    assert increment <= full
    # A new mark on a school session already in the data is a correction (one on a
    # weekend, a holiday or a closed day changes nothing).
    corrected = {
        (f[0], f[1])
        for f in fixes
        if f[2].weekday() < 5
        and any(start <= f[2] <= end for start, end in terms)
        and not any(day == f[2] and la in ("", f[0]) for la, day in closures)
    }
    assert {r for r in full if r.open or (r.laestab, r.upn) in corrected} <= increment
    con2 = engine.connect(threads=1)
    engine.load_calendar(con2, terms, closures)
    register_marks(con2, merged)
    engine.build_school_days(con2, as_of, laestabs=schools)
    engine.save_run_state(con2, as_of)
    assert state == set(con2.execute("SELECT * FROM run_state").fetchall())


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(calendars_and_marks(), st.sampled_from([1, 3, 19, 20]))
def test_a_full_run_keeps_the_same_state_as_the_open_runs(
    case: tuple[list[tuple[date, date]], list[tuple[str, date]], list[Mark], date],
    min_sessions: int,
) -> None:
    """The state a full detection keeps (``with_state``) is its open runs of any length,
    the same as :func:`engine.save_run_state` gives, and the runs are unchanged by it."""
    terms, closures, marks, as_of = case
    schools = {m[0] for m in marks}

    def connection() -> Any:
        con = engine.connect(threads=1)
        engine.load_calendar(con, terms, closures)
        register_marks(con, marks)
        engine.build_school_days(con, as_of, laestabs=schools)
        return con

    con = connection()
    runs = engine.absence_runs(con, as_of, min_sessions, with_state=True)
    state = set(con.execute("SELECT * FROM run_state").fetchall())
    every = engine.absence_runs(connection(), as_of, 1)
    assert runs == [r for r in every if r.sessions >= min_sessions]
    assert state == {
        (r.laestab, r.upn, r.first_seq, r.last_seq, r.sessions, r.data_gaps)
        for r in every
        if r.open
    }
    other = connection()
    engine.save_run_state(other, as_of)
    assert state == set(other.execute("SELECT * FROM run_state").fetchall())


# --- The store and the product path ---------------------------------------------------------


@pytest.fixture
def authority(settings: Any, tmp_path: Path) -> Path:
    settings.ATTENDANCE_DIR = str(tmp_path / "attendance")
    school(estab="2001"), school(estab="2002")
    TermFactory.create(term_start=TERM[0], term_end=TERM[1])
    return tmp_path / "attendance"


DAYS = school_days_between([TERM], [], TERM[0], TERM[1])


def day_marks(day: date, codes: dict[tuple[str, int], str]) -> list[list[str]]:
    """Both sessions of ``day`` for each (school, pupil): the code given, else present."""
    rows = []
    for (laestab, n), code in codes.items():
        for half in ("AM", "PM"):
            rows.append([laestab, U[n], day.isoformat(), half, code])
    return rows


def import_rows(tmp_path: Path, rows: list[list[str]], name: str) -> None:
    path = write_csv(tmp_path / name, ["laestab", "upn", "date", "session", "code"], rows)
    run = importers.attendance_import(actor=SYSTEM, path=path, file_name=name)
    assert run.status in {ImportStatus.SUCCEEDED, ImportStatus.UNCHANGED}, run.errors


def stored(root: Path) -> list[tuple[Any, ...]]:
    con = engine.connect(threads=1)
    store.create_store_view(con, root)
    sql = "SELECT laestab, upn, d, session, code FROM marks ORDER BY ALL"
    return [tuple(row) for row in con.execute(sql).fetchall()]


def pupil_codes(day_no: int) -> dict[tuple[str, int], str]:
    """Pupil 1 at A absent from day 3 on; pupil 2 at B absent days 2-14 then present."""
    return {
        (A, 1): "N" if day_no >= 3 else "/",
        (A, 3): "/",
        (B, 2): "O" if 2 <= day_no <= 14 else "/",
    }


@pytest.mark.django_db
def test_a_day_appends_one_small_file_per_school_and_rewrites_nothing(
    authority: Path, tmp_path: Path
) -> None:
    import_rows(tmp_path, day_marks(DAYS[0], pupil_codes(0)), "d0.csv")
    before = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in authority.rglob("*.parquet")}
    assert len(before) == 2  # one delta for each school

    import_rows(tmp_path, day_marks(DAYS[1], pupil_codes(1)), "d1.csv")

    after = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in authority.rglob("*.parquet")}
    assert {p: after[p] for p in before} == before  # not one byte of the old files touched
    new = sorted(set(after) - set(before))
    assert [p.name for p in new] == [p.name for p in new if store.DELTA_PATTERN.match(p.name)]
    assert len(new) == 2
    assert AttendancePartition.objects.get(school__estab_number="2001").marks == 8

    # The same day again writes nothing; a correction writes only the corrected mark.
    import_rows(tmp_path, day_marks(DAYS[1], pupil_codes(1)), "d1-again.csv")
    assert len(list(authority.rglob("*.parquet"))) == 4
    fix = [[A, U[3], DAYS[0].isoformat(), "PM", "N"]]
    import_rows(tmp_path, fix, "fix.csv")
    files = sorted(authority.rglob("delta-*.parquet"))
    assert len(files) == 5
    con = engine.connect(threads=1)
    newest = str(max(files, key=store.delta_seq))
    (count,) = con.execute("SELECT count(*) FROM read_parquet(?)", [newest]).fetchone()
    assert count == 1
    assert (A, U[3], DAYS[0], "PM", "N") in stored(authority)
    assert (A, U[3], DAYS[0], "PM", "/") not in stored(authority)


@pytest.mark.django_db
def test_compaction_keeps_every_mark_and_folds_only_what_detection_has_read(
    authority: Path, tmp_path: Path
) -> None:
    for n in range(4):
        import_rows(tmp_path, day_marks(DAYS[n], pupil_codes(n)), f"d{n}.csv")
    import_rows(tmp_path, [[A, U[3], DAYS[1].isoformat(), "AM", "G"]], "fix.csv")
    detection_run(actor=SYSTEM, config=DetectionConfig(as_of=DAYS[3]))
    import_rows(tmp_path, day_marks(DAYS[4], pupil_codes(4)), "d4.csv")
    before = stored(authority)

    done = attendance_compact()

    assert stored(authority) == before
    assert {(p.laestab, p.deltas) for p in done} == {(A, 5), (B, 4)}
    left = sorted(p.name for p in authority.rglob("*.parquet"))
    assert left.count(store.BASE_NAME) == 2
    assert len([n for n in left if n.startswith("delta-")]) == 2  # day 4, not yet read
    partition = AttendancePartition.objects.get(school__estab_number="2001")
    assert partition.marks == 8 * 2  # exact after folding (day 4 is still a delta)

    # Detection after compaction reads the unread day as its increment.
    report = detection_run(actor=SYSTEM, config=DetectionConfig(as_of=DAYS[4]))
    assert report.incremental
    assert report.marks == 6


def _absence_alerts() -> set[tuple[str, str, str, int, bool, int]]:
    return {
        (
            a.rule,
            a.upn,
            a.episode_start,
            a.evidence["sessions"],
            a.evidence["open"],
            len(a.evidence["marks"]),
        )
        for a in Alert.objects.filter(rule__in=[AlertRule.ABSENCE_20, AlertRule.ABSENCE_40])
    }


@pytest.mark.django_db
def test_day_by_day_detection_equals_a_full_run_and_a_late_correction_joins_runs(
    authority: Path, tmp_path: Path
) -> None:
    days = 26
    for n in range(days):
        import_rows(tmp_path, day_marks(DAYS[n], pupil_codes(n)), f"d{n}.csv")
        report = detection_run(actor=SYSTEM, config=DetectionConfig(as_of=DAYS[n]))
        assert report.incremental == (n > 0)
        if n in (8, 17):
            attendance_compact()
    daily = _absence_alerts()
    full = detection_find(DetectionConfig(as_of=DAYS[days - 1], incremental=False))
    assert not full.incremental
    expected = {
        (str(f.rule), f.upn, f.episode_start, f.evidence["sessions"], f.evidence["open"],
         len(f.evidence["marks"]))
        for f in full.findings if f.rule in (AlertRule.ABSENCE_20, AlertRule.ABSENCE_40)
    }  # fmt: skip
    # Pupil 2's run (13 days) is closed; pupil 1's is open and 23 days long.
    assert daily == expected
    assert (str(AlertRule.ABSENCE_40), U[1], f"{DAYS[3].isoformat()} AM", 46, True, 46) in daily

    # A late correction: pupil 2 was absent, not present, on days 15 and 16 (marked "/"
    # by mistake): their run goes on to day 16 (15 school days), then day 17 ends it.
    fix = [[B, U[2], DAYS[d].isoformat(), h, "O"] for d in (15, 16) for h in ("AM", "PM")]
    import_rows(tmp_path, fix, "fix.csv")
    report = detection_run(actor=SYSTEM, config=DetectionConfig(as_of=DAYS[days - 1]))
    assert report.incremental
    assert report.marks == 4
    episode = f"{DAYS[2].isoformat()} AM"
    alert = Alert.objects.get(rule=AlertRule.ABSENCE_20, upn=U[2], episode_start=episode)
    assert (alert.evidence["sessions"], alert.evidence["open"]) == (30, False)
    # A full recompute agrees.
    full = detection_find(DetectionConfig(as_of=DAYS[days - 1], incremental=False))
    (run,) = [r for r in full.runs if r.upn == U[2]]
    assert (run.sessions, run.open) == (30, False)


@pytest.mark.django_db
def test_without_a_usable_state_detection_reads_everything(authority: Path, tmp_path: Path) -> None:
    for n in range(3):
        import_rows(tmp_path, day_marks(DAYS[n], pupil_codes(n)), f"d{n}.csv")
    first = detection_run(actor=SYSTEM, config=DetectionConfig(as_of=DAYS[2]))
    assert not first.incremental
    assert first.marks == 18
    assert (authority / store.STATE_DIR / "state.json").is_file()
    # A new closure day renumbers the sessions: the state is not used.
    from cmetrack.detection.tests.factories import ClosureDayFactory

    ClosureDayFactory.create(school=None, date=DAYS[1], reason="snow")
    again = detection_run(actor=SYSTEM, config=DetectionConfig(as_of=DAYS[2]))
    assert not again.incremental
    # A dry run leaves the state as it was.
    state = (authority / store.STATE_DIR / "state.json").read_text()
    detection_find(DetectionConfig(as_of=DAYS[2]))
    assert (authority / store.STATE_DIR / "state.json").read_text() == state
    assert not [p for p in (authority / store.STATE_DIR).iterdir() if p.name.startswith(".new")]
