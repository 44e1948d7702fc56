"""Pages that must work when the database does not: shared by the error views
(``core.views``) and ``core.middleware.DatabaseUnavailableMiddleware``."""

from __future__ import annotations

import json
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.loader import get_template

#: Errors that mean the database cannot be reached (down, restarting, refusing
#: connections, a connection that dropped): the service is unavailable, not broken.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
#: Seconds a client is asked to wait before trying again after a 503.
RETRY_AFTER_SECONDS = 30


def render_without_session(
    request: HttpRequest, template_name: str, status: int, context: dict[str, Any] | None = None
) -> HttpResponse:
    """Render an error page with no request in its context.

    Without the request the Jinja2 backend runs no context processor (no navigation) and the
    layout shows no user, so nothing reads the session or the database. Only this
    request's CSP nonce (set by ``SecurityHeadersMiddleware``, if it ran) is passed on."""
    template = get_template(template_name, using="jinja2")
    nonce = getattr(request, "csp_nonce", "")
    html = template.render({"csp_nonce": nonce, **(context or {})})
    return HttpResponse(html, status=status)


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 when the database cannot be reached: the service's own page, or for the API a
    problem document (RFC 9457). ``Retry-After`` asks clients to try again later."""
    if request.path.startswith("/api/"):
        problem = {
            "type": "about:blank",
            "title": "Service unavailable",
            "status": 503,
            "detail": "The service cannot be used at the moment. Try again in a few minutes.",
        }
        response = HttpResponse(
            json.dumps(problem), status=503, content_type="application/problem+json"
        )
    else:
        response = render_without_session(request, "errors/503.jinja", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
