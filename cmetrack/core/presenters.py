"""What each signed-in role sees on its home page, prepared for the templates.

Presenters turn selector results into plain rows; views render them; tests check them
without a template.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditEvent
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.selectors import open_cases_for, work_queue
from cmetrack.casework.selectors import CASEWORK_ROLES, overdue_tasks_for
from cmetrack.core.jinja import govuk_date
from cmetrack.matching.services import SEARCH_ROLES
from cmetrack.referrals.selectors import referrals_visible_to

#: Rows each home-page section shows (the totals count them all; the full lists are on
#: their own pages). Rendering is most of a home page's cost: 20 rows a section keeps it
#: quick for an officer with a county's caseload.
QUEUE_LIMIT = 20


@dataclass(frozen=True)
class QueueRow:
    cells: tuple[str, ...]
    href: str = ""


@dataclass(frozen=True)
class QueueSection:
    title: str
    empty_text: str
    headers: tuple[str, ...]
    rows: list[QueueRow] = field(default_factory=list)
    total: int = 0
    #: Where the whole list is, when the section shows only part of it.
    more_href: str = ""


def _cnis_enabled() -> bool:
    from cmetrack.cnis.selectors import cnis_enabled

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


def _case_rows(qs: object) -> tuple[list[QueueRow], int]:
    from django.db.models import QuerySet

    assert isinstance(qs, QuerySet)
    total = qs.count()
    rows = [
        QueueRow(
            cells=(
                c.reference,
                c.child.full_name,
                c.get_state_display(),
                govuk_date(c.date_referred),
            ),
            href=reverse("people:child-detail", args=[c.child_id]),
        )
        for c in qs.order_by("date_referred", "pk")[:QUEUE_LIMIT]
    ]
    return rows, total


CASE_HEADERS = ("Case", "Child", "State", "Referred")


def _cases_section(title: str, empty_text: str, qs: object, queue: str = "") -> QueueSection:
    rows, total = _case_rows(qs)
    return QueueSection(
        title=title,
        empty_text=empty_text,
        headers=CASE_HEADERS,
        rows=rows,
        total=total,
        more_href=f"{reverse('cases:queue')}?queue={queue}" if queue else "",
    )


@dataclass(frozen=True)
class HomePresenter:
    user: User

    @property
    def role_names(self) -> list[str]:
        return [Role(r).label for r in sorted(self.user.role_set)]

    @property
    def sections(self) -> list[QueueSection]:
        user, sections = self.user, []
        if user.has_role(Role.CME_MANAGER):
            sections.append(
                _cases_section(
                    "Cases waiting to be assigned",
                    "No case is waiting to be assigned.",
                    open_cases_for(user).filter(assigned_officer__isnull=True),
                    queue="unassigned",
                )
            )
        if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.SAFEGUARDING_ADVISER):
            sections.append(
                _cases_section(
                    "Your open cases",
                    "You have no open cases.",
                    open_cases_for(user).filter(assigned_officer=user),
                    queue="mine",
                )
            )
        if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER):
            # Shown only when there is something overdue (casework/selectors.py).
            overdue = overdue_tasks_for(user)
            if (overdue_total := overdue.count()) > 0:
                sections.append(
                    QueueSection(
                        title="Your overdue tasks",
                        empty_text="You have no overdue tasks.",
                        headers=("Task", "Case", "Child", "Due"),
                        rows=[
                            QueueRow(
                                cells=(
                                    t.title,
                                    t.case.reference,
                                    t.case.child.full_name,
                                    govuk_date(t.due),
                                ),
                                href=reverse("casework:case-tracking", args=[t.case_id]),
                            )
                            for t in overdue[:QUEUE_LIMIT]
                        ],
                        total=overdue_total,
                        more_href=reverse("casework:my-tasks"),
                    )
                )
        if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER):
            from cmetrack.enquiries.presenters import home_section

            if (enquiries := home_section(user)) is not None:
                sections.append(enquiries)
        if user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.ADMISSIONS):
            from cmetrack.provision.presenters import home_section as places_section

            if (places := places_section(user)) is not None:
                sections.append(places)
        if user.has_role(Role.SLO):
            sections.append(
                _cases_section(
                    "SLO investigations",
                    "There are no SLO investigations for your schools.",
                    work_queue(user).filter(state=CaseState.SLO_INVESTIGATION),
                )
            )
        if user.has_role(Role.VIRTUAL_SCHOOL):
            sections.append(
                _cases_section(
                    "Children in care missing education",
                    "No child in care has an open case.",
                    open_cases_for(user).filter(child__in_care=True),
                )
            )
        if user.has_role(Role.SCHOOL_USER, Role.AGENCY_USER):
            referrals = referrals_visible_to(user)
            sections.append(
                QueueSection(
                    title="Your referrals",
                    empty_text="Your organisation has not made any referrals.",
                    headers=("Reference", "Child", "Received", "Status"),
                    rows=[
                        QueueRow(
                            cells=(
                                r.reference,
                                f"{r.given_names} {r.family_name}",
                                govuk_date(r.received_at),
                                r.get_status_display(),
                            ),
                            href=reverse("referrals:detail", args=[r.reference]),
                        )
                        for r in referrals[:QUEUE_LIMIT]
                    ],
                    total=referrals.count(),
                )
            )
        if user.has_role(Role.AUDITOR):
            # The newest 20 only: counting the whole trail (millions of rows) on every home
            # page would be slow; the audit search pages the rest.
            recent = [
                QueueRow(cells=(f"{e.at:%d %b %Y %H:%M}", e.actor_label, e.summary))
                for e in AuditEvent.objects.order_by("-at", "-id")[:20]
            ]
            sections.append(
                QueueSection(
                    title="Recent activity in the audit trail",
                    empty_text="Nothing has been recorded yet.",
                    headers=("When", "Who", "What"),
                    rows=recent,
                    total=len(recent),
                )
            )
        return sections
