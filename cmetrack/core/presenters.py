"""What each signed-in role sees on its home page, prepared for the templates.

The home page is the user's work for today: the sections the areas register with the case
engine's registry (``cases/home.py``), most urgent first, each read through the area's
scoped selectors. Presenters turn selector results into plain rows; views render them;
tests check them without a template.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property

from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.home import QUEUE_LIMIT, QueueRow, QueueSection, sections_for
from cmetrack.casework.selectors import CASEWORK_ROLES
from cmetrack.cnis.selectors import cnis_enabled
from cmetrack.matching.services import SEARCH_ROLES

__all__ = ["QUEUE_LIMIT", "HomePresenter", "QueueRow", "QueueSection", "navigation_for"]


def _cnis_enabled() -> bool:

    return cnis_enabled()


def navigation_for(user: User, path: str) -> list[dict[str, object]]:
    if not user.is_authenticated:
        return []
    items = [("Home", reverse("home"))]
    if user.has_role(
        Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO, Role.VIRTUAL_SCHOOL, Role.SAFEGUARDING_ADVISER
    ):
        items.append(("Cases", reverse("cases:queue")))
    if user.has_role(*CASEWORK_ROLES):
        items.append(("Tasks", reverse("casework:my-tasks")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER):
        items.append(("Dormant reviews", reverse("safeguarding:reviews")))
        items.append(("Enquiries", reverse("enquiries:index")))
    if user.has_role(Role.SCHOOL_USER, Role.AGENCY_USER):
        items.append(("Referrals", reverse("referrals:list")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO):
        items.append(("Triage", reverse("referrals:triage-queue")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.SCHOOL_USER):
        items.append(("Alerts", reverse("detection:alert-list")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.ADMISSIONS):
        items.append(("Places", reverse("provision:places")))
    if user.has_role(Role.VIRTUAL_SCHOOL):
        items.append(("Virtual School", reverse("virtualschool:dashboard")))
    if user.has_role(*SEARCH_ROLES):
        items.append(("Find a child", reverse("matching:find-a-child")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER):
        items.append(("Lost pupils", reverse("transfers:lost-pupils")))
    elif user.has_role(Role.SCHOOL_USER):
        items.append(("Transfer files", reverse("transfers:requests")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.VIRTUAL_SCHOOL):
        items.append(("Home education", reverse("casework:registers:list")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER) and _cnis_enabled():
        items.append(("Children not in school", reverse("cnis:register")))
    if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.AUDITOR):
        items.append(("Reports", reverse("reports:dashboard")))
    if user.has_role(Role.AUDITOR):
        items.append(("Audit trail", reverse("audit:search")))
    if user.has_role(Role.ADMINISTRATOR) and user.is_staff:
        items.append(("Administration", reverse("admin:index")))
    items.append(("API", reverse("api:openapi-view")))
    return [{"text": t, "href": h, "current": path == h} for t, h in items]


@dataclass(frozen=True)
class SummaryItem:
    """One line of "Your work today": a count, what it is, and where the list is."""

    text: str
    href: str
    overdue: int
    due_today: int


@dataclass(frozen=True)
class HomePresenter:
    user: User
    today: dt.date = field(default_factory=timezone.localdate)

    @property
    def role_names(self) -> list[str]:
        return [Role(r).label for r in sorted(self.user.role_set)]

    @cached_property
    def sections(self) -> list[QueueSection]:
        """The user's sections, most urgent first (``cases.home.sections_for``)."""
        return sections_for(self.user, self.today)

    @property
    def summary(self) -> list[SummaryItem]:
        """ "Your work today": each section with something in it, as a count and a link to
        its section on the page, most urgent first."""
        return [
            SummaryItem(
                text=f"{s.title}: {s.total}",
                href=f"#{section_id(s)}",
                overdue=s.overdue,
                due_today=s.due_today,
            )
            for s in self.sections
            if s.total
        ]


def section_id(section: QueueSection) -> str:
    return "section-" + (section.key or section.title).replace(".", "-").replace(" ", "-").lower()
