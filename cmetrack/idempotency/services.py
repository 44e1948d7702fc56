"""Send once: a form (or an API call) sent twice makes one record.

Every page form that makes something carries a one-time token, a hidden field named
:data:`FIELD_NAME` made fresh each time the form is shown (the Jinja global
``submission_token_input()``). API callers may send the same idea as an
``Idempotency-Key`` header. :func:`submit_once` records the token in
:class:`~cmetrack.idempotency.models.Submission` *in the same transaction* as the record it
makes, under a unique constraint on ``(owner, scope, key)``:

* the first sending inserts the token, makes the record, stores where it led, commits;
* a second sending with the same token (a double click, a resent page, a retried API
  call) cannot insert it: it is told what the first one made (:class:`Outcome.previous`)
  and makes nothing;
* two sendings at the same moment: on PostgreSQL the second insert waits for the first
  transaction on the unique index, then fails and reads the winner's row; on SQLite the
  database lets one writer in at a time, with the same result;
* if the first sending fails (a validation error, a refusal), its transaction is rolled back
  with the token, so the corrected form can be sent again with the same token.

A page form sent without a token (an old page, a test) is accepted and simply not
protected; the pages always render one. The token belongs to the person who sent it (its
``owner``), so one person's token never shows another person's result.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import Submission
from .tokens import FIELD_NAME, new_token, token_input

__all__ = [
    "FIELD_NAME",
    "HEADER",
    "InvalidKey",
    "KeyReused",
    "Outcome",
    "Receipt",
    "api_submit_once",
    "fingerprint",
    "form_key",
    "header_key",
    "new_token",
    "owner_of",
    "repeat_message",
    "submissions_purge",
    "submit_once",
    "token_input",
]

T = TypeVar("T")

#: The API's request header (the IETF draft "The Idempotency-Key HTTP Header Field").
HEADER = "Idempotency-Key"
#: Submissions are kept this long; a form re-sent later than this makes a new record.
KEEP_FOR = timedelta(days=30)

_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")  # visible ASCII, as the header draft allows


class InvalidKey(ValueError):
    """An ``Idempotency-Key`` that is empty, too long or not plain visible characters."""

    message = "The Idempotency-Key header must be 1 to 128 visible ASCII characters"


class KeyReused(Exception):
    """An ``Idempotency-Key`` already used for a different request by the same caller."""

    message = (
        "This Idempotency-Key was already used for a different request: use a new key "
        "for each new request"
    )


@dataclass(frozen=True)
class Receipt:
    """What a sending made, as the person is shown it again if they send it twice."""

    url: str = ""
    reference: str = ""
    object_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """The result of :func:`submit_once`: what this call made, or the first sending."""

    result: T | None = None
    previous: Submission | None = None

    @property
    def repeated(self) -> bool:
        return self.previous is not None


def owner_of(user: Any) -> str:
    """Whose token it is: the signed-in user, else the public."""
    if user is not None and getattr(user, "is_authenticated", False) and user.pk is not None:
        return f"user:{user.pk}"
    return "public"


def form_key(request: HttpRequest) -> str | None:
    """The page form's token, or None if it has none (or one we did not make)."""
    value = request.POST.get(FIELD_NAME, "").strip()
    return value if _KEY.match(value) else None


def header_key(request: HttpRequest) -> str | None:
    """The API call's ``Idempotency-Key``, or None without one; :class:`InvalidKey` if bad."""
    if HEADER not in request.headers:
        return None
    value = request.headers[HEADER].strip()
    if len(value) >= 2 and value[0] == value[-1] == '"':  # the draft's sf-string form
        value = value[1:-1]
    if not _KEY.match(value):
        raise InvalidKey(InvalidKey.message)
    return value


def fingerprint(*parts: bytes | str) -> str:
    """A digest of what was sent, to tell a retried request from a different one."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\x00")
    return digest.hexdigest()


class _AlreadySent(Exception):
    pass


def submit_once(
    *,
    key: str | None,
    owner: str,
    scope: str,
    create: Callable[[], T],
    receipt: Callable[[T], Receipt],
    fingerprint: str = "",
) -> Outcome[T]:
    """Run ``create`` once for ``key``: the first time it makes the record; again, it doesn't.

    ``create`` is the service call (it may raise, and then nothing is kept, the token
    included). ``receipt`` says what the person is shown again on a second sending. With no
    ``key`` this is just ``create()``. A key used before with another ``fingerprint`` raises
    :class:`KeyReused`.
    """
    if not key:
        return Outcome(result=create())
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = Submission.objects.create(
                        owner=owner, scope=scope, key=key, fingerprint=fingerprint
                    )
            except IntegrityError:
                raise _AlreadySent from None
            result = create()
            made = receipt(result)
            claim.result_url = made.url[:500]
            claim.reference = made.reference[:300]
            claim.object_ids = list(made.object_ids)
            claim.save(update_fields=["result_url", "reference", "object_ids"])
    except _AlreadySent:
        previous = Submission.objects.get(owner=owner, scope=scope, key=key)
        if previous.fingerprint != fingerprint:
            raise KeyReused(KeyReused.message) from None
        return Outcome(previous=previous)
    return Outcome(result=result)


def repeat_message(previous: Submission) -> str:
    """What a person who sent a form twice is told, in their words."""
    if previous.reference:
        return f"This form was already sent: here is your reference {previous.reference}."
    return "This form was already sent, so nothing was saved a second time."


def submissions_purge(*, now: Any = None, keep_for: timedelta = KEEP_FOR) -> int:
    """Forget submissions older than ``keep_for``; returns how many were removed."""
    cutoff = (now or timezone.now()) - keep_for
    deleted, _ = Submission.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def api_submit_once(
    request: HttpRequest,
    *,
    scope: str,
    create: Callable[[], T],
    receipt: Callable[[T], Receipt],
) -> Outcome[T]:
    """:func:`submit_once` for an API call: keyed by its ``Idempotency-Key`` header, if any.

    The key belongs to the authenticated caller; the same key with another body (or another
    address) raises :class:`KeyReused`, a bad key :class:`InvalidKey`.
    """
    key = header_key(request)
    user = getattr(request, "auth", None) or getattr(request, "user", None)
    return submit_once(
        key=key,
        owner=owner_of(user),
        scope=scope,
        create=create,
        receipt=receipt,
        fingerprint=fingerprint(request.method or "", request.path, request.body) if key else "",
    )
