"""The text of a PDF written by WeasyPrint, read from its bytes (no PDF library needed).

Enough of PDF for what WeasyPrint writes: objects (also inside object streams), Flate
streams, fonts with ToUnicode maps, and text shown with Tj/TJ. A test that reads the
letter asserts both that known text is found (so the reader works) and that restricted
text is not.
"""

from __future__ import annotations

import re
import zlib

_OBJ = re.compile(rb"(\d+)\s+0\s+obj(.*?)endobj", re.S)
_STREAM = re.compile(rb"stream\r?\n(.*?)\r?\nendstream", re.S)


def _inflate(head: bytes, data: bytes) -> bytes:
    if b"/FlateDecode" in head:
        try:
            return zlib.decompress(data)
        except zlib.error:
            return zlib.decompressobj().decompress(data)
    return data


def objects(pdf: bytes) -> dict[int, tuple[bytes, bytes]]:
    """Object number -> (dictionary text, decoded stream or b"")."""
    found: dict[int, tuple[bytes, bytes]] = {}
    for match in _OBJ.finditer(pdf):
        number, body = int(match.group(1)), match.group(2)
        stream = _STREAM.search(body)
        head = body[: stream.start()] if stream else body
        data = _inflate(head, stream.group(1)) if stream else b""
        found[number] = (head, data)
        if b"/ObjStm" in head:
            first = int(re.search(rb"/First\s+(\d+)", head).group(1))  # type: ignore[union-attr]
            pairs = [int(x) for x in data[:first].split()]
            offsets = list(zip(pairs[::2], pairs[1::2], strict=True))
            for i, (inner, offset) in enumerate(offsets):
                end = offsets[i + 1][1] if i + 1 < len(offsets) else len(data) - first
                found[inner] = (data[first + offset : first + end], b"")
    return found


def _cmap(text: bytes) -> tuple[dict[int, str], int]:
    mapping: dict[int, str] = {}
    width = 2
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
        for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]*)>", block):
            width = len(src) // 2
            mapping[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be", "replace")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
        for lo, hi, dst in re.findall(
            rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block
        ):
            width = len(lo) // 2
            start = int(dst, 16)
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(start + offset)
    return mapping, width


def text_of(pdf: bytes) -> str:
    """Every string shown on every page, in order, words separated by spaces."""
    objs = objects(pdf)
    fonts: dict[bytes, tuple[dict[int, str], int]] = {}
    for head, _data in objs.values():
        dicts = re.findall(rb"/Font\s*<<(.*?)>>", head, re.S)
        dicts += [
            objs.get(int(n), (b"", b""))[0] for n in re.findall(rb"/Font\s+(\d+)\s+0\s+R", head)
        ]
        for font_dict in dicts:
            for name, number in re.findall(rb"/([\w.\-+]+)\s+(\d+)\s+0\s+R", font_dict):
                font_head = objs.get(int(number), (b"", b""))[0]
                ref = re.search(rb"/ToUnicode\s+(\d+)\s+0\s+R", font_head)
                if ref:
                    fonts[name] = _cmap(objs[int(ref.group(1))][1])
    words: list[str] = []
    token = re.compile(
        rb"/([\w.\-+]+)\s+[\d.]+\s+Tf|\[(.*?)\]\s*TJ|<([0-9A-Fa-f]*)>\s*Tj|\((.*?)\)\s*Tj"
        rb"|\b(ET|Td|TD|Tm|T\*)\b",
        re.S,
    )
    for _head, data in objs.values():
        if b"BT" not in data or b"Tf" not in data:
            continue
        current: tuple[dict[int, str], int] = ({}, 2)
        for match in token.finditer(data):
            font, array, hex_string, literal, _move = match.groups()
            if font is not None:
                current = fonts.get(font, ({}, 2))
            elif array is not None:
                parts = re.findall(rb"<([0-9A-Fa-f]*)>|(-?[\d.]+)", array)
                for hex_part, number in parts:
                    if hex_part:
                        words.append(_decode(hex_part, current))
                    elif number and float(number) < -200:
                        words.append(" ")
            elif hex_string is not None:
                words.append(_decode(hex_string, current))
            elif literal is not None:
                words.append(literal.decode("latin-1"))
            else:
                words.append(" ")
    return re.sub(r"\s+", " ", "".join(words)).strip()


def _decode(hex_text: bytes, font: tuple[dict[int, str], int]) -> str:
    mapping, width = font
    raw = bytes.fromhex(hex_text.decode())
    return "".join(
        mapping.get(int.from_bytes(raw[i : i + width], "big"), "")
        for i in range(0, len(raw), width)
    )
