"""Everything the system holds about one child, found by following the foreign keys.

The walk is generic on purpose: a table another app adds later (case notes, tracking,
alerts) that points at the child or at one of the child's cases or referrals is included
in the subject access export and in retention without changing this module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import models

from cmetrack.notifications.models import Message
from cmetrack.people.models import Child, SiblingLink

#: How many foreign-key steps away from the child the walk goes (child → case → note).
DEPTH = 2
#: Tables that are about access to the record, not about the child, and are walked no further.
NOT_FOLLOWED = frozenset({"people.restrictedaddressaccess"})


def label_of(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.{model._meta.model_name}"


@dataclass
class ChildRecords:
    """The child and every row about them, grouped by table (``app.model``)."""

    child: Child
    groups: dict[str, list[models.Model]] = field(default_factory=dict)

    def add(self, instance: models.Model) -> bool:
        rows = self.groups.setdefault(label_of(type(instance)), [])
        if any(r.pk == instance.pk for r in rows):
            return False
        rows.append(instance)
        return True

    def instances(self) -> Iterator[models.Model]:
        for rows in self.groups.values():
            yield from rows


def _reverse_relations(model: type[models.Model]) -> list[models.ForeignObjectRel]:
    return [
        rel
        for rel in model._meta.get_fields(include_hidden=True)
        if isinstance(rel, models.ForeignObjectRel)
        and (rel.one_to_many or rel.one_to_one)
        and rel.related_model is not None
        and not isinstance(rel.related_model, str)
        and rel.related_model is not SiblingLink
    ]


def child_records(child: Child) -> ChildRecords:
    """The child, the rows pointing at them, and the rows pointing at those (DEPTH steps)."""
    records = ChildRecords(child=child)
    for link in SiblingLink.objects.filter(models.Q(child=child) | models.Q(sibling=child)):
        records.add(link)
    frontier: list[models.Model] = [child]
    for _ in range(DEPTH):
        found: list[models.Model] = []
        for obj in frontier:
            for rel in _reverse_relations(type(obj)):
                related = rel.related_model
                assert not isinstance(related, str)
                if related is Child:
                    continue
                qs = related._default_manager.filter(**{rel.field.name: obj.pk})
                for instance in qs.order_by("pk"):
                    if records.add(instance) and label_of(related) not in NOT_FOLLOWED:
                        found.append(instance)
        frontier = found
    # Emails about the child (kept by id, as the audit trail is, not by a foreign key).

    for message in Message.objects.filter(child_id=child.pk).order_by("pk"):
        records.add(message)
    return records
