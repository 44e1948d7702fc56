"""The delay alerts the fair-access panel needs, counted in school days (LA calendar).

For every case that is waiting for a place (needs assessment, awaiting provision):

- **no place offered**: the form of provision was determined (or the last placement
  failed) ``no_offer_school_days()`` school days ago or more, and no place has been offered
  since (no application offered, no panel decision naming a school);
- **panel not decided**: a panel referral has waited ``panel_decision_school_days()``
  school days or more without a decision (or its panel date has passed without one);
- **not started**: a place was offered ``start_school_days()`` school days ago or more and
  the child has not started.

School days are the authority-wide ones (``schoolcalendar.school_days(None, ...)``); one
calendar read serves the whole queue.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from cmetrack.accounts.models import User
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, CaseStateChange
from cmetrack.kit.dates import govuk_date
from cmetrack.schoolcalendar.selectors import calendar_extent, school_days

from . import conf, selectors
from .models import AdmissionApplication, ApplicationOutcome, PanelDecision, PanelReferral
from .rules import school_days_after

WAITING_STATES = frozenset({CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION})


NO_OFFER = "No place offered"
NOT_STARTED = "Offered but not started"
PANEL = "Panel decision outstanding"


@dataclass(frozen=True)
class Delay:
    case: Case
    rule: str
    since: dt.date
    school_days: int
    detail: str


def waiting_since(case: Case, failed_on: dt.date | None) -> dt.date | None:
    """When the search for a place began: provision determined, or the last failed placement."""
    return waiting_since_dates(case.date_provision_determined, failed_on)


def waiting_since_dates(determined: dt.date | None, failed_on: dt.date | None) -> dt.date | None:
    dates = [d for d in (determined, failed_on) if d is not None]
    return max(dates) if dates else None


def _no_offer(case: Case, since: dt.date, days: int, alert: int) -> Delay:
    return Delay(
        case,
        NO_OFFER,
        since,
        days,
        f"No place offered {days} school days after the search began on "
        f"{govuk_date(since)} (alert at {alert}).",
    )


def _not_started(case: Case, offered: dt.date, days: int, alert: int) -> Delay:
    return Delay(
        case,
        NOT_STARTED,
        offered,
        days,
        f"A place was offered on {govuk_date(offered)}; the child has not "
        f"started {days} school days later (alert at {alert}).",
    )


def _panel(
    case: Case,
    referred_on: dt.date,
    panel_date: dt.date | None,
    days: int,
    alert: int,
    today: dt.date,
) -> Delay:
    passed = panel_date is not None and panel_date < today
    why = (
        f"the panel date {govuk_date(panel_date)} has passed"
        if passed and panel_date is not None
        else f"alert at {alert}"
    )
    return Delay(
        case,
        PANEL,
        referred_on,
        days,
        f"Referred to the panel on {govuk_date(referred_on)}, no decision "
        f"{days} school days later ({why}).",
    )


def delays_for_cases(cases: list[Case], today: dt.date) -> list[Delay]:
    """Every delay of ``cases`` on ``today`` (a handful of queries for the whole list).

    Case by case in Python: for one case's page. A queue uses :func:`delay_queue_page`,
    which gives the same answers from the database."""
    if not cases:
        return []
    ids = [c.pk for c in cases]
    failed = dict(
        CaseStateChange.objects.filter(
            case_id__in=ids,
            from_state=CaseState.IN_PROVISION,
            to_state=CaseState.AWAITING_PROVISION,
        )
        .values("case_id")
        .annotate(last=Max("at"))
        .values_list("case_id", "last")
    )
    offers = _offer_dates(ids)
    open_panels: dict[int, PanelReferral] = {
        p.case_id: p
        for p in PanelReferral.objects.filter(case_id__in=ids).filter(
            Q(decision="") | Q(decision=PanelDecision.DEFERRED)
        )
    }
    starts = [
        d
        for c in cases
        for d in (c.date_provision_determined, *(offers.get(c.pk, [])))
        if d is not None
    ] + [p.referred_on for p in open_panels.values()]
    if not starts:
        return []
    calendar = school_days(None, min(starts), today)
    out: list[Delay] = []
    no_offer, panel_days, start_days = (
        conf.no_offer_school_days(),
        conf.panel_decision_school_days(),
        conf.start_school_days(),
    )
    for case in cases:
        failed_at = failed.get(case.pk)
        since = waiting_since(case, failed_at.date() if failed_at is not None else None)
        case_offers = sorted(
            (d for d in offers.get(case.pk, []) if since is None or d >= since), reverse=True
        )
        if since is not None and not case_offers:
            days = school_days_after(calendar, since, today)
            if days >= no_offer:
                out.append(_no_offer(case, since, days, no_offer))
        if case_offers and case.state == CaseState.AWAITING_PROVISION:
            offered = case_offers[0]
            days = school_days_after(calendar, offered, today)
            if days >= start_days:
                out.append(_not_started(case, offered, days, start_days))
        panel = open_panels.get(case.pk)
        if panel is not None:
            days = school_days_after(calendar, panel.referred_on, today)
            passed = panel.panel_date is not None and panel.panel_date < today
            if days >= panel_days or passed:
                out.append(
                    _panel(case, panel.referred_on, panel.panel_date, days, panel_days, today)
                )
    return out


def delay_queue(user: User, today: dt.date) -> list[Delay]:
    """The delays on the cases ``user`` may see, longest wait first (all of them)."""
    return delay_queue_page(user, today, limit=None).delays


@dataclass(frozen=True)
class DelayPage:
    #: The first ``limit`` delays, longest wait first (then by case, then by rule).
    delays: list[Delay]
    #: How many delays there are in all.
    total: int


def _sort_key(row: tuple[int, str, dt.date, int]) -> tuple[int, int, str]:
    case_id, rule, _since, days = row
    return (-days, case_id, rule)


def delay_queue_page(user: User, today: dt.date, limit: int | None = 50) -> DelayPage:
    """The longest ``limit`` delays on the cases ``user`` may see, and how many there are.

    Set-based: the database finds the cases past each alert, and the work grows with
    ``limit``, not with the number of waiting cases. A wait of n school days or more is a
    wait that began before the n-th school day back from today (one calendar read turns
    each alert into a date), so the conditions are plain date comparisons. The one rule
    that can hold for thousands of cases, "no place offered" with no failed placement,
    is read in order of the date provision was determined (an index) for only as many
    rows as the page needs, plus any that wait exactly as long as the last of them. The
    other rules (a failed placement, an offer not taken up, an open panel referral) hold
    for few cases and are read whole. Same answers as :func:`delays_for_cases`."""
    waiting = selectors.provision_cases_visible_to(user).filter(state__in=WAITING_STATES)
    past = _school_days_up_to(today)
    no_offer, panel_days, start_days = (
        conf.no_offer_school_days(),
        conf.panel_decision_school_days(),
        conf.start_school_days(),
    )

    def days(since: dt.date) -> int:
        return len(past) - bisect_right(past, since)

    def before(n: int) -> dt.date | None:
        """Waits of ``n`` school days or more began before this day (None: no such wait)."""
        if n <= 0:
            return dt.date.max
        return past[-n] if len(past) >= n else None

    failed_at = _failed_placement_at()
    offered_since = _offered_on_or_after(OuterRef("date_provision_determined"))
    rows: list[tuple[int, str, dt.date, int]] = []
    total = 0

    # 1. No place offered, no failed placement: the search began when provision was
    #    determined. Possibly most waiting cases: counted in the database, read in order.
    plain = waiting.filter(date_provision_determined__isnull=False).exclude(Exists(failed_at))
    cutoff = before(no_offer)
    if cutoff is not None:
        plain = plain.filter(date_provision_determined__lt=cutoff).exclude(offered_since)
        total += plain.count()
        ordered = plain.order_by("date_provision_determined", "pk").values_list(
            "pk", "date_provision_determined"
        )
        first = list(ordered if limit is None else ordered[:limit])
        if limit is not None and len(first) == limit:
            # Every case waiting at least as long as the last of these (ties included).
            last_cutoff = before(days(_date(first[-1][1])))
            assert last_cutoff is not None
            first = list(ordered.filter(date_provision_determined__lt=last_cutoff))
        rows += [(pk, NO_OFFER, _date(since), days(_date(since))) for pk, since in first]

    # 2. The rules that hold for few cases, read whole and judged here.
    # The latest failed placement of each waiting case that has one (a partial index).
    failed_on: dict[int, dt.datetime] = dict(
        CaseStateChange.objects.filter(
            case__in=waiting.values("pk"),
            from_state=CaseState.IN_PROVISION,
            to_state=CaseState.AWAITING_PROVISION,
        )
        .values("case_id")
        .annotate(last=Max("at"))
        .values_list("case_id", "last")
    )
    offer_rows = _offer_dates(waiting.values("pk"))
    panels = {
        pk: (referred, panel_date)
        for pk, referred, panel_date in PanelReferral.objects.filter(case__in=waiting.values("pk"))
        .filter(Q(decision="") | Q(decision=PanelDecision.DEFERRED))
        .values_list("case_id", "referred_on", "panel_date")
    }
    candidates: dict[int, tuple[str, dt.date | None, dt.datetime | None]] = {}
    wanted = set(failed_on) | set(offer_rows) | set(panels)
    if wanted:
        for pk, state, determined in waiting.filter(pk__in=wanted).values_list(
            "pk", "state", "date_provision_determined"
        ):
            candidates[pk] = (state, determined, failed_on.get(pk))
    for pk, (state, determined, failed) in candidates.items():
        since = waiting_since_dates(determined, failed.date() if failed is not None else None)
        offers = sorted(
            (d for d in offer_rows.get(pk, []) if since is None or d >= since), reverse=True
        )
        if failed is not None and since is not None and not offers:
            # (Without a failed placement, rule 1 above already has it.)
            n = days(since)
            if n >= no_offer:
                rows.append((pk, NO_OFFER, since, n))
                total += 1
        if offers and state == CaseState.AWAITING_PROVISION:
            n = days(offers[0])
            if n >= start_days:
                rows.append((pk, NOT_STARTED, offers[0], n))
                total += 1
        if pk in panels:
            referred, panel_date = panels[pk]
            n = days(referred)
            if n >= panel_days or (panel_date is not None and panel_date < today):
                rows.append((pk, PANEL, referred, n))
                total += 1

    rows.sort(key=_sort_key)
    if limit is not None:
        rows = rows[:limit]
    by_pk = (
        Case.objects.select_related("child", "assigned_officer")
        .filter(pk__in={r[0] for r in rows})
        .in_bulk()
    )
    out = []
    for pk, rule, since, n in rows:
        case = by_pk[pk]
        if rule == NO_OFFER:
            out.append(_no_offer(case, since, n, no_offer))
        elif rule == NOT_STARTED:
            out.append(_not_started(case, since, n, start_days))
        else:
            referred, panel_date = panels[pk]
            out.append(_panel(case, referred, panel_date, n, panel_days, today))
    return DelayPage(delays=out, total=total)


def _date(value: dt.date | None) -> dt.date:
    assert value is not None  # filtered on: not null
    return value


def _school_days_up_to(today: dt.date) -> list[dt.date]:
    """Every LA-wide school day up to ``today``, in order (two queries)."""
    extent = calendar_extent()
    if extent is None or extent[0] > today:
        return []
    return [d for d in school_days(None, extent[0], today) if d <= today]


def _failed_placement_at() -> QuerySet[CaseStateChange]:
    """The case's failed placements (in provision back to awaiting provision)."""
    return CaseStateChange.objects.filter(
        case_id=OuterRef("pk"),
        from_state=CaseState.IN_PROVISION,
        to_state=CaseState.AWAITING_PROVISION,
    )


def _offered_on_or_after(day: Any) -> Q:
    """The outer case has an offer of a place on or after ``day`` (either table)."""
    applications = AdmissionApplication.objects.filter(
        case_id=OuterRef("pk"), outcome=ApplicationOutcome.OFFERED
    ).filter(Q(outcome_on__gte=day) | Q(outcome_on__isnull=True, applied_on__gte=day))
    named = PanelReferral.objects.filter(
        case_id=OuterRef("pk"),
        named_school__isnull=False,
        decision__in=[PanelDecision.SCHOOL_NAMED, PanelDecision.ALTERNATIVE],
    ).filter(Q(decision_on__gte=day) | Q(decision_on__isnull=True, referred_on__gte=day))
    return Q(Exists(applications)) | Q(Exists(named))


def _offer_dates(ids: list[int] | QuerySet[Case, Any]) -> dict[int, list[dt.date]]:
    """Every offer of a place to the cases ``ids`` (a list, or a query of their keys), by
    case: an admission offer, or a panel that named a school or an alternative."""
    offers: dict[int, list[dt.date]] = {}
    for case_id, on, applied in AdmissionApplication.objects.filter(
        case_id__in=ids, outcome=ApplicationOutcome.OFFERED
    ).values_list("case_id", "outcome_on", "applied_on"):
        offers.setdefault(case_id, []).append(on or applied)
    for case_id, on, referred in PanelReferral.objects.filter(
        case_id__in=ids,
        named_school__isnull=False,
        decision__in=[PanelDecision.SCHOOL_NAMED, PanelDecision.ALTERNATIVE],
    ).values_list("case_id", "decision_on", "referred_on"):
        offers.setdefault(case_id, []).append(on or referred)
    return offers
