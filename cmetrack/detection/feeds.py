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

import codecs
import contextlib
import csv
import fcntl
import hashlib
import json
import logging
import os
import re
import time
import uuid
import zlib
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
from cmetrack.kit.storage import StorageUnavailable, save_atomically
from cmetrack.organisations.models import Organisation, OrganisationKind

from .imports import DETECT_TASK, detection_after_feed, detection_in_this_process
from .jobs import (
    FEED_LINES,
    detection_after_import,
    feed_lines_restore,
    import_enqueue,
    importer_for,
)
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
#: Names of files still being written, left alone in the drop folder: ``.part`` and ``.tmp``
#: (write to one and rename), WinSCP's ``.filepart`` and other clients' ``.partial``.
DROP_TEMPORARY_SUFFIXES = (".part", ".tmp", ".filepart", ".partial")
#: What the drop folder imports: CSV, and JSON lines.
DROP_CSV_SUFFIXES = (".csv",)
DROP_JSONL_SUFFIXES = (".jsonl", ".ndjson")
#: The body's media types: JSON lines, and CSV (``text/plain``, no type at all, and
#: curl's default for ``--data-binary``, ``application/x-www-form-urlencoded``, are CSV).
JSONL_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/jsonl",
        "application/x-jsonlines",
        "application/json-lines",
    }
)
CSV_TYPES = frozenset(
    {
        "",
        "text/csv",
        "application/csv",
        "text/plain",
        "application/octet-stream",
        "application/x-www-form-urlencoded",
    }
)
#: When the worker runs detection after a feed, alerts appear within about this long.
DETECTION_WITHIN_MINUTES = 5
_BLOCK = 1 << 20
#: A JSON lines body's lines that cannot be read are listed up to this many (as importers).
MAX_LINE_PROBLEMS = 500


class FeedError(ValueError):
    """A feed refused before it reached an importer (the message says why)."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 422,
        line: int = 0,
        problems: list[dict[str, Any]] | None = None,
        count: int = 0,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.line = line
        #: Each problem by line (``line``, ``column``, ``message``), as an importer's.
        self.problems = problems or (
            [{"line": line, "column": "", "message": message}] if line else []
        )
        #: How many problems there were (the list stops at :data:`MAX_LINE_PROBLEMS`).
        self.count = max(count, len(self.problems), 1)


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
            "detection": (
                "This batch was sent before: nothing was imported again, so the alerts "
                "stay as they are."
                if self.repeated
                else detection_message(run)
            ),
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


def body_is_jsonl(content_type: str) -> bool:
    """True for JSON lines, False for CSV; any other type is refused (415), saying why."""
    media = content_type.split(";")[0].strip().lower()
    if media in JSONL_TYPES:
        return True
    if media in CSV_TYPES:
        return False
    if media == "application/json":
        why = (
            "send JSON lines as Content-Type: application/x-ndjson (one object per line), "
            "not application/json"
        )
    elif media.startswith("multipart/"):
        why = (
            "send the file itself as the body (curl --data-binary @file), not as a form "
            "upload (multipart/form-data)"
        )
    else:
        why = f"send CSV (Content-Type: text/csv) or JSON lines (application/x-ndjson), not {media}"
    raise FeedError(why, status=415)


def gunzipped(chunks: Iterable[bytes], block: int = _BLOCK) -> Iterator[bytes]:
    """A gzip body (``Content-Encoding: gzip``) unpacked as it arrives, a block at a time
    (so the size limit counts what it unpacks to, and a small bomb never fills memory)."""
    unpack = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        for chunk in chunks:
            data = unpack.decompress(chunk, block)
            while data:
                yield data
                data = unpack.decompress(unpack.unconsumed_tail, block)
        rest = unpack.flush()
    except zlib.error as exc:
        raise FeedError(f"the body is not gzip, though Content-Encoding says so ({exc})") from None
    if rest:
        yield rest
    if not unpack.eof:
        raise FeedError("the gzip body stops before its end: send it again")


def body_decoded(chunks: Iterable[bytes], content_encoding: str) -> Iterable[bytes]:
    encoding = content_encoding.strip().lower()
    if encoding in {"", "identity"}:
        return chunks
    if encoding in {"gzip", "x-gzip"}:
        return gunzipped(chunks)
    raise FeedError(
        f"Content-Encoding {encoding} is not supported: send the body as it is, or gzip",
        status=415,
    )


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


def jsonl_to_csv(source: Path, target: Path) -> list[list[int]]:
    """JSON lines (one object per line) as CSV: the header is line 1, so the object on line
    *n* becomes line *n + 1*, and one more for each line break in the values before it (a
    value's CR LF or CR is written as LF). Returns those breaks, for
    :func:`cmetrack.detection.jobs.feed_line` to give problems the body's own lines. Lines
    that are not JSON objects raise :class:`FeedError` naming each (the first 500)."""
    columns: list[str] = []
    seen: set[str] = set()
    problems: list[dict[str, Any]] = []
    count = 0
    with source.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)  # (as Windows tools write)
            if not raw.strip():
                continue
            try:
                value = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                problem = f"line {number} is not JSON: {exc}"
            else:
                if not isinstance(value, dict):
                    problem = f"line {number} is not a JSON object"
                else:
                    problem = next(
                        (
                            f"line {number}: {key} must be text or a number, not a list or object"
                            for key, item in value.items()
                            if isinstance(item, dict | list)
                        ),
                        "",
                    )
                    for key in value:
                        if key not in seen:
                            seen.add(key)
                            columns.append(str(key))
            if problem:
                count += 1
                if len(problems) < MAX_LINE_PROBLEMS:
                    problems.append({"line": number, "column": "", "message": problem})
    if problems:
        first = problems[0]
        raise FeedError(
            first["message"]
            if count == 1
            else f"{count} lines cannot be read as JSON objects (the first: {first['message']})",
            line=first["line"],
            problems=problems,
            count=count,
        )
    breaks: list[list[int]] = []
    extra = 0
    with source.open("rb") as handle, target.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for number, raw in enumerate(handle, start=1):
            if number == 1:
                raw = raw.removeprefix(codecs.BOM_UTF8)
            if not raw.strip():
                out.write("\n")
                continue
            value = json.loads(raw)
            row = []
            for column in columns:
                item = value.get(column)
                text = "" if item is None else str(item)
                if "\r" in text or "\n" in text:
                    text = text.replace("\r\n", "\n").replace("\r", "\n")
                    extra += text.count("\n")
                row.append(text)
            writer.writerow(row)
            if extra != (breaks[-1][1] if breaks else 0):
                breaks.append([number + 1 + extra + 1, extra])  # the next row's first CSV line
    return breaks


# --- Push ---------------------------------------------------------------------------------


def feed_receive(
    *,
    actor: Actor,
    kind: str,
    body: Iterable[bytes],
    content_type: str,
    batch: str = "",
    taken_on: date | None = None,
    content_encoding: str = "",
) -> FeedResult:
    """Store a pushed feed and import it (or queue it, if large); see the module's words."""
    if kind not in PUSH_KINDS:
        raise FeedError(f"{kind!r} is not a feed: use {', '.join(PUSH_KINDS)}", status=404)
    import_kind = PUSH_KINDS[kind]
    importer_for(import_kind.value)
    is_jsonl = body_is_jsonl(content_type)
    decoded = body_decoded(body, content_encoding)
    digest = hashlib.sha256()
    incoming = feeds_dir() / "incoming" / f"{uuid.uuid4().hex}{'.jsonl' if is_jsonl else '.csv'}"
    try:
        stored = save_atomically(incoming, _copy_limited(decoded, digest, feed_max_bytes()))
    except FeedError:  # (too large, or bad gzip): its partial temporary file goes too
        for partial in incoming.parent.glob(f".{incoming.name}.*.tmp"):
            partial.unlink(missing_ok=True)
        raise
    try:
        owner = f"user:{actor.user.pk}" if actor.user is not None else "system"
        scope = f"feeds.{kind}"
        sent = fingerprint(kind, str(taken_on or ""), digest.hexdigest())
        with batch_lock(owner, scope, batch):
            if batch:
                previous = _previous(owner, scope, batch, sent)
                if previous is not None:
                    return FeedResult(run=previous, batch=batch, repeated=True)
            path = stored
            breaks: list[list[int]] | None = None
            if is_jsonl:
                path = stored.with_suffix(".csv")
                breaks = jsonl_to_csv(stored, path)
            result = _import_or_queue(actor, import_kind, path, kind, taken_on, breaks)
            if breaks is not None and not result.queued:  # (a queued run's, when it is run)
                feed_lines_restore(result.run, breaks)
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


#: Batches are locked in this many stripes (lock files), not one file each.
BATCH_LOCK_STRIPES = 64


@contextlib.contextmanager
def batch_lock(owner: str, scope: str, batch: str) -> Iterator[None]:
    """Hold a batch from its check to its record: the same batch sent again before the
    first has finished (a client that timed out and retried) waits, then is answered as a
    repeat, instead of being imported alongside it. A lock file per stripe (processes on
    this server); no batch, no lock."""
    if not batch:
        yield
        return
    stripe = int(hashlib.sha256(f"{owner}\0{scope}\0{batch}".encode()).hexdigest(), 16)
    path = feeds_dir() / "batches" / f"{stripe % BATCH_LOCK_STRIPES:02d}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _previous(owner: str, scope: str, batch: str, sent: str) -> ImportRun | None:
    """The run of this batch, if it was sent before; a different body is refused. A batch
    whose run failed (a queued file with problems, or whose worker stopped) is forgotten:
    a refused file does not use up its id, however it was refused."""
    earlier = Submission.objects.filter(owner=owner, scope=scope, key=batch).first()
    if earlier is None:
        return None
    run = ImportRun.objects.filter(pk__in=earlier.object_ids[:1]).first()
    if run is None or run.status == ImportStatus.FAILED:
        Submission.objects.filter(pk=earlier.pk).delete()
        return None
    if earlier.fingerprint != sent:
        raise FeedError(
            f"batch {batch} was already sent with different data: give each new batch a new id",
            status=409,
        )
    return run


def _import_or_queue(
    actor: Actor,
    import_kind: ImportKind,
    path: Path,
    kind: str,
    taken_on: date | None,
    breaks: list[list[int]] | None = None,
) -> FeedResult:
    params: dict[str, Any] = {}
    if import_kind == ImportKind.ROLL:
        params["taken_on"] = (taken_on or timezone.localdate()).isoformat()
    threshold = int(getattr(settings, "CMETRACK_IMPORT_BACKGROUND_BYTES", 1 << 20))
    name = f"{kind} feed {timezone.now():%Y-%m-%d %H:%M:%S}"
    if path.stat().st_size > threshold:
        # The roll's date goes with it; so do JSON lines' line breaks (jobs.FEED_LINES).
        queued = {**params, **({FEED_LINES: breaks} if breaks is not None else {})}
        run = import_enqueue(
            actor=actor, kind=import_kind.value, file_name=name, content=path, params=queued
        )
        return FeedResult(run=run, queued=True)
    service = importer_for(import_kind.value)
    return FeedResult(run=service(actor=actor, path=path, file_name=name, **params))


# --- Accounts for schools' systems --------------------------------------------------------


#: A school's data-feed account is ``feeds-<LAESTAB>@service.invalid``.
_FEED_EMAIL_PREFIX, _FEED_EMAIL_DOMAIN = "feeds-", "@service.invalid"


def is_school_feed_account(user: User) -> bool:
    """Whether ``user`` is a school's data-feed account (:func:`school_feed_account`)."""
    return (
        user.is_service_account
        and user.email.startswith(_FEED_EMAIL_PREFIX)
        and user.email.endswith(_FEED_EMAIL_DOMAIN)
    )


def school_feed_account(*, actor: Actor, school: Organisation) -> User:
    """The service account a school's MIS sends feeds as (made the first time): a school
    user of that school only, who signs in with API tokens, never a password."""
    if school.kind != OrganisationKind.SCHOOL or not school.laestab:
        raise FeedError(f"{school} is not a school with a LAESTAB")
    email = f"{_FEED_EMAIL_PREFIX}{school.laestab}{_FEED_EMAIL_DOMAIN}"
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
    """Files waiting: ``<kind>/<file>`` and ``<laestab>/<kind>/<file>`` (the kind in any
    case: ``Attendance/``), and a file left in a school's own folder, outside any kind's
    (kind ``""``: failed, saying where it should go, rather than left there unseen)."""
    for top in sorted(p for p in root.iterdir() if p.is_dir()):
        if top.name.lower() in PUSH_KINDS:
            for path in _waiting(top):
                yield DroppedFile(path, top.name.lower(), None)
        elif top.name in schools:
            for path in _waiting(top):
                yield DroppedFile(path, "", schools[top.name])
            for sub in sorted(
                p
                for p in top.iterdir()
                # A school may write in its folder: a link there (to another school's
                # folder, say) is not followed. (The top level is the authority's own.)
                if p.name.lower() in PUSH_KINDS and p.is_dir() and not p.is_symlink()
            ):
                for path in _waiting(sub):
                    yield DroppedFile(path, sub.name.lower(), schools[top.name])


def _waiting(folder: Path) -> Iterator[Path]:
    now = time.time()
    for path in sorted(folder.iterdir()):
        name = path.name.lower()
        if name.startswith(".") or name.endswith(DROP_TEMPORARY_SUFFIXES):
            continue  # still being written under a temporary name
        try:
            if path.is_symlink():  # never followed (failed, unread: see _drop_import)
                yield path
                continue
            if not path.is_file() or now - path.stat().st_mtime < DROP_SETTLE_SECONDS:
                continue  # (a folder, or still arriving: an SFTP upload in progress)
        except OSError:  # gone since the folder was listed (another scan took it)
            continue
        yield path


def _taken_on_from_name(name: str) -> date | None:
    """The first date in the name, ``YYYY-MM-DD`` or ``YYYYMMDD``, not part of a longer
    number (``8012345-2025-10-02.csv`` is 2 October 2025, not "0123-45-20")."""
    for found in re.finditer(r"(?<!\d)(\d{4})-?(\d{2})-?(\d{2})(?!\d)", name):
        try:
            return date(int(found[1]), int(found[2]), int(found[3]))
        except ValueError:
            continue
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
    lock_path = feeds_dir() / "drop-folder.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        try:  # one scan at a time: the worker's processes may start two
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("the drop folder is being scanned already")
            return done
        for dropped in list(_dropped_files(root, schools)):
            try:
                done.append(_drop_import(dropped))
            except (OSError, StorageUnavailable):  # (not moved: it stays, tried again next time)
                logger.exception("could not move dropped file %s", dropped.path)
    return done


def _stamp() -> str:
    return timezone.now().strftime("%Y%m%dT%H%M%S")


def _drop_import(dropped: DroppedFile) -> tuple[Path, ImportRun | None]:
    path = dropped.path
    system = Actor.system("drop folder")
    if dropped.school is not None:
        account = school_feed_account(actor=system, school=dropped.school)
        actor = Actor(user=account, label=f"drop folder ({dropped.school.laestab})")
    else:
        actor = system
    suffix = path.suffix.lower()
    is_jsonl = suffix in DROP_JSONL_SUFFIXES
    report: dict[str, Any]
    run: ImportRun | None = None
    try:
        if actor.user is not None and not actor.user.is_active:
            # Switched off (as its API tokens are): its files are not imported either.
            raise FeedError(
                f"{path.name} was not imported: this school's feed account "
                f"({actor.user.email}) is switched off. Ask the CME team."
            )
        if path.is_symlink():
            # An SFTP user can make links: one to a file elsewhere on the server (or in
            # another school's folder) is not read, and its report quotes nothing of it.
            raise FeedError(f"{path.name} is a link, not a file: it was not read")
        if not dropped.kind:
            raise FeedError(
                f"{path.name} is not in a feed's folder, so it was not imported: put it in "
                f"{', '.join(f'{kind}/' for kind in PUSH_KINDS)}"
            )
        if suffix not in DROP_CSV_SUFFIXES + DROP_JSONL_SUFFIXES:
            raise FeedError(
                f"{path.name} is not a .csv, .jsonl or .ndjson file: save it as CSV UTF-8 "
                "(.csv) and send it again"
            )
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise FeedError(
                f"{path.name} could not be read ({exc.strerror or exc}): the worker needs "
                "read access to it; nothing was imported"
            ) from None
        with handle:
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
            "error_count": exc.count,
            "errors": exc.problems or [{"line": 0, "column": "", "message": str(exc)}],
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
    stamp = _stamp()
    target = target_dir / f"{stamp}-{path.name}"
    taken = 1
    while target.exists() or target.with_name(f"{target.name}.report.json").exists():
        taken += 1  # the same name twice in one second: neither replaces the other
        target = target_dir / f"{stamp}.{taken}-{path.name}"
    report["moved_to"] = str(target)
    # The report first (whole, or not at all), then the file: a file in done/ or failed/
    # always has its report beside it.
    save_atomically(
        target_dir / f"{target.name}.report.json",
        [json.dumps(report, indent=2, default=str).encode()],
    )
    os.replace(path, target)
    return target, run


__all__ = [
    "PUSH_KINDS",
    "FeedError",
    "FeedResult",
    "detection_after_feed",
    "detection_message",
    "drop_folder_scan",
    "feed_receive",
    "is_school_feed_account",
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
