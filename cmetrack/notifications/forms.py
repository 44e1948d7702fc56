from __future__ import annotations

from typing import Any

from django import forms

from .kinds import PERSONAL_KINDS, Frequency


class PreferencesForm(forms.Form):
    """One set of radios per message a person may change (required ones are shown, not
    asked)."""

    def __init__(self, *args: Any, current: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for spec in PERSONAL_KINDS:
            if spec.required or spec.key not in current:
                continue
            self.fields[spec.key] = forms.ChoiceField(
                label=spec.label,
                choices=Frequency.choices,
                initial=current.get(spec.key, Frequency.AT_ONCE),
                error_messages={"required": f"Select how you want to hear about: {spec.label}"},
            )
