"""Tracking work on a case (forms.md §2, README "Case lifecycle": tracking).

The address-search checklist (sources kept by administrators, one check row per case and
source each time it is recorded, the latest being current), contact attempts, notes
(append-only) and tasks. Rows are written only by :mod:`cmetrack.casework.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cmetrack.cases.models import Case


class AddressSearchSource(models.Model):
    """One local source the CME team searches for a child's address (forms.md §2)."""

    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=300, blank=True)
    active = models.BooleanField(
        default=True, help_text="Only active sources are on the checklist of a case."
    )
    order = models.PositiveSmallIntegerField(default=0, help_text="Position on the checklist.")

    class Meta:
        ordering = ["order", "name"]
        verbose_name = "address search source"

    def __str__(self) -> str:
        return self.name


class CheckStatus(models.TextChoices):
    CHECKED = "checked", "Checked"
    NOT_APPLICABLE = "not_applicable", "Not applicable"
    NOT_AVAILABLE = "not_available", "Not available"


class CheckResult(models.TextChoices):
    FOUND = "found", "Found"
    NOT_FOUND = "not_found", "Not found"


def _not_in_future(errors: dict[str, str], field: str, value: object, what: str) -> None:
    if value is not None and value > timezone.localdate():  # type: ignore[operator]
        errors[field] = f"{what} must be today or in the past"


class AddressSearchCheck(models.Model):
    """A search of one source for one case. History is kept: the latest row per (case,
    source) is the current answer on the checklist."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="address_checks")
    source = models.ForeignKey(AddressSearchSource, on_delete=models.PROTECT, related_name="checks")
    status = models.CharField(max_length=16, choices=CheckStatus.choices)
    date = models.DateField("date checked", null=True, blank=True)
    result = models.CharField(max_length=10, choices=CheckResult.choices, blank=True)
    details = models.TextField(blank=True, max_length=2000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        indexes = [models.Index(fields=["case", "source", "-recorded_at"])]

    def __str__(self) -> str:
        return f"{self.source}: {self.get_status_display()}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.status == CheckStatus.CHECKED:
            if self.date is None:
                errors["date"] = "Enter the date you checked this source"
            if not self.result:
                errors["result"] = "Select whether the child was found"
            elif self.result == CheckResult.FOUND and not self.details.strip():
                errors["details"] = "Enter what you found"
        elif self.result:
            errors["result"] = "Only a source that was checked has a result"
        _not_in_future(errors, "date", self.date, "The date checked")
        if errors:
            raise ValidationError(errors)


class ContactMethod(models.TextChoices):
    PHONE = "phone", "Phone"
    EMAIL = "email", "Email"
    LETTER = "letter", "Letter"
    HOME_VISIT = "home_visit", "Home visit"
    AGENCY_CHECK = "agency_check", "Agency check"
    OTHER_LA = "other_la", "Another local authority"


class ContactOutcome(models.TextChoices):
    SUCCESSFUL = "successful", "Successful"
    NO_ANSWER = "no_answer", "No answer"
    WRONG_NUMBER = "wrong_number", "Wrong number or address"
    MOVED_AWAY = "moved_away", "Moved away"
    OTHER = "other", "Other"


class ContactAttempt(models.Model):
    """An attempt to reach the family, an agency or another authority about the child."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="contact_attempts")
    method = models.CharField(max_length=12, choices=ContactMethod.choices)
    date = models.DateField("date of the attempt")
    time = models.TimeField("time of the attempt", null=True, blank=True)
    with_whom = models.CharField("who was contacted", max_length=200)
    outcome = models.CharField(max_length=12, choices=ContactOutcome.choices)
    notes = models.TextField(blank=True, max_length=4000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-date", "-time", "-id"]
        # The no-contact queue takes Max(date) per case.
        indexes = [models.Index(fields=["case", "date"])]

    def __str__(self) -> str:
        return f"{self.get_method_display()} on {self.date:%d %b %Y}: {self.get_outcome_display()}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        _not_in_future(errors, "date", self.date, "The date of the attempt")
        if self.outcome == ContactOutcome.OTHER and not self.notes.strip():
            errors["notes"] = "Enter what happened"
        if errors:
            raise ValidationError(errors)


class CaseNote(models.Model):
    """A note on the case. Append-only: a correction is a new note."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="notes")
    text = models.TextField(max_length=10000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"Note of {self.at:%d %b %Y %H:%M}"


class TaskStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class TaskKind(models.TextChoices):
    FREE = "free", "Task"
    FOLLOW_UP = "follow_up", "Follow-up: no recent contact"
    RISK_ASSESSMENT = "risk_assessment", "Risk assessment action"
    CONSULTATION = "consultation", "Consultation outcome"


class Task(models.Model):
    """Something someone must do on a case by a date."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=200)
    details = models.TextField(blank=True, max_length=4000)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="tasks"
    )
    due = models.DateField("due date")
    status = models.CharField(
        max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN, db_index=True
    )
    kind = models.CharField(max_length=16, choices=TaskKind.choices, default=TaskKind.FREE)
    #: For a follow-up: the date the gap in contact began (last contact, or referral).
    gap_since = models.DateField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    #: For a consultation outcome: the consultation it came from.
    consultation = models.ForeignKey(
        "Consultation", null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )

    class Meta:
        ordering = ["due", "id"]
        indexes = [models.Index(fields=["owner", "status", "due"])]
        constraints = [
            # One follow-up per gap in contact, however often the prompts run.
            models.UniqueConstraint(
                fields=["case", "gap_since"],
                condition=Q(kind="follow_up"),
                name="one_follow_up_per_gap",
            )
        ]

    def __str__(self) -> str:
        return self.title

    def is_overdue(self, today: object = None) -> bool:
        today = today or timezone.localdate()
        return self.status == TaskStatus.OPEN and self.due < today  # type: ignore[operator]


class ConsultedWith(models.TextChoices):
    CENTRAL_REFERRAL_UNIT = "cru", "Central referral unit"
    EDUCATION_SAFEGUARDING = "esa", "Education safeguarding team"
    SOCIAL_CARE = "social_care", "Children's social care"
    POLICE = "police", "Police"
    OTHER = "other", "Other professional"


class Consultation(models.Model):
    """A professional consultation about a case (the county's central-referral-unit
    consultation, forms.md §3): named or anonymous, whether the family was told and, if
    not, why. Its outcomes become tasks on the case. Append-only."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="consultations")
    consulted_on = models.DateField("date of the consultation")
    consulted_with = models.CharField(max_length=12, choices=ConsultedWith.choices)
    consultee = models.CharField("who was consulted", max_length=200, blank=True)
    named = models.BooleanField(
        help_text="True if the child and family were named; False for an anonymous consultation."
    )
    family_told = models.BooleanField("the family was told about the consultation")
    not_told_reason = models.TextField("why the family was not told", blank=True, max_length=2000)
    advice = models.TextField("advice given", max_length=4000)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-consulted_on", "-id"]

    def __str__(self) -> str:
        return (
            f"Consultation with {self.get_consulted_with_display()} on {self.consulted_on:%d %b %Y}"
        )

    def clean(self) -> None:
        errors: dict[str, str] = {}
        _not_in_future(errors, "consulted_on", self.consulted_on, "The date of the consultation")
        if not self.family_told and not self.not_told_reason.strip():
            errors["not_told_reason"] = "Enter why the family was not told"
        if self.family_told and self.not_told_reason.strip():
            errors["not_told_reason"] = "Only give a reason if the family was not told"
        if self.consulted_with == ConsultedWith.OTHER and not self.consultee.strip():
            errors["consultee"] = "Enter who you consulted"
        if not self.advice.strip():
            errors["advice"] = "Enter the advice given"
        if errors:
            raise ValidationError(errors)
