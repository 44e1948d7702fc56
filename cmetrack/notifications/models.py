"""One row per message to one recipient, and each person's preferences (ADR 0014)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .kinds import Frequency


class Status(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    DIGEST = "digest", "Waiting for the daily digest"
    IN_DIGEST = "in_digest", "Sent in a daily digest"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent to Notify"
    DELIVERED = "delivered", "Delivered"
    PERMANENT_FAILURE = "permanent-failure", "Not delivered: address does not exist"
    TEMPORARY_FAILURE = "temporary-failure", "Not delivered: inbox full or unavailable"
    TECHNICAL_FAILURE = "technical-failure", "Not delivered: Notify's technical failure"
    FAILED = "failed", "Refused by Notify"


#: Statuses that a delivery job may still send.
SENDABLE = (Status.PENDING, Status.SENDING)
#: Statuses Notify's delivery receipts may set.
RECEIPT_STATUSES = {
    Status.DELIVERED,
    Status.PERMANENT_FAILURE,
    Status.TEMPORARY_FAILURE,
    Status.TECHNICAL_FAILURE,
}


class Message(models.Model):
    kind = models.CharField(max_length=40, db_index=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The person, when the message goes to someone who uses the service.",
    )
    email_address = models.EmailField()
    template_id = models.CharField(max_length=64, blank=True)
    personalisation = models.JSONField(default=dict, blank=True)
    #: The reference the message names (case, referral, enquiry, file).
    reference = models.CharField(max_length=60, blank=True)
    object_type = models.CharField(max_length=60, blank=True)
    object_id = models.CharField(max_length=40, blank=True)
    child_id = models.BigIntegerField(null=True, blank=True)
    caused_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    caused_by_label = models.CharField(max_length=254, blank=True)
    #: A document sent with Notify's file link: a dotted function and its argument.
    document_func = models.CharField(max_length=200, blank=True)
    document_arg = models.CharField(max_length=40, blank=True)
    digest = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    notify_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    receipt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} to {self.email_address} ({self.get_status_display()})"

    @property
    def notify_reference(self) -> str:
        """Notify's ``reference`` field: finds this row again (no duplicate on a retry)."""
        return f"cmetrack-{self.pk}"


class Preference(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=40)
    frequency = models.CharField(max_length=10, choices=Frequency.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.frequency}"
