"""HTTP API of the provision app (mounted under /api/v1/): places and the shortlist.

Scoped like the pages: places for CME staff, admissions officers and auditors (writes
for CME staff and admissions); a case's shortlist only for a case whose provision page
the caller may open (404 otherwise, as if it did not exist). Writes go through the same
services, so they are validated and audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from ninja.errors import HttpError

from cmetrack.audit.services import Actor
from cmetrack.cases.models import Case
from cmetrack.core.api_support import Error, ValidationErrorOut
from cmetrack.core.api_support import api_user as _user
from cmetrack.core.api_support import invalid as _invalid
from cmetrack.core.api_support import run_write as _write

from . import selectors, services
from .models import PlaceFigure
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


class PlaceIn(Schema):
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
    response={200: list[PlaceOut], 403: Error},
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
    response={201: PlaceOut, 400: ValidationErrorOut, 403: Error},
    summary="Record the places available in one year group at one provider",
    operation_id="places_record",
)
def places_record(request: HttpRequest, payload: PlaceIn) -> Any:
    user = _user(request)
    if not selectors.may_update_places(user):
        raise HttpError(403, "Only admissions officers and the CME team can update places.")
    provider = selectors.providers().filter(pk=payload.provider_id).first()
    if provider is None:
        return _invalid(ValidationError({"provider_id": "Choose a school or provider we know"}))
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
    response={200: ShortlistOut, 404: Error},
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
