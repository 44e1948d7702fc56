"""Subject access export pages (CME managers only); each one is audited as an export."""

from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from cmetrack.audit.services import Actor
from cmetrack.people.models import Child

from .presenters import SubjectAccessPresenter
from .selectors import SubjectAccess, subject_access_for


def _collect(request: HttpRequest, child_id: int, output: str) -> SubjectAccess:
    try:
        return subject_access_for(
            actor=Actor.from_request(request), child_id=child_id, output=output
        )
    except Child.DoesNotExist as exc:
        raise Http404("No such child") from exc


@login_required
def subject_access(request: HttpRequest, child_id: int) -> HttpResponse:
    sar = _collect(request, child_id, "printable page")
    return render(
        request, "dataprotection/subject_access.jinja", {"p": SubjectAccessPresenter(sar)}
    )


@login_required
def subject_access_json(request: HttpRequest, child_id: int) -> HttpResponse:
    sar = _collect(request, child_id, "JSON")
    body = json.dumps(sar.as_json(), cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="subject-access-child-{sar.child.pk}.json"'
    )
    return response
