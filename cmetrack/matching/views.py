"""The find-a-child page: thin, the form checks shape, the service searches and audits."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor

from .forms import FindChildForm
from .presenters import FindChildPresenter
from .services import SEARCH_ROLES, SearchNotReady, search_children


@login_required
def find_a_child(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    if not user.has_role(*SEARCH_ROLES):
        raise PermissionDenied
    form = FindChildForm(request.POST if request.method == "POST" else None)
    presenter = None
    if request.method == "POST" and form.is_valid():
        try:
            results = search_children(
                user=user, query=form.to_query(), actor=Actor.from_request(request)
            )
        except SearchNotReady:
            presenter = FindChildPresenter(results=[], searched=False, not_ready=True)
        else:
            presenter = FindChildPresenter(results=results, searched=True)
    return render(
        request,
        "matching/find_a_child.jinja",
        {
            "form": form,
            "errors": form.error_list() if form.is_bound else [],
            "presenter": presenter,
        },
    )
