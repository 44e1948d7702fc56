"""The enquiry as a letter for secure email: HTML, then PDF through ``kit.pdf``.

The letter is made only from the stored document (``OutgoingEnquiry.shared``), the same one
as the JSON file, so both hold exactly what was checked when the enquiry was made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.template.loader import render_to_string

from cmetrack.kit.dates import govuk_date
from cmetrack.kit.pdf import render_pdf

from .documents import EnquiryDocument, MoveNoticeDocument
from .models import MoveNotification, OutgoingEnquiry
from .services import move_notice_document


@dataclass(frozen=True)
class LetterRow:
    label: str
    value: str


def _date(value: dt.date | None) -> str:
    return govuk_date(value) if value else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("Yes" if value else "No")


def letter_sections(
    doc: EnquiryDocument | MoveNoticeDocument,
) -> list[tuple[str, list[LetterRow]]]:
    """The letter's tables: only items that were shared (blank ones left out)."""
    c, f, h, v = doc.child, doc.family, doc.history, doc.vulnerability
    name = c.legal_name
    child_rows = [
        (
            "Legal name",
            " ".join(p for p in (name.given_names, name.middle_names, name.family_name) if p)
            if name
            else "",
        ),
        ("Other names", ", ".join(c.aliases or [])),
        ("Date of birth", _date(c.date_of_birth)),
        ("Sex", c.sex or ""),
        ("Gender", c.gender or ""),
        ("Ethnicity", c.ethnicity or ""),
        ("UPN", c.upn or ""),
        ("Former UPNs", ", ".join(c.former_upns or [])),
        (
            "Parents and carers",
            "; ".join(
                f"{p.name} ({p.relationship}"
                + (", has parental responsibility)" if p.parental_responsibility else ")")
                for p in f.parents_carers or []
            ),
        ),
        ("Siblings", ", ".join(f.siblings or [])),
        ("Last known and previous addresses", "; ".join(h.previous_addresses or [])),
        ("Previous school", h.previous_school or ""),
        ("Date of last attendance", _date(h.date_of_last_attendance)),
        ("Date the child left our area", _date(h.date_left_area)),
        ("Possible new address", h.possible_new_address or ""),
        ("Possible new school", h.possible_new_school or ""),
        ("Country of origin", h.country_of_origin or ""),
    ]
    vulnerability_rows = [
        ("Reason for leaving", v.reason_for_leaving or ""),
        ("Child protection plan", _yes_no(v.child_protection)),
        ("Looked after", _yes_no(v.looked_after)),
        ("Privately fostered", _yes_no(v.private_fostering)),
        ("Asylum seeker", _yes_no(v.asylum_seeker)),
        ("Youth justice involvement", _yes_no(v.youth_justice)),
        ("Attendance interventions", v.attendance_interventions or ""),
        ("Special educational needs", v.sen_status or ""),
        ("Other", v.other or ""),
    ]
    return [
        ("About the child", [LetterRow(a, b) for a, b in child_rows if b]),
        ("Vulnerability indicators", [LetterRow(a, b) for a, b in vulnerability_rows if b]),
    ]


def letter_context(enquiry: OutgoingEnquiry) -> dict[str, Any]:
    doc = EnquiryDocument.model_validate(enquiry.shared)
    return {
        "doc": doc,
        "sent_on": _date(doc.sent_on),
        "reply_due_on": _date(doc.reply_due_on),
        "sections": letter_sections(doc),
    }


def letter_html(enquiry: OutgoingEnquiry) -> str:
    return render_to_string("enquiries/letter.jinja", letter_context(enquiry))


def letter_pdf(enquiry: OutgoingEnquiry) -> bytes:
    """The letter as PDF bytes (raises ``kit.pdf.PdfUnavailable`` without Pango)."""
    return render_pdf(letter_html(enquiry))


def move_notice_html(notice: MoveNotification) -> str:
    """The move notice for secure email, made from the stored notice only."""

    doc = move_notice_document(notice)
    return render_to_string(
        "enquiries/move_notice_letter.jinja",
        {"doc": doc, "sent_on": _date(doc.sent_on), "sections": letter_sections(doc)},
    )


def move_notice_pdf(notice: MoveNotification) -> bytes:
    """The move notice as PDF bytes (raises ``kit.pdf.PdfUnavailable`` without Pango)."""
    return render_pdf(move_notice_html(notice))
