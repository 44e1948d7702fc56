"""Referrals prepared for their pages: what the referrer sees, what triage sees."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Page
from django.forms import BooleanField, ChoiceField
from django.urls import NoReverseMatch, reverse

from cmetrack.accounts.models import User
from cmetrack.accounts.roles import ALL_CASES_ROLES
from cmetrack.cases.lifecycle import CaseState
from cmetrack.cases.models import Case, ReferralRoute
from cmetrack.cases.presenters import DO_NOT_REMOVE, school_status
from cmetrack.kit.dates import govuk_date
from cmetrack.kit.words import lower_label

from .duplicates import PossibleDuplicate
from .forms import (
    RELATIONSHIP_CHOICES,
    AgencyReferralForm,
    CheckForm,
    GovukDateField,
    PublicReportForm,
    SchoolReferralForm,
)
from .models import CheckStatus, Concern, Referral, ReferralStatus
from .services import school_age_statement

#: What a referrer is told about the case its referral became (never its notes).
_STATE_FOR_REFERRER = {
    CaseState.RECEIVED: "Received by the CME team",
    CaseState.SLO_INVESTIGATION: "School Liaison Officer investigating",
    CaseState.TRACKING: "CME team looking for the child",
    CaseState.LOCATED: "Child located",
    CaseState.NEEDS_ASSESSMENT: "Child located: education being arranged",
    CaseState.AWAITING_PROVISION: "Child located: education being arranged",
    CaseState.IN_PROVISION: "Child in education: attendance being checked",
    CaseState.DORMANT: "CME team still looking for the child",
}


def referrer_status(referral: Referral) -> str:
    """The referral's progress as the referrer may know it: status and outcome category."""
    case: Case | None = referral.case
    if referral.status == ReferralStatus.NOT_CME:
        return "Closed: not children missing education"
    if case is None:
        return "Received: waiting to be checked by the CME team"
    if case.state == CaseState.CLOSED:
        return f"Closed: {case.get_outcome_display()}" if case.outcome else "Closed"
    return _STATE_FOR_REFERRER.get(CaseState(case.state), case.get_state_display())


def off_roll_advice(referral: Referral) -> str:
    """For a school referral: what the school may do about its roll. One rule for every
    screen: :func:`cmetrack.cases.presenters.school_status` (SLO advice, attendance matter,
    a child in care stays on roll until admitted elsewhere)."""
    if referral.route != ReferralRoute.SCHOOL:
        return ""
    if referral.case is None:
        return DO_NOT_REMOVE
    return school_status(referral.case)[1]


@dataclass(frozen=True)
class ReferralRow:
    reference: str
    href: str
    child: str
    route: str
    received: str
    status: str
    off_roll: str


def referral_rows(referrals: Any) -> list[ReferralRow]:
    return [
        ReferralRow(
            reference=r.reference,
            href=reverse("referrals:detail", args=[r.reference]),
            child=r.child_name,
            route=r.get_route_display(),
            received=govuk_date(r.received_at),
            status=referrer_status(r),
            off_roll=off_roll_advice(r),
        )
        for r in referrals
    ]


def pagination(page: Page[Any], base: str, params: dict[str, str]) -> dict[str, Any]:
    """The govukPagination parameters for a Django page."""

    def href(n: int) -> str:
        return f"{base}?{urlencode({**params, 'page': n})}"

    out: dict[str, Any] = {"items": []}
    if page.has_previous():
        out["previous"] = {"href": href(page.previous_page_number())}
    if page.has_next():
        out["next"] = {"href": href(page.next_page_number())}
    last = page.paginator.num_pages
    shown: list[int] = sorted(
        {1, last, *range(max(1, page.number - 1), min(last, page.number + 1) + 1)}
    )
    previous = 0
    for n in shown:
        if previous and n - previous > 1:
            out["items"].append({"ellipsis": True})
        out["items"].append({"number": n, "href": href(n), "current": n == page.number})
        previous = n
    return out


@dataclass(frozen=True)
class ReferralListPresenter:
    page: Page[Referral]
    show_off_roll: bool
    route: str = ""

    @property
    def rows(self) -> list[ReferralRow]:
        return referral_rows(self.page.object_list)

    @property
    def pagination(self) -> dict[str, Any] | None:
        if self.page.paginator.num_pages <= 1:
            return None
        params = {"route": self.route} if self.route else {}
        return pagination(self.page, self.base, params)

    base: str = "/referrals/"


def _yes(value: bool) -> str:
    return "Yes" if value else "No"


@dataclass(frozen=True)
class ReferralPresenter:
    """One referral, as its referrer or the CME team sees it."""

    referral: Referral
    viewer: User

    @property
    def is_team(self) -> bool:
        return self.viewer.has_role(*ALL_CASES_ROLES, "slo")

    @property
    def status(self) -> str:
        return referrer_status(self.referral)

    @property
    def off_roll(self) -> str:
        return off_roll_advice(self.referral)

    @property
    def summary_rows(self) -> list[tuple[str, str]]:
        r = self.referral
        rows: list[tuple[str, str]] = [
            ("Reference", r.reference),
            ("Route", r.get_route_display()),
            ("Received", govuk_date(r.received_at)),
        ]
        if r.referring_organisation:
            rows.append(("Referred by", r.referring_organisation.name))
        rows += [
            ("Child's name", r.child_name),
            ("Other names", r.aliases or "None given"),
            ("Date of birth", govuk_date(r.dob, "Not known")),
        ]
        if r.approximate_age is not None:
            rows.append(("Approximate age", str(r.approximate_age)))
        rows += [
            ("Sex", r.get_sex_display()),
            ("UPN", r.upn or "Not known"),
            ("Address", ", ".join(p for p in (r.address, r.postcode) if p) or "Not known"),
        ]
        if r.route == ReferralRoute.SCHOOL:
            rows += [
                ("Date of last attendance", govuk_date(r.date_last_attendance, "Not known")),
                (
                    "School days of continuous unexplained absence",
                    "Not known" if r.absence_school_days is None else str(r.absence_school_days),
                ),
                ("School says every check is complete", _yes(r.all_checks_complete)),
            ]
        if r.route == ReferralRoute.AGENCY:
            rows += [
                ("Situation", r.get_situation_display() or "Not given"),
                ("How the agency met the child", r.how_met),
            ]
        rows.append(("Reason", r.reason))
        if r.route != ReferralRoute.PUBLIC:
            concern = r.get_safeguarding_concern_display()
            if r.safeguarding_concern == Concern.YES:
                concern = f"Yes: {r.safeguarding_details}"
            rows.append(("Safeguarding concern", concern))
            if r.siblings:
                rows.append(("Siblings and their schools", r.siblings))
        if r.route == ReferralRoute.PUBLIC and self.is_team:
            contact = ", ".join(p for p in (r.reporter_name, r.reporter_contact) if p)
            rows.append(("Reporter", contact or "Did not leave contact details"))
        return rows

    @property
    def parents(self) -> list[str]:
        out = []
        for p in self.referral.parents_carers:
            contact = ", ".join(x for x in (p.get("phone"), p.get("email")) if x)
            rel = p.get("relationship", "").replace("_", " ")
            out.append(f"{p.get('name')} ({rel})" + (f": {contact}" if contact else ""))
        return out

    @property
    def checks(self) -> list[tuple[str, str]]:
        out = []
        for c in self.referral.checks.all():
            if c.status == CheckStatus.DONE:
                text = f"Done on {govuk_date(c.done_on)}" + (f": {c.result}" if c.result else "")
            elif c.status == CheckStatus.NOT_POSSIBLE:
                text = f"Not possible: {c.reason}"
            else:
                text = "Not applicable"
            out.append((c.get_kind_display(), text))
        return out

    @property
    def case_reference(self) -> str:
        return self.referral.case.reference if self.is_team and self.referral.case else ""

    @property
    def case_href(self) -> str:
        if not self.case_reference or self.referral.case is None:
            return ""
        try:
            return reverse("cases:case-detail", args=[self.referral.case.pk])
        except NoReverseMatch:  # the case pages are not installed
            return ""

    @property
    def triage_href(self) -> str:
        if self.is_team and self.referral.status == ReferralStatus.RECEIVED:
            return reverse("referrals:triage", args=[self.referral.reference])
        return ""


@dataclass(frozen=True)
class DuplicateRow:
    child_id: int
    name: str
    dob: str
    upn: str
    score: str
    reasons: list[str]
    open_cases: list[tuple[int, str, str]]  # (case id, reference, state)
    band_label: str = ""  # "Strong match", "Possible — check" or "Unlikely"


@dataclass(frozen=True)
class TriagePresenter:
    referral: Referral
    duplicates: list[PossibleDuplicate]
    hidden_matches: bool = False
    route_target: str = ""
    details: ReferralPresenter | None = None
    school_age: tuple[bool | None, str] = field(default=(None, ""))

    @classmethod
    def build(
        cls, *, referral: Referral, viewer: User, duplicates: list[PossibleDuplicate], hidden: bool
    ) -> TriagePresenter:
        target = "SLO investigation" if referral.route == ReferralRoute.SCHOOL else "CME tracking"
        return cls(
            referral=referral,
            duplicates=duplicates,
            hidden_matches=hidden,
            route_target=target,
            details=ReferralPresenter(referral=referral, viewer=viewer),
            school_age=school_age_statement(referral),
        )

    @property
    def duplicate_rows(self) -> list[DuplicateRow]:
        return [
            DuplicateRow(
                child_id=d.child.pk,
                name=d.child.full_name,
                dob=govuk_date(d.child.dob, "Not known"),
                upn=d.child.upn or "Not known",
                score=f"{round(d.score * 100)}%",
                reasons=d.reasons,
                open_cases=[(c.pk, c.reference, c.get_state_display()) for c in d.open_cases],
                band_label=d.band_label,
            )
            for d in self.duplicates
        ]

    @property
    def decisions(self) -> list[tuple[str, str]]:
        out = [("open", f"Open a case and send it to {self.route_target}")]
        out.append(("not_school_age", "Close it: not of compulsory school age"))
        if any(d.open_cases for d in self.duplicates):
            out.append(("duplicate", "It repeats an open case: link it to that case"))
        return out

    @property
    def child_choices(self) -> list[tuple[str, str]]:
        return [
            (str(d.child.pk), f"{d.child.full_name}, born {govuk_date(d.child.dob, 'not known')}")
            for d in self.duplicates
        ]

    @property
    def open_case_choices(self) -> list[tuple[str, str]]:
        return [
            (
                str(c.pk),
                f"{c.reference}: {d.child.full_name} ({lower_label(c.get_state_display())})",
            )
            for d in self.duplicates
            for c in d.open_cases
        ]


# --- check your answers ---------------------------------------------------------------

NOT_GIVEN = "Not given"


@dataclass(frozen=True)
class AnswerRow:
    """One row of a "Check your answers" summary list, with its "Change" link."""

    key: str
    lines: tuple[str, ...]
    href: str
    #: What "Change" changes, for people who hear the link out of context.
    change_what: str


@dataclass(frozen=True)
class AnswerSection:
    title: str
    rows: tuple[AnswerRow, ...]


def field_anchor(form: Any, name: str) -> str:
    """The id of a field's first input, as the form templates and the error summary
    write it: ``id_<name>``, the day of a date, the first of a set of radios."""
    bound = form[name]
    suffix = "-day" if isinstance(bound.field, GovukDateField) else ""
    return f"id_{bound.html_name}{suffix}"


def answer_text(form: Any, name: str) -> str:
    """A cleaned answer as the person chose it: a date the GOV.UK way, a choice's label."""
    field_ = form.fields[name]
    value = form.cleaned_data.get(name)
    if isinstance(field_, BooleanField):
        return "Yes" if value else "No"
    if value in (None, ""):
        return NOT_GIVEN
    if isinstance(field_, GovukDateField):
        return govuk_date(value)
    if isinstance(field_, ChoiceField):
        return str(dict(field_.choices).get(value, value))  # type: ignore[arg-type]
    return str(value)


def _row(form: Any, name: str, form_url: str, key: str = "") -> AnswerRow:
    label = key or str(form.fields[name].label or name)
    return AnswerRow(
        key=label,
        lines=tuple(answer_text(form, name).splitlines() or [NOT_GIVEN]),
        href=f"{form_url}#{field_anchor(form, name)}",
        change_what=lower_label(label),
    )


def _parent_rows(form: Any, form_url: str) -> list[AnswerRow]:
    rows = []
    for n, parent in enumerate(form.cleaned_data.get("parents_carers") or [], start=1):
        relationship = str(dict(RELATIONSHIP_CHOICES).get(parent["relationship"], ""))
        lines = [f"{parent['name']} ({relationship.lower()})" if relationship else parent["name"]]
        lines += [parent[k] for k in ("phone", "email") if parent[k]]
        rows.append(
            AnswerRow(
                key=f"Parent or carer {n}",
                lines=tuple(lines),
                href=f"{form_url}#id_parent{n}_name",
                change_what=f"parent or carer {n}",
            )
        )
    return rows


def _check_row(check: CheckForm, form_url: str) -> AnswerRow:
    d = check.cleaned_data
    status = d.get("status")
    if status == CheckStatus.DONE:
        lines = [f"Done on {govuk_date(d.get('done_on'))}", *str(d.get("result")).splitlines()]
    elif status == CheckStatus.NOT_POSSIBLE:
        lines = ["Not possible", *str(d.get("reason")).splitlines()]
    else:
        lines = [CheckStatus(status).label if status else NOT_GIVEN]
    return AnswerRow(
        key=check.kind.label,
        lines=tuple(lines),
        href=f"{form_url}#{field_anchor(check, 'status')}",
        change_what=f"“{check.kind.label.lower()}”",
    )


def _section(
    form: Any, title: str, names: tuple[str, ...], form_url: str, **keys: str
) -> AnswerSection:
    return AnswerSection(title, tuple(_row(form, n, form_url, keys.get(n, "")) for n in names))


def _concern_rows(form: Any, form_url: str) -> tuple[AnswerRow, ...]:
    rows = [_row(form, "safeguarding_concern", form_url, "Safeguarding concern")]
    if form.cleaned_data.get("safeguarding_concern") == Concern.YES:
        rows.append(_row(form, "safeguarding_details", form_url, "The concern"))
    return tuple(rows)


def school_answers(
    form: SchoolReferralForm, checks: list[CheckForm], form_url: str
) -> list[AnswerSection]:
    """A school's referral as the school will send it, each answer with its "Change" link."""
    return [
        _section(
            form,
            "The child",
            (
                "given_names",
                "family_name",
                "aliases",
                "dob",
                "sex",
                "gender",
                "upn",
                "address",
                "postcode",
                "siblings",
            ),
            form_url,
            aliases="Other names",
            gender="Gender",
            upn="UPN",
            siblings="Siblings and their schools",
            dob="Date of birth",
        ),
        AnswerSection("Parents and carers", tuple(_parent_rows(form, form_url))),
        _section(
            form,
            "Absence",
            ("date_last_attendance", "absence_school_days"),
            form_url,
            date_last_attendance="Date the child last attended",
        ),
        AnswerSection("Safeguarding", _concern_rows(form, form_url)),
        AnswerSection(
            "The school's checks",
            (
                *(_check_row(c, form_url) for c in checks),
                _row(form, "all_checks_complete", form_url),
            ),
        ),
        _section(form, "Why you are referring", ("reason",), form_url),
    ]


def agency_answers(form: AgencyReferralForm, form_url: str) -> list[AnswerSection]:
    """An agency's referral as it will be sent, each answer with its "Change" link."""
    return [
        _section(
            form,
            "The child",
            (
                "given_names",
                "family_name",
                "aliases",
                "dob",
                "approximate_age",
                "sex",
                "gender",
                "upn",
                "situation",
                "address",
                "postcode",
                "siblings",
            ),
            form_url,
            family_name="Last name",
            aliases="Other names",
            dob="Date of birth",
            approximate_age="Approximate age",
            gender="Gender",
            upn="UPN",
            situation="The child's situation",
            address="Last known address",
            postcode="Postcode",
            siblings="Siblings and their schools",
        ),
        AnswerSection("Parents and carers", tuple(_parent_rows(form, form_url))),
        AnswerSection(
            "What you know",
            (
                _row(form, "how_met", form_url, "How your agency met the child"),
                _row(form, "reason", form_url, "What you know about the child"),
                *_concern_rows(form, form_url),
            ),
        ),
    ]


def public_answers(form: PublicReportForm, form_url: str) -> list[AnswerSection]:
    """A public report as it will be sent, each answer with its "Change" link."""
    return [
        _section(
            form,
            "The child",
            (
                "given_names",
                "family_name",
                "approximate_age",
                "dob",
                "address",
                "postcode",
                "reason",
            ),
            form_url,
            given_names="First name",
            family_name="Last name",
            approximate_age="Age",
            dob="Date of birth",
            address="Where you have seen the child",
            postcode="Postcode",
            reason="Why you think the child is not in school",
        ),
        _section(
            form,
            "How we can contact you",
            ("reporter_name", "reporter_contact"),
            form_url,
            reporter_name="Your name",
            reporter_contact="Your phone number or email address",
        ),
    ]
