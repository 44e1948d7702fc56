"""What a child's record adds to the audited path (loaded by ``autodiscover_modules``): every
page and endpoint with a child in its path shows that child (``audit.reads``)."""

from __future__ import annotations

from typing import Any

from cmetrack.audit.reads import child_lookup_register, child_visibility_register

from .models import Child
from .selectors import children_visible_to


def _child(child_id: object) -> int | None:
    return Child.objects.filter(pk=int(str(child_id))).values_list("pk", flat=True).first()


child_lookup_register("", "child_id", _child)


def _visible(user: Any, child_ids: set[int]) -> set[int]:
    return set(children_visible_to(user).filter(pk__in=child_ids).values_list("pk", flat=True))


# A list's audit rows are written only for the children the person may see (audit.reads).
child_visibility_register(_visible)
