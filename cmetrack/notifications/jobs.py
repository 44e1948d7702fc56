"""Scheduled and queued work of the notifications app (run by ``cmetrack worker``)."""

from __future__ import annotations

import datetime as dt

from cmetrack.jobs.registry import register_schedule

from .services import deliver_due as _deliver_due
from .services import digest_send


def deliver_due() -> str:
    """Every minute, and queued after each transaction that records messages."""
    counts = _deliver_due()
    done = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing due"
    return f"notifications: {done}"


def send_digests() -> str:
    """Daily: one email for each person's messages waiting for the digest."""
    sent = digest_send()
    _deliver_due()
    return f"notifications: {sent} daily digest(s)"


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule("notifications-deliver", "cmetrack.notifications.jobs.deliver_due", minutes=1)
register_schedule(
    "notifications-digest",
    "cmetrack.notifications.jobs.send_digests",
    daily_at=dt.time(7, 0),
)
