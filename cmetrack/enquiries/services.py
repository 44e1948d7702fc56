"""Writes of enquiries: each function is one transaction with its audit row (the child's
id), its status history and its place on the case's chronology.

Rules enforced here, not in views or forms:
- an enquiry goes to one named authority, with its own reason for believing the child is
  linked to it; a batch to several authorities is refused unless each has its own distinct
  reason (:func:`enquiries_send_batch`), so a blanket enquiry cannot be made;
- what leaves the system is built once, stored (``OutgoingEnquiry.shared``), and never
  holds a restricted address (:mod:`.dataset`);
- the reply is due a configured number of working days after sending
  (``CMETRACK_ENQUIRY_REPLY_WORKING_DAYS``, default 10), counted without weekends, bank
  holidays and the authority's LA-wide bank-holiday closures;
- status moves only along :data:`ALLOWED_MOVES`.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record, audited_create, audited_update
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case, ChronologyKind, ReferralRoute
from cmetrack.cases.services import chronology_add
from cmetrack.casework.services import task_create
from cmetrack.kit.dates import govuk_date
from cmetrack.matching.adapters import RegisterRef, adapter_for
from cmetrack.matching.services import SearchQuery, search_children
from cmetrack.notifications.services import notification_send
from cmetrack.organisations.models import LocalAuthority
from cmetrack.organisations.services import other_la_organisation
from cmetrack.people.models import Child, FormerUpn
from cmetrack.people.services import child_create
from cmetrack.referrals.services import referral_record, referral_triage
from cmetrack.registers.models import HomeEducationRecord, RollEntry
from cmetrack.rules.working_days import add_working_days
from cmetrack.schoolcalendar.models import ClosureDay
from cmetrack.transfers.models import LostPupil

from . import documents
from .dataset import (
    ALL_ITEMS,
    TYPED_FIELDS,
    EnquiryDetails,
    RestrictedMarkers,
    assert_nothing_restricted,
    build_document,
    check_typed_text,
    sender_for,
)
from .documents import DocumentError, MoveNoticeDocument, Recipient, ReplyDocument, Responder
from .models import (
    AWAITING_REPLY,
    EnquiryReply,
    EnquiryStatus,
    EnquiryStatusChange,
    HomeOfficeCheck,
    HomeOfficeResult,
    IncomingEnquiry,
    MoveNotification,
    OutgoingEnquiry,
    ReplyOutcome,
    ReplySource,
    RiskLevel,
)
from .selectors import may_act_on_enquiries, own_authority_code

St = EnquiryStatus

#: Which status an enquiry may move to from each status.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    St.SENT: frozenset({St.ACKNOWLEDGED, St.CHASED, St.ANSWERED, St.CLOSED}),
    St.ACKNOWLEDGED: frozenset({St.CHASED, St.ANSWERED, St.CLOSED}),
    St.CHASED: frozenset({St.ACKNOWLEDGED, St.CHASED, St.ANSWERED, St.CLOSED}),
    St.ANSWERED: frozenset({St.CLOSED}),
    St.CLOSED: frozenset(),
}

BLANKET_REFUSAL = (
    "An enquiry goes to one named authority, with the reason for believing the child is "
    "linked to that authority. A blanket enquiry to several authorities is not allowed."
)


class EnquiryNotAllowed(ValidationError):
    """A status move or an enquiry the rules do not allow (shown to the user as is)."""


# --- settings and deadlines ---------------------------------------------------------------


def reply_working_days() -> int:
    return int(getattr(settings, "CMETRACK_ENQUIRY_REPLY_WORKING_DAYS", 10))


def chase_working_days() -> int:
    """After a chase, how many working days before the enquiry shows as overdue again."""
    return int(getattr(settings, "CMETRACK_ENQUIRY_CHASE_WORKING_DAYS", 5))


def incoming_reply_working_days() -> int:
    return int(getattr(settings, "CMETRACK_INCOMING_ENQUIRY_REPLY_WORKING_DAYS", 10))


def closure_bank_holidays(start: dt.date, end: dt.date) -> set[dt.date]:
    """LA-wide closure days recorded as bank holidays (a one-off day proclaimed later)."""

    return set(
        ClosureDay.objects.filter(
            school__isnull=True, date__range=(start, end), reason__icontains="bank holiday"
        ).values_list("date", flat=True)
    )


def due_after(start: dt.date, working_days: int) -> dt.date:
    """``working_days`` working days after ``start`` (weekends and bank holidays skipped)."""
    horizon = start + dt.timedelta(days=working_days * 2 + 30)
    return add_working_days(start, working_days, closure_bank_holidays(start, horizon))


def reply_due_date(sent_on: dt.date) -> dt.date:
    return due_after(sent_on, reply_working_days())


# --- helpers ------------------------------------------------------------------------------


def _require_actor(actor: Actor) -> None:
    if actor.user is not None and not may_act_on_enquiries(actor.user):
        raise PermissionDenied("Only CME officers and managers make and answer enquiries.")


def _not_future(value: dt.date | None, field: str, label: str) -> dt.date:
    if value is None:
        raise ValidationError({field: [f"Enter {label}"]})
    if value > timezone.localdate():
        raise ValidationError(
            {field: [f"{label[0].upper()}{label[1:]} must be today or in the past"]}
        )
    return value


def _person(actor: Actor) -> tuple[str, str]:
    if actor.user is None:
        return "", ""
    return actor.user.get_full_name(), str(actor.user.email)


def _normalise_reason(reason: str) -> str:
    return re.sub(r"\W+", " ", reason.lower()).strip()


def _move(
    *,
    actor: Actor,
    enquiry: OutgoingEnquiry,
    to: EnquiryStatus,
    on: dt.date,
    changes: dict[str, object],
    note: str = "",
    summary: str,
) -> OutgoingEnquiry:
    """Move a locked enquiry to ``to`` if the table allows it, with history and audit."""
    locked = OutgoingEnquiry.objects.select_for_update().get(pk=enquiry.pk)
    if to not in ALLOWED_MOVES[locked.status]:
        raise EnquiryNotAllowed(
            f"Enquiry {locked.reference} is {locked.get_status_display().lower()}: "
            f"it cannot be marked as {St(to).label.lower()}."
        )
    EnquiryStatusChange.objects.create(
        enquiry=locked, from_status=locked.status, to_status=to, on=on, by=actor.user, note=note
    )
    updated = audited_update(
        actor=actor,
        instance=locked,
        changes={**changes, "status": to},
        child_id=locked.case.child_id,
        action=AuditAction.TRANSITION,
        summary=summary,
    )
    chronology_add(actor=actor, case=locked.case, kind=ChronologyKind.CONTACT, summary=summary)
    return updated


# --- outgoing enquiries -------------------------------------------------------------------


def _check_authority(la: LocalAuthority) -> Recipient:
    if la.code == own_authority_code():
        raise ValidationError(
            {"local_authority": ["Choose another authority: this is our own authority"]}
        )
    if not la.cme_contact_name or not la.cme_contact_email:
        raise ValidationError(
            {
                "local_authority": [
                    f"{la.name} has no named CME contact with a secure email in the directory "
                    "of authorities. Ask an administrator to add one before sending."
                ]
            }
        )
    return Recipient(
        authority_code=la.code,
        authority_name=la.name,
        contact_name=la.cme_contact_name,
        contact_role=la.cme_contact_role,
        contact_email=la.cme_contact_email,
    )


@transaction.atomic
def enquiry_send(
    *,
    actor: Actor,
    case: Case,
    local_authority: LocalAuthority,
    reason_linked: str,
    details: EnquiryDetails | None = None,
    sent_on: dt.date | None = None,
    batch: uuid.UUID | None = None,
) -> OutgoingEnquiry:
    """Make an enquiry about the case's child to one named authority.

    Builds the letter's and the JSON file's content once from the case and the officer's
    choices, checks that nothing restricted is in it, stores it, and sets the reply date.
    """
    _require_actor(actor)
    details = details or EnquiryDetails()
    errors: dict[str, list[str]] = {}
    if not reason_linked.strip():
        errors["reason_linked"] = [
            f"Give the reason for believing the child is linked to {local_authority.name}"
        ]
    if case.state not in OPEN_STATES:
        errors["__all__"] = [f"{case.reference} is closed: enquiries are made on open cases"]
    unknown = details.share - set(documents_items())
    if unknown:
        errors["share"] = [f"Unknown items: {', '.join(sorted(unknown))}"]
    try:
        recipient = _check_authority(local_authority)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    child = case.child
    markers = RestrictedMarkers.of(child)
    typed = {name: str(getattr(details, name)) for name in TYPED_FIELDS}
    typed["reason_linked"] = reason_linked
    try:
        check_typed_text(typed, markers)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if details.date_left_area and details.date_left_area > timezone.localdate():
        errors["date_left_area"] = ["The date the child left the area must be in the past"]
    if errors:
        raise ValidationError(errors)
    sent_on = sent_on or timezone.localdate()
    due = reply_due_date(sent_on)
    enquiry = OutgoingEnquiry(
        case=case,
        local_authority=local_authority,
        contact_name=local_authority.cme_contact_name,
        contact_role=local_authority.cme_contact_role,
        contact_email=local_authority.cme_contact_email,
        contact_phone=local_authority.cme_contact_phone,
        reason_linked=reason_linked.strip(),
        shared_items=sorted(details.share),
        sent_on=sent_on,
        reply_due_on=due,
        remind_on=due,
        batch=batch,
        created_by=actor.user,
    )
    name, email = _person(actor)
    document = build_document(
        case=case,
        reference=enquiry.reference,
        sent_on=sent_on,
        reply_due_on=due,
        sender=sender_for(case, name, email),
        recipient=recipient,
        reason_linked=reason_linked,
        details=details,
        markers=markers,
    )
    text = documents.dump(document)
    assert_nothing_restricted(text, markers)
    enquiry.shared = document.model_dump(mode="json", exclude_none=True)
    enquiry = audited_create(
        actor=actor,
        instance=enquiry,
        child_id=child.pk,
        summary=f"Sent enquiry {enquiry.reference} to {local_authority.name} "
        f"about {case.reference}",
    )
    EnquiryStatusChange.objects.create(
        enquiry=enquiry, to_status=St.SENT, on=sent_on, by=actor.user
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CONTACT,
        summary=f"Enquiry {enquiry.reference} sent to {enquiry.contact_name} at "
        f"{local_authority.name}; reply due by {govuk_date(due)}. Reason: "
        f"{enquiry.reason_linked}",
    )
    _enquiry_email(actor=actor, enquiry=enquiry, child=child)
    return enquiry


#: Dotted path of the function the notifications job calls for the enquiry file.
ENQUIRY_DOCUMENT = "cmetrack.enquiries.services.enquiry_document_for_email"


def _enquiry_email(*, actor: Actor, enquiry: OutgoingEnquiry, child: Child) -> None:
    """Email the enquiry to the other authority's named CME contact, at the secure address
    in the directory (never any other). By the authority's policy
    (``CMETRACK_NOTIFY_ENQUIRY_DOCUMENT``) the enquiry file goes as Notify's secure link
    (``link``: the contact confirms their address before downloading) or not at all
    (``none``: the email says it follows by the authority's secure channel)."""
    with_file = getattr(settings, "CMETRACK_NOTIFY_ENQUIRY_DOCUMENT", "link") == "link"
    notification_send(
        key="enquiry_outgoing",
        recipients=[enquiry.contact_email],
        reference=enquiry.reference,
        personalisation={
            "contact_name": enquiry.contact_name,
            "authority": enquiry.local_authority.name,
            "sender_authority": settings.CMETRACK_LA_NAME,
            "due": govuk_date(enquiry.reply_due_on),
            "document": "Download the enquiry from the link in this email (you will be asked "
            "to confirm your email address)."
            if with_file
            else "The enquiry follows by our secure email.",
        },
        obj=enquiry,
        child_id=child.pk,
        child_name=child.full_name,
        actor=actor,
        document=(ENQUIRY_DOCUMENT, str(enquiry.pk)) if with_file else None,
    )


def enquiry_document_for_email(enquiry_id: str) -> tuple[str, bytes]:
    """The enquiry's JSON file, as checked when it was made (audited as produced)."""
    enquiry = OutgoingEnquiry.objects.select_related("case__child").get(pk=int(enquiry_id))
    text = enquiry_export(actor=Actor.system("notifications"), enquiry=enquiry, kind="email file")
    return f"enquiry-{enquiry.reference}.json", text.encode("utf-8")


def documents_items() -> list[str]:

    return list(ALL_ITEMS)


@dataclass(frozen=True)
class EnquiryRequest:
    """One authority of a batch, with its own reason."""

    local_authority: LocalAuthority
    reason_linked: str


def batch_problems(requests: Sequence[EnquiryRequest]) -> list[str]:
    """Why a batch would be a blanket enquiry (empty when every authority has its own
    distinct reason)."""
    problems: list[str] = []
    if not requests:
        return ["Choose the authority to ask."]
    seen: dict[str, str] = {}
    reasons: dict[str, str] = {}
    for request in requests:
        la = request.local_authority
        if la.code in seen:
            problems.append(f"{la.name} is listed more than once: send it one enquiry.")
            continue
        seen[la.code] = la.name
        reason = _normalise_reason(request.reason_linked)
        if not reason:
            problems.append(f"Give the reason for believing the child is linked to {la.name}.")
        elif reason in reasons:
            problems.append(
                f"{la.name} has the same reason as {reasons[reason]}: give each authority "
                "its own reason for believing the child is linked to it."
            )
        else:
            reasons[reason] = la.name
    return problems


@transaction.atomic
def enquiries_send_batch(
    *,
    actor: Actor,
    case: Case,
    requests: Sequence[EnquiryRequest],
    details: EnquiryDetails | None = None,
    sent_on: dt.date | None = None,
) -> list[OutgoingEnquiry]:
    """Several enquiries at once: one per authority, each with its own distinct reason.

    Refused as a whole (nothing sent) if any authority lacks its own reason, two share a
    reason, or an authority is listed twice: that would be a blanket enquiry.
    """
    _require_actor(actor)
    problems = batch_problems(requests)
    if problems:
        raise EnquiryNotAllowed({"requests": [BLANKET_REFUSAL, *problems]})
    batch = uuid.uuid4() if len(requests) > 1 else None
    return [
        enquiry_send(
            actor=actor,
            case=case,
            local_authority=r.local_authority,
            reason_linked=r.reason_linked,
            details=details,
            sent_on=sent_on,
            batch=batch,
        )
        for r in requests
    ]


@transaction.atomic
def enquiry_acknowledge(
    *, actor: Actor, enquiry: OutgoingEnquiry, acknowledged_on: dt.date, acknowledged_by: str
) -> OutgoingEnquiry:
    _require_actor(actor)
    _not_future(acknowledged_on, "acknowledged_on", "the date of the acknowledgement")
    if not acknowledged_by.strip():
        raise ValidationError({"acknowledged_by": ["Enter who acknowledged the enquiry"]})
    return _move(
        actor=actor,
        enquiry=enquiry,
        to=St.ACKNOWLEDGED,
        on=acknowledged_on,
        changes={"acknowledged_on": acknowledged_on, "acknowledged_by": acknowledged_by.strip()},
        summary=f"Enquiry {enquiry.reference} acknowledged by {acknowledged_by.strip()} "
        f"({enquiry.local_authority.name}) on {govuk_date(acknowledged_on)}",
    )


@transaction.atomic
def enquiry_chase(
    *, actor: Actor, enquiry: OutgoingEnquiry, chased_on: dt.date | None = None, note: str = ""
) -> OutgoingEnquiry:
    """Record a reminder sent to the other authority; it shows as overdue again after
    ``CMETRACK_ENQUIRY_CHASE_WORKING_DAYS`` working days without an answer."""
    _require_actor(actor)
    chased_on = _not_future(chased_on or timezone.localdate(), "chased_on", "the date chased")
    if chased_on < enquiry.sent_on:
        raise ValidationError({"chased_on": ["The date chased must be on or after the date sent"]})
    return _move(
        actor=actor,
        enquiry=enquiry,
        to=St.CHASED,
        on=chased_on,
        note=note.strip()[:300],
        changes={
            "chased_on": chased_on,
            "times_chased": enquiry.times_chased + 1,
            "remind_on": due_after(chased_on, chase_working_days()),
        },
        summary=f"Enquiry {enquiry.reference} chased with {enquiry.local_authority.name} on "
        f"{govuk_date(chased_on)}",
    )


def _reply_problems(outcome: str, responder_name: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if outcome not in ReplyOutcome.values:
        errors["outcome"] = ["Choose what the authority found"]
    if not responder_name.strip():
        errors["responder_name"] = ["Enter who replied"]
    return errors


@transaction.atomic
def enquiry_reply_record(
    *,
    actor: Actor,
    enquiry: OutgoingEnquiry,
    received_on: dt.date,
    outcome: ReplyOutcome | str,
    responder_name: str,
    responder_role: str = "",
    details: str = "",
    school: str = "",
    address: str = "",
    source: ReplySource = ReplySource.RECORDED,
    document: dict[str, object] | None = None,
) -> EnquiryReply:
    """Record the other authority's answer; the enquiry becomes answered."""
    _require_actor(actor)
    errors = _reply_problems(str(outcome), responder_name)
    if received_on is None:
        errors["received_on"] = ["Enter the date the reply was received"]
    elif received_on > timezone.localdate():
        errors["received_on"] = ["The date the reply was received must be today or in the past"]
    elif received_on < enquiry.sent_on:
        errors["received_on"] = ["The reply cannot be before the enquiry was sent"]
    if errors:
        raise ValidationError(errors)
    if St.ANSWERED not in ALLOWED_MOVES[enquiry.status]:
        raise EnquiryNotAllowed(
            f"Enquiry {enquiry.reference} is {enquiry.get_status_display().lower()}: "
            "a reply cannot be recorded."
        )
    reply = audited_create(
        actor=actor,
        instance=EnquiryReply(
            enquiry=enquiry,
            received_on=received_on,
            outcome=outcome,
            details=details.strip(),
            school=school.strip(),
            address=address.strip(),
            responder_name=responder_name.strip(),
            responder_role=responder_role.strip(),
            source=source,
            document=document,
            recorded_by=actor.user,
        ),
        child_id=enquiry.case.child_id,
        summary=f"Recorded the reply to enquiry {enquiry.reference}",
    )
    _move(
        actor=actor,
        enquiry=enquiry,
        to=St.ANSWERED,
        on=received_on,
        changes={"answered_on": received_on},
        summary=f"{enquiry.local_authority.name} answered enquiry {enquiry.reference} on "
        f"{govuk_date(received_on)}: {reply.get_outcome_display().lower()}."
        + (f" {reply.details}" if reply.details else ""),
    )
    return reply


@transaction.atomic
def enquiry_reply_import(
    *, actor: Actor, enquiry: OutgoingEnquiry, raw: bytes | str
) -> EnquiryReply:
    """Import the other authority's JSON reply, validated against the published schema.

    Every problem is listed (``ValidationError`` on ``file``), and nothing is written."""
    _require_actor(actor)
    try:
        reply = documents.parse_reply(raw)
    except DocumentError as exc:
        raise ValidationError({"file": exc.problems}) from exc
    problems = []
    if reply.enquiry_reference != enquiry.reference:
        problems.append(
            f"enquiry_reference: the reply is to {reply.enquiry_reference}, "
            f"not to this enquiry ({enquiry.reference})"
        )
    if reply.responder.authority_code != enquiry.local_authority.code:
        problems.append(
            f"responder.authority_code: the reply comes from authority "
            f"{reply.responder.authority_code}, but the enquiry went to "
            f"{enquiry.local_authority.name} ({enquiry.local_authority.code})"
        )
    if reply.replied_on > timezone.localdate():
        problems.append("replied_on: the date of the reply is in the future")
    elif reply.replied_on < enquiry.sent_on:
        problems.append(
            f"replied_on: the reply is dated {reply.replied_on:%d/%m/%Y}, before the enquiry "
            f"was sent ({enquiry.sent_on:%d/%m/%Y})"
        )
    if problems:
        raise ValidationError({"file": problems})
    return enquiry_reply_record(
        actor=actor,
        enquiry=enquiry,
        received_on=reply.replied_on,
        outcome=reply.outcome,
        responder_name=reply.responder.responder_name,
        responder_role=reply.responder.responder_role,
        details=reply.details,
        school=reply.school,
        address=reply.address,
        source=ReplySource.IMPORTED,
        document=reply.model_dump(mode="json"),
    )


@transaction.atomic
def enquiry_close(
    *, actor: Actor, enquiry: OutgoingEnquiry, reason: str, closed_on: dt.date | None = None
) -> OutgoingEnquiry:
    """Close an enquiry (answered, or no longer needed: say why)."""
    _require_actor(actor)
    if not reason.strip():
        raise ValidationError({"reason": ["Say why the enquiry is closed"]})
    closed_on = closed_on or timezone.localdate()
    return _move(
        actor=actor,
        enquiry=enquiry,
        to=St.CLOSED,
        on=closed_on,
        note=reason.strip()[:300],
        changes={"closed_on": closed_on},
        summary=f"Enquiry {enquiry.reference} closed: {reason.strip()}",
    )


def enquiry_export(*, actor: Actor, enquiry: OutgoingEnquiry, kind: str) -> str:
    """Audit that the letter or the JSON file was produced, and give the JSON text.

    Both are made from the stored ``shared`` document, so what is downloaded is what was
    checked when the enquiry was made."""
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=enquiry,
        child_id=enquiry.case.child_id,
        summary=f"Produced the {kind} of enquiry {enquiry.reference}",
    )
    text = documents.dump(documents.EnquiryDocument.model_validate(enquiry.shared))
    assert_nothing_restricted(text, RestrictedMarkers.of(enquiry.case.child))
    return text


def overdue_count(enquiries: Sequence[OutgoingEnquiry]) -> int:
    today = timezone.localdate()
    return sum(1 for e in enquiries if e.status in AWAITING_REPLY and e.remind_on < today)


# --- incoming enquiries -------------------------------------------------------------------


@transaction.atomic
def incoming_enquiry_log(
    *,
    actor: Actor,
    from_la: LocalAuthority,
    received_on: dt.date,
    given_names: str,
    family_name: str,
    reason_linked: str,
    dob: dt.date | None = None,
    sex: str = "U",
    address_given: str = "",
    postcode: str = "",
    their_reference: str = "",
    contact_name: str = "",
    contact_email: str = "",
    vulnerabilities: str = "",
    document: dict[str, object] | None = None,
) -> IncomingEnquiry:
    """Log another authority's enquiry as a referral (route "another local authority")
    with its reply deadline."""

    _require_actor(actor)
    errors: dict[str, list[str]] = {}
    if from_la.code == own_authority_code():
        errors["from_la"] = ["Choose the authority that asked (not our own)"]
    if not given_names.strip():
        errors["given_names"] = ["Enter the child's given names"]
    if not reason_linked.strip():
        errors["reason_linked"] = [
            "Enter their reason for believing the child is in our area (ask them if missing)"
        ]
    if received_on is None or received_on > timezone.localdate():
        errors["received_on"] = ["Enter the date received, today or in the past"]
    if errors:
        raise ValidationError(errors)
    referral = referral_record(
        actor=actor,
        route=ReferralRoute.OTHER_LA,
        given_names=given_names.strip(),
        family_name=family_name.strip(),
        reason=f"Enquiry from {from_la.name}: {reason_linked.strip()}",
        dob=dob,
        sex=sex or "U",
        address=address_given.strip(),
        postcode=postcode,
        referring_organisation=other_la_organisation(from_la),
        reporter_name=contact_name.strip(),
        reporter_contact=contact_email.strip(),
    )
    return audited_create(
        actor=actor,
        instance=IncomingEnquiry(
            referral=referral,
            from_la=from_la,
            their_reference=their_reference.strip()[:40],
            contact_name=contact_name.strip(),
            contact_email=contact_email.strip(),
            received_on=received_on,
            reply_due_on=due_after(received_on, incoming_reply_working_days()),
            reason_linked=reason_linked.strip(),
            address_given=address_given.strip(),
            vulnerabilities=vulnerabilities.strip(),
            document=document,
        ),
        summary=f"Logged an enquiry from {from_la.name} ({referral.reference})",
    )


@transaction.atomic
def incoming_enquiry_import(
    *, actor: Actor, raw: bytes | str, received_on: dt.date | None = None
) -> IncomingEnquiry:
    """Log another authority's JSON enquiry (validated against the published schema)."""
    _require_actor(actor)
    try:
        doc = documents.parse_enquiry(raw)
    except DocumentError as exc:
        raise ValidationError({"file": exc.problems}) from exc
    problems = []
    if doc.recipient.authority_code != own_authority_code():
        problems.append(
            f"recipient.authority_code: the enquiry is addressed to "
            f"{doc.recipient.authority_name} ({doc.recipient.authority_code}), not to us"
        )
    from_la = LocalAuthority.objects.filter(code=doc.sender.authority_code).first()
    if from_la is None:
        problems.append(
            f"sender.authority_code: {doc.sender.authority_code} is not a known authority"
        )
    if problems:
        raise ValidationError({"file": problems})
    assert from_la is not None
    name = doc.child.legal_name
    v = doc.vulnerability
    flags = [
        label
        for label, value in (
            ("child protection", v.child_protection),
            ("looked after", v.looked_after),
            ("private fostering", v.private_fostering),
            ("asylum seeker", v.asylum_seeker),
            ("youth justice", v.youth_justice),
        )
        if value
    ]
    vulnerabilities = "; ".join(
        filter(
            None,
            [
                ", ".join(flags),
                v.reason_for_leaving or "",
                v.attendance_interventions or "",
                f"SEN: {v.sen_status}" if v.sen_status else "",
                v.other or "",
            ],
        )
    )
    postcode_match = re.search(
        r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}", (doc.history.possible_new_address or "").upper()
    )
    return incoming_enquiry_log(
        actor=actor,
        from_la=from_la,
        received_on=received_on or timezone.localdate(),
        given_names=name.given_names if name else "Not given",
        family_name=name.family_name if name else "",
        reason_linked=doc.reason_linked,
        dob=doc.child.date_of_birth,
        sex={"Female": "F", "Male": "M"}.get(doc.child.sex or "", "U"),
        address_given=doc.history.possible_new_address or "",
        postcode=postcode_match.group(0) if postcode_match else "",
        their_reference=doc.reference,
        contact_name=doc.sender.officer_name,
        contact_email=doc.sender.officer_email,
        vulnerabilities=vulnerabilities,
        document=doc.model_dump(mode="json", exclude_none=True),
    )


def _search_query(enquiry: IncomingEnquiry) -> object:

    referral = enquiry.referral
    child = (enquiry.document or {}).get("child", {})
    aliases = tuple(child.get("aliases", [])) if isinstance(child, dict) else ()
    upn = child.get("upn", "") if isinstance(child, dict) else ""
    family = (enquiry.document or {}).get("family", {})
    parents = (
        tuple(p.get("name", "") for p in family.get("parents_carers", []))
        if isinstance(family, dict)
        else ()
    )
    return SearchQuery(
        given_names=referral.given_names,
        family_name=referral.family_name,
        aliases=aliases,
        dob=referral.dob,
        sex=referral.sex if referral.sex in ("F", "M") else "",
        postcode=referral.postcode,
        address=referral.address,
        parent_names=parents,
        upn=upn or "",
    )


@transaction.atomic
def incoming_enquiry_search(*, actor: Actor, enquiry: IncomingEnquiry) -> IncomingEnquiry:
    """Search every register the officer may search with the matching engine, and keep
    what was found (register, who, how likely) on the enquiry."""

    _require_actor(actor)
    if actor.user is None:
        raise PermissionDenied("A person searches the registers.")
    query = _search_query(enquiry)
    assert isinstance(query, SearchQuery)
    results = search_children(user=actor.user, query=query, actor=actor)
    found = [
        {
            "register": r.register_label,
            "name": r.details.name,
            "dob": r.details.dob,
            "where": r.details.where,
            "probability": r.percent,
            "explanation": r.explanation,
            "href": r.details.href,
            "key": f"{r.register}:{r.ref.pk}",
            "school_id": r.ref.school_id,
        }
        for r in results
    ]
    changes: dict[str, object] = {"searched_at": timezone.now(), "search_results": found}
    if enquiry.match_none:
        # "None of these" was said of the earlier results: the new ones need a new answer.
        changes |= {
            "match_none": False,
            "match_decided_at": None,
            "match_decided_by": None,
            "match_label": "",
        }
    return audited_update(
        actor=actor,
        instance=enquiry,
        changes=changes,
        child_id=enquiry.referral.child_id,
        summary=f"Searched every register for the enquiry from {enquiry.from_la.name} "
        f"({len(found)} possible matches)",
    )


NONE_OF_THESE = "none"

CHOOSE_MATCH_REFUSAL = (
    "The search found possible matches: choose which one is the child, or say that none "
    "of them is, so the child is not recorded twice."
)


def enquiry_child(enquiry: IncomingEnquiry) -> Child | None:
    """The child the enquiry is about, as far as we know: the referral's (once triaged)
    or the one the officer chose from the search results."""
    return enquiry.referral.child or enquiry.matched_child


def match_decision_problem(enquiry: IncomingEnquiry) -> str:
    """Why the visit or the reply must wait for the officer to say who the child is ("" if
    it need not): only while the referral has no case and the search found someone."""
    if enquiry.referral.case_id is not None or enquiry.referral.child_id is not None:
        return ""
    if enquiry.searched_at and enquiry.search_results and enquiry.match_decided_at is None:
        return CHOOSE_MATCH_REFUSAL
    return ""


def _child_for_register_record(*, actor: Actor, register: str, pk: int) -> Child:
    """The Child a register row stands for: the row's own child (a child with a case, a
    home-education record), a child already on record with the row's UPN, or a new child
    made from the row's identity (a roll entry, a lost pupil)."""

    if register == "children":
        return Child.objects.get(pk=pk)
    if register == "home_education":
        return HomeEducationRecord.objects.select_related("child").get(pk=pk).child
    if register == "roll":
        entry = RollEntry.objects.get(pk=pk)
        identity = {
            "legal_given_names": entry.legal_given_name,
            "legal_family_name": entry.legal_family_name,
            "dob": entry.dob,
            "sex": entry.sex or "U",
            "upn": entry.upn,
        }
    elif register == "lost_pupils":
        pupil = LostPupil.objects.select_related("pupil").get(pk=pk).pupil
        identity = {
            "legal_given_names": pupil.forename,
            "legal_middle_names": pupil.middle_names,
            "legal_family_name": pupil.surname,
            "dob": pupil.dob,
            "sex": pupil.sex or "U",
            "upn": pupil.upn,
        }
    else:
        raise ValidationError({"choice": ["Choose one of the possible matches shown"]})
    upn = str(identity.get("upn") or "")
    if upn:
        known = (
            Child.objects.filter(upn=upn).first()
            or Child.objects.filter(
                pk__in=FormerUpn.objects.filter(upn=upn).values("child_id")
            ).first()
        )
        if known is not None:
            return known
    fields: dict[str, Any] = {k: v for k, v in identity.items() if v is not None}
    return child_create(actor=actor, **fields)


@transaction.atomic
def incoming_enquiry_choose_match(
    *, actor: Actor, enquiry: IncomingEnquiry, choice: str
) -> IncomingEnquiry:
    """Say which record the search found is the child (``"register:pk"`` of one result),
    or that none of them is (:data:`NONE_OF_THESE`).

    A child with a case or on the home-education list is that Child; a roll entry or a
    lost pupil becomes a Child (the one on record with its UPN, else a new one made from
    its identity). The visit and the reply then use that child. Only before the referral
    is triaged and the visit arranged, from the results shown and still in the user's
    scope."""

    _require_actor(actor)
    user = actor.user
    if user is None:
        raise PermissionDenied("A person decides which child it is.")
    locked = (
        IncomingEnquiry.objects.select_for_update(of=("self",))
        .select_related("referral", "from_la")
        .get(pk=enquiry.pk)
    )
    if locked.replied_on is not None:
        raise ValidationError({"choice": ["This enquiry has already been answered."]})
    if locked.referral.case_id is not None:
        raise ValidationError(
            {
                "choice": [
                    f"Referral {locked.referral.reference} is already linked to case "
                    f"{locked.referral.case.reference if locked.referral.case else ''}: "
                    "the child is that case's child."
                ]
            }
        )
    if locked.visit_task_id is not None:
        raise ValidationError({"choice": ["A visit has already been arranged."]})
    if locked.searched_at is None:
        raise ValidationError({"choice": ["Search the registers first."]})
    choice = (choice or "").strip()
    if not choice:
        raise ValidationError(
            {"choice": ["Choose the child the search found, or say that none of them is"]}
        )
    now = timezone.now()
    if choice == NONE_OF_THESE:
        changes: dict[str, object] = {
            "match_none": True,
            "match_key": "",
            "match_label": "None of the possible matches",
            "matched_child": None,
            "match_decided_at": now,
            "match_decided_by": user,
        }
        summary = (
            f"Enquiry from {locked.from_la.name}: none of the "
            f"{len(locked.search_results)} possible matches is the child"
        )
        child: Child | None = None
    else:
        result = next((r for r in locked.search_results if r.get("key") == choice), None)
        if result is None:
            raise ValidationError({"choice": ["Choose one of the possible matches shown"]})
        register, _sep, pk_text = choice.partition(":")
        try:
            adapter = adapter_for(register)
            ref = RegisterRef(register, int(pk_text), result.get("school_id"))
        except (KeyError, ValueError) as exc:
            raise ValidationError({"choice": ["Choose one of the possible matches shown"]}) from exc
        if ref not in adapter.permitted(user, [ref]):
            raise ValidationError({"choice": ["You may no longer see this record"]})
        try:
            child = _child_for_register_record(actor=actor, register=register, pk=ref.pk)
        except ObjectDoesNotExist as exc:
            raise ValidationError(
                {"choice": ["This record is no longer on the register: search again"]}
            ) from exc
        label = f"{result.get('register', '')}: {result.get('name', '')}, {result.get('where', '')}"
        changes = {
            "match_none": False,
            "match_key": choice,
            "match_label": label[:300],
            "matched_child": child,
            "match_decided_at": now,
            "match_decided_by": user,
        }
        summary = f"Enquiry from {locked.from_la.name}: the child is {label}"[:250]
    updated = audited_update(
        actor=actor,
        instance=locked,
        changes=changes,
        child_id=child.pk if child else None,
        summary=summary,
    )
    if child is not None or locked.referral.child_id is not None:
        audited_update(
            actor=actor,
            instance=locked.referral,
            changes={"child": child},
            child_id=child.pk if child else None,
            summary=f"Referral {locked.referral.reference} linked to the child the search found"
            if child
            else f"Referral {locked.referral.reference}: no child on record",
        )
    return updated


@transaction.atomic
def incoming_enquiry_assess(
    *,
    actor: Actor,
    enquiry: IncomingEnquiry,
    assessed_on: dt.date,
    risk_level: RiskLevel | str,
    assessment: str,
) -> IncomingEnquiry:
    """Record the vulnerability assessment from what the authority sent (before any visit)."""
    _require_actor(actor)
    errors: dict[str, list[str]] = {}
    if risk_level not in RiskLevel.values:
        errors["risk_level"] = ["Choose the level of risk"]
    if not assessment.strip():
        errors["assessment"] = ["Say what the assessment found"]
    if assessed_on is None or assessed_on > timezone.localdate():
        errors["assessed_on"] = ["Enter the date of the assessment, today or in the past"]
    elif assessed_on < enquiry.received_on:
        errors["assessed_on"] = ["The assessment cannot be before the enquiry was received"]
    if errors:
        raise ValidationError(errors)
    return audited_update(
        actor=actor,
        instance=enquiry,
        changes={
            "assessed_on": assessed_on,
            "risk_level": risk_level,
            "assessment": assessment.strip(),
            "assessed_by": actor.user,
        },
        child_id=enquiry.referral.child_id,
        summary=f"Recorded the vulnerability assessment of the enquiry from {enquiry.from_la.name}",
    )


@transaction.atomic
def incoming_enquiry_visit_task(
    *,
    actor: Actor,
    enquiry: IncomingEnquiry,
    owner: object,
    due: dt.date,
    child: Child | None = None,
) -> IncomingEnquiry:
    """Set a visit to the address given, as a task on the child's case.

    Only after the vulnerability assessment, and only when an address was given. If the
    referral has no case yet it is triaged now (a case opened, for ``child`` if the search
    found the child already known, else a new child), assigned to the visitor."""

    _require_actor(actor)
    assert isinstance(owner, User)
    locked = IncomingEnquiry.objects.select_for_update().get(pk=enquiry.pk)
    if not locked.address_given:
        raise ValidationError(
            "No address was given: check local schools and databases instead of a visit."
        )
    if locked.assessed_on is None:
        raise ValidationError(
            {"__all__": ["Record the vulnerability assessment before arranging a visit."]}
        )
    if locked.visit_task_id is not None:
        raise ValidationError({"__all__": ["A visit has already been arranged."]})
    referral = locked.referral
    if referral.case_id is None:
        if locked.searched_at is None:
            raise ValidationError({"__all__": ["Search every register before arranging a visit."]})
        problem = match_decision_problem(locked)
        if problem and child is None:
            raise ValidationError({"__all__": [problem]})
        child = child or enquiry_child(locked)
        open_case = (
            Case.objects.filter(child=child, state__in=OPEN_STATES).order_by("-pk").first()
            if child is not None
            else None
        )
        if open_case is not None:
            # The child already has an open case: the enquiry joins it, no second case.
            referral = referral_triage(
                actor=actor,
                referral=referral,
                decision="duplicate",
                duplicate_of=open_case,
                reason=f"Enquiry from {locked.from_la.name}: the search found this child.",
            )
        else:
            referral = referral_triage(actor=actor, referral=referral, child=child, assign_to=owner)
        referral.refresh_from_db()
    case = referral.case
    assert case is not None
    task = task_create(
        actor=actor,
        case=case,
        title=f"Visit the address given by {locked.from_la.name}",
        owner=owner,
        due=due,
        details=f"Address given: {locked.address_given}. Risk level "
        f"{locked.get_risk_level_display().lower()}: {locked.assessment}",
    )
    return audited_update(
        actor=actor,
        instance=locked,
        changes={"visit_task": task},
        child_id=case.child_id,
        summary=f"Arranged a visit for the enquiry from {locked.from_la.name}",
    )


@transaction.atomic
def incoming_enquiry_reply(
    *,
    actor: Actor,
    enquiry: IncomingEnquiry,
    outcome: ReplyOutcome | str,
    details: str,
    replied_on: dt.date | None = None,
    school: str = "",
    address: str = "",
) -> IncomingEnquiry:
    """Answer the other authority, whatever the result (after searching the registers).

    A restricted address of the child, if we hold one, is refused in what we send."""
    _require_actor(actor)
    locked = (
        IncomingEnquiry.objects.select_for_update().select_related("referral").get(pk=enquiry.pk)
    )
    errors: dict[str, list[str]] = {}
    if locked.replied_on is not None:
        raise ValidationError({"__all__": ["This enquiry has already been answered."]})
    if locked.searched_at is None:
        errors["__all__"] = ["Search the registers before replying."]
    if outcome not in ReplyOutcome.values:
        errors["outcome"] = ["Choose what we found"]
    replied_on = replied_on or timezone.localdate()
    if replied_on > timezone.localdate() or replied_on < locked.received_on:
        errors["replied_on"] = ["Enter a date between the enquiry's arrival and today"]
    problem = match_decision_problem(locked)
    if problem and "__all__" not in errors:
        errors["__all__"] = [problem]
    child = enquiry_child(locked)
    if child is not None:
        markers = RestrictedMarkers.of(child)
        try:
            check_typed_text({"details": details, "address": address, "school": school}, markers)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return audited_update(
        actor=actor,
        instance=locked,
        changes={
            "replied_on": replied_on,
            "reply_outcome": outcome,
            "reply_details": "\n".join(
                filter(
                    None,
                    [
                        details.strip(),
                        f"School: {school.strip()}" if school.strip() else "",
                        f"Address: {address.strip()}" if address.strip() else "",
                    ],
                )
            ),
            "replied_by": actor.user,
        },
        child_id=child.pk if child else None,
        summary=f"Answered the enquiry from {locked.from_la.name}",
    )


def incoming_reply_document(*, actor: Actor, enquiry: IncomingEnquiry) -> str:
    """Our reply as JSON (the published schema), audited as an export."""
    if enquiry.replied_on is None:
        raise ValidationError("The enquiry has not been answered yet.")
    name, _email = (
        _person(actor)
        if enquiry.replied_by is None
        else (
            enquiry.replied_by.get_full_name(),
            "",
        )
    )
    reply = ReplyDocument(
        enquiry_reference=enquiry.their_reference or enquiry.referral.reference,
        replied_on=enquiry.replied_on,
        responder=Responder(
            authority_code=own_authority_code(),
            authority_name=settings.CMETRACK_LA_NAME,
            responder_name=name or "CME officer",
            responder_role="CME officer",
        ),
        outcome=ReplyOutcome(enquiry.reply_outcome),
        details=enquiry.reply_details,
    )
    text = documents.dump(reply)
    child = enquiry_child(enquiry)
    if child is not None:
        assert_nothing_restricted(text, RestrictedMarkers.of(child))
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=enquiry,
        child_id=child.pk if child else None,
        summary=f"Produced the reply to {enquiry.from_la.name} as JSON",
    )
    return text


# --- a child who moved to another authority, or left the country ---------------------------


def build_move_notice(
    *,
    case: Case,
    local_authority: LocalAuthority,
    reference: str,
    sent_on: dt.date,
    details: str,
    officer: tuple[str, str],
    recipient: Recipient | None = None,
) -> MoveNoticeDocument:
    """The notice as it leaves: the child's data set (forms.md section 5, every item,
    as the authority now takes the child on), what the officer added, and never a
    restricted address (:func:`.dataset.build_document` leaves them out; the finished text
    is checked once more)."""
    markers = RestrictedMarkers.of(case.child)
    recipient = recipient or _check_authority(local_authority)
    data = build_document(
        case=case,
        reference=reference,
        sent_on=sent_on,
        reply_due_on=sent_on,
        sender=sender_for(case, *officer),
        recipient=recipient,
        reason_linked="The child moved to your area.",
        details=EnquiryDetails(),
        markers=markers,
    )
    notice = MoveNoticeDocument(
        reference=reference,
        sent_on=sent_on,
        sender=data.sender,
        recipient=data.recipient,
        details=details,
        child=data.child,
        family=data.family,
        history=data.history,
        vulnerability=data.vulnerability,
    )
    assert_nothing_restricted(documents.dump(notice), markers)
    return notice


def move_notice_document(notice: MoveNotification) -> MoveNoticeDocument:
    """The stored notice (a notice recorded before notices were stored is built now from
    the record, with the contact it was sent to)."""
    if notice.document:
        return MoveNoticeDocument.model_validate(notice.document)
    la = notice.local_authority
    return build_move_notice(
        case=notice.case,
        local_authority=la,
        reference=notice.reference,
        sent_on=notice.sent_on,
        details=notice.details,
        officer=(
            notice.recorded_by.get_full_name() if notice.recorded_by else "CME officer",
            str(notice.recorded_by.email) if notice.recorded_by else "",
        ),
        recipient=Recipient(
            authority_code=la.code,
            authority_name=la.name,
            contact_name=notice.contact_name,
            contact_email=notice.contact_email,
        ),
    )


def move_notice_export(*, actor: Actor, notice: MoveNotification, kind: str) -> str:
    """The notice as JSON text, checked against the child's restricted addresses as they are
    today and audited as an export (the letter is made from the same document)."""
    text = documents.dump(move_notice_document(notice))
    assert_nothing_restricted(text, RestrictedMarkers.of(notice.case.child))
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=notice,
        child_id=notice.case.child_id,
        summary=f"Produced the move notice {notice.reference} to "
        f"{notice.local_authority.name} ({kind})",
    )
    return text


@transaction.atomic
def move_notification_send(
    *,
    actor: Actor,
    case: Case,
    local_authority: LocalAuthority,
    sent_on: dt.date | None = None,
    details: str = "",
) -> MoveNotification:
    """Record the notice to the named CME contact of the authority the child moved to."""
    _require_actor(actor)
    errors: dict[str, list[str]] = {}
    try:
        _check_authority(local_authority)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if case.state not in OPEN_STATES:
        errors["__all__"] = [f"{case.reference} is closed."]
    try:
        check_typed_text({"details": details}, RestrictedMarkers.of(case.child))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    sent_on = sent_on or timezone.localdate()
    if sent_on > timezone.localdate():
        errors["sent_on"] = ["The date sent must be today or in the past"]
    if errors:
        raise ValidationError(errors)
    number = MoveNotification.objects.filter(case=case).count() + 1
    document = build_move_notice(
        case=case,
        local_authority=local_authority,
        reference=f"{case.reference}-N{number}",
        sent_on=sent_on,
        details=details.strip(),
        officer=_person(actor),
    )
    notice = audited_create(
        actor=actor,
        instance=MoveNotification(
            case=case,
            local_authority=local_authority,
            contact_name=local_authority.cme_contact_name,
            contact_email=local_authority.cme_contact_email,
            sent_on=sent_on,
            details=details.strip(),
            document=document.model_dump(mode="json", exclude_none=True),
            recorded_by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Notified {local_authority.name} that the child of {case.reference} moved there",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CONTACT,
        summary=f"Notified {notice.contact_name} ({local_authority.name}) on "
        f"{govuk_date(sent_on)} that the child moved to their area.",
    )
    return notice


@transaction.atomic
def move_notification_acknowledge(
    *,
    actor: Actor,
    notification: MoveNotification,
    acknowledged_by: str,
    acknowledged_on: dt.date,
) -> MoveNotification:
    _require_actor(actor)
    locked = MoveNotification.objects.select_for_update().get(pk=notification.pk)
    errors: dict[str, list[str]] = {}
    if locked.acknowledged_on is not None:
        errors["__all__"] = ["This notification has already been acknowledged."]
    if not acknowledged_by.strip():
        errors["acknowledged_by"] = ["Enter who acknowledged it"]
    if acknowledged_on is None or acknowledged_on > timezone.localdate():
        errors["acknowledged_on"] = ["Enter the date of the acknowledgement, today or earlier"]
    elif acknowledged_on < locked.sent_on:
        errors["acknowledged_on"] = ["The acknowledgement cannot be before the notification"]
    if errors:
        raise ValidationError(errors)
    notice = audited_update(
        actor=actor,
        instance=locked,
        changes={"acknowledged_by": acknowledged_by.strip(), "acknowledged_on": acknowledged_on},
        child_id=locked.case.child_id,
        summary=f"{locked.local_authority.name} acknowledged the move notification",
    )
    chronology_add(
        actor=actor,
        case=locked.case,
        kind=ChronologyKind.CONTACT,
        summary=f"{locked.local_authority.name} acknowledged the move on "
        f"{govuk_date(acknowledged_on)} ({acknowledged_by.strip()}).",
    )
    return notice


@transaction.atomic
def home_office_check_record(
    *,
    actor: Actor,
    case: Case,
    requested_on: dt.date,
    result: HomeOfficeResult | str,
    result_on: dt.date | None = None,
    reference: str = "",
    details: str = "",
) -> HomeOfficeCheck:
    """Record the check with the Home Office that the child left the country."""
    _require_actor(actor)
    errors: dict[str, list[str]] = {}
    today = timezone.localdate()
    if requested_on is None or requested_on > today:
        errors["requested_on"] = ["Enter the date the Home Office was asked, today or earlier"]
    if result not in HomeOfficeResult.values:
        errors["result"] = ["Choose the Home Office's answer"]
    elif result != HomeOfficeResult.AWAITING:
        if result_on is None or result_on > today:
            errors["result_on"] = ["Enter the date of the Home Office's answer, today or earlier"]
        elif requested_on is not None and result_on < requested_on:
            errors["result_on"] = ["The answer cannot be before the date asked"]
    if case.state not in OPEN_STATES:
        errors["__all__"] = [f"{case.reference} is closed."]
    if errors:
        raise ValidationError(errors)
    check = audited_create(
        actor=actor,
        instance=HomeOfficeCheck(
            case=case,
            requested_on=requested_on,
            result=result,
            result_on=result_on if result != HomeOfficeResult.AWAITING else None,
            reference=reference.strip(),
            details=details.strip(),
            recorded_by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Recorded a Home Office check on {case.reference}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CHECK,
        summary=f"Home Office check (asked {govuk_date(requested_on)}): "
        f"{check.get_result_display().lower()}."
        + (f" Reference {check.reference}." if check.reference else ""),
    )
    return check
