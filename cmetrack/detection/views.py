"""Thin views: the alerts queue, an alert's evidence, and what can be done with it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.cases.selectors import open_cases_for
from cmetrack.kit.storage import StorageUnavailable, staged_upload, upload_not_stored
from cmetrack.organisations.models import OrganisationKind

from . import importers, jobs
from .feeds import detection_message
from .forms import AlertFilterForm, AttachForm, DeletionReturnForm, DismissForm, UploadForm
from .freshness import feed_freshness, stale_school_days
from .importers import RETURN_NOT_STORED, deletion_return_submit
from .imports import allowed_school_ids, may_import
from .models import Alert, ImportRun, ImportStatus
from .presenters import (
    NO_WORKER_MESSAGE,
    AlertPresenter,
    ImportRunPresenter,
    QueuePresenter,
    import_list_rows,
)
from .selectors import (
    AlertFilters,
    alert_get_for_view,
    alert_queue,
    alerts_visible_to,
    may_see_alerts,
    may_work_alerts,
)
from .services import alert_acknowledge, alert_attach_case, alert_dismiss, alert_refer


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _alert(request: HttpRequest, alert_id: int) -> Alert:
    try:
        return alerts_visible_to(_user(request)).get(pk=alert_id)
    except Alert.DoesNotExist as exc:
        raise Http404("No such alert") from exc


@login_required
def alert_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not may_see_alerts(user):
        raise PermissionDenied
    form = AlertFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = AlertFilters(
        rule=data.get("rule", ""),
        school=data.get("school"),
        age=data.get("age", ""),
        group=data.get("group", ""),
        state=data.get("state", ""),
    )
    rows, total, next_after = alert_queue(user, filters, after=data.get("after"))
    presenter = QueuePresenter.build(
        rows, total, next_after, filters, is_school=not may_work_alerts(user)
    )
    return render(request, "detection/alert_list.jinja", {"presenter": presenter, "form": form})


def _detail(
    request: HttpRequest,
    alert: Alert,
    dismiss: DismissForm | None = None,
    attach: AttachForm | None = None,
    status: int = 200,
) -> HttpResponse:
    presenter = AlertPresenter(alert=alert, can_work=may_work_alerts(_user(request)))
    return render(
        request,
        "detection/alert_detail.jinja",
        {
            "presenter": presenter,
            "dismiss_form": dismiss or DismissForm(),
            "attach_form": attach or AttachForm(),
            "has_errors": bool((dismiss and dismiss.errors) or (attach and attach.errors)),
            "messages": messages.get_messages(request),
        },
        status=status,
    )


@login_required
def alert_detail(request: HttpRequest, alert_id: int) -> HttpResponse:
    try:
        alert = alert_get_for_view(actor=Actor.from_request(request), alert_id=alert_id)
    except Alert.DoesNotExist as exc:
        raise Http404("No such alert") from exc
    return _detail(request, alert)


@login_required
@require_POST
def alert_refer_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    alert = _alert(request, alert_id)
    try:
        alert = alert_refer(actor=Actor.from_request(request), alert=alert)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        assert alert.referral is not None
        messages.success(request, f"Referral {alert.referral.reference} made to the CME team")
    return redirect("detection:alert-detail", alert_id=alert.pk)


@login_required
@require_POST
def alert_acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    if not may_work_alerts(_user(request)):
        raise PermissionDenied
    alert = _alert(request, alert_id)
    try:
        alert_acknowledge(actor=Actor.from_request(request), alert=alert)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("detection:alert-detail", alert_id=alert.pk)


@login_required
@require_POST
def alert_dismiss_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    if not may_work_alerts(_user(request)):
        raise PermissionDenied
    alert = _alert(request, alert_id)
    form = DismissForm(request.POST)
    if not form.is_valid():
        return _detail(request, alert, dismiss=form, status=400)
    try:
        alert_dismiss(
            actor=Actor.from_request(request), alert=alert, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("detection:alert-detail", alert_id=alert.pk)


@login_required
@require_POST
def alert_attach_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    user = _user(request)
    if not may_work_alerts(user):
        raise PermissionDenied
    alert = _alert(request, alert_id)
    form = AttachForm(request.POST)
    if form.is_valid():
        case = open_cases_for(user).filter(pk=form.cleaned_data["case_reference"]).first()
        if case is None:
            form.add_error("case_reference", "There is no open case with that reference")
    if not form.is_valid():
        return _detail(request, alert, attach=form, status=400)
    assert case is not None
    alert_attach_case(actor=Actor.from_request(request), alert=alert, case=case)
    messages.success(request, f"Alert added to {case.reference}")
    return redirect("detection:alert-detail", alert_id=alert.pk)


#: Uploads larger than this (bytes) are imported in the background with a progress bar;
#: smaller ones at once, in the request. Setting ``CMETRACK_IMPORT_BACKGROUND_BYTES``.
IMPORT_BACKGROUND_BYTES = 1_000_000


#: The upload page, while no background worker is running.
NO_WORKER_UPLOAD_MESSAGE = (
    "The import worker is not running: a large file you send is queued and will be "
    "imported when it starts; tell your administrator."
)


def _background_threshold() -> int:
    return int(getattr(settings, "CMETRACK_IMPORT_BACKGROUND_BYTES", IMPORT_BACKGROUND_BYTES))


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a data file: a school its own data, the local authority any school's.

    A small file is imported at once and the outcome shown; a large one is queued, run in
    the background (:mod:`cmetrack.detection.jobs`) and followed on its progress page.
    """
    from pathlib import Path

    actor = Actor.from_request(request)
    if not may_import(actor):
        raise PermissionDenied
    la = allowed_school_ids(actor) is None
    form = UploadForm(request.POST or None, request.FILES or None, la=la)
    run = None
    # A large upload Django could not spool to disk (full or read-only): said on the form.
    storage_failed = request.method == "POST" and upload_not_stored(request, form)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        kind = form.cleaned_data["kind"]
        name = (upload_file.name or "upload")[:255]
        params: dict[str, Any] = {}
        if kind == "roll":
            params["taken_on"] = form.cleaned_data["taken_on"].isoformat()
        try:
            if upload_file.size is not None and upload_file.size > _background_threshold():
                upload_file.seek(0)
                queued = jobs.import_enqueue(
                    actor=actor, kind=kind, file_name=name, content=upload_file, params=params
                )
                return redirect("detection:import-run", run_id=queued.pk)
            with staged_upload(upload_file, suffix=Path(name).suffix.lower()) as path:
                service = getattr(importers, f"{kind}_import")
                run = service(actor=actor, path=path, file_name=name, **params)
        except StorageUnavailable as exc:
            # Disk full or read-only: said on this form; nothing was kept or recorded.
            form.add_error("file", exc.message)
            storage_failed = True
    if storage_failed:
        status = 503
    else:
        status = 400 if request.method == "POST" and not form.is_valid() else 200
    return render(
        request,
        "detection/upload.jinja",
        {
            "form": form,
            "run": run,
            "detection_text": detection_message(run) if run is not None else "",
            "has_errors": bool(form.errors),
            "worker_warning": "" if jobs.worker_alive() else NO_WORKER_UPLOAD_MESSAGE,
        },
        status=status,
    )


def _import_run(request: HttpRequest, run_id: int) -> ImportRun:
    """A run the user may see (a school only its own imports), else 404."""
    try:
        return jobs.import_runs_visible_to(_user(request)).get(pk=run_id)
    except ImportRun.DoesNotExist as exc:
        raise Http404("No such import") from exc


@login_required
def import_run(request: HttpRequest, run_id: int) -> HttpResponse:
    """One import: its progress while it runs (the bar), its outcome when done."""
    jobs.imports_fail_stale()  # a run whose worker died says so within a minute
    run = _import_run(request, run_id)
    return render(
        request,
        "detection/import_run.jinja",
        {
            "run": run,
            "presenter": ImportRunPresenter(run, worker_running=_worker_running(run)),
            "detection_text": detection_message(run),
        },
    )


def _worker_running(run: ImportRun) -> bool:
    return run.finished or jobs.worker_alive()


@login_required
def import_progress(request: HttpRequest, run_id: int) -> JsonResponse:
    """The progress of one import as JSON, polled by the progress bar."""
    jobs.imports_fail_stale()
    run = _import_run(request, run_id)
    presenter = ImportRunPresenter(run, worker_running=_worker_running(run))
    response = JsonResponse(presenter.as_json())
    response["Cache-Control"] = "no-store"
    return response


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    """The latest imports the user may see: every school's for the LA, else their own."""
    user = _user(request)
    actor = Actor.from_request(request)
    if not may_import(actor):
        raise PermissionDenied
    jobs.imports_fail_stale()
    runs = list(jobs.import_runs_visible_to(user)[:50])
    waiting = any(run.status == ImportStatus.QUEUED for run in runs)
    return render(
        request,
        "detection/import_list.jinja",
        {
            "rows": import_list_rows(runs),
            "every_school": allowed_school_ids(actor) is None,
            "worker_warning": NO_WORKER_MESSAGE if waiting and not jobs.worker_alive() else "",
        },
    )


@login_required
def feed_freshness_view(request: HttpRequest) -> HttpResponse:
    """Schools and the date of their latest data per feed (a school sees its own)."""
    actor = Actor.from_request(request)
    if not may_import(actor):
        raise PermissionDenied
    limit = stale_school_days()
    rows = feed_freshness(today=timezone.localdate(), school_ids=allowed_school_ids(actor))
    behind_only = request.GET.get("behind") == "1"
    if behind_only:
        rows = [r for r in rows if r.behind(limit)]
    return render(
        request,
        "detection/feed_freshness.jinja",
        {
            "rows": rows,
            "limit": limit,
            "behind_only": behind_only,
            "behind_count": sum(1 for r in rows if r.behind(limit)),
        },
    )


@login_required
def deletion_return(request: HttpRequest) -> HttpResponse:
    """A school tells the authority it deleted a pupil from its roll."""

    user = _user(request)
    school = user.organisation
    if not (
        user.has_role("school_user")
        and school is not None
        and school.kind == OrganisationKind.SCHOOL
    ):
        raise PermissionDenied
    form = DeletionReturnForm(request.POST or None)
    storage_failed = False
    if request.method == "POST" and form.is_valid():
        try:
            record = deletion_return_submit(
                actor=Actor.from_request(request), school=school, **form.cleaned_data
            )
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        except StorageUnavailable:
            form.add_error(None, RETURN_NOT_STORED)
            storage_failed = True
        else:
            messages.success(request, f"Deletion return sent for {record.full_name} ({record.upn})")
            return redirect("detection:deletion-return")
    status = 503 if storage_failed else 400 if form.errors else 200
    return render(
        request,
        "detection/deletion_return.jinja",
        {"form": form, "messages": messages.get_messages(request)},
        status=status,
    )
