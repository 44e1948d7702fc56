"""API for detection alerts: the caller's queue and one alert's evidence.

Scoped exactly like the pages (``alerts_visible_to``): an alert out of scope is 404.
Reading one alert is audited, as its page is.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.core.api_support import Error, ValidationErrorOut, run_write
from cmetrack.core.storage import StorageUnavailable

from .models import Alert
from .selectors import AlertFilters, alert_get_for_view, alert_queue, may_see_alerts

router = Router(tags=["Detection alerts"])


class AlertOut(Schema):
    id: int
    rule: str
    state: str
    upn: str
    given_name: str
    family_name: str
    dob: dt.date | None
    school: str = Field(description="LAESTAB of the school the alert is about")
    episode_start: str
    detected_on: dt.date
    referral: str | None = None


class AlertDetailOut(AlertOut):
    evidence: dict[str, Any]
    dismissed_reason: str


class AlertPage(Schema):
    total: int
    next_after: int | None
    items: list[AlertOut]


class AlertQuery(Schema):
    rule: str = ""
    school: int | None = None
    age: str = ""
    group: str = ""
    state: str = ""
    after: int | None = None


def _user(request: HttpRequest) -> User:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user


def _out(alert: Alert) -> dict[str, Any]:
    return {
        "id": alert.pk,
        "rule": alert.rule,
        "state": alert.state,
        "upn": alert.upn,
        "given_name": alert.given_name,
        "family_name": alert.family_name,
        "dob": alert.dob,
        "school": alert.laestab,
        "episode_start": alert.episode_start,
        "detected_on": alert.detected_on,
        "referral": alert.referral.reference if alert.referral_id and alert.referral else None,
        "evidence": alert.evidence,
        "dismissed_reason": alert.dismissed_reason,
    }


@router.get("/alerts", response=AlertPage, summary="Detection alerts the caller may see")
def list_alerts(request: HttpRequest, filters: Query[AlertQuery]) -> dict[str, Any]:
    user = _user(request)
    if not may_see_alerts(user):
        raise HttpError(403, "You do not have access to alerts")
    rows, total, next_after = alert_queue(
        user,
        AlertFilters(
            rule=filters.rule,
            school=filters.school,
            age=filters.age,
            group=filters.group,
            state=filters.state,
        ),
        after=filters.after,
    )
    return {"total": total, "next_after": next_after, "items": [_out(a) for a in rows]}


@router.get(
    "/alerts/{alert_id}",
    response={200: AlertDetailOut, 404: dict},
    summary="One alert with its evidence (the read is audited)",
)
def get_alert(request: HttpRequest, alert_id: int) -> Any:
    try:
        alert = alert_get_for_view(actor=Actor.from_request(request), alert_id=alert_id)
    except Alert.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc
    return _out(alert)


# --- Deletion returns (rules.md §5): a school tells the authority it deleted a pupil ---------


class DeletionReturnIn(Schema):
    upn: str
    legal_given_name: str
    legal_family_name: str
    dob: dt.date
    ground: str = Field(description="The ground for deletion, a to o (2024 regulations, reg 9)")
    deleted_on: dt.date
    destination_laestab: str = Field(default="", description="The new school, if we know it")
    destination_name: str = Field(default="", description="Or the new school's name")
    destination_start: dt.date | None = None
    future_address: str = ""
    future_postcode: str = ""
    parent_name: str = ""
    parent_phone: str = ""


class DeletionReturnOut(Schema):
    id: int
    upn: str
    ground: str
    deleted_on: dt.date
    destination_known: bool


@router.post(
    "/deletion-returns",
    response={201: DeletionReturnOut, 400: ValidationErrorOut, 403: Error},
    summary="A school's deletion return for its own roll (checked as the form and CSV are)",
)
def deletion_return_create(request: HttpRequest, body: DeletionReturnIn) -> Any:
    from cmetrack.accounts.roles import Role
    from cmetrack.organisations.models import OrganisationKind

    from .importers import RETURN_NOT_STORED, deletion_return_submit

    user = _user(request)
    school = user.organisation
    if not (
        user.has_role(Role.SCHOOL_USER)
        and school is not None
        and school.kind == OrganisationKind.SCHOOL
    ):
        raise HttpError(403, "Only a school sends a deletion return, for its own roll")

    def call() -> dict[str, Any]:
        try:
            record = deletion_return_submit(
                actor=Actor.from_request(request), school=school, **body.dict()
            )
        except StorageUnavailable as exc:  # disk full or read-only: nothing was saved
            raise HttpError(503, RETURN_NOT_STORED) from exc
        return {
            "id": record.pk,
            "upn": record.upn,
            "ground": record.ground,
            "deleted_on": record.deleted_on,
            "destination_known": record.destination_known,
        }

    return run_write(call)
