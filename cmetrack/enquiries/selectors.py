"""Reads of enquiries, scoped to the person asking.

Who sees what:
- CME officers and managers see and work every enquiry (outgoing and incoming) on the cases
  they may see (every case);
- auditors and senior managers see the enquiry register as metadata only (reference,
  authority, status, dates): never a child's name or UPN, in no page, letter, PDF, JSON or
  API answer (issue 17; :func:`enquiry_register_metadata`);
- nobody else (school, agency, SLO, Virtual School ...) sees any: 403 on the pages, and an
  enquiry outside a person's scope is "not found".
Opening an enquiry about a child writes a ``view`` audit row with the child's id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.models import User as UserModel
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.lifecycle import Outcome
from cmetrack.cases.models import Case
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.casework.selectors import task_owner_choices
from cmetrack.organisations.models import LocalAuthority

from .models import (
    AWAITING_REPLY,
    EnquiryStatus,
    HomeOfficeCheck,
    HomeOfficeResult,
    IncomingEnquiry,
    MoveNotification,
    OutgoingEnquiry,
)

#: Roles that make, follow up and answer enquiries.
ENQUIRY_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER})
#: Roles that may read the enquiry register as metadata (no child's identity), changing none.
READ_ONLY_ROLES = frozenset({Role.AUDITOR})
#: Roles that see the directory of authorities (every authority role, not schools or agencies).
DIRECTORY_ROLES = frozenset(
    {
        Role.CME_OFFICER,
        Role.CME_MANAGER,
        Role.SLO,
        Role.VIRTUAL_SCHOOL,
        Role.SAFEGUARDING_ADVISER,
        Role.ADMINISTRATOR,
        Role.AUDITOR,
        Role.ADMISSIONS,
    }
)


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def may_see_enquiries(user: User) -> bool:
    """Whether ``user`` may see enquiries and move notices themselves (they name a child)."""
    return _active(user) and user.has_role(*ENQUIRY_ROLES)


def may_see_enquiry_register(user: User) -> bool:
    """Whether ``user`` may see the register: the CME team, and auditors as metadata."""
    return _active(user) and user.has_role(*ENQUIRY_ROLES, *READ_ONLY_ROLES)


def enquiry_register_metadata() -> dict[str, list[Any]]:
    """The enquiry register with no child's identity: each enquiry's reference, authority,
    status and dates (what an auditor sees)."""
    outgoing = [
        (r, la, str(EnquiryStatus(s).label), sent.isoformat(), due.isoformat())
        for r, la, s, sent, due in OutgoingEnquiry.objects.order_by("-sent_on", "-pk").values_list(
            "reference", "local_authority__name", "status", "sent_on", "reply_due_on"
        )
    ]
    incoming = [
        (str(pk), la, received.isoformat(), due.isoformat())
        for pk, la, received, due in IncomingEnquiry.objects.order_by(
            "-received_on", "-pk"
        ).values_list("pk", "from_la__name", "received_on", "reply_due_on")
    ]
    notices = [
        (la, sent.isoformat() if sent else "", ack.isoformat() if ack else "")
        for la, sent, ack in MoveNotification.objects.order_by("-pk").values_list(
            "local_authority__name", "sent_on", "acknowledged_on"
        )
    ]
    return {"outgoing": outgoing, "incoming": incoming, "notices": notices}


def may_act_on_enquiries(user: User) -> bool:
    return _active(user) and user.has_role(*ENQUIRY_ROLES)


def may_see_directory(user: User) -> bool:
    return _active(user) and user.has_role(*DIRECTORY_ROLES)


def may_edit_directory(user: User) -> bool:
    return _active(user) and user.has_role(Role.ADMINISTRATOR)


def _visible_cases(user: User) -> QuerySet[Case]:

    return cases_visible_to(user)


def outgoing_visible_to(user: User) -> QuerySet[OutgoingEnquiry]:
    qs = OutgoingEnquiry.objects.select_related("case__child", "local_authority")
    if not may_see_enquiries(user):
        return qs.none()
    return qs.filter(case__in=_visible_cases(user))


def move_notices_visible_to(user: User) -> QuerySet[MoveNotification]:
    """Move notices, scoped like outgoing enquiries (through the case; auditors see none)."""
    qs = MoveNotification.objects.select_related("case__child", "local_authority", "recorded_by")
    if not may_see_enquiries(user):
        return qs.none()
    return qs.filter(case__in=_visible_cases(user))


def incoming_visible_to(user: User) -> QuerySet[IncomingEnquiry]:
    qs = IncomingEnquiry.objects.select_related("from_la", "referral", "visit_task")
    return qs if may_see_enquiries(user) else qs.none()


def reply_overdue(user: User, today: dt.date | None = None) -> QuerySet[OutgoingEnquiry]:
    """Our enquiries still without an answer after their due date (or since the last chase):
    the reminders queue, oldest first."""
    today = today or timezone.localdate()
    return (
        outgoing_visible_to(user)
        .filter(status__in=AWAITING_REPLY, remind_on__lt=today)
        .order_by("remind_on", "id")
    )


def awaiting_reply(user: User) -> QuerySet[OutgoingEnquiry]:
    return outgoing_visible_to(user).filter(status__in=AWAITING_REPLY).order_by("reply_due_on")


def incoming_to_answer(user: User) -> QuerySet[IncomingEnquiry]:
    """Other authorities' enquiries we have not yet answered, the deadline first."""
    return incoming_visible_to(user).filter(replied_on__isnull=True).order_by("reply_due_on", "id")


def outgoing_get_for_view(*, actor: Actor, user: User, pk: int) -> OutgoingEnquiry:
    """One enquiry in the user's scope (else ``DoesNotExist``); the read is audited."""
    enquiry = outgoing_visible_to(user).get(pk=pk)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=enquiry,
        child_id=enquiry.case.child_id,
        summary=f"Viewed enquiry {enquiry.reference} to {enquiry.local_authority.name}",
    )
    return enquiry


def incoming_get_for_view(*, actor: Actor, user: User, pk: int) -> IncomingEnquiry:
    enquiry = incoming_visible_to(user).get(pk=pk)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=enquiry,
        child_id=enquiry.referral.child_id,
        summary=f"Viewed the enquiry from {enquiry.from_la.name} ({enquiry.referral.reference})",
    )
    return enquiry


def own_authority_code() -> str:
    return str(settings.CMETRACK_LA_CODE)


def authorities_to_ask() -> QuerySet[LocalAuthority]:
    """Every other authority (never our own)."""
    return LocalAuthority.objects.exclude(code=own_authority_code()).order_by("name")


# --- closing a case: moved to another authority, left the country ------------------------


def acknowledged_move_notification(case: Case, la: LocalAuthority) -> MoveNotification | None:
    """The case's latest notification to ``la`` that ``la`` acknowledged, if any."""
    return (
        MoveNotification.objects.filter(
            case=case, local_authority=la, acknowledged_on__isnull=False
        )
        .order_by("-acknowledged_on", "-id")
        .first()
    )


def completed_home_office_check(case: Case) -> HomeOfficeCheck | None:
    """The case's latest Home Office check that has an answer."""
    return (
        HomeOfficeCheck.objects.filter(case=case)
        .exclude(result=HomeOfficeResult.AWAITING)
        .order_by("-requested_on", "-id")
        .first()
    )


def close_evidence_problem(
    case: Case, outcome: str, la: LocalAuthority | None
) -> tuple[str, str] | None:
    """What a case lacks to close with ``outcome`` (message, field), or None.

    Called by ``cases.services.case_close``: a child who moved to another authority is
    closed only once the notification to that authority's named contact is acknowledged,
    and a child who left the country only once the Home Office check is recorded."""
    if (
        outcome == Outcome.MOVED_LA
        and la is not None
        and acknowledged_move_notification(case, la) is None
    ):
        if MoveNotification.objects.filter(case=case, local_authority=la).exists():
            return (
                f"{la.name} has not acknowledged the notification yet: record its "
                "acknowledgement before closing the case.",
                "acknowledged_by",
            )
        return (
            f"Notify {la.name}'s named CME contact that the child moved there, and record "
            "their acknowledgement, before closing the case.",
            "local_authority",
        )
    if outcome == Outcome.LEFT_COUNTRY and completed_home_office_check(case) is None:
        return (
            "Record the Home Office check (and its answer) before closing the case as left "
            "the country.",
            "confirmation_source",
        )
    return None


def visit_owner_choices(enquiry: IncomingEnquiry) -> list[tuple[str, str]]:
    """Who may be given the visit: people who work the case (or, before there is a case,
    CME officers and managers), as (user id, name)."""

    case = enquiry.referral.case
    if case is not None:
        people = list(task_owner_choices(case))
    else:
        people = list(
            UserModel.objects.filter(
                is_active=True,
                is_service_account=False,
                roles__role__in=list(ENQUIRY_ROLES),
            )
            .distinct()
            .order_by("full_name", "email")
        )
    return [(str(u.pk), u.get_full_name()) for u in people]
