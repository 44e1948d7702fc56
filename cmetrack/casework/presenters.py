"""What the tracking pages show, as plain rows; tested without a template."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cmetrack.accounts.models import User
from cmetrack.cases.models import Case
from cmetrack.kit.dates import govuk_date

from .forms import CheckForm, ContactForm, GovukDateField, NoteForm, TaskForm
from .models import (
    AddressSearchCheck,
    CaseNote,
    CheckStatus,
    Consultation,
    ContactAttempt,
    Task,
    TaskStatus,
)
from .selectors import ChecklistItem


def field_anchor(bound: forms.BoundField) -> str:
    """The id an error summary link goes to: the first radio, the day box, or the field."""
    if isinstance(bound.field, GovukDateField):
        return f"{bound.auto_id}-day"
    return str(bound.auto_id)


def error_list(form: forms.Form | None) -> list[dict[str, str]]:
    """The GOV.UK error summary's links, in the order of the fields on the page."""
    if form is None or not form.is_bound or not form.errors:
        return []
    names = list(form.fields)
    first = f"#{field_anchor(form[names[0]])}" if names else ""
    out = [{"text": str(e), "href": first} for e in form.non_field_errors()]
    for name in names:
        bound = form[name]
        out.extend({"text": str(e), "href": f"#{field_anchor(bound)}"} for e in bound.errors)
    return out


def case_page_url(case: Case) -> str:
    """The case's own page if the cases app provides one, else the child's record."""
    try:
        return reverse("cases:case-detail", args=[case.pk])
    except NoReverseMatch:
        return reverse("people:child-detail", args=[case.child_id])


def _by(user: User | None) -> str:
    return user.get_full_name() if user is not None else "System"


def when(at: dt.datetime) -> str:
    local = timezone.localtime(at)
    return f"{govuk_date(local)} at {local:%H:%M}"


@dataclass(frozen=True)
class CheckRow:
    source: str
    description: str
    status: str
    summary: str
    by: str
    history: list[str]
    form: CheckForm
    is_open: bool


def _check_summary(check: AddressSearchCheck) -> str:
    parts = []
    if check.status == CheckStatus.CHECKED:
        parts.append(f"{check.get_result_display()} ({govuk_date(check.date)})")
    elif check.date:
        parts.append(govuk_date(check.date))
    if check.details:
        parts.append(check.details)
    return ". ".join(parts)


@dataclass
class TrackingPresenter:
    case: Case
    viewer: User
    can_record: bool
    checklist: list[ChecklistItem]
    contacts: list[ContactAttempt]
    notes: list[CaseNote]
    tasks: list[Task]
    check_forms: dict[int, CheckForm] = field(default_factory=dict)
    contact_form: ContactForm | None = None
    note_form: NoteForm | None = None
    task_form: TaskForm | None = None
    success: list[str] = field(default_factory=list)

    @property
    def bound_form(self) -> forms.Form | None:
        for form in (
            *self.check_forms.values(),
            self.contact_form,
            self.note_form,
            self.task_form,
        ):
            if form is not None and form.is_bound:
                return form
        return None

    @property
    def errors(self) -> list[dict[str, str]]:
        """The error summary: every source of the checklist form with a problem (it is
        one form), or the one other form sent."""
        wrong = [f for f in self.check_forms.values() if f.is_bound and f.errors]
        if wrong:
            return [e for f in wrong for e in error_list(f)]
        return error_list(self.bound_form)

    @property
    def title(self) -> str:
        return f"Tracking work: {self.case.reference}"

    @property
    def case_url(self) -> str:
        return case_page_url(self.case)

    @property
    def is_open(self) -> bool:
        return self.case.is_open

    @property
    def checks_done(self) -> tuple[int, int]:
        current = [i for i in self.checklist if i.source.active]
        return sum(1 for i in current if i.current is not None), len(current)

    @property
    def check_rows(self) -> list[CheckRow]:
        rows = []
        for item in self.checklist:
            c = item.current
            rows.append(
                CheckRow(
                    source=item.source.name,
                    description=item.source.description,
                    status=c.get_status_display() if c else "Not yet recorded",
                    summary=_check_summary(c) if c else "",
                    by=f"{_by(c.by)}, {when(c.recorded_at)}" if c else "",
                    history=[
                        f"{h.get_status_display()}: {_check_summary(h) or 'no details'} "
                        f"({_by(h.by)}, {when(h.recorded_at)})"
                        for h in item.history
                    ],
                    form=self.check_forms.get(item.source.pk) or CheckForm(source=item.source),
                    is_open=bool(
                        (f := self.check_forms.get(item.source.pk)) is not None and f.is_bound
                    ),
                )
            )
        return rows

    @property
    def contact_rows(self) -> list[tuple[str, ...]]:
        return [
            (
                govuk_date(a.date) + (f" {a.time:%H:%M}" if a.time else ""),
                a.get_method_display(),
                a.with_whom,
                a.get_outcome_display(),
                a.notes,
                _by(a.by),
            )
            for a in self.contacts
        ]

    @property
    def note_rows(self) -> list[tuple[str, str, str]]:
        return [(when(n.at), _by(n.by), n.text) for n in self.notes]

    @property
    def task_rows(self) -> list[TaskRow]:
        today = timezone.localdate()
        return [TaskRow.of(t, today) for t in self.tasks]


@dataclass(frozen=True)
class TaskRow:
    id: int
    title: str
    owner: str
    due: str
    status: str
    status_colour: str
    is_open: bool
    case_id: int
    case_reference: str
    child: str
    kind: str

    @classmethod
    def of(cls, task: Task, today: dt.date) -> TaskRow:
        overdue = task.is_overdue(today)
        if overdue:
            status, colour = "Overdue", "red"
        elif task.status == TaskStatus.OPEN:
            status, colour = ("Due today", "yellow") if task.due == today else ("Open", "blue")
        elif task.status == TaskStatus.DONE:
            status, colour = f"Done {govuk_date(task.done_at)}", "green"
        else:
            status, colour = "Cancelled", "grey"
        return cls(
            id=task.pk,
            title=task.title,
            owner=_by(task.owner),
            due=govuk_date(task.due),
            status=status,
            status_colour=colour,
            is_open=task.status == TaskStatus.OPEN,
            case_id=task.case_id,
            case_reference=task.case.reference,
            child=task.case.child.full_name,
            kind=task.get_kind_display(),
        )


@dataclass(frozen=True)
class NoContactRow:
    case_id: int
    reference: str
    child: str
    state: str
    last_contact: str
    days: int
    officer: str


def no_contact_rows(cases: list[Case], today: dt.date) -> list[NoContactRow]:
    return [
        NoContactRow(
            case_id=c.pk,
            reference=c.reference,
            child=c.child.full_name,
            state=c.get_state_display(),
            last_contact=govuk_date(c.last_attempt)  # type: ignore[attr-defined]
            if c.last_attempt  # type: ignore[attr-defined]
            else f"None since referral on {govuk_date(c.date_referred)}",
            days=(today - c.last_contact).days,  # type: ignore[attr-defined]
            officer=c.assigned_officer.get_full_name() if c.assigned_officer else "Not assigned",
        )
        for c in cases
    ]


def consultation_rows(consultations: list[Consultation]) -> list[dict[str, object]]:
    """Each consultation as the case's consultations page shows it, with its tasks."""
    out: list[dict[str, object]] = []
    for c in consultations:
        who = c.get_consulted_with_display() + (f" ({c.consultee})" if c.consultee else "")
        out.append(
            {
                "title": f"{govuk_date(c.consulted_on)}: {who}",
                "rows": [
                    ("Named or anonymous", "Named" if c.named else "Anonymous"),
                    (
                        "Family told",
                        "Yes" if c.family_told else f"No. Why: {c.not_told_reason}",
                    ),
                    ("Advice", c.advice),
                    ("Recorded by", c.by.get_full_name() if c.by else "The system"),
                ],
                "tasks": [
                    f"{t.title}: {t.owner.get_full_name()}, due {govuk_date(t.due)} "
                    f"({t.get_status_display().lower()})"
                    for t in c.tasks.all()
                ],
            }
        )
    return out
