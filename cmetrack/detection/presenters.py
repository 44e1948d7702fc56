"""What the alerts pages show, prepared for the templates (tested without a template)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from cmetrack.kit.dates import govuk_date
from cmetrack.kit.words import plural
from cmetrack.rules.attendance import ATTENDANCE_CODES

from .models import Alert, AlertState, ImportRun, ImportStatus
from .selectors import AlertFilters


@dataclass(frozen=True)
class AlertRow:
    href: str
    pupil: str
    upn: str
    dob: str
    school: str
    rule: str
    since: str
    state: str


def alert_row(alert: Alert) -> AlertRow:
    return AlertRow(
        href=reverse("detection:alert-detail", args=[alert.pk]),
        pupil=alert.full_name,
        upn=alert.upn,
        dob=govuk_date(alert.dob) if alert.dob else "Not known",
        school=alert.school.name if alert.school else alert.laestab or "Not known",
        rule=alert.get_rule_display(),
        since=_episode(alert.episode_start),
        state=alert.get_state_display(),
    )


def _episode(value: str) -> str:
    from datetime import date

    day, _, half = value.partition(" ")
    try:
        text = govuk_date(date.fromisoformat(day))
    except ValueError:
        return value
    return f"{text} {'morning' if half == 'AM' else 'afternoon'}" if half else text


@dataclass(frozen=True)
class QueuePresenter:
    rows: list[AlertRow]
    total: int
    next_href: str
    first_href: str
    is_school: bool

    @classmethod
    def build(
        cls, alerts: list[Alert], total: int, next_after: int | None, filters: AlertFilters,
        is_school: bool,
    ) -> QueuePresenter:  # fmt: skip
        params = {k: v for k, v in vars(filters).items() if v}
        base = reverse("detection:alert-list")
        next_href = f"{base}?{urlencode({**params, 'after': next_after})}" if next_after else ""
        first_href = f"{base}?{urlencode(params)}" if params else base
        return cls(
            rows=[alert_row(a) for a in alerts],
            total=total,
            next_href=next_href,
            first_href=first_href,
            is_school=is_school,
        )


#: Evidence keys shown as rows, with their labels (marks are a table of their own).
EVIDENCE_LABELS = {
    "first_session": "First session",
    "last_session": "Last session",
    "sessions": "Sessions of unexplained absence",
    "school_days": "School days",
    "span_sessions": "School sessions from first to last",
    "data_gaps": "Sessions with no mark",
    "open": "Still going on",
    "left_on": "Left on",
    "how": "How we know",
    "due_on": "Alert due on",
    "expected_start": "Expected start",
    "school_days_waited": "School days waited",
    "attended_sessions": "Sessions attended",
    "possible_sessions": "Possible sessions",
    "attendance_percent": "Attendance (%)",
    "illness_sessions": "Sessions of illness",
    "first_illness": "First illness",
    "year_6_roll": "On a Year 6 roll on",
    "first_autumn_snapshot": "First autumn roll",
    "seen_on": "Seen on",
    "source": "Seen in",
    "school": "School (LAESTAB)",
    "case_id": "Case",
    "not_found_on": "Looked for and not found on",
}

CODE_MEANINGS_BREAK = "breaks the run"


@dataclass(frozen=True)
class AlertPresenter:
    alert: Alert
    can_work: bool

    @property
    def title(self) -> str:
        return self.alert.get_rule_display()

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        a = self.alert
        rows = [
            ("Pupil", a.full_name),
            ("UPN", a.upn),
            ("Date of birth", govuk_date(a.dob) if a.dob else "Not known"),
            ("School", a.school.name if a.school else a.laestab or "Not known"),
            ("Since", _episode(a.episode_start)),
            ("State", a.get_state_display()),
            ("First found", govuk_date(a.first_detected_at.date())),
        ]
        if a.state == AlertState.DISMISSED:
            rows.append(("Reason dismissed", a.dismissed_reason))
        if a.referral_id and a.referral:
            rows.append(("Referral", a.referral.reference))
        if a.case_id and a.case:
            rows.append(("Case", a.case.reference))
        return rows

    @property
    def evidence_rows(self) -> list[tuple[str, str]]:
        rows = []
        for key, label in EVIDENCE_LABELS.items():
            if key in self.alert.evidence:
                rows.append((label, _value(self.alert.evidence[key])))
        return rows

    @property
    def marks(self) -> list[tuple[str, str, str]]:
        from datetime import date

        rows = []
        for day, half, code in self.alert.evidence.get("marks", []):
            meaning = "No mark (data gap)"
            if code:
                found = ATTENDANCE_CODES.get(code)
                meaning = f"{code}: {found.meaning}" if found else code
            rows.append(
                (
                    govuk_date(date.fromisoformat(day)),
                    "Morning" if half == "AM" else "Afternoon",
                    meaning,
                )
            )
        return rows

    @property
    def open(self) -> bool:
        return self.alert.state in {AlertState.NEW, AlertState.ACKNOWLEDGED}

    @property
    def can_acknowledge(self) -> bool:
        return self.can_work and self.alert.state == AlertState.NEW


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


# --- Imports -------------------------------------------------------------------------------

#: What the import pages say while no background worker is running.
NO_WORKER_MESSAGE = (
    "The import worker is not running: your file is queued and will be imported when it "
    "starts; tell your administrator."
)


@dataclass(frozen=True)
class ImportRunPresenter:
    """A run's progress and outcome, for its page and its JSON progress endpoint."""

    run: ImportRun
    #: Is a background worker running (``cmetrack.jobs.status.worker_alive``)?
    worker_running: bool = True

    @property
    def worker_warning(self) -> str:
        """Said while the run waits and no worker is there to take it ("" otherwise)."""
        if self.run.status == ImportStatus.QUEUED and not self.worker_running:
            return NO_WORKER_MESSAGE
        return ""

    @property
    def percent(self) -> int | None:
        return self.run.percent

    @property
    def status_text(self) -> str:
        run = self.run
        if run.status == ImportStatus.RUNNING and run.stage:
            return f"{run.get_status_display()}: {run.stage}"
        return str(run.get_status_display())

    @property
    def detail(self) -> str:
        run = self.run
        if run.status == ImportStatus.QUEUED:
            return "Waiting for the import to start."
        if run.finished:
            return f"{plural(run.rows, 'row')} read, {run.created:,} changed."
        if run.rows_total:
            return (
                f"{run.rows_done:,} of {run.rows_total:,} rows ({self.percent}%)"
                + (f", last update {run.progress_at:%H:%M:%S}" if run.progress_at else "")
                + "."
            )
        return "Reading the file."

    @property
    def summary_rows(self) -> list[dict[str, Any]]:
        run = self.run
        rows = [
            ("Data", run.get_kind_display()),
            ("File", run.file_name),
            ("Sent by", run.by_label or "system"),
            ("Started", f"{timezone.localtime(run.started_at):%d %B %Y %H:%M}"),
            ("Status", run.get_status_display()),
        ]
        if run.finished_at:
            rows.append(("Finished", f"{timezone.localtime(run.finished_at):%d %B %Y %H:%M}"))
        if run.finished:
            rows.append(("Errors, warnings", f"{len(run.errors)}, {len(run.warnings)}"))
        return [{"key": {"text": key}, "value": {"text": value}} for key, value in rows]

    def as_json(self) -> dict[str, Any]:
        run = self.run
        return {
            "id": run.pk,
            "status": run.status,
            "status_text": self.status_text,
            "stage": run.stage,
            "rows_done": run.rows_done,
            "rows_total": run.rows_total,
            "percent": self.percent,
            "finished": run.finished,
            "detail": self.detail,
            "worker_warning": self.worker_warning,
            "url": reverse("detection:import-run", kwargs={"run_id": run.pk}),
        }


def import_list_rows(runs: list[ImportRun]) -> list[list[dict[str, Any]]]:
    """Rows of the imports table: newest first, each linking to its page."""
    rows = []
    for run in runs:
        href = reverse("detection:import-run", kwargs={"run_id": run.pk})
        rows.append(
            [
                {"text": f"{timezone.localtime(run.started_at):%d %b %Y %H:%M}"},
                {"html": f'<a class="govuk-link" href="{href}">{escape(run.file_name)}</a>'},
                {"text": run.get_kind_display()},
                {"text": run.by_label or "system"},
                {"text": ImportRunPresenter(run).status_text},
                {
                    "text": f"{run.rows:,}" if run.finished else f"{run.rows_done:,}",
                    "format": "numeric",
                },
            ]
        )
    return rows
