"""What the safeguarding pages show, as plain rows; tested without a template."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.casework.presenters import case_page_url, error_list
from cmetrack.casework.selectors import checklist_for
from cmetrack.kit.dates import govuk_date
from cmetrack.people.selectors import addresses_for_display
from cmetrack.rules import is_review_overdue, next_dormant_review

from . import selectors
from .forms import ReviewForm, RiskAssessmentForm, ScreeningForm
from .models import DormantReview, RiskAssessment, VirtualSchoolNotice, VulnerabilityScreening
from .rules import (
    RISK_LEVEL_MEANING,
    SCREENING_QUESTIONS,
    Answer,
    QuestionGroup,
    Recommendation,
    RiskFactor,
    SentTo,
    avoidance_indicators,
    screening_recommendations,
)

RESTRICTED = "Restricted"


def _by(user: User | None) -> str:
    return user.get_full_name() if user is not None else "System"


def _when(at: dt.datetime) -> str:
    local = timezone.localtime(at)
    return f"{govuk_date(local)} at {local:%H:%M}"


def social_care_phone() -> str:
    """The children's social care line, or "" when it has not been set (only possible with
    DEBUG on: system check safeguarding.E001 refuses to start otherwise)."""
    return str(getattr(settings, "CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE", "") or "").strip()


def tel_href(number: str) -> str:
    """A ``tel:`` link for a phone number as people write it ("01632 960 000")."""
    digits = "".join(ch for ch in number if ch.isdigit() or ch == "+")
    return f"tel:{digits}" if digits else ""


# --- the emergency route and the screening result (the reusable include) -----------------


@dataclass(frozen=True)
class EmergencyPresenter:
    """For ``safeguarding/_emergency.jinja``: 999, the social care line, and the latest
    screening's result."""

    social_care_phone: str
    screened: str
    recommendations: list[Recommendation]
    avoidance: list[str]
    screening_url: str

    @property
    def result(self) -> str:
        if not self.screened:
            return "Not screened yet: complete the vulnerability screening."
        if not self.recommendations:
            return "No referral recommended by the latest screening."
        return "; ".join(r.title for r in self.recommendations) + "."

    @property
    def social_care_href(self) -> str:
        return tel_href(self.social_care_phone)


def emergency_for(case: Case, screening: VulnerabilityScreening | None) -> EmergencyPresenter:
    answers = screening.answer_map() if screening else {}
    return EmergencyPresenter(
        social_care_phone=social_care_phone(),
        screened=_when(screening.recorded_at) if screening else "",
        recommendations=screening_recommendations(answers),
        avoidance=avoidance_indicators(answers),
        screening_url=reverse("safeguarding:screening", args=[case.pk]),
    )


# --- the case's safeguarding page --------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    question: str
    group: str
    answer: str
    details: str


def screening_rows(screening: VulnerabilityScreening) -> list[AnswerRow]:
    by_key = {a.question: a for a in screening.answers.all()}
    rows = []
    for q in SCREENING_QUESTIONS:
        a = by_key.get(q.key)
        rows.append(
            AnswerRow(
                question=q.text,
                group=q.group.label,
                answer=Answer(a.answer).label if a else "Not answered",
                details=a.details if a else "",
            )
        )
    return rows


@dataclass(frozen=True)
class HistoryRow:
    when: str
    stage: str
    by: str
    result: str


@dataclass(frozen=True)
class AssessmentRow:
    date: str
    level: str
    officer: str
    status: str
    href: str


@dataclass(frozen=True)
class ReviewRow:
    date: str
    checked: str
    result: str
    holds: str
    by: str


@dataclass(frozen=True)
class VirtualSchoolPanel:
    told: bool
    lead: str
    told_on: str


@dataclass
class SafeguardingPresenter:
    case: Case
    viewer: User
    screenings: list[VulnerabilityScreening]
    assessments: list[RiskAssessment]
    reviews: list[DormantReview]
    notice: VirtualSchoolNotice | None
    review_base: dt.date | None
    today: dt.date
    success: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Safeguarding: {self.case.reference}"

    @property
    def case_url(self) -> str:
        return case_page_url(self.case)

    @property
    def latest(self) -> VulnerabilityScreening | None:
        return self.screenings[0] if self.screenings else None

    @property
    def emergency(self) -> EmergencyPresenter:
        return emergency_for(self.case, self.latest)

    @property
    def latest_rows(self) -> list[AnswerRow]:
        return screening_rows(self.latest) if self.latest else []

    @property
    def history(self) -> list[HistoryRow]:
        out = []
        for s in self.screenings:
            recs = screening_recommendations(s.answer_map())
            out.append(
                HistoryRow(
                    when=_when(s.recorded_at),
                    stage=s.get_stage_display(),
                    by=_by(s.recorded_by),
                    result="; ".join(r.title for r in recs) or "No referral recommended",
                )
            )
        return out

    @property
    def assessment_rows(self) -> list[AssessmentRow]:
        return [
            AssessmentRow(
                date=govuk_date(a.date_of_assessment),
                level=a.get_risk_level_display(),
                officer=_by(a.officer),
                status=(
                    f"Authorised by {_by(a.authorised_by)}"
                    if a.is_authorised
                    else "Waiting for a manager to authorise"
                ),
                href=reverse("safeguarding:risk-assessment", args=[self.case.pk, a.pk]),
            )
            for a in self.assessments
        ]

    @property
    def has_authorised_assessment(self) -> bool:
        return any(a.is_authorised for a in self.assessments)

    @property
    def is_dormant(self) -> bool:
        return self.case.state == CaseState.DORMANT

    @property
    def next_review_due(self) -> dt.date | None:
        return next_dormant_review(self.review_base) if self.review_base else None

    @property
    def review_status(self) -> str:
        due = self.next_review_due
        if due is None:
            return ""
        if self.review_overdue:
            return f"Overdue: the review was due on {govuk_date(due)}"
        return f"Next review due on {govuk_date(due)}"

    @property
    def review_overdue(self) -> bool:
        return self.review_base is not None and is_review_overdue(self.review_base, self.today)

    @property
    def review_rows(self) -> list[ReviewRow]:
        return [
            ReviewRow(
                date=govuk_date(r.reviewed_on),
                checked=r.checked,
                result=r.result + (" Tracking resumed." if r.reopened_tracking else ""),
                holds="Yes" if r.risk_level_holds else "No",
                by=_by(r.by),
            )
            for r in self.reviews
        ]

    # --- children in care ---

    @property
    def in_care(self) -> bool:
        return bool(self.case.child.in_care)

    @property
    def virtual_school(self) -> VirtualSchoolPanel | None:
        if not self.in_care:
            return None
        n = self.notice
        if n is None:
            return VirtualSchoolPanel(told=False, lead="Virtual School (not told yet)", told_on="")
        lead = (
            f"Virtual School: {n.lead.get_full_name()}"
            if n.lead
            else "Virtual School (no officer named yet)"
        )
        return VirtualSchoolPanel(told=True, lead=lead, told_on=govuk_date(n.told_at))

    # --- what the viewer may do ---

    @property
    def can_screen(self) -> bool:
        return selectors.may_screen(self.viewer, self.case)

    @property
    def can_assess(self) -> bool:
        return selectors.may_assess(self.viewer, self.case)

    @property
    def can_make_dormant(self) -> bool:
        return (
            self.can_assess
            and self.case.state == CaseState.TRACKING
            and self.has_authorised_assessment
        )

    @property
    def can_review(self) -> bool:
        return self.can_assess and self.is_dormant

    @property
    def can_tell_virtual_school(self) -> bool:
        return self.in_care and self.notice is None and self.can_screen


# --- forms ---------------------------------------------------------------------------------


@dataclass
class ScreeningFormPresenter:
    case: Case
    form: ScreeningForm
    emergency: EmergencyPresenter

    @property
    def title(self) -> str:
        return f"Vulnerability screening: {self.case.reference}"

    @property
    def errors(self) -> list[dict[str, str]]:
        return error_list(self.form)

    @property
    def groups(self) -> list[tuple[str, str, list[tuple[str, forms.BoundField, forms.BoundField]]]]:
        """(heading, what a yes means, [(question, answer, details)]) per part of the form."""
        means = {
            QuestionGroup.CRIME: "Any yes: refer to the police and inform the LA designated "
            "person.",
            QuestionGroup.SOCIAL_CARE: "Any yes: inform children's social care immediately.",
            QuestionGroup.AVOIDANCE: "Recorded and shown on the case.",
        }
        return [
            (
                group.label,
                means[group],
                [
                    (q.text, self.form[q.key], self.form[f"{q.key}_details"])
                    for q in SCREENING_QUESTIONS
                    if q.group == group
                ],
            )
            for group in QuestionGroup
        ]


@dataclass
class RiskFormPresenter:
    case: Case
    viewer: User
    form: RiskAssessmentForm
    emergency: EmergencyPresenter

    @property
    def title(self) -> str:
        return f"Risk assessment: {self.case.reference}"

    @property
    def errors(self) -> list[dict[str, str]]:
        return error_list(self.form)

    @property
    def header(self) -> list[tuple[str, str]]:
        return header_rows(self.case, self.viewer, None)

    @property
    def checklist(self) -> list[tuple[str, str]]:
        return checklist_rows(self.case)

    @property
    def factors(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        """(numbered question, answer, supporting information) for the fifteen factors."""
        return [
            (
                f"{f.value}. {f.label}",
                self.form[f"factor_{f.value}"],
                self.form[f"factor_{f.value}_details"],
            )
            for f in RiskFactor
        ]

    @property
    def levels(self) -> dict[str, str]:
        return dict(RISK_LEVEL_MEANING)


@dataclass
class ReviewFormPresenter:
    case: Case
    form: ReviewForm
    emergency: EmergencyPresenter
    review_status: str

    @property
    def title(self) -> str:
        return f"Dormant review: {self.case.reference}"

    @property
    def errors(self) -> list[dict[str, str]]:
        return error_list(self.form)


# --- the risk assessment as a signed form --------------------------------------------------


def header_rows(
    case: Case, viewer: User, assessment: RiskAssessment | None
) -> list[tuple[str, str]]:
    """forms.md §3's header, from the case. A restricted address is "Restricted" unless
    the viewer may see it (people.selectors.addresses_for_display)."""
    child = case.child
    parents = list(child.parents_carers.all())
    parent = next(
        (p for p in parents if p.parental_responsibility), parents[0] if parents else None
    )
    shown = addresses_for_display(user=viewer, child=child)
    current = next(((a, ok) for a, ok in shown if a.is_current), shown[0] if shown else None)
    if current is None:
        address, since = "Not known", "Not known"
    else:
        a, allowed = current
        address = str(a) if allowed else RESTRICTED
        since = (govuk_date(a.date_from) if a.date_from else "Not known") if allowed else RESTRICTED
    return [
        ("Child's name", child.full_name),
        ("Date of birth", govuk_date(child.dob, "Not known")),
        (
            "Parent or carer",
            f"{parent.given_names} {parent.family_name}" if parent else "Not known",
        ),
        ("Last known address", address),
        ("Date at last known address", since),
        ("Date of CME referral", govuk_date(case.date_referred)),
        (
            "Date of assessment",
            govuk_date(assessment.date_of_assessment) if assessment else "Today or as entered",
        ),
    ]


def checklist_rows(case: Case) -> list[tuple[str, str]]:
    """The address-search checklist (casework), one line per source."""
    rows = []
    for item in checklist_for(case):
        c = item.current
        if c is None:
            rows.append((item.source.name, "Not recorded"))
            continue
        text = c.get_status_display()
        if c.date:
            text += f" on {govuk_date(c.date)}"
        if c.result:
            text += f": {c.get_result_display().lower()}"
        rows.append((item.source.name, text))
    return rows


@dataclass(frozen=True)
class FactorRow:
    number: int
    question: str
    answer: str
    information: str


@dataclass
class RiskAssessmentPresenter:
    case: Case
    viewer: User
    assessment: RiskAssessment
    emergency: EmergencyPresenter | None = None
    authorise_error: str = ""
    success: list[str] = field(default_factory=list)

    @property
    def title(self) -> str:
        return f"Risk assessment: {self.case.reference}"

    @property
    def council(self) -> str:
        return str(settings.CMETRACK_LA_NAME)

    @property
    def header(self) -> list[tuple[str, str]]:
        return header_rows(self.case, self.viewer, self.assessment)

    @property
    def checklist(self) -> list[tuple[str, str]]:
        return checklist_rows(self.case)

    @property
    def factors(self) -> list[FactorRow]:
        answers = {f.factor: f for f in self.assessment.factors.all()}
        return [
            FactorRow(
                number=f.value,
                question=f.label,
                answer=Answer(answers[f.value].answer).label if f.value in answers else "",
                information=answers[f.value].supporting_information if f.value in answers else "",
            )
            for f in RiskFactor
        ]

    @property
    def level(self) -> str:
        return self.assessment.get_risk_level_display()

    @property
    def level_meaning(self) -> str:
        return RISK_LEVEL_MEANING[self.assessment.risk_level]

    @property
    def officer(self) -> str:
        return _by(self.assessment.officer)

    @property
    def recorded(self) -> str:
        return _when(self.assessment.recorded_at)

    @property
    def authorised_by(self) -> str:
        return _by(self.assessment.authorised_by) if self.assessment.is_authorised else ""

    @property
    def authorised_on(self) -> str:
        at = self.assessment.authorised_at
        return _when(at) if at else ""

    @property
    def sent_to(self) -> list[tuple[str, bool]]:
        chosen = set(self.assessment.sent_to)
        return [(label, value in chosen) for value, label in SentTo.choices]

    @property
    def can_authorise(self) -> bool:
        return selectors.may_authorise(self.viewer, self.assessment)

    @property
    def own_assessment_notice(self) -> str:
        """For a manager looking at their own assessment, waiting: why there is no button."""
        a = self.assessment
        if (
            not a.is_authorised
            and a.officer_id == self.viewer.pk
            and self.viewer.has_role(Role.CME_MANAGER)
        ):
            return "You completed this risk assessment, so another CME manager must authorise it."
        return ""

    @property
    def print_url(self) -> str:
        return reverse(
            "safeguarding:risk-assessment-print", args=[self.case.pk, self.assessment.pk]
        )

    @property
    def pdf_url(self) -> str:
        return reverse("safeguarding:risk-assessment-pdf", args=[self.case.pk, self.assessment.pk])

    @property
    def back_url(self) -> str:
        return reverse("safeguarding:case", args=[self.case.pk])


# --- the review queues ---------------------------------------------------------------------


@dataclass(frozen=True)
class DueRow:
    reference: str
    child: str
    officer: str
    last: str
    due: str
    href: str


def due_rows(cases: list[Case]) -> list[DueRow]:
    """Rows of a review queue; each case carries ``review_base`` (selectors)."""
    rows = []
    for c in cases:
        base: dt.date = c.review_base  # type: ignore[attr-defined]
        if isinstance(base, str):  # SQLite returns the annotation as text
            base = dt.date.fromisoformat(base)
        rows.append(
            DueRow(
                reference=c.reference,
                child=c.child.full_name,
                officer=_by(c.assigned_officer) if c.assigned_officer else "Not assigned",
                last=govuk_date(base),
                due=govuk_date(next_dormant_review(base)),
                href=reverse("safeguarding:case", args=[c.pk]),
            )
        )
    return rows


@dataclass
class ReviewQueuePresenter:
    viewer: User
    today: dt.date
    overdue: list[DueRow]
    overdue_total: int
    this_week: list[DueRow]
    this_week_total: int

    @property
    def title(self) -> str:
        return "Dormant case reviews"

    @property
    def scope(self) -> str:
        if self.viewer.has_role(Role.CME_MANAGER):
            return "Every dormant case of the team."
        return "The dormant cases assigned to you."


@dataclass(frozen=True)
class ToAuthoriseRow:
    reference: str
    href: str
    child: str
    level: str
    officer: str
    completed: str
    waiting: str


def to_authorise_rows(assessments: list[RiskAssessment], today: dt.date) -> list[ToAuthoriseRow]:
    """Risk assessments waiting for a manager: whose, what level, by whom, how long."""
    rows = []
    for a in assessments:
        days = (today - timezone.localdate(a.recorded_at)).days
        rows.append(
            ToAuthoriseRow(
                reference=a.case.reference,
                href=reverse("safeguarding:risk-assessment", args=[a.case_id, a.pk]),
                child=a.case.child.full_name,
                level=a.get_risk_level_display(),
                officer=_by(a.officer),
                completed=govuk_date(a.date_of_assessment),
                waiting="Today" if days <= 0 else "1 day" if days == 1 else f"{days} days",
            )
        )
    return rows
