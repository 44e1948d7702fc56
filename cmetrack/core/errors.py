"""Pages that must work when the database does not: shared by the error views
(``core.views``) and ``core.middleware.DatabaseUnavailableMiddleware``."""

from __future__ import annotations

import logging
from html import escape
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.template.backends.utils import csrf_input
from django.template.loader import get_template
from django.utils.functional import LazyObject, empty

from cmetrack.kit.problems import problem_response

#: Errors that mean the database cannot be reached (down, restarting, refusing
#: connections, a connection that dropped): the service is unavailable, not broken.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
#: Seconds a client is asked to wait before trying again after a 503.
RETRY_AFTER_SECONDS = 30

logger = logging.getLogger(__name__)

#: Headings of the plain pages sent if an error page itself cannot be rendered.
PLAIN_HEADINGS = {
    403: "You do not have access to this page",
    404: "Page not found",
    500: "Sorry, there is a problem with the service",
    503: "Sorry, the service is unavailable",
}


def render_without_session(
    request: HttpRequest, template_name: str, status: int, context: dict[str, Any] | None = None
) -> HttpResponse:
    """Render an error page with no request in its context.

    Without the request the Jinja2 backend runs no context processor (no navigation from
    the database) and nothing in the layout can read the session or look the user up. This
    request's CSP nonce (set by ``SecurityHeadersMiddleware``, if it ran) is passed on, and
    the signed-in person only if the request has already loaded them (a page not found
    inside the service keeps its "Sign out" button; during an outage nobody is loaded)."""
    nonce = getattr(request, "csp_nonce", "")
    page: dict[str, Any] = {"csp_nonce": nonce, **(context or {})}
    user = already_loaded_user(request)
    if user is not None:
        # The header's name and "Sign out" button, from what this request already holds.
        page.update(signed_in_user=user, csrf_input=csrf_input(request))
    try:
        template = get_template(template_name, using="jinja2")
        html = template.render(page)
    except Exception:
        # The error page must answer even when the layout cannot be built (for example
        # static files never collected, so the manifest is missing): a plain page instead.
        logger.exception("Could not render %s; sent a plain page", template_name)
        html = plain_page(status)
    return HttpResponse(html, status=status)


def already_loaded_user(request: HttpRequest) -> Any | None:
    """The signed-in person if this request has already loaded them, else None: looks at
    the lazy ``request.user`` (authentication's, wrapped by django-otp's) without
    evaluating it, so it never reads the session or the database."""
    user: Any = request.__dict__.get("user")
    while isinstance(user, LazyObject):
        user = user.__dict__.get("_wrapped", empty)
        if user is empty:
            return None
    if user is not None and getattr(user, "is_authenticated", False) is True:
        return user
    return None


def plain_page(status: int) -> str:
    heading = escape(PLAIN_HEADINGS.get(status, PLAIN_HEADINGS[500]))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{heading}</title></head>"
        f'<body style="font-family: arial, sans-serif; margin: 2em"><main><h1>{heading}</h1>'
        "<p>Try again later.</p></main></body></html>\n"
    )


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 when the database cannot be reached: the service's own page, or for the API a
    problem document (RFC 9457). ``Retry-After`` asks clients to try again later."""
    if request.path.startswith("/api/"):
        # The API's one error shape (kit.problems), built without the database.
        response = problem_response(
            request,
            "service_unavailable",
            "The service cannot be used at the moment. Try again in a few minutes.",
        )
    else:
        response = render_without_session(request, "errors/503.jinja", status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response
