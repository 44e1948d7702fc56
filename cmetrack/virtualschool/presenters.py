"""What the Virtual School pages show, as plain rows (tested without a template).

Restricted placement addresses are masked here for anyone not named for the child."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django import forms
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.casework.presenters import case_page_url, error_list
from cmetrack.detection.models import Alert
from cmetrack.kit.dates import govuk_date

from .models import ChildInCare, PersonalEducationPlan, Placement, PlacementAlert
from .rules import PEP_STATUS_TEXT, PepStatus
from .selectors import (
    InCareCase,
    child_on_roll,
    may_work_vs,
    may_write_cic,
    placement_address_for,
)

STATUS_TAG = {
    PepStatus.OVERDUE: "govuk-tag--red",
    PepStatus.NEEDED_OVERDUE: "govuk-tag--red",
    PepStatus.NEEDED: "govuk-tag--orange",
    PepStatus.DUE: "govuk-tag--yellow",
    PepStatus.SCHEDULED: "govuk-tag--green",
}


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    href: str = ""
    tag: str = ""
    tag_class: str = ""
    action_href: str = ""
    action_text: str = ""
    id: int = 0


def record_url(record: ChildInCare) -> str:
    return reverse("virtualschool:record", args=[record.pk])


def _case_row(item: InCareCase) -> Row:
    case, pep = item.case, item.latest_pep
    if item.record is None:
        action_href = reverse("virtualschool:record-new", args=[case.child_id])
        action_text = "Record in-care details"
    elif pep is None:
        action_href = reverse("virtualschool:pep-new", args=[item.record.pk])
        action_text = "Write the PEP"
    else:
        action_href = reverse("virtualschool:pep", args=[pep.pk])
        action_text = "Open the PEP"
    return Row(
        cells=(
            case.reference,
            case.child.full_name,
            case.get_state_display(),
            govuk_date(case.date_referred),
            govuk_date(pep.review_on) if pep else "No PEP yet",
        ),
        href=case_page_url(case),
        tag=PEP_STATUS_TEXT[item.status],
        tag_class=STATUS_TAG[item.status],
        action_href=action_href,
        action_text=action_text,
    )


def _placement_alert_row(alert: PlacementAlert) -> Row:
    placement = alert.placement
    record = placement.record
    school = placement.school_display
    if placement.school_id and child_on_roll(upn=record.child.upn, school_id=placement.school_id):
        school += " (now on its roll: resolve the alert)"
    return Row(
        cells=(
            record.child.full_name,
            alert.get_reason_display(),
            govuk_date(placement.started_on),
            school,
            govuk_date(alert.raised_on),
        ),
        href=record_url(record),
        id=alert.pk,
    )


def _attendance_row(alert: Alert) -> Row:
    ev = alert.evidence or {}
    percent = ev.get("attendance_percent")
    attended, possible = ev.get("attended_sessions"), ev.get("possible_sessions")
    record = getattr(alert.child, "care_record", None) if alert.child_id else None
    return Row(
        cells=(
            alert.child.full_name if alert.child_id and alert.child else alert.full_name,
            alert.upn,
            alert.school.name if alert.school_id and alert.school else alert.laestab,
            f"{percent}%" if percent is not None else "Not known",
            f"{attended} of {possible} sessions" if possible else "",
            f"{govuk_date(alert.detected_on)} ({alert.get_state_display().lower()})",
        ),
        href=record_url(record) if record is not None else "",
        id=alert.pk,
    )


@dataclass
class DashboardPresenter:
    viewer: User
    today: date
    cases: list[InCareCase]
    placement_alerts: list[PlacementAlert]
    attendance_alerts: list[Alert]
    without_upn: list[ChildInCare]
    without_record: list[Any]
    records_total: int
    success: list[str] = field(default_factory=list)

    case_headers = ("Case", "Child", "State", "Referred", "PEP review")
    placement_headers = ("Child", "Alert", "Moved on", "School", "Raised")
    attendance_headers = ("Child", "UPN", "School", "Attendance", "Sessions", "Detected")

    @property
    def case_rows(self) -> list[Row]:
        return [_case_row(item) for item in self.cases]

    @property
    def peps_due(self) -> int:
        return sum(1 for c in self.cases if c.status in {PepStatus.DUE, PepStatus.NEEDED})

    @property
    def peps_overdue(self) -> int:
        return sum(
            1 for c in self.cases if c.status in {PepStatus.OVERDUE, PepStatus.NEEDED_OVERDUE}
        )

    @property
    def placement_rows(self) -> list[Row]:
        return [_placement_alert_row(a) for a in self.placement_alerts]

    @property
    def attendance_rows(self) -> list[Row]:
        return [_attendance_row(a) for a in self.attendance_alerts]

    @property
    def without_upn_rows(self) -> list[Row]:
        return [Row(cells=(r.child.full_name,), href=record_url(r)) for r in self.without_upn]

    @property
    def without_record_rows(self) -> list[Row]:
        return [
            Row(
                cells=(c.full_name,),
                href=reverse("virtualschool:record-new", args=[c.pk]),
            )
            for c in self.without_record
        ]

    @property
    def can_work(self) -> bool:
        return may_work_vs(self.viewer)


def placement_rows(viewer: User, placements: list[Placement]) -> list[dict[str, Any]]:
    out = []
    for p in placements:
        out.append(
            {
                "placement": p,
                "when": f"{govuk_date(p.started_on)} to "
                + (govuk_date(p.ended_on) if p.ended_on else "now"),
                "type": p.get_placement_type_display(),
                "placing_authority": p.placing_authority.name,
                "carer": p.carer or "Not recorded",
                "address": placement_address_for(viewer, p),
                "school": p.school_display
                + (
                    f" (admitted {govuk_date(p.school_admitted_on)})"
                    if p.school_admitted_on
                    else ""
                ),
                "reason": p.reason,
                "alerts": [
                    a.get_reason_display() + ("" if a.is_open else f" (resolved: {a.resolution})")
                    for a in p.alerts.all()
                ],
                "current": p.is_current,
            }
        )
    return out


@dataclass
class RecordPresenter:
    record: ChildInCare
    viewer: User
    placements: list[Placement]
    peps: list[PersonalEducationPlan]
    open_cases: list[Any]
    success: list[str] = field(default_factory=list)

    @property
    def child(self) -> Any:
        return self.record.child

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        r, c = self.record, self.record.child
        lead = r.lead_officer.get_full_name() if r.lead_officer else "Not yet assigned"
        contact = ", ".join(
            p for p in (r.social_worker_team, r.social_worker_phone, r.social_worker_email) if p
        )
        return [
            ("Child", c.full_name),
            ("Date of birth", govuk_date(c.dob, "Not known")),
            ("UPN", c.upn or "Not known: attendance alerts need the UPN"),
            ("Responsible authority", r.responsible_authority.name),
            ("Legal status", f"{r.get_legal_status_display()} ({r.legal_status})"),
            ("Came into care", govuk_date(r.came_into_care_on)),
            (
                "Ceased to be looked after",
                govuk_date(r.ceased_on) if r.ceased_on else "Still looked after",
            ),
            ("Social worker", r.social_worker_name + (f" ({contact})" if contact else "")),
            ("Virtual School lead", lead),
        ]

    @property
    def placement_rows(self) -> list[dict[str, Any]]:
        return placement_rows(self.viewer, self.placements)

    @property
    def pep_rows(self) -> list[Row]:
        return [
            Row(
                cells=(
                    p.case.reference,
                    govuk_date(p.meeting_on),
                    p.get_suitable_education_display(),
                    govuk_date(p.review_on),
                ),
                href=reverse("virtualschool:pep", args=[p.pk]),
            )
            for p in self.peps
        ]

    @property
    def case_links(self) -> list[tuple[str, str]]:
        return [
            (f"{c.reference} ({c.get_state_display().lower()})", case_page_url(c))
            for c in self.open_cases
        ]

    @property
    def can_edit(self) -> bool:
        return may_write_cic(self.viewer)

    @property
    def can_write_pep(self) -> bool:
        return may_work_vs(self.viewer) and self.record.is_current and bool(self.open_cases)

    @property
    def current_placement(self) -> Placement | None:
        return next((p for p in self.placements if p.is_current), None)


@dataclass
class PepPresenter:
    pep: PersonalEducationPlan
    viewer: User
    for_pdf: bool = False
    success: list[str] = field(default_factory=list)

    @property
    def record(self) -> ChildInCare:
        return self.pep.record

    @property
    def personal_rows(self) -> list[tuple[str, str]]:
        c = self.record.child
        return [
            ("Name", c.full_name),
            ("Date of birth", govuk_date(c.dob, "Not known")),
            ("Sex", c.get_sex_display()),
            ("Ethnicity", c.get_ethnicity_display() if c.ethnicity else "Not recorded"),
            ("First language", c.first_language or "Not recorded"),
            ("UPN", c.upn or "Not known"),
            ("Legal status", self.record.get_legal_status_display()),
        ]

    @property
    def care_rows(self) -> list[tuple[str, str]]:
        r = self.record
        placement = r.placements.filter(ended_on__isnull=True).select_related("school").first()
        rows = [
            ("Responsible authority", r.responsible_authority.name),
            ("Date came into care", govuk_date(r.came_into_care_on)),
            ("Social worker", r.social_worker_name),
        ]
        if placement is not None:
            rows += [
                ("Placement", placement.get_placement_type_display()),
                ("Carer", placement.carer or "Not recorded"),
                ("Carer's address", placement_address_for(self.viewer, placement)),
            ]
        else:
            rows.append(("Placement", "No current placement recorded"))
        return rows

    @property
    def meeting_rows(self) -> list[tuple[str, str]]:
        p = self.pep
        return [
            ("CME case", p.case.reference),
            ("Date of the meeting", govuk_date(p.meeting_on)),
            ("Who attended", p.attendees),
            ("Summary", p.summary),
            ("Receiving suitable education?", p.get_suitable_education_display()),
            ("Reasons", p.suitable_education_reasons or "None given"),
            ("Review date", govuk_date(p.review_on)),
        ]

    @property
    def targets(self) -> list[dict[str, str]]:
        return [
            {
                "title": f"Target {i}: {t.get_area_display()}",
                "actions": t.actions,
                "intervention": t.intervention,
                "improvement": t.improvement,
                "responsible": t.responsible or "Not yet agreed",
                "due": govuk_date(t.due_on, "Not set"),
                "status": t.get_status_display(),
                "progress": t.progress or "None recorded",
            }
            for i, t in enumerate(self.pep.targets.all(), start=1)
        ]

    @property
    def reviews(self) -> list[tuple[str, ...]]:
        return [
            (
                govuk_date(r.reviewed_on),
                r.summary,
                r.get_suitable_education_display(),
                govuk_date(r.next_review_on),
            )
            for r in self.pep.reviews.all()
        ]

    @property
    def can_edit(self) -> bool:
        return may_work_vs(self.viewer) and not self.for_pdf


@dataclass
class FormPresenter:
    title: str
    form: forms.Form
    back_href: str
    caption: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> list[dict[str, str]]:
        return error_list(self.form)
