"""Scheduled work of the data protection app (run by ``cmetrack worker``)."""

from __future__ import annotations

import datetime as dt
import logging

from django.utils import timezone

from cmetrack.jobs.registry import register_schedule

from .retention import children_past_retention, retention_age_years

logger = logging.getLogger(__name__)


def retention_list() -> str:
    """Weekly: how many children are past retention (``cmetrack retention --list``), in
    the worker's log and its task results. Anonymising stays a person's decision
    (``cmetrack retention --anonymise --confirm``)."""
    count = children_past_retention(timezone.localdate()).count()
    message = (
        f"retention: {count} children are past retention (age {retention_age_years()}); "
        "review them with `cmetrack retention --list`"
    )
    if count:
        logger.warning(message)
    return message


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule(
    "retention-list", "cmetrack.dataprotection.jobs.retention_list", daily_at=dt.time(5, 0)
)
