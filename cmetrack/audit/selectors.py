"""Reads of the audit trail."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AuditAction, AuditEvent


def audit_events_for_child(child_id: int) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(child_id=child_id).select_related("actor")


def child_viewers(child_id: int) -> QuerySet[AuditEvent]:
    """Who has looked at this child's record, newest first."""
    return audit_events_for_child(child_id).filter(action=AuditAction.VIEW)
