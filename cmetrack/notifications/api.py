"""``/api/v1/notification-preferences``: the caller's own email settings."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.kit.problems import InputSchema, Problem

from .kinds import PERSONAL_KINDS
from .selectors import preferences_of
from .services import preference_set

router = Router(tags=["Notifications"])


class PreferenceOut(Schema):
    kind: str = Field(examples=["task_assigned"])
    label: str = Field(examples=["A task given to you"])
    required: bool = Field(description="Required by the authority: always sent at once.")
    frequency: str = Field(examples=["at_once"], description="at_once, daily or off")


class PreferencesIn(InputSchema):
    choices: dict[str, str] = Field(examples=[{"task_assigned": "daily", "feed_stale": "off"}])


def _listing(user: User) -> list[dict[str, Any]]:
    current = preferences_of(user)
    return [
        {"kind": k.key, "label": k.label, "required": k.required, "frequency": current[k.key]}
        for k in PERSONAL_KINDS
        if k.key in current
    ]


@router.get(
    "/notification-preferences",
    response=list[PreferenceOut],
    summary="My email settings",
    operation_id="notification_preferences_get",
)
def notification_preferences_get(request: HttpRequest) -> list[dict[str, Any]]:
    user: User = request.auth  # type: ignore[attr-defined]
    return _listing(user)


@router.post(
    "/notification-preferences",
    response={200: list[PreferenceOut], 422: Problem},
    summary="Change my email settings (required messages cannot be switched off)",
    operation_id="notification_preferences_set",
)
def notification_preferences_set(request: HttpRequest, payload: PreferencesIn) -> Any:
    user: User = request.auth  # type: ignore[attr-defined]
    # A choice refused (a required message switched off) is a 422 problem, field by field.
    preference_set(
        actor=Actor(user=user, ip_address=request.META.get("REMOTE_ADDR")),
        user=user,
        choices=payload.choices,
    )
    return _listing(user)
