"""A case is one CME episode of one child, with its statutory dates and chronology."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from cmetrack.organisations.models import LocalAuthority, Organisation
from cmetrack.people.models import Child, EffectiveFact

from .lifecycle import CaseState, HomeEducationEvidence, LocatedRoute, Outcome


class ReferralRoute(models.TextChoices):
    SCHOOL = "school", "School"
    AGENCY = "agency", "Agency"
    PUBLIC = "public", "Member of the public"
    OTHER_LA = "other_la", "Another local authority"
    DETECTION = "detection", "Authority's own data"
    LA_TEAM = "la_team", "Local authority team"


#: Where a case came from, as the chronology says it ("Case opened from an agency's
#: referral.").
OPENED_FROM: dict[str, str] = {
    ReferralRoute.SCHOOL: "a school's referral",
    ReferralRoute.AGENCY: "an agency's referral",
    ReferralRoute.PUBLIC: "a report from a member of the public",
    ReferralRoute.OTHER_LA: "another local authority's referral",
    ReferralRoute.DETECTION: "the authority's own data",
    ReferralRoute.LA_TEAM: "a local authority team's referral",
}


class FormOfProvision(models.TextChoices):
    MAINSTREAM = "mainstream", "Mainstream school"
    ALTERNATIVE = "alternative", "Alternative provision"
    SPECIAL = "special", "Special school"
    EOTAS = "eotas", "Education otherwise than at school"


class CmeCategory(models.TextChoices):
    """The broad group a case's reason falls in (reporting.md: figures by category)."""

    AWAITING_PLACE = "awaiting_place", "Not on a roll: needs or awaits a school place"
    WHEREABOUTS_UNKNOWN = "whereabouts_unknown", "Whereabouts not known"
    UNSUITABLE_EDUCATION = "unsuitable_education", "Receiving unsuitable education"
    OTHER = "other", "Other"


class CmeReason(models.TextChoices):
    """The primary reason the child is missing education (one per case).

    Mapped to the DfE return's "primary reason for CME" in ``reports.dfe`` and grouped into
    :class:`CmeCategory` by :data:`CME_REASON_CATEGORY` (docs/dfe-return.md)."""

    APPLIED_AWAITING_PLACE = "applied_awaiting_place", "Applied for a school place, not yet offered"
    NOT_APPLIED = "not_applied", "No application for a school place made"
    OFFERED_NOT_STARTED = "offered_not_started", "Offered a school place, not yet started"
    MOVED_INTO_AREA = "moved_into_area", "Moved into the area from elsewhere in the UK"
    ARRIVED_FROM_ABROAD = "arrived_from_abroad", "Arrived from outside the UK"
    NEVER_ON_ROLL = "never_on_roll", "Never registered at a school"
    LEFT_NO_DESTINATION = "left_no_destination", "Left a school with no known destination"
    WHEREABOUTS_UNKNOWN = "whereabouts_unknown", "Whereabouts not known"
    MOVED_ABROAD = "moved_abroad", "Moved abroad, not yet confirmed"
    MOVED_OUT_UNCONFIRMED = (
        "moved_out_unconfirmed",
        "Moved out of the authority, not yet confirmed",
    )
    UNSUITABLE_EHE = "unsuitable_ehe", "Elective home education judged unsuitable"
    UNSUITABLE_OTHER = (
        "unsuitable_other",
        "Attending an unsuitable setting (for example unregistered)",
    )
    OTHER = "other", "Other reason"


#: The category of each reason (figures by category).
CME_REASON_CATEGORY: dict[str, str] = {
    CmeReason.APPLIED_AWAITING_PLACE: CmeCategory.AWAITING_PLACE,
    CmeReason.NOT_APPLIED: CmeCategory.AWAITING_PLACE,
    CmeReason.OFFERED_NOT_STARTED: CmeCategory.AWAITING_PLACE,
    CmeReason.MOVED_INTO_AREA: CmeCategory.AWAITING_PLACE,
    CmeReason.ARRIVED_FROM_ABROAD: CmeCategory.AWAITING_PLACE,
    CmeReason.NEVER_ON_ROLL: CmeCategory.AWAITING_PLACE,
    CmeReason.LEFT_NO_DESTINATION: CmeCategory.WHEREABOUTS_UNKNOWN,
    CmeReason.WHEREABOUTS_UNKNOWN: CmeCategory.WHEREABOUTS_UNKNOWN,
    CmeReason.MOVED_ABROAD: CmeCategory.WHEREABOUTS_UNKNOWN,
    CmeReason.MOVED_OUT_UNCONFIRMED: CmeCategory.WHEREABOUTS_UNKNOWN,
    CmeReason.UNSUITABLE_EHE: CmeCategory.UNSUITABLE_EDUCATION,
    CmeReason.UNSUITABLE_OTHER: CmeCategory.UNSUITABLE_EDUCATION,
    CmeReason.OTHER: CmeCategory.OTHER,
}


class YesNoUnknown(models.TextChoices):
    YES = "yes", "Yes"
    NO = "no", "No"
    UNKNOWN = "unknown", "Not known"


class Case(models.Model):
    child = models.ForeignKey(Child, on_delete=models.PROTECT, related_name="cases")
    state = models.CharField(
        max_length=20, choices=CaseState.choices, default=CaseState.RECEIVED, db_index=True
    )
    route = models.CharField(max_length=10, choices=ReferralRoute.choices)
    # Statutory dates (reporting.md: pace into provision).
    date_referred = models.DateField("date referred in")
    date_of_assessment = models.DateField(null=True, blank=True)
    date_provision_determined = models.DateField(
        "date form of provision determined", null=True, blank=True
    )
    date_moved_into_provision = models.DateField(null=True, blank=True)
    provision_recommended = models.CharField(
        "form of provision recommended", max_length=12, choices=FormOfProvision.choices, blank=True
    )
    provision_accessed = models.CharField(
        "form of provision accessed", max_length=12, choices=FormOfProvision.choices, blank=True
    )
    # Why the child is missing education, and whether new to the area or the country
    # (reporting.md: figures by category, reason, new to the area, new to the country).
    cme_reason = models.CharField(
        "primary reason for missing education", max_length=30, choices=CmeReason.choices, blank=True
    )
    cme_category = models.CharField(
        "category", max_length=30, choices=CmeCategory.choices, blank=True, editable=False
    )
    new_to_area = models.CharField(
        "new to the area", max_length=7, choices=YesNoUnknown.choices, default=YesNoUnknown.UNKNOWN
    )
    new_to_country = models.CharField(
        "new to the country",
        max_length=7,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    # Last known education.
    last_education_place = models.CharField(max_length=200, blank=True)
    last_education_school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
    )
    last_education_date = models.DateField("date of last known education", null=True, blank=True)
    assigned_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="assigned_cases",
    )
    team = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="team_cases",
        limit_choices_to={"kind": "la_team"},
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    outcome_reason = models.CharField(max_length=300, blank=True)
    closure_evidence = models.TextField(blank=True)
    closed_on = models.DateField(null=True, blank=True)
    # SLO investigation: the date the SLO advised the school it may take the child off roll.
    advised_off_roll_date = models.DateField(null=True, blank=True)
    # Located: where the child is and the route the case takes.
    located_on = models.DateField(null=True, blank=True)
    located_where = models.CharField("where the child is", max_length=300, blank=True)
    located_route = models.CharField(max_length=20, choices=LocatedRoute.choices, blank=True)
    destination_school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
        help_text="The school whose roll the child is on (located on a roll).",
    )
    destination_la = models.ForeignKey(
        LocalAuthority,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="local authority moved to",
    )
    la_acknowledged_by = models.CharField(
        "who at the other authority acknowledged", max_length=150, blank=True
    )
    la_acknowledged_on = models.DateField(
        "date the other authority acknowledged", null=True, blank=True
    )
    # Located as home educated: what shows it (the parent's notice, the school's ground (f)
    # deletion or a visit) and its date. Closing as home educated needs it.
    home_education_evidence = models.CharField(
        "evidence of home education",
        max_length=20,
        choices=HomeEducationEvidence.choices,
        blank=True,
    )
    home_education_evidence_on = models.DateField(
        "date of the evidence of home education", null=True, blank=True
    )
    # Needs assessment (national guidance 3.6.3-3.6.4): the lead professional who
    # co-ordinates the services around the child, and whether an early help (Common
    # Assessment Framework) assessment is in place.
    lead_professional = models.CharField(
        "lead professional (name and service)", max_length=200, blank=True
    )
    early_help_assessment = models.CharField(
        "early help (CAF) assessment in place",
        max_length=7,
        choices=YesNoUnknown.choices,
        blank=True,
    )
    left_country_source = models.CharField(
        "who confirmed the child left the country", max_length=200, blank=True
    )
    left_country_confirmed_on = models.DateField(
        "date leaving the country was confirmed", null=True, blank=True
    )
    # Provision: who provides it.
    provider = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="provider",
    )
    # A reopened case is a new episode linked to the one before.
    previous_case = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="next_episodes"
    )
    # Optimistic locking: every change through the services adds one.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-date_referred", "-id"]
        indexes = [
            models.Index(fields=["state", "assigned_officer"]),
            # Work queues: keyset pages ordered by (date_referred, id), narrowed by state,
            # officer or route.
            models.Index(fields=["date_referred", "id"], name="case_queue_order"),
            models.Index(fields=["state", "date_referred", "id"], name="case_queue_state"),
            models.Index(
                fields=["assigned_officer", "date_referred", "id"], name="case_queue_officer_order"
            ),
            models.Index(fields=["route", "date_referred", "id"], name="case_queue_route"),
            # Provision's delay queue: cases waiting for a place, longest wait first.
            models.Index(
                fields=["date_provision_determined", "id"],
                name="case_waiting_since",
                condition=models.Q(state__in=["needs_assessment", "awaiting_provision"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} ({self.get_state_display()})"

    @property
    def reference(self) -> str:
        return f"CME-{self.pk:06d}" if self.pk else "CME-(new)"

    @property
    def is_open(self) -> bool:
        return self.state != CaseState.CLOSED


class StateChangeManager(models.Manager["CaseStateChange"]):
    def bulk_create(
        self, objs: Iterable[CaseStateChange], *args: Any, **kwargs: Any
    ) -> list[CaseStateChange]:
        """Rows written in bulk (the demo, benchmarks) take effect on the day keyed unless
        they say otherwise, as :meth:`CaseStateChange.save` does."""
        for obj in objs:
            obj.fill_effective_on()
        return super().bulk_create(objs, *args, **kwargs)


class CaseStateChange(models.Model):
    """Append-only history of the case's states: who moved it, when and why.

    ``at`` is when the change was recorded; ``effective_on`` the day it took effect (the
    figures on a date read this: docs/reporting.md). A change keyed late says so, with its
    reason, and never takes effect before the case's previous change."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=20, choices=CaseState.choices, blank=True)
    to_state = models.CharField(max_length=20, choices=CaseState.choices)
    at = models.DateTimeField("recorded at", default=timezone.now)
    effective_on = models.DateField("took effect on")
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField(blank=True)

    objects = StateChangeManager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            # Reports rebuild any case's state on a past date from its changes after that date.
            models.Index(fields=["case", "at", "id"], name="cases_statechange_case_at"),
            models.Index(fields=["case", "effective_on", "id"], name="cases_statechange_effective"),
            # Provision's delay queue: the failed placements (few), without reading the rest.
            models.Index(
                fields=["case", "at"],
                name="case_failed_placement",
                condition=models.Q(from_state="in_provision", to_state="awaiting_provision"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_state or 'new'} → {self.to_state}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.fill_effective_on()
        super().save(*args, **kwargs)

    def fill_effective_on(self) -> None:
        if self.effective_on is None:
            self.effective_on = timezone.localdate(self.at or timezone.now())


class StateChangeCorrection(models.Model):
    """A correction of the day a state change took effect (issue 17: a figure by effective
    date follows the correction, and the past is kept). The change's ``effective_on`` is
    the corrected day; each correction keeps the day before, the day after, who, when and
    why, so every earlier value can be read back."""

    change = models.ForeignKey(
        CaseStateChange, on_delete=models.CASCADE, related_name="corrections"
    )
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="+")
    effective_on_before = models.DateField("took effect on, before the correction")
    effective_on_after = models.DateField("took effect on, after the correction")
    reason = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    at = models.DateTimeField("corrected at", default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.effective_on_before} → {self.effective_on_after}"


class CaseFactKind(models.TextChoices):
    REASON = "reason", "Primary reason for missing education"
    NEW_TO_AREA = "new_to_area", "New to the area"
    NEW_TO_COUNTRY = "new_to_country", "New to the country"
    #: Where a located child's education is (``LocatedRoute``), from the day it was known:
    #: the figures and the DfE return on a past date read the route in force then.
    LOCATED_ROUTE = "located_route", "Route when located"


#: The case's field each fact mirrors (the value today).
CASE_FACT_FIELDS: dict[str, str] = {
    CaseFactKind.REASON: "cme_reason",
    CaseFactKind.NEW_TO_AREA: "new_to_area",
    CaseFactKind.NEW_TO_COUNTRY: "new_to_country",
}


class CaseFact(EffectiveFact):
    """A dated fact about a case (its reason, new to the area or the country): see
    :class:`cmetrack.people.models.EffectiveFact`. Re-recording a reason from a later day
    leaves last term's breakdown as it was."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="facts")
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["case", "kind", "effective_on"], name="case_fact_at")]

    def __str__(self) -> str:
        return f"{self.kind}={self.value} from {self.effective_on}"


class ProvisionEpisode(models.Model):
    """One placement: the child moved into provision on ``started_on``; it ended (the
    placement failed, or the case closed) on ``ended_on``. Kept when a placement fails, so
    the date moved into provision of a past placement never disappears (pace into
    provision counts each case's first move)."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="provision_episodes")
    provider = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    provision_accessed = models.CharField(
        max_length=12, choices=FormOfProvision.choices, blank=True
    )
    started_on = models.DateField("date moved into provision")
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.CharField(max_length=300, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["started_on", "id"]
        indexes = [models.Index(fields=["case", "started_on"], name="provision_episode_case")]

    def __str__(self) -> str:
        return f"Provision from {self.started_on}" + (
            f" to {self.ended_on}" if self.ended_on else ""
        )


class ChronologyKind(models.TextChoices):
    STATE = "state", "State change"
    NOTE = "note", "Note"
    CONTACT = "contact", "Contact"
    CHECK = "check", "Check"
    ASSIGNMENT = "assignment", "Assignment"
    REFERRAL = "referral", "Referral"
    VISIT = "visit", "Home visit"
    TASK = "task", "Task"
    CORRECTION = "correction", "Correction"
    ADVICE = "advice", "Advice to school"
    MISSING_CARE = "missing_care", "Missing from care"


class ChronologyEvent(models.Model):
    """The case's chronology: what happened, in order, as a CME officer would write it."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="chronology")
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=12, choices=ChronologyKind.choices)
    summary = models.TextField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at", "id"], name="chronology_case_at")]

    def __str__(self) -> str:
        return f"{self.at:%d %b %Y} {self.get_kind_display()}"


class HomeVisitOutcome(models.TextChoices):
    CHILD_SEEN = "child_seen", "Child seen"
    FAMILY_SEEN = "family_seen", "Family seen, child not seen"
    NO_ANSWER = "no_answer", "No answer"
    MOVED = "moved", "Address empty or family moved away"
    OTHER = "other", "Other"


class HomeVisit(models.Model):
    """A visit to the child's home (SLO investigation or tracking)."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="home_visits")
    visited_on = models.DateField()
    visited_by = models.CharField("who visited", max_length=200)
    outcome = models.CharField(max_length=12, choices=HomeVisitOutcome.choices)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["visited_on", "id"]

    def __str__(self) -> str:
        return f"Home visit {self.visited_on:%d %b %Y}: {self.get_outcome_display()}"


class SloVisitRequest(models.Model):
    """The CME team asks a School Liaison Officer for a home visit (county procedure 5.3:
    tracking and contacts had no response). The case stays with its officer; the SLO sees
    the case and records the visit, which answers the request."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="slo_visit_requests")
    slo = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="slo_visit_requests",
        verbose_name="School Liaison Officer",
    )
    reason = models.TextField("what tracking and contacts found")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    visit = models.ForeignKey(
        HomeVisit, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["slo", "answered_at"], name="slo_visit_open")]

    def __str__(self) -> str:
        return f"Home visit asked of {self.slo} on {self.case.reference}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


class MissingFromCareReport(models.Model):
    """A child in care who is missing from care (county procedure 5.4): the social worker
    follows the missing-from-home-or-care protocol; the CME team is told."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="missing_from_care")
    missing_since = models.DateField("date the child went missing")
    social_worker = models.CharField("social worker (name and team)", max_length=200)
    social_worker_contact = models.CharField(
        "social worker's phone or email", max_length=200, blank=True
    )
    reported_to_police = models.CharField(
        "reported missing to the police",
        max_length=7,
        choices=YesNoUnknown.choices,
        default=YesNoUnknown.UNKNOWN,
    )
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["missing_since", "id"]

    def __str__(self) -> str:
        return f"Missing from care since {self.missing_since:%d %b %Y}"
