"""Writes of the Virtual School: in-care records, placement moves and their alerts, personal
education plans; and the children-in-care check that deletion returns go through.

Each function validates, writes and records its audit row (against the child) in one
transaction, and puts what matters on the chronology of the child's open CME cases. A rule
refused is a ``ValidationError`` in the officer's words (on a field where there is one);
acting without the role is ``PermissionDenied``.

The people app's ``Child.in_care`` and ``Child.responsible_la`` follow the in-care record
(through ``people.services.child_update``, audited), so the case scopes, the reports and
detection (which finds children in care by UPN) all see the child as in care.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.audit.services import Actor, audited_create, audited_update
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case, ChronologyKind
from cmetrack.cases.services import chronology_add
from cmetrack.detection.models import Alert
from cmetrack.detection.registries import DeletionToCheck
from cmetrack.detection.services import alert_acknowledge, alert_dismiss
from cmetrack.kit.dates import govuk_date
from cmetrack.organisations.models import LocalAuthority, Organisation, OrganisationKind
from cmetrack.people.models import Child, FormerUpn
from cmetrack.people.services import child_update
from cmetrack.rules.upn import InvalidUPN, normalise_upn, validate_upn
from cmetrack.safeguarding.services import virtual_school_tell

from . import rules
from .models import (
    ChildInCare,
    PepReview,
    PepTarget,
    PersonalEducationPlan,
    Placement,
    PlacementAlert,
    PlacementAlertReason,
    SuitableEducation,
)
from .selectors import child_on_roll, may_work_vs, may_write_cic

NOT_ALLOWED_CIC = (
    "Only Virtual School officers and the CME team can record a child's in-care details."
)
NOT_ALLOWED_VS = "Only Virtual School officers can do this."
RECORD_ENDED = (
    "This child has ceased to be looked after: record that they came back into care first."
)

#: The fields of an in-care record a person may change (the child is fixed).
RECORD_FIELDS = (
    "responsible_authority",
    "legal_status",
    "came_into_care_on",
    "ceased_on",
    "social_worker_name",
    "social_worker_team",
    "social_worker_phone",
    "social_worker_email",
    "lead_officer",
)
PLACEMENT_FIELDS = (
    "started_on",
    "placement_type",
    "placing_authority",
    "carer",
    "line1",
    "line2",
    "town",
    "postcode",
    "is_restricted",
    "school",
    "school_name",
    "school_admitted_on",
    "reason",
)
PEP_FIELDS = (
    "family_contacts",
    "key_contacts",
    "meeting_on",
    "attendees",
    "summary",
    "suitable_education",
    "suitable_education_reasons",
    "review_on",
)
TARGET_FIELDS = ("actions", "responsible", "due_on", "status", "progress")


def _require_cic_writer(actor: Actor) -> None:
    if not may_write_cic(actor.user):
        raise PermissionDenied(NOT_ALLOWED_CIC)


def _require_vs(actor: Actor) -> None:
    if not may_work_vs(actor.user):
        raise PermissionDenied(NOT_ALLOWED_VS)


def _open_cases(child_id: int) -> list[Case]:
    return list(Case.objects.filter(child_id=child_id, state__in=OPEN_STATES))


def _on_open_cases(actor: Actor, child_id: int, summary: str) -> None:
    for case in _open_cases(child_id):
        chronology_add(actor=actor, case=case, kind=ChronologyKind.NOTE, summary=summary)


def _check_lead(lead: User | None) -> None:
    if lead is not None and not (
        lead.is_active and not lead.is_service_account and lead.has_role(Role.VIRTUAL_SCHOOL)
    ):
        raise ValidationError({"lead_officer": "Choose a Virtual School officer"})


def _clean_upn(raw: str) -> str:
    upn = normalise_upn(raw)
    try:
        validate_upn(upn)
    except InvalidUPN as exc:
        raise ValidationError({"upn": str(exc)}) from exc
    return upn


def _sync_child(actor: Actor, record: ChildInCare, *, upn: str | None = None) -> None:
    """Keep the child's own in-care flag, responsible authority (and UPN) in step."""
    child = record.child
    changes: dict[str, Any] = {
        "in_care": record.is_current,
        "responsible_la": record.responsible_authority if record.is_current else None,
    }
    if upn and upn != child.upn:
        clash = Child.objects.filter(upn=upn).exclude(pk=child.pk).exists()
        if clash:
            raise ValidationError(
                {
                    "upn": "Another child's record has this UPN: check it, or ask the CME team "
                    "to merge the records"
                }
            )
        changes["upn"] = upn
    # The care status is a dated fact: from the day the child came into care (or ceased
    # to be looked after), so earlier days' figures keep the status they had.
    took_effect = (record.came_into_care_on if record.is_current else record.ceased_on) or None
    if took_effect is not None:
        took_effect = min(took_effect, timezone.localdate())
    child_update(
        actor=actor,
        child=child,
        effective_on=took_effect,
        reason="The date recorded on the child's in-care record.",
        # The in-care record is the source: its dates replace what was recorded after.
        replace_later=True,
        **changes,
    )


def _tell_virtual_school(actor: Actor, child_id: int) -> None:
    """Each open CME case of the child: the Virtual School leads (safeguarding's notice and
    the lead's task), told once."""

    for case in _open_cases(child_id):
        virtual_school_tell(actor=actor, case=case)


# --- In-care records -----------------------------------------------------------------------


@transaction.atomic
def cic_record_create(
    *,
    actor: Actor,
    child: Child,
    responsible_authority: LocalAuthority,
    legal_status: str,
    came_into_care_on: dt.date,
    social_worker_name: str,
    social_worker_team: str = "",
    social_worker_phone: str = "",
    social_worker_email: str = "",
    lead_officer: User | None = None,
    upn: str = "",
    placement: Mapping[str, Any] | None = None,
) -> ChildInCare:
    """Record that ``child`` is in care, with their first (current) placement if known.

    The child is marked in care with the responsible authority; a UPN given is recorded on
    the child (detection finds children in care by UPN for the attendance alert)."""
    _require_cic_writer(actor)
    existing = ChildInCare.objects.filter(child=child).first()
    if existing is not None:
        raise ValidationError(
            "This child already has an in-care record: change that record instead."
        )
    _check_lead(lead_officer)
    clean_upn = _clean_upn(upn) if upn.strip() else None
    record = ChildInCare(
        child=child,
        responsible_authority=responsible_authority,
        legal_status=legal_status,
        came_into_care_on=came_into_care_on,
        social_worker_name=social_worker_name.strip(),
        social_worker_team=social_worker_team.strip(),
        social_worker_phone=social_worker_phone.strip(),
        social_worker_email=social_worker_email.strip(),
        lead_officer=lead_officer,
    )
    audited_create(
        actor=actor, instance=record, child_id=child.pk, summary="Recorded the child is in care"
    )
    _sync_child(actor, record, upn=clean_upn)
    if placement:
        _placement_add(actor, record, dict(placement), previous=None)
    _on_open_cases(
        actor,
        child.pk,
        f"Child in care since {govuk_date(came_into_care_on)} "
        f"({record.get_legal_status_display()}), responsible authority "
        f"{responsible_authority.name}: the Virtual School leads.",
    )
    _tell_virtual_school(actor, child.pk)
    return record


@transaction.atomic
def cic_record_update(
    *, actor: Actor, record: ChildInCare, upn: str = "", **changes: Any
) -> ChildInCare:
    """Change an in-care record. Ceasing care (``ceased_on``) ends the current placement,
    closes its open alerts and takes the in-care flag off the child; clearing it again
    records that the child is back in care."""
    _require_cic_writer(actor)
    unknown = set(changes) - set(RECORD_FIELDS)
    if unknown:
        raise ValueError(f"Not fields of an in-care record: {sorted(unknown)}")
    if "lead_officer" in changes:
        _check_lead(changes["lead_officer"])
    for text in ("social_worker_name", "social_worker_team", "social_worker_phone"):
        if text in changes:
            changes[text] = (changes[text] or "").strip()
    record = ChildInCare.objects.select_for_update().select_related("child").get(pk=record.pk)
    was_current = record.is_current
    ceased = changes.get("ceased_on", record.ceased_on)
    current = record.placements.filter(ended_on__isnull=True).first()
    if ceased is not None:
        if ceased > timezone.localdate():
            raise ValidationError(
                {"ceased_on": "The date ceased to be looked after must be today or in the past"}
            )
        if current is not None and ceased < current.started_on:
            raise ValidationError(
                {
                    "ceased_on": "The date ceased to be looked after must be on or after the "
                    f"start of the current placement ({govuk_date(current.started_on)})"
                }
            )
    audited_update(
        actor=actor,
        instance=record,
        changes=changes,
        child_id=record.child_id,
        summary="Changed the child's in-care record",
    )
    _sync_child(actor, record, upn=_clean_upn(upn) if upn.strip() else None)
    if was_current and not record.is_current:
        assert record.ceased_on is not None
        if current is not None:
            _placement_end(actor, current, record.ceased_on)
        for alert in PlacementAlert.objects.filter(
            placement__record=record, resolved_on__isnull=True
        ):
            _alert_resolve(actor, alert, "The child ceased to be looked after")
        _on_open_cases(
            actor,
            record.child_id,
            f"The child ceased to be looked after on {govuk_date(record.ceased_on)}.",
        )
    elif not was_current and record.is_current:
        _on_open_cases(
            actor, record.child_id, "The child is in care again: the Virtual School leads."
        )
        _tell_virtual_school(actor, record.child_id)
    return record


# --- Placements ----------------------------------------------------------------------------


def _placement_values(values: dict[str, Any]) -> dict[str, Any]:
    unknown = set(values) - set(PLACEMENT_FIELDS)
    if unknown:
        raise ValueError(f"Not fields of a placement: {sorted(unknown)}")
    for text in ("carer", "line1", "line2", "town", "school_name", "reason"):
        values[text] = (values.get(text) or "").strip()
    values["postcode"] = (values.get("postcode") or "").strip().upper()
    school = values.get("school")
    if school is not None and (
        not isinstance(school, Organisation) or school.kind != OrganisationKind.SCHOOL
    ):
        raise ValidationError({"school": "Choose a school"})
    if school is not None:
        values["school_name"] = ""
    admitted = values.get("school_admitted_on")
    if admitted is not None and not (school is not None or values["school_name"]):
        raise ValidationError(
            {"school_admitted_on": "Name the school before giving the date it admitted the child"}
        )
    if admitted is not None and admitted > timezone.localdate():
        raise ValidationError(
            {
                "school_admitted_on": "The date the school admitted the child must be today or "
                "in the past: record it once the school has admitted them"
            }
        )
    return values


def _placement_add(
    actor: Actor, record: ChildInCare, values: dict[str, Any], *, previous: Placement | None
) -> Placement:
    values = _placement_values(values)
    problem = rules.placement_dates_problem(
        previous_start=previous.started_on if previous else None,
        new_start=values["started_on"],
        came_into_care=record.came_into_care_on,
        today=timezone.localdate(),
    )
    if problem:
        raise ValidationError({"started_on": problem})
    placement = Placement(record=record, recorded_by=actor.user, **values)
    return audited_create(
        actor=actor,
        instance=placement,
        child_id=record.child_id,
        summary="Recorded a care placement"
        + (" (restricted address)" if placement.is_restricted else ""),
    )


def _placement_end(actor: Actor, placement: Placement, on: dt.date) -> None:
    audited_update(
        actor=actor,
        instance=placement,
        changes={"ended_on": on},
        child_id=placement.record.child_id,
        summary="Ended a care placement",
    )


def _gap_for(placement: Placement) -> rules.SchoolGap | None:
    return rules.placement_school_gap(
        school_recorded=placement.has_school,
        admitted_on=placement.school_admitted_on,
        on_roll=child_on_roll(upn=placement.record.child.upn, school_id=placement.school_id),
    )


def _alert_raise(actor: Actor, placement: Placement, gap: rules.SchoolGap) -> PlacementAlert:
    existing = PlacementAlert.objects.filter(placement=placement, reason=str(gap)).first()
    if existing is not None:
        return existing
    alert = PlacementAlert(
        placement=placement, reason=PlacementAlertReason(str(gap)), raised_on=timezone.localdate()
    )
    audited_create(
        actor=actor,
        instance=alert,
        child_id=placement.record.child_id,
        summary=f"Virtual School alert: {alert.get_reason_display()}",
    )
    _on_open_cases(
        actor,
        placement.record.child_id,
        f"Child in care moved placement on {govuk_date(placement.started_on)} without a "
        f"school place ({alert.get_reason_display().lower()}): Virtual School alert raised.",
    )
    return alert


def _alert_resolve(actor: Actor, alert: PlacementAlert, resolution: str) -> PlacementAlert:
    return audited_update(
        actor=actor,
        instance=alert,
        changes={
            "resolved_on": timezone.localdate(),
            "resolved_by": actor.user,
            "resolution": resolution[:300],
        },
        child_id=alert.placement.record.child_id,
        summary=f"Resolved Virtual School alert: {alert.get_reason_display()}",
    )


def _refresh_alerts(actor: Actor, placement: Placement, resolution: str) -> PlacementAlert | None:
    """Raise the alert the placement's school place calls for; resolve the others."""
    gap = _gap_for(placement)
    for alert in placement.alerts.filter(resolved_on__isnull=True):
        if gap is None or alert.reason != str(gap):
            _alert_resolve(actor, alert, resolution)
    return _alert_raise(actor, placement, gap) if gap is not None else None


def _same_school(previous: Placement, values: Mapping[str, Any]) -> bool:
    school = values.get("school")
    if school is not None:
        return bool(previous.school_id == school.pk)
    name = str(values.get("school_name") or "").strip().lower()
    return bool(name) and previous.school_id is None and previous.school_name.lower() == name


@dataclass(frozen=True)
class PlacementMove:
    placement: Placement
    alert: PlacementAlert | None


@transaction.atomic
def placement_change(*, actor: Actor, record: ChildInCare, **values: Any) -> PlacementMove:
    """The child moves to a new placement: the current one ends on the day of the move.

    A new placement with no school recorded, or with a school that has not admitted the
    child (no admission date, not on its roll since the move), raises a Virtual School
    alert and says so on the chronology of the child's open CME cases."""
    _require_cic_writer(actor)
    record = ChildInCare.objects.select_for_update().select_related("child").get(pk=record.pk)
    if not record.is_current:
        raise ValidationError(RECORD_ENDED)
    previous = record.placements.filter(ended_on__isnull=True).first()
    values = dict(values)
    if "started_on" not in values or values["started_on"] is None:
        raise ValidationError({"started_on": "Enter the date of the move"})
    if previous is not None:
        problem = rules.placement_dates_problem(
            previous_start=previous.started_on,
            new_start=values["started_on"],
            came_into_care=record.came_into_care_on,
            today=timezone.localdate(),
        )
        if problem:
            raise ValidationError({"started_on": problem})
        _placement_end(actor, previous, values["started_on"])
        if _same_school(previous, values) and values.get("school_admitted_on") is None:
            # The child stays at their school: the place they had is kept.
            values["school_admitted_on"] = previous.school_admitted_on
    placement = _placement_add(actor, record, values, previous=previous)
    placement.record = record
    _on_open_cases(
        actor,
        record.child_id,
        f"Child in care moved placement on {govuk_date(placement.started_on)} "
        f"({placement.get_placement_type_display()}); school: {placement.school_display}.",
    )
    alert = _refresh_alerts(actor, placement, "School place recorded")
    return PlacementMove(placement=placement, alert=alert)


@transaction.atomic
def placement_record_school(
    *,
    actor: Actor,
    placement: Placement,
    school: Organisation | None = None,
    school_name: str = "",
    school_admitted_on: dt.date | None = None,
) -> PlacementMove:
    """Record the school of the current placement (and the date it admitted the child).
    The placement's open alerts are resolved once the child has a school place."""
    _require_cic_writer(actor)
    placement = Placement.objects.select_related("record__child").get(pk=placement.pk)
    if not placement.is_current:
        raise ValidationError("Only the current placement's school can be changed.")
    values = _placement_values(
        {"school": school, "school_name": school_name, "school_admitted_on": school_admitted_on}
    )
    for text in ("carer", "line1", "line2", "town", "postcode", "reason"):
        values.pop(text, None)
    if not (values["school"] or values["school_name"]):
        raise ValidationError({"school": "Choose the school, or type its name"})
    audited_update(
        actor=actor,
        instance=placement,
        changes=values,
        child_id=placement.record.child_id,
        summary="Recorded the school of the care placement",
    )
    alert = _refresh_alerts(actor, placement, f"School place recorded: {placement.school_display}")
    return PlacementMove(placement=placement, alert=alert)


def placement_alert_resolve(
    *, actor: Actor, alert: PlacementAlert, resolution: str
) -> PlacementAlert:
    """A Virtual School officer closes an alert, saying how the school place was found."""
    _require_vs(actor)
    resolution = resolution.strip()
    if not resolution:
        raise ValidationError({"resolution": "Enter how the child's school place was sorted out"})
    if not alert.is_open:
        raise ValidationError("This alert is already resolved.")
    with transaction.atomic():
        return _alert_resolve(actor, alert, resolution)


# --- Attendance alerts (detection's IN_CARE_ATTENDANCE) -------------------------------------


def attendance_alert_acknowledge(*, actor: Actor, alert: Alert) -> Alert:

    _require_vs(actor)
    return alert_acknowledge(actor=actor, alert=alert)


def attendance_alert_dismiss(*, actor: Actor, alert: Alert, reason: str) -> Alert:

    _require_vs(actor)
    return alert_dismiss(actor=actor, alert=alert, reason=reason)


# --- Personal education plans ---------------------------------------------------------------


def _check_pep(values: Mapping[str, Any]) -> None:
    errors: dict[str, str] = {}
    meeting = values.get("meeting_on")
    review = values.get("review_on")
    if meeting is not None and meeting > timezone.localdate():
        errors["meeting_on"] = "The date of the PEP meeting must be today or in the past"
    if meeting is not None and review is not None:
        problem = rules.pep_review_problem(meeting, review)
        if problem:
            errors["review_on"] = problem
    if values.get("suitable_education") not in SuitableEducation.values:
        errors["suitable_education"] = "Select yes, no or not known"
    else:
        problem = rules.suitable_education_problem(
            values["suitable_education"], values.get("suitable_education_reasons") or ""
        )
        if problem:
            errors["suitable_education_reasons"] = problem
    for name, message in (
        ("attendees", "Enter who attended the PEP meeting"),
        ("summary", "Enter a summary of the PEP meeting"),
    ):
        if name in values and not (values[name] or "").strip():
            errors[name] = message
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def pep_create(
    *,
    actor: Actor,
    record: ChildInCare,
    case: Case,
    meeting_on: dt.date,
    attendees: str,
    summary: str,
    suitable_education: str,
    suitable_education_reasons: str = "",
    review_on: dt.date | None = None,
    family_contacts: str = "",
    key_contacts: str = "",
    targets: Mapping[str, Mapping[str, Any]] | None = None,
) -> PersonalEducationPlan:
    """The education plan of a child in care on an open CME case, with its two standard
    targets (forms.md §6). The review date defaults to a month after the meeting and is
    at most a term after it."""
    _require_vs(actor)
    if case.child_id != record.child_id:
        raise ValidationError({"case": "Choose a CME case of this child"})
    if not case.is_open:
        raise ValidationError(
            {
                "case": "This case is closed: a PEP for a child missing education is written on "
                "an open case"
            }
        )
    if not record.is_current:
        raise ValidationError(RECORD_ENDED)
    values: dict[str, Any] = {
        "meeting_on": meeting_on,
        "attendees": attendees.strip(),
        "summary": summary.strip(),
        "suitable_education": suitable_education,
        "suitable_education_reasons": suitable_education_reasons.strip(),
        "review_on": review_on or rules.default_pep_review_date(meeting_on),
        "family_contacts": family_contacts.strip(),
        "key_contacts": key_contacts.strip(),
    }
    _check_pep(values)
    pep = PersonalEducationPlan(record=record, case=case, created_by=actor.user, **values)
    audited_create(
        actor=actor,
        instance=pep,
        child_id=record.child_id,
        summary="Wrote a personal education plan",
    )
    for standard in rules.STANDARD_TARGETS:
        given = dict((targets or {}).get(standard.area, {}))
        target = PepTarget(
            pep=pep,
            area=standard.area,
            actions=(given.pop("actions", "") or "").strip() or standard.actions,
            intervention=standard.intervention,
            improvement=standard.improvement,
            **_target_values(given),
        )
        audited_create(
            actor=actor,
            instance=target,
            child_id=record.child_id,
            summary=f"PEP target: {standard.label}",
        )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"Personal education plan: meeting on {govuk_date(meeting_on)}; receiving "
        f"suitable education: {pep.get_suitable_education_display().lower()}; review by "
        f"{govuk_date(pep.review_on)}.",
    )
    return pep


def _target_values(given: Mapping[str, Any]) -> dict[str, Any]:
    unknown = set(given) - set(TARGET_FIELDS)
    if unknown:
        raise ValueError(f"Not fields of a PEP target: {sorted(unknown)}")
    out = dict(given)
    for text in ("responsible", "progress"):
        if text in out:
            out[text] = (out[text] or "").strip()
    return out


@transaction.atomic
def pep_update(
    *,
    actor: Actor,
    pep: PersonalEducationPlan,
    targets: Mapping[str, Mapping[str, Any]] | None = None,
    **changes: Any,
) -> PersonalEducationPlan:
    """Correct or complete a plan and its targets (progress, who, by when)."""
    _require_vs(actor)
    unknown = set(changes) - set(PEP_FIELDS)
    if unknown:
        raise ValueError(f"Not fields of a PEP: {sorted(unknown)}")
    for text in (
        "attendees",
        "summary",
        "suitable_education_reasons",
        "family_contacts",
        "key_contacts",
    ):
        if text in changes:
            changes[text] = (changes[text] or "").strip()
    merged = {name: getattr(pep, name) for name in PEP_FIELDS} | changes
    _check_pep(merged)
    child_id = pep.record.child_id
    audited_update(
        actor=actor, instance=pep, changes=changes, child_id=child_id, summary="Changed the PEP"
    )
    for target in pep.targets.all():
        given = (targets or {}).get(target.area)
        if given:
            values = _target_values(given)
            if "actions" in values and not (values["actions"] or "").strip():
                values["actions"] = rules.TARGETS_BY_AREA[target.area].actions
            audited_update(
                actor=actor,
                instance=target,
                changes=values,
                child_id=child_id,
                summary=f"Changed the PEP target: {target.get_area_display()}",
            )
    return pep


@transaction.atomic
def pep_review_record(
    *,
    actor: Actor,
    pep: PersonalEducationPlan,
    reviewed_on: dt.date,
    attendees: str,
    summary: str,
    suitable_education: str,
    suitable_education_reasons: str = "",
    next_review_on: dt.date | None = None,
) -> PepReview:
    """A review meeting: recorded, and the plan's next review date moves on (a month after
    the review unless given; at most a term)."""
    _require_vs(actor)
    if reviewed_on < pep.meeting_on:
        raise ValidationError(
            {
                "reviewed_on": "The review must be on or after the PEP meeting "
                f"({govuk_date(pep.meeting_on)})"
            }
        )
    next_review = next_review_on or rules.default_pep_review_date(reviewed_on)
    values: dict[str, Any] = {
        "meeting_on": reviewed_on,
        "review_on": next_review,
        "attendees": attendees.strip(),
        "summary": summary.strip(),
        "suitable_education": suitable_education,
        "suitable_education_reasons": suitable_education_reasons.strip(),
    }
    try:
        _check_pep(values)
    except ValidationError as exc:
        renamed = {
            {"meeting_on": "reviewed_on", "review_on": "next_review_on"}.get(k, k): v
            for k, v in exc.message_dict.items()
        }
        raise ValidationError(renamed) from exc
    review = PepReview(
        pep=pep,
        reviewed_on=reviewed_on,
        attendees=values["attendees"],
        summary=values["summary"],
        suitable_education=suitable_education,
        suitable_education_reasons=values["suitable_education_reasons"],
        next_review_on=next_review,
        reviewed_by=actor.user,
    )
    child_id = pep.record.child_id
    audited_create(actor=actor, instance=review, child_id=child_id, summary="Reviewed the PEP")
    audited_update(
        actor=actor,
        instance=pep,
        changes={"review_on": next_review},
        child_id=child_id,
        summary="Set the PEP's next review date",
    )
    chronology_add(
        actor=actor,
        case=pep.case,
        kind=ChronologyKind.NOTE,
        summary=f"PEP reviewed on {govuk_date(reviewed_on)}; next review by "
        f"{govuk_date(next_review)}.",
    )
    return review


# --- Deletion returns: a child in care stays on roll until admitted elsewhere ----------------


def in_care_upns(upns: Iterable[str]) -> set[str]:
    """Which of ``upns`` belong to a child in care (their UPN or a former UPN). One query
    each, however many rows."""
    wanted = {u for u in upns if u}
    if not wanted:
        return set()
    found = set(Child.objects.filter(in_care=True, upn__in=wanted).values_list("upn", flat=True))
    found |= set(
        FormerUpn.objects.filter(child__in_care=True, upn__in=wanted).values_list("upn", flat=True)
    )
    return {u for u in found if u}


def deletion_return_refusals(rows: Iterable[DeletionToCheck]) -> list[tuple[int, str]]:
    """``(line, message)`` for each deletion return refused because the pupil is a child in
    care who no new school has admitted (:func:`rules.deletion_refusal`)."""
    rows = list(rows)
    in_care = in_care_upns(r.upn for r in rows)
    refusals = []
    for row in rows:
        message = rules.deletion_refusal(
            in_care=row.upn in in_care,
            ground=row.ground,
            deleted_on=row.deleted_on,
            new_school_named=row.new_school_named,
            new_school_start=row.new_school_start,
        )
        if message:
            refusals.append((row.line, message))
    return refusals
