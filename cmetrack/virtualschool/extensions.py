"""What the Virtual School adds to the imports below it (loaded by ``autodiscover_modules``):
a deletion return for a child in care is refused unless a new school has admitted them
(the child stays on roll until then)."""

from __future__ import annotations

from typing import Any

from cmetrack.audit.reads import (
    child_lookup_register,
    child_rows_register,
    child_visibility_register,
)
from cmetrack.detection.registries import deletion_check_register

from .models import ChildInCare, PersonalEducationPlan
from .selectors import cic_records_visible_to
from .services import deletion_return_refusals

deletion_check_register(deletion_return_refusals)


def _child_of_record(record_id: object) -> int | None:
    return (
        ChildInCare.objects.filter(pk=int(str(record_id)))
        .values_list("child_id", flat=True)
        .first()
    )


def _child_of_pep(pep_id: object) -> int | None:
    return (
        PersonalEducationPlan.objects.filter(pk=int(str(pep_id)))
        .values_list("record__child_id", flat=True)
        .first()
    )


# Pages and endpoints about a child in care's record or plan show that child (audit.reads).
for _prefix in ("virtualschool:", "api:cic_"):
    child_lookup_register(_prefix, "record_id", _child_of_record)
    child_lookup_register(_prefix, "pep_id", _child_of_pep)

# The Virtual School's lists of children in care show their children (audit of lists).
child_rows_register(ChildInCare, "child_id")


def _visible(user: Any, child_ids: set[int]) -> set[int]:
    """Children in care whose record the person may read."""
    records = cic_records_visible_to(user).filter(child_id__in=child_ids)
    return set(records.values_list("child_id", flat=True))


child_visibility_register(_visible)
