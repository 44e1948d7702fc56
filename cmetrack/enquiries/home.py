"""Enquiries' home-page section (``cases/home.py``): replies overdue or due today, ours
to chase and other authorities' to answer."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.home import URGENT, QueueSection, register_section

from .presenters import home_section


def enquiries_due(user: User, today: dt.date) -> QueueSection | None:
    section: QueueSection | None = home_section(user, today)
    if section is None:
        return None
    return replace(section, overdue=section.total)


register_section(
    "enquiries.due",
    roles=[Role.CME_OFFICER, Role.CME_MANAGER],
    build=enquiries_due,
    urgency=URGENT + 10,
)
