"""Organisations whose people use the system, and the directory of local authorities."""

from __future__ import annotations

from django.db import models


class Country(models.TextChoices):
    ENGLAND = "England", "England"
    WALES = "Wales", "Wales"


class LocalAuthority(models.Model):
    """An English or Welsh local authority, by its DfE LA code (reference data).

    The named CME contact is who an inter-authority enquiry goes to (never a blanket one).
    """

    code = models.CharField(max_length=3, unique=True)
    name = models.CharField(max_length=120, unique=True)
    country = models.CharField(max_length=10, choices=Country.choices)
    region = models.CharField(max_length=40, blank=True)
    cme_contact_name = models.CharField("CME contact name", max_length=120, blank=True)
    cme_contact_role = models.CharField("CME contact role", max_length=120, blank=True)
    cme_contact_email = models.EmailField("CME contact secure email", blank=True)
    cme_contact_phone = models.CharField("CME contact phone", max_length=40, blank=True)
    contact_confirmed_on = models.DateField("contact last confirmed", null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "local authorities"

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class OrganisationKind(models.TextChoices):
    LA_TEAM = "la_team", "Local authority team"
    SCHOOL = "school", "School or education provider"
    AGENCY = "agency", "Agency"
    OTHER_LA = "other_la", "Other local authority"


class SchoolPhase(models.TextChoices):
    NURSERY = "nursery", "Nursery"
    PRIMARY = "primary", "Primary"
    MIDDLE = "middle", "Middle"
    SECONDARY = "secondary", "Secondary"
    ALL_THROUGH = "all_through", "All-through"
    SIXTEEN_PLUS = "16_plus", "16 plus"
    NOT_APPLICABLE = "not_applicable", "Not applicable"


class SchoolType(models.TextChoices):
    COMMUNITY = "community", "Community school"
    FOUNDATION = "foundation", "Foundation school"
    VOLUNTARY_AIDED = "voluntary_aided", "Voluntary aided school"
    VOLUNTARY_CONTROLLED = "voluntary_controlled", "Voluntary controlled school"
    ACADEMY = "academy", "Academy"
    FREE_SCHOOL = "free_school", "Free school"
    SPECIAL = "special", "Special school"
    PRU = "pru", "Pupil referral unit"
    ALTERNATIVE_PROVISION = "alternative_provision", "Alternative provision"
    INDEPENDENT = "independent", "Independent school"


class AgencySector(models.TextChoices):
    HEALTH = "health", "Health"
    POLICE = "police", "Police"
    HOUSING = "housing", "Housing"
    SOCIAL_CARE = "social_care", "Children's social care"
    YOUTH_JUSTICE = "youth_justice", "Youth justice"
    VOLUNTARY = "voluntary", "Voluntary sector"
    OTHER = "other", "Other"


class LATeam(models.TextChoices):
    CME = "cme", "Children missing education team"
    INCLUSION = "inclusion", "Inclusion and attendance (School Liaison Officers)"
    VIRTUAL_SCHOOL = "virtual_school", "Virtual School"
    SAFEGUARDING = "safeguarding", "Education safeguarding"
    ADMISSIONS = "admissions", "Admissions"
    OTHER = "other", "Other"


class Organisation(models.Model):
    kind = models.CharField(max_length=10, choices=OrganisationKind.choices, db_index=True)
    name = models.CharField(max_length=200)
    local_authority = models.ForeignKey(
        LocalAuthority,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The authority this organisation is in (or is, for another authority).",
    )
    # Schools
    urn = models.CharField("URN", max_length=7, null=True, blank=True, unique=True)
    estab_number = models.CharField("establishment number", max_length=4, blank=True)
    phase = models.CharField(max_length=20, choices=SchoolPhase.choices, blank=True)
    school_type = models.CharField(max_length=30, choices=SchoolType.choices, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    # Agencies and LA teams
    sector = models.CharField(max_length=20, choices=AgencySector.choices, blank=True)
    la_team = models.CharField("LA team", max_length=20, choices=LATeam.choices, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["local_authority", "estab_number"],
                condition=models.Q(kind="school") & ~models.Q(estab_number=""),
                name="unique_school_laestab",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def laestab(self) -> str:
        """The 7-digit LAESTAB (LA code + establishment number) of a school, else ''."""
        if (
            self.kind != OrganisationKind.SCHOOL
            or not self.local_authority
            or not self.estab_number
        ):
            return ""
        return f"{self.local_authority.code}{self.estab_number}"
