"""API for safeguarding: vulnerability screenings, risk assessments (record, authorise),
dormant reviews and the review queues.

Scoped exactly like the pages: a case outside the caller's scope (cases_visible_to), or any
case for a role that never sees safeguarding (schools, agencies, auditors,
administrators), is 404 as if it did not exist. A case the caller may see but not act on
is 403 for writes. A rule refused is 400 with what to fix, field by field. Writes go
through the same services, so they are audited, on the chronology, and create the tasks.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict

from cmetrack.accounts.api import api_user as _user
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.kit.problems import InputSchema, Problem, forbidden, problems
from cmetrack.kit.problems import person_name as _person
from cmetrack.kit.problems import run_write as _write
from cmetrack.rules import next_dormant_review

from . import selectors, services
from .models import DormantReview, RiskAssessment, VirtualSchoolNotice, VulnerabilityScreening
from .presenters import due_rows
from .rules import Answer, RiskLevel, SentTo, screening_recommendations

router = Router(tags=["Safeguarding"])
QUEUE_LIMIT = 200


class AnswerIn(InputSchema):
    answer: Answer
    details: str = ""


class AnswerOut(Schema):
    question: str
    answer: Answer
    details: str


class ScreeningOut(Schema):
    id: int
    stage: str
    recorded_by: str | None
    recorded_at: dt.datetime
    answers: list[AnswerOut]
    recommendations: list[str] = Field(
        description="What the answers recommend; each became a task when recorded."
    )

    @staticmethod
    def resolve_recorded_by(obj: VulnerabilityScreening) -> str | None:
        return _person(obj.recorded_by)

    @staticmethod
    def resolve_answers(obj: VulnerabilityScreening) -> list[dict[str, str]]:
        return [
            {"question": a.question, "answer": a.answer, "details": a.details}
            for a in obj.answers.all()
        ]

    @staticmethod
    def resolve_recommendations(obj: VulnerabilityScreening) -> list[str]:
        return [r.title for r in screening_recommendations(obj.answer_map())]


class ScreeningIn(InputSchema):
    """Every question of forms.md §4 by key (see the screening page), yes/no/unknown,
    with details for every yes."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "answers": {
                        "sudden_behaviour": {"answer": "yes", "details": "Left mid-term"},
                        "missing_with_family": {"answer": "unknown"},
                        "cp_plan": {"answer": "no"},
                    }
                }
            ]
        }
    )
    answers: dict[str, AnswerIn]


class FactorOut(Schema):
    factor: int
    answer: Answer
    supporting_information: str


class RiskAssessmentOut(Schema):
    id: int
    case_id: int
    date_of_assessment: dt.date
    summary: str
    risk_level: RiskLevel
    sent_to: list[SentTo]
    officer: str | None
    recorded_at: dt.datetime
    authorised_by: str | None
    authorised_at: dt.datetime | None
    factors: list[FactorOut]

    @staticmethod
    def resolve_officer(obj: RiskAssessment) -> str | None:
        return _person(obj.officer)

    @staticmethod
    def resolve_authorised_by(obj: RiskAssessment) -> str | None:
        return _person(obj.authorised_by)

    @staticmethod
    def resolve_factors(obj: RiskAssessment) -> list[dict[str, Any]]:
        return [
            {
                "factor": f.factor,
                "answer": f.answer,
                "supporting_information": f.supporting_information,
            }
            for f in obj.factors.all()
        ]


class RiskAssessmentIn(InputSchema):
    """The fifteen factors of forms.md §3 by number ("1" to "15"); supporting information
    is required for every yes. It then waits for another person, a CME manager, to
    authorise it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "date_of_assessment": "2026-11-20",
                    "factors": {"1": {"answer": "no"}, "5": {"answer": "yes", "details": "…"}},
                    "summary": "Family left the address in October; no trace since.",
                    "risk_level": "medium",
                    "sent_to": ["education_safeguarding", "police_mpc"],
                }
            ]
        }
    )
    date_of_assessment: dt.date
    factors: dict[int, AnswerIn]
    summary: str
    risk_level: RiskLevel
    sent_to: list[SentTo] = []


class ReviewOut(Schema):
    id: int
    reviewed_on: dt.date
    checked: str
    result: str
    risk_level_holds: bool
    reopened_tracking: bool
    by: str | None

    @staticmethod
    def resolve_by(obj: DormantReview) -> str | None:
        return _person(obj.by)


class ReviewIn(InputSchema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "reviewed_on": "2026-11-20",
                    "checked": "School census, GP, electoral roll",
                    "result": "No trace",
                    "risk_level_holds": True,
                    "reopen_tracking": False,
                }
            ]
        }
    )
    reviewed_on: dt.date
    checked: str
    result: str
    risk_level_holds: bool
    reopen_tracking: bool = False


class DueOut(Schema):
    case_id: int
    reference: str
    child: str
    officer: str
    counted_from: dt.date = Field(description="The last review, or the date it went dormant")
    due: dt.date


class ReviewQueuesOut(Schema):
    on: dt.date
    overdue_total: int
    overdue: list[DueOut]
    due_this_week_total: int
    due_this_week: list[DueOut]


# --- helpers -----------------------------------------------------------------------------


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_for_safeguarding(user=_user(request), case_id=case_id)
    except Case.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc


# --- screenings --------------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/screenings",
    response={200: list[ScreeningOut], 404: Problem},
    summary="A case's vulnerability screenings, newest (current) first",
    operation_id="case_screenings_list",
)
def screenings_list(request: HttpRequest, case_id: int) -> list[VulnerabilityScreening]:
    return list(selectors.screenings_for(_case(request, case_id)))


@router.post(
    "/cases/{case_id}/screenings",
    response={201: ScreeningOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a vulnerability screening (its recommendations become tasks)",
    operation_id="case_screenings_record",
)
def screenings_record(request: HttpRequest, case_id: int, payload: ScreeningIn) -> Any:
    case = _case(request, case_id)
    answers = {k: (str(v.answer), v.details) for k, v in payload.answers.items()}
    return _write(
        lambda: services.screening_record(
            actor=Actor.from_request(request), case=case, answers=answers
        )
    )


# --- risk assessments --------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/risk-assessments",
    response={200: list[RiskAssessmentOut], 404: Problem},
    summary="A case's risk assessments, newest first",
    operation_id="case_risk_assessments_list",
)
def risk_assessments_list(request: HttpRequest, case_id: int) -> list[RiskAssessment]:
    return list(selectors.risk_assessments_for(_case(request, case_id)))


@router.post(
    "/cases/{case_id}/risk-assessments",
    response={201: RiskAssessmentOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a risk assessment (it waits for a manager to authorise it)",
    operation_id="case_risk_assessments_record",
)
def risk_assessments_record(request: HttpRequest, case_id: int, payload: RiskAssessmentIn) -> Any:
    case = _case(request, case_id)
    return _write(
        lambda: services.risk_assessment_record(
            actor=Actor.from_request(request),
            case=case,
            date_of_assessment=payload.date_of_assessment,
            factors={k: (str(v.answer), v.details) for k, v in payload.factors.items()},
            summary=payload.summary,
            risk_level=payload.risk_level,
            sent_to=[str(s) for s in payload.sent_to],
        )
    )


@router.post(
    "/cases/{case_id}/risk-assessments/{assessment_id}/authorise",
    response={200: RiskAssessmentOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Authorise a risk assessment (a CME manager who did not complete it)",
    description="The actions for its risk level become tasks. Authorising your own "
    "assessment is refused (400).",
    operation_id="case_risk_assessments_authorise",
)
def risk_assessments_authorise(request: HttpRequest, case_id: int, assessment_id: int) -> Any:
    try:
        assessment = selectors.risk_assessment_for(
            user=_user(request), case_id=case_id, assessment_id=assessment_id
        )
    except RiskAssessment.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc

    def authorise() -> RiskAssessment:
        services.risk_assessment_authorise(actor=Actor.from_request(request), assessment=assessment)
        return selectors.risk_assessments_for(assessment.case).get(pk=assessment.pk)

    return _write(authorise, 200)


# --- dormant reviews ---------------------------------------------------------------------


@router.get(
    "/cases/{case_id}/dormant-reviews",
    response={200: list[ReviewOut], 404: Problem},
    summary="A case's monthly dormant reviews, newest first",
    operation_id="case_dormant_reviews_list",
)
def reviews_list(request: HttpRequest, case_id: int) -> list[DormantReview]:
    return list(selectors.reviews_for(_case(request, case_id)))


@router.post(
    "/cases/{case_id}/dormant-reviews",
    response={201: ReviewOut, 422: Problem, 403: Problem, 404: Problem},
    summary="Record a monthly review of a dormant case (optionally resuming tracking)",
    operation_id="case_dormant_reviews_record",
)
def reviews_record(request: HttpRequest, case_id: int, payload: ReviewIn) -> Any:
    case = _case(request, case_id)
    return _write(
        lambda: services.dormant_review_record(
            actor=Actor.from_request(request), case=case, **payload.dict()
        )
    )


@router.get(
    "/dormant-reviews",
    response=ReviewQueuesOut,
    summary="Dormant reviews overdue and due this week",
    description="For a CME officer, the dormant cases assigned to them; for a CME manager, "
    "every dormant case of the team. `on` (default today) gives the lists on another date. "
    f"At most {QUEUE_LIMIT} of each, oldest first; the totals count all.",
    operation_id="dormant_review_queues",
)
def review_queues(request: HttpRequest, on: dt.date | None = None) -> dict[str, Any]:
    user = _user(request)
    day = on or timezone.localdate()
    overdue = selectors.overdue_reviews(user, today=day)
    week = selectors.reviews_due_this_week(user, today=day)

    def rows(cases: list[Case]) -> list[dict[str, Any]]:
        out = []
        for case, row in zip(cases, due_rows(cases), strict=True):
            base = case.review_base  # type: ignore[attr-defined]
            base = dt.date.fromisoformat(base) if isinstance(base, str) else base
            out.append(
                {
                    "case_id": case.pk,
                    "reference": row.reference,
                    "child": row.child,
                    "officer": row.officer,
                    "counted_from": base,
                    "due": next_dormant_review(base),
                }
            )
        return out

    return {
        "on": day,
        "overdue_total": overdue.count(),
        "overdue": rows(list(overdue[:QUEUE_LIMIT])),
        "due_this_week_total": week.count(),
        "due_this_week": rows(list(week[:QUEUE_LIMIT])),
    }


# --- telling the Virtual School (a child in care on a CME case) ------------------------------


class VirtualSchoolNoticeOut(Schema):
    case_id: int
    lead_id: int | None = Field(description="The Virtual School officer who leads.")
    lead: str | None
    keep_on_roll_until_admitted: bool
    told_by: str | None
    told_at: dt.datetime

    @staticmethod
    def resolve_lead(obj: VirtualSchoolNotice) -> str | None:
        return _person(obj.lead)

    @staticmethod
    def resolve_told_by(obj: VirtualSchoolNotice) -> str | None:
        return _person(obj.told_by)


@router.post(
    "/cases/{case_id}/virtual-school-notice",
    response={200: VirtualSchoolNoticeOut, **problems(403, 404, 422)},
    summary="Tell the Virtual School about a child in care (it then leads; telling twice "
    "changes nothing)",
    operation_id="case_virtual_school_tell",
)
def virtual_school_tell(request: HttpRequest, case_id: int) -> VirtualSchoolNotice:
    case = _case(request, case_id)
    if not selectors.may_screen(_user(request), case):
        forbidden("You cannot tell the Virtual School about this case.")
    return services.virtual_school_tell(actor=Actor.from_request(request), case=case)
