"""Registers the authority holds about pupils: dated roll snapshots from its schools.

A roll entry is register data, not a child record: a :class:`cmetrack.people.models.Child`
exists only when the authority works with that child. Detection and matching read rolls
set-based; the indexes serve those reads.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
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


class LearntFrom(models.TextChoices):
    """How the authority learnt that a child is electively home educated."""

    DELETION_RETURN = "deletion_return", "School's deletion return, ground (f)"
    PARENT = "parent", "The parent told the authority"
    CASE = "case", "Found during a CME case"
    OTHER_LA = "other_la", "Another local authority"
    OTHER = "other", "Other"


class SenStatus(models.TextChoices):
    EHC_PLAN = "ehc_plan", "Education, health and care plan"
    SEN_SUPPORT = "sen_support", "SEN support"
    NONE = "none", "No special educational needs"
    UNKNOWN = "unknown", "Not known"


class EheReason(models.TextChoices):
    """The parent's primary reason for home education, as the DfE's termly return counts
    it (docs/dfe-return.md: the wording is ours until checked against the DfE guide)."""

    PHILOSOPHICAL = "philosophical", "Philosophical or preferential reasons"
    LIFESTYLE = "lifestyle", "Lifestyle choice"
    RELIGIOUS = "religious", "Religious grounds"
    CULTURAL = "cultural", "Cultural reasons"
    DISSATISFIED = "dissatisfied", "Dissatisfaction with the school"
    SEN = "sen", "Special educational needs"
    MENTAL_HEALTH = "mental_health", "Mental health"
    PHYSICAL_HEALTH = "physical_health", "Physical health"
    BULLYING = "bullying", "Bullying"
    NO_PLACE = "no_place", "Did not get a place at a preferred school"
    EXCLUSION = "exclusion", "Exclusion, or to avoid exclusion"
    TEMPORARY = "temporary", "Temporary intervention until a school place is found"
    OTHER = "other", "Other"
    NOT_KNOWN = "", "Not known"


class EheEnd(models.TextChoices):
    """Why a child left the home-education list (the DfE counts returns to school)."""

    RETURNED_TO_SCHOOL = "returned_to_school", "Returned to school"
    SCHOOL_ATTENDANCE_ORDER = "sao", "Registered at a school under a school attendance order"
    MOVED_AWAY = "moved_away", "Moved out of the authority"
    BEYOND_SCHOOL_AGE = "beyond_school_age", "Beyond compulsory school age"
    CME = "cme", "Education judged unsuitable: children missing education"
    OTHER = "other", "Other"


class HomeEducationNoticeKind(models.TextChoices):
    S437_1 = "s437_1", "Notice under section 437(1) of the Education Act 1996"
    SAO = "sao", "School attendance order (section 437(3))"


class HomeEducationRecord(models.Model):
    """A child on the authority's home-education list (elective home education).

    Written only by :mod:`cmetrack.registers.services`: when a parent tells the
    authority, when a school's deletion return gives ground (f), or when a CME case closes
    because the child is home educated. No further action is the default; a welfare
    concern (:class:`HomeEducationConcern`) opens a case. The children-not-in-school
    register (``cmetrack.cnis``), the matching engine and the figures read it.
    """

    child = models.ForeignKey(
        "people.Child", on_delete=models.PROTECT, related_name="home_education_records"
    )
    started_on = models.DateField("home education known from")
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    learnt_from = models.CharField(
        "how the authority learnt of it",
        max_length=20,
        choices=LearntFrom.choices,
        default=LearntFrom.OTHER,
    )
    learnt_on = models.DateField("date the authority learnt of it", null=True, blank=True)
    source = models.CharField(
        max_length=200, blank=True, help_text="How the authority learned of it, in detail."
    )
    previous_school = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    previous_school_name = models.CharField(
        "previous school (if not one of ours)", max_length=200, blank=True
    )
    sen_status = models.CharField(
        "SEN or EHC plan", max_length=12, choices=SenStatus.choices, default=SenStatus.UNKNOWN
    )
    primary_reason = models.CharField(
        "primary reason for home education",
        max_length=20,
        choices=EheReason.choices,
        blank=True,
        default="",
    )
    ended_because = models.CharField(
        "why home education ended", max_length=20, choices=EheEnd.choices, blank=True
    )
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
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
        indexes = [models.Index(fields=["started_on", "ended_on"])]

    def __str__(self) -> str:
        return f"Home educated from {self.started_on:%d %b %Y}"

    @property
    def is_open(self) -> bool:
        return self.ended_on is None

    @property
    def previous_school_text(self) -> str:
        if self.previous_school_id is not None:
            return str(self.previous_school)
        return self.previous_school_name or "Not known"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        today = timezone.localdate()
        if self.learnt_on and self.learnt_on > today:
            errors["learnt_on"] = "The date the authority learnt of it must be today or in the past"
        if self.ended_on and self.ended_on < self.started_on:
            errors["ended_on"] = "The end date must be on or after the start of home education"
        if self.ended_on and not self.end_reason.strip():
            errors["end_reason"] = "Enter why the child is no longer home educated"
        if errors:
            raise ValidationError(errors)


class HomeEducationNotice(models.Model):
    """A notice served about a child on the list: a section 437(1) notice (the parent must
    satisfy the authority that the education is suitable) or a school attendance order.
    The DfE's termly return counts both over the year. Written only by the services."""

    record = models.ForeignKey(
        HomeEducationRecord, on_delete=models.PROTECT, related_name="notices"
    )
    kind = models.CharField(max_length=8, choices=HomeEducationNoticeKind.choices)
    served_on = models.DateField("date served")
    notes = models.TextField(blank=True, max_length=4000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["served_on", "id"]
        indexes = [models.Index(fields=["kind", "served_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} served {self.served_on:%d %b %Y}"


class HomeEducationConcern(models.Model):
    """A welfare concern about a home-educated child. Recording one opens a CME case
    (through the referrals and cases services) or, if the child already has an open case,
    is added to that case. Append-only."""

    record = models.ForeignKey(
        HomeEducationRecord, on_delete=models.PROTECT, related_name="concerns"
    )
    raised_on = models.DateField("date the concern was raised")
    raised_by_whom = models.CharField("who raised it", max_length=200)
    details = models.TextField(max_length=4000)
    case = models.ForeignKey(
        "cases.Case", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    case_opened = models.BooleanField(
        default=False, help_text="False when the concern went to a case that was already open."
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-raised_on", "-id"]

    def __str__(self) -> str:
        return f"Concern raised {self.raised_on:%d %b %Y}"

    def clean(self) -> None:
        if self.raised_on and self.raised_on > timezone.localdate():
            raise ValidationError(
                {"raised_on": "The date the concern was raised must be today or in the past"}
            )


class ConsentStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a decision"
    GRANTED = "granted", "Consent given"
    REFUSED = "refused", "Consent refused"


class HomeEducationConsentRequest(models.Model):
    """A request for the authority's consent to withdraw a child from a school to be
    home educated (Children's Wellbeing and Schools Act 2026), and the decision.

    The grounds are recorded as known when the request is made (``registers.consent``);
    the school may not delete the child on ground (f) until consent is given.
    """

    child = models.ForeignKey(
        "people.Child", on_delete=models.PROTECT, related_name="home_education_consents"
    )
    school = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    requested_on = models.DateField("date of the request")
    requested_by = models.CharField("who asked", max_length=200)
    child_protection_enquiries = models.BooleanField(default=False)
    child_protection_plan = models.BooleanField(default=False)
    special_school = models.BooleanField(default=False)
    status = models.CharField(
        max_length=8, choices=ConsentStatus.choices, default=ConsentStatus.PENDING, db_index=True
    )
    decided_on = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_reason = models.TextField(blank=True, max_length=4000)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-requested_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["child", "school"],
                condition=models.Q(status="pending"),
                name="one_pending_consent_request_per_child_and_school",
            )
        ]

    def __str__(self) -> str:
        return f"Consent request of {self.requested_on:%d %b %Y}: {self.get_status_display()}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        today = timezone.localdate()
        if self.requested_on and self.requested_on > today:
            errors["requested_on"] = "The date of the request must be today or in the past"
        if self.decided_on and self.decided_on > today:
            errors["decided_on"] = "The date of the decision must be today or in the past"
        if self.decided_on and self.requested_on and self.decided_on < self.requested_on:
            errors["decided_on"] = "The decision cannot be before the request"
        if errors:
            raise ValidationError(errors)
