"""Scoped reads of referrals."""

from __future__ import annotations

from django.db.models import QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role

from .models import Referral


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    """CME officers and managers see all; a school or agency sees only what it referred."""
    qs = Referral.objects.select_related("referring_organisation", "case")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.has_role(*ALL_CASES_ROLES):
        return qs
    if user.has_role(Role.SCHOOL_USER, Role.AGENCY_USER) and user.organisation_id:
        return qs.filter(referring_organisation_id=user.organisation_id)
    return qs.none()
