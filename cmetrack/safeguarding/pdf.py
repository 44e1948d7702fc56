"""The risk assessment as a PDF: the shared renderer with the form's print stylesheet."""

from __future__ import annotations

from pathlib import Path

from cmetrack.kit.pdf import PdfUnavailable
from cmetrack.kit.pdf import render_pdf as _render

PRINT_CSS = Path(__file__).parent / "static" / "safeguarding" / "print.css"

__all__ = ["PRINT_CSS", "PdfUnavailable", "render_pdf"]


def render_pdf(html: str) -> bytes:
    """``html`` (a whole document, without its stylesheet link) styled as the signed form."""
    return _render(html, stylesheet=PRINT_CSS)
