"""Safeguarding records on a case (forms.md §3, §4; rules.md §6; README "Case lifecycle").

Every row here is append-only history written by :mod:`cmetrack.safeguarding.services`:
a new screening is a new row (the latest is current), a risk assessment is recorded once
and then authorised once, a dormant review is never changed.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cmetrack.cases.models import Case

from .rules import SCREENING_CHOICES, Answer, RiskFactor, RiskLevel


class ScreeningStage(models.TextChoices):
    INTAKE = "intake", "At intake"
    UPDATE = "update", "Updated"


class VulnerabilityScreening(models.Model):
    """One vulnerability screening of a case (forms.md §4). The latest is current."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="screenings")
    stage = models.CharField(max_length=10, choices=ScreeningStage.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["case", "-recorded_at"], name="screening_case_latest")]

    def __str__(self) -> str:
        return f"Screening of {self.recorded_at:%d %b %Y}"

    def answer_map(self) -> dict[str, str]:
        return {a.question: a.answer for a in self.answers.all()}


class ScreeningAnswer(models.Model):
    screening = models.ForeignKey(
        VulnerabilityScreening, on_delete=models.CASCADE, related_name="answers"
    )
    question = models.CharField(max_length=30, choices=SCREENING_CHOICES)
    answer = models.CharField(max_length=7, choices=Answer.choices)
    details = models.TextField(blank=True, max_length=2000)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["screening", "question"], name="one_answer_per_question"
            )
        ]

    def __str__(self) -> str:
        return f"{self.question}: {self.answer}"


class RiskAssessment(models.Model):
    """A risk assessment (forms.md §3), recorded by an officer and authorised by a manager
    who is not that officer. The header comes from the case when it is shown."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="risk_assessments")
    date_of_assessment = models.DateField()
    summary = models.TextField("summary of the referral", max_length=10000)
    risk_level = models.CharField(max_length=6, choices=RiskLevel.choices)
    sent_to = models.JSONField(default=list, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="officer completing",
    )
    recorded_at = models.DateTimeField(default=timezone.now)
    authorised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    authorised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["case", "authorised_at"], name="ra_case_authorised")]

    def __str__(self) -> str:
        return f"Risk assessment of {self.date_of_assessment:%d %b %Y} ({self.risk_level})"

    @property
    def is_authorised(self) -> bool:
        return self.authorised_at is not None


class RiskFactorAnswer(models.Model):
    assessment = models.ForeignKey(RiskAssessment, on_delete=models.CASCADE, related_name="factors")
    factor = models.PositiveSmallIntegerField(choices=RiskFactor.choices)
    answer = models.CharField(max_length=7, choices=Answer.choices)
    supporting_information = models.TextField(blank=True, max_length=4000)

    class Meta:
        ordering = ["factor"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "factor"], name="one_answer_per_factor")
        ]

    def __str__(self) -> str:
        return f"{self.factor}: {self.answer}"


class DormantReview(models.Model):
    """A monthly review of a dormant case (rules.md §6)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="dormant_reviews")
    reviewed_on = models.DateField()
    checked = models.TextField("what was checked", max_length=4000)
    result = models.TextField(max_length=4000)
    risk_level_holds = models.BooleanField("the risk level still holds")
    reopened_tracking = models.BooleanField(default=False)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reviewed_on", "-id"]
        indexes = [models.Index(fields=["case", "-reviewed_on"], name="review_case_latest")]

    def __str__(self) -> str:
        return f"Dormant review of {self.reviewed_on:%d %b %Y}"


class VirtualSchoolNotice(models.Model):
    """A child in care on a CME case: the Virtual School was told and leads; the child is
    not taken off roll until a new school has admitted them (README "Case lifecycle")."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="virtual_school")
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The Virtual School officer who leads; empty until the team names one.",
    )
    keep_on_roll_until_admitted = models.BooleanField(default=True)
    told_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    told_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Virtual School told about case {self.case_id}"
