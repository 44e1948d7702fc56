"""A referral: information about a child arriving at the front door (forms.md §1).

One record type for every route. A school referral also records the school's six checks
(:class:`SchoolCheck`) and the roll entry the pupil was chosen from; an agency referral
says how the agency met the child; a public report keeps only what a member of the public
can know, with an optional way to contact them.
"""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils import timezone

from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.organisations.models import Organisation
from cmetrack.people.choices import Relationship, Sex
from cmetrack.people.models import Child, validate_upn
from cmetrack.registers.models import RollEntry

# Unambiguous characters for references read out over the phone.
_REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXY3456789"


def new_acknowledgement_reference() -> str:
    return "R-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(8))


class ReferralStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    TRIAGED = "triaged", "Triaged"
    LINKED = "linked", "Linked to a case"
    NOT_CME = "not_cme", "Not children missing education"


class Concern(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Not known"


class AgencySituation(models.TextChoices):
    NOT_ON_ROLL = "not_on_roll", "Not on any school roll"
    WHEREABOUTS_UNKNOWN = "whereabouts_unknown", "Whereabouts not known"


class TriageOutcome(models.TextChoices):
    SLO_INVESTIGATION = "slo_investigation", "Sent to the School Liaison Officer"
    TRACKING = "tracking", "Sent to CME tracking"
    NOT_SCHOOL_AGE = "not_school_age", "Not CME: not of compulsory school age"
    DUPLICATE = "duplicate", "Duplicate of an open case"


#: The keys each parent or carer row holds (``Referral.parents_carers``).
PARENT_KEYS = ("name", "relationship", "phone", "email")


def parents_carers_problems(rows: Any) -> list[str]:
    """What is wrong with a list of parent or carer rows, in words the referrer can act on."""
    if not isinstance(rows, list):
        return ["Parents and carers must be a list."]
    problems: list[str] = []
    relationships = {str(v) for v in Relationship.values}
    for n, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or set(row) - set(PARENT_KEYS):
            problems.append(f"Parent or carer {n}: only {', '.join(PARENT_KEYS)} are recorded.")
            continue
        if not str(row.get("name", "")).strip():
            problems.append(f"Enter the name of parent or carer {n}")
        if str(row.get("relationship", "")) not in relationships:
            problems.append(f"Select the relationship of parent or carer {n} to the child")
        email = str(row.get("email", "") or "")
        if email:
            try:
                validate_email(email)
            except ValidationError:
                problems.append(
                    f"Enter the email address of parent or carer {n} in the correct format, "
                    "like name@example.org"
                )
        if len(str(row.get("phone", "") or "")) > 40:
            problems.append(
                f"The phone number of parent or carer {n} must be 40 characters or fewer"
            )
    return problems


def validate_parents_carers(rows: Any) -> None:
    problems = parents_carers_problems(rows)
    if problems:
        raise ValidationError(problems)


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
    family_name = models.CharField(max_length=100, blank=True)
    aliases = models.CharField("other names", max_length=300, blank=True)
    dob = models.DateField("date of birth", null=True, blank=True)
    approximate_age = models.PositiveSmallIntegerField(null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    gender = models.CharField(max_length=50, blank=True)
    upn = models.CharField(
        "UPN", max_length=13, blank=True, db_index=True, validators=[validate_upn]
    )
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
    roll_entry = models.ForeignKey(
        RollEntry,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The roll entry a school chose the pupil from.",
    )
    parents_carers = models.JSONField(
        default=list, blank=True, validators=[validate_parents_carers]
    )
    siblings = models.TextField("siblings and their schools", blank=True)
    reason = models.TextField()
    # School referrals.
    date_last_attendance = models.DateField("date of last attendance", null=True, blank=True)
    absence_school_days = models.PositiveSmallIntegerField(
        "school days of continuous unexplained absence", null=True, blank=True
    )
    all_checks_complete = models.BooleanField(
        "the school states every check is complete", default=False
    )
    # Agency referrals.
    situation = models.CharField(max_length=20, choices=AgencySituation.choices, blank=True)
    how_met = models.TextField("how the agency met the child", blank=True)
    # Every route.
    safeguarding_concern = models.CharField(
        max_length=7, choices=Concern.choices, default=Concern.UNKNOWN
    )
    safeguarding_details = models.TextField(blank=True)
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
    triage_outcome = models.CharField(max_length=20, choices=TriageOutcome.choices, blank=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        # The queues read newest first: the triage queue (status), by route, and an
        # organisation's own referrals.
        indexes = [
            models.Index(fields=["status", "-received_at", "-id"], name="referral_queue"),
            models.Index(
                fields=["status", "route", "-received_at", "-id"], name="referral_route_queue"
            ),
            models.Index(
                fields=["referring_organisation", "-received_at", "-id"], name="referral_org_queue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_route_display()})"

    @property
    def child_name(self) -> str:
        return " ".join(p for p in (self.given_names, self.family_name) if p)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.safeguarding_concern == Concern.YES and not self.safeguarding_details.strip():
            errors["safeguarding_details"] = "Describe the safeguarding concern"
        if self.dob and self.dob > timezone.localdate():
            errors["dob"] = "Date of birth must be in the past"
        if self.date_last_attendance and self.date_last_attendance > timezone.localdate():
            errors["date_last_attendance"] = "Date of last attendance must be today or in the past"
        if errors:
            raise ValidationError(errors)


class CheckKind(models.TextChoices):
    """The school's six checks (forms.md §1), in the order the form asks them."""

    TELEPHONED = "telephoned", "Telephoned every contact number for parents, carers and family"
    SIBLINGS_SAME_SCHOOL = "siblings_same_school", "Spoke to siblings and relatives at this school"
    FRIENDS = "friends", "Spoke to the child's friends"
    SIBLINGS_OTHER_SCHOOLS = (
        "siblings_other_schools",
        "Spoke to staff at siblings' other schools",
    )
    HOME_VISITS = "home_visits", "Home visits at different times of day"
    SLO_DISCUSSED = "slo_discussed", "Discussed with the linked School Liaison Officer"


class CheckStatus(models.TextChoices):
    DONE = "done", "Done"
    NOT_POSSIBLE = "not_possible", "Not possible"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class SchoolCheck(models.Model):
    """One of the school's checks for one referral: done, not possible (why) or n/a."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="checks")
    kind = models.CharField(max_length=25, choices=CheckKind.choices)
    status = models.CharField(max_length=15, choices=CheckStatus.choices)
    done_on = models.DateField(null=True, blank=True)
    result = models.TextField(blank=True)
    reason = models.TextField("why it was not possible", blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["referral", "kind"], name="unique_school_check")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.get_status_display()}"

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.status == CheckStatus.DONE and self.done_on is None:
            errors["done_on"] = "Enter the date the check was done"
        if self.done_on and self.done_on > timezone.localdate():
            errors["done_on"] = "The date of the check must be today or in the past"
        if self.status == CheckStatus.NOT_POSSIBLE and not self.reason.strip():
            errors["reason"] = "Say why the check was not possible"
        if errors:
            raise ValidationError(errors)
