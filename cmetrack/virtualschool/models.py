"""Virtual School: children in care, their placements, alerts and education plans.

* :class:`ChildInCare` is a child's in-care record (one per child; the people app's
  ``Child.in_care`` and ``responsible_la`` are kept in step by the services, so every other
  app, detection included, sees the child as in care by their UPN).
* :class:`Placement` is the placement history, one current placement at a time.
* :class:`PlacementAlert` is a Virtual School alert: the child moved placement without a
  school place.
* :class:`PersonalEducationPlan` is forms.md §6, with its two :class:`PepTarget` rows and
  its :class:`PepReview` meetings.

Writes go only through :mod:`cmetrack.virtualschool.services` (validated and audited);
reads through :mod:`cmetrack.virtualschool.selectors` (scoped).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

from cmetrack.cases.models import Case
from cmetrack.organisations.models import LocalAuthority, Organisation
from cmetrack.people.models import Child


class LegalStatus(models.TextChoices):
    """The legal status of a child in care (the DfE SSDA903 codes)."""

    C1 = "C1", "Interim care order (section 38)"
    C2 = "C2", "Full care order (section 31)"
    D1 = "D1", "Freeing order granted"
    E1 = "E1", "Placement order granted"
    V2 = "V2", "Accommodated under section 20 (single period)"
    V3 = "V3", "Section 20: agreed series of short-term breaks (individual episodes)"
    V4 = "V4", "Section 20: agreed series of short-term breaks (when agreements recorded)"
    J1 = "J1", "On remand, or committed for trial or sentence, and accommodated by the LA"
    J2 = "J2", "Detained in LA accommodation under PACE"
    J3 = "J3", "Youth rehabilitation order with a residence or fostering requirement"
    L1 = "L1", "Under police protection, in LA accommodation"
    L2 = "L2", "Emergency protection order"
    L3 = "L3", "Child assessment order, in LA accommodation"


class PlacementType(models.TextChoices):
    """The type of a placement (the DfE SSDA903 codes)."""

    U1 = "U1", "Foster placement with a relative or friend: long-term"
    U2 = "U2", "Foster placement with a relative or friend who is an approved adopter"
    U3 = "U3", "Foster placement with a relative or friend: other"
    U4 = "U4", "Foster placement with another foster carer: long-term"
    U5 = "U5", "Foster placement with another foster carer who is an approved adopter"
    U6 = "U6", "Foster placement with another foster carer: other"
    A5 = "A5", "Placed for adoption (placement order) with the current foster carer"
    A6 = "A6", "Placed for adoption (placement order), not with the current foster carer"
    P1 = "P1", "Placed with own parents or another person with parental responsibility"
    P2 = "P2", "Independent living (flat, lodgings, bedsit or with friends)"
    H5 = "H5", "Supported accommodation"
    K1 = "K1", "Secure children's home"
    K2 = "K2", "Children's home"
    R1 = "R1", "Residential care home"
    R2 = "R2", "NHS or health trust establishment"
    R3 = "R3", "Family centre or mother and baby unit"
    R5 = "R5", "Young offender institution or prison"
    S1 = "S1", "Residential school"
    T0 = "T0", "Temporary placement"
    Z1 = "Z1", "Other placement"


class ChildInCare(models.Model):
    """A child's in-care record: who is responsible, the social worker, the legal status."""

    child = models.OneToOneField(Child, on_delete=models.PROTECT, related_name="care_record")
    responsible_authority = models.ForeignKey(
        LocalAuthority,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="responsible local authority",
    )
    legal_status = models.CharField(max_length=2, choices=LegalStatus.choices)
    came_into_care_on = models.DateField("date came into care")
    ceased_on = models.DateField("date ceased to be looked after", null=True, blank=True)
    social_worker_name = models.CharField(max_length=150)
    social_worker_team = models.CharField(max_length=150, blank=True)
    social_worker_phone = models.CharField(max_length=40, blank=True)
    social_worker_email = models.EmailField(blank=True)
    lead_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="Virtual School lead officer",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "child in care record"
        ordering = ["child__legal_family_name", "child__legal_given_names"]

    def __str__(self) -> str:
        return f"In-care record of child {self.child_id}"

    def clean(self) -> None:
        if self.ceased_on and self.came_into_care_on and self.ceased_on < self.came_into_care_on:
            raise ValidationError(
                {
                    "ceased_on": "The date ceased to be looked after must be after the date "
                    "the child came into care"
                }
            )
        if self.came_into_care_on and self.came_into_care_on > timezone.localdate():
            raise ValidationError(
                {"came_into_care_on": "The date came into care must be today or in the past"}
            )

    @property
    def is_current(self) -> bool:
        return self.ceased_on is None


class Placement(models.Model):
    """One care placement: where, of what type, placed by whom, and the school it has."""

    record = models.ForeignKey(ChildInCare, on_delete=models.PROTECT, related_name="placements")
    started_on = models.DateField("date the placement started")
    ended_on = models.DateField("date the placement ended", null=True, blank=True)
    placement_type = models.CharField(max_length=2, choices=PlacementType.choices)
    placing_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.PROTECT, related_name="+"
    )
    carer = models.CharField("carer or provider", max_length=150, blank=True)
    line1 = models.CharField("address line 1", max_length=150, blank=True)
    line2 = models.CharField("address line 2", max_length=150, blank=True)
    town = models.CharField("town or city", max_length=80, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    is_restricted = models.BooleanField(
        "restricted address",
        default=False,
        help_text="Shown only to people a CME manager has named for this child.",
    )
    school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
    )
    school_name = models.CharField("school (if not in the list)", max_length=200, blank=True)
    school_admitted_on = models.DateField(
        "date the school admitted the child", null=True, blank=True
    )
    reason = models.CharField("reason for the move", max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["record"],
                condition=Q(ended_on__isnull=True),
                name="one_current_placement",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_placement_type_display()} from {self.started_on:%d %b %Y}"

    def clean(self) -> None:
        if self.ended_on and self.started_on and self.ended_on < self.started_on:
            raise ValidationError(
                {"ended_on": "The end of a placement must be on or after its start"}
            )

    @property
    def is_current(self) -> bool:
        return self.ended_on is None

    @property
    def has_school(self) -> bool:
        return bool(self.school_id or self.school_name.strip())

    @property
    def school_display(self) -> str:
        if self.school_id and self.school is not None:
            return self.school.name
        return self.school_name or "No school recorded"

    @property
    def address(self) -> str:
        return ", ".join(p for p in (self.line1, self.line2, self.town, self.postcode) if p)


class PlacementAlertReason(models.TextChoices):
    NO_SCHOOL = "no_school", "Moved placement with no school recorded"
    NOT_ON_ROLL = "not_on_roll", "Moved placement: not yet on the new school's roll"


class PlacementAlert(models.Model):
    """A Virtual School alert: the child moved to a placement without a school place."""

    placement = models.ForeignKey(Placement, on_delete=models.PROTECT, related_name="alerts")
    reason = models.CharField(max_length=12, choices=PlacementAlertReason.choices)
    raised_on = models.DateField(default=timezone.localdate)
    resolved_on = models.DateField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["raised_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["placement", "reason"], name="one_placement_alert_per_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} (placement {self.placement_id})"

    @property
    def is_open(self) -> bool:
        return self.resolved_on is None


class SuitableEducation(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    NOT_KNOWN = "not_known", "Not known"


class PersonalEducationPlan(models.Model):
    """The education plan of a child in care who is missing education (forms.md §6).

    Section A (personal and care information) is read from the child's record and in-care
    record when shown; only its contacts are kept here. Sections B and C do not apply.
    Section D is the meeting, the suitable-education question and the two targets."""

    record = models.ForeignKey(ChildInCare, on_delete=models.PROTECT, related_name="peps")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="education_plans")
    family_contacts = models.TextField("family contacts", blank=True)
    key_contacts = models.TextField(
        "key contacts", blank=True, help_text="Carer, designated teacher, other professionals."
    )
    meeting_on = models.DateField("date of the PEP meeting")
    attendees = models.TextField("who attended")
    summary = models.TextField("summary of the meeting")
    suitable_education = models.CharField(
        "receiving suitable education?", max_length=10, choices=SuitableEducation.choices
    )
    suitable_education_reasons = models.TextField("reasons", blank=True)
    review_on = models.DateField("review date")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "personal education plan"
        ordering = ["-meeting_on", "-id"]

    def __str__(self) -> str:
        return f"PEP of {self.meeting_on:%d %b %Y} ({self.case_id})"


class TargetArea(models.TextChoices):
    ATTENDANCE = "attendance", "Attendance"
    ACADEMIC = "academic", "Academic achievement"


class TargetStatus(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    IN_PROGRESS = "in_progress", "In progress"
    ACHIEVED = "achieved", "Achieved"
    NOT_ACHIEVED = "not_achieved", "Not achieved"


class PepTarget(models.Model):
    """One of the plan's two standard targets, with who does it, by when and progress."""

    pep = models.ForeignKey(PersonalEducationPlan, on_delete=models.CASCADE, related_name="targets")
    area = models.CharField(max_length=12, choices=TargetArea.choices)
    actions = models.TextField("what will be done")
    intervention = models.CharField("intervention type", max_length=100)
    improvement = models.CharField("improvement expected", max_length=200)
    responsible = models.CharField("who is responsible", max_length=150, blank=True)
    due_on = models.DateField("by when", null=True, blank=True)
    status = models.CharField(
        max_length=12, choices=TargetStatus.choices, default=TargetStatus.NOT_STARTED
    )
    progress = models.TextField(blank=True)

    class Meta:
        ordering = ["pep", "id"]
        constraints = [models.UniqueConstraint(fields=["pep", "area"], name="one_target_per_area")]

    def __str__(self) -> str:
        return f"{self.get_area_display()} target of PEP {self.pep_id}"


class PepReview(models.Model):
    """A review meeting of a plan: what was found, and the next review date."""

    pep = models.ForeignKey(PersonalEducationPlan, on_delete=models.CASCADE, related_name="reviews")
    reviewed_on = models.DateField("date of the review meeting")
    attendees = models.TextField("who attended")
    summary = models.TextField("summary of the review")
    suitable_education = models.CharField(
        "receiving suitable education?", max_length=10, choices=SuitableEducation.choices
    )
    suitable_education_reasons = models.TextField("reasons", blank=True)
    next_review_on = models.DateField("next review date")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reviewed_on", "id"]

    def __str__(self) -> str:
        return f"Review of PEP {self.pep_id} on {self.reviewed_on:%d %b %Y}"
