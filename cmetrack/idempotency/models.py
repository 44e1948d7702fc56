"""One row per form sent (or API call with an ``Idempotency-Key``) that made something.

The row is written in the same transaction as the record it made, and the unique
constraint on ``(owner, scope, key)`` decides which of two identical submissions wins.
It holds no personal data: a reference, a link and the ids of what was made.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Submission(models.Model):
    #: Who sent it: ``user:<pk>``, or ``public`` for the public report form.
    owner = models.CharField(max_length=64)
    #: Which form or endpoint, for example ``referrals.agency`` or ``cases.action``.
    scope = models.CharField(max_length=100)
    #: The one-time token of the form, or the caller's ``Idempotency-Key``.
    key = models.CharField(max_length=128)
    #: A digest of what was sent (API calls), so a key reused for another request is refused.
    fingerprint = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    #: Where the first sending led (the page that shows its result).
    result_url = models.CharField(max_length=500, blank=True)
    #: What the person was told, for example the referral's reference ``R-7KQ2M4XA``.
    reference = models.CharField(max_length=300, blank=True)
    #: The primary keys of what the first sending made (in order).
    object_ids = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "scope", "key"], name="idempotency_submission_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope} {self.key[:8]}… → {self.reference or self.result_url}"
