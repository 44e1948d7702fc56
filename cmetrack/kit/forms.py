"""Helpers for Django forms in GOV.UK words."""

from __future__ import annotations

from django import forms


def too_long(label: str, max_length: int) -> str:
    """GOV.UK's message for text over its limit: "Reason must be 2000 characters or fewer"."""
    return f"{label} must be {max_length} characters or fewer"


def name_length_limits(form: forms.BaseForm) -> None:
    """Each text field's length limit names the field and the limit, as GOV.UK words it
    (Django's default, "Ensure this value has at most 200 characters", names neither)."""
    for field in form.fields.values():
        if isinstance(field, forms.CharField) and field.max_length and field.label:
            field.error_messages["max_length"] = too_long(str(field.label), field.max_length)
