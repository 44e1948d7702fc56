from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from cmetrack.audit.services import Actor

from .models import Child
from .presenters import ChildPresenter
from .selectors import child_get_for_view


@login_required
def child_detail(request: HttpRequest, child_id: int) -> HttpResponse:
    try:
        child = child_get_for_view(actor=Actor.from_request(request), child_id=child_id)
    except Child.DoesNotExist as exc:
        raise Http404("No such child") from exc
    presenter = ChildPresenter(child=child, viewer=request.user)  # type: ignore[arg-type]
    return render(request, "people/child_detail.jinja", {"presenter": presenter})
