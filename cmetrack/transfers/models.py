"""Common Transfer Files and the lost-pupil area (rules.md section 7).

* :class:`CtfFile` is one transfer file, received (uploaded) or sent (exported or
  forwarded by the authority). The XML itself is kept so it can be downloaded as it was.
* :class:`CtfPupil` is one pupil of a file, with the identity fields as columns (for
  search and matching) and every other section kept as read, unknown elements included,
  so a file written from it gives the next school everything the last one sent.
* :class:`LostPupil` puts a pupil of a file sent to ``XXX`` (destination unknown) or
  ``MMM`` (outside the maintained sector) in the lost-pupil area until they are found.
* :class:`LostPupilMatch` is a joiner on a later roll who may be that pupil.
* :class:`SearchRequest` is a school asking the authority to search the area for a pupil
  it admitted whose previous school is not known.
* :class:`TransferEvent` logs every upload, download, search, forward and export: the
  monthly evidence for the self-evaluation checklist (``selectors.activity_by_month``).

Writes go through :mod:`cmetrack.transfers.services` (audited); reads through
:mod:`cmetrack.transfers.selectors` (scoped).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cmetrack.organisations.models import Organisation
from cmetrack.people.choices import Sex


class Direction(models.TextChoices):
    RECEIVED = "received", "Received"
    SENT = "sent", "Sent by the authority"


class DestinationKind(models.TextChoices):
    SCHOOL = "school", "A named school"
    UNKNOWN = "unknown", "Destination unknown (XXX)"
    OUTSIDE = "outside", "Outside the maintained sector (MMM)"


class CtfFile(models.Model):
    direction = models.CharField(max_length=10, choices=Direction.choices)
    file_name = models.CharField(max_length=255)
    content = models.BinaryField(help_text="The file as received or sent.")
    content_hash = models.CharField(max_length=64, db_index=True)
    version = models.CharField("CTF version", max_length=20, blank=True)
    document_date = models.CharField(max_length=40, blank=True)
    qualifier = models.CharField(max_length=20, blank=True)
    source_lea = models.CharField(max_length=3)
    source_estab = models.CharField(max_length=4)
    source_name = models.CharField(max_length=200, blank=True)
    source_school = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    dest_lea = models.CharField(max_length=3)
    dest_estab = models.CharField(max_length=4)
    dest_school = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    destination_kind = models.CharField(max_length=10, choices=DestinationKind.choices)
    suppinfo = models.TextField(blank=True)
    pupil_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by_label = models.CharField(max_length=254, blank=True)
    created_by_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Sent files: what they were made from and for whom.
    from_pupil = models.ForeignKey(
        "CtfPupil", null=True, blank=True, on_delete=models.PROTECT, related_name="forwards"
    )
    child = models.ForeignKey(
        "people.Child", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    request = models.ForeignKey(
        "SearchRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="files"
    )
    serial = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_hash"],
                condition=models.Q(direction="received"),
                name="one_received_ctf_per_content",
            )
        ]

    def __str__(self) -> str:
        return self.file_name

    @property
    def source_laestab(self) -> str:
        return f"{self.source_lea}{self.source_estab}"

    @property
    def dest_laestab(self) -> str:
        return f"{self.dest_lea}{self.dest_estab}"


class CtfPupil(models.Model):
    file = models.ForeignKey(CtfFile, on_delete=models.CASCADE, related_name="pupils")
    position = models.PositiveIntegerField()
    upn = models.CharField("UPN", max_length=13, blank=True, db_index=True)
    former_upn = models.CharField("former UPN", max_length=13, blank=True, db_index=True)
    surname = models.CharField(max_length=100, blank=True)
    forename = models.CharField(max_length=100, blank=True)
    middle_names = models.CharField(max_length=100, blank=True)
    preferred_surname = models.CharField(max_length=100, blank=True)
    preferred_forename = models.CharField(max_length=100, blank=True)
    former_surname = models.CharField(max_length=100, blank=True)
    dob = models.DateField("date of birth", null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    address = models.CharField(max_length=300, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    #: The whole pupil as read (``services.pupil_to_json``), so nothing is lost.
    data = models.JSONField(default=dict)

    class Meta:
        ordering = ["file", "position"]
        indexes = [models.Index(fields=["surname", "dob"])]

    def __str__(self) -> str:
        return f"{self.forename} {self.surname} ({self.upn or 'no UPN'})"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.forename, self.middle_names, self.surname) if p)


class LostPupilStatus(models.TextChoices):
    OPEN = "open", "Not found yet"
    POSSIBLE_MATCH = "possible_match", "Possible match on a later roll"
    FORWARDED = "forwarded", "File forwarded to the new school"
    CLOSED = "closed", "Closed"


class LostPupil(models.Model):
    pupil = models.OneToOneField(CtfPupil, on_delete=models.CASCADE, related_name="lost")
    destination_kind = models.CharField(max_length=10, choices=DestinationKind.choices)
    status = models.CharField(
        max_length=20, choices=LostPupilStatus.choices, default=LostPupilStatus.OPEN
    )
    added_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-added_at", "-id"]

    def __str__(self) -> str:
        return f"Lost pupil {self.pupil}"


class MatchHow(models.TextChoices):
    UPN = "upn", "Same UPN"
    MATCHING = "matching", "Matching engine"


class LostPupilMatch(models.Model):
    lost_pupil = models.ForeignKey(LostPupil, on_delete=models.CASCADE, related_name="matches")
    roll_entry = models.ForeignKey(
        "registers.RollEntry", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    school = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    roll_date = models.DateField()
    upn = models.CharField(max_length=13)
    name = models.CharField(max_length=200)
    dob = models.DateField(null=True, blank=True)
    probability = models.FloatField()
    how = models.CharField(max_length=10, choices=MatchHow.choices)
    explanation = models.CharField(max_length=300, blank=True)
    found_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-probability", "-found_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lost_pupil", "school", "upn"], name="one_match_per_lost_pupil_school_upn"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.school} ({self.probability:.0%})"


class RollCheck(models.Model):
    """A roll snapshot whose joiners were checked against the lost-pupil area."""

    snapshot = models.OneToOneField(
        "registers.RollSnapshot", on_delete=models.CASCADE, related_name="+"
    )
    content_hash = models.CharField(max_length=64, blank=True)
    checked_at = models.DateTimeField(default=timezone.now)
    joiners = models.PositiveIntegerField(default=0)
    matches = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Roll {self.snapshot_id} checked {self.checked_at:%Y-%m-%d %H:%M}"


class RequestStatus(models.TextChoices):
    OPEN = "open", "Waiting for the authority"
    FORWARDED = "forwarded", "File forwarded"
    NOT_FOUND = "not_found", "No file found"


class SearchRequest(models.Model):
    """A school that admitted a pupil whose previous school is unknown asks for a search."""

    school = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    given_names = models.CharField(max_length=100)
    family_name = models.CharField(max_length=100)
    other_names = models.CharField(max_length=200, blank=True)
    dob = models.DateField("date of birth")
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True)
    upn = models.CharField("UPN", max_length=13, blank=True)
    admitted_on = models.DateField()
    previous_school = models.CharField(
        "what the family said about the previous school", max_length=200, blank=True
    )
    status = models.CharField(
        max_length=10, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    handled_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Search for {self.given_names} {self.family_name} by {self.school}"


class EventKind(models.TextChoices):
    UPLOAD = "upload", "Upload"
    DOWNLOAD = "download", "Download"
    SEARCH = "search", "Search"
    FORWARD = "forward", "Forward"
    EXPORT = "export", "Export"
    REQUEST = "request", "Search request"
    MATCH = "match", "Automatic match"


class TransferEvent(models.Model):
    """One logged action on the transfer files (kept with the audit trail's retention)."""

    kind = models.CharField(max_length=10, choices=EventKind.choices, db_index=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    by_label = models.CharField(max_length=254, blank=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    file = models.ForeignKey(
        CtfFile, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    request = models.ForeignKey(
        SearchRequest, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
