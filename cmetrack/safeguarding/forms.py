"""Forms for the safeguarding pages, with GOV.UK error messages. They parse what was
typed; the rules (details for every yes, who may authorise) are in the services, whose
errors ``add_service_errors`` puts on the right field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms

from cmetrack.casework.forms import GovukDateField, TrackingForm

from .rules import SCREENING_QUESTIONS, Answer, RiskFactor, RiskLevel, SentTo


def _answer(label: str) -> forms.ChoiceField:
    message = f"Select yes, no or unknown for “{label}”"
    return forms.ChoiceField(
        choices=Answer.choices,
        widget=forms.RadioSelect,
        error_messages={"required": message, "invalid_choice": message},
    )


def date_initial(day: dt.date) -> list[str]:
    """A date as the three boxes of ``govukDateInput`` show it (an unbound form's initial)."""
    return [str(day.day), str(day.month), str(day.year)]


def _require_details(form: forms.Form, pairs: list[tuple[str, str, str]], why: str) -> None:
    """(answer field, details field, question): details are needed for every yes."""
    data = form.cleaned_data
    for answer, details, question in pairs:
        if data.get(answer) == Answer.YES and not (data.get(details) or "").strip():
            form.add_error(details, f"Enter the {why} for “{question}”")


def _details(max_length: int) -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=max_length,
        widget=forms.Textarea,
        error_messages={"max_length": f"Details must be {max_length} characters or fewer"},
    )


class ScreeningForm(TrackingForm):
    """forms.md §4: each question yes, no or unknown, with details."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for q in SCREENING_QUESTIONS:
            self.fields[q.key] = _answer(q.text)
            self.fields[f"{q.key}_details"] = _details(2000)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _require_details(
            self, [(q.key, f"{q.key}_details", q.text) for q in SCREENING_QUESTIONS], "details"
        )
        return cleaned

    def answers(self) -> dict[str, tuple[str, str]]:
        d = self.cleaned_data
        return {q.key: (d[q.key], d[f"{q.key}_details"]) for q in SCREENING_QUESTIONS}


class RiskAssessmentForm(TrackingForm):
    """forms.md §3: the fifteen factors, summary, level and who it is sent to."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["date_of_assessment"] = GovukDateField(
            what="the date of the assessment", when="past"
        )
        for f in RiskFactor:
            self.fields[f"factor_{f.value}"] = _answer(f.label)
            self.fields[f"factor_{f.value}_details"] = _details(4000)
        self.fields["summary"] = forms.CharField(
            max_length=10000,
            widget=forms.Textarea,
            error_messages={
                "required": "Enter a summary of the referral",
                "max_length": "The summary must be 10,000 characters or fewer",
            },
        )
        self.fields["risk_level"] = forms.ChoiceField(
            choices=RiskLevel.choices,
            widget=forms.RadioSelect,
            error_messages={
                "required": "Select the risk level: low, medium or high",
                "invalid_choice": "Select the risk level: low, medium or high",
            },
        )
        self.fields["sent_to"] = forms.MultipleChoiceField(
            choices=SentTo.choices,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            error_messages={"invalid_choice": "Select who the assessment is sent to from the list"},
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        _require_details(
            self,
            [(f"factor_{f.value}", f"factor_{f.value}_details", f.label) for f in RiskFactor],
            "supporting information",
        )
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "date_of_assessment": d["date_of_assessment"],
            "factors": {
                f.value: (d[f"factor_{f.value}"], d[f"factor_{f.value}_details"])
                for f in RiskFactor
            },
            "summary": d["summary"],
            "risk_level": d["risk_level"],
            "sent_to": d["sent_to"],
        }


class DormantForm(TrackingForm):
    reason = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea,
        error_messages={"max_length": "The reason must be 2000 characters or fewer"},
    )


YES_NO = [("yes", "Yes"), ("no", "No")]


class ReviewForm(TrackingForm):
    """rules.md §6: a monthly review of a dormant case."""

    reviewed_on = GovukDateField(what="the date of the review", when="past")
    checked = forms.CharField(
        max_length=4000,
        widget=forms.Textarea,
        error_messages={
            "required": "Enter what you checked",
            "max_length": "What you checked must be 4000 characters or fewer",
        },
    )
    result = forms.CharField(
        max_length=4000,
        widget=forms.Textarea,
        error_messages={
            "required": "Enter the result of the review",
            "max_length": "The result must be 4000 characters or fewer",
        },
    )
    risk_level_holds = forms.ChoiceField(
        choices=YES_NO,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select whether the risk level still holds",
            "invalid_choice": "Select whether the risk level still holds",
        },
    )
    next_step = forms.ChoiceField(
        choices=[
            ("stay_dormant", "Keep the case dormant and review it again next month"),
            ("reopen_tracking", "Resume tracking: the result is new information"),
        ],
        widget=forms.RadioSelect,
        error_messages={
            "required": "Select what happens next",
            "invalid_choice": "Select what happens next",
        },
    )

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "reviewed_on": d["reviewed_on"],
            "checked": d["checked"],
            "result": d["result"],
            "risk_level_holds": d["risk_level_holds"] == "yes",
            "reopen_tracking": d["next_step"] == "reopen_tracking",
        }
