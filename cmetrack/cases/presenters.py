"""Cases prepared for display: the case page, the chronology and the work queues."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.kit.dates import govuk_date

from .actions import CaseAction, actions_for, actions_not_yet_possible
from .forms import GovukDateField
from .lifecycle import CaseState, LocatedRoute, Outcome
from .models import Case, CaseFact, CaseFactKind, ChronologyEvent, HomeVisit
from .permissions import may_act
from .registries import case_link, chronology_display
from .selectors import (
    QUEUE_COLUMNS,
    QUEUES,
    QueueFilters,
    QueuePage,
    missing_from_care_for_case,
    queue_column_values,
    slo_visit_requests_for_case,
)

DO_NOT_REMOVE = "Do not remove the child from roll"
#: What a school may do about its roll once the case has closed (deletion grounds, rules.md §5).
CLOSED_ADVICE: dict[Outcome, str] = {
    Outcome.ON_ROLL: (
        "The child is registered at another school: you may remove them from roll "
        "(ground a) and tell the local authority"
    ),
    Outcome.HOME_EDUCATED: (
        "The parent has chosen home education: you may remove the child from roll once "
        "the parent has told you in writing (ground f) and tell the local authority"
    ),
    Outcome.MOVED_LA: (
        "The child has moved to another local authority, which knows: you may remove them "
        "from roll (ground g) and tell the local authority"
    ),
    Outcome.LEFT_COUNTRY: (
        "The child has left the country: you may remove them from roll (ground g) and "
        "tell the local authority"
    ),
    Outcome.NOT_CME: "Follow the usual rules for deleting a pupil from roll",
}
CLOSED_OTHERWISE = "Follow the usual rules for deleting a pupil from roll"


def school_status(case: Case) -> tuple[str, str]:
    """What the referring school sees: the case's status, and the off-roll advice.

    For the referrals pages (the school's view of its own referrals)."""
    if case.state == CaseState.CLOSED and case.outcome == Outcome.ATTENDANCE_MATTER:
        status = "Attendance matter: the child stays on your roll"
    elif case.state in (CaseState.RECEIVED, CaseState.SLO_INVESTIGATION):
        status = "Being investigated by the School Liaison Officer"
    elif case.state == CaseState.CLOSED:
        status = f"Closed: {case.get_outcome_display().lower()}" if case.outcome else "Closed"
    else:
        status = "Children missing education: the CME team is tracking the child"
    if case.child.in_care and case.state != CaseState.CLOSED:
        # A child in care stays on roll until a new school has admitted them.
        advice = "Do not remove this child from roll until a new school has admitted them"
    elif case.advised_off_roll_date:
        advice = f"You may remove the child from roll from {govuk_date(case.advised_off_roll_date)}"
    elif case.outcome == Outcome.ATTENDANCE_MATTER:
        advice = "Keep the child on roll"
    elif case.state == CaseState.CLOSED:
        advice = CLOSED_ADVICE.get(Outcome(case.outcome), CLOSED_OTHERWISE) if case.outcome else ""
        if (
            case.outcome == Outcome.ON_ROLL
            and case.destination_school_id is not None
            and case.destination_school_id == case.last_education_school_id
        ):
            advice = "Keep the child on roll: the child was found on your roll"
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


def chronology_rows(
    events: Iterable[ChronologyEvent], viewer: User | None = None
) -> list[ChronologyRow]:
    """Each entry as ``viewer`` sees it: its kind's label and its summary, unless an area
    registered how entries of that kind are shown (``registries.chronology_display``)."""
    rows = []
    for e in events:
        shown = chronology_display(e, viewer)
        rows.append(
            ChronologyRow(
                when=_when(e.at),
                kind=shown.kind,
                summary=shown.summary,
                by=e.by.get_full_name() if e.by else "System",
                case_reference=e.case.reference,
            )
        )
    return rows


@dataclass(frozen=True)
class ActionLink:
    title: str
    href: str


#: Each state's GOV.UK tag colour (the queue, the case page, the home page).
STATE_TAG_CLASSES: dict[str, str] = {
    CaseState.RECEIVED: "govuk-tag--blue",
    CaseState.SLO_INVESTIGATION: "govuk-tag--light-blue",
    CaseState.TRACKING: "govuk-tag--yellow",
    CaseState.LOCATED: "govuk-tag--turquoise",
    CaseState.NEEDS_ASSESSMENT: "govuk-tag--purple",
    CaseState.AWAITING_PROVISION: "govuk-tag--orange",
    CaseState.IN_PROVISION: "govuk-tag--green",
    CaseState.DORMANT: "govuk-tag--pink",
    CaseState.CLOSED: "govuk-tag--grey",
}


def state_tag_class(state: str) -> str:
    return STATE_TAG_CLASSES.get(state, "govuk-tag--grey")


#: The usual next move in each state, first the one the page leads with when it may be taken.
PRIMARY_NEXT_STEP: dict[CaseState, tuple[str, ...]] = {
    CaseState.RECEIVED: ("start_tracking", "start_slo_investigation"),
    CaseState.SLO_INVESTIGATION: ("record_slo_outcome",),
    CaseState.TRACKING: ("locate",),
    CaseState.LOCATED: ("begin_needs_assessment", "close"),
    CaseState.NEEDS_ASSESSMENT: ("determine_provision",),
    CaseState.AWAITING_PROVISION: ("move_into_provision",),
    CaseState.IN_PROVISION: ("close",),
    CaseState.DORMANT: ("reopen_tracking", "locate"),
    CaseState.CLOSED: ("reopen",),
}


def route_history_text(case: Case) -> str:
    """The located route's dated rows when there is more than one ("Living in the area …
    from 15 September 2025 (corrected); On a school roll from 20 October 2025")."""
    rows = list(
        CaseFact.objects.filter(case=case, kind=CaseFactKind.LOCATED_ROUTE).order_by(
            "effective_on", "id"
        )
    )
    if len(rows) < 2:
        return ""
    return "; ".join(
        f"{LocatedRoute(r.value).label} from {govuk_date(r.effective_on)}"
        + (" (corrected)" if r.superseded_at else "")
        for r in rows
    )


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
            (
                "Early help (CAF) assessment in place",
                c.get_early_help_assessment_display() or "Not recorded",
            ),
            ("Lead professional", c.lead_professional or "None named"),
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
        if c.home_education_evidence:
            rows.append(
                (
                    "Evidence of home education",
                    f"{c.get_home_education_evidence_display()}, "
                    f"{govuk_date(c.home_education_evidence_on)}",
                )
            )
        if c.left_country_confirmed_on:
            rows.append(
                (
                    "Leaving confirmed",
                    f"{govuk_date(c.left_country_confirmed_on)} by {c.left_country_source}",
                )
            )
        history = route_history_text(c)
        if history:
            rows.append(("Route history", history))
        return rows

    @property
    def state_tag_class(self) -> str:
        return state_tag_class(self.case.state)

    @cached_property
    def _offered(self) -> list[CaseAction]:
        return actions_for(self.viewer, self.case)

    @property
    def primary_action(self) -> ActionLink | None:
        """The one next step the page leads with: the usual next move in this state, if
        the viewer may take it now."""
        offered = {a.name: a for a in self._offered}
        order = PRIMARY_NEXT_STEP.get(CaseState(self.case.state), ())
        if self.case.state == CaseState.RECEIVED and self.case.route == "school":
            order = ("start_slo_investigation", "start_tracking")  # on a roll: the SLO first
        for name in order:
            if name in offered:
                return ActionLink(
                    offered[name].title,
                    reverse("cases:case-action", args=[self.case.pk, name]),
                )
        return None

    @property
    def actions(self) -> list[ActionLink]:
        """Every other action the viewer may take now."""
        primary = self.primary_action
        return [
            ActionLink(a.title, reverse("cases:case-action", args=[self.case.pk, a.name]))
            for a in self._offered
            if primary is None or a.title != primary.title
        ]

    @property
    def not_yet_possible(self) -> list[tuple[str, str]]:
        """Moves of this state the viewer could take once something is done, with what."""
        return [(a.title, needs) for a, needs in actions_not_yet_possible(self.viewer, self.case)]

    @property
    def child_details_url(self) -> str:
        """Where the viewer corrects the child's details, if they may act on the case."""
        if not self.case.is_open or not may_act(self.viewer, self.case):
            return ""
        try:
            return reverse("casework:child-details", args=[self.case.pk])
        except NoReverseMatch:
            return ""

    @property
    def tracking_url(self) -> str:
        return tracking_work_url(self.case)

    @property
    def safeguarding_url(self) -> str:
        """Screening, risk assessments and dormant reviews, for those who may see them
        (the link safeguarding registers)."""
        return case_link("safeguarding", self.viewer, self.case)

    @property
    def chronology_rows(self) -> list[ChronologyRow]:
        return chronology_rows(self.chronology, self.viewer)

    @property
    def visit_request_rows(self) -> list[tuple[str, str, str, str]]:
        """Home visits asked of SLOs (county procedure 5.3): when, whom, why, answered."""
        return [
            (
                govuk_date(r.requested_at.date()),
                r.slo.get_full_name(),
                r.reason,
                f"Visited {govuk_date(r.visit.visited_on)}" if r.visit else "Not yet visited",
            )
            for r in slo_visit_requests_for_case(self.case)
        ]

    @property
    def missing_care_rows(self) -> list[tuple[str, str, str]]:
        """Missing from care (county procedure 5.4): since when, the social worker, police."""
        return [
            (
                govuk_date(r.missing_since),
                " ".join(p for p in (r.social_worker, r.social_worker_contact) if p),
                r.get_reported_to_police_display(),
            )
            for r in missing_from_care_for_case(self.case)
        ]

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
    state_tag_class: str = ""
    days_open: str = ""
    #: The other areas' columns (``QUEUE_COLUMNS``), in order.
    extra: tuple[str, ...] = ()


#: How the queue may be sorted: the ``sort`` parameter and what it says.
QUEUE_SORTS = {"oldest": "oldest referral first", "newest": "newest referral first"}


@dataclass(frozen=True)
class QueuePresenter:
    name: str
    page: QueuePage
    filters: QueueFilters
    queue_names: dict[str, str] = field(default_factory=lambda: dict(QUEUES))
    sort: str = "oldest"
    today: dt.date = field(default_factory=timezone.localdate)

    @property
    def extra_headers(self) -> list[str]:
        return [c.header for c in QUEUE_COLUMNS.values()]

    @property
    def sort_text(self) -> str:
        return QUEUE_SORTS.get(self.sort, QUEUE_SORTS["oldest"])

    @property
    def open_for_sort(self) -> tuple[str, str]:
        """The "Open for" heading's link (the other order) and its aria-sort value."""
        other = "oldest" if self.sort == "newest" else "newest"
        href = reverse("cases:queue") + self._query(sort=other)
        # Longest open first is "oldest referral first": the days open descending.
        return href, "ascending" if self.sort == "newest" else "descending"

    @property
    def title(self) -> str:
        return self.queue_names.get(self.name, "Cases")

    @cached_property
    def rows(self) -> list[QueueRow]:
        columns = queue_column_values(self.page.cases)
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
                state_tag_class=state_tag_class(c.state),
                days_open=_days_open(c, self.today),
                extra=tuple(columns.get(key, {}).get(c.pk, "None") for key in QUEUE_COLUMNS),
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
            "sort": self.sort if self.sort != "oldest" else "",
            **extra,
        }
        if params["sort"] == "oldest":
            params["sort"] = ""
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
        """Each queue, keeping the filters and the order chosen (they are in the URL)."""
        return [
            (label, reverse("cases:queue") + self._query(queue=name), name == self.name)
            for name, label in self.queue_names.items()
        ]


def _days_open(case: Case, today: dt.date) -> str:
    end = case.closed_on if case.state == CaseState.CLOSED and case.closed_on else today
    days = max((end - case.date_referred).days, 0)
    return "1 day" if days == 1 else f"{days} days"
