"""Tracking pages: the case's tracking work, "Your tasks" and the no-contact queue.

Each form posts to its own address; on success the page is shown again with a success
banner (post/redirect/get), on error the tracking page is rendered with that form's
errors and nothing saved.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case

from . import selectors, services
from .forms import CheckForm, ConsultationForm, ContactForm, NoteForm, TaskForm, TrackingForm
from .models import AddressSearchSource, Task
from .presenters import (
    TaskRow,
    TrackingPresenter,
    case_page_url,
    consultation_rows,
    error_list,
    no_contact_rows,
)

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _case(request: HttpRequest, case_id: int) -> Case:
    try:
        return selectors.case_for_tracking(user=_user(request), case_id=case_id)
    except Case.DoesNotExist as exc:
        raise Http404("No such case") from exc


def _writable_case(request: HttpRequest, case_id: int) -> Case:
    case = _case(request, case_id)
    if not selectors.may_record_tracking(_user(request), case):
        raise PermissionDenied("You cannot record tracking work on this case.")
    return case


def _render_tracking(
    request: HttpRequest,
    case: Case,
    *,
    check_forms: dict[int, CheckForm] | None = None,
    contact_form: ContactForm | None = None,
    note_form: NoteForm | None = None,
    task_form: TaskForm | None = None,
) -> HttpResponse:
    """The tracking page; a form passed in (bound, with errors) replaces the blank one."""
    user = _user(request)
    can_record = selectors.may_record_tracking(user, case)
    checklist = selectors.checklist_for(case)
    presenter = TrackingPresenter(
        case=case,
        viewer=user,
        can_record=can_record,
        checklist=checklist,
        contacts=list(selectors.contacts_for(case)),
        notes=list(selectors.notes_for(case)),
        tasks=list(selectors.tasks_for_case(case)),
        check_forms=check_forms or {},
        contact_form=contact_form or ContactForm(),
        note_form=note_form or NoteForm(),
        task_form=task_form
        or (TaskForm(owners=selectors.task_owner_choices(case)) if can_record else None),
        success=[str(m) for m in messages.get_messages(request)],
    )
    return render(request, "casework/case_tracking.jinja", {"presenter": presenter})


def _tracking_url(case: Case, anchor: str) -> str:
    return reverse("casework:case-tracking", args=[case.pk]) + f"#{anchor}"


def _submit(
    request: HttpRequest,
    case: Case,
    form: TrackingForm,
    save: Callable[[dict[str, Any]], object],
    *,
    success: str,
    anchor: str,
) -> HttpResponse:
    """Validate, call the service, and either redirect with a banner or show the errors."""
    if form.is_valid():
        try:
            save(form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, success)
            return HttpResponseRedirect(_tracking_url(case, anchor))
    if isinstance(form, CheckForm):
        return _render_tracking(request, case, check_forms={form.source.pk: form})
    if isinstance(form, ContactForm):
        return _render_tracking(request, case, contact_form=form)
    if isinstance(form, NoteForm):
        return _render_tracking(request, case, note_form=form)
    assert isinstance(form, TaskForm)
    return _render_tracking(request, case, task_form=form)


@login_required
@require_GET
def case_tracking(request: HttpRequest, case_id: int) -> HttpResponse:
    return _render_tracking(request, _case(request, case_id))


@login_required
@require_POST
def check_record(request: HttpRequest, case_id: int, source_id: int) -> HttpResponse:
    case = _writable_case(request, case_id)
    try:
        source = AddressSearchSource.objects.get(pk=source_id, active=True)
    except AddressSearchSource.DoesNotExist as exc:
        raise Http404("No such source") from exc
    form = CheckForm(request.POST, source=source)
    return _submit(
        request,
        case,
        form,
        lambda d: services.address_check_record(
            actor=Actor.from_request(request), case=case, source=source, **d
        ),
        success=f"{source.name} recorded on the address-search checklist",
        anchor="checklist",
    )


@login_required
@require_POST
def checklist_record(request: HttpRequest, case_id: int) -> HttpResponse:
    """The whole address-search checklist as one form: every source whose status was chosen
    is recorded, all of them or (if any is wrong) none."""
    case = _writable_case(request, case_id)
    check_forms = {
        item.source.pk: CheckForm(request.POST, source=item.source)
        for item in selectors.checklist_for(case)
        if item.source.active
    }
    chosen = {pk: f for pk, f in check_forms.items() if request.POST.get(f"check-{pk}-status")}
    if not chosen:
        first = next(iter(check_forms.values()), None)
        if first is not None:
            first.is_valid()
            first.add_error("status", "Select what you found for at least one source")
            return _render_tracking(request, case, check_forms={first.source.pk: first})
        return HttpResponseRedirect(_tracking_url(case, "checklist"))
    valid = all([f.is_valid() for f in chosen.values()])  # noqa: C419  (every form validated, for its errors)
    if valid:
        actor = Actor.from_request(request)
        try:
            with transaction.atomic():
                for form in chosen.values():
                    try:
                        services.address_check_record(
                            actor=actor, case=case, source=form.source, **form.cleaned_data
                        )
                    except ValidationError as exc:
                        form.add_service_errors(exc)
                        raise
        except ValidationError:
            valid = False
    if not valid:
        return _render_tracking(request, case, check_forms=chosen)
    names = ", ".join(f.source.name for f in chosen.values())
    messages.success(request, f"Recorded on the address-search checklist: {names}")
    return HttpResponseRedirect(_tracking_url(case, "checklist"))


@login_required
@require_POST
def contact_record(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _writable_case(request, case_id)
    return _submit(
        request,
        case,
        ContactForm(request.POST),
        lambda d: services.contact_attempt_record(
            actor=Actor.from_request(request), case=case, **d
        ),
        success="Contact attempt recorded",
        anchor="contacts",
    )


@login_required
@require_POST
def note_add(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _writable_case(request, case_id)
    return _submit(
        request,
        case,
        NoteForm(request.POST),
        lambda d: services.case_note_add(actor=Actor.from_request(request), case=case, **d),
        success="Note added",
        anchor="notes",
    )


@login_required
@require_POST
def task_add(request: HttpRequest, case_id: int) -> HttpResponse:
    case = _writable_case(request, case_id)
    return _submit(
        request,
        case,
        TaskForm(request.POST, owners=selectors.task_owner_choices(case)),
        lambda d: services.task_create(actor=Actor.from_request(request), case=case, **d),
        success="Task added",
        anchor="tasks",
    )


@login_required
@require_POST
def task_complete(request: HttpRequest, case_id: int, task_id: int) -> HttpResponse:
    case = _writable_case(request, case_id)
    try:
        task = Task.objects.get(pk=task_id, case=case)
    except Task.DoesNotExist as exc:
        raise Http404("No such task") from exc
    try:
        services.task_complete(actor=Actor.from_request(request), task=task)
    except ValidationError as exc:
        messages.info(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Task marked as done: {task.title}")
    return HttpResponseRedirect(_tracking_url(case, "tasks"))


def _require_casework_role(user: User) -> None:
    if not user.has_role(*selectors.CASEWORK_ROLES):
        raise PermissionDenied("Only people who work on cases have tasks.")


@login_required
@require_GET
def my_tasks(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_casework_role(user)
    today = timezone.localdate()
    page = Paginator(selectors.tasks_for(user), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [TaskRow.of(t, today) for t in page.object_list]
    overdue = selectors.overdue_tasks_for(user, today=today).count()
    return render(
        request,
        "casework/my_tasks.jinja",
        {"rows": rows, "page": page, "overdue": overdue},
    )


@login_required
@require_GET
def no_recent_contact(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_casework_role(user)
    today = timezone.localdate()
    page = selectors.no_contact_page(user, request.GET.get("page"), per_page=PAGE_SIZE, today=today)
    return render(
        request,
        "casework/no_recent_contact.jinja",
        {
            "rows": no_contact_rows(list(page.object_list), today),
            "page": page,
            "days": selectors.no_contact_days(),
        },
    )


# --- consultations ---------------------------------------------------------------------------


def _render_consultations(
    request: HttpRequest, case: Case, form: ConsultationForm | None = None
) -> HttpResponse:
    user = _user(request)
    can_record = selectors.may_record_tracking(user, case) and case.is_open
    if form is None and can_record:
        form = ConsultationForm(owners=selectors.task_owner_choices(case))
    return render(
        request,
        "casework/consultations.jinja",
        {
            "case": case,
            "case_url": case_page_url(case),
            "rows": consultation_rows(list(selectors.consultations_for(case))),
            "form": form,
            "can_record": can_record,
            "errors": error_list(form),
            "success": [str(m) for m in messages.get_messages(request)],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def consultations(request: HttpRequest, case_id: int) -> HttpResponse:
    if request.method == "GET":
        return _render_consultations(request, _case(request, case_id))
    case = _writable_case(request, case_id)
    form = ConsultationForm(request.POST, owners=selectors.task_owner_choices(case))
    if form.is_valid():
        try:
            services.consultation_record(
                actor=Actor.from_request(request), case=case, **form.service_kwargs()
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Consultation recorded")
            return HttpResponseRedirect(reverse("casework:consultations", args=[case.pk]))
    return _render_consultations(request, case, form)
