"""The children-not-in-school register (Children's Wellbeing and Schools Act 2026, s38;
rules.md §8).

The register itself is not stored: it is built, for any date, from the home-education
list (``registers.HomeEducationRecord``), the CME cases of children living in the area and
not in school, and the arrangements here for children registered at a school but
educated elsewhere for part of the school day (or part-time students). This app stores
only what the register needs and nothing else holds: the estimated time educated by the
parents, each other provider and its time, and the optional items. Written only by
:mod:`cmetrack.cnis.services`.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from cmetrack.organisations.models import Organisation

HOURS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("168"))]


class YesNoUnknown(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "", "Not known"


class RegisterDetails(models.Model):
    """What the register records about one child beyond the child's own record."""

    child = models.OneToOneField(
        "people.Child", on_delete=models.PROTECT, related_name="cnis_details"
    )
    parent_hours_per_week = models.DecimalField(
        "estimated hours a week educated by the parents",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=HOURS,
    )
    no_other_providers = models.BooleanField(
        "confirmed that nobody else educates the child", default=False
    )
    # Optional items (s38): recorded where known.
    child_protection_enquiries = models.CharField(
        max_length=3, choices=YesNoUnknown.choices, blank=True, default=YesNoUnknown.UNKNOWN
    )
    child_in_need = models.CharField(
        max_length=3, choices=YesNoUnknown.choices, blank=True, default=YesNoUnknown.UNKNOWN
    )
    protected_characteristics = models.CharField(
        max_length=300, blank=True, help_text="Only what the family has chosen to share."
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "register details"
        verbose_name_plural = "register details"

    def __str__(self) -> str:
        return f"Register details of child {self.child_id}"


class ProviderType(models.TextChoices):
    TUTOR = "tutor", "Tutor"
    ONLINE_SCHOOL = "online_school", "Online school or course"
    TUITION_CENTRE = "tuition_centre", "Tuition centre"
    ALTERNATIVE_PROVISION = "alternative_provision", "Alternative provision"
    COLLEGE = "college", "College"
    OUT_OF_SCHOOL_SETTING = "out_of_school_setting", "Out-of-school setting"
    OTHER = "other", "Other"


class OtherProvider(models.Model):
    """Someone other than the parents who educates the child, with the time spent."""

    child = models.ForeignKey(
        "people.Child", on_delete=models.PROTECT, related_name="cnis_providers"
    )
    name = models.CharField("provider's name", max_length=200)
    address = models.CharField("provider's address", max_length=300, blank=True)
    provider_type = models.CharField(max_length=24, choices=ProviderType.choices)
    where = models.CharField(
        "where the education takes place",
        max_length=300,
        blank=True,
        help_text="An address, or the website for online education.",
    )
    online = models.BooleanField(default=False)
    hours_per_week = models.DecimalField(
        "estimated hours a week",
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=HOURS,
    )
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_provider_type_display()})"

    def clean(self) -> None:
        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            raise ValidationError({"ended_on": "The end date must be on or after the start date"})


class PartTimeKind(models.TextChoices):
    ELSEWHERE = "elsewhere", "Registered at a school, educated elsewhere for part of the day"
    PART_TIME_STUDENT = "part_time_student", "Part-time student"


class PartTimeArrangement(models.Model):
    """A child registered at a school but educated elsewhere for part of the school day,
    or a part-time student: on the register while the arrangement lasts."""

    child = models.ForeignKey(
        "people.Child", on_delete=models.PROTECT, related_name="cnis_part_time"
    )
    school = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=PartTimeKind.choices)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    details = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} from {self.started_on:%d %b %Y}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.kind == PartTimeKind.ELSEWHERE and self.school_id is None:
            errors["school"] = "Select the school the child is registered at"
        if self.started_on and self.ended_on and self.ended_on < self.started_on:
            errors["ended_on"] = "The end date must be on or after the start date"
        if errors:
            raise ValidationError(errors)
