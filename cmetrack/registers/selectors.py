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


def previous_snapshot(snapshot: RollSnapshot) -> RollSnapshot | None:
    """The school's snapshot just before ``snapshot``, if any."""
    return (
        RollSnapshot.objects.filter(school_id=snapshot.school_id, taken_on__lt=snapshot.taken_on)
        .order_by("-taken_on")
        .first()
    )


def joiners_and_leavers(
    earlier: RollSnapshot, later: RollSnapshot
) -> tuple[QuerySet[RollEntry], QuerySet[RollEntry]]:
    """Joiners (in ``later`` only) and leavers (in ``earlier`` only), matched by UPN.

    Both snapshots must be of the same school. Two set-based queries, each an anti-join.
    """
    if earlier.school_id != later.school_id:
        raise ValueError("Joiners and leavers compare two snapshots of the same school.")
    earlier_upns = RollEntry.objects.filter(snapshot=earlier).values("upn")
    later_upns = RollEntry.objects.filter(snapshot=later).values("upn")
    joiners = later.entries.exclude(upn__in=earlier_upns).order_by("legal_family_name", "upn")
    leavers = earlier.entries.exclude(upn__in=later_upns).order_by("legal_family_name", "upn")
    return joiners, leavers
