"""``POST /api/v1/feeds/{attendance,rolls,deletions,allocations}``: schools' systems push data.

The body is the file itself: CSV (``Content-Type: text/csv``, a header row, the upload's
columns) or JSON lines (``application/x-ndjson``: one object per line, the same names). It
is streamed to storage, never read into memory. A batch id (``Idempotency-Key`` or
``X-Batch-Id`` header, or ``?batch=``) makes a repeat harmless. See docs/data-feeds.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor
from cmetrack.detection.imports import may_import
from cmetrack.kit.problems import ApiProblem, field_error, forbidden, problems
from cmetrack.kit.storage import StorageUnavailable

from .feeds import (
    PUSH_KINDS,
    FeedError,
    FeedResult,
    FeedTooLarge,
    feed_max_bytes,
    feed_receive,
    request_chunks,
)
from .jobs import import_runs_visible_to
from .models import ImportRun, ImportStatus

router = Router(tags=["Data feeds"])


class Problem(Schema):
    line: int
    column: str
    message: str


class FeedOut(Schema):
    batch: str = Field(description="The batch id sent, if any")
    run: int = Field(description="The import run (also on the Imports page)")
    kind: str
    status: str = Field(description="succeeded, unchanged, queued or running")
    repeated: bool = Field(description="True: this batch was sent before; nothing was redone")
    rows: int
    changed: int
    error_count: int
    errors: list[Problem]
    warning_count: int
    warnings: list[Problem]
    detection: str = Field(description="When alerts from this feed will appear")


def _batch(request: HttpRequest, query: str) -> str:
    value = (
        request.headers.get("Idempotency-Key") or request.headers.get("X-Batch-Id") or query
    ).strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    if value and not (len(value) <= 128 and value.isascii() and value.isprintable()):
        raise ApiProblem(
            "invalid",
            "The batch id must be 1 to 128 visible ASCII characters",
            errors=[field_error("batch", "Give a batch id of 1 to 128 visible characters")],
        )
    return value


def body_stream(request: HttpRequest) -> Any:
    """The request's body. Django reads as many bytes as ``Content-Length`` says, so a
    chunked body (``Transfer-Encoding: chunked``, no length: a client streaming a body of
    unknown size) would read as empty; the server (gunicorn) has taken the chunks apart
    already and ends ``wsgi.input`` where the body ends (``wsgi.input_terminated``)."""
    meta = request.META
    if (
        not meta.get("CONTENT_LENGTH")
        and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        and meta.get("wsgi.input_terminated")
        and "wsgi.input" in meta
    ):
        return meta["wsgi.input"]
    return request


def _answer(result: Any) -> Status[dict[str, Any]]:
    data = result.as_dict()
    run: ImportRun = result.run
    if run.status == ImportStatus.FAILED:
        raise ApiProblem(
            "invalid",
            f"Nothing was imported: {data['error_count']} problem(s) in the file "
            f"(import run {run.pk}). Correct them and send the whole file again.",
            errors=[
                field_error(e.get("column") or "__all__", e["message"], line=e.get("line"))
                for e in data["errors"]
            ],
        )
    if run.status in {ImportStatus.QUEUED, ImportStatus.RUNNING}:
        return Status(202, data)
    return Status(200 if result.repeated else 201, data)


@router.post(
    "/feeds/{kind}",
    response={
        200: FeedOut,
        201: FeedOut,
        202: FeedOut,
        **problems(403, 404, 413, 415, 422, 503),
    },
    summary="Send a feed (attendance, rolls, deletions, allocations) as CSV or JSON lines",
    operation_id="feed_send",
)
def feed_send(
    request: HttpRequest, kind: str, taken_on: dt.date | None = None, batch: str = ""
) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    actor = Actor.from_request(request)
    if kind not in PUSH_KINDS:
        raise ApiProblem("not_found", f"There is no feed {kind!r}: use {', '.join(PUSH_KINDS)}")
    if not may_import(actor):
        forbidden("This account may not send data: ask the authority for a school feed token")
    length = request.META.get("CONTENT_LENGTH") or ""
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if length.isdigit() and encoding in {"", "identity"} and int(length) > feed_max_bytes():
        # Refused before a byte is read (a gzip body's limit is on what it unpacks to).
        raise ApiProblem("payload_too_large", str(FeedTooLarge(feed_max_bytes())))
    try:
        result = feed_receive(
            actor=actor,
            kind=kind,
            body=request_chunks(body_stream(request)),
            content_type=request.META.get("CONTENT_TYPE", ""),
            content_encoding=request.headers.get("Content-Encoding", ""),
            batch=_batch(request, batch),
            taken_on=taken_on,
        )
    except FeedError as exc:
        code = {
            404: "not_found",
            409: "idempotency_key_reused",
            413: "payload_too_large",
            415: "unsupported_media_type",
        }.get(exc.status, "invalid")
        errors = [field_error("__all__", e["message"], line=e["line"]) for e in exc.problems]
        raise ApiProblem(code, str(exc), errors=errors) from exc
    except StorageUnavailable as exc:
        raise ApiProblem(
            "service_unavailable", "The server's storage is full or read-only: nothing was imported"
        ) from exc
    return _answer(result)


@router.get(
    "/feeds/runs/{run_id}",
    response={200: FeedOut, **problems(404)},
    summary="A feed's import run (to follow a queued one)",
    operation_id="feed_run",
)
def feed_run(request: HttpRequest, run_id: int) -> Any:
    user = request.auth  # type: ignore[attr-defined]
    run = import_runs_visible_to(user).filter(pk=run_id).first()
    if run is None:
        raise ApiProblem("not_found", "No such import run")
    return FeedResult(run=run).as_dict()
