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
from dataclasses import dataclass

from django.db.models import Max, Q

from cmetrack.accounts.models import User
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, CaseStateChange
from cmetrack.core.jinja import govuk_date
from cmetrack.schoolcalendar.selectors import school_days

from . import conf, selectors
from .models import AdmissionApplication, ApplicationOutcome, PanelDecision, PanelReferral
from .rules import school_days_after

WAITING_STATES = frozenset({CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION})


@dataclass(frozen=True)
class Delay:
    case: Case
    rule: str
    since: dt.date
    school_days: int
    detail: str


def waiting_since(case: Case, failed_on: dt.date | None) -> dt.date | None:
    """When the search for a place began: provision determined, or the last failed placement."""
    dates = [d for d in (case.date_provision_determined, failed_on) if d is not None]
    return max(dates) if dates else None


def delays_for_cases(cases: list[Case], today: dt.date) -> list[Delay]:
    """Every delay of ``cases`` on ``today`` (a handful of queries for the whole list)."""
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
                out.append(
                    Delay(
                        case,
                        "No place offered",
                        since,
                        days,
                        f"No place offered {days} school days after the search began on "
                        f"{govuk_date(since)} (alert at {no_offer}).",
                    )
                )
        if case_offers and case.state == CaseState.AWAITING_PROVISION:
            offered = case_offers[0]
            days = school_days_after(calendar, offered, today)
            if days >= start_days:
                out.append(
                    Delay(
                        case,
                        "Offered but not started",
                        offered,
                        days,
                        f"A place was offered on {govuk_date(offered)}; the child has not "
                        f"started {days} school days later (alert at {start_days}).",
                    )
                )
        panel = open_panels.get(case.pk)
        if panel is not None:
            days = school_days_after(calendar, panel.referred_on, today)
            passed = panel.panel_date is not None and panel.panel_date < today
            if days >= panel_days or passed:
                why = (
                    f"the panel date {govuk_date(panel.panel_date)} has passed"
                    if passed and panel.panel_date is not None
                    else f"alert at {panel_days}"
                )
                out.append(
                    Delay(
                        case,
                        "Panel decision outstanding",
                        panel.referred_on,
                        days,
                        f"Referred to the panel on {govuk_date(panel.referred_on)}, no decision "
                        f"{days} school days later ({why}).",
                    )
                )
    return out


def delay_queue(user: User, today: dt.date) -> list[Delay]:
    """The delays on the cases ``user`` may see, longest wait first."""
    cases = list(
        selectors.provision_cases_visible_to(user)
        .filter(state__in=WAITING_STATES)
        .select_related("child")
    )
    return sorted(delays_for_cases(cases, today), key=lambda d: (-d.school_days, d.case.pk, d.rule))
