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
from django.db.models import Count, Exists, OuterRef, QuerySet, Value, When
from django.utils import timezone

from cmetrack.cases.lifecycle import CaseState, Outcome
from cmetrack.cases.models import Case, CmeReason
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


def _grouped(
    qs: QuerySet[Case] | None, census: dt.date
) -> list[tuple[dt.date | None, str, str, str, int]]:
    """(date of birth, sex, length band, reason, children): from ``qs`` through the ORM,
    or (``qs`` None) from the cases missing education on ``census`` in one SQL pass."""
    if qs is None:
        band, params = _band_sql(census)
        rows = grouped_in_states_at(
            census, CME_STATES, ["ch.dob", "ch.sex", band, "c.cme_reason"], column_params=params
        )
        return [(dob, str(sx), str(b), str(r or ""), int(n)) for dob, sx, b, r, n in rows]
    return [
        (dob, sx, band, reason or "", n)
        for dob, sx, band, reason, n in qs.annotate(band=_length_band(census))
        .values_list("child__dob", "child__sex", "band", "cme_reason")
        .annotate(n=Count("child_id", distinct=True))
        .order_by()
    ]


def _tables(
    qs: QuerySet[Case] | None, census: dt.date, with_length: bool
) -> tuple[dict[str, dict[str, int]], int, int]:
    """Total, sex, year group (and length of time) of the children of compulsory school
    age in ``qs`` (None: the children missing education on ``census``); how many were
    left out as not of that age; and how many have no date of birth."""
    year = census.year if census.month >= 9 else census.year - 1
    total = not_csa = no_dob = 0
    sex = dict.fromkeys(SEX_LABEL.values(), 0)
    years = dict.fromkeys(YEAR_GROUPS, 0)
    lengths = {label: 0 for _, label in LENGTH_BANDS}
    reasons = dict.fromkeys(CME_REASON_LABELS.values(), 0)
    names = dict(LENGTH_BANDS)
    for dob, sx, band, reason, n in _grouped(qs, census):
        if dob is None:
            no_dob += n
            continue
        if not is_of_compulsory_school_age(dob, census):
            not_csa += n
            continue
        total += n
        sex[SEX_LABEL.get(sx, "Unknown")] += n
        nc = national_curriculum_year(dob, year)
        label = "Reception" if nc <= 0 else f"Year {min(nc, 11)}"
        years[label] += n
        lengths[names[band]] += n
        reasons[CME_REASON_LABELS.get(reason, NOT_KNOWN)] += n
    tables: dict[str, dict[str, int]] = {"Total": {"Total": total}, "Sex": sex, "Year group": years}
    if with_length:
        tables["Length of time missing education"] = lengths
        tables["Primary reason for CME"] = reasons
    return tables, not_csa, no_dob


def ehe_population(census: dt.date) -> QuerySet[Case]:
    """Children whose latest case by the census day closed as home educated by then (the
    home-education list itself is not kept in this system). Closed is final, so a case
    closed on or before the census day was closed on it."""
    later = Case.objects.filter(
        child_id=OuterRef("child_id"),
        date_referred__gt=OuterRef("date_referred"),
        date_referred__lte=census,
    )
    return Case.objects.filter(
        state=CaseState.CLOSED, outcome=Outcome.HOME_EDUCATED, closed_on__lte=census
    ).filter(~Exists(later))


def dfe_return(
    season: Season | str, year: int, *, today: dt.date | None = None, problem_limit: int = 500
) -> DfeReturn:
    s = Season(season)
    today = today or timezone.localdate()
    census = census_day(s, year)
    result = DfeReturn(season=s, year=year, census=census)
    cme_qs = cases_in_states_at(census, CME_STATES, today=today)
    # A census day before today: one grouped pass over the cases as they were.
    source = None if census < today else cme_qs
    result.cme, result.not_school_age, no_dob = _tables(source, census, with_length=True)
    result.reason_not_recorded = result.cme["Primary reason for CME"][NOT_KNOWN]
    result.ehe, _, _ = _tables(ehe_population(census), census, with_length=False)
    result.ehe["Primary reason for EHE"] = {"Not known": result.ehe["Total"]["Total"]}
    if s == Season.AUTUMN:
        result.cme_full_year = _cme_full_year(year - 1, today=today)
    missing_dob = cme_qs.filter(child__dob__isnull=True).order_by("pk")
    result.problem_total = no_dob
    result.problems = [
        Problem(
            case_id=c.pk,
            reference=c.reference,
            problem="Date of birth not recorded",
            effect="Not counted: compulsory school age and year group cannot be worked out.",
        )
        for c in (missing_dob.only("pk")[:problem_limit] if no_dob else [])
    ]
    if result.reason_not_recorded and len(result.problems) < problem_limit:
        no_reason = cme_qs.filter(cme_reason="", child__dob__isnull=False).order_by("pk")
        result.problems += [
            Problem(
                case_id=c.pk,
                reference=c.reference,
                problem="Primary reason for missing education not recorded",
                effect="Counted under “Not known” (if of compulsory school age on census day).",
            )
            for c in no_reason.only("pk")[: problem_limit - len(result.problems)]
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
