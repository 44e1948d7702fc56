"""Writes of the registers the authority keeps about children (audited).

The home-education list: a child is added when a parent tells the authority, when a
school's deletion return gives ground (f), or when a CME case closes as home educated.
No further action is the default. A welfare concern opens a case through the referral
pathway, which registers how (:data:`CONCERN_CASE_OPENERS`,
:func:`home_education_concern_record`). Withdrawing a child who needs the authority's
consent (``registers.consent``) is refused until consent is given.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from cmetrack.audit.services import Actor, audited_create, audited_update
from cmetrack.cases.models import Case
from cmetrack.organisations.models import Organisation, SchoolType
from cmetrack.people.choices import Relationship, SenProvision
from cmetrack.people.models import Child, FormerUpn
from cmetrack.people.services import child_add_address, child_add_parent_carer, child_create
from cmetrack.rules import is_valid_upn

from .models import (
    ConsentStatus,
    EheEnd,
    EheReason,
    HomeEducationConcern,
    HomeEducationConsentRequest,
    HomeEducationNotice,
    HomeEducationNoticeKind,
    HomeEducationRecord,
    LearntFrom,
    SenStatus,
)
from .selectors import (
    consent_answer,
    ground_f_deletion_problem,
    may_decide_consent,
    may_keep_home_education_list,
)

SEN_FROM_CHILD = {
    SenProvision.EHC_PLAN: SenStatus.EHC_PLAN,
    SenProvision.SEN_SUPPORT: SenStatus.SEN_SUPPORT,
    SenProvision.NONE: SenStatus.NONE,
}


def _require_keeper(actor: Actor) -> None:
    """People must keep the list (CME officers and managers); system jobs may write."""
    if actor.user is not None and not may_keep_home_education_list(actor.user):
        raise PermissionDenied("Only the CME team keeps the home-education list.")


@transaction.atomic
def home_education_record_add(
    *,
    actor: Actor,
    child: Child,
    started_on: dt.date,
    source: str = "",
    case: Case | None = None,
    learnt_from: LearntFrom | str | None = None,
    learnt_on: dt.date | None = None,
    previous_school: Organisation | None = None,
    previous_school_name: str = "",
    sen_status: SenStatus | str | None = None,
) -> HomeEducationRecord:
    """Put ``child`` on the home-education list; a child already on it stays as they are.

    ``learnt_from`` defaults to "found during a CME case" when ``case`` is given.
    A child withdrawn from ``previous_school`` who needs the authority's consent
    (child protection, special school) is refused until consent has been given: a
    ``ValidationError`` naming the reason. A child found during a CME case is already off
    roll, so no withdrawal (and no consent) is involved."""
    if case is None:  # a case's own services already checked who may close it
        _require_keeper(actor)
    return _record_add(
        actor=actor,
        child=child,
        started_on=started_on,
        source=source,
        case=case,
        learnt_from=learnt_from,
        learnt_on=learnt_on,
        previous_school=previous_school,
        previous_school_name=previous_school_name,
        sen_status=sen_status,
    )


def _learnt_during(case: Case | None) -> dt.date | None:
    """A child found home educated during a case: learnt of when located (or at closing)."""
    if case is None:
        return None
    return case.located_on or case.closed_on


def _record_add(
    *,
    actor: Actor,
    child: Child,
    started_on: dt.date,
    source: str = "",
    case: Case | None = None,
    learnt_from: LearntFrom | str | None = None,
    learnt_on: dt.date | None = None,
    previous_school: Organisation | None = None,
    previous_school_name: str = "",
    sen_status: SenStatus | str | None = None,
) -> HomeEducationRecord:
    current = (
        HomeEducationRecord.objects.select_for_update()
        .filter(child=child, ended_on__isnull=True)
        .first()
    )
    if current is not None:
        return current
    route = learnt_from or (LearntFrom.CASE if case is not None else LearntFrom.OTHER)
    if previous_school is not None and route != LearntFrom.CASE:
        answer = consent_answer(child=child, school=previous_school)
        if not answer.allowed:
            raise ValidationError({"previous_school": answer.reason})
    record = HomeEducationRecord(
        child=child,
        started_on=started_on,
        source=source.strip(),
        case=case,
        learnt_from=route,
        learnt_on=learnt_on or _learnt_during(case) or timezone.localdate(),
        previous_school=previous_school,
        previous_school_name=previous_school_name.strip(),
        sen_status=sen_status or SEN_FROM_CHILD.get(child.sen_provision, SenStatus.UNKNOWN),  # type: ignore[call-overload]
        recorded_by=actor.user,
    )
    return audited_create(
        actor=actor, instance=record, child_id=child.pk, summary="Added to the home-education list"
    )


@transaction.atomic
def home_education_record_end(
    *,
    actor: Actor,
    record: HomeEducationRecord,
    ended_on: dt.date,
    reason: str,
    ended_because: EheEnd | str = "",
) -> HomeEducationRecord:
    """Take the child off the list (back at school, moved away, past school age).
    ``ended_because`` is the coded reason the DfE return counts (returned to school)."""
    _require_keeper(actor)
    locked = HomeEducationRecord.objects.select_for_update().get(pk=record.pk)
    if locked.ended_on is not None:
        raise ValidationError("This child is already off the home-education list.")
    if ended_on > timezone.localdate():
        raise ValidationError({"ended_on": "The end date must be today or in the past"})
    if ended_because and ended_because not in EheEnd.values:
        raise ValidationError({"ended_because": "Choose why home education ended."})
    return audited_update(
        actor=actor,
        instance=locked,
        changes={
            "ended_on": ended_on,
            "end_reason": reason.strip(),
            "ended_because": str(ended_because),
        },
        child_id=locked.child_id,
        summary="Taken off the home-education list",
    )


@transaction.atomic
def home_education_reason_record(
    *, actor: Actor, record: HomeEducationRecord, primary_reason: EheReason | str
) -> HomeEducationRecord:
    """Record the parent's primary reason for home education (the DfE return's)."""
    _require_keeper(actor)
    if primary_reason not in EheReason.values:
        raise ValidationError({"primary_reason": "Choose the primary reason for home education."})
    locked = HomeEducationRecord.objects.select_for_update().get(pk=record.pk)
    return audited_update(
        actor=actor,
        instance=locked,
        changes={"primary_reason": str(primary_reason)},
        child_id=locked.child_id,
        summary="Recorded the primary reason for home education",
    )


@transaction.atomic
def home_education_notice_record(
    *,
    actor: Actor,
    record: HomeEducationRecord,
    kind: HomeEducationNoticeKind | str,
    served_on: dt.date | None,
    notes: str = "",
) -> HomeEducationNotice:
    """Record a section 437(1) notice or a school attendance order served on the parent of
    a child on the list (counted in the DfE return over the year). A school attendance
    order follows a 437(1) notice already served."""
    _require_keeper(actor)
    errors: dict[str, str] = {}
    if kind not in HomeEducationNoticeKind.values:
        errors["kind"] = "Choose a section 437(1) notice or a school attendance order."
    if served_on is None:
        errors["served_on"] = "Enter the date the notice was served."
    elif served_on > timezone.localdate():
        errors["served_on"] = "The date served must be today or in the past."
    elif served_on < record.started_on:
        errors["served_on"] = "The date served cannot be before the child went on the list."
    if (
        not errors
        and kind == HomeEducationNoticeKind.SAO
        and not record.notices.filter(
            kind=HomeEducationNoticeKind.S437_1, served_on__lte=served_on
        ).exists()
    ):
        errors["kind"] = (
            "A school attendance order follows a section 437(1) notice: record the notice first."
        )
    if errors:
        raise ValidationError(errors)
    assert served_on is not None
    notice = HomeEducationNotice(
        record=record,
        kind=str(kind),
        served_on=served_on,
        notes=notes.strip(),
        recorded_by=actor.user,
    )
    return audited_create(
        actor=actor,
        instance=notice,
        child_id=record.child_id,
        summary=f"Recorded {notice.get_kind_display()} served {served_on.isoformat()}",
    )


# --- from a school's deletion return -------------------------------------------------------


def child_find_or_create(*, actor: Actor, **identity: Any) -> Child:
    """The child described (see :func:`_find_or_create`), for the CME team."""
    _require_keeper(actor)
    return _find_or_create(actor=actor, **identity)


def _find_or_create(
    *,
    actor: Actor,
    given_names: str,
    family_name: str,
    dob: dt.date | None,
    upn: str = "",
    address: str = "",
    postcode: str = "",
    parent_name: str = "",
    parent_phone: str = "",
    since: dt.date | None = None,
) -> Child:
    """The child described: by UPN (current or former), else by exact name and date of
    birth, else a new child record with the address and parent given. A child on the
    home-education list is a child the authority works with (it must keep them on its
    register), so the record is made (docs/adr/0008: registers are not children until the
    authority works with them)."""

    upn = upn.strip().upper()
    child = Child.objects.filter(upn=upn).first() if upn else None
    if child is None and upn:
        former = FormerUpn.objects.filter(upn=upn).select_related("child").first()
        child = former.child if former else None
    if child is None and dob is not None:
        child = Child.objects.filter(
            legal_given_names__iexact=given_names.strip(),
            legal_family_name__iexact=family_name.strip(),
            dob=dob,
        ).first()
    if child is not None:
        return child
    child = child_create(
        actor=actor,
        legal_given_names=given_names.strip(),
        legal_family_name=family_name.strip(),
        dob=dob,
        upn=upn if upn and is_valid_upn(upn) else None,
    )
    if address.strip():
        child_add_address(
            actor=actor,
            child=child,
            line1=address.strip()[:150],
            postcode=postcode.strip().upper()[:10],
            date_from=since,
        )
    if parent_name.strip():
        given, _, family = parent_name.strip().rpartition(" ")
        child_add_parent_carer(
            actor=actor,
            child=child,
            given_names=given or family,
            family_name=family if given else "",
            relationship=Relationship.OTHER,
            phone=parent_phone.strip()[:40],
            address=address.strip()[:300],
        )
    return child


def home_education_deletion_refusals(
    rows: Iterable[tuple[int, str, str, Organisation]],
) -> list[tuple[int, str]]:
    """For the deletion-return import (every path: form, CSV, API): the (line, message)
    of each ground (f) deletion the school may not make yet, because the child needs the
    authority's consent to be home educated and it has not been given. ``rows`` are
    (line, UPN, ground, school)."""

    out = []
    for line, upn, ground, school in rows:
        if ground != "f":
            continue
        problem = ground_f_deletion_problem(upn=upn, school=school)
        if problem:
            out.append((line, problem))
    return out


class DeletionFacts(Protocol):
    """What a school's deletion return (``detection.DeletionReturn``, above registers)
    tells the home-education list."""

    ground: str
    legal_given_name: str
    legal_family_name: str
    dob: dt.date
    upn: str
    future_address: str
    future_postcode: str
    parent_name: str
    parent_phone: str
    deleted_on: dt.date
    submitted_at: dt.datetime
    school: Organisation


@transaction.atomic
def home_education_from_deletion_return(
    *, actor: Actor, deletion: DeletionFacts
) -> HomeEducationRecord | None:
    """A school deleted a pupil on ground (f): put the child on the home-education list,
    from the deletion date, learnt from the return on the day it was submitted.
    Returns None for any other ground. Idempotent: a child already on the list stays."""
    if deletion.ground != "f":
        return None
    child = _find_or_create(
        actor=actor,
        given_names=deletion.legal_given_name,
        family_name=deletion.legal_family_name,
        dob=deletion.dob,
        upn=deletion.upn,
        address=deletion.future_address,
        postcode=deletion.future_postcode,
        parent_name=deletion.parent_name,
        parent_phone=deletion.parent_phone,
        since=deletion.deleted_on,
    )
    return _record_add(
        actor=actor,
        child=child,
        started_on=deletion.deleted_on,
        source=f"Deletion return from {deletion.school}, ground (f), deleted "
        f"{deletion.deleted_on:%d %b %Y}",
        learnt_from=LearntFrom.DELETION_RETURN,
        learnt_on=timezone.localtime(deletion.submitted_at).date(),
        previous_school=deletion.school,
    )


# --- welfare concerns ------------------------------------------------------------------------


class ConcernCaseOpener(Protocol):
    def __call__(
        self, *, actor: Actor, child: Child, raised_by_whom: str, details: str
    ) -> tuple[Case, bool]: ...


#: How a welfare concern opens a CME case: the referral pathway, above registers,
#: registers it (``referrals/extensions.py``): a referral from the local authority team,
#: triaged into a new case, or onto the child's open case as a repeat. Returns the case and
#: whether it was opened; raises ``ValidationError`` when the referral cannot be triaged.
CONCERN_CASE_OPENERS: list[ConcernCaseOpener] = []


def concern_case_opener_register(opener: ConcernCaseOpener) -> None:
    CONCERN_CASE_OPENERS[:] = [opener]


@transaction.atomic
def home_education_concern_record(
    *,
    actor: Actor,
    record: HomeEducationRecord,
    raised_on: dt.date,
    raised_by_whom: str,
    details: str,
) -> HomeEducationConcern:
    """Record a welfare concern about a home-educated child. It opens a CME case: a
    referral from the local authority team, triaged straight into a case (the referrals
    and cases services, audited) and assigned to the person recording it; or, if the child
    already has an open case, the referral is added to that case as a repeat."""
    _require_keeper(actor)
    if actor.user is None:
        raise PermissionDenied("A person records a welfare concern.")
    if not details.strip():
        raise ValidationError({"details": "Enter the concern"})
    if not raised_by_whom.strip():
        raise ValidationError({"raised_by_whom": "Enter who raised the concern"})
    child = record.child
    if not CONCERN_CASE_OPENERS:
        raise ImproperlyConfigured("A welfare concern opens a case through the referrals app.")
    case, opened = CONCERN_CASE_OPENERS[0](
        actor=actor, child=child, raised_by_whom=raised_by_whom, details=details
    )
    concern = HomeEducationConcern(
        record=record,
        raised_on=raised_on,
        raised_by_whom=raised_by_whom.strip(),
        details=details.strip(),
        case=case,
        case_opened=opened,
        recorded_by=actor.user,
    )
    return audited_create(
        actor=actor,
        instance=concern,
        child_id=child.pk,
        summary=f"Welfare concern about a home-educated child: "
        f"{'opened' if opened else 'added to'} case {case.reference if case else ''}",
    )


# --- consent to withdraw for home education ---------------------------------------------


@transaction.atomic
def consent_request_record(
    *,
    actor: Actor,
    child: Child,
    school: Organisation,
    requested_on: dt.date,
    requested_by: str,
    child_protection_enquiries: bool = False,
) -> HomeEducationConsentRequest:
    """Record a request for the authority's consent to withdraw ``child`` from ``school``
    for home education. The child protection plan comes from the child's record and the
    special school from the school's type; enquiries are what the officer knows."""
    _require_keeper(actor)
    if not requested_by.strip():
        raise ValidationError({"requested_by": "Enter who asked for consent"})
    if HomeEducationConsentRequest.objects.filter(
        child=child, school=school, status=ConsentStatus.PENDING
    ).exists():
        raise ValidationError(
            "A request for this child at this school is already waiting for a decision."
        )
    request = HomeEducationConsentRequest(
        child=child,
        school=school,
        requested_on=requested_on,
        requested_by=requested_by.strip(),
        child_protection_enquiries=child_protection_enquiries,
        child_protection_plan=child.child_protection_plan,
        special_school=school.school_type == SchoolType.SPECIAL,
        recorded_by=actor.user,
    )
    return audited_create(
        actor=actor,
        instance=request,
        child_id=child.pk,
        summary=f"Recorded a request for consent to home educate (withdrawal from {school})",
    )


@transaction.atomic
def consent_decide(
    *,
    actor: Actor,
    request: HomeEducationConsentRequest,
    decision: ConsentStatus | str,
    decided_on: dt.date,
    reason: str,
) -> HomeEducationConsentRequest:
    """A CME manager gives or refuses consent. A decision is final: a new request is
    recorded for a later change of mind."""
    if actor.user is None or not may_decide_consent(actor.user):
        raise PermissionDenied("Only a CME manager decides on consent to home educate.")
    locked = HomeEducationConsentRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status != ConsentStatus.PENDING:
        raise ValidationError(
            f"This request has already been decided ({locked.get_status_display().lower()})."
        )
    if decision not in (ConsentStatus.GRANTED, ConsentStatus.REFUSED):
        raise ValidationError({"decision": "Select whether the authority consents"})
    if not reason.strip():
        raise ValidationError({"reason": "Enter the reasons for the decision"})
    if decided_on > timezone.localdate():
        raise ValidationError(
            {"decided_on": "The date of the decision must be today or in the past"}
        )
    if decided_on < locked.requested_on:
        raise ValidationError({"decided_on": "The decision cannot be before the request"})
    return audited_update(
        actor=actor,
        instance=locked,
        changes={
            "status": decision,
            "decided_on": decided_on,
            "decided_by": actor.user,
            "decision_reason": reason.strip(),
        },
        child_id=locked.child_id,
        summary="Consent to home educate "
        + ("given" if decision == ConsentStatus.GRANTED else "refused"),
    )


@transaction.atomic
def home_education_child_add(
    *, actor: Actor, identity: dict[str, object], **record: object
) -> tuple[HomeEducationRecord, bool]:
    """The add-a-child form: find or record the child, then put them on the list, all or
    nothing (a refusal for want of consent records nothing). Returns the record and
    whether it is new (False: the child was already on the list)."""
    child = child_find_or_create(actor=actor, since=record.get("started_on"), **identity)
    already = HomeEducationRecord.objects.filter(child=child, ended_on__isnull=True).exists()
    result = home_education_record_add(actor=actor, child=child, **record)  # type: ignore[arg-type]
    return result, not already


@transaction.atomic
def consent_request_for_identity(
    *, actor: Actor, identity: dict[str, object], **request: object
) -> HomeEducationConsentRequest:
    """The consent-request form: find or record the child, then record the request."""
    child = child_find_or_create(actor=actor, **identity)
    return consent_request_record(actor=actor, child=child, **request)  # type: ignore[arg-type]
