"""Scoped reads of referrals, and of the roll a school refers from."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.models import ReferralRoute
from cmetrack.people.selectors import children_visible_to
from cmetrack.registers.models import RollEntry, RollSnapshot

from .duplicates import PossibleDuplicate, possible_duplicates
from .models import Referral, ReferralStatus

#: Roles that may triage referrals (an SLO only school referrals from linked schools).
TRIAGE_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO})


def referrals_visible_to(user: User) -> QuerySet[Referral]:
    """CME officers and managers see all; an SLO sees school referrals from their linked
    schools; a school or agency sees only what it referred."""
    qs = Referral.objects.select_related("referring_organisation", "case", "case__child")
    if not user.is_authenticated or not user.is_active:
        return qs.none()
    if user.has_role(*ALL_CASES_ROLES):
        return qs
    scope = Q(pk__in=[])
    if user.has_role(Role.SLO):
        scope |= Q(route=ReferralRoute.SCHOOL, school__in=user.linked_schools.all())
    if user.has_role(Role.SCHOOL_USER, Role.AGENCY_USER) and user.organisation_id:
        scope |= Q(referring_organisation_id=user.organisation_id)
    return qs.filter(scope)


def may_triage(user: User, referral: Referral) -> bool:
    """Whether ``user`` may triage ``referral`` (assumes it is already in their scope)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.has_role(*ALL_CASES_ROLES):
        return True
    return (
        user.has_role(Role.SLO)
        and referral.route == ReferralRoute.SCHOOL
        and referral.school_id is not None
        and user.linked_schools.filter(pk=referral.school_id).exists()
    )


def triage_queue(user: User, *, route: str = "") -> QuerySet[Referral]:
    """Referrals waiting for triage that ``user`` may triage, newest first."""
    if not user.is_authenticated or not user.has_role(*TRIAGE_ROLES):
        return Referral.objects.none()
    qs = referrals_visible_to(user).filter(status=ReferralStatus.RECEIVED)
    if not user.has_role(*ALL_CASES_ROLES):
        qs = qs.filter(route=ReferralRoute.SCHOOL)
    if route:
        qs = qs.filter(route=route)
    return qs.select_related("school").order_by("-received_at", "-id")


def referral_get(user: User, reference: str) -> Referral:
    """One referral in ``user``'s scope; ``Referral.DoesNotExist`` otherwise (a 404)."""
    return (
        referrals_visible_to(user)
        .select_related("school", "referred_by", "triaged_by", "child", "roll_entry")
        .prefetch_related("checks")
        .get(reference=reference.strip().upper())
    )


def own_latest_snapshot(user: User) -> RollSnapshot | None:
    """The latest roll of the school user's own school; None for anyone else."""
    if (
        not user.is_authenticated
        or not user.is_active
        or not user.has_role(Role.SCHOOL_USER)
        or user.organisation_id is None
    ):
        return None
    return RollSnapshot.objects.filter(school_id=user.organisation_id).order_by("-taken_on").first()


def own_latest_roll(user: User) -> QuerySet[RollEntry]:
    """The entries of the school user's own latest roll; empty for anyone else."""
    snapshot = own_latest_snapshot(user)
    if snapshot is None:
        return RollEntry.objects.none()
    return RollEntry.objects.filter(snapshot=snapshot).select_related("snapshot")


def roll_search(user: User, query: str) -> QuerySet[RollEntry]:
    """Pupils on the user's own latest roll whose name or UPN matches ``query``."""
    roll = own_latest_roll(user)
    words = query.split()
    if not words:
        return roll.none()
    for word in words:
        roll = roll.filter(
            Q(upn__iexact=word)
            | Q(legal_given_name__icontains=word)
            | Q(legal_family_name__icontains=word)
            | Q(preferred_given_name__icontains=word)
            | Q(preferred_family_name__icontains=word)
        )
    return roll.order_by("legal_family_name", "legal_given_name", "pk")


def triage_duplicates(*, actor: Actor, referral: Referral) -> tuple[list[PossibleDuplicate], bool]:
    """The possible duplicates of ``referral`` that the actor may see, and whether there
    were others outside their scope. Showing a child as a possible match is a read of that
    child's record: each one shown is audited."""

    assert actor.user is not None, "a person triages"
    found = possible_duplicates(
        given_names=referral.given_names,
        family_name=referral.family_name,
        dob=referral.dob,
        upn=referral.upn,
        postcode=referral.postcode,
        sex=referral.sex,
    )
    visible = set(
        children_visible_to(actor.user)
        .filter(pk__in=[d.child.pk for d in found])
        .values_list("pk", flat=True)
    )
    shown = [d for d in found if d.child.pk in visible]
    for d in shown:
        audit_record(
            actor=actor,
            action=AuditAction.VIEW,
            obj=d.child,
            child_id=d.child.pk,
            summary=f"Shown as a possible duplicate at triage of {referral.reference}",
        )
    return shown, len(shown) < len(found)
