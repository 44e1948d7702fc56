"""The audit trail as the auditors' pages and CSV show it.

Only who, when, from where, what and the summary are shown. The before/after values in
``changes`` hold personal data (including restricted addresses) and stay in the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from .models import AuditEvent
from .names import actor_name, record_names

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
    """The page's rows, with people's and children's names (``audit.names``)."""
    events = list(events)
    labels, children = record_names(events)
    return [
        AuditRow(
            when=when(e),
            who=actor_name(e),
            ip_address=e.ip_address or "",
            action=e.get_action_display(),
            record=labels.get((e.object_type, e.object_id), ""),
            child_id=""
            if e.child_id is None
            else (
                f"{children[e.child_id]} ({e.child_id})"
                if e.child_id in children
                else str(e.child_id)
            ),
            summary=e.summary,
        )
        for e in events
    ]


def audit_csv_rows(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[str, ...]]:
    """The export's lines from ``selectors.audit_export_values`` (its EXPORT_FIELDS)."""
    for at, actor_label, ip_address, action, object_type, object_id, child_id, summary in rows:
        yield (
            timezone.localtime(at).isoformat(),
            actor_label,
            ip_address or "",
            action,
            object_type,
            object_id,
            "" if child_id is None else str(child_id),
            summary,
        )
