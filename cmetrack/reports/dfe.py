"""The DfE termly elective home education (EHE) and children missing education (CME)
return, from the records. See docs/dfe-return.md for the version followed and what is
assumed.

Every count is a grouped query; the groups (by date of birth, sex and length of time) are
folded with the pure rules (compulsory school age, national curriculum year).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Case as When_
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from cmetrack.cases.lifecycle import CaseState, Outcome
from cmetrack.cases.models import Case
from cmetrack.rules import is_of_compulsory_school_age, national_curriculum_year

from .periods import Season, census_day, months_back
from .selectors import CME_STATES, cases_in_states_at

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


def _tables(
    qs: QuerySet[Case], census: dt.date, with_length: bool
) -> tuple[dict[str, dict[str, int]], int]:
    """Total, sex, year group (and length of time) of the children of compulsory school
    age in ``qs``; and how many children were left out as not of that age."""
    year = census.year if census.month >= 9 else census.year - 1
    total = 0
    not_csa = 0
    sex = dict.fromkeys(SEX_LABEL.values(), 0)
    years = dict.fromkeys(YEAR_GROUPS, 0)
    rows = (
        qs.filter(child__dob__isnull=False)
        .values_list("child__dob", "child__sex")
        .annotate(n=Count("child_id", distinct=True))
        .order_by()
    )
    for dob, sx, n in rows:
        if not is_of_compulsory_school_age(dob, census):
            not_csa += n
            continue
        total += n
        sex[SEX_LABEL.get(sx, "Unknown")] += n
        nc = national_curriculum_year(dob, year)
        label = "Reception" if nc <= 0 else f"Year {min(nc, 11)}"
        years[label] += n
    tables: dict[str, dict[str, int]] = {"Total": {"Total": total}, "Sex": sex, "Year group": years}
    if with_length:
        lengths = {label: 0 for _, label in LENGTH_BANDS}
        names = dict(LENGTH_BANDS)
        for dob, band, n in (
            qs.filter(child__dob__isnull=False)
            .annotate(band=_length_band(census))
            .values_list("child__dob", "band")
            .annotate(n=Count("child_id", distinct=True))
            .order_by()
        ):
            if is_of_compulsory_school_age(dob, census):
                lengths[names[band]] += n
        tables["Length of time missing education"] = lengths
    return tables, not_csa


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
    result.cme, result.not_school_age = _tables(cme_qs, census, with_length=True)
    result.reason_not_recorded = result.cme["Total"]["Total"]
    result.cme["Primary reason for CME"] = {"Not known": result.reason_not_recorded}
    result.ehe, _ = _tables(ehe_population(census), census, with_length=False)
    result.ehe["Primary reason for EHE"] = {"Not known": result.ehe["Total"]["Total"]}
    if s == Season.AUTUMN:
        result.cme_full_year = _cme_full_year(year - 1, today=today)
    missing_dob = cme_qs.filter(child__dob__isnull=True).order_by("pk")
    result.problem_total = missing_dob.count()
    result.problems = [
        Problem(
            case_id=c.pk,
            reference=c.reference,
            problem="Date of birth not recorded",
            effect="Not counted: compulsory school age and year group cannot be worked out.",
        )
        for c in missing_dob.only("pk")[:problem_limit]
    ]
    return result


def _cme_full_year(start_year: int, *, today: dt.date) -> int:
    """Children missing education at any time in the academic year starting
    ``start_year``: a missing-education state held on any day of the year (the state on
    the first day, or any change into one during the year), and of compulsory school age
    on some day of it (checked on its first and last days)."""
    from cmetrack.cases.models import CaseStateChange

    from .selectors import end_of_day

    start, end = dt.date(start_year, 9, 1), dt.date(start_year + 1, 8, 31)
    at_start = cases_in_states_at(start, CME_STATES, today=today)
    during = CaseStateChange.objects.filter(
        to_state__in=list(CME_STATES),
        at__gte=end_of_day(start),
        at__lt=end_of_day(end),
    ).values("case_id")
    qs = Case.objects.filter(Q(pk__in=at_start.values("pk")) | Q(pk__in=during))
    total = 0
    for dob, n in (
        qs.filter(child__dob__isnull=False)
        .values_list("child__dob")
        .annotate(n=Count("child_id", distinct=True))
        .order_by()
    ):
        if is_of_compulsory_school_age(dob, start) or is_of_compulsory_school_age(dob, end):
            total += n
    return total
