"""What the enquiry pages show: queue rows, an enquiry's shared data, the directory."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils import timezone

from cmetrack.cases.home import QUEUE_LIMIT, QueueRow, QueueSection
from cmetrack.kit.dates import govuk_date
from cmetrack.organisations.models import LocalAuthority
from cmetrack.organisations.selectors import contact_is_stale

from .documents import EnquiryDocument
from .letter import LetterRow, letter_sections
from .models import AWAITING_REPLY, IncomingEnquiry, OutgoingEnquiry
from .selectors import incoming_to_answer, reply_overdue


def _date(value: dt.date | None) -> str:
    return govuk_date(value) if value else ""


@dataclass(frozen=True)
class Row:
    cells: tuple[str, ...]
    href: str
    tag: str = ""
    tag_class: str = ""


def _status_tag(e: OutgoingEnquiry, today: dt.date) -> tuple[str, str]:
    if e.status in AWAITING_REPLY and e.remind_on < today:
        return "Overdue", "govuk-tag--red"
    colours = {
        "sent": "govuk-tag--blue",
        "acknowledged": "govuk-tag--light-blue",
        "chased": "govuk-tag--orange",
        "answered": "govuk-tag--green",
        "closed": "govuk-tag--grey",
    }
    return e.get_status_display(), colours.get(e.status, "")


def outgoing_rows(enquiries: list[OutgoingEnquiry], today: dt.date | None = None) -> list[Row]:
    today = today or timezone.localdate()
    rows = []
    for e in enquiries:
        tag, tag_class = _status_tag(e, today)
        rows.append(
            Row(
                cells=(
                    e.reference,
                    e.case.child.full_name,
                    e.local_authority.name,
                    _date(e.sent_on),
                    _date(e.reply_due_on),
                ),
                href=reverse("enquiries:outgoing-detail", args=[e.pk]),
                tag=tag,
                tag_class=tag_class,
            )
        )
    return rows


def incoming_rows(enquiries: list[IncomingEnquiry], today: dt.date | None = None) -> list[Row]:
    today = today or timezone.localdate()
    rows = []
    for e in enquiries:
        r = e.referral
        if e.replied_on:
            tag, tag_class = "Answered", "govuk-tag--green"
        elif e.reply_due_on < today:
            tag, tag_class = "Overdue", "govuk-tag--red"
        else:
            tag, tag_class = "To answer", "govuk-tag--blue"
        rows.append(
            Row(
                cells=(
                    r.reference,
                    f"{r.given_names} {r.family_name}".strip(),
                    e.from_la.name,
                    _date(e.received_on),
                    _date(e.reply_due_on),
                ),
                href=reverse("enquiries:incoming-detail", args=[e.pk]),
                tag=tag,
                tag_class=tag_class,
            )
        )
    return rows


@dataclass(frozen=True)
class OutgoingPresenter:
    enquiry: OutgoingEnquiry
    can_act: bool
    forms: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    success: list[str] = field(default_factory=list)

    @property
    def document(self) -> EnquiryDocument:
        return EnquiryDocument.model_validate(self.enquiry.shared)

    @property
    def sections(self) -> list[tuple[str, list[LetterRow]]]:
        return letter_sections(self.document)

    @property
    def summary(self) -> list[tuple[str, str]]:
        e = self.enquiry
        tag, _cls = _status_tag(e, timezone.localdate())
        rows = [
            ("Case", e.case.reference),
            ("Child", e.case.child.full_name),
            ("Authority", f"{e.local_authority.name} ({e.local_authority.code})"),
            (
                "Named contact",
                ", ".join(p for p in (e.contact_name, e.contact_role, e.contact_email) if p),
            ),
            ("Reason for believing the child is linked", e.reason_linked),
            ("Sent", _date(e.sent_on)),
            ("Reply due", _date(e.reply_due_on)),
            ("Status", tag),
        ]
        if e.acknowledged_on:
            rows.append(("Acknowledged", f"{_date(e.acknowledged_on)} by {e.acknowledged_by}"))
        if e.chased_on:
            rows.append(("Last chased", f"{_date(e.chased_on)} ({e.times_chased} times)"))
        if e.answered_on:
            rows.append(("Answered", _date(e.answered_on)))
        if e.closed_on:
            rows.append(("Closed", _date(e.closed_on)))
        return rows

    @property
    def history(self) -> list[tuple[str, str, str, str]]:
        return [
            (
                _date(c.on),
                c.get_to_status_display(),
                c.by.get_full_name() if c.by else "the system",
                c.note,
            )
            for c in self.enquiry.status_changes.select_related("by")
        ]

    @property
    def replies(self) -> list[tuple[str, str, str, str]]:
        return [
            (
                _date(r.received_on),
                r.get_outcome_display(),
                ", ".join(p for p in (r.responder_name, r.responder_role) if p),
                " ".join(
                    p
                    for p in (
                        r.details,
                        f"School: {r.school}." if r.school else "",
                        f"Address: {r.address}." if r.address else "",
                        "(imported from JSON)" if r.source == "imported" else "",
                    )
                    if p
                ),
            )
            for r in self.enquiry.replies.all()
        ]


@dataclass(frozen=True)
class DirectoryRow:
    la: LocalAuthority
    stale: bool

    @property
    def confirmed(self) -> str:
        return _date(self.la.contact_confirmed_on) or "Never"


def directory_rows(
    authorities: list[LocalAuthority], today: dt.date | None = None
) -> list[DirectoryRow]:
    today = today or timezone.localdate()
    return [DirectoryRow(la, contact_is_stale(la, today)) for la in authorities]


def home_section(user: Any, today: dt.date | None = None) -> Any:
    """The home page's reminders (CME officers and managers): enquiries overdue for a
    reply, ours and other authorities'. None when nothing is overdue."""

    today = today or timezone.localdate()
    ours = list(reply_overdue(user, today)[:QUEUE_LIMIT])
    theirs = list(incoming_to_answer(user).filter(reply_due_on__lte=today)[:QUEUE_LIMIT])
    if not ours and not theirs:
        return None
    rows = [
        QueueRow(
            cells=(
                f"Our enquiry {e.reference} to {e.local_authority.name}: chase it",
                e.case.child.full_name,
                _date(e.reply_due_on),
            ),
            href=reverse("enquiries:outgoing-detail", args=[e.pk]),
        )
        for e in ours
    ] + [
        QueueRow(
            cells=(
                f"Reply to {e.from_la.name} ({e.referral.reference})",
                f"{e.referral.given_names} {e.referral.family_name}".strip(),
                _date(e.reply_due_on),
            ),
            href=reverse("enquiries:incoming-detail", args=[e.pk]),
        )
        for e in theirs
    ]
    return QueueSection(
        title="Enquiries overdue or due today",
        empty_text="No enquiry is overdue.",
        headers=("Enquiry", "Child", "Reply due"),
        rows=rows[:QUEUE_LIMIT],
        total=len(rows),
    )
