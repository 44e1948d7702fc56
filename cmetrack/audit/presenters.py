"""The audit trail as the auditors' pages and CSV show it.

Only who, when, from where, what and the summary are shown. The before/after values in
``changes`` hold personal data (including restricted addresses) and stay in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils import timezone

from .models import AuditEvent

CSV_HEADER = ("When", "Who", "IP address", "Action", "Record type", "Record id", "Child id",
              "Summary")  # fmt: skip


def when(event: AuditEvent) -> str:
    at = timezone.localtime(event.at)
    return f"{at.day} {at:%B %Y} {at:%H:%M:%S}"


@dataclass(frozen=True)
class AuditRow:
    when: str
    who: str
    ip_address: str
    action: str
    record: str
    child_id: str
    summary: str


def audit_rows(events: Iterable[AuditEvent]) -> list[AuditRow]:
    return [
        AuditRow(
            when=when(e),
            who=e.actor_label,
            ip_address=e.ip_address or "",
            action=e.get_action_display(),
            record=f"{e.object_type} {e.object_id}".strip(),
            child_id="" if e.child_id is None else str(e.child_id),
            summary=e.summary,
        )
        for e in events
    ]


def audit_csv_rows(events: Iterable[AuditEvent]) -> Iterator[tuple[str, ...]]:
    for e in events:
        yield (
            timezone.localtime(e.at).isoformat(),
            e.actor_label,
            e.ip_address or "",
            e.action,
            e.object_type,
            e.object_id,
            "" if e.child_id is None else str(e.child_id),
            e.summary,
        )
