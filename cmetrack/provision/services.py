"""Writes of the places work. Each is one transaction with its audit row; those about a
child's case also go on the case's chronology.

The case's own statutory dates are set only through the case services:
:func:`provision_recommend` calls ``case_begin_needs_assessment`` (if the child is still
"located") and ``case_determine_provision`` (date form of provision determined, form
recommended); :func:`provision_start_record` calls ``case_move_into_provision`` (date moved
into provision, form accessed, provider). Those check who may act, the version and the
lifecycle, and write the case's audit row and state change.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.audit.services import Actor, audited_create, audited_update
from cmetrack.cases.lifecycle import CaseState, TransitionNotAllowed
from cmetrack.cases.models import Case, ChronologyKind, FormOfProvision
from cmetrack.cases.services import (
    case_begin_needs_assessment,
    case_determine_provision,
    case_move_into_provision,
    chronology_add,
)
from cmetrack.kit.dates import govuk_date
from cmetrack.organisations.models import Organisation, OrganisationKind
from cmetrack.rules.upn import InvalidUPN, normalise_upn, validate_upn

from . import selectors
from .models import (
    AdmissionApplication,
    ApplicationOutcome,
    FigureSource,
    PanelDecision,
    PanelReferral,
    PlaceFigure,
    Placement,
    ProviderProfile,
)
from .rules import year_group_label
from .shortlist import year_group_for

CLOSED_CASE = "This case is closed: record provision on a new episode for the child."


def _require_places_editor(actor: Actor) -> None:
    if not selectors.may_update_places(actor.user):
        raise PermissionDenied(
            "Only admissions officers and the CME team can update providers and places."
        )


def _require_applications(actor: Actor, case: Case) -> None:
    if not selectors.may_record_applications(actor.user, case):
        raise PermissionDenied(
            "You cannot record admissions or panel work on this case: admissions officers "
            "and the CME team can."
        )
    if case.state == CaseState.CLOSED:
        raise ValidationError(CLOSED_CASE)


def _require_provider(org: Organisation | None, field: str, what: str) -> Organisation:
    if org is None:
        raise ValidationError({field: f"Choose the {what}."})
    if org.kind != OrganisationKind.SCHOOL or not org.is_active:
        raise ValidationError({field: f"{org} is not an open school or education provider."})
    return org


def _require_area_provider(org: Organisation) -> None:
    """Places and profiles are kept for the providers in the area only."""
    if not selectors.providers().filter(pk=org.pk).exists():
        raise ValidationError({"provider": f"{org} is not a school or provider in the area."})


def _not_future(value: dt.date | None, field: str, what: str, *, required: bool = True) -> None:
    if value is None:
        if required:
            raise ValidationError({field: f"Enter {what}."})
        return
    if value > timezone.localdate():
        raise ValidationError({field: f"{what[0].upper()}{what[1:]} cannot be in the future."})


def _not_before_referral(case: Case, value: dt.date | None, field: str, what: str) -> None:
    if value is not None and value < case.date_referred:
        raise ValidationError(
            {
                field: f"{what[0].upper()}{what[1:]} cannot be before the case was referred "
                f"({govuk_date(case.date_referred)})."
            }
        )


# --- Providers and places ------------------------------------------------------------------


@transaction.atomic
def provider_profile_save(
    *,
    actor: Actor,
    provider: Organisation,
    provision_form: FormOfProvision | str,
    youngest_year: int,
    oldest_year: int,
    sen_suitability: str = "",
    sen_notes: str = "",
    latitude: object = None,
    longitude: object = None,
) -> ProviderProfile:
    """Record or change what the authority knows about a provider."""
    _require_places_editor(actor)
    _require_provider(provider, "provider", "provider")
    _require_area_provider(provider)
    values = {
        "provision_form": provision_form,
        "youngest_year": youngest_year,
        "oldest_year": oldest_year,
        "sen_suitability": sen_suitability,
        "sen_notes": sen_notes.strip(),
        "latitude": latitude,
        "longitude": longitude,
    }
    profile = ProviderProfile.objects.select_for_update().filter(organisation=provider).first()
    if profile is None:
        return audited_create(
            actor=actor,
            instance=ProviderProfile(organisation=provider, **values),
            summary=f"Recorded the provider profile of {provider}",
        )
    return audited_update(
        actor=actor,
        instance=profile,
        changes=values,
        summary=f"Changed the provider profile of {provider}",
    )


@transaction.atomic
def place_figure_record(
    *,
    actor: Actor,
    provider: Organisation,
    year_group: int,
    places: int,
    as_of: dt.date,
    source: FigureSource = FigureSource.FORM,
) -> PlaceFigure:
    """Record the places available in one year group on a date.

    The figures are history: a new row each time, the newest by date is current. The same
    figure for the same date again is not a change (the stored one is returned).
    """
    _require_places_editor(actor)
    _require_provider(provider, "provider", "provider")
    _require_area_provider(provider)
    _not_future(as_of, "as_of", "the date of the figure")
    if not 0 <= year_group <= 13:
        raise ValidationError({"year_group": "Choose a year group from Reception to Year 13."})
    if places < 0:
        raise ValidationError({"places": "The number of places cannot be negative."})
    same = PlaceFigure.objects.filter(
        provider=provider, year_group=year_group, as_of=as_of, places=places
    ).first()
    if same is not None:
        return same
    return audited_create(
        actor=actor,
        instance=PlaceFigure(
            provider=provider,
            year_group=year_group,
            places=places,
            as_of=as_of,
            source=source,
            recorded_by=actor.user,
        ),
        summary=f"{provider}: {places} places in {year_group_label(year_group)} "
        f"on {govuk_date(as_of)}",
    )


# --- Securing provision for a child ---------------------------------------------------------


@transaction.atomic
def provision_recommend(
    *,
    actor: Actor,
    case: Case,
    provision_recommended: FormOfProvision | str,
    date_provision_determined: dt.date | None,
    date_of_assessment: dt.date | None = None,
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """The form of provision recommended: sets the date form of provision determined.

    For a located child, the needs assessment is recorded first (its date), in the same
    transaction; both moves go through the case services.
    """
    if case.state == CaseState.LOCATED:
        case = case_begin_needs_assessment(
            actor=actor,
            case=case,
            date_of_assessment=date_of_assessment,
            reason="Assessed for a place.",
            expected_version=expected_version,
        )
        expected_version = case.version
    return case_determine_provision(
        actor=actor,
        case=case,
        provision_recommended=provision_recommended,
        date_provision_determined=date_provision_determined,
        reason=reason,
        expected_version=expected_version,
    )


@transaction.atomic
def admission_application_record(
    *,
    actor: Actor,
    case: Case,
    school: Organisation | None,
    applied_on: dt.date | None,
    year_group: int | None = None,
) -> AdmissionApplication:
    """An in-year admission application for the child to ``school``."""
    _require_applications(actor, case)
    school = _require_provider(school, "school", "school applied to")
    _not_future(applied_on, "applied_on", "the date of the application")
    assert applied_on is not None
    _not_before_referral(case, applied_on, "applied_on", "the date of the application")
    if year_group is None:
        year_group = year_group_for(case, applied_on or timezone.localdate())
    if year_group is None or not 0 <= year_group <= 13:
        raise ValidationError(
            {
                "year_group": "Choose the year group applied for (the child's date of birth is "
                "not recorded)."
            }
        )
    if AdmissionApplication.objects.filter(
        case=case, school=school, outcome=ApplicationOutcome.PENDING
    ).exists():
        raise ValidationError(
            {"school": f"An application to {school} is already waiting for a decision."}
        )
    application = audited_create(
        actor=actor,
        instance=AdmissionApplication(
            case=case,
            school=school,
            year_group=year_group,
            applied_on=applied_on,
            recorded_by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"In-year admission application to {school} for {case.reference}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"In-year admission application to {school} ({year_group_label(year_group)}) "
        f"made on {govuk_date(applied_on)}.",
    )
    return application


@transaction.atomic
def admission_outcome_record(
    *,
    actor: Actor,
    application: AdmissionApplication,
    outcome: ApplicationOutcome | str,
    outcome_on: dt.date | None,
    notes: str = "",
) -> AdmissionApplication:
    """The outcome of an application: offered, refused or withdrawn (once)."""
    locked = AdmissionApplication.objects.select_for_update().get(pk=application.pk)
    case = locked.case
    _require_applications(actor, case)
    if locked.outcome != ApplicationOutcome.PENDING:
        raise ValidationError(
            f"The outcome of this application was already recorded: "
            f"{locked.get_outcome_display().lower()}."
        )
    if outcome not in {
        ApplicationOutcome.OFFERED,
        ApplicationOutcome.REFUSED,
        ApplicationOutcome.WITHDRAWN,
    }:
        raise ValidationError({"outcome": "Choose the outcome of the application."})
    _not_future(outcome_on, "outcome_on", "the date of the outcome")
    if outcome_on is not None and outcome_on < locked.applied_on:
        raise ValidationError(
            {
                "outcome_on": "The date of the outcome cannot be before the application "
                f"({govuk_date(locked.applied_on)})."
            }
        )
    if outcome == ApplicationOutcome.REFUSED and not notes.strip():
        raise ValidationError({"notes": "Give the reason the school refused the place."})
    updated = audited_update(
        actor=actor,
        instance=locked,
        changes={"outcome": outcome, "outcome_on": outcome_on, "outcome_notes": notes.strip()},
        child_id=case.child_id,
        summary=f"Application to {locked.school}: {ApplicationOutcome(outcome).label.lower()}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"Application to {locked.school}: {ApplicationOutcome(outcome).label.lower()} "
        f"on {govuk_date(outcome_on)}. {notes.strip()}".strip(),
    )
    return updated


@transaction.atomic
def panel_referral_record(
    *,
    actor: Actor,
    case: Case,
    referred_on: dt.date | None,
    reason: str,
    panel_date: dt.date | None = None,
) -> PanelReferral:
    """Refer the child to the fair-access (hard-to-place) panel."""
    _require_applications(actor, case)
    _not_future(referred_on, "referred_on", "the date of the referral")
    assert referred_on is not None
    _not_before_referral(case, referred_on, "referred_on", "the date of the panel referral")
    if not reason.strip():
        raise ValidationError({"reason": "Say why the child needs the fair-access panel."})
    if panel_date is not None and referred_on is not None and panel_date < referred_on:
        raise ValidationError({"panel_date": "The panel date cannot be before the referral."})
    if selectors.open_panel_referral(case) is not None:
        raise ValidationError(
            "The child is already waiting for the panel: record its decision first."
        )
    referral = audited_create(
        actor=actor,
        instance=PanelReferral(
            case=case,
            referred_on=referred_on,
            reason=reason.strip(),
            panel_date=panel_date,
            recorded_by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Referred {case.reference} to the fair-access panel",
    )
    when = f" for the panel on {govuk_date(panel_date)}" if panel_date else ""
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.REFERRAL,
        summary=f"Referred to the fair-access panel on {govuk_date(referred_on)}{when}. "
        f"{reason.strip()}",
    )
    return referral


@transaction.atomic
def panel_decision_record(
    *,
    actor: Actor,
    referral: PanelReferral,
    decision: PanelDecision | str,
    decision_on: dt.date | None,
    named_school: Organisation | None = None,
    panel_date: dt.date | None = None,
    notes: str = "",
) -> PanelReferral:
    """The panel's decision. Naming a school (or an alternative provider) is an offer."""
    locked = PanelReferral.objects.select_for_update().get(pk=referral.pk)
    case = locked.case
    _require_applications(actor, case)
    if not locked.is_open:
        raise ValidationError(
            f"The panel's decision was already recorded: {locked.get_decision_display()}."
        )
    if decision not in PanelDecision.values:
        raise ValidationError({"decision": "Choose the panel's decision."})
    _not_future(decision_on, "decision_on", "the date of the decision")
    if decision_on is not None and decision_on < locked.referred_on:
        raise ValidationError(
            {
                "decision_on": "The date of the decision cannot be before the referral "
                f"({govuk_date(locked.referred_on)})."
            }
        )
    names_provider = decision in (PanelDecision.SCHOOL_NAMED, PanelDecision.ALTERNATIVE)
    if decision == PanelDecision.SCHOOL_NAMED and named_school is None:
        raise ValidationError({"named_school": "Choose the school the panel named."})
    if named_school is not None:
        if not names_provider:
            raise ValidationError(
                {
                    "named_school": "Only a decision naming a school or alternative provision "
                    "names a provider."
                }
            )
        _require_provider(named_school, "named_school", "school the panel named")
    changes = {
        "decision": decision,
        "decision_on": decision_on,
        "named_school": named_school,
        "decision_notes": notes.strip(),
        "panel_date": panel_date or locked.panel_date or decision_on,
    }
    updated = audited_update(
        actor=actor,
        instance=locked,
        changes=changes,
        child_id=case.child_id,
        summary=f"Fair-access panel decision for {case.reference}: "
        f"{PanelDecision(decision).label.lower()}",
    )
    named = f": {named_school}" if named_school is not None else ""
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"Fair-access panel decided on {govuk_date(decision_on)}: "
        f"{PanelDecision(decision).label}{named}. {notes.strip()}".strip(),
    )
    # A deferred referral stays open (``is_open``) and is decided again at the next panel.
    return updated


START_NEEDS_UPN = (
    "Enter the child's UPN at the new school or provider: its attendance is read by UPN "
    "before the case can close"
)


def _placement_upn(upn: str) -> str:
    code = normalise_upn(upn) if upn else ""
    if code:
        try:
            validate_upn(code)
        except InvalidUPN as exc:
            raise ValidationError({"upn": f"{code} is not a valid UPN: {exc}"}) from exc
    return code


@transaction.atomic
def placement_correct(*, actor: Actor, case: Case, upn: str, reason: str = "") -> Placement:
    """Record the start again while the child is in provision: the UPN at the provider as
    it should have been (the attendance feed is read for it). The placement is changed
    through the audited path, so the audit trail keeps the previous value. (The day the
    child started is the case's statutory date moved into provision: a manager corrects
    it with "Correct a statutory date".)"""
    if not selectors.may_change_case(actor.user, case):
        raise PermissionDenied("You cannot change this case.")
    placement = Placement.objects.select_for_update().filter(case=case).first()
    if placement is None or case.state != CaseState.IN_PROVISION:
        raise ValidationError("Only the start of a child in provision can be recorded again.")
    code = _placement_upn(upn)
    if not code:
        raise ValidationError({"upn": START_NEEDS_UPN})
    audited_update(
        actor=actor,
        instance=placement,
        changes={"upn": code},
        child_id=case.child_id,
        summary=f"{case.reference}: UPN at {placement.provider} recorded again"
        + (f" ({reason.strip()})" if reason.strip() else ""),
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CORRECTION,
        summary=f"UPN at {placement.provider} recorded again: {code}",
    )
    return placement


@transaction.atomic
def provision_start_record(
    *,
    actor: Actor,
    case: Case,
    provider: Organisation | None,
    started_on: dt.date | None,
    provision_accessed: FormOfProvision | str,
    upn: str = "",
    reason: str = "",
    expected_version: int | None = None,
) -> Case:
    """The child started at ``provider``: sets the date moved into provision (through
    ``case_move_into_provision``) and keeps the UPN the attendance feed uses there, so the
    attendance can be monitored until the case closes."""
    code = _placement_upn(upn)
    if not code and not case.child.upn:
        # Closing needs the attendance at the provider, read by UPN: ask for it now, not
        # at the close (provision/monitoring.py).
        raise ValidationError({"upn": START_NEEDS_UPN})
    moved = case_move_into_provision(
        actor=actor,
        case=case,
        provider=provider,
        date_moved_into_provision=started_on,
        provision_accessed=provision_accessed,
        reason=reason,
        expected_version=expected_version,
    )
    assert provider is not None
    assert started_on is not None
    audited_create(
        actor=actor,
        instance=Placement(
            case=moved,
            provider=provider,
            started_on=started_on,
            upn=code or (moved.child.upn or ""),
            recorded_by=actor.user,
        ),
        child_id=moved.child_id,
        summary=f"{moved.reference}: started at {provider} on {govuk_date(started_on)}",
    )
    return moved


__all__ = [
    "TransitionNotAllowed",
    "admission_application_record",
    "admission_outcome_record",
    "panel_decision_record",
    "panel_referral_record",
    "place_figure_record",
    "placement_correct",
    "provider_profile_save",
    "provision_recommend",
    "provision_start_record",
]
