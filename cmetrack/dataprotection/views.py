from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse


def subject_access(request: HttpRequest, child_id: int) -> HttpResponse:
    raise Http404


def subject_access_json(request: HttpRequest, child_id: int) -> HttpResponse:
    raise Http404
