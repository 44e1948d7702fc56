"""What the monitoring keeps: every issued termly report, and the self-evaluation ratings.

Both are append-only evidence. A report is never edited: a second issue of the same term is
a new row. A rating is never edited: a new rating of a point is a new row, and the latest
is the point's current rating. Rows are written only by :mod:`cmetrack.reports.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class TermlyReport(models.Model):
    """One issued termly report: the figures as they were, the HTML and the PDF."""

    season = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    as_at = models.DateField("figures as at")
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True, max_length=10000)
    figures = models.JSONField(default=dict)
    html = models.TextField()
    pdf = models.BinaryField()
    issued_at = models.DateTimeField(default=timezone.now)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_by_label = models.CharField(max_length=254)

    class Meta:
        ordering = ["-issued_at", "-id"]
        indexes = [models.Index(fields=["year", "season", "-issued_at"])]

    def __str__(self) -> str:
        return f"{self.title} (issued {self.issued_at:%d %b %Y %H:%M})"


class Rating(models.TextChoices):
    NOT_IDENTIFIED = "N", "N: not previously identified, plan made"
    WORKING_TOWARDS = "W", "W: working towards"
    ACHIEVED = "A", "A: achieved, evidence available"
    EMBEDDED = "E", "E: embedded, in place for a period and reviewed"


class ChecklistRating(models.Model):
    """One rating of one of the 22 self-evaluation points (reporting.md)."""

    point = models.PositiveSmallIntegerField()
    rating = models.CharField(max_length=1, choices=Rating.choices)
    rated_on = models.DateField("date rated")
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rated_by_label = models.CharField(max_length=254)
    plan = models.TextField(blank=True, max_length=4000)
    notes = models.TextField(blank=True, max_length=4000)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["point", "-recorded_at", "-id"]
        indexes = [models.Index(fields=["point", "-recorded_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(point__gte=1, point__lte=22), name="checklist_point_1_to_22"
            )
        ]

    def __str__(self) -> str:
        return f"Point {self.point}: {self.rating} on {self.rated_on:%d %b %Y}"


class DfeSubmission(models.Model):
    """A DfE termly return as submitted: the file's bytes exactly as they were, who
    submitted it and when. Never edited: submitting the term again is a new row, and any
    earlier one can be downloaded again byte for byte (its SHA-256 is kept to show it)."""

    season = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    census = models.DateField("census day")
    filename = models.CharField(max_length=100)
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField()
    notes = models.TextField(blank=True, max_length=4000)
    submitted_at = models.DateTimeField(default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_by_label = models.CharField(max_length=254)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [models.Index(fields=["year", "season", "-submitted_at"])]

    def __str__(self) -> str:
        return (
            f"DfE return {self.season} {self.year} (submitted {self.submitted_at:%d %b %Y %H:%M})"
        )
