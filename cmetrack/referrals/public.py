"""Protecting the public report from floods and bots, with no third-party service.

* A per-client limit: each client address may send ``CMETRACK_PUBLIC_REPORT_LIMIT``
  reports an hour (default 5), counted in Django's cache. Configure a shared cache
  (``CACHES``) when the service runs in more than one process.
* A honeypot field people never see.
* A signed timestamp in the form (``django.core.signing``): a form sent back sooner than
  ``CMETRACK_PUBLIC_REPORT_MIN_SECONDS`` (default 3) after it was shown is a bot; one
  older than two hours is stale and is shown again.
"""

from __future__ import annotations

import time
from enum import Enum

from django.conf import settings
from django.core import signing
from django.core.cache import cache

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
    """A signed token saying when the form was shown."""
    return signing.dumps({"t": round(now if now is not None else time.time(), 3)}, salt=_SALT)


def token_problem(token: str, now: float | None = None) -> TokenProblem | None:
    """What is wrong with the form's token, or None if it was shown long enough ago."""
    now = now if now is not None else time.time()
    if not token:
        return TokenProblem.MISSING
    try:
        shown = float(signing.loads(token, salt=_SALT)["t"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return TokenProblem.TAMPERED
    age = now - shown
    if age < min_seconds():
        return TokenProblem.TOO_FAST
    if age > MAX_AGE_SECONDS:
        return TokenProblem.EXPIRED
    return None


def _key(client: str) -> str:
    return f"referrals:public-report:{client}"


def over_limit(client: str | None) -> bool:
    """Whether this client has already sent as many reports as the hour allows."""
    return int(cache.get(_key(client or "unknown"), 0)) >= limit_per_hour()


def count_report(client: str | None) -> None:
    """Count one report (or bot attempt) from this client in the current hour."""
    key = _key(client or "unknown")
    if cache.add(key, 1, WINDOW_SECONDS):
        return
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW_SECONDS)
