"""The risk assessment as a PDF (WeasyPrint).

WeasyPrint needs Pango, a system library. It is imported here, when a PDF is asked for,
so that the application starts on a machine without Pango; there the PDF page says so and
offers the printable version (CI installs Pango: .ci/run).
"""

from __future__ import annotations

import importlib
from pathlib import Path

PRINT_CSS = Path(__file__).parent / "static" / "safeguarding" / "print.css"


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries are missing on this machine."""


def weasyprint_available() -> bool:
    try:
        importlib.import_module("weasyprint")
    except (ImportError, OSError):
        return False
    return True


def render_pdf(html: str) -> bytes:
    """``html`` (a whole document, without its stylesheet link) as PDF bytes, styled with
    the print stylesheet."""
    try:
        from weasyprint import CSS, HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(str(exc)) from exc
    pdf = HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(PRINT_CSS))])
    assert pdf is not None
    return bytes(pdf)
