"""Every response that shows a child writes its audit row (issue 17), structurally.

One middleware, ``audit.middleware.ChildReadAuditMiddleware``, wraps every page and API
endpoint. After the view, for a successful response (2xx) to a signed-in person, it works
out which child the URL is about from its path parameters (a case, a child, an enquiry, a
transfer record ...), through lookups the apps register here
(:func:`child_lookup_register`, from their ``extensions`` modules: this bottom layer imports
none of them). If the view did not already write a ``view`` or ``export`` row for that
child during the request (the selectors that audit with a precise summary still do), the
middleware writes one. So a new page about a child cannot forget its audit row: the
access-matrix walk (``core/tests/test_read_audit_walk.py``) fails if a response shows a
child with no row.

A refused or missing record answers 403/404 before anything is shown, so nothing is
written for it; a redirect (a change done) is audited by the service that made the change.

**Lists.** A response that shows many children (a work queue, search results, a register,
a report's drill-down, an export of one) says which with :func:`children_listed`, from the
selector or view that builds the rows the person sees (after access rules and paging).
The middleware then writes one ``view`` row per child listed, naming the child, the user
and the list, in **one** bulk insert after a successful response: "who has seen this
child" stays one lookup on ``child_id`` however the child was shown, and the cost per page
is one statement. A child already audited in the request is not written twice. The walk
``audit/tests/test_list_audit_walk.py`` fails if a list shows a child with no row.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models
from django.db.models import signals

from .models import AuditAction

#: ``lookup(value) -> child id or None`` for one path parameter's value.
ChildLookup = Callable[[Any], int | None]

#: (URL name prefix, path parameter) → lookup. Longest prefix first wins.
_lookups: list[tuple[str, str, ChildLookup]] = []

#: The children audited as read during the current request (None outside a request).
audited_in_request: contextvars.ContextVar[set[int] | None] = contextvars.ContextVar(
    "cmetrack_children_audited", default=None
)

#: The children shown in lists during the current request: child id → the list's name.
listed_in_request: contextvars.ContextVar[dict[int, str] | None] = contextvars.ContextVar(
    "cmetrack_children_listed", default=None
)

READ_ACTIONS = frozenset({AuditAction.VIEW, AuditAction.EXPORT})


def children_listed(child_ids: Iterable[int | None], what: str) -> None:
    """The current response shows the children ``child_ids`` in the list ``what`` ("work
    queue", "search results" ...). Nothing is written now: the middleware writes their
    rows in one insert if the response succeeds. Outside a request (a job, a command) it
    does nothing; ``None`` ids (a row with no child record yet) are skipped."""
    listed = listed_in_request.get()
    if listed is None:
        return
    for child_id in child_ids:
        if child_id is not None and not listed.get(int(child_id)):
            listed[int(child_id)] = what


#: ``visible(user, child ids) -> the ids among them the user may see``, registered by the
#: apps that own the access rules (people, the home-education list, the Virtual School).
ChildVisibility = Callable[[Any, set[int]], set[int]]
_visibility: list[ChildVisibility] = []


def child_visibility_register(visible: ChildVisibility) -> None:
    """A rule for which children a person may see. A row loaded but of a child the person
    may not see (a duplicate check at triage reads children the SLO is then told about
    only as "a child record you cannot see") was not shown: no list row is written."""
    if visible not in _visibility:
        _visibility.append(visible)


def visible_children(user: Any, child_ids: set[int]) -> set[int]:
    """The children of ``child_ids`` that one of the registered rules lets ``user`` see
    (all of them when no rule is registered)."""
    if not _visibility:
        return set(child_ids)
    seen: set[int] = set()
    for visible in _visibility:
        rest = child_ids - seen
        if not rest:
            break
        seen |= visible(user, rest)
    return seen


def child_rows_register(model: type[models.Model], child_field: str) -> None:
    """Rows of ``model`` show a child (the one in the concrete field ``child_field``, for
    example ``"child_id"``, or ``"id"`` for the child itself): every row of it loaded while
    answering a signed-in person's request counts as shown to them, named by the page,
    if they may see the child (:func:`child_visibility_register`).
    Registered by the apps that own the models (their ``extensions``), so a new list built
    from these rows is audited without doing anything. Reading the id from the loaded
    values never queries (a deferred field is simply not noted)."""

    def note(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
        listed = listed_in_request.get()
        if listed is None:
            return
        child_id = instance.__dict__.get(child_field)
        if child_id is not None:
            listed.setdefault(int(child_id), "")

    signals.post_init.connect(
        note, sender=model, weak=False, dispatch_uid=f"audit-rows-{model._meta.label}"
    )


def child_lookup_register(url_prefix: str, parameter: str, lookup: ChildLookup) -> None:
    """For URLs whose name starts with ``url_prefix`` ("" for every URL; "api:enquiry_",
    "enquiries:outgoing-"), the path parameter ``parameter`` names a record of a child:
    ``lookup`` gives the child's id. Registering the same pair twice replaces it."""
    for i, (prefix, param, _) in enumerate(_lookups):
        if (prefix, param) == (url_prefix, parameter):
            _lookups[i] = (url_prefix, parameter, lookup)
            break
    else:
        _lookups.append((url_prefix, parameter, lookup))
    _lookups.sort(key=lambda entry: len(entry[0]), reverse=True)


def child_shown_by(url_name: str, kwargs: dict[str, Any]) -> int | None:
    """The child the URL ``url_name`` with path parameters ``kwargs`` is about, if any."""
    for prefix, parameter, lookup in _lookups:
        if parameter in kwargs and url_name.startswith(prefix):
            try:
                child_id = lookup(kwargs[parameter])
            except (ValueError, TypeError, LookupError):
                child_id = None
            if child_id is not None:
                return child_id
    return None


def note_audited(action: str, child_id: int | None) -> None:
    """Called by ``audit_record``: a read of ``child_id`` was audited in this request."""
    seen = audited_in_request.get()
    if seen is not None and child_id is not None and action in READ_ACTIONS:
        seen.add(child_id)
