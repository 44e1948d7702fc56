"""What the places pages show, as plain rows; tested without a template."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from django import forms
from django.urls import reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import Role
from cmetrack.cases.home import QUEUE_LIMIT, QueueRow, QueueSection
from cmetrack.cases.models import Case, FormOfProvision
from cmetrack.casework.forms import GovukDateField
from cmetrack.casework.presenters import error_list
from cmetrack.kit.dates import govuk_date
from cmetrack.organisations.models import Organisation
from cmetrack.schoolcalendar.selectors import school_days

from .delays import Delay, delay_queue_page
from .models import AdmissionApplication, PanelReferral, PlaceFigure, ProviderProfile
from .monitoring import Monitoring
from .rules import is_stale, phases_for, school_days_after, year_group_label
from .selectors import Offer
from .shortlist import Shortlist, provision_form_of, year_group_for

if TYPE_CHECKING:
    from cmetrack.cases.home import QueueSection


def figure_text(figure: PlaceFigure, today: dt.date) -> str:
    stale = " (stale: more than a month old)" if is_stale(figure.as_of, today) else ""
    return f"{figure.places} on {govuk_date(figure.as_of)}{stale}"


@dataclass(frozen=True)
class FigureCell:
    year: str
    places: int
    as_of: str
    stale: bool


@dataclass(frozen=True)
class ProviderRow:
    provider: Organisation
    href: str
    school_type: str
    form: str
    years: str
    phases: str
    sen: str
    figures: list[FigureCell]

    @property
    def any_stale(self) -> bool:
        return any(f.stale for f in self.figures)


def provider_row(
    provider: Organisation, figures: dict[int, PlaceFigure], today: dt.date
) -> ProviderRow:
    profile: ProviderProfile | None = getattr(provider, "provider_profile", None)

    form = FormOfProvision(provision_form_of(provider, profile)).label
    if profile is not None:
        years = (
            f"{year_group_label(profile.youngest_year)} to {year_group_label(profile.oldest_year)}"
        )
        phases = ", ".join(phases_for(profile.youngest_year, profile.oldest_year))
        sen = profile.get_sen_suitability_display() if profile.sen_suitability else "Not recorded"
        if profile.sen_notes:
            sen += f": {profile.sen_notes}"
    else:
        years, phases, sen = (
            "Not recorded",
            provider.get_phase_display() or "Not recorded",
            ("Not recorded"),
        )
    return ProviderRow(
        provider=provider,
        href=reverse("provision:provider", args=[provider.pk]),
        school_type=provider.get_school_type_display() or "Not recorded",
        form=form,
        years=years,
        phases=phases,
        sen=sen,
        figures=[
            FigureCell(
                year=year_group_label(y),
                places=f.places,
                as_of=govuk_date(f.as_of),
                stale=is_stale(f.as_of, today),
            )
            for y, f in sorted(figures.items())
        ],
    )


@dataclass(frozen=True)
class FieldSpec:
    """One form field on a page: how to draw it and its label."""

    bound: forms.BoundField
    kind: str  # radios, date, text, textarea, select
    label: str
    hint: str = ""


def field_kind(bound: forms.BoundField) -> str:
    widget = bound.field.widget
    if isinstance(bound.field, GovukDateField):
        return "date"
    if isinstance(widget, forms.HiddenInput):
        return "hidden"
    if isinstance(widget, forms.RadioSelect):
        return "radios"
    if isinstance(widget, forms.Textarea):
        return "textarea"
    if isinstance(bound.field, forms.ChoiceField):
        return "select"
    return "text"


def field_specs(form: forms.Form, labels: dict[str, str | tuple[str, str]]) -> list[FieldSpec]:
    specs = []
    for name in form.fields:
        bound = form[name]
        label = labels.get(name, name)
        text, hint = label if isinstance(label, tuple) else (label, "")
        specs.append(FieldSpec(bound=bound, kind=field_kind(bound), label=text, hint=hint))
    return specs


@dataclass
class StepPresenter:
    """A form page of one step (recommend, apply, outcome, refer, decide, start, figure)."""

    title: str
    caption: str
    back_href: str
    back_text: str
    action: str
    button: str
    form: forms.Form
    fields: list[FieldSpec]
    intro: str = ""

    @property
    def errors(self) -> list[dict[str, str]]:
        return error_list(self.form)


@dataclass(frozen=True)
class ApplicationRow:
    application: AdmissionApplication
    outcome_href: str

    @property
    def cells(self) -> list[str]:
        a = self.application
        outcome = a.get_outcome_display()
        if a.outcome_on:
            outcome += f" on {govuk_date(a.outcome_on)}"
        if a.outcome_notes:
            outcome += f": {a.outcome_notes}"
        return [a.school.name, year_group_label(a.year_group), govuk_date(a.applied_on), outcome]


@dataclass(frozen=True)
class PanelRow:
    referral: PanelReferral
    decision_href: str

    @property
    def cells(self) -> list[str]:
        p = self.referral
        decision = p.get_decision_display() if p.decision else "Waiting for the panel"
        if p.named_school is not None:
            decision += f": {p.named_school}"
        if p.decision_on:
            decision += f" ({govuk_date(p.decision_on)})"
        if p.decision_notes:
            decision += f". {p.decision_notes}"
        return [
            govuk_date(p.referred_on),
            govuk_date(p.panel_date) if p.panel_date else "Not set",
            p.reason,
            decision,
        ]


@dataclass
class CaseProvisionPresenter:
    case: Case
    shortlist: Shortlist
    applications: list[ApplicationRow]
    panels: list[PanelRow]
    offers: list[Offer]
    monitoring: Monitoring | None
    delays: list[Delay]
    can_record: bool
    can_change_case: bool
    success: list[str] = field(default_factory=list)

    @property
    def case_url(self) -> str:
        return reverse("cases:case-detail", args=[self.case.pk])

    def step_url(self, name: str) -> str:
        return reverse(f"provision:{name}", args=[self.case.pk])

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        c = self.case
        return [
            ("State", c.get_state_display()),
            ("Date referred in", govuk_date(c.date_referred)),
            ("Date of assessment", govuk_date(c.date_of_assessment) or "Not recorded"),
            (
                "Form of provision recommended",
                c.get_provision_recommended_display() or "Not decided",
            ),
            (
                "Date form of provision determined",
                govuk_date(c.date_provision_determined) or "Not recorded",
            ),
            ("Provider", str(c.provider) if c.provider_id else "None yet"),
            ("Form of provision accessed", c.get_provision_accessed_display() or "Not yet"),
            (
                "Date moved into provision",
                govuk_date(c.date_moved_into_provision) or "Not yet",
            ),
        ]

    @property
    def may_recommend(self) -> bool:
        return self.can_change_case and self.case.state in ("located", "needs_assessment")

    @property
    def needs_place(self) -> bool:
        return self.case.state in ("located", "needs_assessment", "awaiting_provision")

    @property
    def may_start(self) -> bool:
        return self.can_change_case and self.case.state == "awaiting_provision"

    @property
    def may_start_again(self) -> bool:
        return self.can_change_case and self.case.state == "in_provision"

    @property
    def may_refer_to_panel(self) -> bool:
        return (
            self.can_record
            and self.needs_place
            and not any(p.referral.is_open for p in self.panels)
        )


@dataclass(frozen=True)
class DelayRow:
    delay: Delay
    href: str

    @property
    def cells(self) -> list[str]:
        d = self.delay
        return [
            d.case.reference,
            d.case.child.full_name,
            d.rule,
            govuk_date(d.since),
            str(d.school_days),
            d.detail,
        ]


def delay_rows(delays: list[Delay]) -> list[DelayRow]:
    return [DelayRow(d, reverse("provision:case", args=[d.case.pk])) for d in delays]


def home_section(user: User, today: dt.date | None = None) -> QueueSection | None:
    """The home page's section of children waiting too long for a place: always for
    admissions officers, for CME staff only when there is a delay."""
    from django.utils import timezone

    page = delay_queue_page(user, today or timezone.localdate(), limit=QUEUE_LIMIT)
    if not page.total and not user.has_role(Role.ADMISSIONS):
        return None
    return QueueSection(
        title="Children waiting too long for a place",
        empty_text="No child is waiting past an alert.",
        headers=("Case", "Child", "Delay", "School days"),
        rows=[
            QueueRow(
                cells=(d.case.reference, d.case.child.full_name, d.rule, str(d.school_days)),
                href=reverse("provision:case", args=[d.case.pk]),
            )
            for d in page.delays
        ],
        total=page.total,
        more_href=reverse("provision:delays"),
    )


@dataclass(frozen=True)
class PanelAgendaRow:
    referral: PanelReferral
    href: str
    cells: tuple[str, ...]


def panel_agenda_rows(referrals: list[PanelReferral], today: dt.date) -> list[PanelAgendaRow]:
    """The children waiting for the panel: who, year group, form recommended, dates and the
    school days waited (LA calendar)."""

    if not referrals:
        return []
    calendar = school_days(None, min(r.referred_on for r in referrals), today)
    rows = []
    for r in referrals:
        case = r.case
        year = year_group_for(case, today)
        rows.append(
            PanelAgendaRow(
                referral=r,
                href=reverse("provision:case", args=[case.pk]),
                cells=(
                    case.reference,
                    case.child.full_name,
                    year_group_label(year) if year is not None and 0 <= year <= 13 else "Not known",
                    case.get_provision_recommended_display() or "Not decided",
                    govuk_date(r.referred_on),
                    govuk_date(r.panel_date) if r.panel_date else "Not set",
                    str(school_days_after(calendar, r.referred_on, today)),
                    "Deferred" if r.decision else "Waiting",
                ),
            )
        )
    return rows
