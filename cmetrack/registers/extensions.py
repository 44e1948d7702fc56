"""What the registers add to the engines below them (loaded by ``autodiscover_modules``).

- A case closed as home educated puts the child on the home-education list, in the same
  transaction as the close.
- The rolls and the home-education list are registers the matching engine searches.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from cmetrack.audit.reads import (
    child_lookup_register,
    child_rows_register,
    child_visibility_register,
)
from cmetrack.audit.services import Actor
from cmetrack.cases.lifecycle import Outcome
from cmetrack.cases.models import Case
from cmetrack.cases.registries import after_close_register
from cmetrack.matching.adapters import adapter_register

from .adapters import HomeEducationAdapter, RollAdapter
from .models import HomeEducationConsentRequest, HomeEducationRecord
from .selectors import consent_requests_visible_to, home_education_visible_to
from .services import home_education_record_add


def home_educated_listed(actor: Actor, case: Case) -> None:
    home_education_record_add(
        actor=actor,
        child=case.child,
        started_on=case.closed_on or timezone.localdate(),
        source=f"CME case {case.reference} closed as home educated",
        case=case,
    )


after_close_register(Outcome.HOME_EDUCATED, home_educated_listed)
adapter_register(RollAdapter(), first=True)
adapter_register(HomeEducationAdapter())


def _child_of_home_education(record_id: object) -> int | None:
    return (
        HomeEducationRecord.objects.filter(pk=int(str(record_id)))
        .values_list("child_id", flat=True)
        .first()
    )


# Pages and endpoints about a home-education record show its child (audit.reads).
for _prefix in ("casework:registers:", "api:home_education_", "api:record_end", "api:concern_"):
    child_lookup_register(_prefix, "record_id", _child_of_home_education)

# The home-education list and the consent requests show their children (audit of lists).
child_rows_register(HomeEducationRecord, "child_id")
child_rows_register(HomeEducationConsentRequest, "child_id")


def _visible(user: Any, child_ids: set[int]) -> set[int]:
    """Children on the home-education list or with a consent request the person may see."""
    listed = home_education_visible_to(user).filter(child_id__in=child_ids)
    asked = consent_requests_visible_to(user).filter(child_id__in=child_ids)
    return set(listed.values_list("child_id", flat=True)) | set(
        asked.values_list("child_id", flat=True)
    )


child_visibility_register(_visible)
