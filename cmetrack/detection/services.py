"""Detection: run every rule over the data, write alerts; and the writes of an alert.

:func:`detection_run` loads the application's registers (rolls, returns, allocations, open
cases, children in care) into DuckDB beside the attendance marks and calendar, runs the
rules as SQL (:mod:`cmetrack.detection.engine` and :data:`RULE_SQL`) and upserts one
:class:`Alert` per rule, pupil and episode: a repeated run updates the evidence of an
existing alert and never duplicates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa  # type: ignore[import-untyped]
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record, audited_update
from cmetrack.cases.lifecycle import OPEN_STATES, CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.people.models import Child
from cmetrack.referrals.services import referral_record
from cmetrack.registers.models import HomeEducationRecord, RollEntry
from cmetrack.rules.attendance import (
    CME_REFERRAL_SCHOOL_DAYS,
    DELETION_GROUND_I_SCHOOL_DAYS,
    ILLNESS_RETURN_SCHOOL_DAYS,
    SESSIONS_PER_SCHOOL_DAY,
)
from cmetrack.schoolcalendar.selectors import closure_rows, term_rows

from . import engine
from .importers import attendance_dir
from .models import (
    SETTLED_GROUNDS,
    AdditionReturn,
    AdmissionAllocation,
    Alert,
    AlertRule,
    AlertState,
    DeletionReturn,
)

#: School days after leaving with no known destination before the leaver alert.
DEFAULT_LEAVER_SCHOOL_DAYS = 10
#: School days after the expected start before an allocated place counts as not taken up.
ALLOCATION_SCHOOL_DAYS = 10
#: Attendance at or below this percentage raises the Virtual School alert.
IN_CARE_ATTENDANCE_PERCENT = 95.0


@dataclass(frozen=True)
class DetectionConfig:
    as_of: date
    data_dir: Path | None = None
    leaver_school_days: int = DEFAULT_LEAVER_SCHOOL_DAYS
    threads: int | None = None
    #: DuckDB's memory limit, e.g. "4GB" (it spills to disk beyond it); default 80 % of RAM.
    memory_limit: str | None = None
    #: Runs at least this long are reported (alerts are still only for 20 and 40).
    min_run_sessions: int = CME_REFERRAL_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY


@dataclass
class Finding:
    rule: AlertRule
    laestab: str
    upn: str
    episode_start: str
    evidence: dict[str, Any]
    given_name: str = ""
    family_name: str = ""
    dob: date | None = None
    case_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": str(self.rule),
            "school": self.laestab,
            "upn": self.upn,
            "episode_start": self.episode_start,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "dob": self.dob.isoformat() if self.dob else None,
            **self.evidence,
        }


@dataclass
class DetectionReport:
    as_of: date
    marks: int = 0
    runs: list[engine.RunRow] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    created: int = 0
    updated: int = 0

    def counts(self) -> dict[str, int]:
        result: dict[str, int] = {}
        for finding in self.findings:
            result[str(finding.rule)] = result.get(str(finding.rule), 0) + 1
        return result


def academic_year_start(on: date) -> date:
    return date(on.year if on.month >= 9 else on.year - 1, 9, 1)


def _register(
    con: Any,
    name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    types: Sequence[pa.DataType],
) -> None:
    data = list(rows)
    arrays = [pa.array([r[i] for r in data], type=t) for i, t in enumerate(types)]
    con.register(f"{name}_arrow", pa.Table.from_arrays(arrays, names=list(columns)))
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")  # noqa: S608 - bound values
    con.unregister(f"{name}_arrow")


def _load_registers(con: Any) -> None:
    """Copy the registers the rules need from the application database into DuckDB."""
    s, d, i = pa.string(), pa.date32(), pa.int64()
    _register(
        con,
        "rolls",
        ("laestab", "taken_on", "upn", "given", "family", "dob", "nc_year"),
        (
            (f"{la}{estab}", taken, upn, given, family, dob, year)
            for la, estab, taken, upn, given, family, dob, year in RollEntry.objects.values_list(
                "snapshot__school__local_authority__code",
                "snapshot__school__estab_number",
                "snapshot__taken_on",
                "upn",
                "legal_given_name",
                "legal_family_name",
                "dob",
                "nc_year",
            ).iterator(chunk_size=5000)
        ),
        (s, d, s, s, s, d, i),
    )
    _register(
        con,
        "deletions",
        ("laestab", "upn", "given", "family", "dob", "ground", "deleted_on", "known"),
        (
            (
                r.school.laestab,
                r.upn,
                r.legal_given_name,
                r.legal_family_name,
                r.dob,
                r.ground,
                r.deleted_on,
                r.destination_known,
            )
            for r in DeletionReturn.objects.select_related("school__local_authority")
        ),
        (s, s, s, s, d, s, d, pa.bool_()),
    )
    _register(
        con,
        "additions",
        ("laestab", "upn", "joined_on"),
        (
            (r.school.laestab, r.upn, r.joined_on)
            for r in AdditionReturn.objects.select_related("school__local_authority")
        ),
        (s, s, d),
    )
    _register(
        con,
        "allocations",
        ("laestab", "upn", "given", "family", "dob", "expected_start"),
        (
            (
                r.school.laestab,
                r.upn,
                r.legal_given_name,
                r.legal_family_name,
                r.dob,
                r.expected_start,
            )
            for r in AdmissionAllocation.objects.select_related("school__local_authority")
        ),
        (s, s, s, s, d, d),
    )
    _register(
        con,
        "open_cases",
        ("upn", "case_id", "date_referred", "given", "family", "dob"),
        Case.objects.filter(state__in=OPEN_STATES, child__upn__isnull=False).values_list(
            "child__upn",
            "pk",
            "date_referred",
            "child__legal_given_names",
            "child__legal_family_name",
            "child__dob",
        ),
        (s, i, d, s, s, d),
    )
    _register(
        con,
        "home_education",
        ("upn", "started_on", "ended_on"),
        HomeEducationRecord.objects.filter(child__upn__isnull=False).values_list(
            "child__upn", "started_on", "ended_on"
        ),
        (s, d, d),
    )
    _register(
        con,
        "in_care",
        ("upn",),
        Child.objects.filter(in_care=True, upn__isnull=False).values_list("upn"),
        (s,),
    )


#: The rules over registers, as SQL. ``$as_of``, ``$leaver_days`` and the tables above.
RULE_SQL: dict[AlertRule, str] = {
    AlertRule.LEAVER_NO_DESTINATION: """
WITH snaps AS (SELECT DISTINCT laestab, taken_on FROM rolls),
pairs AS (
    SELECT laestab, taken_on AS earlier,
        lead(taken_on) OVER (PARTITION BY laestab ORDER BY taken_on) AS later
    FROM snaps
),
disappeared AS (
    SELECT r.laestab, r.upn, r.given, r.family, r.dob, p.later AS left_on,
        'not on the roll of ' || strftime(p.later, '%Y-%m-%d') || ', on the roll of '
            || strftime(p.earlier, '%Y-%m-%d') AS how
    FROM rolls r
    JOIN pairs p ON p.laestab = r.laestab AND p.earlier = r.taken_on AND p.later IS NOT NULL
    WHERE NOT EXISTS (SELECT 1 FROM rolls r2
                      WHERE r2.laestab = r.laestab AND r2.taken_on = p.later AND r2.upn = r.upn)
      AND NOT EXISTS (SELECT 1 FROM deletions dr WHERE dr.laestab = r.laestab AND dr.upn = r.upn
                      AND dr.deleted_on > p.earlier AND dr.deleted_on <= p.later)
      -- the end of the final year of a school is not a disappearance
      AND NOT (coalesce(r.nc_year, 0) IN (6, 11, 13)
               AND month(p.later) BETWEEN 7 AND 10)
      AND NOT coalesce(r.nc_year, 0) >= 14
),
deleted AS (
    SELECT laestab, upn, given, family, dob, deleted_on AS left_on,
        'deletion return, ground (' || ground || '), no destination' AS how
    FROM deletions WHERE NOT known
),
leavers AS (SELECT * FROM disappeared UNION ALL SELECT * FROM deleted),
due AS (
    SELECT l.*, (SELECT min(d) FROM school_days sd WHERE sd.laestab = ''
                 AND sd.day_no = coalesce((SELECT max(day_no) FROM school_days s2
                                           WHERE s2.laestab = '' AND s2.d <= l.left_on), 0)
                                 + $leaver_days) AS due_on
    FROM leavers l WHERE l.left_on <= $as_of
)
SELECT laestab, upn, CAST(left_on AS VARCHAR) AS episode, given, family, dob,
    json_object('left_on', CAST(left_on AS VARCHAR), 'how', how,
                'school_days_waited', $leaver_days, 'due_on', CAST(due_on AS VARCHAR),
                'not_found_on', ['a later roll', 'an addition return',
                                 'the home-education list', 'an open case']) AS evidence
FROM due l
WHERE due_on IS NOT NULL AND due_on <= $as_of
  AND NOT EXISTS (SELECT 1 FROM rolls r WHERE r.upn = l.upn
                  AND (r.taken_on > l.left_on
                       OR (r.taken_on = l.left_on AND r.laestab <> l.laestab)))
  AND NOT EXISTS (SELECT 1 FROM additions a WHERE a.upn = l.upn AND a.joined_on >= l.left_on)
  AND NOT EXISTS (SELECT 1 FROM home_education h WHERE h.upn = l.upn
                  AND h.started_on <= $as_of
                  AND (h.ended_on IS NULL OR h.ended_on > $as_of))
  AND NOT EXISTS (SELECT 1 FROM open_cases c WHERE c.upn = l.upn)
""",
    AlertRule.ALLOCATION_NOT_TAKEN: """
WITH due AS (
    SELECT a.*, (SELECT min(d) FROM school_days sd WHERE sd.laestab = a.laestab
                 AND sd.day_no = coalesce((SELECT max(day_no) FROM school_days s2
                                           WHERE s2.laestab = a.laestab
                                           AND s2.d < a.expected_start), 0)
                                 + $allocation_days) AS due_on
    FROM allocations a
)
SELECT laestab, upn, CAST(expected_start AS VARCHAR), given, family, dob,
    json_object('expected_start', CAST(expected_start AS VARCHAR),
                'due_on', CAST(due_on AS VARCHAR), 'school_days', $allocation_days,
                'not_found_on', ['the school''s roll since the expected start',
                                 'an addition return from the school',
                                 'the school''s attendance marks']) AS evidence
FROM due a
WHERE due_on IS NOT NULL AND due_on <= $as_of
  AND NOT EXISTS (SELECT 1 FROM rolls r WHERE r.upn = a.upn AND r.laestab = a.laestab
                  AND r.taken_on >= a.expected_start)
  AND NOT EXISTS (SELECT 1 FROM additions x WHERE x.upn = a.upn AND x.laestab = a.laestab)
  AND NOT EXISTS (SELECT 1 FROM marks m WHERE m.upn = a.upn AND m.laestab = a.laestab
                  AND m.d >= a.expected_start AND m.d <= $as_of AND m.code <> 'Z')
""",
    AlertRule.Y6_Y7_TRANSFER: """
WITH y6 AS (
    SELECT upn, arg_max(laestab, taken_on) AS laestab, arg_max(given, taken_on) AS given,
        arg_max(family, taken_on) AS family, arg_max(dob, taken_on) AS dob,
        year(max(taken_on)) AS summer_year, max(taken_on) AS last_seen
    FROM rolls WHERE nc_year = 6 AND month(taken_on) BETWEEN 5 AND 8
    GROUP BY upn
),
autumn AS (
    SELECT year(taken_on) AS y, min(taken_on) AS first_autumn
    FROM rolls WHERE month(taken_on) BETWEEN 9 AND 12 GROUP BY ALL
)
SELECT y6.laestab, y6.upn, CAST(make_date(summer_year, 9, 1) AS VARCHAR), given, family, dob,
    json_object('year_6_roll', CAST(last_seen AS VARCHAR),
                'first_autumn_snapshot', CAST(first_autumn AS VARCHAR),
                'not_found_on', ['any roll since 1 September', 'an addition return',
                                 'the home-education list', 'an open case']) AS evidence
FROM y6 JOIN autumn ON autumn.y = y6.summer_year
WHERE first_autumn <= $as_of
  AND NOT EXISTS (SELECT 1 FROM rolls r WHERE r.upn = y6.upn
                  AND r.taken_on >= make_date(summer_year, 9, 1))
  AND NOT EXISTS (SELECT 1 FROM additions a WHERE a.upn = y6.upn
                  AND a.joined_on >= make_date(summer_year, 7, 1))
  AND NOT EXISTS (SELECT 1 FROM home_education h WHERE h.upn = y6.upn
                  AND h.started_on <= $as_of
                  AND (h.ended_on IS NULL OR h.ended_on > $as_of))
  AND NOT EXISTS (SELECT 1 FROM open_cases c WHERE c.upn = y6.upn)
""",
    AlertRule.SUGGEST_LOCATED: """
WITH seen AS (
    SELECT c.upn, c.case_id, c.date_referred, c.given, c.family, c.dob,
        r.laestab, r.taken_on AS seen_on, 'roll' AS source
    FROM open_cases c JOIN rolls r ON r.upn = c.upn AND r.taken_on > c.date_referred
    UNION ALL
    SELECT c.upn, c.case_id, c.date_referred, c.given, c.family, c.dob,
        a.laestab, a.joined_on, 'addition return'
    FROM open_cases c JOIN additions a ON a.upn = c.upn AND a.joined_on >= c.date_referred
)
SELECT arg_max(laestab, seen_on), upn, CAST(date_referred AS VARCHAR), any_value(given),
    any_value(family), any_value(dob),
    json_object('case_id', case_id, 'seen_on', CAST(max(seen_on) AS VARCHAR),
                'source', arg_max(source, seen_on), 'school', arg_max(laestab, seen_on)) AS evidence
FROM seen WHERE seen_on <= $as_of
GROUP BY upn, case_id, date_referred
""",
}


def _marks_sources(config: DetectionConfig) -> tuple[list[str], list[str]]:
    if config.data_dir is not None:
        return engine.marks_sources(config.data_dir)
    root = attendance_dir()
    return (sorted(str(p) for p in root.rglob("*.parquet")) if root.exists() else []), []


def detection_find(config: DetectionConfig) -> DetectionReport:
    """Run every rule up to ``config.as_of``; return the findings (nothing is written)."""
    import json

    con = engine.connect(threads=config.threads, memory_limit=config.memory_limit)
    parquet, csv = _marks_sources(config)
    engine.create_marks_view(con, parquet, csv)
    terms_csv = config.data_dir / "terms.csv" if config.data_dir else None
    if terms_csv is not None and terms_csv.exists():
        engine.calendar_from_csv(con, terms_csv, config.data_dir / "closures.csv")  # type: ignore[operator]
    else:
        engine.load_calendar(con, term_rows(), closure_rows())
    _load_registers(con)
    extra = [
        row[0]
        for row in con.execute(
            "SELECT laestab FROM rolls UNION SELECT laestab FROM allocations "
            "UNION SELECT laestab FROM deletions"
        ).fetchall()
    ]
    engine.build_school_days(con, config.as_of, extra_laestabs=extra)
    report = DetectionReport(as_of=config.as_of)
    report.marks = int(con.execute("SELECT count(*) FROM marks").fetchone()[0])
    names = {
        upn: (given, family, dob)
        for upn, given, family, dob in con.execute(
            "SELECT upn, arg_max(given, taken_on), arg_max(family, taken_on), "
            "arg_max(dob, taken_on) FROM rolls GROUP BY upn"
        ).fetchall()
    }

    threshold = CME_REFERRAL_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY
    report.runs = engine.absence_runs(
        con, config.as_of, min_sessions=max(1, min(config.min_run_sessions, threshold))
    )
    for run in report.runs:
        if run.sessions < threshold:
            continue
        rules = [AlertRule.ABSENCE_20]
        if run.sessions >= DELETION_GROUND_I_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY:
            rules.append(AlertRule.ABSENCE_40)
        given, family, dob = names.get(run.upn, ("", "", None))
        for rule in rules:
            report.findings.append(
                Finding(
                    rule=rule,
                    laestab=run.laestab,
                    upn=run.upn,
                    episode_start=f"{run.first_date.isoformat()} {run.first_session}",
                    evidence=_run_evidence(con, run),
                    given_name=given,
                    family_name=family,
                    dob=dob,
                )
            )

    params = {
        "as_of": config.as_of,
        "leaver_days": config.leaver_school_days,
        "allocation_days": ALLOCATION_SCHOOL_DAYS,
    }
    for rule, sql in RULE_SQL.items():
        wanted = {k: v for k, v in params.items() if f"${k}" in sql}
        for laestab, upn, episode, given, family, dob, evidence in con.execute(
            sql, wanted
        ).fetchall():
            data = json.loads(evidence)
            report.findings.append(
                Finding(
                    rule=rule,
                    laestab=laestab or "",
                    upn=upn,
                    episode_start=episode,
                    evidence=data,
                    given_name=given or "",
                    family_name=family or "",
                    dob=dob,
                    case_id=data.get("case_id"),
                )
            )

    report.findings += _located_by_matching(
        config.as_of,
        {f.case_id for f in report.findings if f.rule == AlertRule.SUGGEST_LOCATED},
    )

    year_start = academic_year_start(config.as_of)
    in_care = [row[0] for row in con.execute("SELECT upn FROM in_care").fetchall()]
    if in_care:
        for row in engine.attendance_summary(con, year_start, config.as_of, in_care):
            if row.possible and row.percent <= IN_CARE_ATTENDANCE_PERCENT:
                given, family, dob = names.get(row.upn, ("", "", None))
                report.findings.append(
                    Finding(
                        rule=AlertRule.IN_CARE_ATTENDANCE,
                        laestab=row.laestab,
                        upn=row.upn,
                        episode_start=year_start.isoformat(),
                        evidence={
                            "attended_sessions": row.attended,
                            "possible_sessions": row.possible,
                            "attendance_percent": round(row.percent, 1),
                            "from": year_start.isoformat(),
                            "to": config.as_of.isoformat(),
                        },
                        given_name=given,
                        family_name=family,
                        dob=dob,
                    )
                )
    for upn, laestab, sessions, first in engine.illness_pupils(
        con, year_start, config.as_of, ILLNESS_RETURN_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY
    ):
        given, family, dob = names.get(upn, ("", "", None))
        report.findings.append(
            Finding(
                rule=AlertRule.ILLNESS_15,
                laestab=laestab,
                upn=upn,
                episode_start=year_start.isoformat(),
                evidence={
                    "illness_sessions": sessions,
                    "school_days": sessions / SESSIONS_PER_SCHOOL_DAY,
                    "first_illness": first.isoformat(),
                },
                given_name=given,
                family_name=family,
                dob=dob,
            )
        )
    con.close()
    return report


#: The cases the matching engine looks for on later rolls: whereabouts not yet known.
NOT_FOUND_STATES = (
    CaseState.RECEIVED,
    CaseState.SLO_INVESTIGATION,
    CaseState.TRACKING,
    CaseState.DORMANT,
)


def _located_by_matching(as_of: date, found: set[int | None]) -> list[Finding]:
    """Open cases whose child is not yet found and whom the UPN join missed (no UPN, a new
    UPN, a retyped name), looked for on the latest rolls through the matching engine
    (issue 7: detection's "child found on a roll" goes through the engine). One search per
    such case against the cached roll index: milliseconds each."""
    from cmetrack.matching.services import find_on_rolls, refresh_index

    findings = []
    cases = (
        Case.objects.filter(state__in=NOT_FOUND_STATES, date_referred__lte=as_of)
        .exclude(pk__in=[pk for pk in found if pk is not None])
        .select_related("child")
        .order_by("pk")
    )
    if cases.exists():
        # Detection runs in the worker or `cmetrack detect`, never in a request: the roll
        # index is brought up to date (built, if there is none) before it is read.
        refresh_index("roll")
    for case in cases.iterator(chunk_size=500):
        matches = [
            m
            for m in find_on_rolls(case.child, since=case.date_referred, limit=3)
            if m.entry.snapshot.taken_on <= as_of
        ]
        if not matches:
            continue
        best = matches[0]
        school = best.entry.snapshot.school
        findings.append(
            Finding(
                rule=AlertRule.SUGGEST_LOCATED,
                laestab=school.laestab,
                upn=best.entry.upn,
                episode_start=case.date_referred.isoformat(),
                evidence={
                    "case_id": case.pk,
                    "seen_on": best.entry.snapshot.taken_on.isoformat(),
                    "source": "roll (found by the matching engine, not by UPN)",
                    "school": school.laestab,
                    "match_probability": round(best.probability, 4),
                    "why": best.explanation,
                },
                given_name=best.entry.legal_given_name,
                family_name=best.entry.legal_family_name,
                dob=best.entry.dob,
                case_id=case.pk,
            )
        )
    return findings


#: At most this many marks are copied into an alert's evidence.
EVIDENCE_MARKS = 120


def _run_evidence(con: Any, run: engine.RunRow) -> dict[str, Any]:
    rows = con.execute(
        "SELECT s.d, s.session, m.code FROM school_sessions s LEFT JOIN marks m "
        "ON m.laestab = s.laestab AND m.d = s.d AND m.session = s.session AND m.upn = ? "
        "WHERE s.laestab = ? AND s.seq BETWEEN ? AND ? ORDER BY s.seq LIMIT ?",
        [run.upn, run.laestab, run.first_seq, run.last_seq, EVIDENCE_MARKS],
    ).fetchall()
    return {
        "first_session": f"{run.first_date.isoformat()} {run.first_session}",
        "last_session": f"{run.last_date.isoformat()} {run.last_session}",
        "sessions": run.sessions,
        "school_days": run.school_days,
        "span_sessions": run.span_sessions,
        "data_gaps": run.data_gaps,
        "open": run.open,
        "marks": [[d.isoformat(), half, code] for d, half, code in rows],
    }


@transaction.atomic
def detection_run(*, actor: Actor, config: DetectionConfig) -> DetectionReport:
    """Find, then write the alerts: new ones created, known ones' evidence refreshed."""
    report = detection_find(config)
    now = timezone.now()
    schools = {
        s.laestab: s
        for s in Organisation.objects.filter(kind=OrganisationKind.SCHOOL).select_related(
            "local_authority"
        )
        if s.laestab
    }
    unique: dict[tuple[str, str, str], Finding] = {}
    for finding in report.findings:
        unique.setdefault((str(finding.rule), finding.upn, finding.episode_start), finding)
    findings = list(unique.values())
    existing = {
        (a.rule, a.upn, a.episode_start): a
        for a in Alert.objects.filter(upn__in={f.upn for f in findings}).only(
            "id", "rule", "upn", "episode_start", "evidence"
        )
    }
    children = dict(
        Child.objects.filter(upn__in={f.upn for f in findings}).values_list("upn", "pk")
    )
    to_create: list[Alert] = []
    to_update: list[Alert] = []
    for finding in findings:
        key = (str(finding.rule), finding.upn, finding.episode_start)
        alert = existing.get(key)
        if alert is not None:
            if alert.evidence != finding.evidence:
                alert.evidence = finding.evidence
                alert.last_detected_at = now
                alert.detected_on = config.as_of
                to_update.append(alert)
            continue
        to_create.append(
            Alert(
                rule=finding.rule,
                school=schools.get(finding.laestab),
                laestab=finding.laestab[:7],
                upn=finding.upn,
                given_name=finding.given_name[:100],
                family_name=finding.family_name[:100],
                dob=finding.dob,
                episode_start=finding.episode_start,
                evidence=finding.evidence,
                detected_on=config.as_of,
                first_detected_at=now,
                last_detected_at=now,
                child_id=children.get(finding.upn),
                case_id=finding.case_id,
            )
        )
    Alert.objects.bulk_create(to_create, batch_size=1000)
    Alert.objects.bulk_update(
        to_update, ["evidence", "last_detected_at", "detected_on"], batch_size=1000
    )
    report.created, report.updated = len(to_create), len(to_update)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="detection.alert",
        summary=f"Detection as of {config.as_of}: {report.created} new alerts, "
        f"{report.updated} updated",
        changes={"after": {"counts": report.counts(), "marks": report.marks}},
    )
    return report


# --- The writes of an alert ---------------------------------------------------------------


def alert_acknowledge(*, actor: Actor, alert: Alert) -> Alert:
    if alert.state != AlertState.NEW:
        raise ValidationError("Only a new alert can be acknowledged.")
    return audited_update(
        actor=actor,
        instance=alert,
        changes={"state": AlertState.ACKNOWLEDGED},
        child_id=alert.child_id,
        summary=f"Acknowledged alert: {alert.get_rule_display()}",
    )


def alert_dismiss(*, actor: Actor, alert: Alert, reason: str) -> Alert:
    reason = reason.strip()
    if not reason:
        raise ValidationError({"reason": "Enter why you are dismissing this alert"})
    if alert.state in {AlertState.REFERRED, AlertState.DISMISSED}:
        raise ValidationError("This alert has already been dealt with.")
    return audited_update(
        actor=actor,
        instance=alert,
        changes={"state": AlertState.DISMISSED, "dismissed_reason": reason[:300]},
        child_id=alert.child_id,
        summary=f"Dismissed alert: {alert.get_rule_display()}",
    )


@transaction.atomic
def alert_refer(*, actor: Actor, alert: Alert) -> Alert:
    """Create a referral by the detection route from the alert, and mark it referred."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.state in {AlertState.REFERRED, AlertState.DISMISSED}:
        raise ValidationError("This alert has already been dealt with.")
    user = actor.user
    organisation = getattr(user, "organisation", None)
    referral = referral_record(
        actor=actor,
        route=ReferralRoute.DETECTION,
        given_names=alert.given_name or "Not known",
        family_name=alert.family_name or alert.upn,
        reason=_referral_reason(alert),
        dob=alert.dob,
        school=alert.school,
        referring_organisation=organisation,
    )
    return audited_update(
        actor=actor,
        instance=alert,
        changes={"state": AlertState.REFERRED, "referral": referral},
        child_id=alert.child_id,
        summary=f"Referred alert as {referral.reference}",
    )


def alert_attach_case(*, actor: Actor, alert: Alert, case: Case) -> Alert:
    """Attach the alert to an open case (the officer adds it to the case's evidence)."""
    if not case.is_open:
        raise ValidationError({"case": "Choose an open case"})
    return audited_update(
        actor=actor,
        instance=alert,
        changes={"case": case, "state": AlertState.REFERRED, "child": case.child},
        child_id=case.child_id,
        summary=f"Attached alert to {case.reference}",
    )


def _referral_reason(alert: Alert) -> str:
    evidence = alert.evidence
    text = f"{alert.get_rule_display()} (UPN {alert.upn})."
    if "sessions" in evidence:
        text += (
            f" {evidence['sessions']} sessions ({evidence['school_days']} school days) of "
            f"unexplained absence from {evidence['first_session']} to "
            f"{evidence['last_session']}"
            + (", still going on" if evidence.get("open") else "")
            + f"; {evidence.get('data_gaps', 0)} sessions without a mark."
        )
    return text + " Found by the authority's own data."


def leaver_school_days_setting() -> int:
    return int(getattr(settings, "DETECTION_LEAVER_SCHOOL_DAYS", DEFAULT_LEAVER_SCHOOL_DAYS))


__all__ = [
    "SETTLED_GROUNDS",
    "DetectionConfig",
    "DetectionReport",
    "Finding",
    "alert_acknowledge",
    "alert_attach_case",
    "alert_dismiss",
    "alert_refer",
    "detection_find",
    "detection_run",
]
