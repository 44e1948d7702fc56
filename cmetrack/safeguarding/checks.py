"""System checks: the service does not start without what a safeguarding screen needs."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

SOCIAL_CARE_PHONE_MISSING = (
    "CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE is not set: every safeguarding screen shows the "
    "emergency route (police 999 and children's social care)."
)
SOCIAL_CARE_PHONE_HINT = (
    "Set CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE to the children's social care front door's "
    "number, for example 01632 960 000."
)


@checks.register()
def social_care_phone_set(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """An error with DEBUG off (production refuses to start), a warning while developing."""
    number = str(getattr(settings, "CMETRACK_CHILDRENS_SOCIAL_CARE_PHONE", "") or "").strip()
    if any(ch.isdigit() for ch in number):
        return []
    if settings.DEBUG:
        return [
            checks.Warning(
                SOCIAL_CARE_PHONE_MISSING, hint=SOCIAL_CARE_PHONE_HINT, id="safeguarding.W001"
            )
        ]
    return [
        checks.Error(SOCIAL_CARE_PHONE_MISSING, hint=SOCIAL_CARE_PHONE_HINT, id="safeguarding.E001")
    ]
