"""Data feeds and automatic detection (issue 6; rules.md sections 3, 4 and 5).

* :class:`ImportRun` logs every import: who, when, which file, how many rows, and each
  warning and error with its line, column and message.
* Attendance marks are *not* stored here, one row per mark: they live in Parquet files
  under ``ATTENDANCE_DIR`` (see docs/adr/0009-detection-duckdb-spark.md);
  :class:`AttendancePartition` is the small index of those files.
* :class:`DeletionReturn`, :class:`AdditionReturn` and :class:`AdmissionAllocation` are the
  returns and allocations the engine reads, with natural keys that make imports idempotent.
* :class:`Alert` is one "potential CME" finding, unique per rule, pupil and episode.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from cmetrack.cases.models import Case
from cmetrack.organisations.models import Organisation
from cmetrack.people.models import Child
from cmetrack.referrals.models import Referral


class ImportKind(models.TextChoices):
    TERMS = "terms", "Term dates"
    CLOSURES = "closures", "Closure days"
    ROLL = "roll", "Roll snapshot"
    ATTENDANCE = "attendance", "Attendance marks"
    DELETIONS = "deletions", "Deletion returns"
    ADDITIONS = "additions", "Addition returns"
    ALLOCATIONS = "allocations", "Admissions allocations"
    CTF_ROLL = "ctf_roll", "Roll from a common transfer file (CTF XML)"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Waiting to start"
    RUNNING = "running", "Importing"
    SUCCEEDED = "succeeded", "Imported"
    UNCHANGED = "unchanged", "Already imported: nothing changed"
    FAILED = "failed", "Not imported: the file has errors"


#: The states of a finished run ("done" is succeeded or unchanged).
FINISHED_STATUSES = frozenset({ImportStatus.SUCCEEDED, ImportStatus.UNCHANGED, ImportStatus.FAILED})


class ImportRun(models.Model):
    """One attempt to import one file. A failed import is logged; its data is not kept.

    Also the background job: an upload is stored and queued, a worker claims it (running),
    reports ``rows_done`` of ``rows_total`` at most every few thousand rows, and finishes it
    (succeeded, unchanged or failed). See :mod:`cmetrack.detection.jobs`.
    """

    kind = models.CharField(max_length=20, choices=ImportKind.choices, db_index=True)
    status = models.CharField(max_length=10, choices=ImportStatus.choices)
    file_name = models.CharField(max_length=255)
    content_hash = models.CharField(max_length=64, db_index=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="import_runs",
    )
    by_label = models.CharField(max_length=254, blank=True)
    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="import_runs",
        help_text="The uploader's organisation (a school uploads only its own data).",
    )
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0, help_text="Rows that changed data.")
    warnings = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    # The background job.
    params = models.JSONField(
        default=dict, blank=True, help_text="The importer's options, e.g. a roll's date."
    )
    upload_path = models.CharField(
        max_length=500, blank=True, help_text="The stored upload while the run waits or runs."
    )
    stage = models.CharField(max_length=60, blank=True, help_text="What the import is doing now.")
    rows_done = models.PositiveIntegerField(default=0)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    progress_at = models.DateTimeField(
        null=True, blank=True, help_text="The last progress report: a heartbeat of the worker."
    )
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["status", "started_at"], name="importrun_queue")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.file_name} ({self.get_status_display()})"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def percent(self) -> int | None:
        """Whole per cent done, when the total is known."""
        if self.finished:
            return 100
        if not self.rows_total:
            return None
        return min(100, int(100 * self.rows_done / self.rows_total))


class AttendancePartition(models.Model):
    """One Parquet file of marks: one school, one academic year (starting September)."""

    school = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    academic_year = models.PositiveSmallIntegerField(help_text="The year the academic year starts.")
    path = models.CharField(max_length=500)
    marks = models.PositiveIntegerField(default=0)
    first_date = models.DateField(null=True, blank=True)
    last_date = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    last_import = models.ForeignKey(
        ImportRun, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["school", "academic_year"], name="unique_attendance_partition"
            )
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.academic_year}/{self.academic_year + 1 - 2000:02d}"


class DeletionGround(models.TextChoices):
    """Grounds for deleting a pupil from the roll (2024 regulations, reg 9; rules.md §5)."""

    A = "a", "(a) Registered at another school"
    B = "b", "(b) Did not continue from the school's nursery"
    C = "c", "(c) Dual registration ended with consent"
    D = "d", "(d) School Attendance Order amended to another school"
    E = "e", "(e) School Attendance Order revoked"
    F = "f", "(f) Parent will educate the child otherwise than at school"
    G = "g", "(g) No longer lives within reasonable distance"
    H = "h", "(h) Did not return within 10 school days after authorised leave"
    I = "i", "(i) 20 school days continuous unauthorised absence"  # noqa: E741
    J = "j", "(j) Detained by court order"
    K = "k", "(k) Died"
    L = "l", "(l) Passes compulsory school age and will not continue"
    M = "m", "(m) Boarding fees unpaid"
    N = "n", "(n) Ceased to be a pupil at an independent or non-maintained special school"
    O = "o", "(o) Permanently excluded"  # noqa: E741


#: Grounds after which the child's whereabouts are settled without a destination school:
#: home education (f), detained by court order (j: the secure setting educates the child),
#: died (k), beyond compulsory school age (l).
SETTLED_GROUNDS = frozenset(
    {DeletionGround.F, DeletionGround.J, DeletionGround.K, DeletionGround.L}
)


class PupilIdentity(models.Model):
    """The pupil as the school described them (register data, not a Child record)."""

    upn = models.CharField("UPN", max_length=13, db_index=True)
    legal_given_name = models.CharField(max_length=100)
    legal_family_name = models.CharField(max_length=100)
    dob = models.DateField("date of birth")

    class Meta:
        abstract = True

    @property
    def full_name(self) -> str:
        return f"{self.legal_given_name} {self.legal_family_name}"


class DeletionReturn(PupilIdentity):
    """A school telling the LA it deleted a pupil from its roll (rules.md §5)."""

    school = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    ground = models.CharField(max_length=1, choices=DeletionGround.choices)
    deleted_on = models.DateField("date of deletion")
    destination_school = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": "school"},
    )
    destination_name = models.CharField(
        "destination school (if not ours)", max_length=200, blank=True
    )
    destination_start = models.DateField("start date at the new school", null=True, blank=True)
    future_address = models.CharField(max_length=300, blank=True)
    future_postcode = models.CharField(max_length=10, blank=True)
    parent_name = models.CharField(max_length=150, blank=True)
    parent_phone = models.CharField(max_length=40, blank=True)
    #: Grounds (h) and (i): the record of the reasonable joint enquiries that failed, the
    #: school's and the authority's (reg 9; rules.md section 4).
    school_enquiries = models.TextField("the school's enquiries", blank=True)
    la_enquiries = models.TextField("the local authority's enquiries", blank=True)
    #: Ground (h): the last day of the authorised leave the pupil did not return from.
    leave_ended_on = models.DateField("last day of authorised leave", null=True, blank=True)
    import_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.PROTECT)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-deleted_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "upn", "deleted_on"], name="unique_deletion_return"
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name} deleted {self.deleted_on:%d %b %Y} ({self.ground})"

    @property
    def destination_known(self) -> bool:
        return bool(self.destination_school_id or self.destination_name) or (
            self.ground in SETTLED_GROUNDS
        )


class AdditionReturn(PupilIdentity):
    """A school telling the LA it added a pupil to its roll (within 5 days; rules.md §5)."""

    school = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    joined_on = models.DateField("date added to the roll")
    previous_school = models.CharField(max_length=200, blank=True)
    import_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["-joined_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "upn", "joined_on"], name="unique_addition_return"
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name} joined {self.joined_on:%d %b %Y}"


class AdmissionAllocation(PupilIdentity):
    """A school place the admissions team allocated, with the expected start date."""

    school = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    expected_start = models.DateField()
    import_run = models.ForeignKey(ImportRun, null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        ordering = ["-expected_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "upn", "expected_start"], name="unique_admission_allocation"
            )
        ]

    def __str__(self) -> str:
        return f"{self.full_name} allocated from {self.expected_start:%d %b %Y}"


class AlertRule(models.TextChoices):
    ABSENCE_20 = "absence_20", "10 school days of continuous unexplained absence"
    ABSENCE_40 = "absence_40", "20 school days of continuous unexplained absence"
    LEAVER_NO_DESTINATION = "leaver_no_destination", "Left with no known destination"
    ALLOCATION_NOT_TAKEN = "allocation_not_taken", "Allocated place not taken up"
    IN_CARE_ATTENDANCE = "in_care_attendance", "Child in care: attendance 95% or below"
    ILLNESS_15 = "illness_15", "15 school days of illness"
    Y6_Y7_TRANSFER = "y6_y7_transfer", "Year 6 pupil on no roll in Year 7"
    SUGGEST_LOCATED = "suggest_located", "Open case: child found on a roll"
    DESTINATION_NOT_ON_ROLL = (
        "destination_not_on_roll",
        "Deleted to a named school whose next roll lacks the child",
    )


class AlertState(models.TextChoices):
    NEW = "new", "New"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    REFERRED = "referred", "Referred"
    DISMISSED = "dismissed", "Dismissed"


class Alert(models.Model):
    """A "potential CME" finding. Never duplicated: one per rule, pupil and episode start."""

    rule = models.CharField(max_length=25, choices=AlertRule.choices, db_index=True)
    state = models.CharField(
        max_length=12, choices=AlertState.choices, default=AlertState.NEW, db_index=True
    )
    school = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    laestab = models.CharField("LAESTAB", max_length=7, blank=True)
    upn = models.CharField("UPN", max_length=13, db_index=True)
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    dob = models.DateField("date of birth", null=True, blank=True)
    episode_start = models.CharField(
        max_length=20, help_text="When the episode began: a date, or a date and session."
    )
    evidence = models.JSONField(default=dict)
    detected_on = models.DateField(help_text="The as-of date of the detection that found it.")
    first_detected_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_detected_at = models.DateTimeField(default=timezone.now)
    dismissed_reason = models.CharField(max_length=300, blank=True)
    child = models.ForeignKey(
        Child, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )
    case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="alerts"
    )

    class Meta:
        ordering = ["-first_detected_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule", "upn", "episode_start"], name="unique_alert_episode"
            )
        ]
        indexes = [models.Index(fields=["state", "rule", "school"])]

    def __str__(self) -> str:
        return f"{self.get_rule_display()}: {self.upn} from {self.episode_start}"

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip() or self.upn
