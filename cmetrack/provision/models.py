"""Providers, places and securing provision (issue 10 items 1 and 2).

- :class:`ProviderProfile`: what the authority knows about a school or alternative
  provider beyond its organisation record (the form of provision it offers, the year
  groups it takes, SEN suitability, where it is).
- :class:`PlaceFigure`: places available in one year group at one provider on a date.
  Append-only: the newest figure (by date, then id) is the current one; older ones are the
  history. A figure more than a month old is stale and is shown as such.
- :class:`PostcodeCentroid`: an optional table of postcode centroids (ONS NSPL-like
  ``postcode,lat,long``) imported from CSV, for distances without any network call.
- :class:`ProvisionImport`: the log of each places, providers or postcode import.
- :class:`AdmissionApplication`, :class:`PanelReferral`: the steps that secure a place.
- :class:`Placement`: the child's start at the new provider, with the UPN the attendance
  feed uses there, so attendance can be monitored until the case closes.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from cmetrack.cases.models import Case, FormOfProvision
from cmetrack.organisations.models import Organisation

#: Year groups as the national curriculum numbers them: 0 is Reception, 13 is Year 13.
YEAR_GROUP_VALIDATORS = [MinValueValidator(0), MaxValueValidator(13)]


class SenSuitability(models.TextChoices):
    NOT_RECORDED = "", "Not recorded"
    MAINSTREAM = "mainstream", "Mainstream: SEN support, no specialist provision"
    RESOURCED = "resourced", "Mainstream with resourced provision (SEN unit)"
    SPECIALIST = "specialist", "Specialist: admits children with an EHC plan"


class ProviderProfile(models.Model):
    """A school or alternative provider in the area, as the places work needs it."""

    organisation = models.OneToOneField(
        Organisation,
        on_delete=models.PROTECT,
        related_name="provider_profile",
        limit_choices_to={"kind": "school"},
    )
    provision_form = models.CharField(
        "form of provision offered", max_length=12, choices=FormOfProvision.choices
    )
    youngest_year = models.PositiveSmallIntegerField(
        "youngest year group", validators=YEAR_GROUP_VALIDATORS
    )
    oldest_year = models.PositiveSmallIntegerField(
        "oldest year group", validators=YEAR_GROUP_VALIDATORS
    )
    sen_suitability = models.CharField(
        "SEN suitability", max_length=12, choices=SenSuitability.choices, blank=True
    )
    sen_notes = models.CharField("SEN provision (needs catered for)", max_length=200, blank=True)
    latitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    longitude = models.DecimalField(max_digits=8, decimal_places=5, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organisation__name"]

    def __str__(self) -> str:
        return str(self.organisation)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if (
            self.youngest_year is not None
            and self.oldest_year is not None
            and self.oldest_year < self.youngest_year
        ):
            errors["oldest_year"] = "The oldest year group must not be below the youngest."
        if (self.latitude is None) != (self.longitude is None):
            errors["longitude" if self.longitude is None else "latitude"] = (
                "Enter both the latitude and the longitude, or neither."
            )
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            errors["latitude"] = "The latitude must be between -90 and 90."
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            errors["longitude"] = "The longitude must be between -180 and 180."
        if errors:
            raise ValidationError(errors)


class FigureSource(models.TextChoices):
    FORM = "form", "Entered by admissions"
    IMPORT = "import", "Imported from a file"
    DEMO = "demo", "Demo data"


class PlaceFigure(models.Model):
    """Places available in one year group at one provider, as on ``as_of`` (append-only)."""

    provider = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="place_figures"
    )
    year_group = models.PositiveSmallIntegerField(validators=YEAR_GROUP_VALIDATORS)
    places = models.PositiveIntegerField("places available")
    as_of = models.DateField("figure dated")
    source = models.CharField(max_length=10, choices=FigureSource.choices)
    source_file = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["provider", "year_group", "-as_of", "-id"]
        indexes = [
            # The current figure per (provider, year group) is the newest by (as_of, id).
            models.Index(
                fields=["provider", "year_group", "as_of", "id"], name="provision_figure_current"
            ),
            models.Index(fields=["year_group", "as_of"], name="provision_figure_year"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}: {self.places} in year {self.year_group} on {self.as_of}"

    def clean(self) -> None:
        if self.as_of and self.as_of > timezone.localdate():
            raise ValidationError({"as_of": "The date of the figure cannot be in the future."})


class PostcodeCentroid(models.Model):
    """The centre of one postcode (reference data, imported; nothing is looked up online)."""

    postcode = models.CharField(max_length=8, unique=True, help_text="Normalised: 'AB1 2CD'.")
    latitude = models.DecimalField(max_digits=8, decimal_places=5)
    longitude = models.DecimalField(max_digits=8, decimal_places=5)

    class Meta:
        ordering = ["postcode"]

    def __str__(self) -> str:
        return self.postcode


class ProvisionImportKind(models.TextChoices):
    PLACES = "places", "Places available"
    PROVIDERS = "providers", "Provider profiles"
    POSTCODES = "postcodes", "Postcode centroids"


class ProvisionImportStatus(models.TextChoices):
    SUCCEEDED = "succeeded", "Imported"
    UNCHANGED = "unchanged", "Already imported: nothing changed"
    FAILED = "failed", "Not imported: the file has errors"


class ProvisionImport(models.Model):
    """One attempt to import one file. A failed import is logged; its data is not kept."""

    kind = models.CharField(max_length=10, choices=ProvisionImportKind.choices)
    status = models.CharField(max_length=10, choices=ProvisionImportStatus.choices)
    file_name = models.CharField(max_length=255)
    content_hash = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by_label = models.CharField(max_length=254, blank=True)
    rows = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0, help_text="Rows that changed data.")
    errors = models.JSONField(default=list, blank=True)
    warnings = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.get_status_display()})"


class ApplicationOutcome(models.TextChoices):
    PENDING = "pending", "Waiting for a decision"
    OFFERED = "offered", "Place offered"
    REFUSED = "refused", "Refused"
    WITHDRAWN = "withdrawn", "Withdrawn"


class AdmissionApplication(models.Model):
    """An in-year admission application for the child to one school, and its outcome."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="admission_applications")
    school = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
    )
    year_group = models.PositiveSmallIntegerField(validators=YEAR_GROUP_VALIDATORS)
    applied_on = models.DateField("date of the application")
    outcome = models.CharField(
        max_length=10, choices=ApplicationOutcome.choices, default=ApplicationOutcome.PENDING
    )
    outcome_on = models.DateField("date of the outcome", null=True, blank=True)
    outcome_notes = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-applied_on", "-id"]
        indexes = [models.Index(fields=["case", "outcome"], name="provision_app_case")]

    def __str__(self) -> str:
        return f"Application to {self.school} ({self.get_outcome_display()})"


class PanelDecision(models.TextChoices):
    SCHOOL_NAMED = "school_named", "A school is named to admit the child"
    ALTERNATIVE = "alternative", "Alternative provision"
    DEFERRED = "deferred", "Deferred to a later panel"
    NOT_FAIR_ACCESS = "not_fair_access", "Not a fair-access case: use normal admissions"


class PanelReferral(models.Model):
    """A referral to the fair-access (hard-to-place) panel, the panel date and its decision."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="panel_referrals")
    referred_on = models.DateField("date referred to the panel")
    reason = models.TextField("why the child needs the panel")
    panel_date = models.DateField("date of the panel", null=True, blank=True)
    decision = models.CharField(max_length=16, choices=PanelDecision.choices, blank=True)
    decision_on = models.DateField("date of the decision", null=True, blank=True)
    named_school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
        verbose_name="school or provider named",
    )
    decision_notes = models.CharField(max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-referred_on", "-id"]
        constraints = [
            # One referral waiting for the panel per case at a time.
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(decision="") | models.Q(decision="deferred"),
                name="provision_one_open_panel_referral",
            )
        ]

    def __str__(self) -> str:
        return f"Panel referral of {self.referred_on}"

    @property
    def is_open(self) -> bool:
        return self.decision in ("", PanelDecision.DEFERRED)


class Placement(models.Model):
    """The child's start at a provider: the attendance feed is read for ``upn`` there."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="placements")
    provider = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    started_on = models.DateField("date the child started")
    upn = models.CharField("UPN at the provider", max_length=13, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_on", "-id"]

    def __str__(self) -> str:
        return f"Started at {self.provider} on {self.started_on}"
