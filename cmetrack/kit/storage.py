"""Writing files on the server so that a full or read-only disk leaves nothing half-done.

Every file a request writes (an upload kept for a background import, a copy of an upload
imported at once) goes through here:

* :func:`save_atomically` writes to a temporary name in the same folder and moves it into
  place with :func:`os.replace` only once it is complete; on any ``OSError`` (disk full,
  read-only, no permission, quota) the temporary file is removed and
  :class:`StorageUnavailable` is raised, so nothing partial is left in ``var/``;
* :func:`staged_upload` copies an upload to a temporary file for an importer that reads a
  path, and removes it afterwards whatever happens;
* :func:`storage_errors` turns an ``OSError`` inside a block into
  :class:`StorageUnavailable`;
* :class:`SpoolingUploadHandler` (``FILE_UPLOAD_HANDLERS``) is Django's handler that
  spools a large upload to a temporary file while the request is read: on a full or
  read-only disk it drops the file (and what was written of it) instead of failing the
  whole request, and :func:`upload_not_stored` puts the message on the form.

The pages catch :class:`StorageUnavailable` and show :data:`STORAGE_MESSAGE` on the form
the person was on; nothing is recorded for the upload (no import run, no other row).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import TemporaryFileUploadHandler

logger = logging.getLogger(__name__)

#: What a person is told when the server cannot store their file.
STORAGE_MESSAGE = (
    "The file could not be saved because the server's storage is full or read-only. "
    "Nothing was imported. Try again later or tell your administrator."
)

CHUNK = 1 << 20


class StorageUnavailable(Exception):
    """The server could not write a file: its disk is full, read-only or not ours to write."""

    def __init__(self, message: str = STORAGE_MESSAGE) -> None:
        super().__init__(message)
        self.message = message


class Chunked(Protocol):
    def chunks(self, chunk_size: int | None = ...) -> Iterator[bytes]: ...


def _blocks(content: BinaryIO | Path | Chunked | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(content, Path):
        with content.open("rb") as source:
            while block := source.read(CHUNK):
                yield block
    elif hasattr(content, "chunks"):
        yield from content.chunks()
    elif hasattr(content, "read"):
        while block := content.read(CHUNK):
            yield block
    else:
        yield from content


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # a read-only folder may refuse this too: nothing more we can do
        logger.warning("could not remove the temporary file %s", path)


def _open_temp(temp: Path) -> BinaryIO:
    """The temporary file, new (the tests replace this to fill or lock the disk)."""
    return temp.open("xb")


def save_atomically(path: Path, content: BinaryIO | Path | Chunked | Iterable[bytes]) -> Path:
    """Write ``content`` to ``path`` whole or not at all; :class:`StorageUnavailable` if not.

    The bytes go to a hidden temporary name beside ``path`` (same folder, so same disk),
    are flushed to disk, then the file is renamed into place.
    """
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _open_temp(temp) as out:
            for block in _blocks(content):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except OSError as exc:
        _remove(temp)
        logger.error("could not write %s: %s", path, exc)
        raise StorageUnavailable from exc
    return path


@contextlib.contextmanager
def staged_upload(
    content: BinaryIO | Path | Chunked | Iterable[bytes],
    *,
    suffix: str = "",
    folder: Path | None = None,
) -> Iterator[Path]:
    """A complete copy of an upload in a temporary file, removed when the block ends.

    For an importer that reads a path. A full or read-only disk raises
    :class:`StorageUnavailable` before the block runs, and leaves no file behind.
    """
    directory = Path(folder) if folder is not None else Path(tempfile.gettempdir())
    path = directory / f"cmetrack-upload-{uuid.uuid4().hex}{suffix[:10]}"
    save_atomically(path, content)
    try:
        yield path
    finally:
        _remove(path)


@contextlib.contextmanager
def storage_errors() -> Iterator[None]:
    """Inside the block, an ``OSError`` becomes :class:`StorageUnavailable`."""
    try:
        yield
    except OSError as exc:
        logger.error("could not write a file: %s", exc)
        raise StorageUnavailable from exc


#: Set on a request whose upload could not be spooled to disk.
_NOT_STORED = "_cmetrack_upload_not_stored"


class SpoolingUploadHandler(TemporaryFileUploadHandler):
    """Django's large-upload handler, but a full or read-only disk drops the file.

    Without this, the ``OSError`` is raised while Django reads the request (in the CSRF
    check, before any view), and the person gets the error page. Here the partial
    temporary file is removed, the field is left out of ``request.FILES`` and the request
    is marked, so the view shows :data:`STORAGE_MESSAGE` on its form.
    """

    failed = False

    def _fail(self, exc: OSError) -> None:
        logger.error("could not spool an upload to disk: %s", exc)
        self.failed = True
        if self.request is not None:
            setattr(self.request, _NOT_STORED, True)
        file = getattr(self, "file", None)
        if file is not None:
            try:
                path = file.temporary_file_path()
                file.close()  # a named temporary file removes itself when closed
                Path(path).unlink(missing_ok=True)
            except OSError:
                logger.warning("could not remove a partial upload")
            del self.file

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        self.failed = False
        try:
            super().new_file(*args, **kwargs)
        except OSError as exc:
            self._fail(exc)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes | None:
        if not self.failed:
            try:
                self.file.write(raw_data)
            except OSError as exc:
                self._fail(exc)
        return None

    def file_complete(self, file_size: int) -> UploadedFile | None:
        if self.failed:
            return None
        try:
            self.file.flush()
            return super().file_complete(file_size)
        except OSError as exc:
            self._fail(exc)
            return None


def upload_not_stored(request: Any, form: Any, field: str = "file") -> bool:
    """If the request's upload could not be spooled to disk, put :data:`STORAGE_MESSAGE`
    on ``form``'s ``field`` (in place of "choose a file") and return True."""
    if not getattr(request, _NOT_STORED, False):
        return False
    form.is_valid()
    form.errors[field] = form.error_class([STORAGE_MESSAGE])
    return True
