"""Safeguarding pages: the case's safeguarding record, the screening, risk assessments
(with their printable and PDF forms), making the case dormant, monthly reviews, and the
review queues.

Thin: a scoped selector or a service, a presenter, a template. A case the user may not
see, or any case for a role that never sees safeguarding, is 404. Reading the record
writes a ``view`` audit row; the PDF an ``export`` row.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.lifecycle import TransitionNotAllowed
from cmetrack.cases.models import Case
from cmetrack.cases.services import case_make_dormant
from cmetrack.kit.dates import govuk_date
from cmetrack.rules import next_dormant_review

from . import selectors, services
from .forms import DormantForm, ReviewForm, RiskAssessmentForm, ScreeningForm, date_initial
from .models import RiskAssessment
from .pdf import PdfUnavailable, render_pdf
from .presenters import (
    ReviewFormPresenter,
    ReviewQueuePresenter,
    RiskAssessmentPresenter,
    RiskFormPresenter,
    SafeguardingPresenter,
    ScreeningFormPresenter,
    due_rows,
    emergency_for,
    to_authorise_rows,
)
from .rules import SCREENING_QUESTIONS, Answer

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_for_safeguarding(user=_user(request), case_id=case_id)
    except Case.DoesNotExist as exc:
        raise Http404("No such case") from exc


def _assessment(request: HttpRequest, case_id: int, assessment_id: int) -> RiskAssessment:
    try:
        return selectors.risk_assessment_for(
            user=_user(request), case_id=case_id, assessment_id=assessment_id
        )
    except RiskAssessment.DoesNotExist as exc:
        raise Http404("No such risk assessment") from exc


def _audit_view(request: HttpRequest, case: Case, what: str, action: AuditAction) -> None:
    audit_record(
        actor=Actor.from_request(request),
        action=action,
        obj=case,
        child_id=case.child_id,
        summary=f"{what} of {case.reference}",
    )


def _case_url(case: Case) -> str:
    return reverse("safeguarding:case", args=[case.pk])


def _render_case(request: HttpRequest, case: Case, *, dormant_error: str = "") -> HttpResponse:
    user = _user(request)
    presenter = SafeguardingPresenter(
        case=case,
        viewer=user,
        screenings=list(selectors.screenings_for(case)),
        assessments=list(selectors.risk_assessments_for(case)),
        reviews=list(selectors.reviews_for(case)),
        notice=selectors.virtual_school_notice_for(case),
        review_base=selectors.review_base(case),
        today=timezone.localdate(),
        success=[str(m) for m in messages.get_messages(request)],
    )
    _audit_view(request, case, "Viewed the safeguarding record", AuditAction.VIEW)
    return render(
        request,
        "safeguarding/case.jinja",
        {"presenter": presenter, "emergency": presenter.emergency, "dormant_error": dormant_error},
        status=400 if dormant_error else 200,
    )


@login_required
@require_GET
def case_safeguarding(request: HttpRequest, case_id: int) -> HttpResponse:
    return _render_case(request, _case(request, case_id))


@login_required
@require_http_methods(["GET", "POST"])
def screening(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    if not selectors.may_screen(_user(request), case):
        raise PermissionDenied("You cannot record a vulnerability screening on this case.")
    latest = selectors.latest_screening(case)
    if request.method == "POST":
        form = ScreeningForm(request.POST)
        if form.is_valid():
            try:
                services.screening_record(
                    actor=Actor.from_request(request), case=case, answers=form.answers()
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Vulnerability screening recorded")
                return HttpResponseRedirect(_case_url(case))
    else:
        initial: dict[str, str] = {}
        if latest is not None:
            for a in latest.answers.all():
                initial[a.question] = a.answer
                initial[f"{a.question}_details"] = a.details
        else:
            # What the child's record already says.
            if case.child.child_protection_plan:
                initial["cp_plan"] = Answer.YES
            if case.child.in_care:
                initial["looked_after"] = Answer.YES
        form = ScreeningForm(initial=initial)
    presenter = ScreeningFormPresenter(case=case, form=form, emergency=emergency_for(case, latest))
    return render(
        request,
        "safeguarding/screening.jinja",
        {
            "presenter": presenter,
            "emergency": presenter.emergency,
            "questions": SCREENING_QUESTIONS,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def risk_assessment_new(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    user = _user(request)
    if not selectors.may_assess(user, case):
        raise PermissionDenied("Only CME officers and managers can record a risk assessment.")
    if request.method == "POST":
        form = RiskAssessmentForm(request.POST)
        if form.is_valid():
            try:
                assessment = services.risk_assessment_record(
                    actor=Actor.from_request(request), case=case, **form.service_kwargs()
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, "Risk assessment recorded: a manager must authorise it")
                return HttpResponseRedirect(
                    reverse("safeguarding:risk-assessment", args=[case.pk, assessment.pk])
                )
    else:
        form = RiskAssessmentForm(
            initial={"date_of_assessment": date_initial(timezone.localdate())}
        )
    presenter = RiskFormPresenter(
        case=case,
        viewer=user,
        form=form,
        emergency=emergency_for(case, selectors.latest_screening(case)),
    )
    return render(
        request,
        "safeguarding/risk_assessment_form.jinja",
        {"presenter": presenter, "emergency": presenter.emergency},
        status=400 if form.is_bound and form.errors else 200,
    )


def _render_assessment(
    request: HttpRequest, assessment: RiskAssessment, *, error: str = ""
) -> HttpResponse:
    case = assessment.case
    presenter = RiskAssessmentPresenter(
        case=case,
        viewer=_user(request),
        assessment=assessment,
        emergency=emergency_for(case, selectors.latest_screening(case)),
        authorise_error=error,
        success=[str(m) for m in messages.get_messages(request)],
    )
    _audit_view(request, case, "Viewed a risk assessment", AuditAction.VIEW)
    return render(
        request,
        "safeguarding/risk_assessment.jinja",
        {"presenter": presenter, "emergency": presenter.emergency},
        status=400 if error else 200,
    )


@login_required
@require_GET
def risk_assessment_detail(request: HttpRequest, case_id: int, assessment_id: int) -> HttpResponse:
    return _render_assessment(request, _assessment(request, case_id, assessment_id))


@login_required
@require_POST
def risk_assessment_authorise(
    request: HttpRequest, case_id: int, assessment_id: int
) -> HttpResponse:
    assessment = _assessment(request, case_id, assessment_id)
    try:
        services.risk_assessment_authorise(actor=Actor.from_request(request), assessment=assessment)
    except ValidationError as exc:
        return _render_assessment(
            request, _assessment(request, case_id, assessment_id), error=" ".join(exc.messages)
        )
    messages.success(request, "Risk assessment authorised: its actions are now tasks")
    return HttpResponseRedirect(
        reverse("safeguarding:risk-assessment", args=[case_id, assessment_id])
    )


def _printable(request: HttpRequest, assessment: RiskAssessment, *, for_pdf: bool) -> str:
    presenter = RiskAssessmentPresenter(
        case=assessment.case, viewer=_user(request), assessment=assessment
    )
    return render_to_string(
        "safeguarding/risk_assessment_print.jinja",
        {"presenter": presenter, "for_pdf": for_pdf},
        request=request,
    )


@login_required
@require_GET
def risk_assessment_print(request: HttpRequest, case_id: int, assessment_id: int) -> HttpResponse:
    assessment = _assessment(request, case_id, assessment_id)
    _audit_view(request, assessment.case, "Viewed a risk assessment (printable)", AuditAction.VIEW)
    return HttpResponse(_printable(request, assessment, for_pdf=False))


@login_required
@require_GET
def risk_assessment_pdf(request: HttpRequest, case_id: int, assessment_id: int) -> HttpResponse:
    assessment = _assessment(request, case_id, assessment_id)
    try:
        pdf = render_pdf(_printable(request, assessment, for_pdf=True))
    except PdfUnavailable:
        return render(request, "safeguarding/pdf_unavailable.jinja", status=503)
    _audit_view(request, assessment.case, "Exported a risk assessment as PDF", AuditAction.EXPORT)
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"risk-assessment-{assessment.case.reference}-{assessment.date_of_assessment}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def make_dormant(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    if not selectors.may_assess(_user(request), case):
        raise PermissionDenied("Only CME officers and managers can make a case dormant.")
    form = DormantForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        case_make_dormant(
            actor=Actor.from_request(request),
            case=case,
            reason=reason or "Not found after every avenue; risk assessed and authorised.",
        )
    except TransitionNotAllowed as exc:
        return _render_case(request, case, dormant_error=exc.message)
    messages.success(request, "The case is dormant: review it every month")
    return HttpResponseRedirect(_case_url(case))


@login_required
@require_http_methods(["GET", "POST"])
def review_new(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    if not selectors.may_assess(_user(request), case):
        raise PermissionDenied("Only CME officers and managers can review a dormant case.")
    if request.method == "POST":
        form = ReviewForm(request.POST)
        if form.is_valid():
            try:
                review = services.dormant_review_record(
                    actor=Actor.from_request(request), case=case, **form.service_kwargs()
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(
                    request,
                    "Review recorded: tracking resumed"
                    if review.reopened_tracking
                    else "Review recorded",
                )
                return HttpResponseRedirect(_case_url(case))
    else:
        form = ReviewForm(initial={"reviewed_on": date_initial(timezone.localdate())})
    base = selectors.review_base(case)
    status = f"This review was due on {govuk_date(next_dormant_review(base))}." if base else ""
    presenter = ReviewFormPresenter(
        case=case,
        form=form,
        emergency=emergency_for(case, selectors.latest_screening(case)),
        review_status=status,
    )
    return render(
        request,
        "safeguarding/review_form.jinja",
        {"presenter": presenter, "emergency": presenter.emergency},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def virtual_school_tell(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _case(request, case_id)
    if not selectors.may_screen(_user(request), case):
        raise PermissionDenied("You cannot tell the Virtual School about this case.")
    try:
        services.virtual_school_tell(actor=Actor.from_request(request), case=case)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, "The Virtual School has been told and leads on this child")
    return HttpResponseRedirect(_case_url(case))


@login_required
@require_GET
def reviews_queue(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_role(*selectors.REVIEW_QUEUE_ROLES):
        raise Http404("No such page")
    today = timezone.localdate()
    overdue = Paginator(selectors.overdue_reviews(user, today=today), PAGE_SIZE)
    page = overdue.get_page(request.GET.get("page"))
    week_qs = selectors.reviews_due_this_week(user, today=today)
    presenter = ReviewQueuePresenter(
        viewer=user,
        today=today,
        overdue=due_rows(list(page.object_list)),
        overdue_total=overdue.count,
        this_week=due_rows(list(week_qs[:PAGE_SIZE])),
        this_week_total=week_qs.count(),
    )
    return render(request, "safeguarding/reviews.jinja", {"presenter": presenter, "page": page})


@login_required
def to_authorise(request: HttpRequest) -> HttpResponse:
    """A manager's list of risk assessments waiting for authorisation, longest wait first."""
    user = _user(request)
    if not user.has_role(Role.CME_MANAGER):
        raise Http404("No such page")
    waiting = Paginator(selectors.risk_assessments_to_authorise(user), PAGE_SIZE)
    page = waiting.get_page(request.GET.get("page"))
    rows = to_authorise_rows(list(page.object_list), timezone.localdate())
    return render(
        request,
        "safeguarding/to_authorise.jinja",
        {"rows": rows, "total": waiting.count, "page": page},
    )
