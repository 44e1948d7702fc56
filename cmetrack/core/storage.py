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
  :class:`StorageUnavailable`.

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
from typing import BinaryIO, Protocol

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
