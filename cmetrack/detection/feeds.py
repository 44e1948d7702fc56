"""Feeds without uploads: the push API and the watched drop folder (issue 18, item 3).

Both end in the same importers as the upload page (all or nothing, logged as an
:class:`ImportRun`, detection queued after every feed that changed something):

* **push** (:func:`feed_receive`): a school's MIS or its integrator sends CSV or JSON lines
  to ``POST /api/v1/feeds/<kind>``. The body is streamed to storage (never read into
  memory), JSON lines become CSV with the same line numbers, and the file is imported in
  the request (up to ``CMETRACK_IMPORT_BACKGROUND_BYTES``) or queued for the worker. A
  batch id (``Idempotency-Key`` or ``X-Batch-Id`` header, or ``?batch=``) makes a repeat
  harmless: the same batch with the same body is answered with the first run; with another
  body it is refused. A refused file does not use up its batch id.
* **drop folder** (:func:`drop_folder_scan`, every few minutes in the worker): files left
  in ``CMETRACK_FEED_DROP_DIR`` (an SFTP landing area) under ``<kind>/`` (the authority,
  any school) or ``<laestab>/<kind>/`` (one school's data only) are imported and moved to
  ``done/`` or ``failed/`` beside them, each with its report ``<name>.report.json``.

Who may send what: a school's service account (a user with the school user role whose
organisation is the school, :func:`school_feed_account`) only its own school's rows; the
authority's accounts any school's (the same rule as uploads).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.accounts.services import user_create
from cmetrack.audit.services import Actor
from cmetrack.idempotency.models import Submission
from cmetrack.idempotency.services import Receipt, fingerprint, submit_once
from cmetrack.jobs import status as worker_status
from cmetrack.kit.storage import save_atomically
from cmetrack.organisations.models import Organisation, OrganisationKind

from .imports import DETECT_TASK, detection_after_feed, detection_in_this_process
from .jobs import detection_after_import, import_enqueue, importer_for
from .models import ImportKind, ImportRun, ImportStatus

logger = logging.getLogger(__name__)

#: The feed kinds (the path's last part and the drop folder's sub-folders) and importers.
PUSH_KINDS: dict[str, ImportKind] = {
    "attendance": ImportKind.ATTENDANCE,
    "rolls": ImportKind.ROLL,
    "deletions": ImportKind.DELETIONS,
    "allocations": ImportKind.ALLOCATIONS,
}
#: A pushed body larger than this is refused (``CMETRACK_FEED_MAX_BYTES``; default 2 GB).
FEED_MAX_BYTES = 2 << 30
#: A dropped file is left alone until it has not changed for this long (still arriving).
DROP_SETTLE_SECONDS = 60
#: When the worker runs detection after a feed, alerts appear within about this long.
DETECTION_WITHIN_MINUTES = 5
_BLOCK = 1 << 20


class FeedError(ValueError):
    """A feed refused before it reached an importer (the message says why)."""

    def __init__(self, message: str, *, status: int = 422, line: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.line = line


class FeedTooLarge(FeedError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit:,} bytes: split it", status=413)


@dataclass
class FeedResult:
    """What a feed did: its run, and whether this was a repeat of a batch already sent."""

    run: ImportRun
    batch: str = ""
    repeated: bool = False
    queued: bool = False
    problems: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "batch": self.batch,
            "run": run.pk,
            "kind": run.kind,
            "status": run.status,
            "repeated": self.repeated,
            "rows": run.rows,
            "changed": run.created,
            "error_count": len(run.errors or []),
            "errors": run.errors or [],
            "warning_count": len(run.warnings or []),
            "warnings": run.warnings or [],
            "detection": detection_message(run),
        }


def feed_max_bytes() -> int:
    return int(getattr(settings, "CMETRACK_FEED_MAX_BYTES", FEED_MAX_BYTES))


def feeds_dir() -> Path:
    return Path(settings.VAR_DIR) / "feeds"


def detection_message(run: ImportRun) -> str:
    """When the alerts from this run will appear, in words (the API and the pages)."""
    if run.status == ImportStatus.QUEUED or run.status == ImportStatus.RUNNING:
        return "Detection runs once this file has been imported."
    if run.status == ImportStatus.FAILED:
        return "Nothing was imported, so detection has nothing new to look at."
    if run.status == ImportStatus.UNCHANGED:
        return "Nothing changed, so the alerts stay as they are."
    if not worker_status.worker_alive():
        return (
            "Detection is queued, but no background worker is running: alerts from this "
            "file will appear once the worker runs (and after the nightly detection at 02:00)."
        )
    pending = worker_status.pending_args(DETECT_TASK, waiting_only=False)
    return (
        f"Detection runs after every feed: new alerts appear within about "
        f"{DETECTION_WITHIN_MINUTES} minutes"
        + (" (a detection run is queued)." if pending else ".")
    )


# --- Reading a pushed body --------------------------------------------------------------


def _copy_limited(chunks: Iterable[bytes], digest: Any, limit: int) -> Iterator[bytes]:
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise FeedTooLarge(limit)
        digest.update(chunk)
        yield chunk


def request_chunks(stream: Any, block: int = _BLOCK) -> Iterator[bytes]:
    """The body of a request (or any file) a block at a time."""
    while True:
        chunk = stream.read(block)
        if not chunk:
            return
        yield chunk


def jsonl_to_csv(source: Path, target: Path) -> None:
    """JSON lines (one object per line) as CSV with the same line numbers: the header is
    line 1, so the object on line *n* becomes line *n + 1*; callers take one off again. A
    line that is not a JSON object raises :class:`FeedError` naming it."""
    columns: list[str] = []
    seen: set[str] = set()
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                raise FeedError(f"line {number} is not JSON: {exc}", line=number) from None
            if not isinstance(value, dict):
                raise FeedError(f"line {number} is not a JSON object", line=number)
            for key in value:
                if key not in seen:
                    seen.add(key)
                    columns.append(str(key))
    with source.open("rb") as handle, target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                out.write("\n")
                continue
            value = json.loads(raw)
            row = []
            for column in columns:
                item = value.get(column)
                if isinstance(item, dict | list):
                    raise FeedError(
                        f"line {number}: {column} must be text or a number, not a list or object",
                        line=number,
                    )
                row.append("" if item is None else str(item))
            writer.writerow(row)


def _shift_lines(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [{**i, "line": max(0, int(i.get("line") or 0) - 1)} for i in (items or [])]


# --- Push ---------------------------------------------------------------------------------


def feed_receive(
    *,
    actor: Actor,
    kind: str,
    body: Iterable[bytes],
    content_type: str,
    batch: str = "",
    taken_on: date | None = None,
) -> FeedResult:
    """Store a pushed feed and import it (or queue it, if large); see the module's words."""
    if kind not in PUSH_KINDS:
        raise FeedError(f"{kind!r} is not a feed: use {', '.join(PUSH_KINDS)}", status=404)
    import_kind = PUSH_KINDS[kind]
    importer_for(import_kind.value)
    is_jsonl = content_type.split(";")[0].strip().lower() in {
        "application/x-ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/json-lines",
    }
    digest = hashlib.sha256()
    incoming = feeds_dir() / "incoming" / f"{uuid.uuid4().hex}{'.jsonl' if is_jsonl else '.csv'}"
    stored = save_atomically(incoming, _copy_limited(body, digest, feed_max_bytes()))
    try:
        owner = f"user:{actor.user.pk}" if actor.user is not None else "system"
        scope = f"feeds.{kind}"
        sent = fingerprint(kind, str(taken_on or ""), digest.hexdigest())
        if batch:
            previous = _previous(owner, scope, batch, sent)
            if previous is not None:
                return FeedResult(run=previous, batch=batch, repeated=True)
        path = stored
        if is_jsonl:
            path = stored.with_suffix(".csv")
            jsonl_to_csv(stored, path)
        result = _import_or_queue(actor, import_kind, path, kind, taken_on)
        if is_jsonl:
            result.run.errors = _shift_lines(result.run.errors)
            result.run.warnings = _shift_lines(result.run.warnings)
            ImportRun.objects.filter(pk=result.run.pk).update(
                errors=result.run.errors, warnings=result.run.warnings
            )
        result.batch = batch
        if batch and result.run.status != ImportStatus.FAILED:
            outcome = submit_once(
                key=batch,
                owner=owner,
                scope=scope,
                create=lambda: result.run,
                receipt=lambda run: Receipt(reference=f"import {run.pk}", object_ids=(run.pk,)),
                fingerprint=sent,
            )
            if outcome.repeated and outcome.previous is not None:  # sent twice at once
                result.repeated = True
        return result
    finally:
        for leftover in (stored, stored.with_suffix(".csv")):
            if leftover.exists() and leftover.parent == incoming.parent:
                leftover.unlink(missing_ok=True)


def _previous(owner: str, scope: str, batch: str, sent: str) -> ImportRun | None:
    """The run of this batch, if it was sent before; a different body is refused."""
    earlier = Submission.objects.filter(owner=owner, scope=scope, key=batch).first()
    if earlier is None:
        return None
    if earlier.fingerprint != sent:
        raise FeedError(
            f"batch {batch} was already sent with different data: give each new batch a new id",
            status=409,
        )
    return ImportRun.objects.filter(pk__in=earlier.object_ids[:1]).first()


def _import_or_queue(
    actor: Actor, import_kind: ImportKind, path: Path, kind: str, taken_on: date | None
) -> FeedResult:
    params: dict[str, Any] = {}
    if import_kind == ImportKind.ROLL:
        params["taken_on"] = (taken_on or timezone.localdate()).isoformat()
    threshold = int(getattr(settings, "CMETRACK_IMPORT_BACKGROUND_BYTES", 1 << 20))
    name = f"{kind} feed {timezone.now():%Y-%m-%d %H:%M:%S}"
    if path.stat().st_size > threshold:
        run = import_enqueue(actor=actor, kind=import_kind.value, file_name=name, content=path)
        return FeedResult(run=run, queued=True)
    service = importer_for(import_kind.value)
    return FeedResult(run=service(actor=actor, path=path, file_name=name, **params))


# --- Accounts for schools' systems --------------------------------------------------------


def school_feed_account(*, actor: Actor, school: Organisation) -> User:
    """The service account a school's MIS sends feeds as (made the first time): a school
    user of that school only, who signs in with API tokens, never a password."""
    if school.kind != OrganisationKind.SCHOOL or not school.laestab:
        raise FeedError(f"{school} is not a school with a LAESTAB")
    email = f"feeds-{school.laestab}@service.invalid"
    existing = User.objects.filter(email=email).first()
    if existing is not None:
        return existing
    with transaction.atomic():
        return user_create(
            actor=actor,
            email=email,
            full_name=f"{school.name} data feed",
            roles=[Role.SCHOOL_USER],
            organisation=school,
            is_service_account=True,
        )


# --- The drop folder ----------------------------------------------------------------------


def drop_dir() -> Path | None:
    configured = getattr(settings, "CMETRACK_FEED_DROP_DIR", "") or ""
    return Path(configured) if configured else None


@dataclass(frozen=True)
class DroppedFile:
    path: Path
    kind: str
    school: Organisation | None  # None: the authority's folder (any school)


def _dropped_files(root: Path, schools: dict[str, Organisation]) -> Iterator[DroppedFile]:
    """Files waiting: ``<kind>/<file>`` and ``<laestab>/<kind>/<file>``."""
    for top in sorted(p for p in root.iterdir() if p.is_dir()):
        if top.name in PUSH_KINDS:
            for path in _waiting(top):
                yield DroppedFile(path, top.name, None)
        elif top.name in schools:
            for sub in sorted(p for p in top.iterdir() if p.is_dir() and p.name in PUSH_KINDS):
                for path in _waiting(sub):
                    yield DroppedFile(path, sub.name, schools[top.name])


def _waiting(folder: Path) -> Iterator[Path]:
    now = time.time()
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if not path.is_file() or name.startswith(".") or name.endswith((".part", ".tmp")):
            continue
        if now - path.stat().st_mtime < DROP_SETTLE_SECONDS:
            continue  # still arriving (an SFTP upload in progress)
        yield path


def _taken_on_from_name(name: str) -> date | None:
    found = re.search(r"(\d{4})-?(\d{2})-?(\d{2})", name)
    if not found:
        return None
    try:
        return date(int(found[1]), int(found[2]), int(found[3]))
    except ValueError:
        return None


def drop_folder_scan(*, root: Path | None = None) -> list[tuple[Path, ImportRun | None]]:
    """Import every settled file in the drop folder, then move it with its report."""
    root = root or drop_dir()
    if root is None or not root.is_dir():
        return []
    schools = {
        s.laestab: s
        for s in Organisation.objects.filter(kind=OrganisationKind.SCHOOL).select_related(
            "local_authority"
        )
        if s.laestab
    }
    done: list[tuple[Path, ImportRun | None]] = []
    for dropped in list(_dropped_files(root, schools)):
        done.append(_drop_import(dropped))
    return done


def _drop_import(dropped: DroppedFile) -> tuple[Path, ImportRun | None]:
    path = dropped.path
    system = Actor.system("drop folder")
    if dropped.school is not None:
        account = school_feed_account(actor=system, school=dropped.school)
        actor = Actor(user=account, label=f"drop folder ({dropped.school.laestab})")
    else:
        actor = system
    is_jsonl = path.suffix.lower() in {".jsonl", ".ndjson"}
    report: dict[str, Any]
    run: ImportRun | None = None
    try:
        with path.open("rb") as handle:
            result = feed_receive(
                actor=actor,
                kind=dropped.kind,
                body=request_chunks(handle),
                content_type="application/x-ndjson" if is_jsonl else "text/csv",
                taken_on=_taken_on_from_name(path.name),
            )
        run = result.run
        report = {"file": path.name, **result.as_dict()}
        ok = run.status != ImportStatus.FAILED
    except FeedError as exc:
        report = {
            "file": path.name,
            "status": "failed",
            "errors": [{"line": exc.line, "column": "", "message": str(exc)}],
        }
        ok = False
    except Exception:  # the file is kept in failed/ with what we know
        logger.exception("could not import dropped file %s", path)
        report = {
            "file": path.name,
            "status": "failed",
            "errors": [
                {
                    "line": 0,
                    "column": "",
                    "message": "the import stopped because of an unexpected "
                    "problem; nothing was imported",
                }
            ],
        }
        ok = False
    target_dir = path.parent / ("done" if ok else "failed")
    target_dir.mkdir(exist_ok=True)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%S")
    target = target_dir / f"{stamp}-{path.name}"
    os.replace(path, target)
    report["moved_to"] = str(target)
    (target_dir / f"{target.name}.report.json").write_text(
        json.dumps(report, indent=2, default=str), encoding="utf-8"
    )
    return target, run


__all__ = [
    "PUSH_KINDS",
    "FeedError",
    "FeedResult",
    "detection_after_feed",
    "detection_message",
    "drop_folder_scan",
    "feed_receive",
    "jsonl_to_csv",
    "school_feed_account",
]


def drop_folder_job() -> str:
    """Every five minutes in the worker: import what schools left in the drop folder, then
    (once, however many files there were) detect over what they brought, in this process.
    Files too large to import here are queued; the worker detects after each of those."""
    with detection_in_this_process():
        done = drop_folder_scan()
    failed = sum(1 for path, _ in done if path.parent.name == "failed")
    fed = [run for _, run in done if run is not None and run.status == ImportStatus.SUCCEEDED]
    detected = ""
    if fed:  # one run reads everything imported since the last, so once is enough
        report = detection_after_import(fed[-1], by="drop folder")
        detected = "" if report is None else f"; {report.created} new alert(s)"
    return f"drop folder: {len(done)} file(s) imported, {failed} failed{detected}"
