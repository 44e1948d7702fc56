"""Provision's home-page section (``cases/home.py``): children waiting too long for a
place, the places to chase."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.home import TODAY, QueueSection, register_section

from .presenters import home_section


def places_to_chase(user: User, today: dt.date) -> QueueSection | None:
    section = home_section(user, today)
    if section is None:
        return None
    # Every row is a child past a delay alert (provision/delays.py).
    return replace(section, overdue=section.total)


register_section(
    "provision.delays",
    roles=[Role.CME_OFFICER, Role.CME_MANAGER, Role.ADMISSIONS],
    build=places_to_chase,
    urgency=TODAY + 10,
)
