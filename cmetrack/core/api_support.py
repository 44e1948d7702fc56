"""Pieces every API router shares: the error shapes and how service errors map to HTTP."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from cmetrack.accounts.models import User


class Error(Schema):
    detail: str = Field(examples=["Not found"])


class ValidationErrorOut(Schema):
    """What to fix: ``errors`` maps each field to its messages ("__all__" for the whole)."""

    detail: str = Field(examples=["There is a problem"])
    errors: dict[str, list[str]] = Field(
        examples=[{"date": ["Enter the date you checked this source"]}]
    )


def api_user(request: HttpRequest) -> User:
    """The authenticated caller (bearer token or session), as the auth classes set it."""
    return request.auth  # type: ignore[attr-defined,no-any-return]


def person_name(user: User | None) -> str | None:
    return user.get_full_name() if user is not None else None


def invalid(exc: ValidationError) -> Status[dict[str, Any]]:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return Status(400, {"detail": "There is a problem", "errors": errors})


def run_write(call: Callable[[], Any], success: int = 201) -> Status[Any]:
    """Run a service call: its ValidationError becomes 400 with what to fix, a refusal 403."""
    try:
        return Status(success, call())
    except ValidationError as exc:
        return invalid(exc)
    except PermissionDenied as exc:
        raise HttpError(403, str(exc)) from exc
