"""The subject access export: everything held about a child, for a CME manager, audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models, transaction

from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction, AuditEvent
from cmetrack.audit.selectors import child_viewers
from cmetrack.audit.services import Actor, audit_record, json_safe, snapshot
from cmetrack.people.models import Address, Child
from cmetrack.people.selectors import children_visible_to

from .records import ChildRecords, child_records

#: Roles that may produce a subject access export.
SUBJECT_ACCESS_ROLES = (Role.CME_MANAGER,)


@dataclass(frozen=True)
class SubjectAccess:
    records: ChildRecords
    viewers: list[AuditEvent]

    @property
    def child(self) -> Child:
        return self.records.child

    def as_json(self) -> dict[str, Any]:
        """Every field of every row, restricted addresses marked."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for label, rows in self.records.groups.items():
            groups[label] = [
                {
                    "id": row.pk,
                    **snapshot(row),
                    **({"restricted": True} if _is_restricted(row) else {}),
                }
                for row in rows
            ]
        return {
            "child": {"id": self.child.pk, **snapshot(self.child)},
            "records": groups,
            "viewed_by": [
                {"at": json_safe(e.at), "who": e.actor_label, "ip_address": e.ip_address}
                for e in self.viewers
            ],
            "note": "Restricted addresses are marked restricted: true. Check before disclosing "
            "them to anyone other than the child.",
        }


def _is_restricted(row: models.Model) -> bool:
    return isinstance(row, Address) and row.is_restricted


def subject_access_for(*, actor: Actor, child_id: int, output: str) -> SubjectAccess:
    """Collect everything held about the child; raises ``Child.DoesNotExist`` when the actor
    may not export it (not a CME manager, or out of scope). Writes the EXPORT audit row."""
    user = actor.user
    if user is None or not user.has_role(*SUBJECT_ACCESS_ROLES):
        raise Child.DoesNotExist
    with transaction.atomic():
        child = children_visible_to(user).get(pk=child_id)
        records = child_records(child)
        viewers = list(child_viewers(child.pk))
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            obj=child,
            child_id=child.pk,
            summary=f"Subject access export ({output})",
            changes={"tables": sorted(records.groups)},
        )
    return SubjectAccess(records=records, viewers=viewers)
