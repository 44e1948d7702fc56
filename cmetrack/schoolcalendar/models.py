"""The school calendar: LA-wide term dates and closure days (rules.md section 4).

Reference data the administrator maintains. A *school day* for a school is a weekday
inside a term that is not a closure day, LA-wide or for that school
(:func:`cmetrack.schoolcalendar.calendar.school_days_between`).
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from cmetrack.organisations.models import Organisation


class Term(models.Model):
    """One LA-wide term: its first and last day (both school days unless closed)."""

    term_start = models.DateField("first day of term", unique=True)
    term_end = models.DateField("last day of term")
    name = models.CharField(max_length=60, blank=True, help_text="For example, Autumn 2025.")

    class Meta:
        ordering = ["term_start"]

    def __str__(self) -> str:
        label = self.name or "Term"
        return f"{label}: {self.term_start:%d %b %Y} to {self.term_end:%d %b %Y}"

    def clean(self) -> None:
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise ValidationError({"term_end": "The last day of term must be after the first."})
        if self.term_start and self.term_end:
            overlapping = Term.objects.filter(
                term_start__lte=self.term_end, term_end__gte=self.term_start
            ).exclude(pk=self.pk)
            if overlapping.exists():
                raise ValidationError(f"This term overlaps {overlapping.first()}.")


class ClosureDay(models.Model):
    """A day with no sessions: LA-wide (``school`` empty) or for one school."""

    school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closure_days",
        limit_choices_to={"kind": "school"},
        help_text="Leave empty for a closure of every school in the authority.",
    )
    date = models.DateField(db_index=True)
    reason = models.CharField(max_length=200, help_text="For example, INSET day or bank holiday.")

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "date"],
                condition=models.Q(school__isnull=False),
                name="unique_school_closure_day",
            ),
            models.UniqueConstraint(
                fields=["date"],
                condition=models.Q(school__isnull=True),
                name="unique_la_closure_day",
            ),
        ]

    def __str__(self) -> str:
        where = self.school.name if self.school_id and self.school else "All schools"
        return f"{where}: {self.date:%d %b %Y} ({self.reason})"
