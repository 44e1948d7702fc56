"""Thin views: check access, ask a selector or presenter, render.

The error pages (404, 403, CSRF failure, 500) and the "service unavailable" page (503) are
rendered by :func:`core.errors.render_without_session`: they must work when the database is down, so
they never read the session, the signed-in user or the navigation (which come from the
database), and they use the plain variant of the layout (no menu, no "Sign out").
"""

from __future__ import annotations

import logging
import sys

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .errors import DATABASE_UNAVAILABLE, render_without_session, service_unavailable
from .presenters import HomePresenter, section_id

logger = logging.getLogger(__name__)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    presenter = HomePresenter(request.user)  # type: ignore[arg-type]
    return render(request, "core/home.jinja", {"presenter": presenter, "section_id": section_id})


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "core/accessibility.jinja")


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "core/privacy.jinja")


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_without_session(request, "errors/404.jinja", status=404)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render_without_session(request, "errors/403.jinja", status=403)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent without its security token, or with an old one
    (the page was open a long time, or the person signed out in another tab)."""
    return render_without_session(request, "errors/csrf.jinja", status=403)


def error_500(request: HttpRequest) -> HttpResponse:
    """``handler500``. Django calls it while handling the exception, so ``sys.exc_info()``
    is that exception: a database that cannot be reached (also from the session or
    sign-in middleware, which run before any view) gives the 503 page instead."""
    exception = sys.exc_info()[1]
    if isinstance(exception, DATABASE_UNAVAILABLE):
        logger.warning("Database unavailable: %s", type(exception).__name__)
        return service_unavailable(request)
    return render_without_session(request, "errors/500.jinja", status=500)
