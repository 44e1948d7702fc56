"""What the home-education pages show, built from selector results (no template logic)."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse

from cmetrack.kit.dates import govuk_date

from .models import (
    HomeEducationConcern,
    HomeEducationConsentRequest,
    HomeEducationRecord,
    LearntFrom,
)
from .selectors import HomeEducationCounts


def concern_text(record: HomeEducationRecord) -> str:
    raised = getattr(record, "concern_raised", None)
    if raised is None:
        raised = record.concerns.exists()
    return "Concern raised: case opened" if raised else "No further action"


@dataclass(frozen=True)
class RecordRow:
    record: HomeEducationRecord

    @property
    def href(self) -> str:
        return reverse("casework:registers:detail", args=[self.record.pk])

    @property
    def cells(self) -> tuple[str, ...]:
        r = self.record
        return (
            r.child.full_name,
            govuk_date(r.child.dob) if r.child.dob else "Not known",
            govuk_date(r.started_on),
            r.get_learnt_from_display(),
            govuk_date(r.learnt_on) if r.learnt_on else "Not known",
            r.previous_school_text,
            r.get_sen_status_display(),
            concern_text(r),
            "On the list" if r.is_open else f"Ended {govuk_date(r.ended_on)}",
        )


HEADERS = (
    "Child",
    "Date of birth",
    "Home educated from",
    "How we learnt of it",
    "When we learnt of it",
    "Previous school",
    "SEN or EHC plan",
    "Concern",
    "Status",
)


def record_summary(record: HomeEducationRecord) -> list[tuple[str, str]]:
    r = record
    rows = [
        ("Child", r.child.full_name),
        ("Date of birth", govuk_date(r.child.dob) if r.child.dob else "Not known"),
        ("UPN", r.child.upn or "Not known"),
        ("Home educated from", govuk_date(r.started_on)),
        ("How the authority learnt of it", r.get_learnt_from_display()),
        (
            "Date the authority learnt of it",
            govuk_date(r.learnt_on) if r.learnt_on else "Not known",
        ),
        ("Details", r.source or "None"),
        ("Previous school", r.previous_school_text),
        ("SEN or EHC plan", r.get_sen_status_display()),
        ("Outcome", concern_text(r)),
    ]
    if r.case_id:
        rows.append(("Found during case", r.case.reference if r.case else ""))
    if r.ended_on:
        rows.append(("Ended", f"{govuk_date(r.ended_on)}: {r.end_reason}"))
    return rows


def concern_rows(concerns: list[HomeEducationConcern]) -> list[tuple[str, str, str, str]]:
    return [
        (
            govuk_date(c.raised_on),
            c.raised_by_whom,
            c.details,
            (f"Opened {c.case.reference}" if c.case_opened else f"Added to {c.case.reference}")
            if c.case
            else "",
        )
        for c in concerns
    ]


def consent_cells(r: HomeEducationConsentRequest) -> tuple[str, ...]:
    grounds = [
        label
        for flag, label in (
            (r.child_protection_enquiries, "Child protection enquiries"),
            (r.child_protection_plan, "Child protection plan"),
            (r.special_school, "Special school"),
        )
        if flag
    ]
    decision = r.get_status_display()
    if r.decided_on:
        decision += f" on {govuk_date(r.decided_on)}"
        if r.decided_by:
            decision += f" by {r.decided_by.get_full_name()}"
        if r.decision_reason:
            decision += f": {r.decision_reason}"
    return (
        r.child.full_name,
        str(r.school),
        govuk_date(r.requested_on),
        r.requested_by,
        ", ".join(grounds) or "None known: consent not needed",
        decision,
    )


CONSENT_HEADERS = ("Child", "School", "Requested", "Who asked", "Grounds", "Decision")


def counts_summary(c: HomeEducationCounts) -> list[tuple[str, str]]:
    """The list in figures for the list page (the same selector as reports and the API)."""
    since = govuk_date(c.period_start)
    routes = ", ".join(
        f"{LearntFrom(k).label.lower()}: {n}" for k, n in c.added_by_route.items() if n
    )
    return [
        (f"On the list on {govuk_date(c.as_at)}", str(c.on_list)),
        (
            "With an EHC plan / SEN support",
            f"{c.on_list_with_ehc_plan} / {c.on_list_with_sen_support}",
        ),
        (f"Added since {since}", f"{c.added_in_period}" + (f" ({routes})" if routes else "")),
        (f"Left the list since {since}", str(c.ended_in_period)),
        (
            f"Welfare concerns since {since}",
            f"{c.concerns_in_period} ({c.cases_opened_in_period} opened a case)",
        ),
        (
            f"Consent requests since {since}",
            f"{c.consent_requests_in_period} ({c.consents_granted_in_period} given, "
            f"{c.consents_refused_in_period} refused)",
        ),
    ]
