"""Scheduled work of the transfers app (run by ``cmetrack worker``)."""

from __future__ import annotations

import datetime as dt

from cmetrack.audit.services import Actor
from cmetrack.jobs.registry import register_schedule

from .services import lost_pupils_check_rolls


def lost_pupils_match() -> str:
    """Nightly: check new roll snapshots' joiners against the lost-pupil area (what
    ``cmetrack lost_pupils_match`` does; only snapshots not checked before are read)."""
    found = lost_pupils_check_rolls(actor=Actor.system("lost-pupil matching (scheduled)"))
    return f"lost-pupil matching: {found} new possible match{'es' if found != 1 else ''}"


# --- Schedules (``CoreConfig.ready()`` loads this module: ``autodiscover_modules``) ---

register_schedule(
    "lost-pupils-match",
    "cmetrack.transfers.jobs.lost_pupils_match",
    daily_at=dt.time(1, 30),
)
