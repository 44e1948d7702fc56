"""Settings of the provision work, each with a default (override in Django settings or the
environment variable of the same name)."""

from __future__ import annotations

import os

from django.conf import settings


def _number(name: str, default: float) -> float:
    value: object = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name, default)
    return float(str(value))


def monitoring_school_days() -> int:
    """School days of attendance at the new provider before the case may close (20)."""
    return int(_number("CMETRACK_PROVISION_MONITOR_SCHOOL_DAYS", 20))


def monitoring_threshold_percent() -> float:
    """Attendance over the monitoring period needed to close (at least 90%)."""
    return _number("CMETRACK_PROVISION_MONITOR_ATTENDANCE_PERCENT", 90.0)


def no_offer_school_days() -> int:
    """School days after provision is determined with no place offered: delay alert (20)."""
    return int(_number("CMETRACK_PROVISION_NO_OFFER_SCHOOL_DAYS", 20))


def panel_decision_school_days() -> int:
    """School days after a panel referral with no decision: delay alert (20)."""
    return int(_number("CMETRACK_PROVISION_PANEL_SCHOOL_DAYS", 20))


def start_school_days() -> int:
    """School days after a place is offered without the child starting: delay alert (10)."""
    return int(_number("CMETRACK_PROVISION_START_SCHOOL_DAYS", 10))
