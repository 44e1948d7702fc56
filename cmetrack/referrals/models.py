"""A referral: information about a child arriving at the front door (forms.md §1)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.organisations.models import Organisation
from cmetrack.people.choices import Sex
from cmetrack.people.models import Child

# Unambiguous characters for references read out over the phone.
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXY3456789"


def new_acknowledgement_reference() -> str:
    return "R-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


class ReferralStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    TRIAGED = "triaged", "Triaged"
    LINKED = "linked", "Linked to a case"
    NOT_CME = "not_cme", "Not children missing education"


class Referral(models.Model):
    route = models.CharField(max_length=10, choices=ReferralRoute.choices)
    status = models.CharField(
        max_length=10,
        choices=ReferralStatus.choices,
        default=ReferralStatus.RECEIVED,
        db_index=True,
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    reference = models.CharField(
        max_length=12, unique=True, default=new_acknowledgement_reference, editable=False
    )
    referring_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals_made"
    )
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="referrals_made",
    )
    # The child as described by the referrer (kept as given, even after matching).
    given_names = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    dob = models.DateField("date of birth", null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    address = models.CharField(max_length=300, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
    )
    reason = models.TextField()
    # A member of the public may leave a way to contact them.
    reporter_name = models.CharField(max_length=150, blank=True)
    reporter_contact = models.CharField(max_length=200, blank=True)
    # Set at triage.
    child = models.ForeignKey(
        Child, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_route_display()})"
