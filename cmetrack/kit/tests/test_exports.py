"""Streamed CSV downloads: the same bytes, sent in pieces rather than a line at a time."""

from __future__ import annotations

import csv
import io

from cmetrack.kit.exports import CHUNK_CHARS, csv_response, in_chunks


def test_lines_are_joined_into_pieces_of_the_chunk_size():
    lines = [f"row {i},x\r\n" for i in range(5000)]
    pieces = list(in_chunks(lines, size=1000))
    assert "".join(pieces) == "".join(lines)
    assert all(len(p) >= 1000 for p in pieces[:-1])
    assert all(len(p) < 1000 + 20 for p in pieces)  # never more than a line over


def test_nothing_gives_nothing_and_a_short_export_one_piece():
    assert list(in_chunks([])) == []
    assert list(in_chunks(["a,b\r\n", "1,2\r\n"])) == ["a,b\r\n1,2\r\n"]


def test_a_large_export_is_streamed_in_a_few_pieces_with_every_row():
    rows = [(i, f"=cmd{i}", "Ó Briain") for i in range(13_000)]
    response = csv_response("x.csv", ["n", "formula", "name"], iter(rows))
    pieces = list(response.streaming_content)  # type: ignore[arg-type]
    body = b"".join(pieces).decode()
    assert len(pieces) <= len(body) // CHUNK_CHARS + 1
    read = list(csv.reader(io.StringIO(body)))
    assert read[0] == ["n", "formula", "name"]
    assert len(read) == 13_001
    assert read[1] == ["0", "'=cmd0", "Ó Briain"]  # formulas still made safe
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'
