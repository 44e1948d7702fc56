"""Detection: run every rule over the data, write alerts; and the writes of an alert.

:func:`detection_run` loads the application's registers (rolls, returns, allocations, open
cases, children in care) into DuckDB beside the attendance marks and calendar, runs the
rules as SQL (:mod:`cmetrack.detection.engine` and :data:`RULE_SQL`) and upserts one
:class:`Alert` per rule, pupil and episode: a repeated run updates the evidence of an
existing alert and never duplicates it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction
from django.db.models import CharField, Count, Exists, Max, OuterRef
from django.db.models.functions import Cast
from django.utils import timezone

from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record, audited_update
from cmetrack.cases.lifecycle import OPEN_STATES, CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.kit import lazy
from cmetrack.kit.db import insert_many, update_fields_many
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.people.models import Child
from cmetrack.referrals.services import referral_record
from cmetrack.registers.adapters import find_on_rolls
from cmetrack.registers.models import HomeEducationRecord, RollEntry, RollSnapshot
from cmetrack.rules.attendance import (
    CME_REFERRAL_SCHOOL_DAYS,
    DELETION_GROUND_I_SCHOOL_DAYS,
    ILLNESS_RETURN_SCHOOL_DAYS,
    NEUTRAL_FOR_RUNS_CODES,
    SESSIONS_PER_SCHOOL_DAY,
    UNEXPLAINED_ABSENCE_CODES,
)
from cmetrack.schoolcalendar.selectors import closure_rows, term_rows

from . import engine, grids, store
from .importers import attendance_dir
from .models import (
    SETTLED_GROUNDS,
    AdditionReturn,
    AdmissionAllocation,
    Alert,
    AlertRule,
    AlertState,
    AttendancePartition,
    DeletionReturn,
)

if TYPE_CHECKING:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.compute as pc  # type: ignore[import-untyped]
    import pyarrow.json as pj  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]
else:  # imported when first used: start-up does not pay for them (see kit/lazy.py)
    pa = lazy.module("pyarrow")
    pc = lazy.module("pyarrow.compute")
    pj = lazy.module("pyarrow.json")
    pq = lazy.module("pyarrow.parquet")

T = TypeVar("T")

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
    #: Over the imported attendance: carry the open runs on from the stored state and
    #: read only the marks imported since (a full run when there is no usable state).
    incremental: bool = True
    #: Write the open-run state for the next run (``detection_run`` does; a dry run not).
    keep_state: bool = False
    #: Over the imported attendance, read the session grids (:mod:`.grids`) rather than
    #: every mark as a row (the same findings; False reads the rows, as ``--data`` does).
    use_grids: bool = True


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
    #: True when only the marks imported since the last run were read.
    incremental: bool = False
    #: The open-run state written for the next run (moved into place after the commit).
    new_state: Path | None = None
    state_meta: dict[str, Any] = field(default_factory=dict)

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
    arrays = [_column([r[i] for r in data], t) for i, t in enumerate(types)]
    grids.register_table(con, name, pa.Table.from_arrays(arrays, names=list(columns)))


def _column(values: list[Any], kind: pa.DataType) -> Any:
    """An Arrow column; dates given as ISO text (read so from the database: no Python
    date object a row) are parsed by Arrow."""
    if kind == pa.date32() and any(isinstance(v, str) for v in values):
        return pa.array(values, type=pa.string()).cast(pa.date32())
    return pa.array(values, type=kind)


logger = logging.getLogger(__name__)

#: Bumped when the cached rolls' columns change (2: written by PyArrow, read on a thread).
ROLLS_CACHE_VERSION = 2

#: The rolls' columns (``rolls``: a row a pupil a snapshot).
ROLLS_COLUMNS = ("laestab", "taken_on", "upn", "given", "family", "dob", "nc_year")


def _rolls_cache_dir() -> Path:
    return Path(settings.VAR_DIR) / "detection-cache"


def _rolls_signature() -> str:
    """What the rolls' table is made of: every snapshot (school, date, when imported, its
    content's hash) and the entries' count and largest id. A roll is only ever added or
    replaced whole (its entries deleted and created again, its ``imported_at`` and
    ``content_hash`` set), so a change to any roll changes this."""
    snapshots = list(
        RollSnapshot.objects.order_by("pk").values_list(
            "pk",
            "school__local_authority__code",
            "school__estab_number",
            "taken_on",
            "imported_at",
            "content_hash",
        )
    )
    entries = RollEntry.objects.aggregate(n=Count("pk"), top=Max("pk"))
    text = repr((ROLLS_CACHE_VERSION, snapshots, entries["n"], entries["top"]))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _rolls_table() -> pa.Table:
    """Every entry of every roll snapshot as an Arrow table (:data:`ROLLS_COLUMNS`), read
    from the database only when the rolls have changed since the last detection
    (:func:`_rolls_signature`); otherwise from the Parquet copy the last detection left
    (a day's increment then reads no roll). No DuckDB here: detection reads the rolls on
    a thread of its own while DuckDB reads the marks (:func:`_in_background`)."""
    folder = _rolls_cache_dir()
    cached = folder / f"rolls-{_rolls_signature()}.parquet"
    if cached.is_file():
        try:
            table = pq.read_table(cached)
            if tuple(table.column_names) == ROLLS_COLUMNS:
                return table
            logger.warning("the rolls' cache %s has other columns", cached)
        except (OSError, pa.ArrowException):  # unreadable: read the database again, below
            logger.warning("the rolls' cache %s could not be read", cached)
    table = _rolls_from_database()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{cached.name}.{uuid.uuid4().hex}"
        pq.write_table(table, partial)
        partial.replace(cached)
        for old in folder.glob("rolls-*.parquet"):
            if old != cached:
                old.unlink(missing_ok=True)
    except (OSError, pa.ArrowException):  # no cache this time: the next run reads again
        logger.warning("could not keep the rolls' cache in %s", folder)
    return table


#: The roll entries' columns read by detection: (name in ``rolls``, model field).
_ROLL_ENTRY_FIELDS = (
    ("snapshot", "snapshot"),
    ("upn", "upn"),
    ("given", "legal_given_name"),
    ("family", "legal_family_name"),
    ("dob", "dob"),
    ("nc_year", "nc_year"),
)


def _roll_entries_sql() -> str:
    """One query giving every roll entry as a line of JSON, all in one text value: the
    database builds it (PostgreSQL in its own process), and the reading thread holds the
    interpreter for one value, not once a row (a thread reading rows one by one would
    wait for the interpreter at every row while detection's main thread works)."""
    quote = connection.ops.quote_name
    meta = RollEntry._meta
    column: dict[str, Any] = {field: meta.get_field(field) for _, field in _ROLL_ENTRY_FIELDS}
    pairs = ", ".join(
        f"'{name}', {quote(str(column[field].column))}" for name, field in _ROLL_ENTRY_FIELDS
    )
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        return f"SELECT string_agg(json_build_object({pairs})::text, E'\\n') FROM {table}"  # noqa: S608 - our names
    if connection.vendor == "sqlite":
        return f"SELECT group_concat(json_object({pairs}), char(10)) FROM {table}"  # noqa: S608 - our names
    raise NotImplementedError(
        f"detection reads the rolls from PostgreSQL or SQLite, not {connection.vendor}"
    )


def _rolls_from_database() -> pa.Table:
    """The rolls, from one text value of JSON lines (:func:`_roll_entries_sql`) parsed by
    Arrow; each snapshot's school and date read once, not once a pupil."""
    s, d, i = pa.string(), pa.date32(), pa.int64()
    snapshots = list(
        RollSnapshot.objects.annotate(taken_text=Cast("taken_on", CharField())).values_list(
            "pk", "school__local_authority__code", "school__estab_number", "taken_text"
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(_roll_entries_sql())
        (text,) = cursor.fetchone()
    schema = pa.schema(
        [("snapshot", i), ("upn", s), ("given", s), ("family", s), ("dob", s), ("nc_year", i)]
    )
    if text:
        entries = pj.read_json(
            io.BytesIO(text.encode()),
            parse_options=pj.ParseOptions(
                explicit_schema=schema, unexpected_field_behavior="error"
            ),
        )
    else:
        entries = schema.empty_table()
    del text
    which = pc.index_in(
        entries["snapshot"].combine_chunks(), value_set=pa.array([pk for pk, *_ in snapshots], i)
    )
    school_of = pa.array([f"{la}{estab}" for _, la, estab, _ in snapshots], type=s)
    taken_of = _column([taken for *_, taken in snapshots], d)
    return pa.table(
        {
            "laestab": pa.DictionaryArray.from_arrays(which, school_of).cast(s),
            "taken_on": pa.DictionaryArray.from_arrays(which, taken_of).cast(d),
            "upn": entries["upn"],
            "given": entries["given"],
            "family": entries["family"],
            "dob": entries["dob"].cast(d),
            "nc_year": entries["nc_year"],
        }
    )


def _roll_schools() -> set[str]:
    """The schools with a pupil on a roll (the laestabs of ``rolls``), from the database:
    known before the rolls themselves are read."""
    return {
        f"{la}{estab}"
        for la, estab in RollSnapshot.objects.filter(
            Exists(RollEntry.objects.filter(snapshot=OuterRef("pk")))
        )
        .values_list("school__local_authority__code", "school__estab_number")
        .distinct()
    }


def _in_background(work: Callable[[], T]) -> Future[T]:
    """``work()`` run on a thread of its own, with a database connection of its own
    (closed when it ends); or here and now when this thread's connection is inside a
    transaction, whose uncommitted rows another connection would not see."""
    if connection.in_atomic_block:
        done: Future[T] = Future()
        try:
            done.set_result(work())
        except BaseException as error:  # handed to whoever waits for it
            done.set_exception(error)
        return done

    def run() -> T:
        try:
            return work()
        finally:
            connections.close_all()  # this thread's connections only

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="detection")
    try:
        return pool.submit(run)
    finally:
        pool.shutdown(wait=False)  # the thread ends when its work is done


def _load_registers(con: Any) -> None:
    """Copy the registers the rules need from the application database into DuckDB."""
    s, d, i = pa.string(), pa.date32(), pa.int64()
    _register(
        con,
        "deletions",
        (
            "laestab",
            "upn",
            "given",
            "family",
            "dob",
            "ground",
            "deleted_on",
            "known",
            "destination",
            "destination_start",
        ),
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
                r.destination_school.laestab if r.destination_school else None,
                r.destination_start,
            )
            for r in DeletionReturn.objects.select_related(
                "school__local_authority", "destination_school__local_authority"
            )
        ),
        (s, s, s, s, d, s, d, pa.bool_(), s, d),
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
    # not_found: the child is not yet found (only then is "found on a roll" news).
    _register(
        con,
        "open_cases",
        ("upn", "case_id", "date_referred", "given", "family", "dob", "not_found"),
        (
            (*row[:-1], row[-1] in NOT_FOUND_STATES)
            for row in Case.objects.filter(
                state__in=OPEN_STATES, child__upn__isnull=False
            ).values_list(
                "child__upn",
                "pk",
                "date_referred",
                "child__legal_given_names",
                "child__legal_family_name",
                "child__dob",
                "state",
            )
        ),
        (s, i, d, s, s, d, pa.bool_()),
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


def _standing_additions(among: str) -> str:
    """The CTE ``standing_additions``: the addition returns of the pupils in the CTE
    ``among`` that no later roll of their school (up to ``$as_of``) contradicts. A roll
    taken after the child joined that lacks the child says the child is no longer there (a
    later roll that has the child is found by the rules' own roll checks)."""
    return f"""standing_additions AS (
    SELECT a.* FROM additions a SEMI JOIN {among} w ON w.upn = a.upn
    ANTI JOIN (
        SELECT a2.laestab, a2.upn, a2.joined_on FROM additions a2
        SEMI JOIN {among} w2 ON w2.upn = a2.upn
        JOIN (SELECT DISTINCT laestab, taken_on FROM rolls WHERE taken_on <= $as_of) x
            ON x.laestab = a2.laestab AND x.taken_on > a2.joined_on
        ANTI JOIN rolls y ON y.laestab = x.laestab AND y.taken_on = x.taken_on AND y.upn = a2.upn
    ) gone ON gone.laestab = a.laestab AND gone.upn = a.upn AND gone.joined_on = a.joined_on
),
"""  # noqa: S608 - constant SQL


#: The rules over registers, as SQL. ``$as_of``, ``$leaver_days`` and the tables above.
RULE_SQL: dict[AlertRule, str] = {
    AlertRule.LEAVER_NO_DESTINATION: f"""
WITH snaps AS (SELECT DISTINCT laestab, taken_on FROM rolls),
pairs AS (
    SELECT laestab, taken_on AS earlier,
        lead(taken_on) OVER (PARTITION BY laestab ORDER BY taken_on) AS later
    FROM snaps
),
disappeared AS (
    -- since: from the day after the roll that last listed the child, a roll of another
    -- school or an addition return shows where the child went (it may predate p.later)
    SELECT r.laestab, r.upn, r.given, r.family, r.dob, p.later AS left_on,
        CAST(p.earlier + INTERVAL 1 DAY AS DATE) AS since,
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
    SELECT laestab, upn, given, family, dob, deleted_on AS left_on, deleted_on AS since,
        'deletion return, ground (' || ground || '), no destination' AS how
    FROM deletions WHERE NOT known
),
leavers AS (SELECT * FROM disappeared UNION ALL SELECT * FROM deleted),
{_standing_additions("leavers")}due AS (
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
                       OR (r.taken_on >= l.since AND r.laestab <> l.laestab)))
  AND NOT EXISTS (SELECT 1 FROM standing_additions a WHERE a.upn = l.upn
                  AND a.joined_on >= l.since)
  AND NOT EXISTS (SELECT 1 FROM home_education h WHERE h.upn = l.upn
                  AND h.started_on <= $as_of
                  AND (h.ended_on IS NULL OR h.ended_on > $as_of))
  AND NOT EXISTS (SELECT 1 FROM open_cases c WHERE c.upn = l.upn)
""",  # noqa: S608 - constant SQL
    AlertRule.ALLOCATION_NOT_TAKEN: f"""
WITH {_standing_additions("allocations")}due AS (
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
                'last_on_roll', (SELECT CASE WHEN max(r.taken_on) IS NULL THEN NULL ELSE
                                 json_object('school', arg_max(r.laestab, r.taken_on),
                                             'taken_on', CAST(max(r.taken_on) AS VARCHAR)) END
                                 FROM rolls r WHERE r.upn = a.upn),
                'not_found_on', ['the school''s roll since the expected start',
                                 'any other school''s roll since the expected start',
                                 'an addition return from the school',
                                 'the school''s attendance marks']) AS evidence
FROM due a
WHERE due_on IS NOT NULL AND due_on <= $as_of
  -- on any school's roll since the expected start (the allocated one, or another school
  -- the family chose): the place was not needed, the child is not missing
  AND NOT EXISTS (SELECT 1 FROM rolls r WHERE r.upn = a.upn
                  AND r.taken_on >= a.expected_start AND r.taken_on <= $as_of)
  -- an addition return from the school (not one a later roll of the school contradicts)
  AND NOT EXISTS (SELECT 1 FROM standing_additions x
                  WHERE x.upn = a.upn AND x.laestab = a.laestab)
  AND NOT EXISTS (SELECT 1 FROM marks m WHERE m.upn = a.upn AND m.laestab = a.laestab
                  AND m.d >= a.expected_start AND m.d <= $as_of AND m.code <> 'Z')
""",  # noqa: S608 - constant SQL
    AlertRule.Y6_Y7_TRANSFER: f"""
WITH y6 AS (
    SELECT upn, arg_max(laestab, taken_on) AS laestab, arg_max(given, taken_on) AS given,
        arg_max(family, taken_on) AS family, arg_max(dob, taken_on) AS dob,
        year(max(taken_on)) AS summer_year, max(taken_on) AS last_seen
    FROM rolls WHERE nc_year = 6 AND month(taken_on) BETWEEN 5 AND 8
    GROUP BY upn
),
{_standing_additions("y6")}destination AS (
    -- the secondary school allocated for that September, if the authority knows it
    SELECT y6.upn, arg_max(a.laestab, a.expected_start) AS laestab
    FROM y6 JOIN allocations a ON a.upn = y6.upn
        AND a.expected_start BETWEEN make_date(y6.summer_year, 7, 1)
                                 AND make_date(y6.summer_year, 12, 31)
    GROUP BY y6.upn
),
checked AS (
    SELECT y6.*, dest.laestab AS destination,
        (SELECT min(r.taken_on) FROM rolls r WHERE r.laestab = dest.laestab
         AND r.taken_on BETWEEN make_date(y6.summer_year, 9, 1)
                            AND make_date(y6.summer_year, 12, 31)) AS destination_autumn,
        -- the first such day after Year 7 begins (1 September): a day before September
        -- is in the next calendar year; 29 February in a common year counts as 1 March
        make_date(summer_year + CASE WHEN $y7_month < 9 THEN 1 ELSE 0 END, $y7_month, 1)
            + (CAST($y7_day AS INTEGER) - 1) AS authority_date
    FROM y6 LEFT JOIN destination dest ON dest.upn = y6.upn
)
SELECT laestab, upn, CAST(make_date(summer_year, 9, 1) AS VARCHAR), given, family, dob,
    json_object('year_6_roll', CAST(last_seen AS VARCHAR),
                'destination', destination,
                'destination_autumn_roll', CAST(destination_autumn AS VARCHAR),
                'authority_date', CAST(authority_date AS VARCHAR),
                'not_found_on', ['any roll since 1 September', 'an addition return',
                                 'the home-education list', 'an open case']) AS evidence
FROM checked y6
-- the destination school's own autumn roll is in, or the authority's date has passed
WHERE (destination_autumn <= $as_of OR authority_date <= $as_of)
  AND NOT EXISTS (SELECT 1 FROM rolls r WHERE r.upn = y6.upn
                  AND r.taken_on >= make_date(summer_year, 9, 1))
  AND NOT EXISTS (SELECT 1 FROM standing_additions a WHERE a.upn = y6.upn
                  AND a.joined_on >= make_date(summer_year, 7, 1))
  AND NOT EXISTS (SELECT 1 FROM home_education h WHERE h.upn = y6.upn
                  AND h.started_on <= $as_of
                  AND (h.ended_on IS NULL OR h.ended_on > $as_of))
  AND NOT EXISTS (SELECT 1 FROM open_cases c WHERE c.upn = y6.upn)
""",  # noqa: S608 - constant SQL
    AlertRule.DESTINATION_NOT_ON_ROLL: f"""
WITH named AS (
    SELECT d.*, greatest(d.deleted_on, coalesce(d.destination_start, d.deleted_on)) AS due_from
    FROM deletions d WHERE d.destination IS NOT NULL
),
{_standing_additions("named")}next_roll AS (
    SELECT n.*, (SELECT min(r.taken_on) FROM rolls r WHERE r.laestab = n.destination
                 AND r.taken_on >= n.due_from AND r.taken_on <= $as_of) AS next_taken_on
    FROM named n
)
SELECT n.laestab, n.upn, CAST(n.deleted_on AS VARCHAR), n.given, n.family, n.dob,
    json_object('deleted_on', CAST(n.deleted_on AS VARCHAR), 'ground', n.ground,
                'destination', n.destination,
                'destination_start', CAST(n.destination_start AS VARCHAR),
                'destination_roll', CAST(n.next_taken_on AS VARCHAR),
                'not_found_on', ['the named school''s next roll', 'an addition return from it',
                                 'any other school''s roll since']) AS evidence
FROM next_roll n
WHERE n.next_taken_on IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM rolls r WHERE r.upn = n.upn AND r.laestab = n.destination
                  AND r.taken_on = n.next_taken_on)
  AND NOT EXISTS (SELECT 1 FROM rolls r WHERE r.upn = n.upn AND r.laestab <> n.laestab
                  AND r.taken_on >= n.deleted_on AND r.taken_on <= $as_of)
  AND NOT EXISTS (SELECT 1 FROM standing_additions a WHERE a.upn = n.upn
                  AND a.joined_on >= n.deleted_on AND a.joined_on <= $as_of)
  AND NOT EXISTS (SELECT 1 FROM open_cases c WHERE c.upn = n.upn)
""",  # noqa: S608 - constant SQL
    AlertRule.SUGGEST_LOCATED: """
WITH seen AS (
    SELECT c.upn, c.case_id, c.date_referred, c.given, c.family, c.dob,
        r.laestab, r.taken_on AS seen_on, 'roll' AS source
    FROM open_cases c JOIN rolls r ON r.upn = c.upn AND r.taken_on > c.date_referred
    WHERE c.not_found
    UNION ALL
    SELECT c.upn, c.case_id, c.date_referred, c.given, c.family, c.dob,
        a.laestab, a.joined_on, 'addition return'
    FROM open_cases c JOIN additions a ON a.upn = c.upn AND a.joined_on >= c.date_referred
    WHERE c.not_found
)
SELECT arg_max(laestab, seen_on), upn, CAST(date_referred AS VARCHAR), any_value(given),
    any_value(family), any_value(dob),
    json_object('case_id', case_id, 'seen_on', CAST(max(seen_on) AS VARCHAR),
                'source', arg_max(source, seen_on), 'school', arg_max(laestab, seen_on)) AS evidence
FROM seen WHERE seen_on <= $as_of
GROUP BY upn, case_id, date_referred
""",
}


STATE_FILES = ("run_state", "school_state")


def _state_dir() -> Path:
    return attendance_dir() / store.STATE_DIR


def _calendar_fingerprint(con: Any) -> str:
    """What the sessions are numbered from: a new term or closure renumbers them."""
    (digest,) = con.execute(
        "SELECT md5(coalesce(string_agg(x, ';' ORDER BY x), '')) FROM ("
        "SELECT 't' || term_start || term_end AS x FROM terms "
        "UNION ALL SELECT 'c' || laestab || d FROM closures)"
    ).fetchone()
    return str(digest)


def _stored_state() -> dict[str, Any] | None:
    folder = _state_dir()
    try:
        meta = json.loads((folder / "state.json").read_text())
    except (OSError, ValueError):
        return None
    if not all((folder / f"{name}.parquet").is_file() for name in STATE_FILES):
        return None
    return meta if isinstance(meta, dict) else None


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _open_marks(con: Any, config: DetectionConfig) -> store.StoreFiles | None:
    """The ``marks`` view: files under ``--data``, else the attendance store."""
    if config.data_dir is not None:
        parquet, csv = engine.marks_sources(config.data_dir)
        engine.create_marks_view(con, parquet, csv)
        return None
    # Over the session grids the view is read only for a late correction: built lazily.
    return store.create_store_view(con, attendance_dir(), lazy=config.use_grids)


def _school_codes(files: store.StoreFiles | None) -> set[str] | None:
    """The schools of the store's files (from their folder names: no scan of the marks)."""
    if files is None:
        return None
    return {
        Path(p).parent.parent.name.removeprefix("school=") for p in [*files.bases, *files.deltas]
    }


def _calendar_file(folder: Path, name: str) -> Path:
    """``folder/name`` in any case of its name (``TERMS.CSV``), else the lower-case path."""
    for path in folder.iterdir() if folder.is_dir() else ():
        if path.name.lower() == name:
            return path
    return folder / name


def detection_find(config: DetectionConfig) -> DetectionReport:
    """Run every rule up to ``config.as_of``; return the findings (nothing is written
    but, with ``keep_state``, the next state in a new folder for :func:`detection_run`)."""
    if config.data_dir is not None:
        return _find(config)
    with store.store_lock(attendance_dir()):
        return _find(config)


def _find(config: DetectionConfig) -> DetectionReport:
    # The rolls (250,000 rows and more) are read on a thread of their own, from the copy
    # or the database (see _roll_entries_sql), while DuckDB and NumPy read the calendar,
    # the marks and the runs; no rule before the register rules needs them.
    rolls = _in_background(_rolls_table)
    try:
        return _find_with(config, rolls)
    finally:
        wait([rolls])  # the thread never outlives the detection (nor its connection)


def _find_with(config: DetectionConfig, rolls: Future[pa.Table]) -> DetectionReport:
    con = engine.connect(threads=config.threads, memory_limit=config.memory_limit)
    files = _open_marks(con, config)
    terms_csv = _calendar_file(config.data_dir, "terms.csv") if config.data_dir else None
    if terms_csv is not None and terms_csv.exists():
        engine.calendar_from_csv(con, terms_csv, _calendar_file(config.data_dir, "closures.csv"))  # type: ignore[arg-type]
    else:
        engine.load_calendar(con, term_rows(), closure_rows())
    _load_registers(con)
    extra = sorted(
        {
            *_roll_schools(),
            *(
                row[0]
                for row in con.execute(
                    "SELECT laestab FROM allocations UNION SELECT laestab FROM deletions"
                ).fetchall()
            ),
        }
    )
    engine.build_school_days(con, config.as_of, laestabs=_school_codes(files), extra_laestabs=extra)
    report = DetectionReport(as_of=config.as_of)
    gs = _grid_set(con, config, files)
    marks = "grid_marks" if gs is not None else "marks"
    # The pupils' names (their latest roll's) are looked up at the end, for the findings
    # only: not a dictionary of every pupil on every roll.
    names = _RollNames()

    threshold = CME_REFERRAL_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY
    report.runs, evidence_marks = _absence_runs(con, config, files, report, threshold, gs)
    for run in report.runs:
        if run.sessions < threshold:
            continue
        evidence = _run_evidence(run, evidence_marks.get((run.laestab, run.upn, run.first_seq)))
        rules = [AlertRule.ABSENCE_20]
        if run.sessions >= DELETION_GROUND_I_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY:
            rules.append(AlertRule.ABSENCE_40)
        given, family, dob = names.get(run.upn)
        for rule in rules:
            report.findings.append(
                Finding(
                    rule=rule,
                    laestab=run.laestab,
                    upn=run.upn,
                    episode_start=f"{run.first_date.isoformat()} {run.first_session}",
                    evidence=evidence,
                    given_name=given,
                    family_name=family,
                    dob=dob,
                )
            )

    # Runs split by a school move or dual registration, joined across the schools.
    known = {(str(f.rule), f.upn, f.episode_start) for f in report.findings}
    for finding in joined_runs(con, config.as_of, threshold, marks=marks):
        given, family, dob = names.get(finding.upn)
        finding.given_name, finding.family_name, finding.dob = given, family, dob
        if (str(finding.rule), finding.upn, finding.episode_start) not in known:
            report.findings.append(finding)

    grids.register_table(con, "rolls", rolls.result())
    y7_month, y7_day = y6_y7_authority_date()
    params = {
        "as_of": config.as_of,
        "leaver_days": config.leaver_school_days,
        "allocation_days": ALLOCATION_SCHOOL_DAYS,
        "y7_month": y7_month,
        "y7_day": y7_day,
    }
    for rule, sql in RULE_SQL.items():
        wanted = {k: v for k, v in params.items() if f"${k}" in sql}
        sql = sql.replace("FROM marks m", f"FROM {marks} m")
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
        for row in engine.attendance_summary(con, year_start, config.as_of, in_care, marks=marks):
            if row.possible and row.percent <= IN_CARE_ATTENDANCE_PERCENT:
                given, family, dob = names.get(row.upn)
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
        con,
        year_start,
        config.as_of,
        ILLNESS_RETURN_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY,
        marks=marks,
    ):
        given, family, dob = names.get(upn)
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
    names.fill(con, report.findings)
    con.close()
    return report


class _RollNames:
    """Names for findings from the rolls, looked up once at the end for those findings
    only. :meth:`get` hands out blanks and remembers who asked; :meth:`fill` writes each
    pupil's name, family name and date of birth from their latest roll entry."""

    def __init__(self) -> None:
        self.upns: set[str] = set()

    def get(self, upn: str) -> tuple[str, str, date | None]:
        self.upns.add(upn)
        return "", "", None

    def fill(self, con: Any, findings: list[Finding]) -> None:
        if not self.upns:
            return
        _register(con, "named_upns", ("upn",), [(u,) for u in sorted(self.upns)], (pa.string(),))
        found = {
            upn: (given or "", family or "", dob)
            for upn, given, family, dob in con.execute(
                "SELECT upn, arg_max(given, taken_on), arg_max(family, taken_on), "
                "arg_max(dob, taken_on) FROM rolls SEMI JOIN named_upns USING (upn) "
                "GROUP BY upn"
            ).fetchall()
        }
        for finding in findings:
            if finding.rule in _NAMED_FROM_ROLLS and finding.upn in found:
                finding.given_name, finding.family_name, finding.dob = found[finding.upn]


#: The rules whose findings take the pupil's name from the rolls (the others' queries
#: give the name of the return, allocation or case they come from).
_NAMED_FROM_ROLLS = frozenset(
    {
        AlertRule.ABSENCE_20,
        AlertRule.ABSENCE_40,
        AlertRule.IN_CARE_ATTENDANCE,
        AlertRule.ILLNESS_15,
    }
)


_ABSENT_CODES = ", ".join(f"'{c}'" for c in sorted(UNEXPLAINED_ABSENCE_CODES))
_NEUTRAL_CODES = ", ".join(f"'{c}'" for c in sorted(NEUTRAL_FOR_RUNS_CODES | {"D"}))

#: A pupil's runs across every school they have marks at (rules.md section 4 applied to the
#: pupil, not one school): each school session of any of the pupil's schools (within the
#: dates that school marked them) is *broken* if any school recorded attendance or any
#: other breaking code, *absent* if a school recorded G, N or O and none broke it, a *gap*
#: if no school marked it, else neutral. ``D`` (at the other school) is neutral here: the
#: other school's mark decides. Only pupils with unexplained absence at two or more schools
#: are looked at, and only runs with absence at two or more schools are kept (the others are
#: the single-school runs the engine already finds).
JOINED_RUNS_SQL = f"""
WITH movers AS (
    -- pupils with unexplained absence at two or more schools (a cheap filter first: only
    -- the G, N and O marks are grouped)
    SELECT upn FROM marks WHERE code IN ({_ABSENT_CODES}) AND d <= $as_of
    GROUP BY upn HAVING count(DISTINCT laestab) > 1
),
spans AS (
    SELECT m.upn, m.laestab, min(m.d) AS lo, max(m.d) AS hi
    FROM marks m JOIN movers USING (upn) WHERE m.d <= $as_of GROUP BY ALL
),
slots AS (
    SELECT DISTINCT sp.upn, s.d, s.session
    FROM spans sp JOIN school_sessions s
      ON s.laestab = sp.laestab AND s.d BETWEEN sp.lo AND sp.hi
),
coded AS (
    SELECT sl.upn, sl.d, sl.session,
        coalesce(bool_or(m.code IN ({_ABSENT_CODES})), false) AS absent,
        coalesce(bool_or(m.code NOT IN ({_ABSENT_CODES}) AND m.code NOT IN ({_NEUTRAL_CODES})),
                 false) AS breaks,
        count(m.code) AS marks,
        list(m.laestab) FILTER (WHERE m.code IN ({_ABSENT_CODES})) AS absent_at
    FROM slots sl LEFT JOIN marks m ON m.upn = sl.upn AND m.d = sl.d AND m.session = sl.session
    GROUP BY ALL
),
seg AS (
    SELECT *, sum(CASE WHEN breaks THEN 1 ELSE 0 END)
        OVER (PARTITION BY upn ORDER BY d, session) AS grp
    FROM coded
),
firsts AS (
    SELECT upn, grp, min(d || ' ' || session) AS first_key, max(d || ' ' || session) AS last_key
    FROM seg WHERE absent AND NOT breaks GROUP BY ALL
),
last_groups AS (SELECT upn, max(grp) AS last_grp FROM seg GROUP BY upn),
runs AS (
    SELECT s.upn, s.grp, any_value(f.first_key) AS first_key, any_value(f.last_key) AS last_key,
        count(*) FILTER (WHERE s.absent) AS sessions,
        count(*) FILTER (WHERE s.marks = 0) AS gaps,
        list_distinct(flatten(list(s.absent_at) FILTER (WHERE s.absent))) AS schools,
        arg_max(s.absent_at[-1], s.d || ' ' || s.session) FILTER (WHERE s.absent) AS last_school,
        any_value(s.grp = l.last_grp) AS is_last
    FROM seg s
    JOIN firsts f ON f.upn = s.upn AND f.grp = s.grp
        AND (s.d || ' ' || s.session) BETWEEN f.first_key AND f.last_key
    JOIN last_groups l ON l.upn = s.upn
    WHERE NOT s.breaks
    GROUP BY s.upn, s.grp
)
SELECT upn, last_school, first_key, last_key, sessions, gaps, list_sort(schools), is_last
FROM runs WHERE sessions >= $min_sessions AND len(schools) > 1
ORDER BY upn, first_key
"""  # noqa: S608 - constant SQL built from the code tables


def joined_runs(con: Any, as_of: date, min_sessions: int, *, marks: str = "marks") -> list[Finding]:
    """Absence runs joined across a school move or dual registration (see the SQL)."""
    findings = []
    sql = JOINED_RUNS_SQL.replace("FROM marks ", f"FROM {marks} ").replace(
        "JOIN marks m", f"JOIN {marks} m"
    )
    rows = con.execute(sql, {"as_of": as_of, "min_sessions": min_sessions})
    for upn, laestab, first, last, sessions, gaps, schools, is_last in rows.fetchall():
        evidence = {
            "first_session": first,
            "last_session": last,
            "sessions": sessions,
            "school_days": sessions / SESSIONS_PER_SCHOOL_DAY,
            "data_gaps": gaps,
            "open": bool(is_last),
            "schools": schools,
            "joined": "absence at more than one school (a school move or dual registration)",
        }
        rules = [AlertRule.ABSENCE_20]
        if sessions >= DELETION_GROUND_I_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY:
            rules.append(AlertRule.ABSENCE_40)
        for rule in rules:
            findings.append(
                Finding(rule=rule, laestab=laestab, upn=upn, episode_start=first, evidence=evidence)
            )
    return findings


def _absence_runs(
    con: Any,
    config: DetectionConfig,
    files: store.StoreFiles | None,
    report: DetectionReport,
    threshold: int,
    gs: grids.GridSet | None = None,
) -> tuple[list[engine.RunRow], dict[tuple[str, str, int], list[list[str | None]]]]:
    """Runs of unexplained absence and their alerts' marks: carried on from the stored
    state over the marks imported since (an increment), or from every mark."""
    min_sessions = max(1, min(config.min_run_sessions, threshold))
    fingerprint = _calendar_fingerprint(con) if files is not None else ""
    state = _stored_state() if files is not None and config.incremental else None
    usable = (
        state is not None
        and state.get("calendar") == fingerprint
        and state.get("as_of", "9999") <= config.as_of.isoformat()
    )
    if files is not None and state is not None and usable:
        folder = _state_dir()
        for name in STATE_FILES:
            con.execute(
                f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM "  # noqa: S608 - our files
                f"read_parquet('{_sql_path(folder / f'{name}.parquet')}')"
            )
        consumed = set(state.get("consumed", []))
        root = attendance_dir()
        new = [p for p in files.deltas if str(Path(p).relative_to(root)) not in consumed]
        if gs is not None and new and new == files.deltas:  # read with the grids
            con.execute("CREATE OR REPLACE TEMP VIEW new_marks AS SELECT * FROM store_deltas")
        else:
            con.execute(f"CREATE OR REPLACE TEMP TABLE new_marks AS {store.deltas_sql(new)}")
        report.marks = int(con.execute("SELECT count(*) FROM new_marks").fetchone()[0])
        runs = [r for r in engine.incremental_runs(con, config.as_of) if r.sessions >= min_sessions]
        if gs is not None:
            _grid_marks(con, config, gs, increment=True)
            evidence = grids.run_evidence(con, gs, threshold, EVIDENCE_MARKS)
        else:
            evidence = engine.run_evidence(con, threshold, EVIDENCE_MARKS, marks_table="marks")
        report.incremental = True
    elif gs is not None:
        with_state = config.keep_state
        report.marks = gs.marks
        _grid_candidates(con, config, gs, min_sessions, with_state=with_state)
        runs = grids.absence_runs(con, gs, min_sessions=min_sessions, with_state=with_state)
        evidence = grids.run_evidence(con, gs, threshold, EVIDENCE_MARKS)
        _grid_marks(con, config, gs, increment=False)
    else:
        report.marks = int(con.execute("SELECT count(*) FROM marks").fetchone()[0])
        runs = engine.absence_runs(
            con,
            config.as_of,
            min_sessions=min_sessions,
            with_state=files is not None and config.keep_state,
        )
        evidence = engine.run_evidence(con, threshold, EVIDENCE_MARKS)
    if files is not None and config.keep_state:
        root = attendance_dir()
        target = _state_dir() / f".new-{uuid.uuid4().hex}"
        target.mkdir(parents=True)
        for name in STATE_FILES:
            con.execute(
                f"COPY {name} TO '{_sql_path(target / f'{name}.parquet')}' (FORMAT parquet)"
            )
        report.new_state = target
        report.state_meta = {
            "as_of": config.as_of.isoformat(),
            "calendar": fingerprint,
            "consumed": sorted(str(Path(p).relative_to(root)) for p in files.deltas),
        }
    return runs, evidence


def _grid_set(
    con: Any, config: DetectionConfig, files: store.StoreFiles | None
) -> grids.GridSet | None:
    """The session grids of the store's partitions (deltas laid over them), or None (the
    marks are then read as rows): over ``--data``, or when a partition cannot be held in
    a grid."""
    if files is None or not config.use_grids:
        return None
    table = None
    if files.deltas:  # read once: the grids and an increment's new marks both need them
        table = "store_deltas"
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {store.deltas_sql(files.deltas)}")
    try:
        loaded = grids.load_grids(con, attendance_dir(), files, deltas_table=table)
    except grids.GridUnusable:
        return None
    return grids.grid_set(con, loaded, config.as_of)


def _grid_candidates(
    con: Any, config: DetectionConfig, gs: grids.GridSet, min_sessions: int, *, with_state: bool
) -> None:
    grids.prepare_runs(
        con,
        gs,
        min_sessions=min_sessions,
        with_state=with_state,
        illness_from=academic_year_start(config.as_of),
        marks=False,
    )


def _grid_marks(con: Any, config: DetectionConfig, gs: grids.GridSet, *, increment: bool) -> None:
    """``grid_marks``: the marks of the pupils the other rules look at (see
    :func:`grids.prepare_other_rules`; the runs' evidence is read from the grids by
    :func:`grids.run_evidence`). An increment counts the pupils' marks first (a full run
    has counted them for the runs)."""
    if increment:
        grids.pupil_counts(gs, con, illness_from=academic_year_start(config.as_of), runs=False)
    upns_from = ["SELECT upn FROM in_care", "SELECT upn FROM allocations"]
    grids.prepare_other_rules(
        con,
        gs,
        illness_sessions=ILLNESS_RETURN_SCHOOL_DAYS * SESSIONS_PER_SCHOOL_DAY,
        upns_from=upns_from,
    )


def _state_commit(report: DetectionReport) -> None:
    """Move the new state into place (after the alerts are committed)."""
    if report.new_state is None:
        return
    folder = _state_dir()
    for name in STATE_FILES:
        os.replace(report.new_state / f"{name}.parquet", folder / f"{name}.parquet")
    temp = folder / ".state.json.tmp"
    temp.write_text(json.dumps(report.state_meta))
    os.replace(temp, folder / "state.json")
    shutil.rmtree(report.new_state, ignore_errors=True)
    report.new_state = None


def _state_discard(report: DetectionReport) -> None:
    if report.new_state is not None:
        shutil.rmtree(report.new_state, ignore_errors=True)
        report.new_state = None


def detection_state_consumed() -> set[str] | None:
    """The deltas the stored state has read (compaction folds only those), or None when
    there is no state (the next detection reads everything anyway)."""
    state = _stored_state()
    return None if state is None else set(state.get("consumed", []))


def attendance_compact(*, threads: int | None = None) -> list[store.Compacted]:
    """Fold the attendance deltas that detection has read into each partition's
    ``marks.parquet`` (all of them when there is no detection state yet), and record each
    partition's exact count of marks."""
    root = attendance_dir()
    if not root.exists():
        return []
    con = engine.connect(threads=threads)
    try:
        done = store.compact(con, root, only=detection_state_consumed)
        # Each compacted file's session grid, for detection (built only where missing or
        # older than its marks file).
        with store.store_lock(root, exclusive=True):
            grids.build_missing(con, root)
    finally:
        con.close()
    for part in done:
        AttendancePartition.objects.filter(
            school__local_authority__code=part.laestab[:3],
            school__estab_number=part.laestab[3:],
            academic_year=part.year,
        ).update(marks=part.marks, updated_at=timezone.now())
    return done


def attendance_compact_job() -> str:
    """Nightly in the worker (``attendance-compact``), before detection."""
    done = attendance_compact()
    return (
        f"attendance: {sum(p.deltas for p in done)} delta file(s) folded into "
        f"{len(done)} partition(s)"
    )


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
    # In the function: matching.services loads the search index's libraries (NumPy,
    # PyArrow), which every command would otherwise pay for at start-up (this module is
    # loaded by detection/jobs.py in CoreConfig.ready()).
    from cmetrack.matching.services import refresh_index

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


def _run_evidence(run: engine.RunRow, marks: list[list[str | None]] | None) -> dict[str, Any]:
    """An absence alert's evidence: the run, and its marks (from :func:`engine.run_evidence`,
    computed for every run at once)."""
    return {
        "first_session": f"{run.first_date.isoformat()} {run.first_session}",
        "last_session": f"{run.last_date.isoformat()} {run.last_session}",
        "sessions": run.sessions,
        "school_days": run.school_days,
        "span_sessions": run.span_sessions,
        "data_gaps": run.data_gaps,
        "open": run.open,
        # (DuckDB gives each mark as a list already: copied only if it did not)
        "marks": marks
        if marks is not None and all(type(mark) is list for mark in marks)
        else [list(mark) for mark in marks or []],
    }


def detection_run(*, actor: Actor, config: DetectionConfig) -> DetectionReport:
    """Find, then write the alerts: new ones created, known ones' evidence refreshed.

    Over the imported attendance the open-run state moves on with the alerts: it is put
    in place only after they are committed, with the store locked for reading throughout
    (so compaction cannot fold a delta this run has not read)."""
    config = dataclasses.replace(config, keep_state=config.data_dir is None)
    if config.data_dir is not None:
        return _detection_write(actor, config, _find(config))
    with store.store_lock(attendance_dir()):
        report = _find(config)
        try:
            _detection_write(actor, config, report)
        except BaseException:
            _state_discard(report)
            raise
        _state_commit(report)
    return report


def _insert_alerts(alerts: list[Alert]) -> None:
    """Insert the new alerts: one INSERT statement run for every alert (a full year's
    first detection writes 6,000; Django's ``bulk_create`` prepares each value through
    its query compiler and reads every new id back, which nothing here needs)."""
    if not alerts:
        return
    insert_many(alerts)


def _update_alerts(alerts: list[Alert], names: Sequence[str]) -> None:
    """Write ``names`` of each alert: one UPDATE statement run for every alert (an increment
    refreshes the evidence of every open run's alert, a thousand or more; Django's
    ``bulk_update`` builds a CASE expression a row and took over a second for them)."""
    if not alerts:
        return
    update_fields_many(alerts, names)


@transaction.atomic
def _detection_write(
    actor: Actor, config: DetectionConfig, report: DetectionReport
) -> DetectionReport:
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
    _insert_alerts(to_create)
    _update_alerts(to_update, ("evidence", "last_detected_at", "detected_on"))
    report.created, report.updated = len(to_create), len(to_update)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        object_type="detection.alert",
        summary=f"Detection as of {config.as_of}: {report.created} new alerts, "
        f"{report.updated} updated"
        + (" (marks imported since the last run)" if report.incremental else ""),
        changes={
            "after": {
                "counts": report.counts(),
                "marks": report.marks,
                "incremental": report.incremental,
            }
        },
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


#: Year 6 to 7: the day (month, day) after which a Year 6 pupil on no Year 7 roll is raised
#: even if the destination school has not sent its autumn roll (``DETECTION_Y6_Y7_DATE``,
#: "MM-DD"; default 1 October). It is the first such day on or after 1 September of Year 7:
#: "01-15" is 15 January of the following calendar year.
DEFAULT_Y6_Y7_DATE = (10, 1)


def y6_y7_authority_date() -> tuple[int, int]:
    value = str(getattr(settings, "DETECTION_Y6_Y7_DATE", "") or "")
    if not value:
        return DEFAULT_Y6_Y7_DATE
    month, _, day = value.partition("-")
    date(2000, int(month), int(day))  # a real day of the year, or ValueError
    return int(month), int(day)


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
