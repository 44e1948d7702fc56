"""Forms on a child's record."""

from __future__ import annotations

from typing import Any

from django import forms

from cmetrack.accounts.models import User


class RestrictedAccessForm(forms.Form):
    user = forms.ModelChoiceField(
        label="Who needs to see the restricted address",
        queryset=User.objects.none(),
        error_messages={
            "required": "Select the person who needs to see the restricted address",
            "invalid_choice": "Select the person who needs to see the restricted address",
        },
    )
    reason = forms.CharField(
        label="Why do they need it",
        max_length=300,
        widget=forms.Textarea,
        error_messages={
            "required": "Enter why this person needs the restricted address",
            "max_length": "Reason must be 300 characters or fewer",
        },
    )

    def __init__(self, *args: Any, candidates: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = candidates  # type: ignore[attr-defined]
