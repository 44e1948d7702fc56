"""Pages for transfer files and the lost-pupil area. Thin: scope through the selectors,
act through the services, show through the presenters."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.kit.storage import StorageUnavailable, staged_upload, upload_not_stored
from cmetrack.matching.presenters import FindChildPresenter
from cmetrack.matching.services import SearchNotReady, SearchQuery
from cmetrack.people.models import Child
from cmetrack.people.selectors import children_visible_to

from . import selectors, services
from .forms import (
    CtfUploadForm,
    LostPupilSearchForm,
    ReasonForm,
    SchoolChoiceForm,
    SearchRequestForm,
    UploadKind,
    error_list,
)
from .importers import ctf_roll_import
from .models import CtfFile, LostPupil, RequestStatus, SearchRequest
from .presenters import LostPupilPresenter, activity_rows


def render_page(
    request: HttpRequest, template: str, context: dict[str, object], status: int = 200
) -> HttpResponse:
    """Render with the flashed messages (as ``flash``)."""
    return render(
        request, template, {**context, "flash": list(messages.get_messages(request))}, status=status
    )


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _officer(request: HttpRequest) -> User:
    user = _user(request)
    if not selectors.may_use_lost_pupil_area(user):
        raise PermissionDenied
    return user


@login_required
def upload(request: HttpRequest) -> HttpResponse:
    """Upload a CTF: a school its own files, CME officers, managers and administrators any."""

    user = _user(request)
    if not selectors.may_upload_page(user):
        raise PermissionDenied
    form = CtfUploadForm(request.POST or None, request.FILES or None)
    result = None
    problems: list[str] = []
    run = None
    # A large upload Django could not spool to disk (full or read-only): said on the form.
    storage_failed = request.method == "POST" and upload_not_stored(request, form)
    if request.method == "POST" and form.is_valid():
        upload_file = form.cleaned_data["file"]
        name = (upload_file.name or "upload.xml").rsplit("/", 1)[-1][:255]
        actor = Actor.from_request(request)
        if form.cleaned_data["kind"] == UploadKind.ROLL:
            try:
                with staged_upload(upload_file, suffix=".xml") as path:
                    run = ctf_roll_import(
                        actor=actor,
                        path=path,
                        file_name=name,
                        taken_on=form.cleaned_data.get("taken_on"),
                    )
            except StorageUnavailable as exc:
                # Disk full or read-only: said on this form; nothing was kept or recorded.
                form.add_error("file", exc.message)
                storage_failed = True
        else:
            try:
                result = services.ctf_upload(actor=actor, data=upload_file.read(), file_name=name)
            except services.CtfRejected as exc:
                problems = [str(p) for p in exc.problems]
    status = 400 if (form.errors or problems or (run and run.status == "failed")) else 200
    if storage_failed:
        status = 503
    return render_page(
        request,
        "transfers/upload.jinja",
        {
            "form": form,
            "errors": error_list(form),
            "result": result,
            "problems": problems,
            "run": run,
        },
        status=status,
    )


@login_required
def lost_pupils(request: HttpRequest) -> HttpResponse:
    """The lost-pupil area: every pupil not yet found, and a search of it."""
    user = _officer(request)
    form = LostPupilSearchForm(request.POST if request.method == "POST" else None)
    presenter = None
    if request.method == "POST" and form.is_valid():
        try:
            results = services.lost_pupils_search(
                actor=Actor.from_request(request), query=form.to_query()
            )
        except SearchNotReady:
            presenter = FindChildPresenter(results=[], searched=False, not_ready=True)
        else:
            presenter = FindChildPresenter(results=results, searched=True)
    rows = selectors.lost_pupils_visible_to(user).order_by("-added_at")[:200]
    return render_page(
        request,
        "transfers/lost_pupils.jinja",
        {
            "form": form,
            "errors": form.error_list() if form.is_bound else [],
            "presenter": presenter,
            "rows": [LostPupilPresenter(x) for x in rows],
            "open_requests": selectors.requests_visible_to(user)
            .filter(status=RequestStatus.OPEN)
            .count(),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _lost(user: User, lost_id: int) -> LostPupil:
    found = selectors.lost_pupils_visible_to(user, include_closed=True).filter(pk=lost_id).first()
    if found is None:
        raise Http404
    return found


@login_required
def lost_pupil(request: HttpRequest, lost_id: int) -> HttpResponse:
    _officer(request)
    try:
        lost = selectors.lost_pupil_get_for_view(actor=Actor.from_request(request), lost_id=lost_id)
    except LostPupil.DoesNotExist:
        raise Http404 from None
    return _lost_page(request, lost, SchoolChoiceForm(), ReasonForm())


def _lost_page(
    request: HttpRequest,
    lost: LostPupil,
    forward: SchoolChoiceForm,
    close: ReasonForm,
    status: int = 200,
) -> HttpResponse:
    return render_page(
        request,
        "transfers/lost_pupil.jinja",
        {
            "lost": LostPupilPresenter(lost, detail=True),
            "forward_form": forward,
            "close_form": close,
            "errors": error_list(forward) + error_list(close),
        },
        status=status,
    )


@login_required
@require_POST
def lost_pupil_forward(request: HttpRequest, lost_id: int) -> HttpResponse:
    user = _officer(request)
    lost = _lost(user, lost_id)
    form = SchoolChoiceForm(request.POST)
    if form.is_valid():
        try:
            sent = services.lost_pupil_forward(
                actor=Actor.from_request(request), lost=lost, school=form.cleaned_data["school"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, f"{sent.file_name} is ready for {sent.dest_school} to download"
            )
            return redirect("transfers:lost-pupil", lost_id=lost.pk)
    return _lost_page(request, lost, form, ReasonForm(), status=400)


@login_required
@require_POST
def lost_pupil_close(request: HttpRequest, lost_id: int) -> HttpResponse:
    user = _officer(request)
    lost = _lost(user, lost_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        services.lost_pupil_close(
            actor=Actor.from_request(request), lost=lost, reason=form.cleaned_data["reason"]
        )
        messages.success(request, "The pupil is no longer in the lost-pupil area")
        return redirect("transfers:lost-pupils")
    return _lost_page(request, lost, SchoolChoiceForm(), form, status=400)


# --- requests from schools -----------------------------------------------------------------


@login_required
def requests_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not (selectors.may_use_lost_pupil_area(user) or selectors.may_ask_for_search(user)):
        raise PermissionDenied
    rows = selectors.requests_visible_to(user).prefetch_related("files")[:200]
    return render_page(
        request,
        "transfers/requests.jinja",
        {
            "rows": rows,
            "is_school": selectors.may_ask_for_search(user),
            "files": selectors.files_visible_to(user)
            .filter(direction="sent")
            .select_related("dest_school")[:100]
            if selectors.may_ask_for_search(user)
            else [],
        },
    )


@login_required
def request_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not selectors.may_ask_for_search(user):
        raise PermissionDenied
    form = SearchRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.search_request_create(actor=Actor.from_request(request), **form.cleaned_data)
        except ValidationError as exc:
            for field, problems in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            messages.success(request, "Your request was sent to the authority's CME team")
            return redirect("transfers:requests")
    return render_page(
        request,
        "transfers/request_new.jinja",
        {"form": form, "errors": error_list(form)},
        status=400 if form.errors else 200,
    )


def _request(user: User, request_id: int) -> SearchRequest:
    found = selectors.requests_visible_to(user).filter(pk=request_id).first()
    if found is None:
        raise Http404
    return found


@login_required
def request_detail(request: HttpRequest, request_id: int) -> HttpResponse:
    """A school's request. An officer sees it searched against the lost-pupil area."""
    user = _user(request)
    search_request = _request(user, request_id)
    presenter = None
    if selectors.may_use_lost_pupil_area(user) and search_request.status == RequestStatus.OPEN:
        query = SearchQuery(
            given_names=search_request.given_names,
            family_name=search_request.family_name,
            aliases=tuple(n.strip() for n in search_request.other_names.split(",") if n.strip()),
            dob=search_request.dob,
            sex=search_request.sex,
            upn=search_request.upn,
        )
        try:
            results = services.lost_pupils_search(
                actor=Actor.from_request(request), query=query, request=search_request
            )
        except SearchNotReady:
            presenter = FindChildPresenter(results=[], searched=False, not_ready=True)
        else:
            presenter = FindChildPresenter(results=results, searched=True)
    return render_page(
        request,
        "transfers/request_detail.jinja",
        {
            "req": search_request,
            "presenter": presenter,
            "pairs": list(zip(presenter.rows, presenter.results, strict=True)) if presenter else [],
            "is_officer": selectors.may_use_lost_pupil_area(user),
            "files": selectors.files_visible_to(user).filter(request=search_request),
            "close_form": ReasonForm(),
        },
    )


@login_required
@require_POST
def request_forward(request: HttpRequest, request_id: int, lost_id: int) -> HttpResponse:
    user = _officer(request)
    search_request = _request(user, request_id)
    lost = _lost(user, lost_id)
    try:
        sent = services.lost_pupil_forward(
            actor=Actor.from_request(request),
            lost=lost,
            school=search_request.school,
            request=search_request,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{sent.file_name} forwarded to {search_request.school}")
    return redirect("transfers:request", request_id=search_request.pk)


@login_required
@require_POST
def request_not_found(request: HttpRequest, request_id: int) -> HttpResponse:
    user = _officer(request)
    search_request = _request(user, request_id)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.search_request_not_found(
                actor=Actor.from_request(request),
                request=search_request,
                note=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Enter what you told the school")
    return redirect("transfers:request", request_id=search_request.pk)


# --- files ---------------------------------------------------------------------------------


@login_required
def file_download(request: HttpRequest, file_id: int) -> HttpResponse:
    user = _user(request)
    file = selectors.files_visible_to(user).filter(pk=file_id).first()
    if file is None:
        raise Http404
    content = services.ctf_file_download(actor=Actor.from_request(request), file=file)
    response = HttpResponse(content, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{file.file_name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def child_export(request: HttpRequest, child_id: int) -> HttpResponse:
    """Make a CTF for a child with a case, for the school that admits them."""
    user = _officer(request)
    child = children_visible_to(user).filter(pk=child_id).first()
    if child is None:
        raise Http404
    form = SchoolChoiceForm(request.POST or None)
    sent: CtfFile | None = None
    if request.method == "POST" and form.is_valid():
        try:
            sent = services.child_ctf_export(
                actor=Actor.from_request(request),
                child=Child.objects.get(pk=child.pk),
                school=form.cleaned_data["school"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
    return render_page(
        request,
        "transfers/child_export.jinja",
        {"child": child, "form": form, "errors": error_list(form), "sent": sent},
        status=400 if form.errors else 200,
    )


@login_required
def activity(request: HttpRequest) -> HttpResponse:
    """Monthly uploads, downloads, searches and forwards (self-evaluation evidence)."""

    user = _user(request)
    if not user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.AUDITOR):
        raise PermissionDenied
    return render_page(
        request,
        "transfers/activity.jinja",
        {"rows": activity_rows(selectors.activity_by_month())},
    )
