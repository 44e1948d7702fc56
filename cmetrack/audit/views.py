"""The auditors' pages: search the audit trail and export what was found."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from cmetrack.kit.exports import csv_response

from .forms import AuditSearchForm
from .models import AuditAction
from .presenters import CSV_HEADER, audit_csv_rows, audit_rows
from .selectors import AuditFilters, Cursor, audit_export_values, audit_page, audit_search
from .services import Actor, audit_record

PAGE_SIZE = 50


def auditor_required(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Signed in and holding the auditor role; anyone else gets 403. The audit trail is
    below accounts and knows no roles: accounts grants ``audit.search_trail`` to auditors
    (``accounts.models.ROLE_PERMISSIONS``)."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponseBase:
        if not request.user.has_perm("audit.search_trail"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@auditor_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    searched = bool(request.GET)
    rows, next_query = [], ""
    if not searched or form.is_valid():
        filters = form.filters() if searched else AuditFilters()
        after = Cursor.decode(request.GET.get("after", ""))
        events, cursor = audit_page(audit_search(filters), after=after, size=PAGE_SIZE)
        rows = audit_rows(events)
        if cursor is not None:
            query = request.GET.copy()
            query["after"] = cursor.encode()
            next_query = query.urlencode()
    export_query = request.GET.copy()
    export_query.pop("after", None)
    context = {
        "form": form,
        "rows": rows,
        "next_query": next_query,
        "first_page": "after" not in request.GET,
        "export_query": export_query.urlencode(),
        "searched": searched,
    }
    return render(request, "audit/search.jinja", context)


@auditor_required
@require_GET
def export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/search.jinja", {"form": form, "rows": []}, status=400)
    filters = form.filters()
    qs = audit_search(filters)
    audit_record(
        actor=Actor.from_request(request),
        action=AuditAction.EXPORT,
        object_type="audit.auditevent",
        summary=f"Exported the audit trail ({filters.describe()})"[:300],
        changes={"filters": filters.describe()},
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return csv_response(
        f"audit-trail-{stamp}.csv", CSV_HEADER, audit_csv_rows(audit_export_values(qs))
    )
