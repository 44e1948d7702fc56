"""Reads of organisations and the authority directory (not personal data about children)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

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


def stale_contact_days() -> int:
    """A contact not confirmed for longer than this is flagged (default: 12 months)."""
    return int(getattr(settings, "CMETRACK_CONTACT_STALE_DAYS", 365))


def contact_is_stale(la: LocalAuthority, today: dt.date | None = None) -> bool:
    """No named contact, never confirmed, or confirmed longer ago than the limit."""
    today = today or timezone.localdate()
    if not la.cme_contact_name or not la.cme_contact_email or la.contact_confirmed_on is None:
        return True
    return (today - la.contact_confirmed_on).days > stale_contact_days()


def authority_directory(
    *, query: str = "", country: str = "", stale_only: bool = False, today: dt.date | None = None
) -> QuerySet[LocalAuthority]:
    """The directory of authorities, searched by code, name, region or contact."""
    qs = LocalAuthority.objects.all()
    query = query.strip()
    if query:
        qs = qs.filter(
            Q(code=query)
            | Q(name__icontains=query)
            | Q(region__icontains=query)
            | Q(cme_contact_name__icontains=query)
            | Q(cme_contact_email__icontains=query)
        )
    if country:
        qs = qs.filter(country=country)
    if stale_only:
        today = today or timezone.localdate()
        cutoff = today - dt.timedelta(days=stale_contact_days())
        qs = qs.filter(
            Q(cme_contact_name="")
            | Q(cme_contact_email="")
            | Q(contact_confirmed_on__isnull=True)
            | Q(contact_confirmed_on__lt=cutoff)
        )
    return qs.order_by("name")
