"""The DfE termly elective home education (EHE) and children missing education (CME)
return, from the records. See docs/dfe-return.md for the version followed and what is
assumed.

Every count is a grouped query; the groups (by date of birth, sex and length of time) are
folded with the pure rules (compulsory school age, national curriculum year).
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

from cmetrack.cases.models import Case, CmeReason
from cmetrack.registers.selectors import home_education_rows_at
from cmetrack.rules import is_of_compulsory_school_age, national_curriculum_year

from .periods import Season, census_day, months_back
from .selectors import CME_STATES, cases_in_states_at, grouped_in_states_at

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
                    self.time_period,
                    "Academic year",
                    *base[2:],
                    "Total",
                    "Total",
                    self.cme_full_year,
                )
            )
        return rows


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


#: One case as the return sees it: (case id, child id, date of birth, sex, length band,
#: primary reason).
CaseRow = tuple[int, int, dt.date | None, str, str, str]


def _case_rows(qs: QuerySet[Case] | None, census: dt.date) -> list[CaseRow]:
    """The cases of ``qs`` through the ORM, or (``qs`` None) the cases missing education
    on ``census`` in one SQL pass over the state history; one narrow row each. The
    tables, the child counts and the validation report are all folded from these rows,
    so the history is read once."""
    if qs is None:
        band, params = _band_sql(census)
        rows: Any = grouped_in_states_at(
            census,
            CME_STATES,
            ["c.id", "c.child_id", "ch.dob", "ch.sex", band, "c.cme_reason"],
            column_params=params,
            unit="cases",
        )
    else:
        rows = (
            qs.annotate(band=_length_band(census))
            .values_list("pk", "child_id", "child__dob", "child__sex", "band", "cme_reason")
            .order_by()
        )
    return [
        (int(pk), int(child), dob, str(sx), str(b), str(r or ""))
        for pk, child, dob, sx, b, r, *_ in rows
    ]


@dataclass
class _Folded:
    tables: dict[str, dict[str, int]]
    not_school_age: int
    #: Cases (ids, in order) not counted for want of a date of birth; and counted cases
    #: without a primary reason.
    no_dob: list[int]
    no_reason: list[int]


def _tables(rows: list[CaseRow], census: dt.date, with_length: bool) -> _Folded:
    """Total, sex, year group (and length of time and reason) of the children of
    compulsory school age in ``rows``, each child once (by their latest case)."""
    year = census.year if census.month >= 9 else census.year - 1
    total = not_csa = 0
    sex = dict.fromkeys(SEX_LABEL.values(), 0)
    years = dict.fromkeys(YEAR_GROUPS, 0)
    lengths = {label: 0 for _, label in LENGTH_BANDS}
    reasons = dict.fromkeys(CME_REASON_LABELS.values(), 0)
    names = dict(LENGTH_BANDS)
    latest: dict[int, CaseRow] = {}
    for row in rows:
        if row[1] not in latest or row[0] > latest[row[1]][0]:
            latest[row[1]] = row
    no_dob: list[int] = []
    no_reason: list[int] = []
    for pk, _child, dob, sx, band, reason in sorted(latest.values()):
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
        if with_length:
            lengths[names[band]] += 1
            reasons[CME_REASON_LABELS.get(reason, NOT_KNOWN)] += 1
            if not reason:
                no_reason.append(pk)
    tables: dict[str, dict[str, int]] = {"Total": {"Total": total}, "Sex": sex, "Year group": years}
    if with_length:
        tables["Length of time missing education"] = lengths
        tables["Primary reason for CME"] = reasons
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
    cme = _tables(_case_rows(source, census), census, with_length=True)
    result.cme, result.not_school_age = cme.tables, cme.not_school_age
    result.reason_not_recorded = len(cme.no_reason)
    ehe_rows: list[CaseRow] = [
        (pk, child, dob, sex, "", "") for pk, child, dob, sex in home_education_rows_at(census)
    ]
    ehe = _tables(ehe_rows, census, with_length=False)
    result.ehe = ehe.tables
    result.ehe["Primary reason for EHE"] = {NOT_KNOWN: result.ehe["Total"]["Total"]}
    if s == Season.AUTUMN:
        result.cme_full_year = _cme_full_year(year - 1, today=today)
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


def _cme_full_year(start_year: int, *, today: dt.date) -> int:
    """Children missing education at any time in the academic year starting
    ``start_year``: a missing-education state held on the year's first day, or a change
    into one during the year; and of compulsory school age on its first or last day. One
    SQL pass grouped by date of birth."""
    from cmetrack.cases.models import CaseStateChange
    from cmetrack.people.models import Child

    from .selectors import STATE_THEN, _cases_then_sql, end_of_day

    start, end = dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31)
    ops = connection.ops
    states = sorted(CME_STATES)
    placeholders = ", ".join(["%s"] * len(states))
    cases, cases_params = _cases_then_sql(start, states)
    sql = (
        f"SELECT ch.dob, COUNT(DISTINCT c.child_id) FROM {Case._meta.db_table} c "  # noqa: S608
        f"JOIN {Child._meta.db_table} ch ON ch.id = c.child_id "
        f"WHERE ch.dob IS NOT NULL AND c.id IN (SELECT c.id FROM {cases} "
        f"AND {STATE_THEN} IN ({placeholders}) UNION SELECT case_id FROM "
        f"{CaseStateChange._meta.db_table} WHERE to_state IN ({placeholders}) "
        "AND at >= %s AND at < %s) GROUP BY ch.dob"
    )
    params = [
        *cases_params,
        *states,
        *states,
        ops.adapt_datetimefield_value(end_of_day(start)),
        ops.adapt_datetimefield_value(end_of_day(end)),
    ]
    total = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for dob, n in cursor.fetchall():
            born = dt.date.fromisoformat(dob) if isinstance(dob, str) else dob
            if is_of_compulsory_school_age(born, start) or is_of_compulsory_school_age(born, end):
                total += int(n)
    return total
