"""Protecting the public report from floods and bots, with no third-party service.

* A per-client limit: each client address may send ``CMETRACK_PUBLIC_REPORT_LIMIT``
  reports an hour (default 5), counted in the cache that every web process shares
  (``CACHES["shared"]``, files under the var folder), so the limit holds however many
  processes gunicorn runs.
* A honeypot field people never see.
* A signed timestamp in the form (``django.core.signing``): a form sent back sooner than
  ``CMETRACK_PUBLIC_REPORT_MIN_SECONDS`` (default 3) after it was shown is a bot; one
  older than two hours is stale and is shown again.
* The token works once: it carries a random nonce, and the report it sends is recorded
  under that nonce (``idempotency.submit_once``, in the report's own transaction), so the
  same token sent again makes nothing more (issue 17).
"""

from __future__ import annotations

import secrets
import time
from enum import Enum

from django.conf import settings
from django.core import signing
from django.core.cache import BaseCache, caches

_SALT = "cmetrack.referrals.public-report"
MAX_AGE_SECONDS = 2 * 60 * 60
WINDOW_SECONDS = 60 * 60


def limit_per_hour() -> int:
    return int(getattr(settings, "CMETRACK_PUBLIC_REPORT_LIMIT", 5))


def min_seconds() -> float:
    return float(getattr(settings, "CMETRACK_PUBLIC_REPORT_MIN_SECONDS", 3))


class TokenProblem(Enum):
    MISSING = "missing"
    TAMPERED = "tampered"
    TOO_FAST = "too_fast"
    EXPIRED = "expired"


def issue_token(now: float | None = None) -> str:
    """A signed token saying when the form was shown, with a nonce that makes it single-use."""
    return signing.dumps(
        {"t": round(now if now is not None else time.time(), 3), "n": secrets.token_urlsafe(16)},
        salt=_SALT,
    )


def token_nonce(token: str) -> str:
    """The nonce of a token :func:`token_problem` accepted (the key it is used once under)."""
    return str(signing.loads(token, salt=_SALT)["n"])


def token_problem(token: str, now: float | None = None) -> TokenProblem | None:
    """What is wrong with the form's token, or None if it was shown long enough ago."""
    now = now if now is not None else time.time()
    if not token:
        return TokenProblem.MISSING
    try:
        data = signing.loads(token, salt=_SALT)
        shown = float(data["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return TokenProblem.TAMPERED
    if not isinstance(data.get("n"), str) or not data["n"]:
        return TokenProblem.EXPIRED  # a page shown before tokens were single-use
    age = now - shown
    if age < min_seconds():
        return TokenProblem.TOO_FAST
    if age > MAX_AGE_SECONDS:
        return TokenProblem.EXPIRED
    return None


def _counts() -> BaseCache:
    """The cache every web process shares (each process's own where none is configured)."""
    return caches["shared"] if "shared" in settings.CACHES else caches["default"]


def _key(client: str) -> str:
    return f"referrals:public-report:{client}"


def over_limit(client: str | None) -> bool:
    """Whether this client has already sent as many reports as the hour allows."""
    return int(_counts().get(_key(client or "unknown"), 0)) >= limit_per_hour()


def count_report(client: str | None) -> None:
    """Count one report (or bot attempt) from this client in the current hour."""
    key = _key(client or "unknown")
    cache = _counts()
    if cache.add(key, 1, WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW_SECONDS)
