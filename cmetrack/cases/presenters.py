"""Cases prepared for display: the case page, the chronology and the work queues."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.core.jinja import govuk_date

from .actions import CaseAction, actions_for
from .lifecycle import CaseState, LocatedRoute, Outcome
from .models import Case, ChronologyEvent, HomeVisit
from .selectors import QUEUES, QueueFilters, QueuePage

DO_NOT_REMOVE = "Do not remove the child from roll"


def school_status(case: Case) -> tuple[str, str]:
    """What the referring school sees: the case's status, and the off-roll advice.

    For the referrals pages (the school's view of its own referrals)."""
    if case.state == CaseState.CLOSED and case.outcome == Outcome.ATTENDANCE_MATTER:
        status = "Attendance matter: the child stays on your roll"
    elif case.state in (CaseState.RECEIVED, CaseState.SLO_INVESTIGATION):
        status = "Being investigated by the School Liaison Officer"
    elif case.state == CaseState.CLOSED:
        status = "Closed"
    else:
        status = "Children missing education: the CME team is tracking the child"
    if case.child.in_care and case.state != CaseState.CLOSED:
        # A child in care stays on roll until a new school has admitted them.
        advice = "Do not remove this child from roll until a new school has admitted them"
    elif case.advised_off_roll_date:
        advice = f"You may remove the child from roll from {govuk_date(case.advised_off_roll_date)}"
    elif case.outcome == Outcome.ATTENDANCE_MATTER:
        advice = "Keep the child on roll"
    else:
        advice = DO_NOT_REMOVE
    return status, advice


def tracking_work_url(case: Case) -> str:
    """The casework page for the case, or "" while that page does not exist."""
    try:
        return reverse("casework:case-tracking", args=[case.pk])
    except NoReverseMatch:
        return ""


def _when(value: Any) -> str:
    local = timezone.localtime(value)
    return f"{govuk_date(local)} {local:%H:%M}"


@dataclass(frozen=True)
class ChronologyRow:
    when: str
    kind: str
    summary: str
    by: str
    case_reference: str


def chronology_rows(events: Iterable[ChronologyEvent]) -> list[ChronologyRow]:
    return [
        ChronologyRow(
            when=_when(e.at),
            kind=e.get_kind_display(),
            summary=e.summary,
            by=e.by.get_full_name() if e.by else "System",
            case_reference=e.case.reference,
        )
        for e in events
    ]


@dataclass(frozen=True)
class ActionLink:
    title: str
    href: str


@dataclass(frozen=True)
class CasePresenter:
    case: Case
    viewer: User
    chronology: list[ChronologyEvent] = field(default_factory=list)
    home_visits: list[HomeVisit] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"{self.case.reference}: {self.case.child.full_name}"

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        c = self.case
        officer = c.assigned_officer.get_full_name() if c.assigned_officer else "Not assigned"
        rows = [
            ("Child", c.child.full_name),
            ("State", c.get_state_display()),
            ("Referred by", c.get_route_display()),
            ("Assigned officer", officer),
            (
                "Reason for missing education",
                f"{c.get_cme_reason_display()} ({c.get_cme_category_display()})"
                if c.cme_reason
                else "Not recorded",
            ),
            ("New to the area", c.get_new_to_area_display()),
            ("New to the country", c.get_new_to_country_display()),
        ]
        if c.previous_case_id:
            rows.append(("Previous episode", f"CME-{c.previous_case_id:06d}"))
        if c.state == CaseState.CLOSED:
            rows.append(("Outcome", c.get_outcome_display()))
            rows.append(("Reason", c.outcome_reason))
            rows.append(("Closed on", govuk_date(c.closed_on)))
            if c.closure_evidence:
                rows.append(("Evidence", c.closure_evidence))
        return rows

    @property
    def statutory_rows(self) -> list[tuple[str, str]]:
        c = self.case
        return [
            ("Date referred in", govuk_date(c.date_referred, "Not recorded")),
            ("Date of assessment", govuk_date(c.date_of_assessment, "Not yet")),
            (
                "Date form of provision determined",
                govuk_date(c.date_provision_determined, "Not yet"),
            ),
            ("Date moved into provision", govuk_date(c.date_moved_into_provision, "Not yet")),
            (
                "Form of provision recommended",
                c.get_provision_recommended_display() or "Not yet",
            ),
            ("Form of provision accessed", c.get_provision_accessed_display() or "Not yet"),
            ("Provider", str(c.provider) if c.provider else "Not yet"),
        ]

    @property
    def education_rows(self) -> list[tuple[str, str]]:
        c = self.case
        place = c.last_education_place or (
            str(c.last_education_school) if c.last_education_school else ""
        )
        _status, advice = school_status(c)
        rows = [
            ("Last known education", place or "Not known"),
            ("Date of last known education", govuk_date(c.last_education_date, "Not known")),
        ]
        if c.last_education_school_id:
            rows.append(("Off-roll advice to the school", advice))
        return rows

    @property
    def located_rows(self) -> list[tuple[str, str]]:
        c = self.case
        if not c.located_route:
            return []
        rows = [
            ("Located on", govuk_date(c.located_on)),
            ("Where", c.located_where),
            ("Route", LocatedRoute(c.located_route).label),
        ]
        if c.destination_school:
            rows.append(("School", str(c.destination_school)))
        if c.destination_la:
            rows.append(("Authority moved to", c.destination_la.name))
        if c.la_acknowledged_on:
            rows.append(
                (
                    "Acknowledged",
                    f"{govuk_date(c.la_acknowledged_on)} by {c.la_acknowledged_by}",
                )
            )
        if c.left_country_confirmed_on:
            rows.append(
                (
                    "Leaving confirmed",
                    f"{govuk_date(c.left_country_confirmed_on)} by {c.left_country_source}",
                )
            )
        return rows

    @property
    def actions(self) -> list[ActionLink]:
        return [
            ActionLink(a.title, reverse("cases:case-action", args=[self.case.pk, a.name]))
            for a in actions_for(self.viewer, self.case)
        ]

    @property
    def tracking_url(self) -> str:
        return tracking_work_url(self.case)

    @property
    def safeguarding_url(self) -> str:
        """Screening, risk assessments and dormant reviews, for those who may see them."""
        from cmetrack.safeguarding.selectors import may_view_safeguarding

        if not may_view_safeguarding(self.viewer):
            return ""
        return reverse("safeguarding:case", args=[self.case.pk])

    @property
    def chronology_rows(self) -> list[ChronologyRow]:
        return chronology_rows(self.chronology)

    @property
    def visit_rows(self) -> list[tuple[str, str, str, str]]:
        return [
            (govuk_date(v.visited_on), v.visited_by, v.get_outcome_display(), v.notes)
            for v in self.home_visits
        ]


@dataclass(frozen=True)
class ActionPresenter:
    case: Case
    action: CaseAction
    form: Any

    @property
    def title(self) -> str:
        return self.action.title

    @property
    def error_list(self) -> list[dict[str, str]]:
        """The error summary: each message linking to its field (GOV.UK pattern)."""
        errors = []
        for message in self.form.non_field_errors():
            errors.append({"text": message, "href": "#main-content"})
        for bound in self.form:
            for message in bound.errors:
                errors.append({"text": message, "href": f"#{field_anchor(bound)}"})
        return errors


def field_anchor(bound: Any) -> str:
    """The id of the first input of a field, for the error summary's link."""
    from .forms import GovukDateField

    auto_id = str(bound.auto_id)
    if isinstance(bound.field, GovukDateField):
        return f"{auto_id}-day"
    return auto_id


@dataclass(frozen=True)
class QueueRow:
    reference: str
    href: str
    child: str
    upn: str
    state: str
    route: str
    officer: str
    referred: str


@dataclass(frozen=True)
class QueuePresenter:
    name: str
    page: QueuePage
    filters: QueueFilters
    queue_names: dict[str, str] = field(default_factory=lambda: dict(QUEUES))

    @property
    def title(self) -> str:
        return self.queue_names.get(self.name, "Cases")

    @cached_property
    def rows(self) -> list[QueueRow]:
        return [
            QueueRow(
                reference=c.reference,
                href=reverse("cases:case-detail", args=[c.pk]),
                child=c.child.full_name,
                upn=c.child.upn or "",
                state=c.get_state_display(),
                route=c.get_route_display(),
                officer=c.assigned_officer.get_full_name() if c.assigned_officer else "Nobody",
                referred=govuk_date(c.date_referred),
            )
            for c in self.page.cases
        ]

    def _query(self, **extra: str) -> str:
        params = {
            "queue": self.name,
            "q": self.filters.q,
            "state": self.filters.state,
            "route": self.filters.route,
            "officer": self.filters.officer,
            **extra,
        }
        return "?" + urlencode({k: v for k, v in params.items() if v})

    @property
    def next_href(self) -> str:
        if not self.page.next_cursor:
            return ""
        return reverse("cases:queue") + self._query(after=self.page.next_cursor)

    @property
    def first_href(self) -> str:
        return reverse("cases:queue") + self._query()

    @property
    def tabs(self) -> list[tuple[str, str, bool]]:
        return [
            (label, reverse("cases:queue") + f"?queue={name}", name == self.name)
            for name, label in self.queue_names.items()
        ]
