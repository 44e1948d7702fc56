"""The audit trail: one append-only table of who did what, when, from where.

Rows are written only by :func:`cmetrack.audit.services.audit_record` (directly or through
the services of the other apps). They cannot be changed or deleted through the application;
on PostgreSQL database triggers also refuse UPDATE and DELETE (see docs/adr/0004-audit.md).
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    TRANSITION = "transition", "Changed state"
    EXPORT = "export", "Exported"
    SIGN_IN = "sign_in", "Signed in"
    SIGN_IN_FAILED = "sign_in_failed", "Failed sign-in"
    SIGN_OUT = "sign_out", "Signed out"


class ImmutableAuditError(Exception):
    """Raised on any attempt to change or delete an audit row."""


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> NoReturn:
        raise ImmutableAuditError("Audit events cannot be changed.")

    def delete(self) -> NoReturn:
        raise ImmutableAuditError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    # Who it was at the time, kept even for system actors and failed sign-ins.
    actor_label = models.CharField(max_length=254)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    # The child the event concerns, if any: "who has looked at this child" is one lookup.
    child_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    summary = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            # The auditors' search (audit.selectors.audit_search): each filter, in the
            # order the pages read it (newest first: at, then id), so no sort is needed.
            models.Index(fields=["at", "id"], name="audit_at_id"),
            models.Index(fields=["actor_label", "at", "id"], name="audit_actor_at_id"),
            models.Index(fields=["child_id", "at", "id"], name="audit_child_at_id"),
            models.Index(fields=["action", "at", "id"], name="audit_action_at_id"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableAuditError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise ImmutableAuditError("Audit events cannot be deleted.")
