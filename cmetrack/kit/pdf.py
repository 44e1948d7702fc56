"""HTML to PDF with WeasyPrint, for every printable form and report.

WeasyPrint needs Pango, a system library. It is imported here, when a PDF is asked for,
so that the application starts on a machine without Pango; callers catch
:class:`PdfUnavailable` and offer the printable HTML instead (CI installs Pango: .ci/run).
"""

from __future__ import annotations

from pathlib import Path


class PdfUnavailable(RuntimeError):
    """WeasyPrint or its system libraries are missing on this machine."""


def render_pdf(html: str, *, stylesheet: Path | None = None) -> bytes:
    """``html`` (a whole document) as PDF bytes, with an optional extra stylesheet file."""
    try:
        from weasyprint import CSS, HTML  # type: ignore[import-untyped]
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(str(exc)) from exc
    sheets = [CSS(filename=str(stylesheet))] if stylesheet is not None else []
    pdf = HTML(string=html).write_pdf(stylesheets=sheets)
    assert pdf is not None
    return bytes(pdf)
