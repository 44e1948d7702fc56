"""The middleware that writes the ``view`` rows of the children a response shows: the
child a page is about, and the children a list shows (see :mod:`cmetrack.audit.reads`)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from cmetrack.kit.words import plural

from .models import AuditAction, AuditEvent
from .reads import audited_in_request, child_shown_by, listed_in_request, visible_children
from .services import Actor, audit_record

#: The longest list named on one row's summary (the path is kept whole).
_SUMMARY = 300


class ChildReadAuditMiddleware:
    """Writes the ``view`` row of the child a successful response is about, unless the view
    wrote one itself, and one ``view`` row per child the response listed (one insert).
    Placed after authentication (settings ``MIDDLEWARE``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        token = audited_in_request.set(set())
        listed_token = listed_in_request.set({})
        try:
            response = self.get_response(request)
            seen = audited_in_request.get() or set()
            self._audit(request, response, seen)
            self._audit_lists(request, response, seen, listed_in_request.get() or {})
        finally:
            audited_in_request.reset(token)
            listed_in_request.reset(listed_token)
        return response

    @staticmethod
    def _succeeded(request: HttpRequest, response: HttpResponseBase) -> bool:
        user = getattr(request, "user", None)
        return user is not None and user.is_authenticated and 200 <= response.status_code < 300

    @classmethod
    def _audit(cls, request: HttpRequest, response: HttpResponseBase, seen: set[int]) -> None:
        match = getattr(request, "resolver_match", None)
        if match is None or not match.view_name or not cls._succeeded(request, response):
            return
        child_id = child_shown_by(match.view_name, dict(match.kwargs))
        if child_id is None or child_id in seen:
            return
        audit_record(
            actor=Actor.from_request(request),
            action=AuditAction.VIEW,
            object_type="people.child",
            object_id=child_id,
            child_id=child_id,
            summary=f"Viewed {match.view_name} ({request.method} {request.path})",
        )
        seen.add(child_id)

    @classmethod
    def _audit_lists(
        cls,
        request: HttpRequest,
        response: HttpResponseBase,
        seen: set[int],
        listed: dict[int, str],
    ) -> None:
        """One ``view`` row per child the response listed, all in one insert."""
        if not listed or not cls._succeeded(request, response):
            return
        # Rows merely loaded (not named by a selector) count only for children the person
        # may see: a check that reads other children shows none of them.
        loaded = {child_id for child_id, what in listed.items() if not what}
        if loaded:
            hidden = loaded - visible_children(getattr(request, "user", None), loaded)
            listed = {k: v for k, v in listed.items() if k not in hidden}
            if not listed:
                return
        actor = Actor.from_request(request)
        label = actor.display[:254]
        match = getattr(request, "resolver_match", None)
        page = match.view_name if match is not None and match.view_name else "a page"
        where = f"({request.method} {request.get_full_path()})"
        count = len(listed)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(
                    actor=actor.user,
                    actor_label=label,
                    ip_address=actor.ip_address,
                    action=AuditAction.VIEW,
                    object_type="people.child",
                    object_id=str(child_id),
                    child_id=child_id,
                    summary=f"Listed in {what or page} ({plural(count, 'child', 'children')} "
                    f"shown) {where}"[:_SUMMARY],
                    changes={"list": what or page, "children_shown": count},
                )
                for child_id, what in sorted(listed.items())
                if child_id not in seen
            ]
        )
