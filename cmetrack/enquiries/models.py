"""Inter-authority enquiries (forms.md section 5): one enquiry to one named authority.

- :class:`OutgoingEnquiry`: from one of our cases to one other authority, with the reason
  for believing the child is linked to it and a frozen copy of exactly what was shared
  (``shared``), which is what the letter and the JSON file are made from. Its status moves
  only through :mod:`.services`, each move an :class:`EnquiryStatusChange` row.
- :class:`EnquiryReply`: what the other authority answered (typed or imported from JSON).
- :class:`IncomingEnquiry`: another authority's enquiry to us, logged as a referral (route
  "another local authority"), searched, risk-assessed before any visit, and answered.
- :class:`MoveNotification` and :class:`HomeOfficeCheck`: what a case records before it
  closes as "moved to another authority" or "left the country".
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from cmetrack.cases.models import Case
from cmetrack.organisations.models import LocalAuthority

_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_enquiry_reference() -> str:
    return "E-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))


class EnquiryStatus(models.TextChoices):
    SENT = "sent", "Sent"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CHASED = "chased", "Chased"
    ANSWERED = "answered", "Answered"
    CLOSED = "closed", "Closed"


#: Statuses waiting for the other authority's answer.
AWAITING_REPLY = frozenset({EnquiryStatus.SENT, EnquiryStatus.ACKNOWLEDGED, EnquiryStatus.CHASED})


class ReplyOutcome(models.TextChoices):
    FOUND_ON_ROLL = "found_on_roll", "Found on a school roll"
    FOUND_NOT_IN_EDUCATION = "found_not_in_education", "Found, living there, not in education"
    FOUND_HOME_EDUCATED = "found_home_educated", "Found, home educated"
    NOT_KNOWN = "not_known", "Not known to the authority"
    MOVED_ON = "moved_on", "Was there, has moved on"
    OTHER = "other", "Other"


class ReplySource(models.TextChoices):
    RECORDED = "recorded", "Recorded by an officer"
    IMPORTED = "imported", "Imported from the authority's JSON reply"


class OutgoingEnquiry(models.Model):
    reference = models.CharField(
        max_length=12, unique=True, default=new_enquiry_reference, editable=False
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="outgoing_enquiries")
    local_authority = models.ForeignKey(
        LocalAuthority, on_delete=models.PROTECT, related_name="enquiries_received"
    )
    # The named contact as it was when the enquiry was sent.
    contact_name = models.CharField(max_length=120)
    contact_role = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField("secure email")
    contact_phone = models.CharField(max_length=40, blank=True)
    reason_linked = models.TextField("reason for believing the child is linked to the authority")
    shared_items = models.JSONField(default=list, help_text="Data items the officer chose.")
    shared = models.JSONField(default=dict, help_text="Exactly what left the system.")
    status = models.CharField(
        max_length=15, choices=EnquiryStatus.choices, default=EnquiryStatus.SENT, db_index=True
    )
    sent_on = models.DateField()
    reply_due_on = models.DateField(db_index=True)
    remind_on = models.DateField(
        db_index=True, help_text="When it next shows as overdue (due date, then after a chase)."
    )
    acknowledged_on = models.DateField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    chased_on = models.DateField(null=True, blank=True)
    times_chased = models.PositiveSmallIntegerField(default=0)
    answered_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    batch = models.UUIDField(null=True, blank=True, help_text="Sent with others at once.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_on", "-id"]
        verbose_name = "outgoing enquiry"
        verbose_name_plural = "outgoing enquiries"
        indexes = [models.Index(fields=["status", "remind_on"])]

    def __str__(self) -> str:
        return f"{self.reference} to {self.local_authority.name}"


class EnquiryStatusChange(models.Model):
    """Append-only history of an outgoing enquiry's status: who moved it, when and why."""

    enquiry = models.ForeignKey(
        OutgoingEnquiry, on_delete=models.CASCADE, related_name="status_changes"
    )
    from_status = models.CharField(max_length=15, choices=EnquiryStatus.choices, blank=True)
    to_status = models.CharField(max_length=15, choices=EnquiryStatus.choices)
    on = models.DateField()
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} -> {self.to_status} on {self.on}"


class EnquiryReply(models.Model):
    enquiry = models.ForeignKey(OutgoingEnquiry, on_delete=models.PROTECT, related_name="replies")
    received_on = models.DateField()
    outcome = models.CharField(max_length=30, choices=ReplyOutcome.choices)
    details = models.TextField(blank=True)
    school = models.CharField("school the child attends", max_length=200, blank=True)
    address = models.CharField("address where the child was found", max_length=300, blank=True)
    responder_name = models.CharField(max_length=150)
    responder_role = models.CharField(max_length=150, blank=True)
    source = models.CharField(max_length=10, choices=ReplySource.choices)
    document = models.JSONField(null=True, blank=True, help_text="The imported JSON reply.")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_on", "id"]
        verbose_name_plural = "enquiry replies"

    def __str__(self) -> str:
        return f"Reply of {self.received_on} ({self.get_outcome_display()})"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class IncomingEnquiry(models.Model):
    """Another authority asks whether a child is in our area (a referral route)."""

    referral = models.OneToOneField(
        "referrals.Referral", on_delete=models.PROTECT, related_name="incoming_enquiry"
    )
    from_la = models.ForeignKey(
        LocalAuthority,
        on_delete=models.PROTECT,
        related_name="enquiries_sent",
        verbose_name="authority asking",
    )
    their_reference = models.CharField(max_length=40, blank=True)
    contact_name = models.CharField(max_length=120, blank=True)
    contact_email = models.EmailField("their secure email", blank=True)
    received_on = models.DateField()
    reply_due_on = models.DateField(db_index=True)
    reason_linked = models.TextField("their reason for believing the child is here")
    address_given = models.CharField("address given", max_length=300, blank=True)
    vulnerabilities = models.TextField("vulnerability indicators they gave", blank=True)
    document = models.JSONField(null=True, blank=True, help_text="Their JSON enquiry, if sent.")
    # Searching every register (matching engine).
    searched_at = models.DateTimeField(null=True, blank=True)
    search_results = models.JSONField(default=list, blank=True)
    # Which found record is the child (or "none of these"), decided by the officer.
    match_decided_at = models.DateTimeField(null=True, blank=True)
    match_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    match_none = models.BooleanField("none of the possible matches is the child", default=False)
    match_key = models.CharField(
        max_length=60, blank=True, help_text="register:pk of the record chosen."
    )
    match_label = models.CharField(max_length=300, blank=True)
    matched_child = models.ForeignKey(
        "people.Child", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The vulnerability assessment, before any visit.
    assessed_on = models.DateField(null=True, blank=True)
    risk_level = models.CharField(max_length=10, choices=RiskLevel.choices, blank=True)
    assessment = models.TextField(blank=True)
    assessed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    visit_task = models.OneToOneField(
        "casework.Task", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The reply, whatever the result.
    replied_on = models.DateField(null=True, blank=True)
    reply_outcome = models.CharField(max_length=30, choices=ReplyOutcome.choices, blank=True)
    reply_details = models.TextField(blank=True)
    replied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["reply_due_on", "id"]
        verbose_name = "incoming enquiry"
        verbose_name_plural = "incoming enquiries"

    def __str__(self) -> str:
        return f"Enquiry from {self.from_la.name} ({self.referral.reference})"


class MoveNotification(models.Model):
    """A case's notice to the named CME contact of the authority the child moved to."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="move_notifications")
    local_authority = models.ForeignKey(LocalAuthority, on_delete=models.PROTECT, related_name="+")
    contact_name = models.CharField(max_length=120)
    contact_email = models.EmailField("secure email")
    sent_on = models.DateField()
    details = models.TextField(blank=True)
    document = models.JSONField(
        default=dict, blank=True, help_text="The notice as sent (letter and JSON made from it)."
    )
    acknowledged_on = models.DateField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-sent_on", "-id"]

    def __str__(self) -> str:
        return f"Notice to {self.local_authority.name} sent on {self.sent_on}"

    @property
    def reference(self) -> str:
        return str((self.document or {}).get("reference") or f"MN-{self.pk:06d}")


class HomeOfficeResult(models.TextChoices):
    DEPARTURE_CONFIRMED = "departure_confirmed", "Departure confirmed"
    NO_RECORD = "no_record", "No record of departure"
    AWAITING = "awaiting", "Asked, awaiting the answer"


class HomeOfficeCheck(models.Model):
    """The check with the Home Office that a child left the country."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="home_office_checks")
    requested_on = models.DateField()
    result = models.CharField(max_length=20, choices=HomeOfficeResult.choices)
    result_on = models.DateField(null=True, blank=True)
    reference = models.CharField("Home Office reference", max_length=60, blank=True)
    details = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-requested_on", "-id"]

    def __str__(self) -> str:
        return f"Home Office check of {self.requested_on} ({self.get_result_display()})"
