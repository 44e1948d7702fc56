"""Thin views: check access, ask a selector or presenter, render."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .presenters import HomePresenter


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.jinja", {"presenter": HomePresenter(request.user)})  # type: ignore[arg-type]


def accessibility(request: HttpRequest) -> HttpResponse:
    return render(request, "core/accessibility.jinja")


def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "core/privacy.jinja")


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/404.jinja", status=404)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "errors/403.jinja", status=403)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.jinja", status=500)
