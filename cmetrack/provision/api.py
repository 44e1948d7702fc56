"""HTTP API of the provision app (mounted under /api/v1/): places and the shortlist.

Scoped like the pages: places for CME staff, admissions officers and auditors (writes
for CME staff and admissions); a case's shortlist only for a case whose provision page
the caller may open (404 otherwise, as if it did not exist). Writes go through the same
services, so they are validated and audited.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from cmetrack.accounts.api import api_user as _user
from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case, FormOfProvision
from cmetrack.kit.problems import (
    ApiProblem,
    InputSchema,
    Problem,
    forbidden,
    invalid_field,
    not_found,
    problems,
)
from cmetrack.kit.problems import run_write as _write
from cmetrack.organisations.models import Organisation

from . import selectors, services
from .models import (
    AdmissionApplication,
    ApplicationOutcome,
    PanelDecision,
    PlaceFigure,
)
from .rules import is_stale
from .shortlist import shortlist_for

router = Router(tags=["Providers, places and securing provision"])


class PlaceOut(Schema):
    id: int
    provider_id: int
    provider: str
    year_group: int
    places: int
    as_of: dt.date
    stale: bool


def _place(figure: PlaceFigure, today: dt.date) -> dict[str, Any]:
    return {
        "id": figure.pk,
        "provider_id": figure.provider_id,
        "provider": figure.provider.name,
        "year_group": figure.year_group,
        "places": figure.places,
        "as_of": figure.as_of,
        "stale": is_stale(figure.as_of, today),
    }


class PlaceFilters(Schema):
    year_group: int | None = None
    provider_id: int | None = None
    available_only: bool = False


class PlaceIn(InputSchema):
    provider_id: int
    year_group: int
    places: int
    as_of: dt.date


class ShortlistRowOut(Schema):
    provider_id: int
    provider: str
    form: str
    places: int
    figure_as_of: dt.date
    stale: bool
    distance_miles: float | None
    where: str
    sen: str


class ShortlistOut(Schema):
    case_id: int
    year_group: int | None
    form: str
    notes: list[str]
    rows: list[ShortlistRowOut]


@router.get(
    "/places",
    response={200: list[PlaceOut], 403: Problem},
    summary="The current places figure of every provider and year group",
    operation_id="places_list",
)
def places_list(request: HttpRequest, filters: Query[PlaceFilters]) -> Any:
    user = _user(request)
    if not selectors.may_see_places(user):
        raise HttpError(403, "You cannot see places.")
    today = timezone.localdate()
    qs = selectors.current_figures().select_related("provider").filter(provider__is_active=True)
    if filters.year_group is not None:
        qs = qs.filter(year_group=filters.year_group)
    if filters.provider_id is not None:
        qs = qs.filter(provider_id=filters.provider_id)
    if filters.available_only:
        qs = qs.filter(places__gt=0)
    return [_place(f, today) for f in qs]


@router.post(
    "/places",
    response={201: PlaceOut, 422: Problem, 403: Problem},
    summary="Record the places available in one year group at one provider",
    operation_id="places_record",
)
def places_record(request: HttpRequest, payload: PlaceIn) -> Any:
    user = _user(request)
    if not selectors.may_update_places(user):
        raise HttpError(403, "Only admissions officers and the CME team can update places.")
    provider = selectors.providers().filter(pk=payload.provider_id).first()
    if provider is None:
        invalid_field("provider_id", "Choose a school or provider we know")
    today = timezone.localdate()
    return _write(
        lambda: _place(
            services.place_figure_record(
                actor=Actor.from_request(request),
                provider=provider,
                year_group=payload.year_group,
                places=payload.places,
                as_of=payload.as_of,
            ),
            today,
        )
    )


@router.get(
    "/cases/{case_id}/shortlist",
    response={200: ShortlistOut, 404: Problem},
    summary="Providers with places for the child's year group, nearest first",
    operation_id="case_shortlist",
)
def case_shortlist(request: HttpRequest, case_id: int, form: str | None = None) -> Any:
    try:
        case = selectors.case_for_provision(actor=Actor.from_request(request), case_id=case_id)
    except Case.DoesNotExist as exc:
        raise HttpError(404, "Not found") from exc
    shortlist = shortlist_for(user=_user(request), case=case, today=timezone.localdate(), form=form)
    return {
        "case_id": case.pk,
        "year_group": shortlist.year_group,
        "form": shortlist.form,
        "notes": shortlist.notes,
        "rows": [
            {
                "provider_id": r.provider.pk,
                "provider": r.provider.name,
                "form": r.form,
                "places": r.places,
                "figure_as_of": r.figure_as_of,
                "stale": r.stale,
                "distance_miles": round(r.distance, 2) if r.distance is not None else None,
                "where": r.where,
                "sen": r.sen,
            }
            for r in shortlist.rows
        ],
    }


# --- securing provision for a case (the case's provision page) -------------------------------


class RecommendIn(InputSchema):
    provision_recommended: FormOfProvision
    date_provision_determined: dt.date
    date_of_assessment: dt.date | None = Field(
        None, description="For a located child: the needs assessment is recorded first."
    )
    reason: str = Field("", max_length=500)
    expected_version: int | None = Field(
        None, description="The case's version you acted on (or send If-Match)."
    )


class StartIn(InputSchema):
    provider_id: int = Field(description="The school or provider (an id from /organisations).")
    started_on: dt.date
    provision_accessed: FormOfProvision
    upn: str = Field(
        "", max_length=20, description="The UPN at the provider (default: the child's UPN)."
    )
    reason: str = Field("", max_length=500)
    expected_version: int | None = Field(
        None, description="The case's version you acted on (or send If-Match)."
    )


class StartAgainIn(InputSchema):
    upn: str = Field(max_length=20)
    reason: str = Field("", max_length=500)


class ApplicationIn(InputSchema):
    school_id: int
    applied_on: dt.date
    year_group: int | None = Field(None, description="Default: the child's year group.")


class ApplicationOutcomeIn(InputSchema):
    outcome: ApplicationOutcome
    outcome_on: dt.date
    notes: str = Field("", max_length=300)


class ApplicationOut(Schema):
    id: int
    case_id: int
    school_id: int
    school: str
    year_group: int
    applied_on: dt.date
    outcome: str
    outcome_on: dt.date | None
    outcome_notes: str

    @staticmethod
    def resolve_school(obj: AdmissionApplication) -> str:
        return obj.school.name


class PanelReferralIn(InputSchema):
    referred_on: dt.date
    reason: str
    panel_date: dt.date | None = None


class PanelDecisionIn(InputSchema):
    decision: PanelDecision
    decision_on: dt.date
    named_school_id: int | None = None
    notes: str = Field("", max_length=300)


class PanelReferralOut(Schema):
    id: int
    case_id: int
    referred_on: dt.date
    reason: str
    panel_date: dt.date | None
    decision: str
    decision_on: dt.date | None
    named_school_id: int | None
    decision_notes: str


def _provision_case(request: HttpRequest, case_id: int) -> Case:
    """The case as its provision page opens it (audited; 404 out of scope)."""
    try:
        return selectors.case_for_provision(actor=Actor.from_request(request), case_id=case_id)
    except Case.DoesNotExist:
        not_found("No such case.")


def _version(request: HttpRequest, given: int | None) -> int:
    """The version acted on, from the body or If-Match; 428 when neither is sent."""
    if given is not None:
        return given
    match = _IF_MATCH.match(request.headers.get("If-Match", ""))
    if match is None:
        raise ApiProblem(
            "version_required",
            "Send the version of the case you are acting on, as expected_version in the "
            "body or an If-Match header.",
        )
    return int(match.group(1))


_IF_MATCH = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


def _provider(pk: int | None, field: str) -> Organisation | None:
    if pk is None:
        return None
    provider = selectors.providers().filter(pk=pk).first()
    if provider is None:
        invalid_field(field, "Choose a school or provider we know")
    return provider


def _case_answer(case: Case) -> dict[str, Any]:
    fresh = Case.objects.get(pk=case.pk)
    return {"case_id": fresh.pk, "state": fresh.state, "version": fresh.version}


class CaseStepOut(Schema):
    case_id: int
    state: str
    version: int = Field(description="The case's version now (GET /cases/{id} for the rest).")


@router.post(
    "/cases/{case_id}/provision/recommendation",
    response={200: CaseStepOut, **problems(403, 404, 409, 422, 428)},
    summary="Record the form of provision recommended (sets date provision determined)",
    operation_id="case_provision_recommend",
)
def provision_recommend(request: HttpRequest, case_id: int, payload: RecommendIn) -> Any:
    case = _provision_case(request, case_id)
    if not selectors.may_change_case(_user(request), case):
        forbidden("You cannot change this case.")
    version = _version(request, payload.expected_version)
    services.provision_recommend(
        actor=Actor.from_request(request),
        case=case,
        provision_recommended=payload.provision_recommended,
        date_provision_determined=payload.date_provision_determined,
        date_of_assessment=payload.date_of_assessment,
        reason=payload.reason,
        expected_version=version,
    )
    return _case_answer(case)


@router.post(
    "/cases/{case_id}/provision/start",
    response={200: CaseStepOut, **problems(403, 404, 409, 422, 428)},
    summary="Record the start at the new provider (sets date moved into provision)",
    description="Attendance at the provider is then monitored for the UPN given.",
    operation_id="case_provision_start",
)
def provision_start(request: HttpRequest, case_id: int, payload: StartIn) -> Any:
    case = _provision_case(request, case_id)
    if not selectors.may_change_case(_user(request), case):
        forbidden("You cannot change this case.")
    version = _version(request, payload.expected_version)
    services.provision_start_record(
        actor=Actor.from_request(request),
        case=case,
        provider=_provider(payload.provider_id, "provider_id"),
        started_on=payload.started_on,
        provision_accessed=payload.provision_accessed,
        upn=payload.upn or case.child.upn or "",
        reason=payload.reason,
        expected_version=version,
    )
    return _case_answer(case)


@router.post(
    "/cases/{case_id}/provision/start-again",
    response={200: CaseStepOut, **problems(403, 404, 422)},
    summary="Record the start again: the UPN at the provider (a child in provision)",
    operation_id="case_provision_start_again",
)
def provision_start_again(request: HttpRequest, case_id: int, payload: StartAgainIn) -> Any:
    case = _provision_case(request, case_id)
    if not selectors.may_change_case(_user(request), case):
        forbidden("You cannot change this case.")
    services.placement_correct(
        actor=Actor.from_request(request), case=case, upn=payload.upn, reason=payload.reason
    )
    return _case_answer(case)


@router.get(
    "/cases/{case_id}/admission-applications",
    response={200: list[ApplicationOut], **problems(403, 404)},
    summary="A case's in-year admission applications",
    operation_id="case_applications_list",
)
def applications_list(request: HttpRequest, case_id: int) -> Any:
    return list(selectors.applications_for(_provision_case(request, case_id)))


@router.post(
    "/cases/{case_id}/admission-applications",
    response={201: ApplicationOut, **problems(403, 404, 422)},
    summary="Record an in-year admission application",
    operation_id="case_application_record",
)
def application_record(request: HttpRequest, case_id: int, payload: ApplicationIn) -> Any:
    case = _provision_case(request, case_id)
    if not selectors.may_record_applications(_user(request), case):
        forbidden("You cannot record applications for this case.")
    return _write(
        lambda: services.admission_application_record(
            actor=Actor.from_request(request),
            case=case,
            school=_provider(payload.school_id, "school_id"),
            applied_on=payload.applied_on,
            year_group=payload.year_group,
        )
    )


@router.post(
    "/cases/{case_id}/admission-applications/{application_id}/outcome",
    response={200: ApplicationOut, **problems(403, 404, 422)},
    summary="Record the outcome of an admission application",
    operation_id="case_application_outcome",
)
def application_outcome(
    request: HttpRequest, case_id: int, application_id: int, payload: ApplicationOutcomeIn
) -> Any:
    case = _provision_case(request, case_id)
    if not selectors.may_record_applications(_user(request), case):
        forbidden("You cannot record applications for this case.")
    application = selectors.applications_for(case).filter(pk=application_id).first()
    if application is None:
        not_found("No such application.")
    return _write(
        lambda: services.admission_outcome_record(
            actor=Actor.from_request(request),
            application=application,
            outcome=payload.outcome,
            outcome_on=payload.outcome_on,
            notes=payload.notes,
        ),
        200,
    )


@router.get(
    "/cases/{case_id}/panel-referrals",
    response={200: list[PanelReferralOut], **problems(403, 404)},
    summary="A case's referrals to the fair-access panel",
    operation_id="case_panel_referrals_list",
)
def panel_referrals_list(request: HttpRequest, case_id: int) -> Any:
    return list(selectors.panel_referrals_for(_provision_case(request, case_id)))


@router.post(
    "/cases/{case_id}/panel-referrals",
    response={201: PanelReferralOut, **problems(403, 404, 422)},
    summary="Refer the child to the fair-access panel",
    operation_id="case_panel_refer",
)
def panel_refer(request: HttpRequest, case_id: int, payload: PanelReferralIn) -> Any:
    case = _provision_case(request, case_id)
    if not selectors.may_record_applications(_user(request), case):
        forbidden("You cannot record applications for this case.")
    return _write(
        lambda: services.panel_referral_record(
            actor=Actor.from_request(request), case=case, **payload.dict()
        )
    )


@router.post(
    "/cases/{case_id}/panel-referrals/{referral_id}/decision",
    response={200: PanelReferralOut, **problems(403, 404, 422)},
    summary="Record the fair-access panel's decision",
    operation_id="case_panel_decide",
)
def panel_decide(
    request: HttpRequest, case_id: int, referral_id: int, payload: PanelDecisionIn
) -> Any:
    case = _provision_case(request, case_id)
    if not selectors.may_record_applications(_user(request), case):
        forbidden("You cannot record applications for this case.")
    referral = selectors.panel_referrals_for(case).filter(pk=referral_id).first()
    if referral is None:
        not_found("No such panel referral.")
    return _write(
        lambda: services.panel_decision_record(
            actor=Actor.from_request(request),
            referral=referral,
            decision=payload.decision,
            decision_on=payload.decision_on,
            named_school=_provider(payload.named_school_id, "named_school_id"),
            notes=payload.notes,
        ),
        200,
    )
