"""Sending messages: one row per recipient written in the caller's transaction, delivered
by a background job after it commits (ADR 0014, docs/notifications.md).

Other apps call :func:`notification_send` from the service that causes the event; this app
imports none of them.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.db import models, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record, object_type_of
from cmetrack.jobs import status as worker_status
from cmetrack.jobs.services import enqueue

from . import conf
from .backends import Outgoing, Refused, RetryLater, get_backend
from .kinds import KINDS, Frequency, kind
from .models import RECEIPT_STATUSES, Message, Preference, Status

if TYPE_CHECKING:
    from cmetrack.accounts.models import User

logger = logging.getLogger(__name__)

DELIVER_TASK = "cmetrack.notifications.jobs.deliver_due"
#: Seconds before the n-th retry (then doubled, at most an hour).
BACKOFF_FIRST = 30
BACKOFF_MAX = 3600
#: A row left "sending" this long (its worker died) is checked with Notify and retried.
SENDING_STALE = dt.timedelta(minutes=5)


# --- preferences ----------------------------------------------------------------------------


def frequency_for(user: User, key: str) -> str:
    """How ``user`` wants messages of kind ``key``: required kinds always at once."""
    spec = kind(key)
    if spec.required or spec.external:
        return Frequency.AT_ONCE
    found = Preference.objects.filter(user=user, kind=key).values_list("frequency", flat=True)
    return next(iter(found), Frequency.AT_ONCE)


def preference_set(*, actor: Actor, user: User, choices: Mapping[str, str]) -> list[str]:
    """Set ``user``'s preferences (kind → frequency). Required kinds cannot be switched off
    or put in the digest: trying is an error. Returns the kinds changed."""
    from django.core.exceptions import PermissionDenied, ValidationError

    if actor.user is not None and actor.user.pk != user.pk:
        raise PermissionDenied("People set their own notification preferences.")
    errors: dict[str, str] = {}
    for key, value in choices.items():
        if key not in KINDS:
            errors[key] = "Choose a message from the list"
        elif kind(key).required or kind(key).external:
            if value != Frequency.AT_ONCE:
                errors[key] = f"{kind(key).label} is required by the authority and is always sent"
        elif value not in Frequency.values:
            errors[key] = "Choose at once, a daily digest or off"
    if errors:
        raise ValidationError(errors)
    changed = []
    with transaction.atomic():
        for key, value in choices.items():
            if kind(key).required or kind(key).external:
                continue
            if frequency_for(user, key) == value:
                continue
            Preference.objects.update_or_create(user=user, kind=key, defaults={"frequency": value})
            changed.append(key)
        if changed:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="notifications.preference",
                object_id=user.pk,
                summary=f"Changed notification preferences of {user.email}",
                changes={k: choices[k] for k in changed},
            )
    return changed


# --- sending --------------------------------------------------------------------------------


def _link(path: str) -> str:
    if not path:
        return ""
    base = conf.site_url()
    return f"{base}{path}" if base else f"Sign in to cmetrack to see it ({path})."


def _recipients(recipients: Iterable[User | str]) -> list[tuple[User | None, str]]:
    seen: set[str] = set()
    out: list[tuple[User | None, str]] = []
    for r in recipients:
        if isinstance(r, str):
            user, email = None, r.strip()
        else:
            if not r.is_active or getattr(r, "is_service_account", False):
                continue
            user, email = r, str(r.email)
        if email and email.lower() not in seen:
            seen.add(email.lower())
            out.append((user, email))
    return out


def _private(values: Mapping[str, Any], child_name: str, reference: str) -> dict[str, str]:
    """The placeholders with the child's name replaced by the reference (non-secure)."""
    parts = sorted({child_name, *child_name.split()} - {""}, key=len, reverse=True)
    pattern = (
        re.compile(r"\b(" + "|".join(re.escape(p) for p in parts) + r")\b", re.IGNORECASE)
        if parts
        else None
    )
    out = {}
    for key, value in values.items():
        text = "" if value is None else str(value)
        if pattern is not None and key != "reference":
            text = pattern.sub(reference or "the child", text)
        out[key] = text
    return out


def notification_send(
    *,
    key: str,
    recipients: Iterable[User | str],
    reference: str,
    personalisation: Mapping[str, Any] | None = None,
    obj: models.Model | None = None,
    child_id: int | None = None,
    child_name: str = "",
    link: str = "",
    actor: Actor | None = None,
    document: tuple[str, str] | None = None,
) -> list[Message]:
    """Record a message of kind ``key`` for each recipient (users or email addresses) in
    the current transaction; its delivery is queued when that transaction commits.

    ``child_name`` is used (as ``((about))``) only for recipients on the authority's secure
    domains; everyone else sees ``reference`` instead, and the name is taken out of every
    other placeholder too. ``document`` is ``(dotted function, argument)`` giving
    ``(filename, bytes)`` at delivery time, sent as Notify's secure file link.
    People who switched the kind off get nothing; a daily-digest choice waits for the
    digest.
    """
    spec = kind(key)
    template_id = conf.templates().get(key, "")
    base = dict((personalisation or {}).items())
    base.setdefault("reference", reference)
    base["link"] = _link(link)
    created: list[Message] = []
    for user, email in _recipients(recipients):
        frequency = frequency_for(user, key) if user is not None else Frequency.AT_ONCE
        if frequency == Frequency.OFF:
            continue
        secure = conf.is_secure(email)
        values = dict(base, about=child_name if (secure and child_name) else reference)
        values = {k: "" if v is None else str(v) for k, v in values.items()}
        if not secure:
            values = _private(values, child_name, reference)
        for name in spec.placeholders():
            values.setdefault(name, "")
        created.append(
            Message(
                kind=key,
                recipient=user,
                email_address=email,
                template_id=template_id,
                personalisation=values,
                reference=reference[:60],
                object_type=object_type_of(obj) if obj is not None else "",
                object_id=str(obj.pk) if obj is not None else "",
                child_id=child_id,
                caused_by=actor.user if actor else None,
                caused_by_label=actor.display[:254] if actor else "",
                document_func=document[0] if document else "",
                document_arg=document[1] if document else "",
                status=Status.DIGEST if frequency == Frequency.DAILY else Status.PENDING,
            )
        )
    if not created:
        return []
    Message.objects.bulk_create(created)
    if any(m.status == Status.PENDING for m in created):
        transaction.on_commit(queue_delivery)
    return created


def queue_delivery() -> None:
    """Queue one delivery job unless one is already waiting (the every-minute schedule
    delivers anything this misses)."""
    if not conf.get("ENQUEUE", True):
        return

    try:
        if not worker_status.pending_args(DELIVER_TASK, waiting_only=True):
            enqueue(DELIVER_TASK, task_name="notifications: deliver")
    except Exception:  # the schedule delivers within a minute anyway
        logger.exception("could not queue notification delivery")


# --- delivery -------------------------------------------------------------------------------


def backoff(attempts: int) -> dt.timedelta:
    """Wait before the next try after ``attempts`` tries: 30 s, 60 s, 120 s … at most 1 h."""
    return dt.timedelta(seconds=min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, attempts - 1)))


def sent_last_minute(now: dt.datetime) -> int:
    return Message.objects.filter(sent_at__gt=now - dt.timedelta(minutes=1)).count()


def _audit_message(message: Message, *, summary: str, **extra: str) -> None:
    """Every message is in the audit trail, sent or not: to whom, which template and kind,
    about which record and child, and who caused it."""
    audit_record(
        actor=Actor.system("notifications"),
        action=AuditAction.UPDATE if "reason" in extra else AuditAction.CREATE,
        obj=message,
        child_id=message.child_id,
        summary=summary[:500],
        changes={
            "to": message.email_address,
            "recipient_id": message.recipient_id,
            "template_id": message.template_id,
            "kind": message.kind,
            "about": f"{message.object_type} {message.object_id}".strip(),
            "caused_by": message.caused_by_label,
            **extra,
        },
    )


def _audit_sent(message: Message) -> None:
    _audit_message(
        message,
        summary=f"Sent {message.kind} ({message.reference or 'no reference'}) to "
        f"{message.email_address}",
        notify_id=message.notify_id,
    )


def _audit_not_sent(message: Message, reason: str) -> None:
    """A message given up on (refused, or out of tries), with the reason."""
    _audit_message(
        message,
        summary=f"Not sent {message.kind} ({message.reference or 'no reference'}) to "
        f"{message.email_address}: {reason}",
        status=Status.FAILED,
        reason=reason[:300],
    )


def _document(message: Message) -> tuple[str, bytes] | None:
    if not message.document_func:
        return None
    func = import_string(message.document_func)
    name, content = func(message.document_arg)
    return str(name), content if isinstance(content, bytes) else str(content).encode("utf-8")


def deliver(message_id: int, *, now: dt.datetime | None = None) -> str:
    """Send one message once. Claims the row (pending → sending, attempts + 1) with a
    conditional UPDATE, so two jobs never both send it; a row found "sending" (a job that
    died) is first looked up at Notify by its reference. Returns the row's new status."""
    now = now or timezone.now()
    row = Message.objects.filter(pk=message_id).first()
    if row is None:
        return "missing"
    resumed = row.status == Status.SENDING
    if row.status == Status.PENDING:
        claimed = Message.objects.filter(
            pk=row.pk, status=Status.PENDING, next_attempt_at__lte=now
        ).update(status=Status.SENDING, attempts=models.F("attempts") + 1, next_attempt_at=now)
    elif resumed and row.next_attempt_at <= now - SENDING_STALE:
        claimed = Message.objects.filter(
            pk=row.pk, status=Status.SENDING, next_attempt_at=row.next_attempt_at
        ).update(attempts=models.F("attempts") + 1, next_attempt_at=now)
    else:
        return str(row.status)
    if not claimed:
        return "taken"
    row.refresh_from_db()
    spec = kind(row.kind)
    subject, body = spec.render(row.personalisation)
    try:
        backend = get_backend()
        found = backend.already_sent(row.notify_reference) if resumed else None
        if found:
            notify_id = found
        else:
            if conf.backend() == "notify" and not row.template_id:
                raise Refused(f"no Notify template id for {row.kind} (CMETRACK_NOTIFY_TEMPLATES)")
            notify_id = backend.send(
                Outgoing(
                    email_address=row.email_address,
                    template_id=row.template_id,
                    personalisation=dict(row.personalisation),
                    reference=row.notify_reference,
                    kind=row.kind,
                    subject=subject,
                    body=body,
                    document=_document(row),
                )
            )
    except RetryLater as exc:
        give_up = row.attempts >= conf.max_attempts()
        Message.objects.filter(pk=row.pk).update(
            status=Status.FAILED if give_up else Status.PENDING,
            next_attempt_at=now
            + (dt.timedelta(minutes=1) if exc.rate_limited else backoff(row.attempts)),
            last_error=str(exc)[:300],
        )
        if give_up:
            _audit_not_sent(row, f"gave up after {row.attempts} tries ({exc})")
            return Status.FAILED
        return "rate-limited" if exc.rate_limited else Status.PENDING
    except Refused as exc:
        Message.objects.filter(pk=row.pk).update(status=Status.FAILED, last_error=str(exc)[:300])
        logger.warning("notification %s refused: %s", row.pk, exc)
        _audit_not_sent(row, f"refused ({exc})")
        return Status.FAILED
    with transaction.atomic():
        Message.objects.filter(pk=row.pk).update(
            status=Status.SENT, notify_id=notify_id[:64], sent_at=timezone.now(), last_error=""
        )
        row.notify_id = notify_id
        _audit_sent(row)
        if row.kind == "digest":
            for item in row.items.all():
                item.notify_id = notify_id
                _audit_sent(item)
            row.items.update(status=Status.IN_DIGEST)
    return Status.SENT


def deliver_due(*, now: dt.datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Send what is due, oldest first, within the per-minute limit. Rows stuck
    "sending" are resumed (looked up at Notify first)."""
    now = now or timezone.now()
    counts: dict[str, int] = {}
    room = conf.per_minute() - sent_last_minute(now)
    due = Message.objects.filter(
        models.Q(status=Status.PENDING, next_attempt_at__lte=now)
        | models.Q(status=Status.SENDING, next_attempt_at__lte=now - SENDING_STALE)
    ).order_by("next_attempt_at", "pk")
    for pk in list(due.values_list("pk", flat=True)[: max(0, min(room, limit))]):
        result = deliver(pk, now=now)
        counts[result] = counts.get(result, 0) + 1
        if result == "rate-limited":
            break  # Notify's rate limit: the rest wait for the next minute
    return counts


# --- receipts -------------------------------------------------------------------------------


def receipt_record(payload: Mapping[str, Any]) -> Message | None:
    """Record Notify's delivery receipt (its callback). Matches by Notify's id, or by
    our reference; returns the row or None if it is not ours."""
    status = str(payload.get("status", ""))
    if status not in {s.value for s in RECEIPT_STATUSES}:
        return None
    notify_id = str(payload.get("id", ""))
    reference = str(payload.get("reference") or "")
    row = Message.objects.filter(notify_id=notify_id).first() if notify_id else None
    if row is None and reference.startswith("cmetrack-") and reference[9:].isdigit():
        row = Message.objects.filter(pk=int(reference[9:])).first()
    if row is None:
        return None
    Message.objects.filter(pk=row.pk).update(
        status=status, receipt_at=timezone.now(), notify_id=row.notify_id or notify_id[:64]
    )
    row.refresh_from_db()
    return row


# --- the daily digest -----------------------------------------------------------------------


def digest_send(*, now: dt.datetime | None = None) -> int:
    """One email for each person with messages waiting for the digest. Returns how many."""
    now = now or timezone.now()
    waiting = Message.objects.filter(status=Status.DIGEST, digest__isnull=True, created_at__lte=now)
    people = (
        waiting.filter(recipient__is_active=True).values_list("recipient", flat=True).distinct()
    )
    sent = 0
    for user_id in sorted(set(people)):
        with transaction.atomic():
            items = list(
                waiting.filter(recipient_id=user_id)
                .select_for_update()
                .order_by("created_at", "pk")
            )
            if not items:
                continue
            lines = []
            for item in items:
                subject, _ = kind(item.kind).render(item.personalisation)
                lines.append(f"* {subject}")
            first = items[0]
            digest = Message.objects.create(
                kind="digest",
                recipient_id=user_id,
                email_address=first.email_address,
                template_id=conf.templates().get("digest", ""),
                personalisation={
                    "count": str(len(items)),
                    "items": "\n".join(lines),
                    "reference": f"{len(items)} messages",
                    "about": "",
                    "link": _link("/"),
                },
                reference=f"digest {timezone.localdate(now).isoformat()}",
                caused_by_label="system: daily digest",
            )
            Message.objects.filter(pk__in=[i.pk for i in items]).update(digest=digest)
            transaction.on_commit(queue_delivery)
            sent += 1
    return sent


# --- for scheduled reminders ---------------------------------------------------------------


def notification_sent_before(key: str, obj: models.Model, marker: str) -> bool:
    """Was a message of kind ``key`` about ``obj`` with this ``marker`` (for example a due
    date) recorded before? Lets a daily reminder job run again without repeating itself."""
    return Message.objects.filter(
        kind=key,
        object_type=object_type_of(obj),
        object_id=str(obj.pk),
        personalisation__marker=marker,
    ).exists()


# --- recipients by role (for the apps that send) ------------------------------------------


def users_with_role(*roles: str) -> list[User]:

    return list(
        User.objects.filter(is_active=True, roles__role__in=list(roles)).distinct().order_by("pk")
    )


def cme_team() -> list[User]:
    return users_with_role(Role.CME_MANAGER, Role.CME_OFFICER)


def school_users(school_id: int | None) -> list[User]:

    if school_id is None:
        return []
    return list(
        User.objects.filter(
            is_active=True, organisation_id=school_id, roles__role=Role.SCHOOL_USER
        ).distinct()
    )
