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
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor
from cmetrack.cases.selectors import open_cases_for
from cmetrack.kit.problems import (
    InputSchema,
    Problem,
    forbidden,
    invalid_field,
    not_found,
    problems,
    run_write,
)
from cmetrack.kit.storage import StorageUnavailable
from cmetrack.organisations.models import OrganisationKind

from .importers import RETURN_NOT_STORED, deletion_return_submit
from .models import Alert
from .selectors import (
    AlertFilters,
    alert_get_for_view,
    alert_queue,
    alerts_visible_to,
    may_see_alerts,
    may_work_alerts,
)
from .services import alert_acknowledge, alert_attach_case, alert_dismiss, alert_refer

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


@router.get(
    "/alerts",
    response={200: AlertPage, 403: Problem},
    summary="Detection alerts the caller may see",
    operation_id="alert_list",
)
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
    response={200: AlertDetailOut, 404: Problem},
    summary="One alert with its evidence (the read is audited)",
    operation_id="alert_get",
)
def get_alert(request: HttpRequest, alert_id: int) -> Any:
    try:
        alert = alert_get_for_view(actor=Actor.from_request(request), alert_id=alert_id)
    except Alert.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc
    return _out(alert)


# --- Deletion returns (rules.md §5): a school tells the authority it deleted a pupil ---------


class DeletionReturnIn(InputSchema):
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
    school_enquiries: str = Field(
        default="", description="Grounds (h) and (i): the school's failed enquiries (required)"
    )
    la_enquiries: str = Field(
        default="", description="Grounds (h) and (i): the authority's failed enquiries (required)"
    )
    leave_ended_on: dt.date | None = Field(
        default=None, description="Ground (h): the last day of the authorised leave (required)"
    )


class DeletionReturnOut(Schema):
    id: int
    upn: str
    ground: str
    deleted_on: dt.date
    destination_known: bool


@router.post(
    "/deletion-returns",
    response={201: DeletionReturnOut, 422: Problem, 403: Problem},
    summary="A school's deletion return for its own roll (checked as the form and CSV are)",
    operation_id="deletion_return_create",
)
def deletion_return_create(request: HttpRequest, body: DeletionReturnIn) -> Any:

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


# --- acting on an alert (the alert's page): refer, acknowledge, dismiss, add to a case ------


class DismissIn(InputSchema):
    reason: str = Field(min_length=1, max_length=300, description="Why it is dismissed.")


class AttachIn(InputSchema):
    case_id: int = Field(description="An open case you may see.")


def _alert(request: HttpRequest, alert_id: int, *, work: bool = True) -> Alert:
    """The alert in the caller's scope, as its page finds it (404 otherwise); ``work``:
    only the CME roles act on it (403)."""
    if work and not may_work_alerts(_user(request)):
        forbidden("Only the CME team acknowledges, dismisses or adds alerts to a case.")
    alert = alerts_visible_to(_user(request)).filter(pk=alert_id).first()
    if alert is None:
        not_found("No such alert.")
    return alert


def _answer(alert: Alert) -> dict[str, Any]:
    return _out(Alert.objects.select_related("referral").get(pk=alert.pk))


@router.post(
    "/alerts/{alert_id}/refer",
    response={200: AlertDetailOut, **problems(403, 404, 422)},
    summary="Refer the child to the CME team (a referral from detection)",
    operation_id="alert_refer",
)
def refer_alert(request: HttpRequest, alert_id: int) -> Any:
    alert = _alert(request, alert_id, work=False)
    return _answer(alert_refer(actor=Actor.from_request(request), alert=alert))


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response={200: AlertDetailOut, **problems(403, 404, 422)},
    summary="Acknowledge an alert (someone is looking at it)",
    operation_id="alert_acknowledge",
)
def acknowledge_alert(request: HttpRequest, alert_id: int) -> Any:
    alert = _alert(request, alert_id)
    alert_acknowledge(actor=Actor.from_request(request), alert=alert)
    return _answer(alert)


@router.post(
    "/alerts/{alert_id}/dismiss",
    response={200: AlertDetailOut, **problems(403, 404, 422)},
    summary="Dismiss an alert, with the reason",
    operation_id="alert_dismiss",
)
def dismiss_alert(request: HttpRequest, alert_id: int, payload: DismissIn) -> Any:
    alert = _alert(request, alert_id)
    alert_dismiss(actor=Actor.from_request(request), alert=alert, reason=payload.reason)
    return _answer(alert)


@router.post(
    "/alerts/{alert_id}/attach",
    response={200: AlertDetailOut, **problems(403, 404, 422)},
    summary="Add an alert to an open case (it goes on the case's chronology)",
    operation_id="alert_attach",
)
def attach_alert(request: HttpRequest, alert_id: int, payload: AttachIn) -> Any:
    alert = _alert(request, alert_id)
    case = open_cases_for(_user(request)).filter(pk=payload.case_id).first()
    if case is None:
        invalid_field("case_id", "There is no open case with that id that you can see")
    alert_attach_case(actor=Actor.from_request(request), alert=alert, case=case)
    return _answer(alert)
