"""Scheduled work of the casework app (run by ``cmetrack worker``; see cmetrack.jobs)."""

from __future__ import annotations

import datetime as dt

from cmetrack.audit.services import Actor
from cmetrack.jobs.registry import register_schedule

from .selectors import no_contact_days
from .services import follow_up_prompts_create


def followup_prompts() -> str:
    """Daily: a follow-up task for each open case with no contact for a month (what
    ``cmetrack followup_prompts`` does)."""
    run = follow_up_prompts_create(
        actor=Actor.system("follow-up prompts (scheduled)"), days=no_contact_days()
    )
    return (
        f"follow-up prompts: {len(run.created)} created, {run.already_prompted} already "
        f"prompted, {len(run.no_owner)} case(s) with no officer to take one"
    )


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule(
    "followup-prompts", "cmetrack.casework.jobs.followup_prompts", daily_at=dt.time(6, 0)
)
