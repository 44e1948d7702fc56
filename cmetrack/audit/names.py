"""Names for the audit trail's pages: the people who acted, the children and the records,
instead of ``people.child 331`` and email addresses.

The audit trail is the lowest layer and imports no app above it: the rows it names are
looked up through Django's model registry (``apps.get_model``), one query for each kind of
record on a page. Only the kinds in :data:`NAMED` are shown by name (a child's name, a
case's reference, a person's name); any other record is shown by its kind and number, so an
address (perhaps restricted) or a note never appears in the trail's pages. Only someone
allowed to search the trail (``audit.search_trail``: auditors) sees these pages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.apps import apps

from .models import AuditEvent

#: object_type → how a row of it is named (an attribute or property of the model).
NAMED: dict[str, str] = {
    "people.child": "full_name",
    "cases.case": "reference",
    "accounts.user": "full_name",
}


def _model(object_type: str) -> Any | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def kind_label(object_type: str) -> str:
    """ "Risk assessment", "Child" (the model's verbose name), or the raw type."""
    model = _model(object_type)
    if model is None:
        return object_type
    name = str(model._meta.verbose_name)
    return name[:1].upper() + name[1:]


def _names(object_type: str, ids: Iterable[str]) -> dict[str, str]:
    model = _model(object_type)
    attribute = NAMED.get(object_type)
    if model is None or attribute is None:
        return {}
    keys = [int(i) for i in ids if str(i).isdigit()]
    found = model._default_manager.in_bulk(keys)
    return {str(pk): str(getattr(obj, attribute) or "") for pk, obj in found.items()}


def record_names(events: list[AuditEvent]) -> tuple[dict[tuple[str, str], str], dict[int, str]]:
    """For one page of events: each record's label ("Child: Ava Smith", "Case: CME-000123",
    "Risk assessment 12") and each child's name, by id."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.object_type and e.object_id:
            wanted[e.object_type].add(e.object_id)
        if e.child_id is not None:
            wanted["people.child"].add(str(e.child_id))
    names = {t: _names(t, ids) for t, ids in wanted.items()}
    labels: dict[tuple[str, str], str] = {}
    for e in events:
        if not e.object_type:
            continue
        kind = kind_label(e.object_type)
        name = names.get(e.object_type, {}).get(e.object_id)
        labels[(e.object_type, e.object_id)] = (
            f"{kind}: {name}" if name else f"{kind} {e.object_id}".strip()
        )
    children = {int(k): v for k, v in names.get("people.child", {}).items()}
    return labels, children


def actor_name(event: AuditEvent) -> str:
    """The person's name (the email they signed in with only when they have no name); a
    system job or a failed sign-in as recorded."""
    actor = event.actor
    if actor is not None:
        return str(actor.get_full_name() or event.actor_label)
    return event.actor_label
