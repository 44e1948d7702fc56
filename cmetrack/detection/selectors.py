"""Scoped reads of alerts: the only way pages and the API get them.

``alerts_visible_to(user)``: CME officers and managers see every alert; a school user sees
the alerts about pupils of their own school (``Alert.school`` is their organisation); every
other role, and anonymous or inactive users, see none. An alert out of scope is a 404,
exactly as one that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.organisations.models import OrganisationKind

from .models import Alert, AlertState

#: Alerts a page shows at a time (keyset pagination on id, so any page is one index read).
PAGE_SIZE = 50

AGE_BANDS: dict[str, tuple[int | None, int | None]] = {
    "under_11": (None, 11),
    "11_to_15": (11, 16),
    "16_plus": (16, None),
}


def alerts_visible_to(user: User) -> QuerySet[Alert]:
    qs = Alert.objects.select_related("school__local_authority", "referral", "case")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.has_role(*ALL_CASES_ROLES):
        return qs
    organisation = user.organisation
    if (
        user.has_role(Role.SCHOOL_USER)
        and organisation is not None
        and organisation.kind == OrganisationKind.SCHOOL
    ):
        return qs.filter(school=organisation)
    return qs.none()


def may_see_alerts(user: User) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return user.has_role(*ALL_CASES_ROLES) or (
        user.has_role(Role.SCHOOL_USER)
        and user.organisation is not None
        and user.organisation.kind == OrganisationKind.SCHOOL
    )


def may_work_alerts(user: User) -> bool:
    """CME roles acknowledge, dismiss, refer and attach; a school may only refer."""
    return user.is_active and user.has_role(*ALL_CASES_ROLES)


@dataclass(frozen=True)
class AlertFilters:
    rule: str = ""
    school: int | None = None
    age: str = ""
    group: str = ""
    state: str = ""


def _years_ago(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def alert_queue(
    user: User, filters: AlertFilters, *, after: int | None = None, today: date | None = None
) -> tuple[list[Alert], int, int | None]:
    """One page of the user's alerts, newest first: ``(rows, total, next_after)``."""
    qs = alerts_visible_to(user)
    if filters.state:
        qs = qs.filter(state=filters.state)
    else:
        qs = qs.filter(state__in=[AlertState.NEW, AlertState.ACKNOWLEDGED])
    if filters.rule:
        qs = qs.filter(rule=filters.rule)
    if filters.school:
        qs = qs.filter(school_id=filters.school)
    if filters.age in AGE_BANDS:
        today = today or timezone.localdate()
        low, high = AGE_BANDS[filters.age]
        if low is not None:
            qs = qs.filter(dob__lte=_years_ago(today, low))
        if high is not None:
            qs = qs.filter(dob__gt=_years_ago(today, high))
    if filters.group == "in_care":
        qs = qs.filter(child__in_care=True)
    elif filters.group:
        qs = qs.filter(child__vulnerabilities__group=filters.group).distinct()
    total = qs.count()
    page_qs = qs.order_by("-id")
    if after:
        page_qs = page_qs.filter(id__lt=after)
    rows = list(page_qs[: PAGE_SIZE + 1])
    next_after = rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None
    return rows[:PAGE_SIZE], total, next_after


def alert_get_for_view(*, actor: Actor, alert_id: int) -> Alert:
    """The alert if the actor may see it (else ``Alert.DoesNotExist``); the read is audited."""
    assert actor.user is not None
    alert = alerts_visible_to(actor.user).get(pk=alert_id)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=alert,
        child_id=alert.child_id,
        summary=f"Viewed alert evidence: {alert.get_rule_display()} ({alert.upn})",
    )
    return alert


def open_alert_count(user: User) -> int:
    return alerts_visible_to(user).filter(state=AlertState.NEW).count()
