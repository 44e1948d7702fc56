"""Writes of referrals: the three routes in at the front door, and triage.

Each service validates everything first, collecting every problem as a
``ValidationError`` keyed by field (a school check's fields as
``checks.<kind>.<field>``), and then writes the referral and its audit rows in one
transaction: nothing is half-saved.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES, Role
from cmetrack.audit.models import AuditAction
from cmetrack.audit.services import Actor, audit_record, audited_create, audited_update
from cmetrack.cases.lifecycle import OPEN_STATES, CaseState, Outcome
from cmetrack.cases.models import Case, ChronologyKind, ReferralRoute
from cmetrack.cases.selectors import cases_visible_to
from cmetrack.cases.services import case_assign, case_open, case_transition, chronology_add
from cmetrack.kit.dates import govuk_date
from cmetrack.notifications.services import notification_send
from cmetrack.organisations.models import Organisation
from cmetrack.people.models import Child, FormerUpn
from cmetrack.people.selectors import children_visible_to
from cmetrack.people.services import (
    child_add_address,
    child_add_alias,
    child_add_parent_carer,
    child_create,
)
from cmetrack.registers.models import RollEntry
from cmetrack.rules import (
    CME_REFERRAL_SCHOOL_DAYS,
    compulsory_school_age,
    is_of_compulsory_school_age,
    normalise_upn,
)

from .models import (
    CheckKind,
    CheckStatus,
    Concern,
    Referral,
    ReferralStatus,
    SchoolCheck,
    TriageOutcome,
)
from .selectors import may_triage, own_latest_roll

# --- what each route records ----------------------------------------------------------

_CHILD_FIELDS = frozenset(
    {"given_names", "family_name", "aliases", "dob", "sex", "gender", "upn", "address",
     "postcode", "parents_carers", "siblings", "reason", "safeguarding_concern",
     "safeguarding_details"}
)  # fmt: skip
SCHOOL_FIELDS = _CHILD_FIELDS | {"date_last_attendance", "absence_school_days"}
AGENCY_FIELDS = _CHILD_FIELDS | {"approximate_age", "situation", "how_met"}
PUBLIC_FIELDS = frozenset(
    {"given_names", "family_name", "dob", "approximate_age", "address", "postcode", "reason",
     "reporter_name", "reporter_contact"}
)  # fmt: skip

_REQUIRED_MESSAGES = {
    "given_names": "Enter the child's first name",
    "family_name": "Enter the child's last name",
    "dob": "Enter the child's date of birth",
    "address": "Enter the child's address",
    "reason": "Say why you are referring the child",
    "date_last_attendance": "Enter the date the child last attended",
    "absence_school_days": "Enter the number of school days of continuous unexplained absence",
    "how_met": "Say how your agency met the child",
    "situation": "Select whether the child is not on a school roll or their whereabouts are "
    "not known",
}
SCHOOL_REQUIRED = (
    "given_names", "family_name", "dob", "address", "reason", "date_last_attendance",
    "absence_school_days",
)  # fmt: skip
AGENCY_REQUIRED = ("given_names", "reason", "how_met", "situation")
PUBLIC_REQUIRED = ("given_names", "reason", "address")

#: What the school is told about the rule when a child has been absent for less long.
UNDER_THRESHOLD_RULE = (
    f"A school refers a child after {CME_REFERRAL_SCHOOL_DAYS} or more school days of "
    "continuous unexplained absence, or earlier only when it has completed every check."
)


class TriageNotAllowed(Exception):
    """A triage the rules refuse; the message says why in the officer's words."""


@dataclass(frozen=True)
class CheckInput:
    """One of the school's checks as the school answered it."""

    kind: str
    status: str
    done_on: dt.date | None = None
    result: str = ""
    reason: str = ""


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _clean_fields(fields: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, Any]:
    unknown = set(fields) - allowed
    if unknown:
        raise ValueError(f"Fields not recorded on this route: {sorted(unknown)}")
    out = {k: (v.strip() if isinstance(v, str) else v) for k, v in fields.items()}
    if out.get("upn"):
        out["upn"] = normalise_upn(out["upn"])
    if out.get("postcode"):
        out["postcode"] = " ".join(out["postcode"].upper().split())
    return out


def _required_problems(fields: Mapping[str, Any], required: Sequence[str]) -> dict[str, list[str]]:
    return {name: [_REQUIRED_MESSAGES[name]] for name in required if _blank(fields.get(name))}


def _merge(errors: dict[str, list[str]], exc: ValidationError, prefix: str = "") -> None:
    for name, messages in exc.message_dict.items():
        key = f"{prefix}{name}"
        if key in errors:  # the required-field message says it already
            continue
        errors.setdefault(key, []).extend(messages)


def _validated_referral(
    referral: Referral, errors: dict[str, list[str]], exclude: Sequence[str] = ()
) -> None:
    try:
        referral.full_clean(exclude=["reference", *exclude])
    except ValidationError as exc:
        _merge(errors, exc)


def school_referral_rule_problems(
    *, absence_school_days: int | None, all_checks_complete: bool, checks: Sequence[CheckInput]
) -> dict[str, list[str]]:
    """The threshold rule (forms.md §1): at 10 or more continuous school days of
    unexplained absence a school may refer; earlier only when every check is complete
    (each done or not applicable) and the school says so."""
    if absence_school_days is None or absence_school_days >= CME_REFERRAL_SCHOOL_DAYS:
        return {}
    problems: dict[str, list[str]] = {}
    if not all_checks_complete:
        problems["all_checks_complete"] = [
            f"The child has been absent for fewer than {CME_REFERRAL_SCHOOL_DAYS} school days: "
            "confirm that every check is complete, or refer when the absence reaches "
            f"{CME_REFERRAL_SCHOOL_DAYS} school days"
        ]
    for check in checks:
        if check.status == CheckStatus.NOT_POSSIBLE:
            label = CheckKind(check.kind).label
            problems[f"checks.{check.kind}.status"] = [
                f"“{label}” must be done or not applicable before you refer a child absent "
                f"for fewer than {CME_REFERRAL_SCHOOL_DAYS} school days"
            ]
    return problems


def _check_rows(checks: Sequence[CheckInput], errors: dict[str, list[str]]) -> list[SchoolCheck]:
    by_kind: dict[str, CheckInput] = {}
    for check in checks:
        if check.kind not in CheckKind.values:
            errors.setdefault("checks", []).append(f"There is no school check called {check.kind}")
        elif check.kind in by_kind:
            errors.setdefault("checks", []).append(
                f"“{CheckKind(check.kind).label}” is answered more than once"
            )
        else:
            by_kind[check.kind] = check
    rows = []
    for kind in CheckKind:
        given = by_kind.get(kind)
        if given is None or _blank(given.status):
            errors[f"checks.{kind}.status"] = [
                f"Select whether “{kind.label.lower()}” was done, not possible or not applicable"
            ]
            continue
        row = SchoolCheck(
            kind=kind,
            status=given.status,
            done_on=given.done_on,
            result=(given.result or "").strip(),
            reason=(given.reason or "").strip(),
        )
        try:
            row.full_clean(exclude=["referral"])
        except ValidationError as exc:
            _merge(errors, exc, prefix=f"checks.{kind}.")
        rows.append(row)
    return rows


def _parents_problems(fields: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
    rows = fields.get("parents_carers") or []
    if not any(str(r.get("phone") or "").strip() or str(r.get("email") or "").strip()
               for r in rows if isinstance(r, dict)):  # fmt: skip
        errors.setdefault("parents_carers", []).append(
            "Enter a phone number or email address for at least one parent or carer"
        )


def _safeguarding_problems(fields: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
    if _blank(fields.get("safeguarding_concern")):
        errors["safeguarding_concern"] = [
            "Select whether there is a safeguarding concern about the child"
        ]


# --- the three routes -----------------------------------------------------------------


def _school_referral_prepared(
    *,
    actor: Actor,
    roll_entry: RollEntry,
    checks: Sequence[CheckInput],
    all_checks_complete: bool,
    **fields: Any,
) -> tuple[Referral, list[SchoolCheck]]:
    """The school's referral and its checks, checked against every rule and not saved;
    ``ValidationError`` with every problem, keyed by field."""
    user = actor.user
    if user is None or not own_latest_roll(user).filter(pk=roll_entry.pk).exists():
        raise PermissionDenied("A school refers only pupils on its own latest roll.")
    fields = _clean_fields(fields, SCHOOL_FIELDS)
    errors = _required_problems(fields, SCHOOL_REQUIRED)
    _safeguarding_problems(fields, errors)
    _parents_problems(fields, errors)
    school = roll_entry.snapshot.school
    referral = Referral(
        route=ReferralRoute.SCHOOL,
        referring_organisation=school,
        school=school,
        referred_by=user,
        roll_entry=roll_entry,
        all_checks_complete=all_checks_complete,
        **fields,
    )
    _validated_referral(referral, errors)
    rows = _check_rows(checks, errors)
    for key, messages in school_referral_rule_problems(
        absence_school_days=fields.get("absence_school_days"),
        all_checks_complete=all_checks_complete,
        checks=checks,
    ).items():
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return referral, rows


def referral_school_check(
    *,
    actor: Actor,
    roll_entry: RollEntry,
    checks: Sequence[CheckInput],
    all_checks_complete: bool,
    **fields: Any,
) -> None:
    """Whether the school's referral would be accepted as it stands (the "check your
    answers" step): ``ValidationError`` as :func:`referral_school_create` would raise it;
    nothing is saved."""
    _school_referral_prepared(
        actor=actor,
        roll_entry=roll_entry,
        checks=checks,
        all_checks_complete=all_checks_complete,
        **fields,
    )


def referral_school_create(
    *,
    actor: Actor,
    roll_entry: RollEntry,
    checks: Sequence[CheckInput],
    all_checks_complete: bool,
    **fields: Any,
) -> Referral:
    """A school refers a pupil from its own latest roll, with its six checks."""
    referral, rows = _school_referral_prepared(
        actor=actor,
        roll_entry=roll_entry,
        checks=checks,
        all_checks_complete=all_checks_complete,
        **fields,
    )
    with transaction.atomic():
        audited_create(actor=actor, instance=referral, summary="Referral received from a school")
        for row in rows:
            row.referral = referral
        SchoolCheck.objects.bulk_create(rows)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=referral,
            summary="Recorded the school's checks",
            changes={
                "after": {
                    "checks": [
                        {
                            "kind": r.kind,
                            "status": r.status,
                            "done_on": r.done_on,
                            "result": r.result,
                            "reason": r.reason,
                        }
                        for r in rows
                    ]
                }
            },
        )
        referral_acknowledge(actor=actor, referral=referral)
    return referral


def _agency_referral_prepared(*, actor: Actor, **fields: Any) -> Referral:
    user = actor.user
    if user is None or not user.has_role(Role.AGENCY_USER) or user.organisation is None:
        raise PermissionDenied("Only a signed-in agency user makes an agency referral.")
    fields = _clean_fields(fields, AGENCY_FIELDS)
    errors = _required_problems(fields, AGENCY_REQUIRED)
    _safeguarding_problems(fields, errors)
    referral = Referral(
        route=ReferralRoute.AGENCY,
        referring_organisation=user.organisation,
        referred_by=user,
        **fields,
    )
    _validated_referral(referral, errors)
    if errors:
        raise ValidationError(errors)
    return referral


def referral_agency_check(*, actor: Actor, **fields: Any) -> None:
    """Whether the agency's referral would be accepted as it stands; nothing is saved."""
    _agency_referral_prepared(actor=actor, **fields)


def referral_agency_create(*, actor: Actor, **fields: Any) -> Referral:
    """An agency refers a child not on a roll or whose whereabouts are not known."""
    referral = _agency_referral_prepared(actor=actor, **fields)
    with transaction.atomic():
        audited_create(actor=actor, instance=referral, summary="Referral received from an agency")
        referral_acknowledge(actor=actor, referral=referral)
    return referral


def referral_acknowledge(*, actor: Actor, referral: Referral) -> None:
    """Email the school's or agency's referrer the acknowledgement with its reference
    (required: it cannot be switched off). Names the reference, not the child."""
    if referral.referred_by is None:
        return
    notification_send(
        key="referral_acknowledgement",
        recipients=[referral.referred_by],
        reference=referral.reference,
        personalisation={"authority": settings.CMETRACK_LA_NAME},
        obj=referral,
        link=reverse("referrals:detail", args=[referral.reference]),
        actor=actor,
    )


def _public_report_prepared(**fields: Any) -> Referral:
    fields = _clean_fields(fields, PUBLIC_FIELDS)
    errors = _required_problems(fields, PUBLIC_REQUIRED)
    referral = Referral(route=ReferralRoute.PUBLIC, safeguarding_concern=Concern.UNKNOWN, **fields)
    _validated_referral(referral, errors)
    if errors:
        raise ValidationError(errors)
    return referral


def referral_public_check(**fields: Any) -> None:
    """Whether a public report would be accepted as it stands; nothing is saved or
    looked up."""
    _public_report_prepared(**fields)


def referral_public_create(*, actor: Actor, **fields: Any) -> Referral:
    """A member of the public tells the authority about a child. Nothing is looked up:
    the answer is the same whether or not the child is known."""
    referral = _public_report_prepared(**fields)
    return audited_create(
        actor=Actor(user=None, ip_address=actor.ip_address, label="member of the public"),
        instance=referral,
        summary="Report received from a member of the public",
    )


@transaction.atomic
def referral_record(
    *,
    actor: Actor,
    route: ReferralRoute,
    given_names: str,
    family_name: str,
    reason: str,
    dob: dt.date | None = None,
    sex: str = "U",
    address: str = "",
    postcode: str = "",
    school: Organisation | None = None,
    referring_organisation: Organisation | None = None,
    reporter_name: str = "",
    reporter_contact: str = "",
) -> Referral:
    """Log a referral from any route as given (other LAs, detections, demo data)."""
    referral = Referral(
        route=route,
        given_names=given_names,
        family_name=family_name,
        reason=reason,
        dob=dob,
        sex=sex,
        address=address,
        postcode=postcode.upper().strip(),
        school=school,
        referring_organisation=referring_organisation,
        referred_by=actor.user,
        reporter_name=reporter_name,
        reporter_contact=reporter_contact,
    )
    return audited_create(
        actor=actor,
        instance=referral,
        summary=f"Referral received ({referral.get_route_display()})",
    )


def referral_link_case(*, actor: Actor, referral: Referral, case: Case) -> Referral:
    return audited_update(
        actor=actor,
        instance=referral,
        child_id=case.child_id,
        changes={"case": case, "child": case.child, "status": ReferralStatus.LINKED},
        summary=f"Referral {referral.reference} linked to {case.reference}",
    )


# --- triage ---------------------------------------------------------------------------


class TriageDecision:
    """What the officer decides at triage."""

    OPEN = "open"
    NOT_SCHOOL_AGE = "not_school_age"
    DUPLICATE = "duplicate"
    ALL = (OPEN, NOT_SCHOOL_AGE, DUPLICATE)


def referral_date(referral: Referral) -> dt.date:
    """The date the referral was received, in the authority's time zone."""
    return timezone.localtime(referral.received_at).date()


def school_age_statement(referral: Referral) -> tuple[bool | None, str]:
    """Whether the child is of compulsory school age on the referral date, in words."""

    on = referral_date(referral)
    if referral.dob is None:
        if referral.approximate_age is not None:
            likely = 5 <= referral.approximate_age <= 15
            return None, (
                f"Date of birth not known. The referrer thinks the child is about "
                f"{referral.approximate_age}: "
                + ("probably of compulsory school age." if likely else "check the child's age.")
            )
        return None, "Date of birth not known: compulsory school age cannot be worked out."
    start, end = compulsory_school_age(referral.dob)
    if is_of_compulsory_school_age(referral.dob, on):
        return True, (
            f"Of compulsory school age on {govuk_date(on)} (from {govuk_date(start)} "
            f"until {govuk_date(end)})."
        )
    if on < start:
        return False, f"Not yet of compulsory school age: starts {govuk_date(start)}."
    return False, f"No longer of compulsory school age: stopped after {govuk_date(end)}."


def _split_name(name: str, fallback_family: str) -> tuple[str, str]:
    words = name.split()
    if len(words) >= 2:
        return " ".join(words[:-1])[:100], words[-1][:100]
    return (words[0] if words else name)[:100], fallback_family[:100] or (name[:100])


def _child_from_referral(*, actor: Actor, referral: Referral, family_name: str) -> Child:
    family = (family_name or referral.family_name).strip()
    if not family:
        raise ValidationError(
            {"family_name": ["Enter the child's last name to create their record"]}
        )
    upn = referral.upn or None
    if upn and (
        Child.objects.filter(upn=upn).exists() or FormerUpn.objects.filter(upn=upn).exists()
    ):
        raise ValidationError(
            {"child": [f"A child record with UPN {upn} already exists: link the referral to it"]}
        )
    child = child_create(
        actor=actor,
        legal_given_names=referral.given_names,
        legal_family_name=family,
        dob=referral.dob,
        sex=referral.sex,
        gender=referral.gender,
        upn=upn,
    )
    for alias in (a.strip() for a in referral.aliases.replace(";", ",").split(",")):
        if alias:
            child_add_alias(
                actor=actor, child=child, alias_type="known_as", given_names=alias[:100]
            )
    if referral.address:
        line1, _, rest = referral.address.partition(",")
        child_add_address(
            actor=actor,
            child=child,
            line1=line1.strip()[:150],
            line2=rest.strip()[:150],
            postcode=referral.postcode,
        )
    for row in referral.parents_carers:
        given, family_of_parent = _split_name(str(row.get("name", "")), family)
        child_add_parent_carer(
            actor=actor,
            child=child,
            given_names=given,
            family_name=family_of_parent,
            relationship=row.get("relationship") or "other",
            phone=row.get("phone") or "",
            email=row.get("email") or "",
        )
    return child


def _may_be_assigned(user: User) -> bool:
    return user.is_active and user.has_role(Role.CME_OFFICER, Role.CME_MANAGER, Role.SLO)


def _referrer_text(referral: Referral) -> str:
    if referral.referring_organisation is not None:
        return referral.referring_organisation.name
    return referral.get_route_display().lower()


@transaction.atomic
def referral_triage(
    *,
    actor: Actor,
    referral: Referral,
    decision: str = TriageDecision.OPEN,
    child: Child | None = None,
    duplicate_of: Case | None = None,
    reason: str = "",
    assign_to: User | None = None,
    family_name: str = "",
) -> Referral:
    """Triage a received referral, in one transaction:

    * ``open``: link ``child`` (or create the child from the referral), open a case and
      route it: a school referral to SLO investigation, any other to tracking;
    * ``not_school_age``: open the case and close it as not CME, with the reason;
    * ``duplicate``: link the referral to ``duplicate_of``, an open case, and note it on
      that case's chronology.

    ``assign_to`` assigns the new case (CME officers and managers assign anyone who works
    cases; an SLO only themselves)."""
    user = actor.user
    if user is None:
        raise PermissionDenied("A person triages referrals.")
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .select_related("school", "referring_organisation")
        .get(pk=referral.pk)
    )
    if not may_triage(user, referral):
        raise PermissionDenied("You may not triage this referral.")
    if referral.status != ReferralStatus.RECEIVED:
        raise TriageNotAllowed(
            f"Referral {referral.reference} has already been triaged "
            f"({referral.get_status_display().lower()})."
        )
    if decision not in TriageDecision.ALL:
        raise TriageNotAllowed("Choose what to do with the referral.")
    if assign_to is not None:
        if not _may_be_assigned(assign_to):
            raise ValidationError({"assign_to": ["Choose someone who works on cases"]})
        if not user.has_role(*ALL_CASES_ROLES) and assign_to.pk != user.pk:
            raise ValidationError(
                {"assign_to": ["Only a CME officer or manager can assign a case to someone else"]}
            )
    now, received_on = timezone.now(), referral_date(referral)
    triage_changes: dict[str, Any] = {"triaged_at": now, "triaged_by": user}

    if decision == TriageDecision.DUPLICATE:
        if duplicate_of is None:
            raise ValidationError({"duplicate_of": ["Choose the open case this referral repeats"]})
        case = Case.objects.select_for_update().get(pk=duplicate_of.pk)
        if not case.is_open:
            raise ValidationError(
                {"duplicate_of": [f"{case.reference} is closed: open a new case instead"]}
            )
        chronology_add(
            actor=actor,
            case=case,
            kind=ChronologyKind.REFERRAL,
            summary=f"Referral {referral.reference} from {_referrer_text(referral)}, received "
            f"{received_on:%d/%m/%Y}, linked to this case as a duplicate. {reason}".strip(),
        )
        audited_update(
            actor=actor,
            instance=referral,
            child_id=case.child_id,
            changes={
                **triage_changes,
                "status": ReferralStatus.LINKED,
                "child": case.child,
                "case": case,
                "triage_outcome": TriageOutcome.DUPLICATE,
            },
            summary=f"Referral {referral.reference} triaged: duplicate of {case.reference}",
        )
        return referral

    if decision == TriageDecision.NOT_SCHOOL_AGE and not reason.strip():
        raise ValidationError({"reason": ["Say why the child is not children missing education"]})
    if child is not None:
        if not children_visible_to(user).filter(pk=child.pk).exists():
            raise ValidationError({"child": ["Choose a child record you can see"]})
    else:
        child = _child_from_referral(actor=actor, referral=referral, family_name=family_name)
    case = case_open(
        actor=actor,
        child=child,
        route=ReferralRoute(referral.route),
        date_referred=received_on,
        reason=f"Referral {referral.reference}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.REFERRAL,
        summary=f"Referral {referral.reference} from {_referrer_text(referral)}: {referral.reason}",
    )
    # The school a referral names is the child's last known education; it is written with
    # the first move, through the case engine (one version, one audit row).
    last_education: dict[str, Any] = {}
    if referral.school is not None:
        last_education = {
            "last_education_school": referral.school,
            "last_education_place": referral.school.name[:200],
            "last_education_date": referral.date_last_attendance,
        }
    if decision == TriageDecision.NOT_SCHOOL_AGE:
        to_state, outcome, status = (
            CaseState.CLOSED,
            TriageOutcome.NOT_SCHOOL_AGE,
            ReferralStatus.NOT_CME,
        )
        why = f"Not of compulsory school age: {reason.strip()}"
    elif referral.route == ReferralRoute.SCHOOL:
        to_state, outcome, status = (
            CaseState.SLO_INVESTIGATION,
            TriageOutcome.SLO_INVESTIGATION,
            ReferralStatus.LINKED,
        )
        why = "School referral: the School Liaison Officer investigates."
    else:
        to_state, outcome, status = (
            CaseState.TRACKING,
            TriageOutcome.TRACKING,
            ReferralStatus.LINKED,
        )
        why = f"{referral.get_route_display()} referral: the CME team tracks the child."
    case = case_transition(
        actor=actor,
        case=case,
        to_state=to_state,
        outcome=Outcome.NOT_CME if to_state == CaseState.CLOSED else None,
        reason=why,
        changes=last_education,
    )
    if assign_to is not None:
        case = case_assign(actor=actor, case=case, officer=assign_to)
    audited_update(
        actor=actor,
        instance=referral,
        child_id=child.pk,
        changes={
            **triage_changes,
            "status": status,
            "child": child,
            "case": case,
            "triage_outcome": outcome,
        },
        summary=f"Referral {referral.reference} triaged: {TriageOutcome(outcome).label}",
    )
    return referral


def referral_link_to_child(
    *, actor: Actor, referral: Referral, child: Child, assign_to: User | None = None
) -> Referral:
    """Triage a referral in one step as being about ``child``, a possible duplicate the
    officer recognises: when the child has an open case the officer may see, the referral
    is linked to it as a duplicate (the newest such case); otherwise a case is opened for
    the existing child and routed as :func:`referral_triage` routes it. One transaction,
    the same checks and audit rows as :func:`referral_triage`."""
    user = actor.user
    if user is None:
        raise PermissionDenied("A person triages referrals.")
    if not children_visible_to(user).filter(pk=child.pk).exists():
        raise ValidationError({"child": ["Choose a child record you can see"]})
    open_case = (
        cases_visible_to(user)
        .filter(child_id=child.pk, state__in=OPEN_STATES)
        .order_by("-pk")
        .first()
    )
    if open_case is not None:
        return referral_triage(
            actor=actor,
            referral=referral,
            decision=TriageDecision.DUPLICATE,
            duplicate_of=open_case,
            reason=f"The referral is about {child.full_name}, who has this open case.",
        )
    return referral_triage(
        actor=actor,
        referral=referral,
        decision=TriageDecision.OPEN,
        child=child,
        assign_to=assign_to,
    )
