"""Sign-ins, sign-outs and failed sign-ins are recorded from Django's auth signals.

This is the one use of signals for audit: authentication happens inside Django's own views,
so there is no service of ours to write the row. Records of children are never audited here.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from .models import AuditAction
from .services import Actor, audit_record, client_ip


@receiver(user_logged_in)
def record_sign_in(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    audit_record(
        actor=Actor(user=user, ip_address=client_ip(request)),
        action=AuditAction.SIGN_IN,
        obj=user,
        summary="Signed in",
    )


@receiver(user_logged_out)
def record_sign_out(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    if user is None:
        return
    audit_record(
        actor=Actor(user=user, ip_address=client_ip(request)),
        action=AuditAction.SIGN_OUT,
        obj=user,
        summary="Signed out",
    )


@receiver(user_login_failed)
def record_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    attempted = str(credentials.get("username") or credentials.get("email") or "")[:200]
    audit_record(
        actor=Actor(
            user=None,
            ip_address=client_ip(request) if request is not None else None,
            label=f"unknown: {attempted}",
        ),
        action=AuditAction.SIGN_IN_FAILED,
        object_type="accounts.user",
        summary=f"Failed sign-in as {attempted}",
    )
