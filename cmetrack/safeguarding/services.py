"""Writes of safeguarding records. Each function is one transaction that saves the record,
writes its audit row (with the case's child), puts it on the case's chronology, and turns
what the record sets in motion into tasks (casework) with owners and due dates.

Rules refused here are ``ValidationError`` (a message for the person, on a field where
there is one); acting without the role is ``PermissionDenied``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record, audited_update, snapshot
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, ChronologyKind
from cmetrack.cases.services import case_reopen_tracking, chronology_add
from cmetrack.casework.models import Task, TaskKind, TaskStatus
from cmetrack.casework.selectors import may_own_task
from cmetrack.casework.services import task_create
from cmetrack.kit.dates import govuk_date
from cmetrack.notifications.services import notification_send, users_with_role

from . import selectors
from .models import (
    DormantReview,
    RiskAssessment,
    RiskFactorAnswer,
    ScreeningAnswer,
    ScreeningStage,
    VirtualSchoolNotice,
    VulnerabilityScreening,
)
from .rules import (
    QUESTIONS_BY_KEY,
    SCREENING_QUESTIONS,
    Answer,
    RiskFactor,
    RiskLevel,
    SentTo,
    risk_level_actions,
    screening_recommendations,
)

SELF_AUTHORISATION = (
    "You completed this risk assessment, so you cannot authorise it: another CME manager "
    "must authorise it."
)
ONLY_MANAGERS_AUTHORISE = "Only a CME manager can authorise a risk assessment."
ALREADY_AUTHORISED = "This risk assessment is already authorised."
CLOSED_CASE = "This case is closed: record safeguarding work on a new episode for the child."
VIRTUAL_SCHOOL_LEAD = (
    "Lead for a child in care missing education: the child must not be taken off roll "
    "until a new school has admitted them"
)
VIRTUAL_SCHOOL_UNASSIGNED = (
    "Tell the Virtual School about this child in care missing education (no Virtual School "
    "officer has an account yet)"
)
NEW_ASSESSMENT_NEEDED = "Complete a new risk assessment: the risk level no longer holds"


def _name(user: User | None) -> str:
    return user.get_full_name() if user is not None else "the system"


def _require_open(case: Case) -> None:
    if not case.is_open:
        raise ValidationError(CLOSED_CASE)


def _task_owner(case: Case, *preferred: User | None) -> User | None:
    """Who gets a task the safeguarding work sets in motion: the first of ``preferred``
    who may own tasks on the case, then the case's officer, then any CME manager."""
    for user in (*preferred, case.assigned_officer):
        if user is not None and may_own_task(user, case):
            return user
    managers = User.objects.filter(
        is_active=True, is_service_account=False, roles__role=Role.CME_MANAGER
    ).order_by("pk")
    return next((m for m in managers if may_own_task(m, case)), None)


def _task_once(
    *, actor: Actor, case: Case, title: str, owner: User | None, due: dt.date, details: str = ""
) -> Task | None:
    """A task, unless the same one is already open on the case (screenings repeat)."""
    if owner is None:
        return None
    if Task.objects.filter(case=case, title=title, status=TaskStatus.OPEN).exists():
        return None
    return task_create(
        actor=actor,
        case=case,
        title=title,
        owner=owner,
        due=due,
        details=details,
        kind=TaskKind.RISK_ASSESSMENT,
    )


def _answers_errors(
    answers: Mapping[str, tuple[str, str]], labels: Mapping[str, str], *, why: str
) -> dict[str, str]:
    """Each question (``labels``: key → text) answered yes, no or unknown; ``why`` given
    for every yes."""
    errors: dict[str, str] = {}
    for key, label in labels.items():
        answer, details = answers.get(key, ("", ""))
        if answer not in Answer.values:
            errors[key] = f"Select yes, no or unknown for “{label}”"
        elif answer == Answer.YES and not details.strip():
            errors[f"{key}_details"] = f"Enter the {why} for “{label}”"
    return errors


# --- vulnerability screening (forms.md §4) -------------------------------------------------


@transaction.atomic
def screening_record(
    *, actor: Actor, case: Case, answers: Mapping[str, tuple[str, str]]
) -> VulnerabilityScreening:
    """Record a vulnerability screening: every question answered yes, no or unknown, with
    details when yes. The first is the intake screening, later ones are updates; earlier
    ones are kept. Its recommendations become tasks due today."""
    case = Case.objects.select_related("child", "assigned_officer").get(pk=case.pk)
    if actor.user is not None and not selectors.may_screen(actor.user, case):
        raise PermissionDenied("You cannot record a vulnerability screening on this case.")
    _require_open(case)
    errors = _answers_errors(
        answers, {k: q.text for k, q in QUESTIONS_BY_KEY.items()}, why="details"
    )
    if unknown := sorted(set(answers) - set(QUESTIONS_BY_KEY)):
        errors["__all__"] = f"These are not questions of the screening: {', '.join(unknown)}"
    if errors:
        raise ValidationError(errors)
    stage = (
        ScreeningStage.UPDATE
        if VulnerabilityScreening.objects.filter(case=case).exists()
        else ScreeningStage.INTAKE
    )
    screening = VulnerabilityScreening(case=case, stage=stage, recorded_by=actor.user)
    screening.full_clean()
    screening.save()
    ScreeningAnswer.objects.bulk_create(
        ScreeningAnswer(
            screening=screening,
            question=q.key,
            answer=answers[q.key][0],
            details=answers[q.key][1].strip()[:2000],
        )
        for q in SCREENING_QUESTIONS
    )
    plain = {k: v[0] for k, v in answers.items()}
    recommendations = screening_recommendations(plain)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=screening,
        child_id=case.child_id,
        summary=f"Recorded a vulnerability screening on {case.reference}",
        changes={
            "after": {
                **snapshot(screening),
                "answers": {q.key: list(answers[q.key]) for q in SCREENING_QUESTIONS},
            }
        },
    )
    recommended = "; ".join(r.title for r in recommendations) or "no referral"
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"Vulnerability screening ({screening.get_stage_display().lower()}): "
        f"recommends {recommended}.",
    )
    owner = _task_owner(case, actor.user)
    today = timezone.localdate()
    for r in recommendations:
        _task_once(
            actor=actor,
            case=case,
            title=r.title,
            owner=owner,
            due=today + dt.timedelta(days=r.due_in_days),
            details=r.text + " Because: " + "; ".join(r.because),
        )
    if case.child.in_care:
        virtual_school_tell(actor=actor, case=case)
    return screening


# --- risk assessment (forms.md §3) ---------------------------------------------------------


@transaction.atomic
def risk_assessment_record(
    *,
    actor: Actor,
    case: Case,
    date_of_assessment: dt.date | None,
    factors: Mapping[int, tuple[str, str]],
    summary: str,
    risk_level: RiskLevel | str,
    sent_to: Iterable[str] = (),
) -> RiskAssessment:
    """Record a risk assessment completed by ``actor``. It waits for a manager (another
    person) to authorise it; supporting information is mandatory for every Yes."""
    case = Case.objects.select_related("child", "assigned_officer").get(pk=case.pk)
    if actor.user is not None and not selectors.may_assess(actor.user, case):
        raise PermissionDenied("Only CME officers and managers can record a risk assessment.")
    _require_open(case)
    keyed = {f"factor_{int(f)}": v for f, v in factors.items()}
    errors = _answers_errors(
        keyed, {f"factor_{f.value}": f.label for f in RiskFactor}, why="supporting information"
    )
    # A factor the form does not have (a sixteenth) is refused, never silently dropped.
    unknown = sorted(int(f) for f in factors if int(f) not in RiskFactor.values)
    if unknown:
        errors["factors"] = (
            f"The risk assessment has {len(RiskFactor)} factors, numbered 1 to "
            f"{len(RiskFactor)}: there is no factor {', '.join(str(n) for n in unknown)}"
        )
    today = timezone.localdate()
    if date_of_assessment is None:
        errors["date_of_assessment"] = "Enter the date of the assessment"
    elif date_of_assessment > today:
        errors["date_of_assessment"] = "The date of the assessment must be today or in the past"
    if not summary.strip():
        errors["summary"] = "Enter a summary of the referral"
    if risk_level not in RiskLevel.values:
        errors["risk_level"] = "Select the risk level: low, medium or high"
    sent = sorted(set(sent_to))
    if any(s not in SentTo.values for s in sent):
        errors["sent_to"] = "Select who the assessment is sent to from the list"
    if errors:
        raise ValidationError(errors)
    assert date_of_assessment is not None
    assessment = RiskAssessment(
        case=case,
        date_of_assessment=date_of_assessment,
        summary=summary.strip(),
        risk_level=risk_level,
        sent_to=sent,
        officer=actor.user,
    )
    assessment.full_clean()
    assessment.save()
    RiskFactorAnswer.objects.bulk_create(
        RiskFactorAnswer(
            assessment=assessment,
            factor=f.value,
            answer=keyed[f"factor_{f.value}"][0],
            supporting_information=keyed[f"factor_{f.value}"][1].strip()[:4000],
        )
        for f in RiskFactor
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=assessment,
        child_id=case.child_id,
        summary=f"Recorded a {assessment.get_risk_level_display().lower()} risk assessment "
        f"on {case.reference}",
        changes={
            "after": {
                **snapshot(assessment),
                "factors": {str(f.value): list(keyed[f"factor_{f.value}"]) for f in RiskFactor},
            }
        },
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"Risk assessment recorded by {_name(actor.user)}: "
        f"{assessment.get_risk_level_display().lower()} risk. Waiting for a manager to "
        "authorise it.",
    )
    notification_send(
        key="risk_assessment_awaiting",
        recipients=[m for m in users_with_role(Role.CME_MANAGER) if m.pk != assessment.officer_id],
        reference=case.reference,
        personalisation={
            "level": assessment.get_risk_level_display().lower(),
            "officer": _name(actor.user),
        },
        obj=assessment,
        child_id=case.child_id,
        child_name=case.child.full_name,
        link=reverse("safeguarding:case", args=[case.pk]),
        actor=actor,
    )
    if case.child.in_care:
        virtual_school_tell(actor=actor, case=case)
    return assessment


@transaction.atomic
def risk_assessment_authorise(*, actor: Actor, assessment: RiskAssessment) -> RiskAssessment:
    """A CME manager, not the officer who completed it, authorises the assessment. The
    actions for its level become tasks (high: advice from the education safeguarding team
    first, due today; the rest after)."""
    locked = (
        RiskAssessment.objects.select_for_update(of=("self",))
        .select_related("case", "case__child", "case__assigned_officer", "officer")
        .get(pk=assessment.pk)
    )
    user = actor.user
    if user is None or not (user.is_active and user.has_role(Role.CME_MANAGER)):
        raise PermissionDenied(ONLY_MANAGERS_AUTHORISE)
    if locked.officer_id == user.pk:
        raise ValidationError(SELF_AUTHORISATION)
    if locked.is_authorised:
        raise ValidationError(ALREADY_AUTHORISED)
    case = locked.case
    _require_open(case)
    audited_update(
        actor=actor,
        instance=locked,
        changes={"authorised_by": user, "authorised_at": timezone.now()},
        child_id=case.child_id,
        summary=f"Authorised the risk assessment on {case.reference}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"Risk assessment ({locked.get_risk_level_display().lower()} risk) of "
        f"{govuk_date(locked.date_of_assessment)} authorised by {_name(user)}.",
    )
    owner = _task_owner(case, locked.officer)
    today = timezone.localdate()
    for action in risk_level_actions(locked.risk_level):
        _task_once(
            actor=actor,
            case=case,
            title=action.title,
            owner=owner,
            due=today + dt.timedelta(days=action.due_in_days),
            details=f"From the {locked.get_risk_level_display().lower()} risk assessment "
            f"authorised on {govuk_date(today)}.",
        )
    return locked


# --- dormant reviews (rules.md §6) ---------------------------------------------------------


@transaction.atomic
def dormant_review_record(
    *,
    actor: Actor,
    case: Case,
    reviewed_on: dt.date | None,
    checked: str,
    result: str,
    risk_level_holds: bool | None,
    reopen_tracking: bool = False,
) -> DormantReview:
    """Record a monthly review of a dormant case. If the risk level no longer holds, a new
    assessment becomes a task; with ``reopen_tracking`` the case goes back to tracking, the
    result being the new information."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if actor.user is not None and not selectors.may_assess(actor.user, case):
        raise PermissionDenied("Only CME officers and managers can review a dormant case.")
    if case.state != CaseState.DORMANT:
        raise ValidationError(
            f"Only a dormant case has monthly reviews; this case is "
            f"{case.get_state_display().lower()}."
        )
    errors: dict[str, str] = {}
    since = selectors.dormant_since(case)
    if reviewed_on is None:
        errors["reviewed_on"] = "Enter the date of the review"
    elif reviewed_on > timezone.localdate():
        errors["reviewed_on"] = "The date of the review must be today or in the past"
    elif since is not None and reviewed_on < since:
        errors["reviewed_on"] = (
            f"The date of the review cannot be before the case went dormant ({govuk_date(since)})"
        )
    if not checked.strip():
        errors["checked"] = "Enter what you checked"
    if not result.strip():
        errors["result"] = "Enter the result of the review"
    if risk_level_holds is None:
        errors["risk_level_holds"] = "Select whether the risk level still holds"
    if errors:
        raise ValidationError(errors)
    assert reviewed_on is not None
    review = DormantReview(
        case=case,
        reviewed_on=reviewed_on,
        checked=checked.strip(),
        result=result.strip(),
        risk_level_holds=bool(risk_level_holds),
        reopened_tracking=reopen_tracking,
        by=actor.user,
    )
    review.full_clean()
    review.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=review,
        child_id=case.child_id,
        summary=f"Recorded a dormant review on {case.reference}",
        changes={"after": snapshot(review)},
    )
    holds = "the risk level still holds" if risk_level_holds else "the risk level no longer holds"
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CHECK,
        summary=f"Dormant review of {govuk_date(reviewed_on)}: checked {review.checked}. "
        f"Result: {review.result}. {holds[0].upper()}{holds[1:]}.",
    )
    if not risk_level_holds and not reopen_tracking:
        _task_once(
            actor=actor,
            case=case,
            title=NEW_ASSESSMENT_NEEDED,
            owner=_task_owner(case, actor.user),
            due=timezone.localdate() + dt.timedelta(days=5),
            details=f"Dormant review of {govuk_date(reviewed_on)}: {review.result}",
        )
    if reopen_tracking:
        case_reopen_tracking(actor=actor, case=case, new_information=review.result)
    return review


# --- children in care (README "Case lifecycle") --------------------------------------------


@transaction.atomic
def virtual_school_tell(*, actor: Actor, case: Case) -> VirtualSchoolNotice:
    """Tell the Virtual School about a child in care on a CME case: a task for a Virtual
    School officer, who is shown as lead, and the rule that the child is not taken off roll
    until a new school admits them. Telling twice changes nothing."""
    case = Case.objects.select_related("child", "assigned_officer").get(pk=case.pk)
    existing = selectors.virtual_school_notice_for(case)
    if existing is not None:
        return existing
    if not case.child.in_care:
        raise ValidationError("The Virtual School leads only for a child in care.")
    _require_open(case)
    officers = User.objects.filter(
        is_active=True, is_service_account=False, roles__role=Role.VIRTUAL_SCHOOL
    ).order_by("pk")
    lead = next((u for u in officers if may_own_task(u, case)), None)
    notice = VirtualSchoolNotice(case=case, lead=lead, told_by=actor.user)
    notice.full_clean()
    notice.save()
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=notice,
        child_id=case.child_id,
        summary=f"Told the Virtual School about {case.reference}",
        changes={"after": snapshot(notice)},
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.ASSIGNMENT,
        summary="Child in care: the Virtual School was told and leads"
        + (f" ({_name(lead)})" if lead else "")
        + ". The child must not be taken off roll until a new school has admitted them.",
    )
    today = timezone.localdate()
    if lead is not None:
        _task_once(actor=actor, case=case, title=VIRTUAL_SCHOOL_LEAD, owner=lead, due=today)
    else:
        _task_once(
            actor=actor,
            case=case,
            title=VIRTUAL_SCHOOL_UNASSIGNED,
            owner=_task_owner(case, actor.user),
            due=today,
        )
    return notice
