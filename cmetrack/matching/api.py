"""``POST /api/v1/children/search``: the find-a-child search over HTTP.

Scoped and audited exactly as the page is (:func:`services.search_children`): a role that
may not search gets 403; rows the caller may not see are never in the answer.
"""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Field, Router, Schema

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.kit.problems import InputSchema, forbidden, invalid_field, problems, refused
from cmetrack.rules import InvalidUPN, normalise_upn, validate_upn

from .services import SEARCH_ROLES, SearchQuery, search_children

router = Router(tags=["Finding a child"])


class SearchIn(InputSchema):
    given_names: str = Field("", max_length=100, examples=["Bob"])
    middle_names: str = Field("", max_length=100)
    family_name: str = Field("", max_length=100, examples=["Smith-Jones"])
    aliases: list[str] = Field(
        default_factory=list, description="Other names, each 'Given Family'."
    )
    dob: dt.date | None = Field(None, description="A complete date of birth.")
    dob_year: int | None = Field(None, ge=1900, le=2100, description="When only the year is known.")
    dob_month: int | None = Field(
        None, ge=1, le=12, description="With dob_year, when the day is not."
    )
    dob_approximate: bool = Field(False, description="Compare the year of birth only.")
    sex: str = Field("", pattern="^[FMU]?$")
    postcode: str = Field("", max_length=10)
    address: str = Field("", max_length=300)
    parent_names: list[str] = Field(default_factory=list)
    upn: str = Field("", max_length=20)
    limit: int = Field(10, ge=1, le=50)


class FieldOut(Schema):
    field: str
    level: str
    explanation: str
    weight: float


class MatchOut(Schema):
    register_code: str = Field(description="roll or children (more registers later).")
    register_label: str
    id: int = Field(description="The roll entry's or the child's id.")
    name: str
    dob: str
    found_in: str
    postcode: str
    upn: str
    href: str = Field(description="The child's record page, for children with a case.")
    match_probability: float
    explanation: str
    fields: list[FieldOut]


@router.post(
    "/children/search",
    response={200: list[MatchOut], **problems(403, 422, 503)},
    operation_id="children_search",
    summary="Find a child across every register you may search",
)
def children_search(request: HttpRequest, payload: SearchIn) -> list[MatchOut]:
    """Children who may be the one described, most likely first, from every register the
    caller may search, each with a match probability and why."""
    user: User = request.auth  # type: ignore[attr-defined]
    if not user.has_role(*SEARCH_ROLES):
        forbidden("Your role may not search for children.")
    upn = normalise_upn(payload.upn) if payload.upn else ""
    if upn:
        try:
            validate_upn(upn)
        except InvalidUPN as exc:
            invalid_field("upn", str(exc))
    query = SearchQuery(
        given_names=payload.given_names,
        middle_names=payload.middle_names,
        family_name=payload.family_name,
        aliases=tuple(payload.aliases),
        dob=payload.dob,
        dob_year=payload.dob_year,
        dob_month=payload.dob_month,
        dob_approximate=payload.dob_approximate,
        sex="" if payload.sex == "U" else payload.sex,
        postcode=payload.postcode,
        address=payload.address,
        parent_names=tuple(payload.parent_names),
        upn=upn,
    )
    if query.is_empty():
        refused("Give at least a name, a date of birth, a postcode or a UPN.")
    # While the search index is prepared the API answers 503 (config.api's handler).
    results = search_children(
        user=user, query=query, actor=Actor.from_request(request), limit=payload.limit
    )
    return [
        MatchOut(
            register_code=r.register,
            register_label=r.register_label,
            id=r.ref.pk,
            name=r.details.name,
            dob=r.details.dob,
            found_in=r.details.where,
            postcode=r.details.postcode,
            upn=r.details.upn,
            href=r.details.href,
            match_probability=round(r.probability, 6),
            explanation=r.explanation,
            fields=[
                FieldOut(
                    field=f.label,
                    level=f.level,
                    explanation=f.explanation,
                    weight=round(f.weight, 3),
                )
                for f in r.fields
            ],
        )
        for r in results
    ]
