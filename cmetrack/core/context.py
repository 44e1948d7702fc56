"""Template context for every page: the signed-in user's navigation."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from .presenters import navigation_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    return {"nav_items": navigation_for(request.user, request.path)}  # type: ignore[arg-type]
