"""Checks for every uploaded file, shared by the importers (rolls, attendance, transfers).

:func:`validate_upload` refuses a file that is too large, that has an extension not
allowed, or whose first bytes (its "magic") do not match that extension. The messages are
written for the person uploading. Call it in the form's ``clean_<field>`` before parsing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import Protocol

from django.core.exceptions import ValidationError

DEFAULT_MAX_BYTES = 20 * 1024 * 1024

#: Magic numbers of binary formats by extension.
_ZIP = (b"PK\x03\x04",)
MAGIC: dict[str, tuple[bytes, ...]] = {
    "xlsx": _ZIP,
    "zip": _ZIP,
    "pdf": (b"%PDF-",),
    "xml": (b"<?xml", b"\xef\xbb\xbf<?xml", b"<"),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
#: Extensions that must be text (UTF-8 or Windows-1252), never binary.
TEXT_KINDS = frozenset({"csv", "txt", "ctf"})
#: Bytes that start a binary or executable file, refused as text.
BINARY_SIGNATURES = (b"PK\x03\x04", b"%PDF", b"MZ", b"\x7fELF", b"\xd0\xcf\x11\xe0", b"\x00")


class UploadedFileLike(Protocol):
    name: str | None
    size: int | None

    def read(self, size: int = ...) -> bytes: ...

    def seek(self, offset: int, whence: int = ...) -> int: ...


def _describe(extensions: Iterable[str]) -> str:
    names = sorted(e.upper() for e in extensions)
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def validate_upload(
    upload: UploadedFileLike,
    *,
    extensions: Iterable[str],
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """Check an upload; return its (lower-case) extension or raise ``ValidationError``."""
    allowed = frozenset(e.lower().lstrip(".") for e in extensions)
    ext = PurePath(upload.name or "").suffix.lower().lstrip(".")
    if ext not in allowed:
        raise ValidationError(f"The selected file must be a {_describe(allowed)}")
    size = upload.size or 0
    if size == 0:
        raise ValidationError("The selected file is empty")
    if size > max_bytes:
        raise ValidationError(
            f"The selected file must be smaller than {max_bytes // (1024 * 1024) or 1}MB"
        )
    upload.seek(0)
    head = upload.read(2048)
    upload.seek(0)
    if ext in TEXT_KINDS:
        if head.startswith(BINARY_SIGNATURES) or b"\x00" in head:
            raise ValidationError(f"The selected file must be a {ext.upper()} text file")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at 2048 bytes is fine; anything else is not UTF-8.
            if exc.start < len(head) - 4:
                try:
                    head.decode("cp1252")
                except UnicodeDecodeError:
                    raise ValidationError(
                        f"The selected file must be a {ext.upper()} text file"
                    ) from exc
        return ext
    signatures = MAGIC.get(ext)
    if signatures is not None and not head.lstrip(b"\xef\xbb\xbf \r\n\t").startswith(
        tuple(s.lstrip(b"\xef\xbb\xbf") for s in signatures)
    ):
        raise ValidationError(f"The selected file is not a real {ext.upper()} file")
    return ext
