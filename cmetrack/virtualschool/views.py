"""Virtual School pages: the dashboard, in-care records and placement moves, the alerts,
and personal education plans (with printable and PDF forms).

Thin: a scoped selector or a service, a presenter, a template. A record or plan out of the
user's scope is a 404, exactly as one that does not exist; seeing but not being allowed to
change is a 403. Opening a record or a plan writes a ``view`` audit row; the PDF an
``export`` row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to, search_cases
from cmetrack.detection.models import Alert
from cmetrack.kit.pdf import PdfUnavailable, render_pdf
from cmetrack.people.models import Child
from cmetrack.people.selectors import children_visible_to

from . import selectors, services
from .forms import (
    CicRecordForm,
    DismissForm,
    PepForm,
    PepReviewForm,
    PlacementForm,
    PlacementSchoolForm,
    ResolveForm,
)
from .models import ChildInCare, PersonalEducationPlan, Placement, PlacementAlert
from .presenters import DashboardPresenter, FormPresenter, PepPresenter, RecordPresenter

PRINT_CSS = Path(__file__).parent / "static" / "virtualschool" / "print.css"
LIST_LIMIT = 200


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_reader(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.may_read_cic(user):
        raise Http404("No such page")
    return user


def _record(request: HttpRequest, record_id: int, *, audited: bool = False) -> ChildInCare:
    user = _require_reader(request)
    try:
        if audited:
            return selectors.cic_record_get_for_view(
                actor=Actor.from_request(request), record_id=record_id
            )
        return selectors.cic_records_visible_to(user).get(pk=record_id)
    except ChildInCare.DoesNotExist as exc:
        raise Http404("No such record") from exc


def _pep(request: HttpRequest, pep_id: int, *, what: str = "") -> PersonalEducationPlan:
    user = _require_reader(request)
    try:
        if what:
            return selectors.pep_get_for_view(
                actor=Actor.from_request(request), pep_id=pep_id, what=what
            )
        return selectors.pep_get(user=user, pep_id=pep_id)
    except PersonalEducationPlan.DoesNotExist as exc:
        raise Http404("No such plan") from exc


def _success(request: HttpRequest) -> list[str]:
    return [str(m) for m in messages.get_messages(request)]


def _form_page(
    request: HttpRequest,
    template: str,
    presenter: FormPresenter,
    *,
    invalid: bool | None = None,
    **context: Any,
) -> HttpResponse:
    if invalid is None:
        invalid = bool(presenter.form.is_bound and presenter.form.errors)
    context.setdefault("errors", presenter.errors)
    return render(request, template, {"p": presenter, **context}, status=400 if invalid else 200)


def _record_url(record: ChildInCare) -> str:
    return reverse("virtualschool:record", args=[record.pk])


# --- Dashboard -------------------------------------------------------------------------------


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    user = _require_reader(request)
    reference = request.GET.get("case", "").strip()
    if reference:
        return _find_case(request, user, reference)
    presenter = DashboardPresenter(
        viewer=user,
        today=timezone.localdate(),
        cases=selectors.in_care_cme_cases(user, today=timezone.localdate()),
        placement_alerts=list(selectors.open_placement_alerts(user)[:LIST_LIMIT]),
        attendance_alerts=list(selectors.in_care_attendance_alerts(user)[:LIST_LIMIT]),
        without_upn=list(selectors.records_without_upn(user)[:LIST_LIMIT]),
        without_record=list(selectors.children_without_record(user)[:LIST_LIMIT]),
        records_total=selectors.current_records(user).count(),
        success=_success(request),
    )
    return render(request, "virtualschool/dashboard.jinja", {"p": presenter})


def _find_case(request: HttpRequest, user: User, reference: str) -> HttpResponse:
    """The dashboard's "record a child in care" box: a case reference → that child."""

    case = search_cases(cases_visible_to(user), reference).first()
    if case is None:
        messages.info(request, f"No case {reference} that you can see")
        return HttpResponseRedirect(reverse("virtualschool:dashboard"))
    record = ChildInCare.objects.filter(child_id=case.child_id).first()
    if record is not None:
        return HttpResponseRedirect(_record_url(record))
    return HttpResponseRedirect(reverse("virtualschool:record-new", args=[case.child_id]))


@login_required
@require_GET
def records(request: HttpRequest) -> HttpResponse:
    user = _require_reader(request)
    rows = list(selectors.current_records(user)[:LIST_LIMIT])
    return render(
        request,
        "virtualschool/records.jinja",
        {"records": rows, "total": selectors.current_records(user).count()},
    )


# --- In-care records ------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def record_new(request: HttpRequest, child_id: int) -> HttpResponse:
    user = _require_reader(request)
    if not selectors.may_write_cic(user):
        raise PermissionDenied(services.NOT_ALLOWED_CIC)
    try:
        child = children_visible_to(user).get(pk=child_id)
    except Child.DoesNotExist as exc:
        raise Http404("No such child") from exc
    existing = ChildInCare.objects.filter(child=child).first()
    if existing is not None:
        return HttpResponseRedirect(_record_url(existing))
    form = CicRecordForm(request.POST or None, initial={"upn": child.upn or ""})
    placement = PlacementForm(request.POST or None, prefix="placement")
    with_placement = request.POST.get("with_placement") == "yes"
    if (
        request.method == "POST"
        and form.is_valid()
        and (not with_placement or placement.is_valid())
    ):
        data = form.service_kwargs()
        data.pop("ceased_on", None)
        try:
            record = services.cic_record_create(
                actor=Actor.from_request(request),
                child=child,
                placement=placement.service_kwargs() if with_placement else None,
                **data,
            )
        except ValidationError as exc:
            _split_errors(exc, form, placement)
        else:
            messages.success(request, "In-care record saved: the Virtual School leads")
            return HttpResponseRedirect(_record_url(record))
    presenter = FormPresenter(
        title="Record that a child is in care",
        form=form,
        back_href=reverse("virtualschool:dashboard"),
        caption=child.full_name,
    )
    errors = presenter.errors + (FormPresenter("", placement, "").errors if with_placement else [])
    return _form_page(
        request,
        "virtualschool/record_form.jinja",
        presenter,
        placement=placement,
        with_placement=with_placement,
        errors=errors,
        editing=False,
        action=reverse("virtualschool:record-new", args=[child.pk]),
        invalid=bool(errors),
    )


def _split_errors(exc: ValidationError, form: CicRecordForm, placement: PlacementForm) -> None:
    if not hasattr(exc, "error_dict"):
        form.add_service_errors(exc)
        return
    for name, problems in exc.message_dict.items():
        target = form if name in form.fields else placement if name in placement.fields else form
        for message in problems:
            target.add_error(name if name in target.fields else None, message)


@login_required
@require_GET
def record_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    record = _record(request, record_id, audited=True)
    user = _user(request)
    presenter = RecordPresenter(
        record=record,
        viewer=user,
        placements=list(selectors.placements_for(record)),
        peps=list(selectors.peps_for_record(record)),
        open_cases=list(selectors.open_cme_cases_for_record(user, record)),
        success=_success(request),
    )
    return render(request, "virtualschool/record.jinja", {"p": presenter})


@login_required
@require_http_methods(["GET", "POST"])
def record_edit(request: HttpRequest, record_id: int) -> HttpResponse:
    record = _record(request, record_id)
    if not selectors.may_write_cic(_user(request)):
        raise PermissionDenied(services.NOT_ALLOWED_CIC)
    initial = {name: getattr(record, name) for name in services.RECORD_FIELDS}
    initial |= {
        "responsible_authority": record.responsible_authority_id,
        "lead_officer": record.lead_officer_id,
        "upn": record.child.upn or "",
    }
    form = CicRecordForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.cic_record_update(
                actor=Actor.from_request(request), record=record, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "In-care record changed")
            return HttpResponseRedirect(_record_url(record))
    presenter = FormPresenter(
        title="Change the in-care record",
        form=form,
        back_href=_record_url(record),
        caption=record.child.full_name,
    )
    return _form_page(
        request,
        "virtualschool/record_form.jinja",
        presenter,
        placement=None,
        with_placement=False,
        errors=presenter.errors,
        editing=True,
        action=reverse("virtualschool:record-edit", args=[record.pk]),
    )


# --- Placements ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def placement_new(request: HttpRequest, record_id: int) -> HttpResponse:
    record = _record(request, record_id)
    if not selectors.may_write_cic(_user(request)):
        raise PermissionDenied(services.NOT_ALLOWED_CIC)
    current = selectors.current_placement(record)
    initial: dict[str, Any] = {}
    if current is not None:
        initial = {"placing_authority": current.placing_authority_id}
    else:
        initial = {"placing_authority": record.responsible_authority_id}
    form = PlacementForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            move = services.placement_change(
                actor=Actor.from_request(request), record=record, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            if move.alert is not None:
                messages.success(
                    request,
                    f"Placement move recorded. Virtual School alert: "
                    f"{move.alert.get_reason_display().lower()}",
                )
            else:
                messages.success(request, "Placement move recorded")
            return HttpResponseRedirect(_record_url(record))
    presenter = FormPresenter(
        title="Record a change of placement",
        form=form,
        back_href=_record_url(record),
        caption=record.child.full_name,
        extra={"current": current},
    )
    return _form_page(request, "virtualschool/placement_form.jinja", presenter, record=record)


@login_required
@require_http_methods(["GET", "POST"])
def placement_school(request: HttpRequest, placement_id: int) -> HttpResponse:
    user = _require_reader(request)
    try:
        placement = Placement.objects.select_related("record__child", "school").get(
            pk=placement_id, record__in=selectors.cic_records_visible_to(user)
        )
    except Placement.DoesNotExist as exc:
        raise Http404("No such placement") from exc
    if not selectors.may_write_cic(user):
        raise PermissionDenied(services.NOT_ALLOWED_CIC)
    form = PlacementSchoolForm(
        request.POST or None,
        initial={
            "school": placement.school_id,
            "school_name": placement.school_name,
            "school_admitted_on": placement.school_admitted_on,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.placement_record_school(
                actor=Actor.from_request(request), placement=placement, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "School place recorded")
            return HttpResponseRedirect(_record_url(placement.record))
    presenter = FormPresenter(
        title="Record the school of the placement",
        form=form,
        back_href=_record_url(placement.record),
        caption=placement.record.child.full_name,
    )
    return _form_page(
        request, "virtualschool/placement_school.jinja", presenter, placement=placement
    )


# --- Alerts ---------------------------------------------------------------------------------


@login_required
@require_POST
def placement_alert_resolve(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _require_reader(request)
    try:
        alert = selectors.open_placement_alerts(user).get(pk=alert_id)
    except PlacementAlert.DoesNotExist as exc:
        raise Http404("No such alert") from exc
    form = ResolveForm(request.POST)
    resolution = form.cleaned_data["resolution"] if form.is_valid() else ""
    try:
        services.placement_alert_resolve(
            actor=Actor.from_request(request), alert=alert, resolution=resolution
        )
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, "Placement alert resolved")
    return HttpResponseRedirect(reverse("virtualschool:dashboard"))


def _attendance_alert(request: HttpRequest, alert_id: int) -> Alert:
    user = _require_reader(request)
    try:
        return selectors.in_care_attendance_alert_get(user, alert_id)
    except Alert.DoesNotExist as exc:
        raise Http404("No such alert") from exc


@login_required
@require_POST
def attendance_alert_acknowledge(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _attendance_alert(request, alert_id)
    try:
        services.attendance_alert_acknowledge(actor=Actor.from_request(request), alert=alert)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, "Attendance alert acknowledged")
    return HttpResponseRedirect(reverse("virtualschool:dashboard"))


@login_required
@require_POST
def attendance_alert_dismiss(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _attendance_alert(request, alert_id)
    form = DismissForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        services.attendance_alert_dismiss(
            actor=Actor.from_request(request), alert=alert, reason=reason
        )
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, "Attendance alert dismissed")
    return HttpResponseRedirect(reverse("virtualschool:dashboard"))


# --- Personal education plans ----------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def pep_new(request: HttpRequest, record_id: int) -> HttpResponse:
    record = _record(request, record_id)
    user = _user(request)
    if not selectors.may_work_vs(user):
        raise PermissionDenied(services.NOT_ALLOWED_VS)
    cases = selectors.open_cme_cases_for_record(user, record).order_by("-date_referred")
    initial: dict[str, Any] = {"meeting_on": timezone.localdate()}
    first = cases.first()
    if first is not None:
        initial["case"] = first.pk
    form = PepForm(request.POST or None, cases=cases, initial=initial)
    if request.method == "POST" and form.is_valid():
        case: Case = form.cleaned_data["case"]
        try:
            pep = services.pep_create(
                actor=Actor.from_request(request),
                record=record,
                case=case,
                **form.service_kwargs(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Personal education plan saved")
            return HttpResponseRedirect(reverse("virtualschool:pep", args=[pep.pk]))
    presenter = FormPresenter(
        title="Personal education plan",
        form=form,
        back_href=_record_url(record),
        caption=record.child.full_name,
        extra={"no_cases": first is None},
    )
    return _form_page(
        request,
        "virtualschool/pep_form.jinja",
        presenter,
        action=reverse("virtualschool:pep-new", args=[record.pk]),
        editing=False,
    )


@login_required
@require_GET
def pep_detail(request: HttpRequest, pep_id: int) -> HttpResponse:
    pep = _pep(request, pep_id, what="Viewed")
    presenter = PepPresenter(pep=pep, viewer=_user(request), success=_success(request))
    return render(request, "virtualschool/pep.jinja", {"p": presenter})


@login_required
@require_http_methods(["GET", "POST"])
def pep_edit(request: HttpRequest, pep_id: int) -> HttpResponse:
    pep = _pep(request, pep_id)
    if not selectors.may_work_vs(_user(request)):
        raise PermissionDenied(services.NOT_ALLOWED_VS)
    initial: dict[str, Any] = {name: getattr(pep, name) for name in services.PEP_FIELDS}
    for t in pep.targets.all():
        for name in services.TARGET_FIELDS:
            initial[f"{t.area}_{name}"] = getattr(t, name)
    form = PepForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.pep_update(actor=Actor.from_request(request), pep=pep, **form.service_kwargs())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Personal education plan changed")
            return HttpResponseRedirect(reverse("virtualschool:pep", args=[pep.pk]))
    presenter = FormPresenter(
        title="Change the personal education plan",
        form=form,
        back_href=reverse("virtualschool:pep", args=[pep.pk]),
        caption=f"{pep.record.child.full_name}, {pep.case.reference}",
        extra={"no_cases": False},
    )
    return _form_page(
        request,
        "virtualschool/pep_form.jinja",
        presenter,
        action=reverse("virtualschool:pep-edit", args=[pep.pk]),
        editing=True,
    )


@login_required
@require_http_methods(["GET", "POST"])
def pep_review(request: HttpRequest, pep_id: int) -> HttpResponse:
    pep = _pep(request, pep_id)
    if not selectors.may_work_vs(_user(request)):
        raise PermissionDenied(services.NOT_ALLOWED_VS)
    form = PepReviewForm(request.POST or None, initial={"reviewed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.pep_review_record(
                actor=Actor.from_request(request), pep=pep, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "PEP review recorded")
            return HttpResponseRedirect(reverse("virtualschool:pep", args=[pep.pk]))
    presenter = FormPresenter(
        title="Review the personal education plan",
        form=form,
        back_href=reverse("virtualschool:pep", args=[pep.pk]),
        caption=f"{pep.record.child.full_name}, {pep.case.reference}",
        extra={"pep": pep},
    )
    return _form_page(request, "virtualschool/pep_review.jinja", presenter)


def _printable(request: HttpRequest, pep: PersonalEducationPlan, *, for_pdf: bool) -> str:
    presenter = PepPresenter(pep=pep, viewer=_user(request), for_pdf=for_pdf)
    return render_to_string(
        "virtualschool/pep_print.jinja", {"p": presenter, "for_pdf": for_pdf}, request=request
    )


@login_required
@require_GET
def pep_print(request: HttpRequest, pep_id: int) -> HttpResponse:
    pep = _pep(request, pep_id, what="Viewed (printable)")
    return HttpResponse(_printable(request, pep, for_pdf=False))


@login_required
@require_GET
def pep_pdf(request: HttpRequest, pep_id: int) -> HttpResponse:
    pep = _pep(request, pep_id)
    try:
        pdf = render_pdf(_printable(request, pep, for_pdf=True), stylesheet=PRINT_CSS)
    except PdfUnavailable:
        return render(request, "virtualschool/pdf_unavailable.jinja", {"pep": pep}, status=503)
    selectors.pep_get_for_view(actor=Actor.from_request(request), pep_id=pep.pk, what="Exported")
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"pep-{pep.case.reference}-{pep.meeting_on}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
