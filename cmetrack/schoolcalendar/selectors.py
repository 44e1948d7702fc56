"""Reads of the school calendar."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Q

from cmetrack.organisations.models import Organisation

from .calendar import school_days_between
from .models import ClosureDay, Term


def school_days(school: Organisation | None, start: date, end: date) -> list[date]:
    """The school days of ``school`` from ``start`` to ``end`` inclusive, in order.

    Weekdays inside an LA-wide term, less LA-wide closure days and the school's own.
    ``school=None`` gives the LA-wide school days. Two queries.
    """
    return school_days_by_school([school], start, end)[school.pk if school else None]


def school_days_by_school(
    schools: Iterable[Organisation | None], start: date, end: date
) -> dict[int | None, list[date]]:
    """School days for several schools at once (keyed by school id), in three queries."""
    wanted = list(schools)
    terms = list(
        Term.objects.filter(term_start__lte=end, term_end__gte=start).values_list(
            "term_start", "term_end"
        )
    )
    ids = [s.pk for s in wanted if s is not None]
    la_wide: set[date] = set()
    own: dict[int, set[date]] = {pk: set() for pk in ids}
    for school_id, day in ClosureDay.objects.filter(
        Q(school__isnull=True) | Q(school_id__in=ids), date__range=(start, end)
    ).values_list("school_id", "date"):
        if school_id is None:
            la_wide.add(day)
        else:
            own[school_id].add(day)
    result: dict[int | None, list[date]] = {}
    for school in wanted:
        extra = own.get(school.pk, set()) if school is not None else set()
        result[school.pk if school else None] = school_days_between(
            terms, la_wide | extra, start, end
        )
    return result


def calendar_extent() -> tuple[date, date] | None:
    """First and last day covered by any term, or None if no term is recorded."""
    first = Term.objects.order_by("term_start").first()
    last = Term.objects.order_by("-term_end").first()
    if first is None or last is None:
        return None
    return first.term_start, last.term_end


def closure_rows() -> list[tuple[str, date]]:
    """Every closure as ``(laestab or '', date)``: '' is LA-wide. For the detection engine."""
    rows: list[tuple[str, date]] = []
    for closure in ClosureDay.objects.select_related("school__local_authority"):
        rows.append((closure.school.laestab if closure.school else "", closure.date))
    return rows


def term_rows() -> list[tuple[date, date]]:
    return list(Term.objects.values_list("term_start", "term_end"))
