"""Returns the request id that django-structlog put on the request's log lines."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from .logs import request_id


class RequestIdMiddleware:
    """Sets ``X-Request-ID`` on the response. Place it straight after
    ``django_structlog.middlewares.RequestMiddleware``, which binds the id (and forgets it
    once the response has passed back through it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        current = request_id()
        if current:
            response["X-Request-ID"] = current
        return response
