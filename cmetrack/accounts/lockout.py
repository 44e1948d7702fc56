"""How django-axes identifies a sign-in attempt: the email as typed (normalised) and the
client address exactly as the audit trail records it (REMOTE_ADDR, never a header a client
could forge)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from cmetrack.audit.services import client_ip


def attempted_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    raw = (credentials or {}).get("username") or request.POST.get("username") or ""
    return str(raw).strip().lower()[:254]


def client_address(request: HttpRequest) -> str:
    return client_ip(request) or ""
