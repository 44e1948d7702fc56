"""Disk faults for tests: a disk that fills up half-way through a file, and a read-only one.

The suite runs as root in CI, and ``chmod`` does not stop root, so a read-only folder is
simulated the same way as a full disk: the file the server opens raises the ``OSError``
the kernel would (``EROFS`` or ``EACCES`` on opening, ``ENOSPC`` after some bytes).
"""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest

from cmetrack.kit import storage


class _FillingFile(io.FileIO):
    """A real file that takes ``room`` bytes, then fails as a full disk does."""

    room = 10

    def write(self, data: Any) -> int:
        written = super().write(bytes(data)[: self.room])
        self.room -= written or 0
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return written or 0


def fill_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file the server writes gets a few bytes in, then ``ENOSPC``."""

    def open_temp(temp: Path) -> Any:
        return _FillingFile(temp, "xb")

    monkeypatch.setattr(storage, "_open_temp", open_temp)


def lock_disk(monkeypatch: pytest.MonkeyPatch, code: int = errno.EROFS) -> None:
    """Every file the server opens for writing is refused (``EROFS``, ``EACCES``…)."""

    def open_temp(temp: Path) -> Any:
        raise OSError(code, os.strerror(code), str(temp))

    monkeypatch.setattr(storage, "_open_temp", open_temp)


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (hidden temporary ones included)."""
    return sorted(p for p in Path(folder).rglob("*") if p.is_file())


def fill_disk_while_reading_uploads(
    monkeypatch: pytest.MonkeyPatch, settings: Any, folder: Path, code: int = errno.ENOSPC
) -> None:
    """Django spools every upload to ``folder`` while reading the request, and the disk
    fails: ``ENOSPC`` after a few bytes, or (another ``code``) on creating the file."""
    from django.core.files import uploadhandler
    from django.core.files.uploadedfile import TemporaryUploadedFile

    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # no upload is kept in memory
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)

    class Failing(TemporaryUploadedFile):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            if code != errno.ENOSPC:
                self.close()
                raise OSError(code, os.strerror(code))
            self.room = 10

        def write(self, data: Any) -> int:
            spool: Any = self.file
            written = int(spool.write(bytes(data)[: self.room]))
            spool.flush()
            self.room -= written
            if self.room <= 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return written

    monkeypatch.setattr(uploadhandler, "TemporaryUploadedFile", Failing)
