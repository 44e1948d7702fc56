"""Writes of tracking work. Each function is one transaction that saves the record, writes
its audit row (with the case's child) and puts it on the case's chronology.

Who may write is checked here as well as in the views and the API: a person must be
allowed to record tracking work on the case (:func:`selectors.may_record_tracking`); a
system job (``actor.user`` is None) may.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.audit.services import Actor, audited_create, audited_update
from cmetrack.cases.lifecycle import OPEN_STATES
from cmetrack.cases.models import Case, ChronologyKind
from cmetrack.cases.services import chronology_add
from cmetrack.kit.dates import govuk_date
from cmetrack.notifications.services import notification_send
from cmetrack.schoolcalendar.calendar import add_school_days
from cmetrack.schoolcalendar.selectors import school_days

from .models import (
    AddressSearchCheck,
    AddressSearchSource,
    CaseNote,
    CheckResult,
    CheckStatus,
    Consultation,
    ConsultedWith,
    ContactAttempt,
    ContactMethod,
    ContactOutcome,
    Task,
    TaskKind,
    TaskStatus,
)
from .selectors import may_own_task, may_record_tracking, without_contact

CLOSED_CASE = "This case is closed. Record new work on a new episode for the child."

logger = logging.getLogger(__name__)


def _require_writer(actor: Actor, case: Case) -> None:
    if actor.user is not None and not may_record_tracking(actor.user, case):
        raise PermissionDenied("You cannot record tracking work on this case.")


def _require_open(case: Case) -> None:
    if case.state not in OPEN_STATES:
        raise ValidationError(CLOSED_CASE)


def _name(user: User | None) -> str:
    return user.get_full_name() if user is not None else "the system"


@transaction.atomic
def address_check_record(
    *,
    actor: Actor,
    case: Case,
    source: AddressSearchSource,
    status: CheckStatus | str,
    date: dt.date | None = None,
    result: CheckResult | str = "",
    details: str = "",
) -> AddressSearchCheck:
    """Record the answer for one source of the address-search checklist. Earlier answers
    for the same source are kept as history; this one becomes current."""
    _require_writer(actor, case)
    _require_open(case)
    if not source.active:
        raise ValidationError(f"{source.name} is no longer on the address-search checklist.")
    check = audited_create(
        actor=actor,
        instance=AddressSearchCheck(
            case=case,
            source=source,
            status=status,
            date=date,
            result=result,
            details=details.strip(),
            by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Recorded {source.name} on the address-search checklist of {case.reference}",
    )
    text = f"Address search, {source.name}: {check.get_status_display().lower()}"
    if check.status == CheckStatus.CHECKED:
        text += f" on {govuk_date(check.date)}, {check.get_result_display().lower()}"
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CHECK,
        summary=f"{text}." + (f" {check.details}" if check.details else ""),
    )
    return check


@transaction.atomic
def contact_attempt_record(
    *,
    actor: Actor,
    case: Case,
    method: ContactMethod | str,
    date: dt.date,
    with_whom: str,
    outcome: ContactOutcome | str,
    time: dt.time | None = None,
    notes: str = "",
) -> ContactAttempt:
    """Record an attempt to contact the family, an agency or another authority."""
    _require_writer(actor, case)
    _require_open(case)
    attempt = audited_create(
        actor=actor,
        instance=ContactAttempt(
            case=case,
            method=method,
            date=date,
            time=time,
            with_whom=with_whom.strip(),
            outcome=outcome,
            notes=notes.strip(),
            by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Recorded a contact attempt on {case.reference}",
    )
    when = govuk_date(attempt.date) + (f" at {attempt.time:%H:%M}" if attempt.time else "")
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.CONTACT,
        summary=f"{attempt.get_method_display()} to {attempt.with_whom} on {when}: "
        f"{attempt.get_outcome_display().lower()}."
        + (f" {attempt.notes}" if attempt.notes else ""),
    )
    return attempt


@transaction.atomic
def case_note_add(*, actor: Actor, case: Case, text: str) -> CaseNote:
    """Add a note. Notes are never changed: a correction is another note. A closed
    episode takes no more notes (its chronology does not grow): reopen it instead."""
    _require_writer(actor, case)
    _require_open(case)
    note = audited_create(
        actor=actor,
        instance=CaseNote(case=case, text=text.strip(), by=actor.user),
        child_id=case.child_id,
        summary=f"Added a note to {case.reference}",
    )
    chronology_add(actor=actor, case=case, kind=ChronologyKind.NOTE, summary=note.text)
    return note


def reminder_task_give(
    *, actor: Actor, case: Case, title: str, owner: User | None, due: dt.date, details: str = ""
) -> bool:
    """A scheduled reminder's task: given once (a task of the same title on the case means
    it was given before), only to someone who may own a task on the case. Returns whether
    a task was made; a case that refuses it (closed meanwhile) is logged and skipped."""
    if owner is None or not may_own_task(owner, case):
        return False
    if Task.objects.filter(case=case, title=title).exists():
        return False
    try:
        with transaction.atomic():
            task_create(actor=actor, case=case, title=title, owner=owner, due=due, details=details)
    except (ValidationError, PermissionDenied):
        logger.warning("no reminder task %r for case %s", title, case.pk)
        return False
    return True


@transaction.atomic
def task_create(
    *,
    actor: Actor,
    case: Case,
    title: str,
    owner: User,
    due: dt.date,
    details: str = "",
    kind: TaskKind = TaskKind.FREE,
    gap_since: dt.date | None = None,
    consultation: Consultation | None = None,
) -> Task:
    """Give ``owner`` a task on ``case``, due on ``due`` (today or later)."""
    _require_writer(actor, case)
    _require_open(case)
    errors: dict[str, str] = {}
    if due < timezone.localdate():
        errors["due"] = "The due date must be today or in the future"
    if not may_own_task(owner, case):
        errors["owner"] = "Choose someone who works on this case"
    if errors:
        raise ValidationError(errors)
    task = audited_create(
        actor=actor,
        instance=Task(
            case=case,
            title=title.strip(),
            details=details.strip(),
            owner=owner,
            due=due,
            kind=kind,
            gap_since=gap_since,
            consultation=consultation,
            created_by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Created a task on {case.reference} for {owner.email}",
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.TASK,
        summary=f"Task for {_name(owner)}, due {govuk_date(due)}: {task.title}",
    )
    if actor.user is None or owner.pk != actor.user.pk:
        notification_send(
            key="task_assigned",
            recipients=[owner],
            reference=case.reference,
            personalisation={"title": task.title, "due": govuk_date(due)},
            obj=task,
            child_id=case.child_id,
            child_name=case.child.full_name,
            link=reverse("casework:my-tasks"),
            actor=actor,
        )
    return task


def _locked_open_task(task: Task) -> Task:
    locked = Task.objects.select_for_update().select_related("case", "case__child").get(pk=task.pk)
    if locked.status != TaskStatus.OPEN:
        raise ValidationError(f"This task is already {locked.get_status_display().lower()}.")
    return locked


@transaction.atomic
def task_complete(*, actor: Actor, task: Task) -> Task:
    """Mark an open task done. If two people try at once, the second is told it is done."""
    locked = _locked_open_task(task)
    _require_writer(actor, locked.case)
    audited_update(
        actor=actor,
        instance=locked,
        changes={"status": TaskStatus.DONE, "done_at": timezone.now()},
        child_id=locked.case.child_id,
        summary=f"Completed a task on {locked.case.reference}",
    )
    chronology_add(
        actor=actor,
        case=locked.case,
        kind=ChronologyKind.NOTE,
        summary=f"Task done by {_name(actor.user)}: {locked.title}",
    )
    return locked


@transaction.atomic
def task_cancel(*, actor: Actor, task: Task, reason: str) -> Task:
    locked = _locked_open_task(task)
    _require_writer(actor, locked.case)
    if not reason.strip():
        raise ValidationError({"reason": "Enter why the task is no longer needed"})
    audited_update(
        actor=actor,
        instance=locked,
        changes={"status": TaskStatus.CANCELLED},
        child_id=locked.case.child_id,
        summary=f"Cancelled a task on {locked.case.reference}",
    )
    chronology_add(
        actor=actor,
        case=locked.case,
        kind=ChronologyKind.NOTE,
        summary=f"Task cancelled: {locked.title}. {reason.strip()}",
    )
    return locked


@transaction.atomic
def task_reassign(*, actor: Actor, task: Task, owner: User) -> Task:
    """Give an open task to someone else who works on the case."""
    locked = _locked_open_task(task)
    _require_writer(actor, locked.case)
    if not may_own_task(owner, locked.case):
        raise ValidationError({"owner": "Choose someone who works on this case"})
    if owner.pk == locked.owner_id:
        return locked
    audited_update(
        actor=actor,
        instance=locked,
        changes={"owner": owner},
        child_id=locked.case.child_id,
        summary=f"Reassigned a task on {locked.case.reference} to {owner.email}",
    )
    chronology_add(
        actor=actor,
        case=locked.case,
        kind=ChronologyKind.TASK,
        summary=f"Task given to {_name(owner)}: {locked.title}",
    )
    if actor.user is None or owner.pk != actor.user.pk:
        notification_send(
            key="task_assigned",
            recipients=[owner],
            reference=locked.case.reference,
            personalisation={"title": locked.title, "due": govuk_date(locked.due)},
            obj=locked,
            child_id=locked.case.child_id,
            child_name=locked.case.child.full_name,
            link=reverse("casework:my-tasks"),
            actor=actor,
        )
    return locked


# --- follow-up prompts ---------------------------------------------------------------------


@dataclass
class FollowUpRun:
    created: list[Task] = field(default_factory=list)
    already_prompted: int = 0
    no_owner: list[Case] = field(default_factory=list)


def follow_up_title(last_contact: dt.date) -> str:
    return f"Follow up: no contact since {govuk_date(last_contact)}"


def follow_up_prompts_create(
    *, actor: Actor, days: int | None = None, today: dt.date | None = None
) -> FollowUpRun:
    """One follow-up task for the assigned officer of every open case with no contact for
    ``days`` days (``CMETRACK_NO_CONTACT_DAYS``). Idempotent: a gap in contact (identified
    by the date it began) gets one follow-up, however often this runs; the database
    refuses a second (constraint ``one_follow_up_per_gap``). Each task is its own
    transaction, so one bad case does not hold back the others."""
    today = today or timezone.localdate()
    run = FollowUpRun()
    rows = list(
        without_contact(Case.objects.all(), days=days, today=today).values_list(  # type: ignore[misc]
            "pk", "last_contact"
        )
    )
    prompted = set(
        Task.objects.filter(kind=TaskKind.FOLLOW_UP, case__state__in=OPEN_STATES).values_list(
            "case_id", "gap_since"
        )
    )
    todo = [(pk, gap) for pk, gap in rows if (pk, gap) not in prompted]
    run.already_prompted = len(rows) - len(todo)
    officers: dict[int, User] = {}  # one instance per officer, so roles are read once
    for start in range(0, len(todo), 500):
        batch = todo[start : start + 500]
        cases = Case.objects.select_related("child").in_bulk([pk for pk, _ in batch])
        for pk, gap in batch:
            case = cases[pk]
            officer_id = case.assigned_officer_id
            if officer_id is not None and officer_id not in officers:
                officers[officer_id] = User.objects.get(pk=officer_id)
            officer = officers.get(officer_id) if officer_id is not None else None
            if officer is None or not may_own_task(officer, case):
                run.no_owner.append(case)
                continue
            try:
                with transaction.atomic():
                    run.created.append(
                        task_create(
                            actor=actor,
                            case=case,
                            title=follow_up_title(gap),
                            owner=officer,
                            due=max(today, timezone.localdate()),
                            kind=TaskKind.FOLLOW_UP,
                            gap_since=gap,
                        )
                    )
            except IntegrityError:  # another run made it a moment ago
                run.already_prompted += 1
    return run


# --- consultations ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsultationOutcome:
    """One thing to do after a consultation: it becomes a task on the case."""

    title: str
    owner: User
    due: dt.date
    details: str = ""


@transaction.atomic
def consultation_record(
    *,
    actor: Actor,
    case: Case,
    consulted_on: dt.date,
    consulted_with: ConsultedWith | str,
    named: bool,
    family_told: bool,
    advice: str,
    consultee: str = "",
    not_told_reason: str = "",
    outcomes: Sequence[ConsultationOutcome] = (),
) -> Consultation:
    """Record a professional consultation about ``case`` (for example with the central
    referral unit), named or anonymous, and whether the family was told (if not, why).
    Each outcome becomes a task on the case for its owner; all or nothing."""
    _require_writer(actor, case)
    _require_open(case)
    consultation = audited_create(
        actor=actor,
        instance=Consultation(
            case=case,
            consulted_on=consulted_on,
            consulted_with=consulted_with,
            consultee=consultee.strip(),
            named=named,
            family_told=family_told,
            not_told_reason=not_told_reason.strip(),
            advice=advice.strip(),
            by=actor.user,
        ),
        child_id=case.child_id,
        summary=f"Recorded a consultation on {case.reference}",
    )
    who = consultation.get_consulted_with_display()
    if consultation.consultee:
        who += f" ({consultation.consultee})"
    told = (
        "The family was told."
        if family_told
        else f"The family was not told: {consultation.not_told_reason}"
    )
    chronology_add(
        actor=actor,
        case=case,
        kind=ChronologyKind.NOTE,
        summary=f"{'Named' if named else 'Anonymous'} consultation with {who} on "
        f"{govuk_date(consulted_on)}. Advice: {consultation.advice} {told}",
    )
    errors: dict[str, list[str]] = {}
    for i, outcome in enumerate(outcomes):
        try:
            task_create(
                actor=actor,
                case=case,
                title=outcome.title,
                owner=outcome.owner,
                due=outcome.due,
                details=outcome.details,
                kind=TaskKind.CONSULTATION,
                consultation=consultation,
            )
        except ValidationError as exc:
            for field_name, messages in exc.message_dict.items():
                errors.setdefault(f"outcome_{i}_{field_name}", []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return consultation


#: School days the new school has to receive the Common Transfer File (rules.md §7).
CTF_SCHOOL_DAYS = 15


def transfer_file_due(left_on: dt.date) -> dt.date:
    """The 15th school day after ``left_on`` by the authority's calendar (three calendar
    weeks where the calendar does not reach), and never before today."""
    days = school_days(None, left_on, left_on + dt.timedelta(days=120))
    due = add_school_days(days, left_on, CTF_SCHOOL_DAYS) or left_on + dt.timedelta(days=21)
    return max(due, timezone.localdate())


def transfer_file_prompt(actor: Actor, case: Case, from_state: str) -> None:
    """A child found on another school's roll: a task to send the Common Transfer File to
    that school (national guidance 3.8.2.2), for the case's officer (or, with nobody
    assigned, the person who recorded it). Registered as an after-move hook of the case
    engine (``casework/extensions.py``); acts on the move into located."""
    school = case.destination_school
    if (
        case.state != "located"
        or case.located_route != "on_roll"
        or school is None
        or case.last_education_school_id in (None, school.pk)
    ):
        return
    owner = case.assigned_officer or actor.user
    previous = case.last_education_school
    reminder_task_give(
        actor=actor,
        case=case,
        title=f"Send the Common Transfer File to {school.name}",
        owner=owner,
        due=transfer_file_due(case.located_on or timezone.localdate()),
        details=f"The child was found on the roll of {school.name}. Make sure "
        f"{previous} sends the child's Common Transfer File to the new school (or send "
        "it from Transfer files) within 15 school days of the child leaving.",
    )
