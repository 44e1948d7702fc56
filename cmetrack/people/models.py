"""A child and the people and places around them.

Reads go through :mod:`cmetrack.people.selectors` (scoped and audited); writes through
:mod:`cmetrack.people.services` (validated and audited). Nothing else touches these rows.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from cmetrack.organisations.models import LocalAuthority
from cmetrack.rules import is_valid_upn

from .choices import (
    AliasType,
    DobCertainty,
    Ethnicity,
    Relationship,
    SenProvision,
    Sex,
    SiblingRelationship,
    VulnerableGroup,
)


def validate_upn(value: str) -> None:
    if value and not is_valid_upn(value):
        raise ValidationError(f"{value} is not a valid UPN (check the letter and digits).")


class Child(models.Model):
    legal_given_names = models.CharField(max_length=100)
    legal_middle_names = models.CharField(max_length=100, blank=True)
    legal_family_name = models.CharField(max_length=100, db_index=True)
    dob = models.DateField("date of birth", null=True, blank=True, db_index=True)
    dob_certainty = models.CharField(
        "date of birth certainty",
        max_length=10,
        choices=DobCertainty.choices,
        default=DobCertainty.REPORTED,
    )
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    gender = models.CharField(max_length=50, blank=True, help_text="Only where recorded.")
    ethnicity = models.CharField(max_length=4, choices=Ethnicity.choices, blank=True)
    first_language = models.CharField(max_length=50, blank=True)
    upn = models.CharField(
        "UPN", max_length=13, null=True, blank=True, unique=True, validators=[validate_upn]
    )
    sen_provision = models.CharField(
        "SEN provision", max_length=1, choices=SenProvision.choices, default=SenProvision.NONE
    )
    in_care = models.BooleanField("child in care (looked after)", default=False)
    responsible_la = models.ForeignKey(
        LocalAuthority,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="responsible local authority",
    )
    child_protection_plan = models.BooleanField(default=False)
    child_in_need = models.BooleanField(
        "child in need",
        default=False,
        help_text="Open to children's social care as a child in need.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["legal_family_name", "legal_given_names"]
        verbose_name_plural = "children"
        indexes = [models.Index(fields=["legal_family_name", "dob"])]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(
            p
            for p in (self.legal_given_names, self.legal_middle_names, self.legal_family_name)
            if p
        )

    def clean(self) -> None:
        if self.responsible_la_id and not self.in_care:
            raise ValidationError(
                {"responsible_la": "Only a child in care has a responsible local authority."}
            )
        if self.dob and self.dob > timezone.localdate():
            raise ValidationError({"dob": "Date of birth must be in the past."})


class ChildAlias(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="aliases")
    alias_type = models.CharField(max_length=25, choices=AliasType.choices)
    given_names = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)

    class Meta:
        verbose_name_plural = "child aliases"

    def __str__(self) -> str:
        return f"{self.get_alias_type_display()}: {self.given_names} {self.family_name}".strip()


class FormerUpn(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="former_upns")
    upn = models.CharField("former UPN", max_length=13, db_index=True, validators=[validate_upn])
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["child", "upn"], name="unique_former_upn")]

    def __str__(self) -> str:
        return self.upn


class ChildVulnerability(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="vulnerabilities")
    group = models.CharField(max_length=30, choices=VulnerableGroup.choices)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "child vulnerabilities"
        constraints = [
            models.UniqueConstraint(fields=["child", "group"], name="unique_child_vulnerability")
        ]

    def __str__(self) -> str:
        return self.get_group_display()


class Address(models.Model):
    """An address a child lived at. A restricted address (fleeing domestic abuse, witness
    protection) is shown only to users allowed on the case and never leaves the system."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="addresses")
    line1 = models.CharField("address line 1", max_length=150)
    line2 = models.CharField("address line 2", max_length=150, blank=True)
    town = models.CharField("town or city", max_length=80, blank=True)
    postcode = models.CharField(max_length=10, blank=True, db_index=True)
    date_from = models.DateField(null=True, blank=True)
    date_to = models.DateField(null=True, blank=True)
    is_restricted = models.BooleanField(
        "restricted address",
        default=False,
        help_text="Family fleeing domestic abuse or in witness protection.",
    )

    class Meta:
        verbose_name_plural = "addresses"
        ordering = ["-date_from", "-id"]

    def __str__(self) -> str:
        return ", ".join(p for p in (self.line1, self.line2, self.town, self.postcode) if p)

    def clean(self) -> None:
        if self.date_from and self.date_to and self.date_to < self.date_from:
            raise ValidationError({"date_to": "The end date must be on or after the start date."})

    @property
    def is_current(self) -> bool:
        return self.date_to is None


class ParentCarer(models.Model):
    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="parents_carers")
    given_names = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    parental_responsibility = models.BooleanField(default=False)
    lives_with_child = models.BooleanField(default=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    address = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "parent or carer"
        verbose_name_plural = "parents and carers"

    def __str__(self) -> str:
        return f"{self.given_names} {self.family_name} ({self.get_relationship_display()})"


class SiblingLink(models.Model):
    """A sibling relationship, stored once per pair (lower id first)."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    sibling = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="+")
    relationship = models.CharField(max_length=10, choices=SiblingRelationship.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["child", "sibling"], name="unique_sibling_pair"),
            models.CheckConstraint(
                condition=models.Q(child__lt=models.F("sibling")), name="sibling_pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} ↔ {self.sibling_id} ({self.relationship})"


class RestrictedAddressAccess(models.Model):
    """A named user allowed to see one child's restricted addresses.

    Granted by a CME manager, with a reason, through
    ``people.services.restricted_address_access_grant`` (audited). Nobody sees a restricted
    address without a row here, managers included; exports never include one."""

    child = models.ForeignKey(
        Child, on_delete=models.CASCADE, related_name="restricted_address_access"
    )
    user = models.ForeignKey(
        "accounts.User", on_delete=models.PROTECT, related_name="restricted_address_access"
    )
    granted_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    reason = models.CharField(max_length=300)

    class Meta:
        verbose_name = "restricted address access"
        verbose_name_plural = "restricted address access"
        constraints = [
            models.UniqueConstraint(fields=["child", "user"], name="unique_restricted_access")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} may see restricted addresses of child {self.child_id}"


class EffectiveFact(models.Model):
    """One value of one fact a figure uses, with the day it took effect and when it was
    recorded (bitemporal enough for the figures: docs/reporting.md, "Facts by effective
    date").

    A fact as at day D, as now known, is the row not superseded with the latest
    ``effective_on`` on or before D (ties: the latest recorded). A new value from a later
    day is a new row; the earlier row still holds for its days. A correction of a value
    supersedes its row (``superseded_at``, ``superseded_by``) and adds the corrected row
    with the same ``effective_on``: the old value is kept, never overwritten. Rows are
    written only by the services, which audit each one."""

    #: The fact (for example ``in_care``) and, for a fact with several values at once (a
    #: vulnerable group), which one.
    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=30, blank=True, default="")
    value = models.CharField(max_length=30, blank=True)
    effective_on = models.DateField("took effect on")
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    #: Why it was recorded with an earlier effective date, or corrected.
    reason = models.CharField(max_length=300, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class ChildFactKind(models.TextChoices):
    IN_CARE = "in_care", "Child in care"
    SEN = "sen", "SEN provision"
    CHILD_IN_NEED = "cin", "Child in need"
    CHILD_PROTECTION = "cp", "Child protection plan"
    VULNERABLE = "vulnerable", "Vulnerable group"


#: The child's field each single-valued fact mirrors (the current value).
CHILD_FACT_FIELDS: dict[str, str] = {
    ChildFactKind.IN_CARE: "in_care",
    ChildFactKind.SEN: "sen_provision",
    ChildFactKind.CHILD_IN_NEED: "child_in_need",
    ChildFactKind.CHILD_PROTECTION: "child_protection_plan",
}


class ChildFact(EffectiveFact):
    """A dated fact about a child: care status, SEN, child in need, child protection
    plan, vulnerable group ("1" in the group, "0" no longer). Booleans are "1" or "0"."""

    child = models.ForeignKey(Child, on_delete=models.CASCADE, related_name="facts")
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [
            models.Index(fields=["child", "kind", "key", "effective_on"], name="child_fact_at"),
        ]

    def __str__(self) -> str:
        key = f":{self.key}" if self.key else ""
        return f"{self.kind}{key}={self.value} from {self.effective_on}"
