"""Reads of organisations and the authority directory (not personal data about children)."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import LocalAuthority, Organisation, OrganisationKind


def organisation_list(
    *, kind: str | None = None, active_only: bool = True
) -> QuerySet[Organisation]:
    qs = Organisation.objects.select_related("local_authority")
    if kind:
        qs = qs.filter(kind=kind)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.order_by("name")


def school_list() -> QuerySet[Organisation]:
    return organisation_list(kind=OrganisationKind.SCHOOL)


def local_authority_get(code: str) -> LocalAuthority:
    return LocalAuthority.objects.get(code=code)
