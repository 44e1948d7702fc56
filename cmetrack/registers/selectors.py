"""Reads of the registers. Roll data is personal data: only case roles and the school
itself (for its own roll) may read it; callers pass the scoped school list."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from cmetrack.organisations.models import Organisation

from .models import RollEntry, RollSnapshot


def latest_snapshots() -> QuerySet[RollSnapshot]:
    """The most recent snapshot of every school."""
    newest = RollSnapshot.objects.filter(school=OuterRef("school")).order_by("-taken_on")
    return RollSnapshot.objects.filter(taken_on=Subquery(newest.values("taken_on")[:1]))


def roll_for_school(school: Organisation) -> QuerySet[RollEntry]:
    snapshot = RollSnapshot.objects.filter(school=school).order_by("-taken_on").first()
    if snapshot is None:
        return RollEntry.objects.none()
    return snapshot.entries.order_by("legal_family_name", "legal_given_name")
