"""What provision adds to the case engine (loaded by ``autodiscover_modules``).

A case closes as attending provision only after attendance in the new provision has been
monitored for the configured period (``monitoring.attending_close_refusal``).
"""

from __future__ import annotations

from cmetrack.cases.lifecycle import Outcome
from cmetrack.cases.models import Case
from cmetrack.cases.registries import close_requirement_register
from cmetrack.organisations.models import LocalAuthority

from .monitoring import attending_close_refusal


def attendance_monitored(
    case: Case, outcome: str, la: LocalAuthority | None
) -> tuple[str, str] | None:
    refusal = attending_close_refusal(case)
    return None if refusal is None else (refusal, "outcome")


close_requirement_register(Outcome.ATTENDING_PROVISION, attendance_monitored)
