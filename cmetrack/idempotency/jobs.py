"""Scheduled work: forget form tokens older than :data:`~.services.KEEP_FOR`."""

from __future__ import annotations

import datetime as dt
import logging

from cmetrack.jobs.registry import register_schedule

from .services import submissions_purge

logger = logging.getLogger(__name__)


def submissions_purge_old() -> int:
    """Daily: remove submissions kept longer than needed to catch a repeat."""
    removed = submissions_purge()
    logger.info("forgot %s old form submissions", removed)
    return removed


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule(
    "submissions-purge",
    "cmetrack.idempotency.jobs.submissions_purge_old",
    daily_at=dt.time(3, 30),
)
