from __future__ import annotations

from django import forms

from cmetrack.kit.forms import name_length_limits


class _Form(forms.Form):
    reason = forms.CharField(label="Reason for closing", max_length=5)
    code = forms.CharField(max_length=3, required=False)  # no label: Django's own message


def test_a_text_over_its_limit_is_named_with_its_limit() -> None:
    form = _Form({"reason": "x" * 6, "code": "abcd"})
    name_length_limits(form)
    assert not form.is_valid()
    assert form.errors["reason"] == ["Reason for closing must be 5 characters or fewer"]
    assert "at most 3 characters" in form.errors["code"][0]
    # Another form of the class keeps its own messages (fields are copied per form).
    assert "at most" in _Form({"reason": "x" * 6}).errors["reason"][0]
