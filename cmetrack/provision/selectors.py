"""Reads of the places work, narrowed to what the user may see.

Who may do what (see docs/provision.md):

- places (providers and figures, no child data): CME officers and managers, admissions
  officers, and auditors (read only); updating and importing them: CME officers and
  managers and admissions officers;
- a case's provision page (shortlist, applications, panel, start, monitoring): CME officers
  and managers on the cases they see; admissions officers on cases that need a place or are
  being monitored (needs assessment, awaiting provision, in provision), and nothing else of
  the case. Every other role: none (404).
- applications and panel referrals: CME officers and managers who may act on the case,
  and admissions officers; the steps that change the case itself (the form of provision
  recommended, the start) go through the case services, which allow CME staff only.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, OuterRef, Q, QuerySet, Subquery

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case
from cmetrack.cases.permissions import may_act
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.people.selectors import addresses_for_display

from .models import (
    AdmissionApplication,
    ApplicationOutcome,
    PanelDecision,
    PanelReferral,
    PlaceFigure,
    Placement,
    PostcodeCentroid,
    ProviderProfile,
    ProvisionImport,
)
from .rules import normalise_postcode

PLACES_EDIT_ROLES = frozenset({Role.CME_OFFICER, Role.CME_MANAGER, Role.ADMISSIONS})
PLACES_READ_ROLES = PLACES_EDIT_ROLES | {Role.AUDITOR}
#: The case states in which an admissions officer sees the case's provision page.
ADMISSIONS_STATES = frozenset(
    {CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION, CaseState.IN_PROVISION}
)
#: The states in which a case needs a place (shortlist, applications, panel).
NEEDS_PLACE_STATES = frozenset(
    {CaseState.LOCATED, CaseState.NEEDS_ASSESSMENT, CaseState.AWAITING_PROVISION}
)


def _active(user: User) -> bool:
    return bool(user.is_authenticated and user.is_active)


def may_see_places(user: User) -> bool:
    return _active(user) and user.has_role(*PLACES_READ_ROLES)


def may_update_places(user: User | None) -> bool:
    return user is None or (_active(user) and user.has_role(*PLACES_EDIT_ROLES))


def may_work_provision(user: User) -> bool:
    """Sees the provision pages of cases at all (the Places menu, the delay queue)."""
    return _active(user) and user.has_role(*PLACES_EDIT_ROLES)


def provision_cases_visible_to(user: User) -> QuerySet[Case]:
    """Cases whose provision page ``user`` may open."""

    if not _active(user):
        return Case.objects.none()
    qs = Case.objects.none()
    if user.has_role(*ALL_CASES_ROLES):
        qs = cases_visible_to(user)
    elif user.has_role(Role.ADMISSIONS):
        qs = Case.objects.select_related("child", "assigned_officer").filter(
            state__in=ADMISSIONS_STATES
        )
    return qs


def case_for_provision(*, actor: Actor, case_id: int) -> Case:
    """One case's provision page: raises ``Case.DoesNotExist`` out of scope. Audited (it
    shows the child's name, year group and distances from home)."""
    assert actor.user is not None
    case = provision_cases_visible_to(actor.user).select_related("provider").get(pk=case_id)
    audit_record(
        actor=actor,
        action=AuditAction.VIEW,
        obj=case,
        child_id=case.child_id,
        summary=f"Viewed the provision page of {case.reference}",
    )
    return case


def may_record_applications(user: User | None, case: Case) -> bool:
    """Applications and panel referrals: admissions officers, and CME staff who may act."""
    if user is None:
        return True
    if not _active(user):
        return False
    if user.has_role(Role.ADMISSIONS) and case.state in ADMISSIONS_STATES:
        return True

    return user.has_role(*ALL_CASES_ROLES) and may_act(user, case)


def may_change_case(user: User | None, case: Case) -> bool:
    """The steps that move the case (recommendation, start): the case services' rule."""

    return may_act(user, case)


# --- Providers and figures ------------------------------------------------------------------


def providers(*, active_only: bool = True) -> QuerySet[Organisation]:
    """Every school and alternative provider in the area (the authority running the service,
    ``CMETRACK_LA_CODE``, or with no authority recorded), with its profile where recorded."""
    qs = Organisation.objects.filter(kind=OrganisationKind.SCHOOL).filter(
        Q(local_authority__isnull=True) | Q(local_authority__code=settings.CMETRACK_LA_CODE)
    )
    if active_only:
        qs = qs.filter(is_active=True)
    return qs.select_related("provider_profile", "local_authority").order_by("name", "pk")


def current_figures(provider_ids: list[int] | None = None) -> QuerySet[PlaceFigure]:
    """The newest figure of every (provider, year group): one correlated subquery on the
    ``(provider, year_group, as_of, id)`` index."""
    newest = PlaceFigure.objects.filter(
        provider_id=OuterRef("provider_id"), year_group=OuterRef("year_group")
    ).order_by("-as_of", "-id")
    qs = PlaceFigure.objects.filter(pk=Subquery(newest.values("pk")[:1]))
    if provider_ids is not None:
        qs = qs.filter(provider_id__in=provider_ids)
    return qs.select_related("recorded_by").order_by("provider_id", "year_group")


def figures_by_provider(provider_ids: list[int] | None = None) -> dict[int, dict[int, PlaceFigure]]:
    out: dict[int, dict[int, PlaceFigure]] = defaultdict(dict)
    for figure in current_figures(provider_ids):
        out[figure.provider_id][figure.year_group] = figure
    return out


def figure_history(provider: Organisation) -> QuerySet[PlaceFigure]:
    return PlaceFigure.objects.filter(provider=provider).select_related("recorded_by")


def recent_imports(limit: int = 10) -> list[ProvisionImport]:
    return list(ProvisionImport.objects.select_related("by")[:limit])


def profile_for(provider: Organisation) -> ProviderProfile | None:
    return ProviderProfile.objects.filter(organisation=provider).first()


def centroids(postcodes: list[str]) -> dict[str, tuple[float, float]]:
    wanted = {p for p in (normalise_postcode(x) for x in postcodes) if p}
    return {
        c.postcode: (float(c.latitude), float(c.longitude))
        for c in PostcodeCentroid.objects.filter(postcode__in=wanted)
    }


def centroid_count() -> int:
    return PostcodeCentroid.objects.count()


# --- A case's provision ---------------------------------------------------------------------


def home_postcode(*, user: User, case: Case) -> tuple[str, str]:
    """The child's current home postcode as ``user`` may use it, and why not if not.

    A restricted address (fleeing domestic abuse) is used only for users a manager has
    named for the child; for anyone else no distance from it is shown.
    """

    current = [
        (a, shown)
        for a, shown in addresses_for_display(user=user, child=case.child)
        if a.is_current
    ]
    if not current:
        return "", "No current address is recorded for the child, so distances are not known."
    address, shown = current[0]
    if not shown:
        return "", (
            "The child's current address is restricted: distances from it are not shown to you."
        )
    if not normalise_postcode(address.postcode):
        return "", "The child's current address has no valid postcode, so distances are not known."
    return normalise_postcode(address.postcode), ""


def applications_for(case: Case) -> QuerySet[AdmissionApplication]:
    return AdmissionApplication.objects.filter(case=case).select_related("school", "recorded_by")


def panel_referrals_for(case: Case) -> QuerySet[PanelReferral]:
    return PanelReferral.objects.filter(case=case).select_related("named_school", "recorded_by")


def open_panel_referral(case: Case) -> PanelReferral | None:
    return (
        panel_referrals_for(case)
        .filter(Q(decision="") | Q(decision=PanelDecision.DEFERRED))
        .first()
    )


def latest_placement(case: Case) -> Placement | None:
    return Placement.objects.filter(case=case).select_related("provider").first()


@dataclass(frozen=True)
class Offer:
    """A place offered to the child: by an admission application or a panel decision."""

    school: Organisation
    on: dt.date
    how: str


def offers_for(case: Case) -> list[Offer]:
    """Places offered to the child (newest first): applications offered and panel
    decisions naming a school."""
    offers = [
        Offer(a.school, a.outcome_on or a.applied_on, "In-year admission application")
        for a in applications_for(case).filter(outcome=ApplicationOutcome.OFFERED)
    ]
    offers += [
        Offer(p.named_school, p.decision_on or p.referred_on, "Fair-access panel")
        for p in panel_referrals_for(case).filter(named_school__isnull=False)
        if p.named_school is not None
        and p.decision in (PanelDecision.SCHOOL_NAMED, PanelDecision.ALTERNATIVE)
    ]
    return sorted(offers, key=lambda o: o.on, reverse=True)


def panel_waiting_list(user: User) -> QuerySet[PanelReferral]:
    """Open panel referrals (no decision yet, or deferred) of the cases ``user`` may see,
    by panel date then referral date: the panel's agenda."""
    cases = provision_cases_visible_to(user).values("pk")
    return (
        PanelReferral.objects.filter(case__in=cases)
        .filter(Q(decision="") | Q(decision=PanelDecision.DEFERRED))
        .select_related("case__child")
        .order_by(F("panel_date").asc(nulls_last=True), "referred_on", "pk")
    )
