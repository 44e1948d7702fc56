"""What safeguarding adds to the case engine (loaded by ``autodiscover_modules``).

A case goes dormant only with a risk assessment authorised by a manager (forms.md §3), and
the case page links to the case's safeguarding work for those who may see it.
"""

from __future__ import annotations

from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.cases.lifecycle import DORMANT_NEEDS_RISK_ASSESSMENT, CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.registries import case_link_register, move_requirement_register

from .selectors import authorised_risk_assessment_for, may_view_safeguarding


def dormant_needs_risk_assessment(case: Case) -> str | None:
    if authorised_risk_assessment_for(case) is not None:
        return None
    return DORMANT_NEEDS_RISK_ASSESSMENT


def safeguarding_link(viewer: User, case: Case) -> str:
    """Screening, risk assessments and dormant reviews, for those who may see them."""
    if not may_view_safeguarding(viewer):
        return ""
    return reverse("safeguarding:case", args=[case.pk])


move_requirement_register(CaseState.DORMANT, dormant_needs_risk_assessment)
case_link_register("safeguarding", safeguarding_link)
