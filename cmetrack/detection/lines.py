"""Reading a data file line by line, truthfully: every problem with its real line.

A file is read as bytes, one physical line at a time (so a large file is never held in
memory), and each line is checked before the CSV parser sees it:

* **line numbers** are physical lines, counted from 1 for the header, blank lines and the
  lines of a quoted value that spans lines included: a record's line is the line it starts
  on;
* **encoding**: UTF-8 (a byte-order mark is allowed); a file saved as UTF-16, and a
  spreadsheet workbook sent as it is, are refused as a whole (a :class:`LineProblem` on
  line 0). A file with no UTF-8 at all outside
  plain ASCII whose every line reads as Windows-1252 is a spreadsheet's export and is read
  as Windows-1252. Otherwise a line that is not UTF-8 is that line's problem, naming the
  column and the byte, and the rest of the file is still checked;
* **huge lines**: a line longer than :data:`MAX_LINE_BYTES` is that line's problem (it is
  skipped without being read into memory), and the rest of the file is still checked.

:func:`read_records` yields :class:`Record` (line, values) and :class:`LineProblem` items in
file order; the CSV importers (:func:`cmetrack.detection.imports.csv_rows`) turn them into
rows and errors.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

#: The longest line a data file may have (bytes). Real rows are a few hundred bytes.
MAX_LINE_BYTES = 1 << 20
#: Bytes read at a time.
_READ_BLOCK = 1 << 16
#: A UTF-8 sequence beyond ASCII (a file that has one is a UTF-8 file).
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]{1,3}")

csv.field_size_limit(MAX_LINE_BYTES * 2)

#: What :func:`detect_encoding` says of a file saved as UTF-16 ("Unicode text"), which is
#: refused as a whole with :data:`UTF16_PROBLEM` (every line of it would be garbled).
UTF16 = "utf-16"
#: A spreadsheet sent as it is (.xlsx is a zip file, .xls an OLE file), refused as a whole.
WORKBOOK_PROBLEM = (
    "it is a spreadsheet workbook (Excel .xlsx or .xls), not a CSV file: open it, save it "
    'with "Save as" as CSV UTF-8, and send that file'
)
UTF16_PROBLEM = (
    "it is saved as Unicode text (UTF-16), which cannot be read: save it as "
    "CSV UTF-8 and send it again"
)


@dataclass(frozen=True)
class Record:
    """One CSV record: the physical line it starts on and its values (not stripped)."""

    line: int
    values: list[str]
    end: int = 0  # the line it ends on (a quoted value can span lines); 0: not known


@dataclass(frozen=True)
class LineProblem:
    """A line that could not be read: where, which column if known, and why."""

    line: int
    column: int | None  # 0-based index of the value the problem is in, if known
    message: str


def _physical_lines(path: Path) -> Iterator[tuple[int, bytes | None, int]]:
    """``(line number, bytes without the line ending or None if too long, length)``.

    A line ends at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (a Mac spreadsheet's "CSV"), as an
    editor shows it. A line longer than :data:`MAX_LINE_BYTES` is never held whole: its
    length is counted as it is skipped."""
    number = 0
    carry = b""  # the start of a line whose end is in a later block
    skipped = -1  # >= 0: the length so far of a line too long to keep
    drop_lf = False  # the last line ended with a "\\r" that may be half of a "\\r\\n"
    with path.open("rb") as handle:
        while block := handle.read(_READ_BLOCK):
            if drop_lf and block.startswith(b"\n"):
                block = block[1:]
            drop_lf = False
            if skipped >= 0:
                end = _line_end(block)
                if end < 0:
                    skipped += len(block)
                    continue
                number += 1
                yield number, None, skipped + end
                skipped = -1
                ending = block[end : end + 2]
                drop_lf = ending == b"\r"
                block = block[end + (2 if ending == b"\r\n" else 1) :]
            parts = (carry + block).splitlines(keepends=True)
            carry = parts.pop() if parts and not parts[-1].endswith(b"\n") else b""
            if carry.endswith(b"\r"):  # a line ended, unless a "\\n" follows in the next block
                parts.append(carry)
                carry = b""
                drop_lf = True
            for part in parts:
                number += 1
                text = part.rstrip(b"\r\n")
                yield number, (None if len(text) > MAX_LINE_BYTES else text), len(text)
            if len(carry) > MAX_LINE_BYTES:
                skipped, carry = len(carry), b""
    if skipped >= 0:
        yield number + 1, None, skipped
    elif carry:
        yield number + 1, (None if len(carry) > MAX_LINE_BYTES else carry), len(carry)


def _line_end(block: bytes) -> int:
    """Where the first line ending in ``block`` is (-1: none)."""
    ends = [i for i in (block.find(b"\n"), block.find(b"\r")) if i >= 0]
    return min(ends) if ends else -1


def detect_encoding(path: Path) -> str:
    """``utf-8-sig`` or, for a spreadsheet's Windows-1252 export, ``cp1252`` (see above)."""
    with path.open("rb") as handle:
        start = handle.read(3)
    if start == codecs.BOM_UTF8:
        return "utf-8-sig"
    if _is_utf16(start):
        return UTF16
    any_utf8 = False
    any_bad = False
    all_cp1252 = True
    for _, raw, _ in _physical_lines(path):
        if raw is None or raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            any_utf8 = True
            continue
        except UnicodeDecodeError:
            any_bad = True
        if _UTF8_MULTIBYTE.search(raw):
            any_utf8 = True
        try:
            raw.decode("cp1252")
        except UnicodeDecodeError:
            all_cp1252 = False
    return "cp1252" if any_bad and all_cp1252 and not any_utf8 else "utf-8-sig"


def _bad_byte(raw: bytes, exc: UnicodeDecodeError, encoding: str) -> tuple[int | None, str]:
    """The 0-based CSV value the bad byte is in (counting commas before it) and its text."""
    byte = raw[exc.start : exc.start + 1]
    column = raw[: exc.start].count(b",") if b'"' not in raw[: exc.start] else None
    name = "UTF-8" if encoding.startswith("utf-8") else "Windows-1252"
    return column, (
        f"this line is not {name} text: byte 0x{byte.hex().upper()} at character "
        f"{exc.start + 1} cannot be read. Save the file as CSV UTF-8 and send it again"
    )


def whole_file_problem(path: Path) -> str | None:
    """Why the file cannot be read as CSV text at all (a spreadsheet workbook, UTF-16), or
    None."""
    with path.open("rb") as handle:
        start = handle.read(8)
    if start.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")):
        return WORKBOOK_PROBLEM
    if _is_utf16(start):
        return UTF16_PROBLEM
    return None


def _is_utf16(start: bytes) -> bool:
    """A UTF-16 byte-order mark, or a text character then a NUL (or the other way round)."""
    return start[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) or start[:2].count(0) == 1


def read_records(path: Path, encoding: str | None = None) -> Iterator[Record | LineProblem]:
    """Every record and every unreadable line of the CSV file at ``path``, in order.

    A line that cannot be read is given to the CSV parser as an empty line, so a problem in
    one line never hides the lines after it. A double quote that opens a value and is never
    closed would make the rest of the file that value: it is that line's problem, and the
    lines after it are read again on their own.
    """
    problem = whole_file_problem(path)
    if problem:
        yield LineProblem(0, None, problem)
        return
    encoding = encoding or detect_encoding(path)
    first_line: int | None = 1
    while first_line is not None:
        first_line = yield from _records_from(path, encoding, first_line)


def _records_from(
    path: Path, encoding: str, first_line: int
) -> Generator[Record | LineProblem, None, int | None]:
    """The records from line ``first_line`` on; the line to read again from if a quote
    opened on a line is never closed (None: the file was read to its end)."""
    problems: list[LineProblem] = []
    at_end = False

    def text_lines() -> Iterator[str]:
        nonlocal at_end
        for number, raw, length in _physical_lines(path):
            if number < first_line:
                continue
            if raw is None:
                problems.append(
                    LineProblem(
                        number,
                        None,
                        f"this line is {length:,} characters long: a line may have at most "
                        f"{MAX_LINE_BYTES:,}. It was not read",
                    )
                )
                yield "\n"
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode("utf-8" if encoding.startswith("utf-8") else encoding)
            except UnicodeDecodeError as exc:
                column, message = _bad_byte(raw, exc, encoding)
                problems.append(LineProblem(number, column, message))
                yield "\n"
                continue
            yield text + "\n"
        at_end = True

    reader = csv.reader(text_lines())
    while True:
        start = reader.line_num + first_line
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if reader.line_num + first_line - 1 > start:
                # A value over several lines grew past the field limit: a quote not closed.
                problems[:] = [p for p in problems if p.line <= start]
                yield from _drain(problems)
                yield LineProblem(
                    start,
                    None,
                    'a double quote (") opens a value on this line that runs on for more '
                    f"than {MAX_LINE_BYTES * 2:,} characters: close the quote or remove it "
                    "(the lines after this one were checked on their own)",
                )
                return start + 1
            yield from _drain(problems)
            yield LineProblem(start, None, f"this line could not be read as CSV: {exc}")
            continue
        if at_end and values:
            # Every line given to the parser ends with a line ending, so a record that
            # needed the end of the file to end is a quoted value never closed.
            problems[:] = [p for p in problems if p.line <= start]
            yield from _drain(problems)
            yield LineProblem(start, len(values) - 1, _UNCLOSED_QUOTE)
            return start + 1
        # Problems found while the parser read these lines come first (they are earlier).
        yield from _drain(problems)
        yield Record(start, values, reader.line_num + first_line - 1)
    yield from _drain(problems)
    return None


_UNCLOSED_QUOTE = (
    'a double quote (") opens a value on this line and is never closed, so the rest of '
    "the file would be that value: close the quote or remove it (the lines after this one "
    "were checked on their own)"
)


def _drain(problems: list[LineProblem]) -> Iterator[LineProblem]:
    while problems:
        yield problems.pop(0)


# --- Attendance marks: a fast check, and a careful reading when it fails ------------------

_BLOCK = 16 << 20


def is_plain_csv(path: Path, columns: int) -> bool:
    """Whether the file can be read as it is, line for row (checked at C speed, a block at a
    time): UTF-8, no quotes, no blank line, no line over :data:`MAX_LINE_BYTES`, and as many
    commas as ``columns - 1`` per line. Then row *n* of the data is line *n + 1*. (Commas
    could still balance out between a short and a long line: the reader then fails, and
    the caller reads the file carefully instead.)"""
    decoder = codecs.getincrementaldecoder("utf-8")()
    commas = lines = 0
    carry = b""
    previous_end = b"\n"
    with path.open("rb") as handle:
        start = handle.read(3)
        if start != codecs.BOM_UTF8:
            carry = start
        while True:
            block = handle.read(_BLOCK)
            data = carry + block
            final = not block
            cut = len(data) if final else data.rfind(b"\n") + 1
            if not final and cut == 0:
                if len(data) > MAX_LINE_BYTES:
                    return False
                carry = data
                continue
            whole, carry = data[:cut], data[cut:]
            if not whole:
                break
            if b'"' in whole or b"\n\n" in whole or b"\n\r\n" in whole:
                return False
            if previous_end == b"\n" and whole[:1] in (b"\n", b"\r"):
                return False  # a blank line where the last block ended
            previous_end = whole[-1:]
            try:
                decoder.decode(whole, final=final)
            except UnicodeDecodeError:
                return False
            if max(map(len, whole.split(b"\n"))) > MAX_LINE_BYTES:
                return False
            commas += whole.count(b",")
            lines += whole.count(b"\n") + (0 if whole.endswith(b"\n") else 1)
            if final:
                break
    return lines > 0 and commas == lines * (columns - 1)
