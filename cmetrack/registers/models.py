"""Registers the authority holds about pupils: dated roll snapshots from its schools.

A roll entry is register data, not a child record: a :class:`cmetrack.people.models.Child`
exists only when the authority works with that child. Detection and matching read rolls
set-based; the indexes serve those reads.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from cmetrack.organisations.models import Organisation
from cmetrack.people.choices import Sex


class EnrolmentStatus(models.TextChoices):
    CURRENT = "C", "Current (single registration)"
    MAIN = "M", "Main (dual registration)"
    SUBSIDIARY = "S", "Subsidiary (dual registration)"
    GUEST = "G", "Guest"


class RollSnapshot(models.Model):
    school = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="roll_snapshots"
    )
    taken_on = models.DateField(help_text="The date the roll was true on.")
    source = models.CharField(max_length=100, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text="SHA-256 of the snapshot's entries as imported: a repeat import is a no-op.",
    )

    class Meta:
        ordering = ["school", "-taken_on"]
        constraints = [
            models.UniqueConstraint(fields=["school", "taken_on"], name="unique_roll_snapshot")
        ]

    def __str__(self) -> str:
        return f"{self.school} roll on {self.taken_on:%d %b %Y}"


class RollEntry(models.Model):
    snapshot = models.ForeignKey(RollSnapshot, on_delete=models.CASCADE, related_name="entries")
    upn = models.CharField("UPN", max_length=13, db_index=True)
    former_upn = models.CharField("former UPN", max_length=13, blank=True)
    legal_given_name = models.CharField(max_length=100)
    legal_family_name = models.CharField(max_length=100)
    preferred_given_name = models.CharField(max_length=100, blank=True)
    preferred_family_name = models.CharField(max_length=100, blank=True)
    dob = models.DateField("date of birth")
    sex = models.CharField(max_length=1, choices=Sex.choices)
    address = models.CharField(max_length=300, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    nc_year = models.SmallIntegerField("national curriculum year", null=True, blank=True)
    entry_date = models.DateField(null=True, blank=True)
    enrolment_status = models.CharField(
        max_length=1, choices=EnrolmentStatus.choices, default=EnrolmentStatus.CURRENT
    )

    class Meta:
        verbose_name_plural = "roll entries"
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "upn"], name="unique_roll_entry_upn")
        ]
        indexes = [models.Index(fields=["legal_family_name", "dob"])]

    def __str__(self) -> str:
        return f"{self.legal_given_name} {self.legal_family_name} ({self.upn})"


class HomeEducationRecord(models.Model):
    """A child on the authority's home-education list (elective home education).

    Written by :func:`cmetrack.registers.services.home_education_record_add`, for example when
    a CME case closes because the child is home educated. The Virtual School, reports and the
    children-not-in-school register (issue 10) build on it.
    """

    child = models.ForeignKey(
        "people.Child", on_delete=models.PROTECT, related_name="home_education_records"
    )
    started_on = models.DateField("home education known from")
    ended_on = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=200, help_text="How the authority learned of it.")
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["child"],
                condition=models.Q(ended_on__isnull=True),
                name="one_open_home_education_record_per_child",
            )
        ]

    def __str__(self) -> str:
        return f"Home educated from {self.started_on:%d %b %Y}"
