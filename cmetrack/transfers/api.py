"""HTTP API of the transfers app (mounted under /api/v1/).

``POST /transfers/ctf`` uploads a CTF (multipart, field ``file``); ``POST
/transfers/lost-pupils/search`` searches the lost-pupil area. Scoped and logged exactly
as the pages are (the services do both).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Field, File, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from cmetrack.accounts.api import api_user
from cmetrack.audit.services import Actor
from cmetrack.kit.problems import (
    ApiProblem,
    InputSchema,
    field_error,
    forbidden,
    invalid_field,
    problems,
    refused,
)
from cmetrack.matching.services import SearchQuery
from cmetrack.rules import InvalidUPN, normalise_upn, validate_upn

from . import services
from .forms import MAX_CTF_BYTES
from .selectors import may_use_lost_pupil_area

router = Router(tags=["Common Transfer Files and the lost-pupil area"])


class UploadOut(Schema):
    id: int
    file_name: str
    created: bool = Field(description="False when the same file was already held.")
    destination: str = Field(description="school, unknown (XXX) or outside (MMM)")
    pupils: int
    lost_pupils: int
    matches: int = Field(description="Possible matches found on the latest rolls.")
    warnings: list[str]


@router.post(
    "/transfers/ctf",
    response={201: UploadOut, 200: UploadOut, **problems(403, 413, 422)},
    summary="Upload a Common Transfer File",
    operation_id="ctf_upload",
)
def upload_ctf(request: HttpRequest, file: File[UploadedFile]) -> Status[Any]:
    """Upload a Common Transfer File. A school may upload only its own school's files;
    CME officers, managers and administrators any. All or nothing: a file refused is a 422
    whose ``errors`` give each problem's element (``field``) and ``line``; a file over the
    size limit is a 413."""
    user = api_user(request)
    if file.size is None or file.size > MAX_CTF_BYTES:
        raise ApiProblem(
            "payload_too_large",
            f"The file was not imported: it is larger than {MAX_CTF_BYTES // (1024 * 1024)} MB.",
        )
    actor = Actor(user=user, ip_address=request.META.get("REMOTE_ADDR"))
    try:
        result = services.ctf_upload(
            actor=actor, data=file.read(), file_name=(file.name or "upload.xml")[:255]
        )
    except PermissionDenied as exc:
        forbidden(str(exc) or "You cannot upload transfer files.")
    except services.CtfRejected as exc:
        raise ApiProblem(
            "invalid",
            "The file was not imported: correct the problems listed.",
            errors=[field_error(p.element, p.message, line=p.line) for p in exc.problems],
        ) from exc
    return Status(
        201 if result.created else 200,
        UploadOut(
            id=result.file.pk,
            file_name=result.file.file_name,
            created=result.created,
            destination=result.file.destination_kind,
            pupils=result.file.pupil_count,
            lost_pupils=result.lost_pupils,
            matches=result.matches,
            warnings=result.warnings,
        ),
    )


class LostSearchIn(InputSchema):
    given_names: str = Field("", max_length=100, examples=["Amara"])
    family_name: str = Field("", max_length=100, examples=["Hart"])
    aliases: list[str] = Field(default_factory=list)
    dob: dt.date | None = None
    sex: str = Field("", pattern="^[FMU]?$")
    postcode: str = Field("", max_length=10)
    upn: str = Field("", max_length=20)
    limit: int = Field(10, ge=1, le=50)


class LostMatchOut(Schema):
    id: int = Field(description="The lost pupil's id.")
    name: str
    dob: str
    left: str
    postcode: str
    upn: str
    href: str
    match_probability: float
    explanation: str


@router.post(
    "/transfers/lost-pupils/search",
    response={200: list[LostMatchOut], **problems(403, 422, 503)},
    summary="Search the lost-pupil area",
    operation_id="lost_pupils_search",
)
def search_lost_pupils(request: HttpRequest, payload: LostSearchIn) -> Any:
    """Lost pupils who may be the one described, most likely first (CME officers and
    managers only; logged as a search)."""
    user = api_user(request)
    if not may_use_lost_pupil_area(user):
        forbidden("Only CME officers and managers can search the lost-pupil area.")
    upn = normalise_upn(payload.upn) if payload.upn else ""
    if upn:
        try:
            validate_upn(upn)
        except InvalidUPN as exc:
            invalid_field("upn", str(exc))
    query = SearchQuery(
        given_names=payload.given_names,
        family_name=payload.family_name,
        aliases=tuple(payload.aliases),
        dob=payload.dob,
        sex="" if payload.sex == "U" else payload.sex,
        postcode=payload.postcode,
        upn=upn,
    )
    if query.is_empty():
        refused("Give at least a name, a date of birth, a postcode or a UPN.")
    # While the search index is prepared the API answers 503 (config.api's handler).
    results = services.lost_pupils_search(
        actor=Actor(user=user, ip_address=request.META.get("REMOTE_ADDR")), query=query
    )
    return [
        LostMatchOut(
            id=r.ref.pk,
            name=r.details.name,
            dob=r.details.dob,
            left=r.details.where,
            postcode=r.details.postcode,
            upn=r.details.upn,
            href=r.details.href,
            match_probability=round(r.probability, 6),
            explanation=r.explanation,
        )
        for r in results[: payload.limit]
    ]
