"""Scheduled work of the transfers app (run by ``cmetrack worker``)."""

from __future__ import annotations

from cmetrack.audit.services import Actor

from .services import lost_pupils_check_rolls


def lost_pupils_match() -> str:
    """Nightly: check new roll snapshots' joiners against the lost-pupil area (what
    ``cmetrack lost_pupils_match`` does; only snapshots not checked before are read)."""
    found = lost_pupils_check_rolls(actor=Actor.system("lost-pupil matching (scheduled)"))
    return f"lost-pupil matching: {found} new possible match{'es' if found != 1 else ''}"
