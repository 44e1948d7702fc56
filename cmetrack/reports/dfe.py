"""The DfE termly elective home education (EHE) and children missing education (CME)
return, from the records. See docs/dfe-return.md for the version followed, every field
and what is assumed.

Classification follows the DfE: a child whose home education is judged unsuitable (on the
list and with a case missing education on census day) counts as CME only; a child located
on a roll, home educated or gone does not count as CME. Every value is read as it was on
census day, as now known (the state history and the dated facts: docs/reporting.md).

Every count is one pass over the cases; the rows (by date of birth, sex, length of time,
reason, SEN, child in need or protection) are folded with the pure rules (compulsory
school age, national curriculum year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Case as When_
from django.db.models import QuerySet, Value, When
from django.utils import timezone

from cmetrack.cases.models import Case, CaseStateChange, CmeReason
from cmetrack.kit.exports import csv_rows
from cmetrack.people.models import Child
from cmetrack.registers.models import EheReason
from cmetrack.registers.selectors import (
    home_education_rows_at,
    home_education_year_rows,
    on_list_at,
)
from cmetrack.rules import is_of_compulsory_school_age, national_curriculum_year

from .periods import Season, census_day, months_back
from .selectors import (
    _ELSEWHERE_SQL,
    CME_STATES,
    STATE_THEN,
    _cases_then_sql,
    cases_in_states_at,
    fact_column,
    grouped_in_states_at,
    route_at_sql,
)

SEASON_LABEL = {
    Season.AUTUMN: "Autumn term",
    Season.SPRING: "Spring term",
    Season.SUMMER: "Summer term",
}
SEX_LABEL = {"F": "Female", "M": "Male", "U": "Unknown"}
LENGTH_BANDS = (
    ("lt1m", "Less than 1 month"),
    ("1to3m", "1 month to less than 3 months"),
    ("3to6m", "3 months to less than 6 months"),
    ("6to12m", "6 months to less than 12 months"),
    ("12mplus", "12 months or more"),
)
NOT_KNOWN = "Not known"
#: The breakdown label of each recorded reason (docs/dfe-return.md: assumed wording until
#: checked against the DfE guide); a case without a reason counts as "Not known".
CME_REASON_LABELS: dict[str, str] = {
    **{str(value): str(label) for value, label in CmeReason.choices},
    "": NOT_KNOWN,
}
YEAR_GROUPS = ("Reception", *(f"Year {n}" for n in range(1, 12)))
#: SEN status (the child's SEN provision on census day).
SEN_LABELS = {"E": "EHC plan", "K": "SEN support", "N": "No SEN"}
#: Child in need or child protection plan on census day (a plan outranks in need).
CIN_CP_LABELS = ("Child protection plan", "Child in need", "Neither")
#: The breakdown label of each recorded EHE primary reason ("" counts as "Not known").
EHE_REASON_LABELS: dict[str, str] = {
    **{str(v): str(label) for v, label in EheReason.choices if v},
    "": NOT_KNOWN,
}
#: EHE over the previous academic year (the autumn return): breakdown → the event.
EHE_YEAR_ITEMS = (
    ("Home educated at any time", "any"),
    ("Started home education", "start"),
    ("Returned to school", "returned"),
    ("Section 437(1) notices served", "s437_1"),
    ("School attendance orders served", "sao"),
)

CSV_HEADER = (
    "data_item",
    "time_period",
    "time_identifier",
    "geographic_level",
    "old_la_code",
    "la_name",
    "breakdown_topic",
    "breakdown",
    "child_count",
)


@dataclass(frozen=True)
class Problem:
    """A record the return cannot count as it should, and what happens to it."""

    case_id: int
    reference: str
    problem: str
    effect: str


@dataclass
class DfeReturn:
    season: Season
    year: int
    census: dt.date
    cme: dict[str, dict[str, int]] = field(default_factory=dict)
    cme_full_year: int | None = None
    ehe: dict[str, dict[str, int]] = field(default_factory=dict)
    #: EHE over the previous academic year (autumn only): breakdown → children.
    ehe_full_year: dict[str, int] | None = None
    #: Children on the home-education list counted as CME only (unsuitable education).
    ehe_counted_as_cme: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_total: int = 0
    #: Children counted whose primary reason for CME is not recorded (every one, for now).
    reason_not_recorded: int = 0
    not_school_age: int = 0

    @property
    def time_period(self) -> str:
        start = self.year if self.season == Season.AUTUMN else self.year - 1
        return f"{start}{(start + 1) % 100:02d}"

    def csv_rows(self) -> list[tuple[object, ...]]:
        base = (
            self.time_period,
            SEASON_LABEL[self.season],
            "Local authority",
            settings.CMETRACK_LA_CODE,
            settings.CMETRACK_LA_NAME,
        )
        rows: list[tuple[object, ...]] = []
        for item, table in (("cme_census", self.cme), ("ehe_census", self.ehe)):
            for topic, values in table.items():
                for breakdown, n in values.items():
                    rows.append((item, *base, topic, breakdown, n))
        if self.cme_full_year is not None:
            rows.append(
                (
                    "cme_full_year",
                    self.previous_time_period,
                    "Academic year",
                    *base[2:],
                    "Total",
                    "Total",
                    self.cme_full_year,
                )
            )
        for breakdown, n in (self.ehe_full_year or {}).items():
            rows.append(
                (
                    "ehe_full_year",
                    self.previous_time_period,
                    "Academic year",
                    *base[2:],
                    "EHE over the year",
                    breakdown,
                    n,
                )
            )
        return rows

    @property
    def previous_time_period(self) -> str:
        """The academic year before the return's (the full-year items of autumn)."""
        start = int(self.time_period[:4]) - 1
        return f"{start}{(start + 1) % 100:02d}"

    def csv_bytes(self) -> bytes:
        """The return as the CSV file that is downloaded and kept when submitted (UTF-8,
        every cell through the formula guard)."""
        return "".join(csv_rows(CSV_HEADER, self.csv_rows())).encode("utf-8")


def _length_band(census: dt.date) -> When_:
    return When_(
        When(date_referred__gt=months_back(census, 1), then=Value("lt1m")),
        When(date_referred__gt=months_back(census, 3), then=Value("1to3m")),
        When(date_referred__gt=months_back(census, 6), then=Value("3to6m")),
        When(date_referred__gt=months_back(census, 12), then=Value("6to12m")),
        default=Value("12mplus"),
    )


def _band_sql(census: dt.date) -> tuple[str, list[Any]]:
    ops = connection.ops
    bounds = [ops.adapt_datefield_value(months_back(census, m)) for m in (1, 3, 6, 12)]
    sql = (
        "CASE WHEN c.date_referred > %s THEN 'lt1m' WHEN c.date_referred > %s THEN '1to3m' "
        "WHEN c.date_referred > %s THEN '3to6m' WHEN c.date_referred > %s THEN '6to12m' "
        "ELSE '12mplus' END"
    )
    return sql, bounds


#: One case (or home-education record) as the return sees it: (id, child id, date of
#: birth, sex, length band, primary reason, SEN provision, child in need or protection).
CaseRow = tuple[int, int, dt.date | None, str, str, str, str, str]


def _cin_cp(cin: Any, cp: Any) -> str:
    if str(cp) in ("True", "1", "true"):
        return CIN_CP_LABELS[0]
    if str(cin) in ("True", "1", "true"):
        return CIN_CP_LABELS[1]
    return CIN_CP_LABELS[2]


def _case_rows(qs: QuerySet[Case] | None, census: dt.date) -> list[CaseRow]:
    """The cases of ``qs`` through the ORM (today: the current columns), or (``qs``
    None) the cases missing education on ``census`` in one SQL pass over the state
    history, with the reason, SEN and child in need or protection as they were on that
    day; one narrow row each. The tables, the child counts and the validation report are
    all folded from these rows, so the history is read once."""
    if qs is None:
        band, params = _band_sql(census)
        columns = ["c.id", "c.child_id", "ch.dob", "ch.sex", band]
        for dimension in ("reason", "sen", "cin", "cp"):
            sql, fact_params = fact_column(dimension, census)
            columns.append(sql)
            params += fact_params
        rows: Any = grouped_in_states_at(
            census, CME_STATES, columns, column_params=params, unit="cases"
        )
    else:
        rows = (
            qs.annotate(band=_length_band(census))
            .values_list(
                "pk",
                "child_id",
                "child__dob",
                "child__sex",
                "band",
                "cme_reason",
                "child__sen_provision",
                "child__child_in_need",
                "child__child_protection_plan",
            )
            .order_by()
        )
    return [
        (int(pk), int(child), dob, str(sx), str(b), str(r or ""), str(sen), _cin_cp(cin, cp))
        for pk, child, dob, sx, b, r, sen, cin, cp, *_ in rows
    ]


def _child_facts_at(child_ids: list[int], census: dt.date) -> dict[int, tuple[str, str]]:
    """(SEN provision, child in need or protection) of each child on ``census``."""
    if not child_ids:
        return {}
    columns, params = [], []
    for dimension in ("sen", "cin", "cp"):
        sql, fact_params = fact_column(dimension, census)
        columns.append(sql)
        params += fact_params
    placeholders = ", ".join(["%s"] * len(child_ids))
    sql = (
        f"SELECT ch.id, {', '.join(columns)} FROM {Child._meta.db_table} ch "  # noqa: S608
        f"WHERE ch.id IN ({placeholders})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *child_ids])
        return {int(pk): (str(sen), _cin_cp(cin, cp)) for pk, sen, cin, cp in cursor.fetchall()}


@dataclass
class _Folded:
    tables: dict[str, dict[str, int]]
    not_school_age: int
    #: Cases (ids, in order) not counted for want of a date of birth; and counted cases
    #: without a primary reason.
    no_dob: list[int]
    no_reason: list[int]


def _tables(rows: list[CaseRow], census: dt.date, with_length: bool) -> _Folded:
    """Total, sex, year group, SEN status and child in need or protection (and length of
    time and reason for CME, or the primary reason for EHE) of the children of
    compulsory school age in ``rows``, each child once (by their latest case)."""
    year = census.year if census.month >= 9 else census.year - 1
    total = not_csa = 0
    sex = dict.fromkeys(SEX_LABEL.values(), 0)
    years = dict.fromkeys(YEAR_GROUPS, 0)
    lengths = {label: 0 for _, label in LENGTH_BANDS}
    reasons = dict.fromkeys((CME_REASON_LABELS if with_length else EHE_REASON_LABELS).values(), 0)
    sen_counts = dict.fromkeys(SEN_LABELS.values(), 0)
    cin_cp = dict.fromkeys(CIN_CP_LABELS, 0)
    names = dict(LENGTH_BANDS)
    latest: dict[int, CaseRow] = {}
    for row in rows:
        if row[1] not in latest or row[0] > latest[row[1]][0]:
            latest[row[1]] = row
    no_dob: list[int] = []
    no_reason: list[int] = []
    for pk, _child, dob, sx, band, reason, sen, status in sorted(latest.values()):
        if dob is None:
            no_dob.append(pk)
            continue
        if not is_of_compulsory_school_age(dob, census):
            not_csa += 1
            continue
        total += 1
        sex[SEX_LABEL.get(sx, "Unknown")] += 1
        nc = national_curriculum_year(dob, year)
        label = "Reception" if nc <= 0 else f"Year {min(nc, 11)}"
        years[label] += 1
        sen_counts[SEN_LABELS.get(sen, SEN_LABELS["N"])] += 1
        cin_cp[status] += 1
        if with_length:
            lengths[names[band]] += 1
            reasons[CME_REASON_LABELS.get(reason, NOT_KNOWN)] += 1
            if not reason:
                no_reason.append(pk)
        else:
            reasons[EHE_REASON_LABELS.get(reason, NOT_KNOWN)] += 1
    tables: dict[str, dict[str, int]] = {"Total": {"Total": total}, "Sex": sex, "Year group": years}
    if with_length:
        tables["Length of time missing education"] = lengths
        tables["Primary reason for CME"] = reasons
    else:
        tables["Primary reason for EHE"] = reasons
    tables["SEN status"] = sen_counts
    tables["Child in need or child protection plan"] = cin_cp
    return _Folded(tables, not_csa, no_dob, no_reason)


def dfe_return(
    season: Season | str, year: int, *, today: dt.date | None = None, problem_limit: int = 500
) -> DfeReturn:
    s = Season(season)
    today = today or timezone.localdate()
    census = census_day(s, year)
    result = DfeReturn(season=s, year=year, census=census)
    # A census day before today: one pass over the cases as they were.
    source = None if census < today else cases_in_states_at(census, CME_STATES, today=today)
    case_rows = _case_rows(source, census)
    cme = _tables(case_rows, census, with_length=True)
    result.cme, result.not_school_age = cme.tables, cme.not_school_age
    result.reason_not_recorded = len(cme.no_reason)
    # The DfE counts a child whose home education is unsuitable (missing education on
    # census day) as CME only.
    missing = {row[1] for row in case_rows}
    on_list = home_education_rows_at(census)
    result.ehe_counted_as_cme = len({child for _, child, _, _ in on_list if child in missing})
    reasons = dict(on_list_at(census).values_list("pk", "primary_reason"))
    facts = _child_facts_at(sorted({child for _, child, _, _ in on_list}), census)
    ehe_rows: list[CaseRow] = [
        (pk, child, dob, sex, "", str(reasons.get(pk) or ""), *facts.get(child, ("N", "Neither")))
        for pk, child, dob, sex in on_list
        if child not in missing
    ]
    ehe = _tables(ehe_rows, census, with_length=False)
    result.ehe = ehe.tables
    if s == Season.AUTUMN:
        result.cme_full_year = _cme_full_year(year - 1, today=today)
        result.ehe_full_year = _ehe_full_year(year - 1)
    result.problem_total = len(cme.no_dob)
    references = [
        (
            pk,
            "Date of birth not recorded",
            "Not counted: compulsory school age and year group cannot be worked out.",
        )
        for pk in cme.no_dob
    ] + [
        (pk, "Primary reason for missing education not recorded", "Counted under “Not known”.")
        for pk in cme.no_reason
    ]
    result.problems = [
        Problem(case_id=pk, reference=f"CME-{pk:06d}", problem=problem, effect=effect)
        for pk, problem, effect in references[:problem_limit]
    ]
    return result


def _ehe_full_year(start_year: int) -> dict[str, int]:
    """EHE over the academic year starting ``start_year``: children on the list at any
    time, who started, who returned to school, and the children served a section 437(1)
    notice or a school attendance order in it; each child once per item, of compulsory
    school age on the year's first or last day."""
    start, end = dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31)
    seen: dict[str, set[int]] = {event: set() for _, event in EHE_YEAR_ITEMS}
    for child, dob, event in home_education_year_rows(start, end):
        if dob is None or not (
            is_of_compulsory_school_age(dob, start) or is_of_compulsory_school_age(dob, end)
        ):
            continue
        seen[event].add(child)
    return {label: len(seen[event]) for label, event in EHE_YEAR_ITEMS}


def _cme_full_year(start_year: int, *, today: dt.date) -> int:
    """Children missing education at any time in the academic year starting
    ``start_year``: a missing-education state held on the year's first day, or a change
    into one during the year; and of compulsory school age on its first or last day. One
    SQL pass grouped by date of birth."""
    start, end = dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31)
    ops = connection.ops
    states = sorted(CME_STATES)
    placeholders = ", ".join(["%s"] * len(states))
    cases, cases_params = _cases_then_sql(start, states)
    sql = (
        f"SELECT ch.dob, COUNT(DISTINCT c.child_id) FROM {Case._meta.db_table} c "  # noqa: S608
        f"JOIN {Child._meta.db_table} ch ON ch.id = c.child_id "
        f"WHERE ch.dob IS NOT NULL AND c.id IN (SELECT c.id FROM {cases} "
        f"AND {STATE_THEN} IN ({placeholders}) UNION SELECT s.case_id FROM "
        f"{CaseStateChange._meta.db_table} s JOIN {Case._meta.db_table} c2 ON c2.id = s.case_id "
        f"WHERE s.to_state IN ({placeholders}) AND s.effective_on > %s "
        "AND s.effective_on <= %s AND NOT (s.to_state = 'located' AND "
        f"{route_at_sql('s.case_id', 's.effective_on')} IN ({_ELSEWHERE_SQL}))) GROUP BY ch.dob"
    )
    params = [
        *cases_params,
        *states,
        *states,
        ops.adapt_datefield_value(start),
        ops.adapt_datefield_value(end),
    ]
    total = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for dob, n in cursor.fetchall():
            born = dt.date.fromisoformat(dob) if isinstance(dob, str) else dob
            if is_of_compulsory_school_age(born, start) or is_of_compulsory_school_age(born, end):
                total += int(n)
    return total
