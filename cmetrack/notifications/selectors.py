"""Reads for the notifications pages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet

from cmetrack.accounts.roles import Role

from .kinds import PERSONAL_KINDS, Frequency, Kind
from .models import Message, Preference

if TYPE_CHECKING:
    from cmetrack.accounts.models import User


def kinds_for(user: User) -> list[Kind]:
    """The messages a person can get, by their roles (what their settings offer)."""
    roles = frozenset(user.role_set)
    return [k for k in PERSONAL_KINDS if k.for_user(roles)]


def preferences_of(user: User) -> dict[str, str]:
    """Each kind the person may hear about → their frequency (required: at once)."""
    stored = dict(Preference.objects.filter(user=user).values_list("kind", "frequency"))
    return {
        k.key: (Frequency.AT_ONCE if k.required else stored.get(k.key, Frequency.AT_ONCE))
        for k in kinds_for(user)
    }


def may_see_messages(user: User) -> bool:
    return bool(user.has_role(Role.CME_MANAGER, Role.ADMINISTRATOR))


def messages_visible_to(user: User) -> QuerySet[Message]:
    """CME managers and administrators see every message and its receipt; nobody else."""
    if not may_see_messages(user):
        return Message.objects.none()
    return Message.objects.select_related("recipient").order_by("-created_at", "-pk")
