"""HTTP API of the children-not-in-school register (mounted under /api/v1/).

404 until the section commences (``CMETRACK_CNIS_ENABLED``); then the CME team only.
Restricted addresses are never given ("Restricted")."""

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from cmetrack.accounts.api import api_user as _user
from cmetrack.kit.problems import Problem

from . import presenters, selectors

router = Router(tags=["Children not in school register"])


class ProviderOut(Schema):
    name: str
    provider_type: str
    address: str
    where: str
    online: bool
    hours_per_week: Decimal | None


class ParentOut(Schema):
    name: str
    address: str


class EntryOut(Schema):
    child_id: int
    name: str
    dob: dt.date | None
    upn: str | None
    bases: list[str]
    home_address: str | None
    parents: list[ParentOut]
    parent_hours_per_week: Decimal | None
    other_hours_per_week: Decimal | None
    providers: list[ProviderOut]
    optional: dict[str, str]
    missing: list[str]
    complete: bool


class CompletenessOut(Schema):
    on: dt.date
    total: int
    complete: int
    by_item: dict[str, int]
    incomplete: list[EntryOut]


def _entry_out(e: selectors.RegisterEntry) -> EntryOut:
    return EntryOut(
        child_id=e.child.pk,
        name=e.child.full_name,
        dob=e.child.dob,
        upn=e.child.upn,
        bases=e.bases,
        home_address=presenters.address_text(e.home_address) if e.home_address else None,
        parents=[
            ParentOut(
                name=f"{p.given_names} {p.family_name}".strip(),
                address=p.address
                or (
                    presenters.address_text(e.home_address)
                    if p.lives_with_child and e.home_address
                    else ""
                ),
            )
            for p in e.parents
        ],
        parent_hours_per_week=e.parent_hours,
        other_hours_per_week=e.other_hours
        if e.providers
        else (Decimal(0) if e.details and e.details.no_other_providers else None),
        providers=[
            ProviderOut(
                name=p.name,
                provider_type=p.provider_type,
                address=p.address,
                where=p.where,
                online=p.online,
                hours_per_week=p.hours_per_week,
            )
            for p in e.providers
        ],
        optional=dict(presenters.optional_items(e)),
        missing=e.missing,
        complete=e.complete,
    )


def _allowed(request: HttpRequest) -> None:
    if not selectors.cnis_enabled():
        raise HttpError(404, "The children-not-in-school register is not in force yet.")
    if not selectors.may_see_register(_user(request)):
        raise HttpError(403, "Only the CME team keeps the children-not-in-school register.")


@router.get(
    "/children-not-in-school",
    response={200: list[EntryOut], 403: Problem, 404: Problem},
    summary="The register on a date (default today), with every item and what is missing",
    operation_id="cnis_register",
)
def register(request: HttpRequest, on: dt.date | None = None) -> list[EntryOut]:
    _allowed(request)
    return [_entry_out(e) for e in selectors.register_entries(on=on)]


@router.get(
    "/children-not-in-school/completeness",
    response={200: CompletenessOut, 403: Problem, 404: Problem},
    summary="What the register is missing, for whom",
    operation_id="cnis_completeness",
)
def completeness(request: HttpRequest, on: dt.date | None = None) -> CompletenessOut:
    _allowed(request)
    report = selectors.completeness_report(on=on or timezone.localdate())
    return CompletenessOut(
        on=report.on,
        total=report.total,
        complete=report.complete,
        by_item=dict(report.by_item),
        incomplete=[_entry_out(e) for e in report.incomplete],
    )
