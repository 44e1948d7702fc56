"""Pages of the home-education list: the list (search and filters), adding a child, a
record with its concerns, and consent requests with their decisions. Thin: scoped
selectors, services, presenters. Mounted under /home-education/ (casework/urls.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.casework.presenters import error_list

from . import presenters, selectors, services
from .forms import (
    ConcernForm,
    ConsentDecisionForm,
    ConsentRequestForm,
    EndForm,
    HomeEducationAddForm,
    ListFilterForm,
    NoticeForm,
    ReasonForm,
)
from .models import ConsentStatus, HomeEducationConsentRequest, HomeEducationRecord

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _require_reader(user: User) -> None:
    if not selectors.may_read_home_education_list(user):
        raise PermissionDenied("You do not have access to the home-education list.")


def _require_keeper(user: User) -> None:
    if not selectors.may_keep_home_education_list(user):
        raise PermissionDenied("Only the CME team keeps the home-education list.")


@login_required
def home_education_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_reader(user)
    filters = ListFilterForm(request.GET or None)
    qs = selectors.home_education_search(user, **filters.filters())
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "registers/home_education_list.jinja",
        {
            "rows": [presenters.RecordRow(r) for r in page.object_list],
            "headers": presenters.HEADERS,
            "page": page,
            "filters": filters,
            "can_keep": selectors.may_keep_home_education_list(user),
            "query": request.GET.urlencode(),
            "counts": presenters.counts_summary(
                selectors.home_education_counts(timezone.localdate())
            )
            if selectors.may_keep_home_education_list(user)
            else [],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def home_education_add(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    _require_keeper(user)
    form = HomeEducationAddForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            record, new = services.home_education_child_add(
                actor=Actor.from_request(request),
                identity=form.identity(),
                **form.record_fields(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            name = record.child.full_name
            messages.success(
                request,
                f"{name} added to the home-education list"
                if new
                else f"{name} was already on the home-education list",
            )
            return HttpResponseRedirect(reverse("casework:registers:detail", args=[record.pk]))
    return render(
        request,
        "registers/home_education_add.jinja",
        {"form": form, "errors": error_list(form)},
    )


def _record(request: HttpRequest, record_id: int) -> HomeEducationRecord:
    try:
        return selectors.home_education_get(actor=Actor.from_request(request), record_id=record_id)
    except HomeEducationRecord.DoesNotExist as exc:
        raise Http404("No such record") from exc


def _render_detail(
    request: HttpRequest,
    record: HomeEducationRecord,
    concern_form: ConcernForm | None = None,
    end_form: EndForm | None = None,
    notice_form: NoticeForm | None = None,
    reason_form: ReasonForm | None = None,
) -> HttpResponse:
    user = _user(request)
    forms_with_errors = [
        f for f in (concern_form, end_form, notice_form, reason_form) if f is not None
    ]
    errors = [e for f in forms_with_errors for e in error_list(f)]
    return render(
        request,
        "registers/home_education_detail.jinja",
        {
            "record": record,
            "summary": presenters.record_summary(record),
            "concerns": presenters.concern_rows(list(selectors.concerns_for(record))),
            "consents": [
                presenters.consent_cells(c) for c in selectors.consent_requests_for(record.child)
            ],
            "consent_headers": presenters.CONSENT_HEADERS,
            "can_keep": selectors.may_keep_home_education_list(user),
            "concern_form": concern_form or ConcernForm(),
            "end_form": end_form or EndForm(),
            "notice_form": notice_form or NoticeForm(),
            "reason_form": reason_form
            or ReasonForm(initial={"primary_reason": record.primary_reason or None}),
            "notices": [(n.get_kind_display(), n.served_on, n.notes) for n in record.notices.all()],
            "errors": errors,
            "success": [str(m) for m in messages.get_messages(request)],
        },
    )


@login_required
def home_education_detail(request: HttpRequest, record_id: int) -> HttpResponse:
    return _render_detail(request, _record(request, record_id))


def _post(
    request: HttpRequest, record_id: int, form: Any, save: Any, success: str, which: str
) -> HttpResponse:
    _require_keeper(_user(request))
    record = _record(request, record_id)
    if form.is_valid():
        try:
            save(record, form.cleaned_data)
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, success)
            return HttpResponseRedirect(reverse("casework:registers:detail", args=[record.pk]))
    return _render_detail(request, record, **{which: form})


@login_required
@require_POST
def concern_record(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _post(
        request,
        record_id,
        ConcernForm(request.POST),
        lambda record, d: services.home_education_concern_record(actor=actor, record=record, **d),
        "Concern recorded: a case has been opened (or the open case updated)",
        "concern_form",
    )


@login_required
@require_POST
def record_end(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _post(
        request,
        record_id,
        EndForm(request.POST),
        lambda record, d: services.home_education_record_end(actor=actor, record=record, **d),
        "The child is no longer on the home-education list",
        "end_form",
    )


@login_required
@require_POST
def record_notice(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _post(
        request,
        record_id,
        NoticeForm(request.POST),
        lambda record, d: services.home_education_notice_record(actor=actor, record=record, **d),
        "Notice recorded",
        "notice_form",
    )


@login_required
@require_POST
def record_reason(request: HttpRequest, record_id: int) -> HttpResponse:
    actor = Actor.from_request(request)
    return _post(
        request,
        record_id,
        ReasonForm(request.POST),
        lambda record, d: services.home_education_reason_record(actor=actor, record=record, **d),
        "Primary reason for home education recorded",
        "reason_form",
    )


def _render_consents(
    request: HttpRequest,
    request_form: ConsentRequestForm | None = None,
    decision_forms: dict[int, ConsentDecisionForm] | None = None,
) -> HttpResponse:
    user = _user(request)
    decision_forms = decision_forms or {}
    requests = list(selectors.consent_requests_visible_to(user)[:200])
    can_decide = selectors.may_decide_consent(user)
    rows = [
        {
            "cells": presenters.consent_cells(r),
            "pending": r.status == ConsentStatus.PENDING,
            "pk": r.pk,
            "form": decision_forms.get(r.pk) or ConsentDecisionForm(request_id=r.pk),
        }
        for r in requests
    ]
    bound = [request_form, *decision_forms.values()]
    return render(
        request,
        "registers/consents.jinja",
        {
            "rows": rows,
            "headers": presenters.CONSENT_HEADERS,
            "can_decide": can_decide,
            "request_form": request_form or ConsentRequestForm(),
            "errors": [e for f in bound if f is not None for e in error_list(f)],
            "success": [str(m) for m in messages.get_messages(request)],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def consents(request: HttpRequest) -> HttpResponse:
    _require_keeper(_user(request))
    if request.method == "GET":
        return _render_consents(request)
    form = ConsentRequestForm(request.POST)
    if form.is_valid():
        try:
            services.consent_request_for_identity(
                actor=Actor.from_request(request),
                identity=form.identity(),
                **form.request_fields(),
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Consent request recorded")
            return HttpResponseRedirect(reverse("casework:registers:consents"))
    return _render_consents(request, request_form=form)


@login_required
@require_POST
def consent_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    user = _user(request)
    if not selectors.may_decide_consent(user):
        raise PermissionDenied("Only a CME manager decides on consent to home educate.")
    try:
        consent = selectors.consent_requests_visible_to(user).get(pk=request_id)
    except HomeEducationConsentRequest.DoesNotExist as exc:
        raise Http404("No such request") from exc
    form = ConsentDecisionForm(request.POST, request_id=consent.pk)
    if form.is_valid():
        try:
            services.consent_decide(
                actor=Actor.from_request(request), request=consent, **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Decision recorded for {consent.child.full_name}")
            return HttpResponseRedirect(reverse("casework:registers:consents"))
    return _render_consents(request, decision_forms={consent.pk: form})
