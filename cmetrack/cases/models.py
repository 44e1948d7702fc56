"""A case is one CME episode of one child, with its statutory dates and chronology."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cmetrack.organisations.models import Organisation
from cmetrack.people.models import Child

from .lifecycle import CaseState, Outcome


class ReferralRoute(models.TextChoices):
    SCHOOL = "school", "School"
    AGENCY = "agency", "Agency"
    PUBLIC = "public", "Member of the public"
    OTHER_LA = "other_la", "Another local authority"
    DETECTION = "detection", "Authority's own data"
    LA_TEAM = "la_team", "Local authority team"


class FormOfProvision(models.TextChoices):
    MAINSTREAM = "mainstream", "Mainstream school"
    ALTERNATIVE = "alternative", "Alternative provision"
    SPECIAL = "special", "Special school"
    EOTAS = "eotas", "Education otherwise than at school"


class Case(models.Model):
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="cases")
    state = models.CharField(
        max_length=20, choices=CaseState.choices, default=CaseState.RECEIVED, db_index=True
    )
    route = models.CharField(max_length=10, choices=ReferralRoute.choices)
    # Statutory dates (reporting.md: pace into provision).
    date_referred = models.DateField("date referred in")
    date_of_assessment = models.DateField(null=True, blank=True)
    date_provision_determined = models.DateField(
        "date form of provision determined", null=True, blank=True
    )
    date_moved_into_provision = models.DateField(null=True, blank=True)
    provision_recommended = models.CharField(
        "form of provision recommended", max_length=12, choices=FormOfProvision.choices, blank=True
    )
    provision_accessed = models.CharField(
        "form of provision accessed", max_length=12, choices=FormOfProvision.choices, blank=True
    )
    # Last known education.
    last_education_place = models.CharField(max_length=200, blank=True)
    last_education_school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
    )
    last_education_date = models.DateField("date of last known education", null=True, blank=True)
    assigned_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    team = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="team_cases",
        limit_choices_to={"kind": "la_team"},
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_reason = models.CharField(max_length=300, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_referred", "-id"]
        indexes = [models.Index(fields=["state", "assigned_officer"])]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_state_display()})"

    @property
    def reference(self) -> str:
        return f"CME-{self.pk:06d}" if self.pk else "CME-(new)"

    @property
    def is_open(self) -> bool:
        return self.state != CaseState.CLOSED


class CaseStateChange(models.Model):
    """Append-only history of the case's states: who moved it, when and why."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=20, choices=CaseState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=CaseState.choices)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_state or 'new'} → {self.to_state}"


class ChronologyKind(models.TextChoices):
    STATE = "state", "State change"
    NOTE = "note", "Note"
    CONTACT = "contact", "Contact"
    CHECK = "check", "Check"
    ASSIGNMENT = "assignment", "Assignment"
    REFERRAL = "referral", "Referral"


class ChronologyEvent(models.Model):
    """The case's chronology: what happened, in order, as a CME officer would write it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="chronology")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=12, choices=ChronologyKind.choices)
    summary = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%d %b %Y} {self.get_kind_display()}"
